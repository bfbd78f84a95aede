package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// An operator is what this package knows of an op type: how many inputs
// and outputs it takes, the attributes it reads and their types, its shape
// rule, and its Forward and Backward over all of a node's outputs.
//
// infer gets, for each input, its shape, element type and, where it is
// known before the graph runs (a parameter, or an int64 tensor computed
// from parameters and shapes), its value; it returns the same for each
// output (nil for an optional output left out), or an error that names
// the attribute or input at fault and its value.
//
// forward writes the outputs (out[k] is nil for an output left out) from
// the inputs (in[k] nil for an optional input left out), giving each its
// shape; backward adds the gradients with respect to the inputs into din
// (din[k] nil where none is wanted, as for int64 inputs), from the
// gradients dout of the outputs (dout[k] nil where no gradient reaches
// output k), the outputs and the inputs of the last forward.
type operator struct {
	inputs   [2]int // the least and the most
	outputs  [2]int // the least and the most
	attrs    map[string]AttrType
	infer    func(n *Node, in []arg) ([]arg, error)
	forward  func(s *state, n *Node, out, in []*Tensor)
	backward func(s *state, n *Node, din, dout, out, in []*Tensor)
	// fixed are the inputs no gradient flows to: shapes, axes, indices,
	// scales, ratios, running statistics — constants of the model, never
	// trained (Trainable leaves out the parameters that feed only these).
	fixed []int
	// elementwise marks ops whose one output is computed element by
	// element from one input, whatever the shape: the executor splits
	// them over the worker pool, running the passes on flat views.
	elementwise bool
	// check, where set, refuses input values that shape inference cannot
	// see (Gather's indices from a graph input), naming the input and the
	// value; whoever runs forward calls it first, each run.
	check func(n *Node, in []*Tensor) error
}

// arg is what shape inference knows of a tensor: its shape, its element
// type, and its value where it is known before the graph runs.
type arg struct {
	shape []int
	typ   DType
	value *Tensor
}

// state is what one node keeps between the calls of its operator: the
// mode (training switches batch normalisation to batch statistics and
// turns dropout on), the generator dropout draws from, and scratch that
// the operator's kernels allocate once and reuse.
type state struct {
	training bool
	rng      *rand.Rand
	scratch  any
}

// operators are the op types this package runs, by ONNX name. Each
// operator family's file registers its op types in an init function.
var operators = map[string]operator{}

// register adds the operators; it panics if an op type is registered twice.
func register(ops map[string]operator) {
	for name, op := range ops {
		if _, ok := operators[name]; ok {
			panic("graph: operator " + name + " registered twice")
		}
		operators[name] = op
	}
}

// Ops returns the op types this package runs, sorted.
func Ops() []string {
	names := make([]string, 0, len(operators))
	for name := range operators {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// attrError is the error of a shape rule for attribute name's value v.
func attrError(name string, v any, format string, args ...any) error {
	return fmt.Errorf("attribute %s = %v: %s", name, v, fmt.Sprintf(format, args...))
}

// operatorOf returns n's operator, or a *NodeError if this package does not
// run its op type, n has the wrong number of inputs or outputs, leaves out
// one of the inputs the op type requires (the first inputs[0]), or has an
// attribute that the op type does not have or of the wrong type.
func operatorOf(n *Node) (operator, error) {
	op, ok := operators[n.Op]
	if !ok {
		return op, &NodeError{Node: n.Name, Op: n.Op, Reason: "op type not supported"}
	}
	if len(n.Inputs) < op.inputs[0] || len(n.Inputs) > op.inputs[1] || len(n.Outputs) < op.outputs[0] || len(n.Outputs) > op.outputs[1] {
		return op, &NodeError{Node: n.Name, Op: n.Op, Reason: fmt.Sprintf("%d inputs and %d outputs, want %s inputs and %s outputs", len(n.Inputs), len(n.Outputs), span(op.inputs), span(op.outputs))}
	}
	if n.Outputs[0] == "" {
		return op, &NodeError{Node: n.Name, Op: n.Op, Reason: "first output has no name"}
	}
	for k := 0; k < op.inputs[0]; k++ {
		if n.Inputs[k] == "" {
			return op, &NodeError{Node: n.Name, Op: n.Op, Reason: fmt.Sprintf("input %d is required, but left out (named \"\")", k)}
		}
	}
	for _, name := range sortedKeys(n.Attrs) {
		want, ok := op.attrs[name]
		if !ok {
			return op, &NodeError{Node: n.Name, Op: n.Op, Reason: fmt.Sprintf("attribute %s: not an attribute of %s that this package runs", name, n.Op)}
		}
		if got := n.Attrs[name].Type; got != want {
			return op, &NodeError{Node: n.Name, Op: n.Op, Reason: fmt.Sprintf("attribute %s: type %v, want %v", name, got, want)}
		}
	}
	return op, nil
}

func span(r [2]int) string {
	switch {
	case r[0] == r[1]:
		return fmt.Sprint(r[0])
	case r[1] == math.MaxInt:
		return fmt.Sprintf("%d or more", r[0])
	}
	return fmt.Sprintf("%d to %d", r[0], r[1])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// single is the operator of an op type with one float32 output computed
// from float32 inputs, from its shape rule, Forward and Backward over that
// output.
func single(inputs [2]int, attrs map[string]AttrType, shape func(n *Node, in [][]int) ([]int, error),
	forward func(n *Node, y *Tensor, in []*Tensor), backward func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor)) operator {
	return operator{inputs: inputs, outputs: [2]int{1, 1}, attrs: attrs,
		infer: func(n *Node, in []arg) ([]arg, error) {
			shapes, err := floatShapes(n, in)
			if err != nil {
				return nil, err
			}
			s, err := shape(n, shapes)
			if err != nil {
				return nil, err
			}
			return []arg{{shape: s}}, nil
		},
		forward: func(_ *state, n *Node, out, in []*Tensor) { forward(n, out[0], in) },
		backward: func(_ *state, n *Node, din, dout, out, in []*Tensor) {
			if dout[0] != nil {
				backward(n, din, dout[0], out[0], in)
			}
		}}
}

// floatShapes returns the shapes of the inputs (nil for one left out), or
// an error naming the first that is not float32.
func floatShapes(n *Node, in []arg) ([][]int, error) {
	shapes := make([][]int, len(in))
	for k, a := range in {
		if n.Inputs[k] == "" {
			continue
		}
		if a.typ != Float32 {
			return nil, fmt.Errorf("input %d (%q) is %v, want float32", k, n.Inputs[k], a.typ)
		}
		shapes[k] = a.shape
	}
	return shapes, nil
}

// fits turns a shape rule's (shape, ok) into (shape, error).
func fits(s []int, ok bool, in ...[]int) ([]int, error) {
	if !ok {
		return nil, fmt.Errorf("input shapes %v do not fit", in)
	}
	return s, nil
}

// axisAttr is the node's attribute axis (def if it has none) as an int;
// one that an int cannot hold is math.MinInt, outside every range of axes.
func axisAttr(n *Node, def int64) int { return toInt(n.Int("axis", def)) }

// toInt is v as an int, math.MinInt if an int cannot hold it.
func toInt(v int64) int {
	if int64(int(v)) != v {
		return math.MinInt
	}
	return int(v)
}

// at is s[k], or the zero value where s is shorter (an optional input left
// out).
func at[T any](s []T, k int) T {
	var zero T
	if k < len(s) {
		return s[k]
	}
	return zero
}

// isFixed reports whether input k of an op type takes no gradient.
func isFixed(op string, k int) bool {
	return slices.Contains(operators[op].fixed, k)
}

// Trainable returns the names of the parameters that training changes,
// sorted: the float32 ones that some node reads at an input a gradient
// flows to (not Reshape's shape, Resize's scales, batch normalisation's
// running statistics and the like).
func (g *Graph) Trainable() []string {
	var names []string
	seen := map[string]bool{}
	for _, n := range g.Nodes {
		for k, in := range n.Inputs {
			if p, ok := g.Params[in]; ok && p.Type == Float32 && !seen[in] && !isFixed(n.Op, k) {
				seen[in] = true
				names = append(names, in)
			}
		}
	}
	slices.Sort(names)
	return names
}
