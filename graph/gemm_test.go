package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// A gemmCase is a Gemm problem: A′ (m, k), B′ (k, n), C of shape c (nil:
// none).
type gemmCase struct {
	m, k, n        int
	transA, transB bool
	c              []int
}

// Gemm's alpha and beta in the tests.
const gemmAlpha, gemmBeta = float32(0.75), float32(-1.5)

func (c gemmCase) String() string {
	return fmt.Sprintf("%dx%dx%d_%v_%v_c%v", c.m, c.k, c.n, c.transA, c.transB, c.c)
}

// forward draws the operands and runs GemmForward on them.
func (c gemmCase) forward(r *rand.Rand) (y, a, b, ct *Tensor) {
	a, b, ct = gemmOperands(r, c.m, c.k, c.n, c.transA, c.transB, c.c)
	y = new(Tensor)
	GemmForward(y, a, b, ct, gemmAlpha, gemmBeta, c.transA, c.transB)
	return y, a, b, ct
}

var gemmCases = []gemmCase{
	{2, 3, 4, false, false, []int{2, 4}},
	{3, 5, 2, false, true, []int{2}},
	{4, 2, 3, true, false, []int{4, 1}},
	{5, 4, 3, true, true, []int{1}},
	{6, 7, 5, false, true, nil},
	{1, 1, 1, false, false, []int{1, 1}},
	{3, 2, 4, false, true, []int{4}},     // a bias row
	{4, 3, 1, false, false, []int{4, 1}}, // a column, as long as a row of n = 1 is not
	{1, 3, 4, false, false, []int{1, 4}}, // a row of M = 1
}

func gemmOperands(r *rand.Rand, m, k, n int, transA, transB bool, c []int) (a, b, ct *Tensor) {
	a, b = randTensor(r, m, k), randTensor(r, k, n)
	if transA {
		a = randTensor(r, k, m)
	}
	if transB {
		b = randTensor(r, n, k)
	}
	if c != nil {
		ct = randTensor(r, c...)
	}
	return a, b, ct
}

// gemmRef is Gemm by its definition in T: the triple loop, plus beta·C
// broadcast.
func gemmRef[T float32 | float64](a, b, c []T, cs []int, m, k, n int, alpha, beta T, transA, transB bool) []T {
	y := matMulRef(a, b, m, k, n, transA, transB)
	for i := range y {
		y[i] *= alpha
	}
	if c != nil {
		bc, _ := broadcastRef(y, []int{m, n}, c, cs, func(x, z T) T { return x + beta*z })
		y = bc
	}
	return y
}

// TestGemm checks Gemm's Forward against the triple loop, and its Backward
// (added into the gradients) against float64 finite differences, for
// every transpose and C's broadcast shapes.
func TestGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, c := range gemmCases {
		t.Run(c.String(), func(t *testing.T) {
			y, a, b, ct := c.forward(r)
			alpha, beta := gemmAlpha, gemmBeta
			if want := []int{c.m, c.n}; !slices.Equal(y.Shape, want) {
				t.Fatalf("shape: got %v, want %v", y.Shape, want)
			}
			var cd []float32
			if ct != nil {
				cd = ct.Data
			}
			checkClose(t, "reference", y.Data, gemmRef(a.Data, b.Data, cd, c.c, c.m, c.k, c.n, alpha, beta, c.transA, c.transB), 1e-5, 1e-5)

			dy := randTensor(r, y.Shape...)
			grads, start := filled(r, a.Shape, b.Shape, c.c)
			GemmBackward(grads[0], grads[1], grads[2], dy, a, b, alpha, beta, c.transA, c.transB)
			added(grads, start)
			f := func(in [][]float64) []float64 {
				var c64 []float64
				if ct != nil {
					c64 = in[2]
				}
				return gemmRef(in[0], in[1], c64, c.c, c.m, c.k, c.n, float64(alpha), float64(beta), c.transA, c.transB)
			}
			in := [][]float64{to64(a.Data), to64(b.Data), nil}
			if ct != nil {
				in[2] = to64(ct.Data)
			}
			checkGradients(t, f, in, to64(dy.Data), grads)
		})
	}
}

// matMulRefND is MatMul by its definition: numpy's promotion of 1-D
// operands and broadcast batches, each product the triple loop.
func matMulRefND[T float32 | float64](a []T, as []int, b []T, bs []int) []T {
	d, ok := matMulOf(as, bs)
	if !ok {
		panic(ErrShape)
	}
	var y []T
	nb := elements(d.batch)
	idx := make([]int, len(d.batch))
	for i := 0; i < nb; i++ {
		r := i
		for k := len(d.batch) - 1; k >= 0; k-- {
			idx[k] = r % d.batch[k]
			r /= d.batch[k]
		}
		ia, ib := refOffset(idx, d.ba), refOffset(idx, d.bb)
		sa, sb := d.m*d.k, d.k*d.n
		y = append(y, matMulRef(a[ia*sa:(ia+1)*sa], b[ib*sb:(ib+1)*sb], d.m, d.k, d.n, false, false)...)
	}
	return y
}

// matMulCases are MatMul's operand shapes and the output's: 2-D, 1-D and
// batched, with broadcast batches.
var matMulCases = []struct{ a, b, want []int }{
	{[]int{3, 4}, []int{4, 5}, []int{3, 5}},
	{[]int{4}, []int{4, 5}, []int{5}},
	{[]int{3, 4}, []int{4}, []int{3}},
	{[]int{4}, []int{4}, []int{}},
	{[]int{2, 3, 4}, []int{4, 2}, []int{2, 3, 2}},
	{[]int{2, 1, 3, 4}, []int{3, 4, 5}, []int{2, 3, 3, 5}},
	{[]int{5, 4}, []int{2, 4, 3}, []int{2, 5, 3}},
}

// TestMatMul checks MatMul's Forward against the reference and its
// Backward against float64 finite differences, over matMulCases.
func TestMatMul(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for _, tt := range matMulCases {
		t.Run(fmt.Sprintf("%v_%v", tt.a, tt.b), func(t *testing.T) {
			if got, ok := MatMulShape(tt.a, tt.b); !ok || !slices.Equal(got, tt.want) {
				t.Fatalf("shape: got %v, %v, want %v", got, ok, tt.want)
			}
			a, b := randTensor(r, tt.a...), randTensor(r, tt.b...)
			var y Tensor
			MatMulForward(&y, a, b)
			checkClose(t, "reference", y.Data, matMulRefND(a.Data, a.Shape, b.Data, b.Shape), 1e-5, 1e-5)
			dy := randTensor(r, y.Shape...)
			grads, start := filled(r, a.Shape, b.Shape)
			MatMulBackward(grads[0], grads[1], dy, a, b)
			added(grads, start)
			f := func(in [][]float64) []float64 { return matMulRefND(in[0], a.Shape, in[1], b.Shape) }
			checkGradients(t, f, [][]float64{to64(a.Data), to64(b.Data)}, to64(dy.Data), grads)
		})
	}
	for _, bad := range [][2][]int{{{3, 4}, {5, 2}}, {{}, {3}}, {{2, 3, 4}, {3, 4, 2}}} {
		if got, ok := MatMulShape(bad[0], bad[1]); ok {
			t.Errorf("MatMulShape(%v, %v): got %v, want no shape", bad[0], bad[1], got)
		}
	}
}
