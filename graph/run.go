package graph

import (
	"fmt"
	"slices"
)

// Shapes infers the shape of every tensor of g from the shapes of its
// inputs (by name; a dimension −1 in g.Inputs takes the value given) and
// parameters. It returns a *NodeError for a graph Order rejects, an op
// type it does not run, or a node whose inputs do not fit its attributes
// or each other, naming the attribute or input and its value.
func (g *Graph) Shapes(inputs map[string][]int) (map[string][]int, error) {
	args, _, err := g.infer(inputs)
	if err != nil {
		return nil, err
	}
	shapes := make(map[string][]int, len(args))
	for name, a := range args {
		shapes[name] = a.shape
	}
	return shapes, nil
}

// infer returns what shape inference knows of every tensor of g (see
// Shapes), and the nodes in topological order. Int64 tensors whose inputs
// are all known before the graph runs (parameters, shapes, and what is
// computed from them) get their values: those of shape subgraphs.
func (g *Graph) infer(inputs map[string][]int) (map[string]arg, []*Node, error) {
	order, err := g.Order()
	if err != nil {
		return nil, nil, err
	}
	args := map[string]arg{}
	for _, v := range g.Inputs {
		s, ok := inputs[v.Name]
		if !ok || len(s) != len(v.Shape) {
			return nil, nil, &NodeError{Tensor: v.Name, Reason: fmt.Sprintf("input shape %v, want %v", s, v.Shape)}
		}
		for i, d := range v.Shape {
			if d != -1 && d != s[i] || s[i] < 0 {
				return nil, nil, &NodeError{Tensor: v.Name, Reason: fmt.Sprintf("input shape %v, want %v", s, v.Shape)}
			}
		}
		args[v.Name] = arg{shape: slices.Clone(s), typ: v.Type}
	}
	for name, p := range g.Params {
		args[name] = arg{shape: p.Shape, typ: p.Type, value: p}
	}
	for _, n := range order {
		op, err := operatorOf(n)
		if err != nil {
			return nil, nil, err
		}
		in := make([]arg, len(n.Inputs))
		known := true
		for k, name := range n.Inputs {
			if name != "" {
				in[k] = args[name]
				known = known && in[k].value != nil
			}
		}
		out, err := op.infer(n, in)
		if err != nil {
			return nil, nil, &NodeError{Node: n.Name, Op: n.Op, Tensor: n.Outputs[0], Reason: err.Error()}
		}
		if len(out) < len(n.Outputs) {
			panic("graph: " + n.Op + "'s shape rule returned too few outputs")
		}
		if known && foldable(n, out) {
			if err := foldBound(n, out); err != nil {
				return nil, nil, &NodeError{Node: n.Name, Op: n.Op, Tensor: n.Outputs[0], Reason: err.Error()}
			}
			fold(op, n, in, out)
		}
		for k, name := range n.Outputs {
			if name != "" {
				args[name] = out[k]
			}
		}
	}
	return args, order, nil
}

// foldable reports whether n's outputs are computed before the graph
// runs: Constant's, and int64 tensors (shapes, axes, indices) that are not
// yet known, from inputs that all are.
func foldable(n *Node, out []arg) bool {
	if n.Op == "Constant" {
		return true
	}
	for k, name := range n.Outputs {
		if name != "" && (out[k].typ != Int64 || out[k].value != nil) {
			return false
		}
	}
	return true
}

// maxFolded bounds the int64 tensors computed before the graph runs:
// shapes, axes and indices have a few values, and a file that asks for
// millions (ConstantOfShape, Expand or Tile of a shape from the file) must
// not make shape inference allocate them.
const maxFolded = 1 << 22

// foldBound returns an error if one of n's outputs to be folded has more
// than maxFolded elements.
func foldBound(n *Node, out []arg) error {
	for k, name := range n.Outputs {
		if name == "" || out[k].typ != Int64 {
			continue
		}
		if c, ok := checkedElements(out[k].shape); !ok || c > maxFolded {
			return fmt.Errorf("int64 tensor %q of shape %v: more than %d elements, computed before the graph runs", name, out[k].shape, maxFolded)
		}
	}
	return nil
}

// fold runs n on the known values of its inputs and records its outputs'
// values in out.
func fold(op operator, n *Node, in, out []arg) {
	ins := make([]*Tensor, len(in))
	for k := range in {
		ins[k] = in[k].value
	}
	outs := make([]*Tensor, len(n.Outputs))
	for k, name := range n.Outputs {
		if name != "" {
			outs[k] = &Tensor{Type: out[k].typ}
		}
	}
	op.forward(&state{}, n, outs, ins)
	for k, t := range outs {
		if t != nil {
			out[k].value = t
		}
	}
}

// Forward runs g on the inputs, node by node in topological order, and
// returns the value of every tensor: the inputs, the parameters and each
// node's outputs (new tensors; the inputs and parameters are not copied or
// modified). It returns Shapes' errors first. It allocates each call: it
// is the reference that the planned executor is checked against. Dropout
// passes its input through and batch normalisation uses its running
// statistics, as in ONNX inference. It returns a *NodeError for an input
// value that only the run shows to be wrong (an index out of range).
func (g *Graph) Forward(inputs map[string]*Tensor) (map[string]*Tensor, error) {
	shapes := map[string][]int{}
	for name, t := range inputs {
		shapes[name] = t.Shape
	}
	for _, v := range g.Inputs {
		if t, ok := inputs[v.Name]; ok && t.Type != v.Type {
			return nil, &NodeError{Tensor: v.Name, Reason: fmt.Sprintf("input of type %v, want %v", t.Type, v.Type)}
		}
	}
	_, order, err := g.infer(shapes)
	if err != nil {
		return nil, err
	}
	values := map[string]*Tensor{}
	for _, v := range g.Inputs {
		values[v.Name] = inputs[v.Name]
	}
	for name, p := range g.Params {
		values[name] = p
	}
	for _, n := range order {
		outs := make([]*Tensor, len(n.Outputs))
		for k, name := range n.Outputs {
			if name != "" {
				outs[k] = new(Tensor)
			}
		}
		op, ins := operators[n.Op], lookup(values, n.Inputs)
		if op.check != nil {
			if err := op.check(n, ins); err != nil {
				return nil, &NodeError{Node: n.Name, Op: n.Op, Tensor: n.Outputs[0], Reason: err.Error()}
			}
		}
		op.forward(&state{}, n, outs, ins)
		for k, name := range n.Outputs {
			if name != "" {
				values[name] = outs[k]
			}
		}
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
// the outputs), and Backward returns the gradient of every float32 tensor
// that they reach — inputs, parameters and intermediate tensors — each the
// sum over the tensor's uses. It panics with ErrShape if a seed does not
// have its tensor's shape.
func (g *Graph) Backward(values, seeds map[string]*Tensor) (map[string]*Tensor, error) {
	order, err := g.Order()
	if err != nil {
		return nil, err
	}
	grads := map[string]*Tensor{}
	for name, s := range seeds {
		v := values[name]
		if v == nil || v.Type != Float32 || !slices.Equal(v.Shape, s.Shape) {
			panic(ErrShape)
		}
		d := NewTensor(s.Shape...)
		copy(d.Data, s.Data)
		grads[name] = d
	}
	for k := len(order) - 1; k >= 0; k-- {
		n := order[k]
		dout := lookup(grads, n.Outputs)
		if !slices.ContainsFunc(dout, func(t *Tensor) bool { return t != nil }) {
			continue
		}
		din := make([]*Tensor, len(n.Inputs))
		for j, name := range n.Inputs {
			if name == "" || values[name].Type != Float32 {
				continue
			}
			if grads[name] == nil {
				grads[name] = NewTensor(values[name].Shape...)
			}
			din[j] = grads[name]
		}
		operators[n.Op].backward(&state{}, n, din, dout, lookup(values, n.Outputs), lookup(values, n.Inputs))
	}
	return grads, nil
}
