package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// flattenCases are shapes and an axis to flatten them at.
var flattenCases = []struct {
	shape []int
	axis  int
}{
	{[]int{2, 3, 4}, 1},
	{[]int{2, 3, 4}, 0},
	{[]int{2, 3, 4}, 3},
	{[]int{2, 3, 4}, -1},
	{[]int{2, 3, 4, 2}, 2},
	{[]int{2, 3, 4, 2}, -4},
	{[]int{5}, 1},
}

func TestFlattenShape(t *testing.T) {
	tests := []struct {
		x    []int
		axis int
		want []int
		ok   bool
	}{
		{x: []int{2, 3, 4}, axis: 1, want: []int{2, 12}, ok: true},
		{x: []int{2, 3, 4}, axis: 0, want: []int{1, 24}, ok: true},
		{x: []int{2, 3, 4}, axis: 3, want: []int{24, 1}, ok: true},
		{x: []int{2, 3, 4}, axis: -1, want: []int{6, 4}, ok: true},
		{x: []int{2, 3, 4}, axis: -3, want: []int{1, 24}, ok: true},
		{x: []int{}, axis: 0, want: []int{1, 1}, ok: true},
		{x: []int{2, 0, 4}, axis: 2, want: []int{0, 4}, ok: true},
		{x: []int{2, 3, 4}, axis: 4, ok: false},
		{x: []int{2, 3, 4}, axis: -4, ok: false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v_%d", tt.x, tt.axis), func(t *testing.T) {
			got, ok := FlattenShape(tt.x, tt.axis)
			if ok != tt.ok || ok && !slices.Equal(got, tt.want) {
				t.Errorf("got %v, %v, want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestFlattenShapesError checks that Shapes reports an axis out of range
// (and Flatten's default axis 1 past a scalar's rank) as the node's
// *NodeError.
func TestFlattenShapesError(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]Attribute
		x     []int
		want  string
	}{
		{"axis", map[string]Attribute{"axis": Int(3)}, []int{2, 3}, "attribute axis = 3: outside [−r, r] for the input of shape [2 3]"},
		{"negative axis", map[string]Attribute{"axis": Int(-3)}, []int{2, 3}, "attribute axis = -3: outside [−r, r] for the input of shape [2 3]"},
		{"huge axis", map[string]Attribute{"axis": Int(1 << 40)}, []int{2, 3}, "attribute axis = 1099511627776: outside [−r, r] for the input of shape [2 3]"},
		{"default past scalar", nil, []int{}, "attribute axis = 1: outside [−r, r] for the input of shape []"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkShapesError(t, "Flatten", tt.attrs, tt.want, tt.x)
		})
	}
}

// TestFlattenForward checks Flatten and Identity against their definitions:
// the values unchanged in row-major order, under the flattened shape.
func TestFlattenForward(t *testing.T) {
	r := rand.New(rand.NewPCG(79, 80))
	for _, c := range flattenCases {
		t.Run(fmt.Sprintf("%v_%d", c.shape, c.axis), func(t *testing.T) {
			x := randTensor(r, c.shape...)
			a := c.axis
			if a < 0 {
				a += len(c.shape)
			}
			rows := 1
			for _, d := range c.shape[:a] {
				rows *= d
			}
			y := &Tensor{Data: make([]float32, 100)}
			FlattenForward(y, x, c.axis)
			if want := []int{rows, x.Len() / rows}; !slices.Equal(y.Shape, want) {
				t.Fatalf("shape: got %v, want %v", y.Shape, want)
			}
			checkClose(t, "reference", y.Data, x.Data, 0, 0)
			IdentityForward(y, x)
			if !slices.Equal(y.Shape, x.Shape) {
				t.Fatalf("Identity: shape: got %v, want %v", y.Shape, x.Shape)
			}
			checkClose(t, "Identity", y.Data, x.Data, 0, 0)
		})
	}
}

func TestFlattenBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(81, 82))
	id := func(in [][]float64) []float64 { return slices.Clone(in[0]) }
	for _, c := range flattenCases {
		t.Run(fmt.Sprintf("%v_%d", c.shape, c.axis), func(t *testing.T) {
			x := randTensor(r, c.shape...)
			var y Tensor
			FlattenForward(&y, x, c.axis)
			dy := randTensor(r, y.Shape...)
			grads, start := filled(r, x.Shape)
			FlattenBackward(grads[0], dy, c.axis)
			added(grads, start)
			checkGradients(t, id, [][]float64{to64(x.Data)}, to64(dy.Data), grads)

			dy.Shape = x.Shape
			grads, start = filled(r, x.Shape)
			IdentityBackward(grads[0], dy)
			added(grads, start)
			checkGradients(t, id, [][]float64{to64(x.Data)}, to64(dy.Data), grads)
		})
	}
}
