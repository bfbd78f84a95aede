package graph

import (
	"fmt"
	"math"
	"slices"
)

// LayerNormalization (opset 17) and InstanceNormalization (opset 6):
// y = (x − mean)/√(var + epsilon)·scale + B, the mean and the (biased)
// variance over the dimensions from axis on (LayerNormalization; default
// axis −1) or over the spatial dimensions of each sample and channel
// (InstanceNormalization, x of shape N×C×D₁×…, scale and B of C). The
// statistics are taken in float64 and rounded (stash_type 1, float32).
// LayerNormalization's scale and B broadcast to x's shape; its optional
// outputs Mean and InvStdDev have x's shape with the normalised dimensions
// set to 1, and gradients flow back through them too.

func init() {
	register(map[string]operator{
		"LayerNormalization": {inputs: [2]int{2, 3}, outputs: [2]int{1, 3},
			attrs:    map[string]AttrType{"axis": AttrInt, "epsilon": AttrFloat, "stash_type": AttrInt},
			infer:    layerNormInfer,
			forward:  layerNormForwardOp,
			backward: layerNormBackwardOp},
		"InstanceNormalization": single([2]int{3, 3}, map[string]AttrType{"epsilon": AttrFloat},
			func(n *Node, in [][]int) ([]int, error) {
				x := in[0]
				if len(x) < 3 {
					return nil, fmt.Errorf("input 0 (X, %q) of shape %v, want N×C×D₁×… (rank 3 or more)", n.Inputs[0], x)
				}
				for k, name := range []string{"", "scale", "B"} {
					if k > 0 && !slices.Equal(in[k], x[1:2]) {
						return nil, fmt.Errorf("input %d (%s, %q) of shape %v, want [%d] (the channels of X, of shape %v)", k, name, n.Inputs[k], in[k], x[1], x)
					}
				}
				return slices.Clone(x), nil
			},
			nil, nil), // forward and backward: withState
	})
	operators["InstanceNormalization"] = withState(operators["InstanceNormalization"])
}

// normState is a normalisation node's scratch: the statistics where no
// output holds them, and a buffer of x's size for Backward.
type normState struct{ mean, inv, tmp, g Tensor }

func normStateOf(s *state) *normState {
	ns, ok := s.scratch.(*normState)
	if !ok {
		ns = &normState{}
		s.scratch = ns
	}
	return ns
}

// withState replaces InstanceNormalization's forward and backward by ones
// that keep the statistics in the node's state between them.
func withState(op operator) operator {
	eps := func(n *Node) float32 { return n.Float("epsilon", 1e-5) }
	op.forward = func(s *state, n *Node, out, in []*Tensor) {
		ns := normStateOf(s)
		InstanceNormForward(out[0], &ns.mean, &ns.inv, in[0], in[1], in[2], eps(n))
	}
	op.backward = func(s *state, n *Node, din, dout, out, in []*Tensor) {
		if dout[0] == nil {
			return
		}
		ns := normStateOf(s)
		if len(ns.mean.Data) != in[0].Shape[0]*in[0].Shape[1] { // the reference Backward's fresh state
			InstanceNormForward(&ns.tmp, &ns.mean, &ns.inv, in[0], in[1], in[2], eps(n))
		}
		InstanceNormBackward(din[0], din[1], din[2], dout[0], in[0], in[1], &ns.mean, &ns.inv)
	}
	return op
}

// LayerNormShape returns the shapes of y and of the statistics of a
// LayerNormalization of x along axis, or an error naming the input or the
// attribute at fault.
func LayerNormShape(x, scale, b []int, axis int) (y, stats []int, err error) {
	stats = make([]int, len(x))
	if err := layerNormDims(stats, x, scale, b, axis); err != nil {
		return nil, nil, err
	}
	return slices.Clone(x), stats, nil
}

// layerNormDims writes into stats (of x's length) the statistics' shape,
// allocating nothing unless it returns an error.
func layerNormDims(stats, x, scale, b []int, axis int) error {
	a, ok := normAxis(axis, len(x))
	if !ok {
		return attrError("axis", axis, "outside [−r, r) for the input of shape %v", x)
	}
	var buf [maxStackRank]int
	for k, s := range [][]int{scale, b} {
		if s == nil && k == 1 {
			continue
		}
		if o, ok := broadcastInto(scratchInts(buf[:], max(len(x), len(s))), x, s); !ok || !slices.Equal(o, x) {
			return fmt.Errorf("input %d (%s) of shape %v does not broadcast to the shape of X, %v", k+1, [2]string{"Scale", "B"}[k], s, x)
		}
	}
	copy(stats, x)
	for i := a; i < len(x); i++ {
		stats[i] = 1
	}
	return nil
}

func layerNormInfer(n *Node, in []arg) ([]arg, error) {
	shapes, err := floatShapes(n, in)
	if err != nil {
		return nil, err
	}
	if st := n.Int("stash_type", 1); st != 1 {
		return nil, attrError("stash_type", st, "only 1 (float32 statistics) is run")
	}
	y, stats, err := LayerNormShape(shapes[0], shapes[1], at(shapes, 2), axisAttr(n, -1))
	if err != nil {
		return nil, err
	}
	out := []arg{{shape: y}, {shape: stats}, {shape: slices.Clone(stats)}}
	for k := 1; k < 3; k++ {
		if k >= len(n.Outputs) || n.Outputs[k] == "" {
			out[k] = arg{}
		}
	}
	return out[:len(n.Outputs)], nil
}

// layerNormStats are the tensors a LayerNormalization node keeps its
// statistics in: its outputs where it has them, else its state's.
func layerNormStats(s *state, out []*Tensor) (mean, inv *Tensor) {
	ns := normStateOf(s)
	mean, inv = at(out, 1), at(out, 2)
	if mean == nil {
		mean = &ns.mean
	}
	if inv == nil {
		inv = &ns.inv
	}
	return mean, inv
}

func layerNormForwardOp(s *state, n *Node, out, in []*Tensor) {
	mean, inv := layerNormStats(s, out)
	LayerNormForward(out[0], mean, inv, in[0], in[1], at(in, 2), axisAttr(n, -1), n.Float("epsilon", 1e-5))
}

func layerNormBackwardOp(s *state, n *Node, din, dout, out, in []*Tensor) {
	mean, inv := layerNormStats(s, out)
	if len(mean.Data) == 0 || len(mean.Data)*lastDims(in[0].Shape, axisAttr(n, -1)) != in[0].Len() {
		var y Tensor // the reference Backward's fresh state
		LayerNormForward(&y, mean, inv, in[0], in[1], at(in, 2), axisAttr(n, -1), n.Float("epsilon", 1e-5))
	}
	LayerNormBackward(at(din, 0), at(din, 1), at(din, 2), at(dout, 0), at(dout, 1), at(dout, 2),
		in[0], in[1], mean, inv, axisAttr(n, -1), &normStateOf(s).g)
}

// lastDims is the number of elements of the dimensions of shape from axis
// on (0 where axis is outside the rank).
func lastDims(shape []int, axis int) int {
	a, ok := normAxis(axis, len(shape))
	if !ok {
		return 0
	}
	return elements(shape[a:])
}

// LayerNormForward writes y, and the statistics mean and inv =
// 1/√(var + eps) (of x's shape with the dimensions from axis on 1), of the
// LayerNormalization of x along axis; b may be nil. It panics with
// ErrShape if the shapes do not fit.
func LayerNormForward(y, mean, inv, x, scale, b *Tensor, axis int, eps float32) {
	checkLen(x, scale, b)
	var stbuf [maxStackRank]int
	stats := scratchInts(stbuf[:], len(x.Shape))
	if layerNormDims(stats, x.Shape, scale.Shape, shapeOf(b), axis) != nil {
		panic(ErrShape)
	}
	ys := x.Shape
	y.Resize(ys...)
	mean.Resize(stats...)
	inv.Resize(stats...)
	rows := len(mean.Data)
	n := 0
	if rows > 0 {
		n = len(x.Data) / rows
	}
	for r := 0; r < rows; r++ {
		m, iv := rowStats(x.Data[r*n:(r+1)*n], eps)
		mean.Data[r], inv.Data[r] = m, iv
		for i, v := range x.Data[r*n : (r+1)*n] {
			y.Data[r*n+i] = (v - m) * iv
		}
	}
	var sbuf, bbuf [maxStackRank]int
	ss := stridesInto(scratchInts(sbuf[:], len(ys)), scale.Shape, ys)
	sb := ss
	if b != nil {
		sb = stridesInto(scratchInts(bbuf[:], len(ys)), b.Shape, ys)
	}
	yd, sd := y.Data, scale.Data
	if b == nil {
		walkBroadcast(ys, ss, ss, func(i, is, _ int) { yd[i] *= sd[is] })
		return
	}
	bd := b.Data
	walkBroadcast(ys, ss, sb, func(i, is, ib int) { yd[i] = yd[i]*sd[is] + bd[ib] })
}

func shapeOf(t *Tensor) []int {
	if t == nil {
		return nil
	}
	return t.Shape
}

// rowStats returns the mean and 1/√(var + eps) of x, in float64 and
// rounded.
func rowStats(x []float32, eps float32) (mean, inv float32) {
	if len(x) == 0 {
		return 0, float32(1 / math.Sqrt(float64(eps)))
	}
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	m := s / float64(len(x))
	var q float64
	for _, v := range x {
		d := float64(v) - m
		q += d * d
	}
	return float32(m), float32(1 / math.Sqrt(q/float64(len(x))+float64(eps)))
}

// normRowBackward adds into dx the gradient through the normalisation of
// one row: inv·(g − mean(g) − x̂·mean(g·x̂)), x̂ = (x − m)·inv, g the
// gradient with respect to x̂; and that of the statistics' own gradients
// dm and dinv (0 where none).
func normRowBackward(dx, g, x []float32, m, inv, dm, dinv float32) {
	n := float64(len(x))
	if n == 0 {
		return
	}
	var sg, sgx float64
	for i, v := range x {
		xh := float64((v - m) * inv)
		sg += float64(g[i])
		sgx += float64(g[i]) * xh
	}
	mg, mgx := sg/n, sgx/n
	iv := float64(inv)
	for i, v := range x {
		xh := float64((v - m) * inv)
		d := iv*(float64(g[i])-mg-xh*mgx) + float64(dm)/n - float64(dinv)*iv*iv*xh/n
		dx[i] += float32(d)
	}
}

// LayerNormBackward adds the gradients of LayerNormalization into dx,
// dscale and db (any may be nil), from dy and the gradients of the
// statistics dmean and dinv (any may be nil), x, scale and the statistics
// of the Forward; g is a buffer of x's size, kept by the caller. It panics
// with ErrShape if the shapes do not fit.
func LayerNormBackward(dx, dscale, db, dy, dmean, dinv, x, scale, mean, inv *Tensor, axis int, g *Tensor) {
	checkLen(dx, dscale, db, dy, dmean, dinv, x, scale, mean, inv)
	var stbuf [maxStackRank]int
	stats := scratchInts(stbuf[:], len(x.Shape))
	if layerNormDims(stats, x.Shape, scale.Shape, shapeOf(db), axis) != nil || !slices.Equal(mean.Shape, stats) || !slices.Equal(inv.Shape, stats) ||
		dx != nil && !slices.Equal(dx.Shape, x.Shape) || dy != nil && !slices.Equal(dy.Shape, x.Shape) {
		panic(ErrShape)
	}
	if dscale != nil && !slices.Equal(dscale.Shape, scale.Shape) {
		panic(ErrShape)
	}
	rows := len(mean.Data)
	n := 0
	if rows > 0 {
		n = len(x.Data) / rows
	}
	g.Resize(len(x.Data))
	gd, xd := g.Data, x.Data
	clear(gd)
	if dy != nil {
		var sbuf, bbuf [maxStackRank]int
		ss := stridesInto(scratchInts(sbuf[:], len(x.Shape)), scale.Shape, x.Shape)
		sb := ss
		if db != nil {
			sb = stridesInto(scratchInts(bbuf[:], len(x.Shape)), db.Shape, x.Shape)
		}
		sd, md, id, yd := scale.Data, mean.Data, inv.Data, dy.Data
		walkBroadcast(x.Shape, ss, sb, func(i, is, ib int) {
			gd[i] = yd[i] * sd[is]
			if dscale != nil {
				r := i / n
				dscale.Data[is] += yd[i] * (xd[i] - md[r]) * id[r]
			}
			if db != nil {
				db.Data[ib] += yd[i]
			}
		})
	}
	if dx == nil {
		return
	}
	for r := 0; r < rows; r++ {
		var dm, di float32
		if dmean != nil {
			dm = dmean.Data[r]
		}
		if dinv != nil {
			di = dinv.Data[r]
		}
		normRowBackward(dx.Data[r*n:(r+1)*n], gd[r*n:(r+1)*n], xd[r*n:(r+1)*n], mean.Data[r], inv.Data[r], dm, di)
	}
}

// InstanceNormForward writes y and the statistics (N·C values each) of
// the InstanceNormalization of x (N×C×D₁×…) with scale and b (C each). It
// panics with ErrShape if the shapes do not fit.
func InstanceNormForward(y, mean, inv, x, scale, b *Tensor, eps float32) {
	checkLen(x, scale, b)
	if len(x.Shape) < 3 || !slices.Equal(scale.Shape, x.Shape[1:2]) || !slices.Equal(b.Shape, x.Shape[1:2]) {
		panic(ErrShape)
	}
	c := x.Shape[1]
	rows := x.Shape[0] * c
	n := elements(x.Shape[2:])
	y.Resize(x.Shape...)
	mean.Resize(rows)
	inv.Resize(rows)
	for r := 0; r < rows; r++ {
		m, iv := rowStats(x.Data[r*n:(r+1)*n], eps)
		mean.Data[r], inv.Data[r] = m, iv
		s, o := scale.Data[r%c], b.Data[r%c]
		for i, v := range x.Data[r*n : (r+1)*n] {
			y.Data[r*n+i] = (v-m)*iv*s + o
		}
	}
}

// InstanceNormBackward adds the gradients of InstanceNormalization into
// dx, dscale and db (any may be nil), from dy, x, scale and the
// statistics of the Forward. It panics with ErrShape if the shapes do not
// fit.
func InstanceNormBackward(dx, dscale, db, dy, x, scale, mean, inv *Tensor) {
	checkLen(dx, dscale, db, dy, x, scale, mean, inv)
	if len(x.Shape) < 3 || !slices.Equal(dy.Shape, x.Shape) || dx != nil && !slices.Equal(dx.Shape, x.Shape) ||
		dscale != nil && !slices.Equal(dscale.Shape, scale.Shape) || db != nil && !slices.Equal(db.Shape, scale.Shape) ||
		!slices.Equal(scale.Shape, x.Shape[1:2]) || len(mean.Data) != x.Shape[0]*x.Shape[1] || len(inv.Data) != len(mean.Data) {
		panic(ErrShape)
	}
	c := x.Shape[1]
	n := elements(x.Shape[2:])
	for r := range mean.Data {
		m, iv, s := mean.Data[r], inv.Data[r], scale.Data[r%c]
		xs, gs := x.Data[r*n:(r+1)*n], dy.Data[r*n:(r+1)*n]
		var sg, sgx float64
		for i, v := range xs {
			sg += float64(gs[i])
			sgx += float64(gs[i]) * float64((v-m)*iv)
		}
		if db != nil {
			db.Data[r%c] += float32(sg)
		}
		if dscale != nil {
			dscale.Data[r%c] += float32(sgx)
		}
		if dx == nil || n == 0 {
			continue
		}
		mg, mgx := s*float32(sg/float64(n)), s*float32(sgx/float64(n))
		d := dx.Data[r*n : (r+1)*n]
		for i, v := range xs {
			d[i] += iv * (s*gs[i] - mg - (v-m)*iv*mgx)
		}
	}
}
