package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// broadcastCases are pairs of shapes that broadcast, equal shapes first.
var broadcastCases = [][2][]int{
	{{2, 3}, {2, 3}},
	{{2, 3}, {3}},
	{{2, 3}, {1}},
	{{3}, {2, 3}},
	{{4, 1, 3}, {2, 1}},
	{{3, 1}, {1, 4}},
	{{2, 1, 3, 1}, {3, 4}},
	{{1, 5}, {2, 3, 1}},
	{{}, {2, 3}},
}

func TestBroadcastShape(t *testing.T) {
	tests := []struct {
		a, b, want []int
		ok         bool
	}{
		{a: []int{2, 3}, b: []int{3}, want: []int{2, 3}, ok: true},
		{a: []int{4, 1, 3}, b: []int{2, 1}, want: []int{4, 2, 3}, ok: true},
		{a: []int{}, b: []int{5}, want: []int{5}, ok: true},
		{a: []int{2, 0}, b: []int{1}, want: []int{2, 0}, ok: true},
		{a: []int{2, 3}, b: []int{2}, ok: false},
		{a: []int{3, 4}, b: []int{2, 4}, ok: false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v_%v", tt.a, tt.b), func(t *testing.T) {
			got, ok := BroadcastShape(tt.a, tt.b)
			if ok != tt.ok || ok && !slices.Equal(got, tt.want) {
				t.Errorf("got %v, %v, want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// arithOps are the four operators with their Forward, Backward and float64
// definitions.
var arithOps = []struct {
	op       string
	forward  func(y, a, b *Tensor)
	backward func(da, db, dy, a, b *Tensor)
	f        func(x, z float64) float64
	f32      func(x, z float32) float32
}{
	{"Add", AddForward, func(da, db, dy, a, b *Tensor) { AddBackward(da, db, dy) }, func(x, z float64) float64 { return x + z }, func(x, z float32) float32 { return x + z }},
	{"Sub", SubForward, func(da, db, dy, a, b *Tensor) { SubBackward(da, db, dy) }, func(x, z float64) float64 { return x - z }, func(x, z float32) float32 { return x - z }},
	{"Mul", MulForward, MulBackward, func(x, z float64) float64 { return x * z }, func(x, z float32) float32 { return x * z }},
	{"Div", DivForward, DivBackward, func(x, z float64) float64 { return x / z }, func(x, z float32) float32 { return x / z }},
}

// TestArithmeticForward checks Add, Sub, Mul and Div against the naive
// broadcasting loop bit for bit, over random values of the broadcasting
// cases (onnxruntime_test.go compares them with ONNX Runtime).
func TestArithmeticForward(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, o := range arithOps {
		for _, c := range broadcastCases {
			t.Run(fmt.Sprintf("%s_%v_%v", o.op, c[0], c[1]), func(t *testing.T) {
				a, b := randTensor(r, c[0]...), randTensor(r, c[1]...)
				var y Tensor
				o.forward(&y, a, b)
				want, shape := broadcastRef(a.Data, a.Shape, b.Data, b.Shape, o.f32)
				if !slices.Equal(y.Shape, shape) {
					t.Fatalf("shape: got %v, want %v", y.Shape, shape)
				}
				checkClose(t, "reference", y.Data, want, 0, 0)
			})
		}
	}
}

// TestArithmeticBackward checks the gradients of Add, Sub, Mul and Div,
// summed over broadcast dimensions and added into what the gradient
// buffers held, against float64 finite differences.
func TestArithmeticBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, o := range arithOps {
		for _, c := range broadcastCases {
			t.Run(fmt.Sprintf("%s_%v_%v", o.op, c[0], c[1]), func(t *testing.T) {
				a, b := randTensor(r, c[0]...), randTensor(r, c[1]...)
				var y Tensor
				o.forward(&y, a, b)
				dy := randTensor(r, y.Shape...)
				grads, start := filled(r, a.Shape, b.Shape)
				o.backward(grads[0], grads[1], dy, a, b)
				added(grads, start)
				f := func(in [][]float64) []float64 {
					y, _ := broadcastRef(in[0], a.Shape, in[1], b.Shape, o.f)
					return y
				}
				checkGradients(t, f, [][]float64{to64(a.Data), to64(b.Data)}, to64(dy.Data), grads)
			})
		}
	}
}

func TestArithmeticPanicsOnShapes(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"forward", func() { AddForward(new(Tensor), NewTensor(2, 3), NewTensor(2)) }},
		{"backward dy", func() { MulBackward(NewTensor(2, 3), nil, NewTensor(3, 2), NewTensor(2, 3), NewTensor(3)) }},
		{"backward da", func() { DivBackward(NewTensor(3), nil, NewTensor(2, 3), NewTensor(2, 3), NewTensor(3)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if got := recover(); got != ErrShape {
					t.Errorf("got panic %v, want %v", got, ErrShape)
				}
			}()
			tt.f()
		})
	}
}
