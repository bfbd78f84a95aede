package export

import (
	"slices"

	"github.com/aebridge/aebridge/graph"
)

// lowerHardSwish writes HardSwish below opset 14, which has none, as
// x·HardSigmoid(x) with alpha 1/6 and beta 1/2.
func lowerHardSwish(l *lowering, n *graph.Node) ([]*graph.Node, error) {
	if l.opset >= 14 {
		return []*graph.Node{n}, nil
	}
	x, y := n.Inputs[0], n.Outputs[0]
	hs := l.fresh(y + "/hardsigmoid")
	return []*graph.Node{
		{Name: l.fresh(n.Name + "/hardsigmoid"), Op: "HardSigmoid", Inputs: []string{x}, Outputs: []string{hs},
			Attrs: map[string]graph.Attribute{"alpha": graph.Float(1.0 / 6), "beta": graph.Float(0.5)}},
		{Name: n.Name, Op: "Mul", Inputs: []string{x, hs}, Outputs: []string{y}},
	}, nil
}

// lowerLayerNorm writes LayerNormalization below opset 17, which has
// none, as PyTorch exports layer_norm there: m = ReduceMean(x), d = x − m,
// v = ReduceMean(d·d), s = √(v + epsilon), y = d/s·Scale + B, over the
// axes from axis on (an attribute below 18); the outputs Mean and
// InvStdDev, where given, are m and 1/s.
func lowerLayerNorm(l *lowering, n *graph.Node) ([]*graph.Node, error) {
	if l.opset >= 17 {
		return []*graph.Node{n}, nil
	}
	if st := n.Int("stash_type", 1); st != 1 {
		return nil, l.errorf(n, "", "attribute stash_type = %d: only 1 can be written below opset 17", st)
	}
	r := l.rank(n, 0)
	a, ok := normAxes([]int64{n.Int("axis", -1)}, r)
	if !ok {
		return nil, l.errorf(n, "", "attribute axis = %d: outside [−%d, %d)", n.Int("axis", -1), r, r)
	}
	var axes []int64
	for i := a[0]; i < r; i++ {
		axes = append(axes, int64(i))
	}
	var nodes []*graph.Node
	x, y := n.Inputs[0], n.Outputs[0]
	op := func(op, out string, attrs map[string]graph.Attribute, in ...string) string {
		if out == "" {
			out = l.fresh(y + "/" + op)
		}
		nodes = append(nodes, &graph.Node{Name: l.fresh(n.Name + "/" + op), Op: op, Inputs: in, Outputs: []string{out}, Attrs: attrs})
		return out
	}
	mean := func() map[string]graph.Attribute {
		return map[string]graph.Attribute{"axes": graph.Ints(slices.Clone(axes)...), "keepdims": graph.Int(1)}
	}
	eps := l.initializer(n.Name+"/epsilon", &graph.Tensor{Shape: []int{}, Data: []float32{n.Float("epsilon", 1e-5)}})
	m := op("ReduceMean", at(n.Outputs, 1), mean(), x)
	d := op("Sub", "", nil, x, m)
	v := op("ReduceMean", "", mean(), op("Mul", "", nil, d, d))
	s := op("Sqrt", "", nil, op("Add", "", nil, v, eps))
	if inv := at(n.Outputs, 2); inv != "" {
		op("Reciprocal", inv, nil, s)
	}
	out := y
	if input(n, 2) != "" {
		out = ""
	}
	scaled := op("Mul", out, nil, op("Div", "", nil, d, s), n.Inputs[1])
	if input(n, 2) != "" {
		op("Add", y, nil, scaled, n.Inputs[2])
	}
	return nodes, nil
}

// at is s[k], "" where s is shorter.
func at(s []string, k int) string {
	if k < len(s) {
		return s[k]
	}
	return ""
}

// reduceNoop writes a reduction with noop_with_empty_axes and no axes, a
// reduction over no axes (each element alone), as the elementwise op it
// is: x·x for ReduceSumSquare, |x| for ReduceL1 and ReduceL2, log x for
// ReduceLogSum, x itself (Identity) for the others — as ONNX's reference
// and ONNX Runtime compute it, not an Identity throughout.
func reduceNoop(n *graph.Node) *graph.Node {
	m := &graph.Node{Name: n.Name, Op: "Identity", Inputs: n.Inputs[:1], Outputs: n.Outputs}
	switch n.Op {
	case "ReduceSumSquare":
		m.Op, m.Inputs = "Mul", []string{n.Inputs[0], n.Inputs[0]}
	case "ReduceL1", "ReduceL2":
		m.Op = "Abs"
	case "ReduceLogSum":
		m.Op = "Log"
	}
	return m
}
