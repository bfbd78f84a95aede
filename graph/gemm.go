package graph

import (
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

func init() {
	register(map[string]operator{
		"Gemm": single([2]int{2, 3}, map[string]AttrType{"alpha": AttrFloat, "beta": AttrFloat, "transA": AttrInt, "transB": AttrInt},
			func(n *Node, in [][]int) ([]int, error) {
				s, ok := GemmShape(in[0], in[1], at(in, 2), n.Int("transA", 0) != 0, n.Int("transB", 0) != 0)
				return fits(s, ok, in...)
			},
			func(n *Node, y *Tensor, in []*Tensor) {
				GemmForward(y, in[0], in[1], at(in, 2), n.Float("alpha", 1), n.Float("beta", 1), n.Int("transA", 0) != 0, n.Int("transB", 0) != 0)
			},
			func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) {
				GemmBackward(din[0], din[1], at(din, 2), dy, in[0], in[1], n.Float("alpha", 1), n.Float("beta", 1), n.Int("transA", 0) != 0, n.Int("transB", 0) != 0)
			}),
		"MatMul": single([2]int{2, 2}, nil,
			func(n *Node, in [][]int) ([]int, error) {
				s, ok := MatMulShape(in[0], in[1])
				return fits(s, ok, in...)
			},
			func(n *Node, y *Tensor, in []*Tensor) { MatMulForward(y, in[0], in[1]) },
			func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) {
				MatMulBackward(din[0], din[1], dy, in[0], in[1])
			}),
	})
}

// Gemm and MatMul: matrix products, through Gemm (blas32) only.

// GemmShape returns the shape (M, N) of ONNX Gemm's output Y = alpha·A′·B′
// + beta·C, where A′ is A (M, K) or, with transA, Aᵀ of A (K, M), B′ is B
// (K, N) or, with transB, Bᵀ of B (N, K), and C (may be nil) broadcasts
// unidirectionally to (M, N). It returns false if the shapes do not fit.
func GemmShape(a, b, c []int, transA, transB bool) ([]int, bool) {
	m, n, ok := gemmDims(a, b, c, transA, transB)
	if !ok {
		return nil, false
	}
	return []int{m, n}, true
}

// gemmDims is GemmShape's (M, N), allocating nothing.
func gemmDims(a, b, c []int, transA, transB bool) (m, n int, ok bool) {
	if len(a) != 2 || len(b) != 2 {
		return 0, 0, false
	}
	m, k := a[0], a[1]
	if transA {
		m, k = k, m
	}
	kb, n := b[0], b[1]
	if transB {
		kb, n = n, kb
	}
	if k != kb {
		return 0, 0, false
	}
	if c != nil && !unidirectional(c, m, n) {
		return 0, 0, false
	}
	return m, n, true
}

// isRow reports whether c, of shape (N) or (1, N), is one row of n.
func isRow(c *Tensor, n int) bool {
	return len(c.Shape) > 0 && c.Shape[len(c.Shape)-1] == n && c.Len() == n
}

// unidirectional reports whether c broadcasts to (m, n) without growing
// it: each of its (at most two) trailing dimensions is 1 or the output's.
func unidirectional(c []int, m, n int) bool {
	if len(c) > 2 {
		return false
	}
	out := [2]int{m, n}
	for k := 1; k <= len(c); k++ {
		if d := c[len(c)-k]; d != 1 && d != out[2-k] {
			return false
		}
	}
	return true
}

// matrix is the 2-D tensor t as a blas32 matrix sharing its data.
func matrix(rows, cols int, data []float32) blas32.General {
	return blas32.General{Rows: rows, Cols: cols, Stride: max(cols, 1), Data: data}
}

func transpose(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

func flip(t blas.Transpose) blas.Transpose {
	if t == blas.Trans {
		return blas.NoTrans
	}
	return blas.Trans
}

// GemmForward writes y = alpha·A′·B′ + beta·C (ONNX Gemm; A′, B′ and the
// shapes as in GemmShape); y takes the shape (M, N). c may be nil. It
// panics with ErrShape if the shapes do not fit.
func GemmForward(y, a, b, c *Tensor, alpha, beta float32, transA, transB bool) {
	checkLen(a, b, c)
	var cs []int
	if c != nil {
		cs = c.Shape
	}
	m, n, ok := gemmDims(a.Shape, b.Shape, cs, transA, transB)
	if !ok {
		panic(ErrShape)
	}
	y.Resize(m, n)
	switch {
	case c == nil || beta == 0:
		beta = 0
	case isRow(c, n): // a bias row: copied to each row
		for i := 0; i < m; i++ {
			copy(y.Data[i*n:(i+1)*n], c.Data)
		}
	default:
		var sbuf [2]int
		walkBroadcast([]int{m, n}, stridesInto(sbuf[:], c.Shape, []int{m, n}), []int{0, 0}, func(i, ic, _ int) { y.Data[i] = c.Data[ic] })
	}
	Gemm(transpose(transA), transpose(transB), alpha, matrix(a.Shape[0], a.Shape[1], a.Data), matrix(b.Shape[0], b.Shape[1], b.Data), beta, matrix(m, n, y.Data))
}

// GemmBackward adds into da, db and dc (any may be nil) the gradients of
// GemmForward's inputs for the output gradient dy (M, N): dA′ = alpha·dY·B′ᵀ,
// dB′ = alpha·A′ᵀ·dY, dC = beta·dY summed over C's broadcast dimensions
// (dc has C's shape). It panics with ErrShape if the shapes do not fit.
func GemmBackward(da, db, dc, dy, a, b *Tensor, alpha, beta float32, transA, transB bool) {
	checkLen(da, db, dc, dy, a, b)
	m, n, ok := gemmDims(a.Shape, b.Shape, nil, transA, transB)
	if !ok || len(dy.Shape) != 2 || dy.Shape[0] != m || dy.Shape[1] != n || da != nil && !slices.Equal(da.Shape, a.Shape) || db != nil && !slices.Equal(db.Shape, b.Shape) {
		panic(ErrShape)
	}
	tA, tB := transpose(transA), transpose(transB)
	am, bm, g := matrix(a.Shape[0], a.Shape[1], a.Data), matrix(b.Shape[0], b.Shape[1], b.Data), matrix(m, n, dy.Data)
	if da != nil {
		d := matrix(a.Shape[0], a.Shape[1], da.Data)
		if transA { // dA = alpha·B′·dYᵀ
			Gemm(tB, blas.Trans, alpha, bm, g, 1, d)
		} else { // dA = alpha·dY·B′ᵀ
			Gemm(blas.NoTrans, flip(tB), alpha, g, bm, 1, d)
		}
	}
	if db != nil {
		d := matrix(b.Shape[0], b.Shape[1], db.Data)
		if transB { // dB = alpha·dYᵀ·A′
			Gemm(blas.Trans, tA, alpha, g, am, 1, d)
		} else { // dB = alpha·A′ᵀ·dY
			Gemm(flip(tA), blas.NoTrans, alpha, am, g, 1, d)
		}
	}
	if dc != nil {
		if !unidirectional(dc.Shape, m, n) {
			panic(ErrShape)
		}
		if isRow(dc, n) && beta == 1 { // a bias row: each row of dy added, in order
			for i := 0; i < m; i++ {
				Axpy(dc.Data, dy.Data[i*n:(i+1)*n], 1)
			}
			return
		}
		var sbuf [2]int
		walkBroadcast([]int{m, n}, stridesInto(sbuf[:], dc.Shape, []int{m, n}), []int{0, 0}, func(i, ic, _ int) { dc.Data[ic] += beta * dy.Data[i] })
	}
}

// matMulDims are MatMul's operands as numpy sees them: a 1-D A is a row
// (1, K), a 1-D B a column (K, 1); the leading dimensions are batches of
// matrices, which broadcast.
type matMulDims struct {
	m, k, n       int
	batch, ba, bb []int // the output's batch shape; A's and B's
	dropM, dropN  bool  // A or B was 1-D: that dimension leaves the output
}

func matMulOf(a, b []int) (matMulDims, bool) {
	var d matMulDims
	if len(a) == 0 || len(b) == 0 {
		return d, false
	}
	if len(a) == 1 {
		a, d.dropM = []int{1, a[0]}, true
	}
	if len(b) == 1 {
		b, d.dropN = []int{b[0], 1}, true
	}
	d.m, d.k, d.n = a[len(a)-2], a[len(a)-1], b[len(b)-1]
	if b[len(b)-2] != d.k {
		return d, false
	}
	d.ba, d.bb = a[:len(a)-2], b[:len(b)-2]
	batch, ok := BroadcastShape(d.ba, d.bb)
	d.batch = batch
	return d, ok
}

func (d matMulDims) shape() []int {
	s := append([]int(nil), d.batch...)
	if !d.dropM {
		s = append(s, d.m)
	}
	if !d.dropN {
		s = append(s, d.n)
	}
	return s
}

// MatMulShape returns the shape of ONNX MatMul's output, numpy's matmul: A
// (…, M, K) times B (…, K, N) is (…, M, N), the batch dimensions broadcast;
// a 1-D A or B is a row or column whose dimension leaves the output. It
// returns false if the shapes do not fit.
func MatMulShape(a, b []int) ([]int, bool) {
	d, ok := matMulOf(a, b)
	if !ok {
		return nil, false
	}
	return d.shape(), true
}

// MatMulForward writes y = A·B (ONNX MatMul; shapes as in MatMulShape),
// one Gemm a matrix of the batch; y takes the output shape. It panics with
// ErrShape if the shapes do not fit.
func MatMulForward(y, a, b *Tensor) {
	checkLen(a, b)
	d, ok := matMulOf(a.Shape, b.Shape)
	if !ok {
		panic(ErrShape)
	}
	y.Resize(d.shape()...)
	sa, sb, sy := d.m*d.k, d.k*d.n, d.m*d.n
	walkBroadcast(d.batch, broadcastStrides(d.ba, d.batch), broadcastStrides(d.bb, d.batch), func(i, ia, ib int) {
		Gemm(blas.NoTrans, blas.NoTrans, 1, matrix(d.m, d.k, a.Data[ia*sa:(ia+1)*sa]), matrix(d.k, d.n, b.Data[ib*sb:(ib+1)*sb]), 0, matrix(d.m, d.n, y.Data[i*sy:(i+1)*sy]))
	})
}

// MatMulBackward adds into da and db (either may be nil) the gradients of
// MatMulForward's inputs for the output gradient dy: dA += dY·Bᵀ and dB +=
// Aᵀ·dY matrix by matrix, summed over the batches an input was broadcast
// along. It panics with ErrShape if the shapes do not fit.
func MatMulBackward(da, db, dy, a, b *Tensor) {
	checkLen(da, db, dy, a, b)
	d, ok := matMulOf(a.Shape, b.Shape)
	if !ok || !slices.Equal(dy.Shape, d.shape()) || da != nil && !slices.Equal(da.Shape, a.Shape) || db != nil && !slices.Equal(db.Shape, b.Shape) {
		panic(ErrShape)
	}
	sa, sb, sy := d.m*d.k, d.k*d.n, d.m*d.n
	walkBroadcast(d.batch, broadcastStrides(d.ba, d.batch), broadcastStrides(d.bb, d.batch), func(i, ia, ib int) {
		g := matrix(d.m, d.n, dy.Data[i*sy:(i+1)*sy])
		if da != nil {
			Gemm(blas.NoTrans, blas.Trans, 1, g, matrix(d.k, d.n, b.Data[ib*sb:(ib+1)*sb]), 1, matrix(d.m, d.k, da.Data[ia*sa:(ia+1)*sa]))
		}
		if db != nil {
			Gemm(blas.Trans, blas.NoTrans, 1, matrix(d.m, d.k, a.Data[ia*sa:(ia+1)*sa]), g, 1, matrix(d.k, d.n, db.Data[ib*sb:(ib+1)*sb]))
		}
	})
}

// matMulRef is the textbook triple loop of A′·B′ (Gemm's and MatMul's
// reference): a (m, k) and b (k, n) read through their transposes as
// asked, summed in T.
func matMulRef[T float32 | float64](a, b []T, m, k, n int, transA, transB bool) []T {
	y := make([]T, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s T
			for l := 0; l < k; l++ {
				av, bv := a[i*k+l], b[l*n+j]
				if transA {
					av = a[l*m+i]
				}
				if transB {
					bv = b[j*k+l]
				}
				s += av * bv
			}
			y[i*n+j] = s
		}
	}
	return y
}
