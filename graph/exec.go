package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// A Plan is a graph planned for one set of input shapes: the nodes that
// the wanted tensors need, in order, a buffer for each tensor they write
// and for each gradient Backward computes, and each node's state. Forward
// and Backward then allocate nothing: a training loop plans once per batch
// shape and runs a step after another. A Plan is not safe for concurrent
// use; the graph's parameters are read (and, for batch normalisation in
// training, their running statistics written) in place, so an optimizer
// updating them between steps is seen by the next.
type Plan struct {
	g       *Graph
	index   map[string]int // tensor name → slot
	names   []string       // slot → tensor name
	shapes  [][]int        // slot → shape
	types   []DType        // slot → element type
	values  []*Tensor      // slot → value: inputs as given, parameters, node outputs
	grads   []*Tensor      // slot → gradient buffer, or nil where Backward computes none
	owned   []bool         // slot → the plan allocated grads[slot] (and clears it)
	inputs  []int          // slots of g.Inputs
	seeds   []int          // slots of Options.Seeds
	nodes   []planNode     // the nodes Forward runs, in order
	back    []int          // indices into nodes that Backward runs, in reverse order
	clear   []int          // slots whose gradients Backward clears first
	opts    PlanOptions
	stepped bool // Forward has run since planning
}

// A planNode is one node of a Plan, with the slots it reads and writes and
// the tensor lists it passes its operator, kept to allocate nothing.
type planNode struct {
	n           *Node
	op          operator
	st          state
	in, out     []int // slots, −1 for a tensor left out
	ins, outs   []*Tensor
	din, dout   []*Tensor
	elementwise *elementwiseJob // set for the unary elementwise ops split over the worker pool
}

// PlanOptions says what a Plan computes.
type PlanOptions struct {
	// Inputs are the tensors Forward is given, in order (nil: the graph's
	// inputs). Any tensor may be one: the nodes that compute it do not
	// run, so that a plan can start in the middle of a graph (a decoder
	// from a sampled code). Plan still takes the shapes of the graph's
	// inputs, which give every tensor's.
	Inputs []string
	// Outputs are the tensors Forward computes (nil: the graph's outputs);
	// nodes that none of them needs do not run.
	Outputs []string
	// Seeds are the tensors whose gradients Backward is given, in order
	// (nil: Outputs).
	Seeds []string
	// Grads are the tensors whose gradients Backward computes: parameters,
	// inputs or intermediate tensors (nil: every float32 parameter that a
	// seed depends on). Nodes between them and the seeds run backwards;
	// others do not, and no input gradient is computed that no one wants.
	Grads []string
	// GradBuffers gives, by name, the buffers Backward adds the gradients
	// of some of Grads into (the trainer's parameter gradients). Backward
	// never clears them: the caller does, between steps. The gradients of
	// the other tensors are the plan's own, cleared by each Backward.
	GradBuffers map[string]*Tensor
	// Training switches batch normalisation to batch statistics (updating
	// its running statistics) and turns dropout on, drawing from Rand.
	Training bool
	Rand     *rand.Rand
}

// Plan plans g for inputs of the shapes (by name; a −1 of g.Inputs takes
// the value given). It returns Shapes' errors, and an error naming the
// tensor when an option names a tensor g does not have or whose gradient
// cannot be computed (an int64 tensor), or a gradient buffer of the wrong
// shape.
func (g *Graph) Plan(inputs map[string][]int, o PlanOptions) (*Plan, error) {
	args, order, err := g.infer(inputs)
	if err != nil {
		return nil, err
	}
	if o.Outputs == nil {
		o.Outputs = g.Outputs
	}
	if o.Inputs == nil {
		for _, v := range g.Inputs {
			o.Inputs = append(o.Inputs, v.Name)
		}
	}
	if o.Seeds == nil {
		o.Seeds = o.Outputs
	}
	p := &Plan{g: g, index: map[string]int{}, opts: o}
	slot := func(name string) int {
		if name == "" {
			return -1
		}
		if k, ok := p.index[name]; ok {
			return k
		}
		k := len(p.names)
		p.index[name] = k
		p.names = append(p.names, name)
		p.shapes = append(p.shapes, args[name].shape)
		p.types = append(p.types, args[name].typ)
		var v *Tensor
		if t, ok := g.Params[name]; ok {
			v = t
		} else if a := args[name]; a.value != nil {
			v = a.value // folded before the graph runs: computed once, here
		}
		p.values = append(p.values, v)
		return k
	}
	fed := map[string]bool{}
	for _, lists := range [][]string{o.Inputs, o.Outputs, o.Seeds, o.Grads} {
		for _, name := range lists {
			if _, ok := args[name]; !ok {
				return nil, &NodeError{Tensor: name, Reason: "named in the plan's options, but not a tensor of the graph"}
			}
		}
	}
	for _, name := range o.Inputs {
		if _, ok := g.Params[name]; ok || fed[name] {
			return nil, &NodeError{Tensor: name, Reason: "a plan input twice, or a parameter"}
		}
		fed[name] = true
		k := slot(name)
		p.inputs = append(p.inputs, k)
		p.values[k] = nil // given by Forward, even if known before
	}
	// The nodes the outputs and seeds need, found backwards from them.
	producer := map[string]int{}
	for i, n := range order {
		for _, out := range n.Outputs {
			if out != "" {
				producer[out] = i
			}
		}
	}
	needed := make([]bool, len(order))
	var visit func(name string)
	visit = func(name string) {
		i, ok := producer[name]
		if !ok || needed[i] || fed[name] || args[name].value != nil {
			return // an input, a parameter, a folded tensor, or seen
		}
		needed[i] = true
		for _, in := range order[i].Inputs {
			if in != "" {
				visit(in)
			}
		}
	}
	for _, name := range append(slices.Clone(o.Outputs), o.Seeds...) {
		visit(name)
	}
	for i, n := range order {
		if !needed[i] {
			continue
		}
		for _, in := range n.Inputs {
			if slices.ContainsFunc(g.Inputs, func(v Value) bool { return v.Name == in }) && !fed[in] {
				return nil, &NodeError{Node: n.Name, Op: n.Op, Tensor: in, Reason: "reads a graph input that the plan is not given (PlanOptions.Inputs)"}
			}
		}
	}
	// Which tensors depend on a wanted gradient's tensor (forward reach),
	// and which reach a seed (backward reach): a node runs backwards if
	// it is on a path between them.
	wantGrad := map[string]bool{}
	if o.Grads == nil {
		for name, t := range g.Params {
			if t.Type == Float32 {
				wantGrad[name] = true
			}
		}
	}
	for _, name := range o.Grads {
		if args[name].typ != Float32 {
			return nil, &NodeError{Tensor: name, Reason: fmt.Sprintf("a gradient is asked for, but the tensor is %v", args[name].typ)}
		}
		wantGrad[name] = true
	}
	depends := map[string]bool{}
	for name := range wantGrad {
		depends[name] = true
	}
	for i, n := range order {
		if !needed[i] {
			continue
		}
		for _, in := range n.Inputs {
			if depends[in] {
				for k, out := range n.Outputs {
					if out != "" && args[out].typ == Float32 && differentiable(n, k) {
						depends[out] = true
					}
				}
				break
			}
		}
	}
	reaches := map[string]bool{}
	for _, name := range o.Seeds {
		if args[name].typ != Float32 {
			return nil, &NodeError{Tensor: name, Reason: fmt.Sprintf("a seed of Backward, but the tensor is %v", args[name].typ)}
		}
		reaches[name] = true
	}
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		if !needed[i] || !slices.ContainsFunc(n.Outputs, func(s string) bool { return reaches[s] }) {
			continue
		}
		for _, in := range n.Inputs {
			if in != "" && depends[in] {
				reaches[in] = true
			}
		}
	}
	onPath := func(name string) bool { return name != "" && depends[name] && reaches[name] }
	for i, n := range order {
		if !needed[i] {
			continue
		}
		op, _ := operatorOf(n) // infer checked it
		pn := planNode{n: n, op: op, st: state{training: o.Training, rng: o.Rand}}
		for _, name := range n.Inputs {
			pn.in = append(pn.in, slot(name))
		}
		for _, name := range n.Outputs {
			k := slot(name)
			pn.out = append(pn.out, k)
			if k >= 0 && p.values[k] == nil {
				p.values[k] = &Tensor{Type: args[name].typ}
			}
		}
		pn.ins, pn.din = make([]*Tensor, len(n.Inputs)), make([]*Tensor, len(n.Inputs))
		pn.outs, pn.dout = make([]*Tensor, len(n.Outputs)), make([]*Tensor, len(n.Outputs))
		if op.elementwise && len(n.Inputs) == 1 {
			pn.elementwise = &elementwiseJob{}
		}
		p.nodes = append(p.nodes, pn)
	}
	// The gradient buffers: one for each tensor on a path from a wanted
	// gradient to a seed, and for each wanted one.
	p.grads = make([]*Tensor, len(p.names))
	p.owned = make([]bool, len(p.names))
	for name, buf := range o.GradBuffers {
		if !wantGrad[name] {
			return nil, &NodeError{Tensor: name, Reason: "given a gradient buffer, but not in the plan's Grads"}
		}
		if !slices.Equal(buf.Shape, args[name].shape) || buf.Type != Float32 || len(buf.Data) != elements(buf.Shape) {
			return nil, &NodeError{Tensor: name, Reason: fmt.Sprintf("gradient buffer of shape %v, want %v", buf.Shape, args[name].shape)}
		}
	}
	grad := func(name string) *Tensor {
		k := slot(name)
		if k >= len(p.grads) {
			p.grads = append(p.grads, make([]*Tensor, k+1-len(p.grads))...)
			p.owned = append(p.owned, make([]bool, k+1-len(p.owned))...)
		}
		if p.grads[k] == nil {
			if buf, ok := o.GradBuffers[name]; ok {
				p.grads[k] = buf
			} else {
				p.grads[k] = NewTensor(args[name].shape...)
				p.owned[k] = true
				p.clear = append(p.clear, k)
			}
		}
		return p.grads[k]
	}
	for i := len(p.nodes) - 1; i >= 0; i-- {
		pn := &p.nodes[i]
		if !slices.ContainsFunc(pn.n.Outputs, onPath) {
			continue
		}
		p.back = append(p.back, i)
		for k, name := range pn.n.Outputs {
			if onPath(name) {
				pn.dout[k] = grad(name)
			}
		}
		for k, name := range pn.n.Inputs {
			if onPath(name) && !isFixed(pn.n.Op, k) {
				pn.din[k] = grad(name)
			}
		}
	}
	for _, name := range o.Seeds {
		p.seeds = append(p.seeds, p.index[name])
		grad(name)
	}
	for name := range wantGrad {
		if _, ok := p.index[name]; ok && reaches[name] {
			grad(name)
		}
	}
	for _, k := range p.inputs {
		if p.values[k] == nil {
			p.values[k] = &Tensor{}
		}
	}
	return p, nil
}

// differentiable reports whether output k of n carries a gradient back to
// its inputs: not MaxPool's indices, Dropout's mask, or batch
// normalisation's running statistics.
func differentiable(n *Node, k int) bool {
	switch n.Op {
	case "MaxPool", "Dropout", "BatchNormalization":
		return k == 0
	}
	return true
}

// Forward runs the plan's nodes on the inputs, given in the order of
// PlanOptions.Inputs (the graph's inputs, unless it names others) with the
// shapes planned (and the planned types). It
// keeps references to them until the next Forward; the outputs are then
// Value's. It returns an error naming the input whose shape or type is
// not the one planned, or the node whose input values are out of range
// (Gather's indices from a graph input); Backward must not follow such a
// Forward.
func (p *Plan) Forward(inputs ...*Tensor) error {
	if len(inputs) != len(p.inputs) {
		return fmt.Errorf("graph: plan: %d inputs, want %d", len(inputs), len(p.inputs))
	}
	for j, k := range p.inputs {
		t := inputs[j]
		if t == nil || !slices.Equal(t.Shape, p.shapes[k]) || t.Type != p.types[k] || t.Len() != elements(t.Shape) {
			var shape []int
			if t != nil {
				shape = t.Shape
			}
			return &NodeError{Tensor: p.names[k], Reason: fmt.Sprintf("input shape %v, planned for %v", shape, p.shapes[k])}
		}
		p.values[k] = t
	}
	for i := range p.nodes {
		pn := &p.nodes[i]
		for k, s := range pn.in {
			pn.ins[k] = p.value(s)
		}
		for k, s := range pn.out {
			pn.outs[k] = p.value(s)
		}
		if pn.op.check != nil {
			if err := pn.op.check(pn.n, pn.ins); err != nil {
				p.stepped = false
				return &NodeError{Node: pn.n.Name, Op: pn.n.Op, Tensor: pn.n.Outputs[0], Reason: err.Error()}
			}
		}
		if pn.elementwise != nil {
			pn.elementwise.forward(pn)
			continue
		}
		pn.op.forward(&pn.st, pn.n, pn.outs, pn.ins)
	}
	p.stepped = true
	return nil
}

// Backward runs the plan backwards from the gradients of its seeds (in
// the order of PlanOptions.Seeds, each of its tensor's shape), adding the
// gradients of the wanted tensors into their buffers (Grad). It panics
// with ErrShape if a seed does not have its tensor's shape, and if
// Forward has not run.
func (p *Plan) Backward(seeds ...*Tensor) {
	if !p.stepped || len(seeds) != len(p.seeds) {
		panic(ErrShape)
	}
	for _, k := range p.clear {
		clear(p.grads[k].Data)
	}
	for j, k := range p.seeds {
		s := seeds[j]
		if s == nil || !slices.Equal(s.Shape, p.shapes[k]) || len(s.Data) != elements(s.Shape) {
			panic(ErrShape)
		}
		Axpy(p.grads[k].Data, s.Data, 1)
	}
	for _, i := range p.back {
		pn := &p.nodes[i]
		if pn.elementwise != nil {
			pn.elementwise.backward(pn)
			continue
		}
		pn.op.backward(&pn.st, pn.n, pn.din, pn.dout, pn.outs, pn.ins)
	}
}

// SetTraining switches the plan's mode (see PlanOptions.Training) and the
// generator dropout draws from, for the next Forward and Backward.
func (p *Plan) SetTraining(training bool, rng *rand.Rand) {
	p.opts.Training, p.opts.Rand = training, rng
	for i := range p.nodes {
		p.nodes[i].st.training, p.nodes[i].st.rng = training, rng
	}
}

// value is the value of slot k, nil for −1 (a tensor left out).
func (p *Plan) value(k int) *Tensor {
	if k < 0 {
		return nil
	}
	return p.values[k]
}

// Value returns the tensor name's value after Forward (nil if the plan
// does not compute it).
func (p *Plan) Value(name string) *Tensor {
	if k, ok := p.index[name]; ok {
		return p.values[k]
	}
	return nil
}

// Grad returns the gradient of the tensor name after Backward, or nil if
// the plan computes none.
func (p *Plan) Grad(name string) *Tensor {
	if k, ok := p.index[name]; ok {
		return p.grads[k]
	}
	return nil
}

// Shape returns the planned shape of the tensor name, or nil if the plan
// does not hold it.
func (p *Plan) Shape(name string) []int {
	if k, ok := p.index[name]; ok {
		return slices.Clone(p.shapes[k])
	}
	return nil
}
