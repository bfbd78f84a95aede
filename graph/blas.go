package graph

import (
	"runtime"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// BLAS names the implementation behind the matrix products (Gemm):
// gonum's pure-Go kernels, or OpenBLAS in builds with the openblas tag.
var BLAS = "gonum (pure Go), products in tiles over the worker pool"

// gonumTiles says whether Gemm hands the BLAS tiles of at most
// 64 × 192 of the product: gonum's kernels run such a product on the
// calling goroutine, where a larger one would start a goroutine per 64 × 64
// block (and allocate for it). Builds with OpenBLAS clear it, and keep
// OpenBLAS to one thread: its worker threads busy-wait between calls (for
// up to 2²⁸ cycles), taking the cores from every other loop of a training
// step. Either way, Gemm splits products over the worker pool itself.
var gonumTiles = true

// SetThreads sets how many threads the kernels use (n ≤ 0: one a CPU):
// GOMAXPROCS, which bounds the worker pool that runs the parallel loops and
// the blocks of the matrix products. The same seed, data and thread count
// give the same weights, bit for bit.
func SetThreads(n int) {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	runtime.GOMAXPROCS(n)
}

// gemmGrain is the least work (multiply-adds) worth a part of a product.
const gemmGrain = 1 << 18

// Gemm computes c = alpha·op(a)·op(b) + beta·c, as blas32.Gemm does, where
// op(a) is a (m×k) or its transpose (tA), op(b) is b (k×n) or its transpose
// (tB) and c is m×n. It cuts c into blocks of rows (or of columns,
// whichever c has more of), one a worker of the pool, each an independent
// product; with gonum's kernels, each block in tiles that gonum runs on
// the calling goroutine. The blocks depend only on the shapes and
// GOMAXPROCS, so the result does too.
//
// It panics with ErrShape if op(a), op(b) and c do not have matching shapes.
func Gemm(tA, tB blas.Transpose, alpha float32, a, b blas32.General, beta float32, c blas32.General) {
	checkGemm(tA, tB, a, b, c)
	m, n := c.Rows, c.Cols
	k := a.Cols
	if tA == blas.Trans {
		k = a.Rows
	}
	if m == 0 || n == 0 {
		return
	}
	parts := max(1, min(runtime.GOMAXPROCS(0), m*n*k/gemmGrain, max(m, n)/4))
	var j *gemmJob
	select {
	case j = <-gemmJobs:
	default:
		j = new(gemmJob)
	}
	*j = gemmJob{tA: tA, tB: tB, alpha: alpha, beta: beta, a: a, b: b, c: c, byRows: m >= n, parts: parts}
	if parts == 1 {
		j.Run(0, 1)
	} else {
		ParallelFor(parts, 1, j)
	}
	*j = gemmJob{}
	select {
	case gemmJobs <- j:
	default:
	}
}

// gemmJobs are free gemmJobs (one a concurrent product).
var gemmJobs = make(chan *gemmJob, 64)

// gemmJob is a product split into parts: blocks of c's rows or columns,
// cut at multiples of 4.
type gemmJob struct {
	tA, tB      blas.Transpose
	alpha, beta float32
	a, b, c     blas32.General
	byRows      bool
	parts       int
}

func (j *gemmJob) Run(lo, hi int) {
	span := j.c.Cols
	if j.byRows {
		span = j.c.Rows
	}
	cut := func(p int) int { return min(span, (span*p/j.parts+3)&^3) }
	for p := lo; p < hi; p++ {
		from, to := cut(p), cut(p+1)
		if p == j.parts-1 {
			to = span
		}
		if from >= to {
			continue
		}
		if j.byRows {
			j.product(from, to, 0, j.c.Cols)
		} else {
			j.product(0, j.c.Rows, from, to)
		}
	}
}

// product computes the block [r0, r1) × [c0, c1) of c.
func (j *gemmJob) product(r0, r1, c0, c1 int) {
	a, b := operands(j.tA, j.tB, j.a, j.b, r0, r1, c0, c1)
	gemmSerial(j.tA, j.tB, j.alpha, a, b, j.beta, sub(j.c, r0, r1, c0, c1))
}

// operands returns the parts of op(a) and op(b) that the block [r0, r1) ×
// [c0, c1) of their product needs: rows of op(a), columns of op(b).
func operands(tA, tB blas.Transpose, a, b blas32.General, r0, r1, c0, c1 int) (blas32.General, blas32.General) {
	if tA == blas.NoTrans {
		a = sub(a, r0, r1, 0, a.Cols)
	} else {
		a = sub(a, 0, a.Rows, r0, r1)
	}
	if tB == blas.NoTrans {
		b = sub(b, 0, b.Rows, c0, c1)
	} else {
		b = sub(b, c0, c1, 0, b.Cols)
	}
	return a, b
}

// GemmSerial is Gemm on the calling goroutine, for loops whose chunks
// each compute products of their own: one BLAS call with OpenBLAS (one
// thread), tiles that gonum runs serially with gonum.
//
// It panics with ErrShape if op(a), op(b) and c do not have matching shapes.
func GemmSerial(tA, tB blas.Transpose, alpha float32, a, b blas32.General, beta float32, c blas32.General) {
	checkGemm(tA, tB, a, b, c)
	gemmSerial(tA, tB, alpha, a, b, beta, c)
}

// checkGemm panics with ErrShape unless op(a) is m×k, op(b) k×n and c m×n.
func checkGemm(tA, tB blas.Transpose, a, b, c blas32.General) {
	ar, ac, br, bc := a.Rows, a.Cols, b.Rows, b.Cols
	if tA == blas.Trans {
		ar, ac = ac, ar
	}
	if tB == blas.Trans {
		br, bc = bc, br
	}
	if ar != c.Rows || bc != c.Cols || ac != br {
		panic(ErrShape)
	}
}

// gemmSerial computes c = alpha·op(a)·op(b) + beta·c on this goroutine:
// one BLAS call with OpenBLAS (one thread), tiles that gonum runs serially
// with gonum.
func gemmSerial(tA, tB blas.Transpose, alpha float32, a, b blas32.General, beta float32, c blas32.General) {
	if !gonumTiles {
		blas32.Gemm(tA, tB, alpha, a, b, beta, c)
		return
	}
	const th, tw = 64, 192
	for r := 0; r < c.Rows; r += th {
		for col := 0; col < c.Cols; col += tw {
			re, ce := min(r+th, c.Rows), min(col+tw, c.Cols)
			ta, tb := operands(tA, tB, a, b, r, re, col, ce)
			blas32.Gemm(tA, tB, alpha, ta, tb, beta, sub(c, r, re, col, ce))
		}
	}
}

// sub is the block [r0, r1) × [c0, c1) of g, sharing its data; rows and
// columns are not empty.
func sub(g blas32.General, r0, r1, c0, c1 int) blas32.General {
	return blas32.General{Rows: r1 - r0, Cols: c1 - c0, Stride: g.Stride, Data: g.Data[r0*g.Stride+c0 : (r1-1)*g.Stride+c1]}
}
