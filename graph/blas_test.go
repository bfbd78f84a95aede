package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// TestGemmAgainstFloat64 checks gemm — split over the worker pool, in
// gonum tiles or OpenBLAS calls — against a float64 product for every
// transpose combination, shapes from 1 to past the tile and split sizes,
// padded strides, alpha and beta, at 1, 2 and 3 threads.
func TestGemmAgainstFloat64(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rng := rand.New(rand.NewPCG(9, 10))
	mat := func(r, c int) blas32.General {
		stride := c + rng.IntN(3)
		g := blas32.General{Rows: r, Cols: c, Stride: stride, Data: make([]float32, (r-1)*stride+c)}
		for i := range g.Data {
			g.Data[i] = float32(rng.Float64()*2 - 1)
		}
		return g
	}
	at := func(g blas32.General, i, j int, tr blas.Transpose) float64 {
		if tr == blas.Trans {
			i, j = j, i
		}
		return float64(g.Data[i*g.Stride+j])
	}
	for _, threads := range []int{1, 2, 3} {
		runtime.GOMAXPROCS(threads)
		for _, s := range [][3]int{{1, 1, 1}, {3, 5, 7}, {64, 192, 9}, {65, 193, 130}, {130, 33, 300}, {7, 520, 64}, {300, 6, 513}} {
			m, n, k := s[0], s[1], s[2]
			for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
					t.Run(fmt.Sprintf("threads%d_%dx%dx%d_%c%c", threads, m, n, k, tA, tB), func(t *testing.T) {
						a, b := mat(m, k), mat(k, n)
						if tA == blas.Trans {
							a = mat(k, m)
						}
						if tB == blas.Trans {
							b = mat(n, k)
						}
						c := mat(m, n)
						c0 := append([]float32(nil), c.Data...)
						alpha, beta := float32(0.75), float32(-0.5)
						Gemm(tA, tB, alpha, a, b, beta, c)
						for i := 0; i < m; i++ {
							for j := 0; j < n; j++ {
								want := float64(beta) * float64(c0[i*c.Stride+j])
								for l := 0; l < k; l++ {
									want += float64(alpha) * at(a, i, l, tA) * at(b, l, j, tB)
								}
								got := float64(c.Data[i*c.Stride+j])
								if !(math.Abs(got-want) <= 1e-5*float64(k)) { // NaN fails
									t.Fatalf("c[%d][%d] = %v, want %v", i, j, got, want)
								}
							}
							// The stride's padding is left alone.
							for j := n; j < c.Stride && i < m-1; j++ {
								if c.Data[i*c.Stride+j] != c0[i*c.Stride+j] {
									t.Fatalf("padding c[%d][%d] changed", i, j)
								}
							}
						}
					})
				}
			}
		}
	}
}

// BenchmarkSGEMM measures Gemm (split over the worker pool, into OpenBLAS
// or gonum's kernels) on square 1024 matrices and on the MLP benchmark's
// largest product, x·Wᵀ for a batch of 128 from 784 to 512 features: the
// machine's rate that scripts/bench.sh sets the training workloads'
// GFLOP/s against.
func BenchmarkSGEMM(b *testing.B) {
	for _, s := range []struct{ m, n, k int }{{1024, 1024, 1024}, {128, 512, 784}} {
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.k, s.n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			mat := func(r, c int) blas32.General {
				g := blas32.General{Rows: r, Cols: c, Stride: c, Data: make([]float32, r*c)}
				for i := range g.Data {
					g.Data[i] = float32(rng.Float64()*2 - 1)
				}
				return g
			}
			x, w, y := mat(s.m, s.k), mat(s.n, s.k), mat(s.m, s.n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				Gemm(blas.NoTrans, blas.Trans, 1, x, w, 0, y)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
