package trainer

import "github.com/aebridge/aebridge/graph"

// BLAS names the implementation behind the trainer's matrix products
// (graph.BLAS): gonum's pure-Go kernels, or OpenBLAS in builds with the
// openblas tag.
var BLAS = graph.BLAS

// SetThreads sets how many threads the trainer uses (n ≤ 0: one a CPU); it
// is graph.SetThreads. The same seed, data and thread count give the same
// weights, bit for bit.
func SetThreads(n int) { graph.SetThreads(n) }
