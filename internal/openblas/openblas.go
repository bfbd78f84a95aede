//go:build openblas

// Package openblas sets OpenBLAS's thread count. It links OpenBLAS
// (apt install libopenblas-dev) and is imported only by builds with the
// openblas tag, so that the trainer package itself needs no cgo (and may
// carry Go assembly, which cgo packages cannot).
package openblas

// #cgo LDFLAGS: -lopenblas -ldl
// #define _GNU_SOURCE
// #include <dlfcn.h>
// void openblas_set_num_threads(int num_threads);
// int openblas_get_num_threads(void);
//
// // stop_threads ends OpenBLAS's pool threads where the library has the
// // call (its pthreads builds do; the OpenMP and serial ones have no such
// // pool) and reports whether it did.
// static int stop_threads(void) {
// 	int (*shutdown)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "blas_thread_shutdown_");
// 	if (shutdown == 0) {
// 		return 0;
// 	}
// 	shutdown();
// 	return 1;
// }
import "C"

// SetThreads sets how many threads OpenBLAS's own calls use.
func SetThreads(n int) { C.openblas_set_num_threads(C.int(n)) }

// Threads returns OpenBLAS's thread count.
func Threads() int { return int(C.openblas_get_num_threads()) }

// StopThreads ends OpenBLAS's own pool threads, which it starts when it is
// loaded and which spin for about 2²⁸ cycles after start and after every
// threaded call: for a program that keeps OpenBLAS to one thread a call
// (SetThreads(1)), they only take a core. It reports whether the library
// had such threads to stop. A later call with more threads starts them
// again.
func StopThreads() bool { return C.stop_threads() == 1 }
