//go:build openblas

package graph

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/netlib/blas/netlib"

	"github.com/aebridge/aebridge/internal/openblas"
)

// With the openblas build tag, gonum's blas32 calls go to OpenBLAS through
// gonum's netlib cgo binding (apt install libopenblas-dev), one thread per
// call; Gemm splits products over the worker pool.
func init() {
	blas32.Use(netlib.Implementation{})
	BLAS = "OpenBLAS (through gonum.org/v1/netlib), one thread a call, products split over the worker pool"
	openblas.SetThreads(1)
	openblas.StopThreads()
	gonumTiles = false
}
