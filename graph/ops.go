package graph

import (
	"reflect"
	"slices"
)

// OperatorInfo is what this package runs of one op type (in its ONNX
// opset-18 form).
type OperatorInfo struct {
	Name string
	// Inputs and Outputs are the least and the most the op type takes
	// (math.MaxInt: any number).
	Inputs, Outputs [2]int
	// Differentiable reports whether Backward passes gradients through
	// the op type; an op type that is not (Shape, Constant,
	// ConstantOfShape: its outputs are constants for training) has a
	// Backward that does nothing.
	Differentiable bool
	// Fixed are the inputs that take no gradient (shapes, axes, indices,
	// scales, bounds, running statistics).
	Fixed []int
}

// Operators returns every op type this package runs, sorted by name.
func Operators() []OperatorInfo {
	none := reflect.ValueOf(noBackward).Pointer()
	out := make([]OperatorInfo, 0, len(operators))
	for _, name := range Ops() {
		op := operators[name]
		out = append(out, OperatorInfo{Name: name, Inputs: op.inputs, Outputs: op.outputs,
			Differentiable: op.backward != nil && reflect.ValueOf(op.backward).Pointer() != none,
			Fixed:          slices.Clone(op.fixed)})
	}
	return out
}
