//go:build openblas

package openblas

import (
	"fmt"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
)

// TestStopThreads stops the pool and checks that products still come out
// right, with one thread and with the pool started again for two.
func TestStopThreads(t *testing.T) {
	old := Threads()
	defer SetThreads(old)
	SetThreads(1)
	t.Logf("pool threads stopped: %v", StopThreads())
	impl := netlib.Implementation{}
	for _, threads := range []int{1, 2} {
		SetThreads(threads)
		const n = 256
		a, b, c := fill(n*n), fill(n*n), make([]float32, n*n)
		impl.Sgemm(blas.NoTrans, blas.NoTrans, n, n, n, 1, a, n, b, n, 0, c, n)
		for _, at := range [][2]int{{0, 0}, {17, 200}, {255, 255}} {
			var want float32
			for k := 0; k < n; k++ {
				want += a[at[0]*n+k] * b[k*n+at[1]]
			}
			if d := c[at[0]*n+at[1]] - want; d > 1e-3 || d < -1e-3 {
				t.Errorf("%d threads: c%v = %v, want %v", threads, at, c[at[0]*n+at[1]], want)
			}
		}
	}
}

func TestSetThreads(t *testing.T) {
	old := Threads()
	defer SetThreads(old)
	SetThreads(1)
	if n := Threads(); n != 1 {
		t.Errorf("after SetThreads(1), OpenBLAS runs %d threads", n)
	}
}

// BenchmarkSGEMM measures OpenBLAS's own SGEMM, its threads splitting each
// product (as many as the benchmark's -cpu, or GOMAXPROCS), on square 1024
// matrices and on a batch-128 784→512 product: the machine's rate, which
// scripts/bench.sh reports beside the trainer's.
func BenchmarkSGEMM(b *testing.B) {
	impl := netlib.Implementation{}
	old := Threads()
	defer SetThreads(old)
	for _, s := range []struct{ m, n, k int }{{1024, 1024, 1024}, {128, 512, 784}} {
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.k, s.n), func(b *testing.B) {
			SetThreads(runtime.GOMAXPROCS(0))
			a, w, c := fill(s.m*s.k), fill(s.n*s.k), make([]float32, s.m*s.n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				impl.Sgemm(blas.NoTrans, blas.Trans, s.m, s.n, s.k, 1, a, s.k, w, s.k, 0, c, s.n)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func fill(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i%7)*0.25 - 0.75
	}
	return v
}
