package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// concatCases are input shapes and an axis they concatenate along.
var concatCases = []struct {
	shapes [][]int
	axis   int
}{
	{[][]int{{2, 3}}, 1},
	{[][]int{{2, 3}, {2, 4}}, 1},
	{[][]int{{2, 3}, {1, 3}, {4, 3}}, 0},
	{[][]int{{2, 3}, {2, 2}}, -1},
	{[][]int{{2, 3, 4}, {2, 1, 4}, {2, 2, 4}}, 1},
	{[][]int{{2, 3, 4}, {2, 3, 1}}, -1},
	{[][]int{{3, 2, 2}, {1, 2, 2}}, -3},
	{[][]int{{2, 0, 3}, {2, 2, 3}}, 1},
	{[][]int{{5}, {2}}, 0},
}

func TestConcatShape(t *testing.T) {
	tests := []struct {
		in   [][]int
		axis int
		want []int
		ok   bool
	}{
		{in: [][]int{{2, 3}, {2, 4}}, axis: 1, want: []int{2, 7}, ok: true},
		{in: [][]int{{2, 3}, {2, 4}}, axis: -1, want: []int{2, 7}, ok: true},
		{in: [][]int{{2, 3}, {5, 3}}, axis: -2, want: []int{7, 3}, ok: true},
		{in: [][]int{{2, 3}}, axis: 0, want: []int{2, 3}, ok: true},
		{in: nil, axis: 0, ok: false},
		{in: [][]int{{}, {}}, axis: 0, ok: false},
		{in: [][]int{{2, 3}, {2, 4}}, axis: 2, ok: false},
		{in: [][]int{{2, 3}, {2, 4}}, axis: -3, ok: false},
		{in: [][]int{{2, 3}, {3, 4}}, axis: 1, ok: false},
		{in: [][]int{{2, 3}, {2, 3, 1}}, axis: 1, ok: false},
		{in: [][]int{{2, 3}, nil}, axis: 0, ok: false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v_%d", tt.in, tt.axis), func(t *testing.T) {
			got, ok := ConcatShape(tt.in, tt.axis)
			if ok != tt.ok || ok && !slices.Equal(got, tt.want) {
				t.Errorf("got %v, %v, want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestConcatShapesError checks that Shapes reports dimensions that differ,
// an axis out of range and a missing axis (ONNX requires it) as the node's
// *NodeError.
func TestConcatShapesError(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]Attribute
		in    [][]int
		want  string
	}{
		{"dims", map[string]Attribute{"axis": Int(1)}, [][]int{{2, 3}, {3, 3}}, "attribute axis = 1: inputs of shapes [[2 3] [3 3]] do not concatenate along it"},
		{"axis", map[string]Attribute{"axis": Int(2)}, [][]int{{2, 3}, {2, 3}}, "attribute axis = 2: inputs of shapes [[2 3] [2 3]] do not concatenate along it"},
		{"huge axis", map[string]Attribute{"axis": Int(-1 << 40)}, [][]int{{2, 3}, {2, 3}}, "attribute axis = -1099511627776: inputs of shapes [[2 3] [2 3]] do not concatenate along it"},
		{"no axis", nil, [][]int{{2, 3}, {2, 3}}, "attribute axis: missing (Concat requires it)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkShapesError(t, "Concat", tt.attrs, tt.want, tt.in...)
		})
	}
}

func TestConcatForward(t *testing.T) {
	r := rand.New(rand.NewPCG(75, 76))
	for _, c := range concatCases {
		t.Run(fmt.Sprintf("%v_%d", c.shapes, c.axis), func(t *testing.T) {
			xs := make([]*Tensor, len(c.shapes))
			data := make([][]float32, len(c.shapes))
			for k, s := range c.shapes {
				xs[k] = randTensor(r, s...)
				data[k] = xs[k].Data
			}
			y := &Tensor{Data: make([]float32, 100)}
			ConcatForward(y, xs, c.axis)
			want, shape := concatRef(data, c.shapes, c.axis)
			if !slices.Equal(y.Shape, shape) {
				t.Fatalf("shape: got %v, want %v", y.Shape, shape)
			}
			checkClose(t, "reference", y.Data, want, 0, 0)
		})
	}
}

// TestConcatBackward checks the slices of dy added into every input's
// gradient, and with the first input's gradient not wanted (nil).
func TestConcatBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(77, 78))
	for _, c := range concatCases {
		for _, skip := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v_%d_skip%v", c.shapes, c.axis, skip), func(t *testing.T) {
				xs := make([]*Tensor, len(c.shapes))
				in := make([][]float64, len(c.shapes))
				for k, s := range c.shapes {
					xs[k] = randTensor(r, s...)
					in[k] = to64(xs[k].Data)
				}
				var y Tensor
				ConcatForward(&y, xs, c.axis)
				dy := randTensor(r, y.Shape...)
				gs := slices.Clone(c.shapes)
				if skip {
					gs[0] = nil
				}
				grads, start := filled(r, gs...)
				ConcatBackward(grads, dy, xs, c.axis)
				added(grads, start)
				f := func(in [][]float64) []float64 {
					y, _ := concatRef(in, c.shapes, c.axis)
					return y
				}
				checkGradients(t, f, in, to64(dy.Data), grads)
			})
		}
	}
}
