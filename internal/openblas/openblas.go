//go:build openblas

// Package openblas sets OpenBLAS's thread count. It links OpenBLAS
// (apt install libopenblas-dev) and is imported only by builds with the
// openblas tag, so that the trainer package itself needs no cgo (and may
// carry Go assembly, which cgo packages cannot).
package openblas

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int num_threads);
// int openblas_get_num_threads(void);
import "C"

// SetThreads sets how many threads OpenBLAS's own calls use.
func SetThreads(n int) { C.openblas_set_num_threads(C.int(n)) }

// Threads returns OpenBLAS's thread count.
func Threads() int { return int(C.openblas_get_num_threads()) }
