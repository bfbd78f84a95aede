package graph

// An elementwiseJob splits a unary elementwise op over the worker pool:
// each chunk runs the op's kernels on views of its part of the tensors.
type elementwiseJob struct {
	pn    *planNode
	back  bool
	step  int
	views [][4]Tensor // per chunk: y, x, dx, dy
	ins   [][1]*Tensor
	outs  [][1]*Tensor
	din   [][1]*Tensor
	dout  [][1]*Tensor
}

func (j *elementwiseJob) prepare(pn *planNode, n int) {
	count, step := chunks(n, Grain)
	j.pn, j.step = pn, step
	if len(j.views) < count {
		j.views = make([][4]Tensor, count)
		j.ins, j.outs = make([][1]*Tensor, count), make([][1]*Tensor, count)
		j.din, j.dout = make([][1]*Tensor, count), make([][1]*Tensor, count)
	}
}

func (j *elementwiseJob) forward(pn *planNode) {
	x, y := pn.ins[0], pn.outs[0]
	y.Resize(x.Shape...)
	j.prepare(pn, x.Len())
	j.back = false
	ParallelFor(x.Len(), Grain, j)
}

func (j *elementwiseJob) backward(pn *planNode) {
	if pn.din[0] == nil || pn.dout[0] == nil {
		return
	}
	j.prepare(pn, pn.ins[0].Len())
	j.back = true
	ParallelFor(pn.ins[0].Len(), Grain, j)
}

// view sets v to the part [lo, hi) of t as a flat tensor.
func view(v *Tensor, t *Tensor, lo, hi int) *Tensor {
	if t == nil {
		return nil
	}
	v.Shape = append(v.Shape[:0], hi-lo)
	v.Data = t.Data[lo:hi:hi]
	return v
}

func (j *elementwiseJob) Run(lo, hi int) {
	c := 0
	if j.step > 0 {
		c = lo / j.step
	}
	v := &j.views[c]
	pn := j.pn
	j.ins[c][0] = view(&v[1], pn.ins[0], lo, hi)
	j.outs[c][0] = view(&v[0], pn.outs[0], lo, hi)
	if !j.back {
		pn.op.forward(&pn.st, pn.n, j.outs[c][:], j.ins[c][:])
		return
	}
	j.din[c][0] = view(&v[2], pn.din[0], lo, hi)
	j.dout[c][0] = view(&v[3], pn.dout[0], lo, hi)
	pn.op.backward(&pn.st, pn.n, j.din[c][:], j.dout[c][:], j.outs[c][:], j.ins[c][:])
}
