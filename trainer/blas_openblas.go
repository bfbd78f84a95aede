//go:build openblas

package trainer

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int num_threads);
import "C"

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/netlib/blas/netlib"
)

// With the openblas build tag, gonum's blas32 calls go to OpenBLAS through
// gonum's netlib cgo binding (apt install libopenblas-dev).
func init() {
	blas32.Use(netlib.Implementation{})
	BLAS = "OpenBLAS (through gonum.org/v1/netlib)"
	setBLASThreads = func(n int) { C.openblas_set_num_threads(C.int(n)) }
}
