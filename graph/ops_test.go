package graph

import (
	"math"
	"slices"
	"testing"
)

// TestOperators checks Operators against the registry: every op type, in
// order, with its arities; the shape ops that are constants for training
// are not differentiable, and the others are.
func TestOperators(t *testing.T) {
	ops := Operators()
	var names []string
	for _, o := range ops {
		names = append(names, o.Name)
	}
	if !slices.Equal(names, Ops()) {
		t.Fatalf("got %v, want %v", names, Ops())
	}
	want := map[string]OperatorInfo{
		"Shape":              {Name: "Shape", Inputs: [2]int{1, 1}, Outputs: [2]int{1, 1}},
		"Constant":           {Name: "Constant", Inputs: [2]int{0, 0}, Outputs: [2]int{1, 1}},
		"Max":                {Name: "Max", Inputs: [2]int{1, math.MaxInt}, Outputs: [2]int{1, 1}, Differentiable: true},
		"ReduceL2":           {Name: "ReduceL2", Inputs: [2]int{1, 2}, Outputs: [2]int{1, 1}, Differentiable: true, Fixed: []int{1}},
		"Clip":               {Name: "Clip", Inputs: [2]int{1, 3}, Outputs: [2]int{1, 1}, Differentiable: true, Fixed: []int{1, 2}},
		"LayerNormalization": {Name: "LayerNormalization", Inputs: [2]int{2, 3}, Outputs: [2]int{1, 3}, Differentiable: true},
	}
	for _, o := range ops {
		if w, ok := want[o.Name]; ok && (o.Name != w.Name || o.Inputs != w.Inputs || o.Outputs != w.Outputs || o.Differentiable != w.Differentiable || !slices.Equal(o.Fixed, w.Fixed)) {
			t.Errorf("got %+v, want %+v", o, w)
		}
	}
}
