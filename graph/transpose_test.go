package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// transposeCases are shapes and permutations (nil: the default, reversed).
var transposeCases = []struct {
	shape, perm []int
}{
	{[]int{2, 3}, nil},
	{[]int{2, 3}, []int{0, 1}},
	{[]int{2, 3, 4}, []int{1, 0, 2}},
	{[]int{2, 3, 4}, []int{2, 0, 1}},
	{[]int{2, 3, 4}, nil},
	{[]int{2, 1, 3, 4}, []int{0, 2, 3, 1}},
	{[]int{3, 2, 4, 2}, []int{3, 1, 0, 2}},
	{[]int{5}, nil},
}

func TestTransposeShape(t *testing.T) {
	tests := []struct {
		x, perm, want []int
		ok            bool
	}{
		{x: []int{2, 3, 4}, want: []int{4, 3, 2}, ok: true},
		{x: []int{2, 3, 4}, perm: []int{1, 2, 0}, want: []int{3, 4, 2}, ok: true},
		{x: []int{}, want: []int{}, ok: true},
		{x: []int{2, 0}, perm: []int{1, 0}, want: []int{0, 2}, ok: true},
		{x: []int{2, 3}, perm: []int{0}, ok: false},
		{x: []int{2, 3}, perm: []int{0, 1, 2}, ok: false},
		{x: []int{2, 3}, perm: []int{1, 1}, ok: false},
		{x: []int{2, 3}, perm: []int{0, 2}, ok: false},
		{x: []int{2, 3}, perm: []int{-1, 0}, ok: false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v_%v", tt.x, tt.perm), func(t *testing.T) {
			got, ok := TransposeShape(tt.x, tt.perm)
			if ok != tt.ok || ok && !slices.Equal(got, tt.want) {
				t.Errorf("got %v, %v, want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestTransposeShapesError checks that Shapes reports a perm that is no
// permutation (a duplicate axis, one past the rank, one too many, and an
// int64 an int cannot hold on 32-bit machines) as the node's *NodeError.
func TestTransposeShapesError(t *testing.T) {
	for _, perm := range [][]int64{{0, 0}, {0, 2}, {0, 1, 2}, {1, 1<<32 + 0}} {
		t.Run(fmt.Sprint(perm), func(t *testing.T) {
			checkShapesError(t, "Transpose", map[string]Attribute{"perm": Ints(perm...)}, fmt.Sprintf("attribute perm = %v: not a permutation of the axes of the input, of shape [2 3]", perm), []int{2, 3})
		})
	}
}

func TestTransposeForward(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	for _, c := range transposeCases {
		t.Run(fmt.Sprintf("%v_%v", c.shape, c.perm), func(t *testing.T) {
			x := randTensor(r, c.shape...)
			y := &Tensor{Data: make([]float32, 100)} // reused, stale values
			TransposeForward(y, x, c.perm)
			want, shape := transposeRef(x.Data, x.Shape, c.perm)
			if !slices.Equal(y.Shape, shape) {
				t.Fatalf("shape: got %v, want %v", y.Shape, shape)
			}
			checkClose(t, "reference", y.Data, want, 0, 0)
		})
	}
}

func TestTransposeBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(73, 74))
	for _, c := range transposeCases {
		t.Run(fmt.Sprintf("%v_%v", c.shape, c.perm), func(t *testing.T) {
			x := randTensor(r, c.shape...)
			var y Tensor
			TransposeForward(&y, x, c.perm)
			dy := randTensor(r, y.Shape...)
			grads, start := filled(r, x.Shape)
			TransposeBackward(grads[0], dy, c.perm)
			added(grads, start)
			f := func(in [][]float64) []float64 {
				y, _ := transposeRef(in[0], x.Shape, c.perm)
				return y
			}
			checkGradients(t, f, [][]float64{to64(x.Data)}, to64(dy.Data), grads)
		})
	}
}

func TestLayoutPanicsOnShapes(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"transpose perm", func() { TransposeForward(new(Tensor), NewTensor(2, 3), []int{0, 0}) }},
		{"transpose backward dy", func() { TransposeBackward(NewTensor(2, 3), NewTensor(2, 3), nil) }},
		{"concat dims", func() { ConcatForward(new(Tensor), []*Tensor{NewTensor(2, 3), NewTensor(3, 3)}, 1) }},
		{"concat backward dy", func() {
			ConcatBackward([]*Tensor{nil, NewTensor(2, 1)}, NewTensor(2, 3), []*Tensor{NewTensor(2, 3), NewTensor(2, 1)}, 1)
		}},
		{"concat backward dx", func() {
			ConcatBackward([]*Tensor{NewTensor(2, 2)}, NewTensor(2, 3), []*Tensor{NewTensor(2, 3)}, 1)
		}},
		{"flatten axis", func() { FlattenForward(new(Tensor), NewTensor(2, 3), 3) }},
		{"flatten backward dy", func() { FlattenBackward(NewTensor(2, 3), NewTensor(6, 1), 1) }},
		{"identity backward", func() { IdentityBackward(NewTensor(2, 3), NewTensor(3, 2)) }},
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
