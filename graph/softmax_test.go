package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// softmaxCases are shapes and an axis to take Softmax along.
var softmaxCases = []struct {
	shape []int
	axis  int
}{
	{[]int{5}, -1},
	{[]int{3, 5}, -1},
	{[]int{3, 5}, 0},
	{[]int{2, 3, 4}, 1},
	{[]int{2, 3, 4}, -3},
	{[]int{2, 3, 4}, 2},
	{[]int{2, 1, 4}, 1},
}

func TestSoftmaxShape(t *testing.T) {
	tests := []struct {
		x    []int
		axis int
		ok   bool
	}{
		{x: []int{2, 3}, axis: -1, ok: true},
		{x: []int{2, 3}, axis: -2, ok: true},
		{x: []int{2, 3}, axis: 1, ok: true},
		{x: []int{2, 3}, axis: 2, ok: false},
		{x: []int{2, 3}, axis: -3, ok: false},
		{x: []int{}, axis: -1, ok: false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v_%d", tt.x, tt.axis), func(t *testing.T) {
			got, ok := SoftmaxShape(tt.x, tt.axis)
			if ok != tt.ok || ok && !slices.Equal(got, tt.x) {
				t.Errorf("got %v, %v, want %v, %v", got, ok, tt.x, tt.ok)
			}
		})
	}
}

// TestSoftmaxShapesError checks that Shapes reports an axis out of range
// as the node's *NodeError.
func TestSoftmaxShapesError(t *testing.T) {
	for _, axis := range []int64{2, -3, 1 << 40} {
		t.Run(fmt.Sprint(axis), func(t *testing.T) {
			checkShapesError(t, "Softmax", map[string]Attribute{"axis": Int(axis)}, fmt.Sprintf("attribute axis = %d: outside [−r, r) for the input of shape [2 3]", axis), []int{2, 3})
		})
	}
}

// TestSoftmaxForward checks Softmax against the textbook definition in
// float64, and that shifting a line by 1000 (eˣ overflowing float64 without
// the maximum taken away) changes nothing.
func TestSoftmaxForward(t *testing.T) {
	r := rand.New(rand.NewPCG(83, 84))
	for _, c := range softmaxCases {
		t.Run(fmt.Sprintf("%v_%d", c.shape, c.axis), func(t *testing.T) {
			x := randTensor(r, c.shape...)
			y := &Tensor{Data: make([]float32, 100)}
			SoftmaxForward(y, x, c.axis)
			if !slices.Equal(y.Shape, x.Shape) {
				t.Fatalf("shape: got %v, want %v", y.Shape, x.Shape)
			}
			want := softmaxRef(to64(x.Data), x.Shape, c.axis)
			want32 := make([]float32, len(want))
			for i, v := range want {
				want32[i] = float32(v)
			}
			checkClose(t, "reference", y.Data, want32, 1e-7, 1e-6)
			big := NewTensor(x.Shape...)
			for i, v := range x.Data {
				big.Data[i] = v + 1000
			}
			var yb Tensor
			SoftmaxForward(&yb, big, c.axis)
			checkClose(t, "shifted by 1000", yb.Data, want32, 1e-5, 1e-4)
		})
	}
}

func TestSoftmaxBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(85, 86))
	for _, c := range softmaxCases {
		t.Run(fmt.Sprintf("%v_%d", c.shape, c.axis), func(t *testing.T) {
			x := randTensor(r, c.shape...)
			var y Tensor
			SoftmaxForward(&y, x, c.axis)
			dy := randTensor(r, y.Shape...)
			grads, start := filled(r, x.Shape)
			SoftmaxBackward(grads[0], dy, &y, c.axis)
			added(grads, start)
			f := func(in [][]float64) []float64 { return softmaxRef(in[0], x.Shape, c.axis) }
			checkGradients(t, f, [][]float64{to64(x.Data)}, to64(dy.Data), grads)
		})
	}
}

func TestSoftmaxPanicsOnShapes(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"forward axis", func() { SoftmaxForward(new(Tensor), NewTensor(2, 3), 2) }},
		{"backward dy", func() { SoftmaxBackward(NewTensor(2, 3), NewTensor(3, 2), NewTensor(2, 3), 1) }},
		{"backward axis", func() { SoftmaxBackward(NewTensor(2, 3), NewTensor(2, 3), NewTensor(2, 3), -3) }},
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
