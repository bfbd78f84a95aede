package graph

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// TestOpCasesShapeErrors checks that Shapes refuses malformed nodes of the
// ops of opCases with the node's *NodeError, naming the input or the
// attribute and its value.
func TestOpCasesShapeErrors(t *testing.T) {
	tests := []struct {
		c    opCase
		want string
	}{
		{opCase{op: "Pow", shapes: [][]int{{2, 3}, {2}}}, `input shapes [[2 3] [2]] do not fit`},
		{opCase{op: "PRelu", shapes: [][]int{{2, 3}, {2, 1, 3}}}, `input 1 (slope, "x1") of shape [2 1 3] does not broadcast to the shape of input 0 (X), [2 3]`},
		{opCase{op: "PRelu", shapes: [][]int{{2, 3}, {2}}}, `input 1 (slope, "x1") of shape [2] does not broadcast to the shape of input 0 (X), [2 3]`},
		{opCase{op: "Max", shapes: [][]int{{2, 3}, {3}, {2}}}, `input 2 ("x2") of shape [2] does not broadcast with inputs 0 to 1, of shapes [[2 3] [3]]`},
		{opCase{op: "Clip", shapes: [][]int{{2, 3}}, consts: []*Tensor{NewTensor(2)}}, `input 1 (min, "c0") of shape [2], want a scalar`},
		{opCase{op: "Clip", shapes: [][]int{{2, 3}}, consts: []*Tensor{nil, NewTensor(1, 2)}}, `input 2 (max, "c1") of shape [1 2], want a scalar`},
		{opCase{op: "LogSoftmax", attrs: map[string]Attribute{"axis": Int(2)}, shapes: [][]int{{2, 3}}}, `attribute axis = 2: outside [−r, r) for the input of shape [2 3]`},
		{opCase{op: "ReduceSum", shapes: [][]int{{2, 3}}, consts: []*Tensor{int64T(2)}}, `input 1 (axes) = [2]: axis 2 outside [−2, 2) for the input of shape [2 3]`},
		{opCase{op: "ReduceMean", shapes: [][]int{{2, 3}}, consts: []*Tensor{int64T(-3)}}, `input 1 (axes) = [-3]: axis -3 outside [−2, 2) for the input of shape [2 3]`},
		{opCase{op: "ReduceMax", shapes: [][]int{{2, 3}}, consts: []*Tensor{int64T(1, -1)}}, `input 1 (axes) = [1 -1]: axis -1 given twice`},
		{opCase{op: "ReduceL2", shapes: [][]int{{2, 3}}, consts: []*Tensor{int64T(math.MaxInt64)}}, `input 1 (axes) = [9223372036854775807]: axis 9223372036854775807 outside [−2, 2) for the input of shape [2 3]`},
		{opCase{op: "ReduceL1", shapes: [][]int{{2, 3}}, consts: []*Tensor{scalarT(1)}}, `input 1 (axes, "c0") is float32, want int64`},
		{opCase{op: "ReduceSum", shapes: [][]int{{2, 3}}, consts: []*Tensor{NewInt64Tensor([]int64{1}, 1, 1)}}, `input 1 (axes, "c0") of shape [1 1], want 1-D`},
		{opCase{op: "LayerNormalization", attrs: map[string]Attribute{"axis": Int(2)}, shapes: [][]int{{2, 3}, {3}}}, `attribute axis = 2: outside [−r, r) for the input of shape [2 3]`},
		{opCase{op: "LayerNormalization", shapes: [][]int{{2, 3}, {2}}}, `input 1 (Scale) of shape [2] does not broadcast to the shape of X, [2 3]`},
		{opCase{op: "LayerNormalization", shapes: [][]int{{2, 3}, {3}, {4}}}, `input 2 (B) of shape [4] does not broadcast to the shape of X, [2 3]`},
		{opCase{op: "LayerNormalization", attrs: map[string]Attribute{"stash_type": Int(0)}, shapes: [][]int{{2, 3}, {3}}}, `attribute stash_type = 0: only 1 (float32 statistics) is run`},
		{opCase{op: "InstanceNormalization", shapes: [][]int{{2, 3}, {3}, {3}}}, `input 0 (X, "x0") of shape [2 3], want N×C×D₁×… (rank 3 or more)`},
		{opCase{op: "InstanceNormalization", shapes: [][]int{{2, 3, 4}, {3}, {2}}}, `input 2 (B, "x2") of shape [2], want [3] (the channels of X, of shape [2 3 4])`},
	}
	for _, tt := range tests {
		t.Run(tt.c.String(), func(t *testing.T) {
			g := opCaseGraph(tt.c)
			shapes := map[string][]int{}
			for _, v := range g.Inputs {
				shapes[v.Name] = v.Shape
			}
			_, err := g.Shapes(shapes)
			want := `graph: node "n" (` + tt.c.op + `): tensor "y0": ` + tt.want
			var ne *NodeError
			if err == nil || err.Error() != want || !errors.As(err, &ne) {
				t.Errorf("got error %v, want %q", err, want)
			}
		})
	}
}

// TestMinMaxTies checks the gradient of ties: Max and Min split it
// equally between the inputs that gave the element (PyTorch's maximum
// halves it between its two), ReduceMax and ReduceMin between the
// elements equal to the result (PyTorch's amax and amin).
func TestMinMaxTies(t *testing.T) {
	a := &Tensor{Shape: []int{3}, Data: []float32{1, 2, 3}}
	b := &Tensor{Shape: []int{3}, Data: []float32{1, 5, 3}}
	c := &Tensor{Shape: []int{1}, Data: []float32{3}}
	dy := &Tensor{Shape: []int{3}, Data: []float32{6, 6, 6}}
	xs := []*Tensor{a, b, c}
	var y Tensor
	MaxForward(&y, xs)
	dxs := []*Tensor{NewTensor(3), NewTensor(3), NewTensor(1)}
	MaxBackward(dxs, dy, &y, xs)
	// y = [3 5 3]: element 0 from c alone, 1 from b, 2 from a, b and c.
	for k, want := range [][]float32{{0, 0, 2}, {0, 6, 2}, {6 + 2}} {
		checkClose(t, "Max gradient", dxs[k].Data, want, 0, 0)
	}
	MinForward(&y, xs)
	dxs = []*Tensor{NewTensor(3), NewTensor(3), NewTensor(1)}
	MinBackward(dxs, dy, &y, xs)
	// y = [1 2 3]: element 0 from a and b, 1 from a, 2 from a, b and c.
	for k, want := range [][]float32{{3, 6, 2}, {3, 0, 2}, {2}} {
		checkClose(t, "Min gradient", dxs[k].Data, want, 0, 0)
	}
	x := &Tensor{Shape: []int{2, 3}, Data: []float32{4, 1, 4, 2, 2, 2}}
	for _, r := range []Reduction{RMax, RMin} {
		var ry Tensor
		ReduceForward(&ry, x, r, []int64{1}, false, false, nil)
		dx := NewTensor(2, 3)
		ReduceBackward(dx, &Tensor{Shape: []int{2}, Data: []float32{6, 6}}, x, &ry, r, []int64{1}, false, false, nil)
		want := map[Reduction][]float32{RMax: {3, 0, 3, 2, 2, 2}, RMin: {0, 6, 0, 2, 2, 2}}[r]
		checkClose(t, "reduction gradient", dx.Data, want, 0, 0)
	}
}

// TestOpCasesPanicOnShapes checks that the kernels panic with ErrShape on
// shapes their callers got wrong.
func TestOpCasesPanicOnShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(145, 146))
	x := randTensor(r, 2, 3)
	tests := []struct {
		name string
		f    func()
	}{
		{"Pow", func() { PowForward(new(Tensor), x, NewTensor(2)) }},
		{"PRelu", func() { PReluForward(new(Tensor), x, NewTensor(2, 2, 3)) }},
		{"Max", func() { MaxForward(new(Tensor), []*Tensor{x, NewTensor(2)}) }},
		{"Max none", func() { MaxForward(new(Tensor), nil) }},
		{"Sum backward", func() { SumBackward([]*Tensor{NewTensor(2, 3)}, NewTensor(3, 2), []*Tensor{x}) }},
		{"Clip bound", func() { clipBound([]*Tensor{x, NewTensor(2)}, 1) }},
		{"Reduce axis", func() { ReduceForward(new(Tensor), x, RSum, []int64{2}, true, false, nil) }},
		{"Reduce backward", func() { ReduceBackward(NewTensor(3), NewTensor(1), x, NewTensor(1), RSum, nil, false, false, nil) }},
		{"LayerNorm", func() { LayerNormForward(new(Tensor), new(Tensor), new(Tensor), x, NewTensor(2), nil, -1, 1e-5) }},
		{"InstanceNorm", func() {
			InstanceNormForward(new(Tensor), new(Tensor), new(Tensor), x, NewTensor(3), NewTensor(3), 1e-5)
		}},
		{"Exp backward", func() { ExpBackward(NewTensor(2, 3), NewTensor(3, 2), x) }},
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
