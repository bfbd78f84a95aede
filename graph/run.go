package graph

import (
	"fmt"
	"math"
	"slices"
)

// An operator is what Shapes, Forward and Backward know of an op type: its
// shape rule, and its Forward and Backward over one output, with the
// attributes read from the node.
type operator struct {
	inputs   []int // how many inputs it takes: the least and the most
	shape    func(n *Node, in [][]int) ([]int, bool)
	forward  func(n *Node, y *Tensor, in []*Tensor)
	backward func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor)
}

// operators are the op types this package runs, by ONNX name.
var operators = map[string]operator{
	"Gemm": {[]int{2, 3},
		func(n *Node, in [][]int) ([]int, bool) {
			return GemmShape(in[0], in[1], at(in, 2), n.Int("transA", 0) != 0, n.Int("transB", 0) != 0)
		},
		func(n *Node, y *Tensor, in []*Tensor) {
			GemmForward(y, in[0], in[1], at(in, 2), n.Float("alpha", 1), n.Float("beta", 1), n.Int("transA", 0) != 0, n.Int("transB", 0) != 0)
		},
		func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) {
			GemmBackward(din[0], din[1], at(din, 2), dy, in[0], in[1], n.Float("alpha", 1), n.Float("beta", 1), n.Int("transA", 0) != 0, n.Int("transB", 0) != 0)
		}},
	"MatMul": {[]int{2, 2},
		func(n *Node, in [][]int) ([]int, bool) { return MatMulShape(in[0], in[1]) },
		func(n *Node, y *Tensor, in []*Tensor) { MatMulForward(y, in[0], in[1]) },
		func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) {
			MatMulBackward(din[0], din[1], dy, in[0], in[1])
		}},
	"Add": binaryOp(AddForward, func(da, db, dy, a, b *Tensor) { AddBackward(da, db, dy) }),
	"Sub": binaryOp(SubForward, func(da, db, dy, a, b *Tensor) { SubBackward(da, db, dy) }),
	"Mul": binaryOp(MulForward, MulBackward),
	"Div": binaryOp(DivForward, DivBackward),
	"Relu": unaryOp(func(n *Node, y, x *Tensor) { ReluForward(y, x) },
		func(n *Node, dx, dy, x, y *Tensor) { ReluBackward(dx, dy, y) }),
	"Sigmoid": unaryOp(func(n *Node, y, x *Tensor) { SigmoidForward(y, x) },
		func(n *Node, dx, dy, x, y *Tensor) { SigmoidBackward(dx, dy, y) }),
	"Tanh": unaryOp(func(n *Node, y, x *Tensor) { TanhForward(y, x) },
		func(n *Node, dx, dy, x, y *Tensor) { TanhBackward(dx, dy, y) }),
	"LeakyRelu": unaryOp(func(n *Node, y, x *Tensor) { LeakyReluForward(y, x, n.Float("alpha", 0.01)) },
		func(n *Node, dx, dy, x, y *Tensor) { LeakyReluBackward(dx, dy, x, n.Float("alpha", 0.01)) }),
	"Elu": unaryOp(func(n *Node, y, x *Tensor) { EluForward(y, x, n.Float("alpha", 1)) },
		func(n *Node, dx, dy, x, y *Tensor) { EluBackward(dx, dy, x, y, n.Float("alpha", 1)) }),
	"Softplus": unaryOp(func(n *Node, y, x *Tensor) { SoftplusForward(y, x) },
		func(n *Node, dx, dy, x, y *Tensor) { SoftplusBackward(dx, dy, x) }),
	"Transpose": {[]int{1, 1},
		func(n *Node, in [][]int) ([]int, bool) { return TransposeShape(in[0], intsAttr(n, "perm")) },
		func(n *Node, y *Tensor, in []*Tensor) { TransposeForward(y, in[0], intsAttr(n, "perm")) },
		func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) {
			TransposeBackward(din[0], dy, intsAttr(n, "perm"))
		}},
	"Concat": {[]int{1, math.MaxInt},
		func(n *Node, in [][]int) ([]int, bool) { return ConcatShape(in, concatAxis(n)) },
		func(n *Node, y *Tensor, in []*Tensor) { ConcatForward(y, in, concatAxis(n)) },
		func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) {
			ConcatBackward(din, dy, in, concatAxis(n))
		}},
	"Flatten": {[]int{1, 1},
		func(n *Node, in [][]int) ([]int, bool) { return FlattenShape(in[0], axisAttr(n, 1)) },
		func(n *Node, y *Tensor, in []*Tensor) { FlattenForward(y, in[0], axisAttr(n, 1)) },
		func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) {
			FlattenBackward(din[0], dy, axisAttr(n, 1))
		}},
	"Softmax": {[]int{1, 1},
		func(n *Node, in [][]int) ([]int, bool) { return SoftmaxShape(in[0], axisAttr(n, -1)) },
		func(n *Node, y *Tensor, in []*Tensor) { SoftmaxForward(y, in[0], axisAttr(n, -1)) },
		func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) {
			SoftmaxBackward(din[0], dy, y, axisAttr(n, -1))
		}},
	"Identity": unaryOp(func(n *Node, y, x *Tensor) { IdentityForward(y, x) },
		func(n *Node, dx, dy, x, y *Tensor) { IdentityBackward(dx, dy) }),
}

// axisAttr is the node's attribute axis (def if it has none) as an int;
// one that an int cannot hold is math.MinInt, outside every range of axes.
func axisAttr(n *Node, def int64) int { return toInt(n.Int("axis", def)) }

// concatAxis is Concat's axis, which ONNX requires: math.MinInt if the
// node has none.
func concatAxis(n *Node) int {
	if _, ok := n.Attrs["axis"]; !ok {
		return math.MinInt
	}
	return axisAttr(n, 0)
}

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

func binaryOp(forward func(y, a, b *Tensor), backward func(da, db, dy, a, b *Tensor)) operator {
	return operator{[]int{2, 2},
		func(n *Node, in [][]int) ([]int, bool) { return BroadcastShape(in[0], in[1]) },
		func(n *Node, y *Tensor, in []*Tensor) { forward(y, in[0], in[1]) },
		func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) { backward(din[0], din[1], dy, in[0], in[1]) }}
}

func unaryOp(forward func(n *Node, y, x *Tensor), backward func(n *Node, dx, dy, x, y *Tensor)) operator {
	return operator{[]int{1, 1},
		func(n *Node, in [][]int) ([]int, bool) { return slices.Clone(in[0]), true },
		func(n *Node, y *Tensor, in []*Tensor) { forward(n, y, in[0]) },
		func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) {
			if din[0] != nil {
				backward(n, din[0], dy, in[0], y)
			}
		}}
}

// operatorOf returns n's operator, or a *NodeError if this package does not
// run its op type or n has the wrong number of inputs or outputs.
func operatorOf(n *Node) (operator, error) {
	op, ok := operators[n.Op]
	if !ok {
		return op, &NodeError{Node: n.Name, Op: n.Op, Reason: "op type not supported"}
	}
	if len(n.Inputs) < op.inputs[0] || len(n.Inputs) > op.inputs[1] || len(n.Outputs) != 1 {
		return op, &NodeError{Node: n.Name, Op: n.Op, Reason: fmt.Sprintf("%d inputs and %d outputs, want %d to %d inputs and 1 output", len(n.Inputs), len(n.Outputs), op.inputs[0], op.inputs[1])}
	}
	return op, nil
}

// Shapes infers the shape of every tensor of g from the shapes of its
// inputs (by name; a dimension −1 in g.Inputs takes the value given) and
// parameters. It returns a *NodeError for a graph Order rejects, an op
// type it does not run, or a node whose input shapes do not fit.
func (g *Graph) Shapes(inputs map[string][]int) (map[string][]int, error) {
	order, err := g.Order()
	if err != nil {
		return nil, err
	}
	shapes := map[string][]int{}
	for _, v := range g.Inputs {
		s, ok := inputs[v.Name]
		if !ok || len(s) != len(v.Shape) {
			return nil, &NodeError{Tensor: v.Name, Reason: fmt.Sprintf("input shape %v, want %v", s, v.Shape)}
		}
		for i, d := range v.Shape {
			if d != -1 && d != s[i] {
				return nil, &NodeError{Tensor: v.Name, Reason: fmt.Sprintf("input shape %v, want %v", s, v.Shape)}
			}
		}
		shapes[v.Name] = s
	}
	for name, p := range g.Params {
		shapes[name] = p.Shape
	}
	for _, n := range order {
		op, err := operatorOf(n)
		if err != nil {
			return nil, err
		}
		in := make([][]int, len(n.Inputs))
		for k, name := range n.Inputs {
			if name != "" {
				in[k] = shapes[name]
			}
		}
		out, ok := op.shape(n, in)
		if !ok {
			return nil, &NodeError{Node: n.Name, Op: n.Op, Tensor: n.Outputs[0], Reason: fmt.Sprintf("input shapes %v do not fit", in)}
		}
		shapes[n.Outputs[0]] = out
	}
	return shapes, nil
}

// Forward runs g on the inputs, node by node in topological order, and
// returns the value of every tensor: the inputs, the parameters and each
// node's output (new tensors; the inputs and parameters are not copied or
// modified). It returns Shapes' errors first. It allocates each call: it
// is the reference that a planned executor is checked against.
func (g *Graph) Forward(inputs map[string]*Tensor) (map[string]*Tensor, error) {
	in := map[string][]int{}
	for name, t := range inputs {
		in[name] = t.Shape
	}
	if _, err := g.Shapes(in); err != nil {
		return nil, err
	}
	order, _ := g.Order()
	values := map[string]*Tensor{}
	for _, v := range g.Inputs {
		values[v.Name] = inputs[v.Name]
	}
	for name, p := range g.Params {
		values[name] = p
	}
	for _, n := range order {
		op := operators[n.Op]
		y := new(Tensor)
		op.forward(n, y, lookup(values, n.Inputs))
		values[n.Outputs[0]] = y
	}
	return values, nil
}

// lookup returns the tensors of the names, nil for "".
func lookup(values map[string]*Tensor, names []string) []*Tensor {
	ts := make([]*Tensor, len(names))
	for k, name := range names {
		if name != "" {
			ts[k] = values[name]
		}
	}
	return ts
}

// Backward runs g backwards over the values of a Forward: seeds holds the
// gradients of some tensors (of their shapes, e.g. the loss's gradient at
// the outputs), and Backward returns the gradient of every tensor that
// they reach — inputs, parameters and intermediate tensors — each the sum
// over the tensor's uses. It panics with ErrShape if a seed does not have
// its tensor's shape.
func (g *Graph) Backward(values, seeds map[string]*Tensor) (map[string]*Tensor, error) {
	order, err := g.Order()
	if err != nil {
		return nil, err
	}
	grads := map[string]*Tensor{}
	for name, s := range seeds {
		v := values[name]
		if v == nil || !slices.Equal(v.Shape, s.Shape) {
			panic(ErrShape)
		}
		d := NewTensor(s.Shape...)
		copy(d.Data, s.Data)
		grads[name] = d
	}
	for k := len(order) - 1; k >= 0; k-- {
		n := order[k]
		dy := grads[n.Outputs[0]]
		if dy == nil {
			continue
		}
		din := make([]*Tensor, len(n.Inputs))
		for j, name := range n.Inputs {
			if name == "" {
				continue
			}
			if grads[name] == nil {
				grads[name] = NewTensor(values[name].Shape...)
			}
			din[j] = grads[name]
		}
		operators[n.Op].backward(n, din, dy, values[n.Outputs[0]], lookup(values, n.Inputs))
	}
	return grads, nil
}
