package trainer

import "runtime"

// BLAS names the implementation behind the trainer's matrix products:
// gonum's pure-Go kernels, or OpenBLAS in builds with the openblas tag.
var BLAS = "gonum (pure Go)"

// setBLASThreads is replaced in builds with the openblas tag.
var setBLASThreads = func(n int) {}

// SetThreads sets how many threads matrix products and the Go scheduler
// use: GOMAXPROCS, and OpenBLAS's thread count where it is linked. The same
// seed, data and thread count give the same weights, bit for bit.
func SetThreads(n int) {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	runtime.GOMAXPROCS(n)
	setBLASThreads(n)
}
