package graph

import (
	"fmt"
	"maps"
	"slices"
)

// Cut splits g at the tensor into an encoder, which computes the tensor
// from g's inputs, and a decoder, which computes g's outputs from it.
//
// The encoder holds the nodes the tensor needs; its inputs are the graph
// inputs they read, its output is the tensor — and, when the tensor is
// marked MarkMu, the MarkLogVar tensor after it. The decoder holds the
// nodes that compute g's outputs (those the encoder does not compute) from
// the tensor: its first input is the tensor, with the shape Describe gives
// it (−1 for the batch), followed by the graph inputs it still reads (a
// conditional model's label). Each keeps, of g's parameters, the ones its
// nodes read, and of g's marks, those that name its tensors; the nodes are
// copies, the parameters' tensors are shared with g.
//
// Cut returns a *NodeError if g does not hold together (Order, Describe),
// if the tensor is no tensor, a graph input or a parameter, if no output
// is computed from it, or if the decoder reads a tensor that the encoder
// computes other than through the tensor — a skip connection across the
// cut, whose tensor the error names. (An int64 tensor known before the
// graph runs, such as a folded shape, is no skip: the decoder gets it as a
// parameter.)
func (g *Graph) Cut(tensor string) (encoder, decoder *Graph, err error) {
	encoder, decoder, _, err = g.cut(tensor, false)
	return encoder, decoder, err
}

// CutCarrying is Cut, but a tensor computed before the cut and read after
// it (a skip connection across the cut, such as max pooling's indices for
// an unpooling decoder) is carried instead of refused: it becomes an
// output of the encoder, after the tensor, and an input of the decoder,
// after the tensor and before the graph inputs it reads. It returns the
// carried tensors in topological order.
func (g *Graph) CutCarrying(tensor string) (encoder, decoder *Graph, carried []string, err error) {
	return g.cut(tensor, true)
}

func (g *Graph) cut(tensor string, carry bool) (encoder, decoder *Graph, carried []string, err error) {
	order, err := g.Order()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := g.cuttable(order, tensor); err != nil {
		return nil, nil, nil, err
	}
	infos, err := g.Describe()
	if err != nil {
		return nil, nil, nil, err
	}
	encOuts := []string{tensor}
	if lv, ok := g.Marks[MarkLogVar]; ok && g.Marks[MarkMu] == tensor && lv != tensor {
		encOuts = append(encOuts, lv)
	}
	enc := ancestors(order, encOuts)

	// The decoder: walk back from the outputs the encoder does not compute,
	// stopping at the tensor.
	encTensors := map[string]bool{}
	for i, n := range order {
		if enc[i] {
			for _, out := range n.Outputs {
				encTensors[out] = true
			}
		}
	}
	var decOuts []string
	for _, out := range g.Outputs {
		if !encTensors[out] {
			decOuts = append(decOuts, out)
		}
	}
	if len(decOuts) == 0 {
		return nil, nil, nil, &NodeError{Tensor: tensor, Reason: "cut: every graph output is computed before it"}
	}
	position := map[string]int{}
	for i, n := range order {
		for _, out := range n.Outputs {
			position[out] = i
		}
	}
	needed := map[string]*Node{} // tensor → a decoder node that reads it (nil: a graph output)
	for _, out := range decOuts {
		needed[out] = nil
	}
	dec := make([]bool, len(order))
	consts := map[string]*Tensor{}
	usesCut := false
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		for _, out := range n.Outputs {
			reader, ok := needed[out]
			if !ok || out == "" {
				continue
			}
			if enc[i] {
				if v := infos[out].Value; v != nil && v.Type == Int64 {
					consts[out] = v
					delete(needed, out)
					continue
				}
				if carry && out != tensor {
					carried = append(carried, out)
					delete(needed, out)
					continue
				}
				e := &NodeError{Tensor: out, Reason: fmt.Sprintf("cut at %q: computed before the cut and read after it, a skip connection across the cut", tensor)}
				if reader != nil {
					e.Node, e.Op = reader.Name, reader.Op
				}
				return nil, nil, nil, e
			}
			dec[i] = true
		}
		if !dec[i] {
			continue
		}
		for _, in := range n.Inputs {
			switch {
			case in == tensor:
				usesCut = true
			case in != "":
				if _, ok := needed[in]; !ok {
					needed[in] = n
				}
			}
		}
	}
	if !usesCut {
		return nil, nil, nil, &NodeError{Tensor: tensor, Reason: "cut: no graph output is computed from it"}
	}
	slices.SortFunc(carried, func(a, b string) int { return position[a] - position[b] })
	firsts := []Value{}
	for _, t := range append([]string{tensor}, carried...) {
		info := infos[t]
		if slices.Contains(info.Shape, DynamicDim) {
			return nil, nil, nil, &NodeError{Tensor: t, Reason: fmt.Sprintf("cut at %q: its shape %v depends on the batch size other than as its batch dimension", tensor, info.Shape)}
		}
		firsts = append(firsts, Value{Name: t, Shape: slices.Clone(info.Shape), Type: info.Type})
	}
	encoder = g.subgraph(order, enc, nil, append(encOuts, carried...), nil)
	decoder = g.subgraph(order, dec, firsts, decOuts, consts)
	return encoder, decoder, carried, nil
}

// cuttable returns a *NodeError unless a node of g computes the tensor.
func (g *Graph) cuttable(order []*Node, tensor string) error {
	for _, v := range g.Inputs {
		if v.Name == tensor {
			return &NodeError{Tensor: tensor, Reason: "cut: a graph input, not a tensor a node computes"}
		}
	}
	if _, ok := g.Params[tensor]; ok {
		return &NodeError{Tensor: tensor, Reason: "cut: a parameter, not a tensor a node computes"}
	}
	for _, n := range order {
		if tensor != "" && slices.Contains(n.Outputs, tensor) {
			return nil
		}
	}
	if tensor == "" {
		return &NodeError{Reason: `cut: no tensor named ""`}
	}
	return &NodeError{Tensor: tensor, Reason: "cut: no such tensor"}
}

// ancestors marks the nodes of order (topological) that the tensors need.
func ancestors(order []*Node, tensors []string) []bool {
	need := map[string]bool{}
	for _, t := range tensors {
		need[t] = true
	}
	in := make([]bool, len(order))
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		for _, out := range n.Outputs {
			in[i] = in[i] || out != "" && need[out]
		}
		if in[i] {
			for _, t := range n.Inputs {
				need[t] = true
			}
		}
	}
	return in
}

// subgraph is the graph of the nodes of order that keep marks, reading
// firsts and then the inputs of g they read, with the
// parameters of g they read and consts as parameters, returning outputs.
func (g *Graph) subgraph(order []*Node, keep []bool, firsts []Value, outputs []string, consts map[string]*Tensor) *Graph {
	s := &Graph{Outputs: slices.Clone(outputs), Params: map[string]*Tensor{}}
	read, tensors := map[string]bool{}, map[string]bool{}
	for _, first := range firsts {
		s.Inputs = append(s.Inputs, first)
		tensors[first.Name] = true
	}
	for i, n := range order {
		if !keep[i] {
			continue
		}
		c := &Node{Name: n.Name, Op: n.Op, Inputs: slices.Clone(n.Inputs), Outputs: slices.Clone(n.Outputs), Attrs: maps.Clone(n.Attrs)}
		s.Nodes = append(s.Nodes, c)
		for _, t := range n.Inputs {
			read[t] = true
		}
		for _, t := range n.Outputs {
			tensors[t] = true
		}
	}
	for _, t := range outputs {
		read[t] = true
	}
	for _, v := range g.Inputs {
		if read[v.Name] {
			v.Shape = slices.Clone(v.Shape)
			s.Inputs = append(s.Inputs, v)
			tensors[v.Name] = true
		}
	}
	for name, p := range g.Params {
		if read[name] {
			s.Params[name] = p
			tensors[name] = true
		}
	}
	for name, p := range consts {
		s.Params[name] = p
		tensors[name] = true
	}
	for role, t := range g.Marks {
		if tensors[t] {
			if s.Marks == nil {
				s.Marks = map[string]string{}
			}
			s.Marks[role] = t
		}
	}
	return s
}

// Bottleneck returns the tensor at which to Cut g into encoder and decoder:
// the tensor marked MarkCode, or else MarkMu; without marks, the narrowest
// tensor (fewest elements per sample, batch dimensions left out) that
// every path from the graph's inputs to its outputs passes through, the
// first in topological order where several are as narrow. Paths through
// int64 tensors (shapes, axes, indices) do not count, and graph inputs and
// outputs are no candidates. It returns a *NodeError if g does not hold
// together (Order, Describe) or if no tensor qualifies.
func (g *Graph) Bottleneck() (string, error) {
	order, err := g.Order()
	if err != nil {
		return "", err
	}
	for _, role := range []string{MarkCode, MarkMu} {
		if t, ok := g.Marks[role]; ok {
			return t, nil
		}
	}
	infos, err := g.Describe()
	if err != nil {
		return "", err
	}
	// The flow graph: vertex 0 is a source before the inputs, then the
	// input tensors, each node followed by its output tensors (float32
	// ones only), and a sink after the outputs, in topological order.
	// idom[v] is v's immediate dominator (−1: unreachable from the source).
	id := map[string]int{}
	names := []string{""}
	idom := []int{0}
	intersect := func(a, b int) int {
		for a != b {
			for a > b {
				a = idom[a]
			}
			for b > a {
				b = idom[b]
			}
		}
		return a
	}
	// add appends a vertex whose predecessors are preds (−1 for none).
	add := func(name string, preds []int) int {
		d := -1
		for _, p := range preds {
			switch {
			case p < 0 || idom[p] < 0:
			case d < 0:
				d = p
			default:
				d = intersect(d, p)
			}
		}
		names = append(names, name)
		idom = append(idom, d)
		return len(idom) - 1
	}
	float := func(t string) bool { return t != "" && infos[t].Type == Float32 }
	for _, v := range g.Inputs {
		if float(v.Name) {
			id[v.Name] = add(v.Name, []int{0})
		}
	}
	vertex := func(t string) int {
		if v, ok := id[t]; ok {
			return v
		}
		return -1
	}
	for _, n := range order {
		var preds []int
		for _, in := range n.Inputs {
			preds = append(preds, vertex(in))
		}
		op := add("", preds)
		for _, out := range n.Outputs {
			if float(out) {
				id[out] = add(out, []int{op})
			}
		}
	}
	var preds []int
	for _, out := range g.Outputs {
		preds = append(preds, vertex(out))
	}
	sink := add("", preds)
	boundary := map[string]bool{}
	for _, v := range g.Inputs {
		boundary[v.Name] = true
	}
	for _, out := range g.Outputs {
		boundary[out] = true
	}
	best, bestSize := "", 0
	if idom[sink] >= 0 {
		for v := idom[sink]; v != 0; v = idom[v] {
			t := names[v]
			if t == "" || boundary[t] {
				continue
			}
			size, ok := perSample(infos[t].Shape)
			if ok && (best == "" || size <= bestSize) {
				best, bestSize = t, size
			}
		}
	}
	if best == "" {
		return "", &NodeError{Reason: "bottleneck: no tensor that every path from the inputs to the outputs passes through (mark the code, or name the tensor to cut at)"}
	}
	return best, nil
}

// perSample is the number of elements of a sample of the shape, the batch
// dimensions left out, or false if a dimension depends on the batch size
// otherwise.
func perSample(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		switch d {
		case BatchDim:
		case DynamicDim:
			return 0, false
		default:
			n *= d
		}
	}
	return n, true
}
