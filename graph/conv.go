package graph

import (
	"fmt"
	"math"
)

// convAttrTypes are the attributes Conv reads; ConvTranspose reads these
// and output_padding and output_shape.
var convAttrTypes = map[string]AttrType{"auto_pad": AttrString, "dilations": AttrInts, "group": AttrInt, "kernel_shape": AttrInts, "pads": AttrInts, "strides": AttrInts}

func init() {
	register(map[string]operator{
		"Conv": convOperator(false, convAttrTypes),
		"ConvTranspose": convOperator(true, map[string]AttrType{"auto_pad": AttrString, "dilations": AttrInts, "group": AttrInt, "kernel_shape": AttrInts,
			"output_padding": AttrInts, "output_shape": AttrInts, "pads": AttrInts, "strides": AttrInts}),
	})
}

// convOperator is the operator of Conv or (transpose) ConvTranspose: X, W
// and an optional B in, Y out. Its state keeps a *Conv, whose buffers the
// passes reuse.
func convOperator(transpose bool, attrs map[string]AttrType) operator {
	shape, forward, backward := ConvShape, ConvForward, ConvBackward
	if transpose {
		shape, forward, backward = ConvTransposeShape, ConvTransposeForward, ConvTransposeBackward
	}
	conv := func(s *state, n *Node, in []*Tensor) *Conv {
		c, _ := s.scratch.(*Conv)
		if c == nil {
			c = new(Conv)
			s.scratch = c
		}
		if err := c.setAttrs(n, in[0].Shape, in[1].Shape, transpose); err != nil {
			panic(ErrShape) // the shape rule has refused it
		}
		return c
	}
	return operator{inputs: [2]int{2, 3}, outputs: [2]int{1, 1}, attrs: attrs,
		infer: func(n *Node, in []arg) ([]arg, error) {
			shapes, err := floatShapes(n, in)
			if err != nil {
				return nil, err
			}
			var c Conv
			if err := c.setAttrs(n, shapes[0], shapes[1], transpose); err != nil {
				return nil, err
			}
			s, err := shape(shapes[0], shapes[1], at(shapes, 2), &c)
			if err != nil {
				return nil, err
			}
			return []arg{{shape: s}}, nil
		},
		forward: func(s *state, n *Node, out, in []*Tensor) {
			forward(out[0], in[0], in[1], at(in, 2), conv(s, n, in))
		},
		backward: func(s *state, n *Node, din, dout, out, in []*Tensor) {
			if dout[0] != nil {
				backward(din[0], din[1], at(din, 2), dout[0], in[0], in[1], conv(s, n, in))
			}
		}}
}

// Conv and ConvTranspose: ONNX's 1-D and 2-D convolution (cross-
// correlation, as PyTorch's nn.Conv1d and nn.Conv2d compute it) and its
// adjoint, the transposed convolution (nn.ConvTranspose1d, 2d), over X (N,
// C, L) or (N, C, H, W) with weights W and an optional bias B.
//
// Conv's W is (M, C/group, k…) and Y (N, M, …), each output size
// ⌊(in + padBegin + padEnd − dilation·(k − 1) − 1) / stride⌋ + 1
// (OutputSize). ConvTranspose's W is (C, M/group, k…) and each output size
// stride·(in − 1) + outputPadding + dilation·(k − 1) + 1 − padBegin −
// padEnd. Conv is computed sample by sample, as im2col and one matrix
// product per group (convsample.go), or, for few output channels, from
// shifted input planes (convdirect.go); ConvTranspose as one product per
// sample and group, then col2im.

// Conv is a convolution's attributes, per spatial axis in order (index 0
// only for 1-D), with the padding resolved (auto_pad and output_shape are
// the node's business, see the op), and the buffers its passes reuse:
// keep one Conv per node (or layer) to run it without allocating.
type Conv struct {
	Group              int    // at least 1
	Strides, Dilations [2]int // at least 1
	PadBegin, PadEnd   [2]int // at least 0
	OutputPadding      [2]int // ConvTranspose's: at least 0

	job     convJob
	tjob    transposeJob
	scratch []convScratch // one a worker
}

// maxConvAttr bounds kernel, strides, dilations, pads and output padding:
// far past any real network, and low enough that no output size computed
// from sizes an int holds overflows.
const maxConvAttr = 1 << 20

// convPlan is what a convolution's shapes give: its spatial axes, batch,
// channels and groups, and the geometry of the convolution (for
// ConvTranspose, of the convolution it is the adjoint of, from its output
// to its input).
type convPlan struct {
	dims, n, in, out, groups int
	g                        geometry
}

// perAxis is v's values for dims spatial axes.
func perAxis(v [2]int, dims int) []int { return append([]int(nil), v[:dims]...) }

// inRange reports whether every value of v is in [lo, maxConvAttr].
func inRange(v []int, lo int) bool {
	for _, x := range v {
		if x < lo || x > maxConvAttr {
			return false
		}
	}
	return true
}

// pads is the padding in ONNX's order: the beginning of each axis, then
// the end.
func (c *Conv) pads(dims int) []int { return append(perAxis(c.PadBegin, dims), c.PadEnd[:dims]...) }

// plan checks x, w (shapes) against c's attributes and each other and
// returns the plan, or an error naming the attribute or input at fault and
// its value. It allocates only for an error.
func (c *Conv) plan(x, w []int, transpose bool) (convPlan, error) {
	var p convPlan
	if len(x) != 3 && len(x) != 4 {
		return p, fmt.Errorf("input X of shape %v: want (N, C, L) or (N, C, H, W): 1-D or 2-D convolutions", x)
	}
	p.dims = len(x) - 2
	if len(w) != len(x) {
		return p, fmt.Errorf("input W of shape %v: want rank %d, as X's %v", w, len(x), x)
	}
	for _, d := range x[2:] {
		if d < 1 {
			return p, fmt.Errorf("input X of shape %v: spatial dimensions must be positive", x)
		}
	}
	switch {
	case c.Group < 1 || c.Group > maxConvAttr:
		return p, attrError("group", c.Group, "must be in [1, %d]", maxConvAttr)
	case !inRange(w[2:], 1):
		return p, fmt.Errorf("input W of shape %v: kernel %v: each value must be in [1, %d]", w, w[2:], maxConvAttr)
	case !inRange(c.Strides[:p.dims], 1):
		return p, attrError("strides", perAxis(c.Strides, p.dims), "each value must be in [1, %d]", maxConvAttr)
	case !inRange(c.Dilations[:p.dims], 1):
		return p, attrError("dilations", perAxis(c.Dilations, p.dims), "each value must be in [1, %d]", maxConvAttr)
	case !inRange(c.PadBegin[:p.dims], 0) || !inRange(c.PadEnd[:p.dims], 0):
		return p, attrError("pads", c.pads(p.dims), "each value must be in [0, %d]", maxConvAttr)
	case !inRange(c.OutputPadding[:p.dims], 0):
		return p, attrError("output_padding", perAxis(c.OutputPadding, p.dims), "each value must be in [0, %d]", maxConvAttr)
	}
	p.n, p.groups = x[0], c.Group
	if transpose {
		p.in, p.out = x[1], w[1]*c.Group
		if w[0] != x[1] {
			return p, fmt.Errorf("input W of shape %v: want %d input channels first, as X's %v has", w, x[1], x)
		}
		if x[1]%c.Group != 0 {
			return p, attrError("group", c.Group, "does not divide X's %d channels", x[1])
		}
	} else {
		p.in, p.out = x[1], w[0]
		if w[1]*c.Group != x[1] {
			return p, attrError("group", c.Group, "X of shape %v has %d channels, W of shape %v takes %d×%d", x, x[1], w, w[1], c.Group)
		}
		if w[0]%c.Group != 0 {
			return p, attrError("group", c.Group, "does not divide W's %d output channels (W of shape %v)", w[0], w)
		}
	}
	// The geometry keeps 1-D as 2-D of height 1.
	hw := func(v [2]int, def int) (int, int) {
		if p.dims == 1 {
			return def, v[0]
		}
		return v[0], v[1]
	}
	var k, in [2]int
	copy(k[:], w[2:])
	copy(in[:], x[2:])
	g := &p.g
	g.KH, g.KW = hw(k, 1)
	g.SH, g.SW = hw(c.Strides, 1)
	g.DH, g.DW = hw(c.Dilations, 1)
	g.PT, g.PL = hw(c.PadBegin, 0)
	pb, pr := hw(c.PadEnd, 0)
	ih, iw := hw(in, 1)
	if transpose {
		oph, opw := hw(c.OutputPadding, 0)
		size := func(in, k, s, d, pb, pe, op int) int { return s*(in-1) + op + d*(k-1) + 1 - pb - pe }
		g.C, g.OH, g.OW = p.out/c.Group, ih, iw
		g.IH, g.IW = size(ih, g.KH, g.SH, g.DH, g.PT, pb, oph), size(iw, g.KW, g.SW, g.DW, g.PL, pr, opw)
		if g.IH <= 0 || g.IW <= 0 {
			return p, attrError("pads", c.pads(p.dims), "leave ConvTranspose of X %v, W %v (strides %v, dilations %v, output_padding %v) an empty output", x, w, c.Strides[:p.dims], c.Dilations[:p.dims], c.OutputPadding[:p.dims])
		}
		return p, nil
	}
	g.C, g.IH, g.IW = p.in/c.Group, ih, iw
	g.OH, g.OW = OutputSize(ih, g.KH, g.SH, g.DH, g.PT, pb), OutputSize(iw, g.KW, g.SW, g.DW, g.PL, pr)
	if g.OH <= 0 || g.OW <= 0 {
		return p, fmt.Errorf("input W of shape %v: kernel %v with dilations %v is larger than X's %v with pads %v", w, w[2:], c.Dilations[:p.dims], x[2:], c.pads(p.dims))
	}
	return p, nil
}

// resize gives y the output's shape.
func (p *convPlan) resize(y *Tensor, transpose bool) {
	h, w := p.g.OH, p.g.OW
	if transpose {
		h, w = p.g.IH, p.g.IW
	}
	if p.dims == 1 {
		y.Resize(p.n, p.out, w)
	} else {
		y.Resize(p.n, p.out, h, w)
	}
}

// outShape is the shape of Y for plan p.
func outShape(p convPlan, transpose bool) []int {
	h, w := p.g.OH, p.g.OW
	if transpose {
		h, w = p.g.IH, p.g.IW
	}
	if p.dims == 1 {
		return []int{p.n, p.out, w}
	}
	return []int{p.n, p.out, h, w}
}

// convShape is ConvShape or ConvTransposeShape.
func convShape(x, w, b []int, c *Conv, transpose bool) ([]int, error) {
	p, err := c.plan(x, w, transpose)
	if err != nil {
		return nil, err
	}
	if b != nil && (len(b) != 1 || b[0] != p.out) {
		return nil, fmt.Errorf("input B of shape %v: want (%d), one bias an output channel", b, p.out)
	}
	return outShape(p, transpose), nil
}

// ConvShape returns the shape of Conv's output Y (N, M, …) for X (N, C, L)
// or (N, C, H, W), W (M, C/group, k…) and B (M) (b nil: no bias), or an
// error naming the attribute or input that does not fit and its value.
func ConvShape(x, w, b []int, c *Conv) ([]int, error) { return convShape(x, w, b, c, false) }

// mustPlan is c's plan for the tensors, checked; it panics with ErrShape
// if they do not fit.
func (c *Conv) mustPlan(x, w, b *Tensor, transpose bool) convPlan {
	checkLen(x, w, b)
	p, err := c.plan(x.Shape, w.Shape, transpose)
	if err != nil || b != nil && (len(b.Shape) != 1 || b.Shape[0] != p.out) {
		panic(ErrShape)
	}
	return p
}

// ConvForward writes y = conv(x, w) + b (b may be nil), of ConvShape's
// shape. It panics with ErrShape if the shapes do not fit.
func ConvForward(y, x, w, b *Tensor, c *Conv) {
	p := c.mustPlan(x, w, b, false)
	p.resize(y, false)
	c.job = convJob{g: p.g, out: p.out, groups: p.groups, direct: direct(&p.g, p.out, p.groups), scratch: &c.scratch, batchPass: forwardPass(y, x, w, b)}
	runPass(&c.job, &c.job.batchPass, &c.scratch)
	c.job = convJob{}
}

// ConvBackward adds into dx, dw and db (any may be nil) the gradients of
// ConvForward's inputs for the output gradient dy: dW += dY·colᵀ, dB += Σ
// dY over the batch and positions, dX += col2im(Wᵀ·dY). It panics with
// ErrShape if the shapes do not fit.
func ConvBackward(dx, dw, db, dy, x, w *Tensor, c *Conv) {
	p := c.mustPlan(x, w, nil, false)
	checkGrads(p, dx, dw, db, dy, x, w, false)
	c.job = convJob{g: p.g, out: p.out, groups: p.groups, direct: direct(&p.g, p.out, p.groups), scratch: &c.scratch, batchPass: backwardPass(dx, dw, db, dy, x, w)}
	runPass(&c.job, &c.job.batchPass, &c.scratch)
	c.job = convJob{}
}

// checkGrads panics with ErrShape unless dy has the output's shape and
// dx, dw and db (where not nil) those of x, w and the bias.
func checkGrads(p convPlan, dx, dw, db, dy, x, w *Tensor, transpose bool) {
	checkLen(dx, dw, db, dy)
	ok := dy.Len() == elements(outShape(p, transpose))
	ok = ok && (dx == nil || len(dx.Data) == len(x.Data)) && (dw == nil || len(dw.Data) == len(w.Data)) && (db == nil || len(db.Data) == p.out)
	if !ok {
		panic(ErrShape)
	}
}

// convJob is Conv's pass over the batch, by the direct path (convdirect.go)
// or sample by sample (convsample.go); the Conv holds it, so that starting
// it costs no allocation.
type convJob struct {
	g           geometry
	out, groups int
	direct      bool
	scratch     *[]convScratch
	batchPass
}

func (j *convJob) Run(lo, hi int) {
	if j.direct {
		j.runDirect(lo, hi)
	} else {
		j.runPerSample(lo, hi)
	}
}

// setAttrs sets c from node n's attributes for inputs X and W of shapes x
// and w, resolving auto_pad (and, for ConvTranspose, output_shape) into
// padding. It returns an error naming the attribute and its value for one
// of the wrong length, an auto_pad ONNX does not have, pads given with
// auto_pad, or padding that would be negative. It allocates only for an
// error; the sizes themselves are checked by plan.
func (c *Conv) setAttrs(n *Node, x, w []int, transpose bool) error {
	if len(x) < 3 || len(x) > 4 || len(w) != len(x) {
		// plan names the fault.
		c.Group, c.Strides, c.Dilations = 1, [2]int{1, 1}, [2]int{1, 1}
		return nil
	}
	dims := len(x) - 2
	list := func(name string, dst *[2]int, def int) error {
		*dst = [2]int{def, def}
		a, ok := n.Attrs[name]
		if !ok {
			return nil
		}
		if len(a.Ints) != dims {
			return attrError(name, a.Ints, "want %d values, one a spatial axis of X %v", dims, x)
		}
		for i, v := range a.Ints {
			dst[i] = toInt(v)
		}
		return nil
	}
	if a, ok := n.Attrs["kernel_shape"]; ok {
		match := len(a.Ints) == dims
		for i := 0; match && i < dims; i++ {
			match = a.Ints[i] == int64(w[2+i])
		}
		if !match {
			return attrError("kernel_shape", a.Ints, "W has shape %v", w)
		}
	}
	c.Group = toInt(n.Int("group", 1))
	for _, a := range []struct {
		name string
		dst  *[2]int
		def  int
	}{{"strides", &c.Strides, 1}, {"dilations", &c.Dilations, 1}, {"output_padding", &c.OutputPadding, 0}} {
		if err := list(a.name, a.dst, a.def); err != nil {
			return err
		}
	}
	c.PadBegin, c.PadEnd = [2]int{}, [2]int{}
	pads, explicit := n.Attrs["pads"]
	if explicit {
		if len(pads.Ints) != 2*dims {
			return attrError("pads", pads.Ints, "want %d values, the beginning and the end of each spatial axis of X %v", 2*dims, x)
		}
		for i := 0; i < dims; i++ {
			c.PadBegin[i], c.PadEnd[i] = toInt(pads.Ints[i]), toInt(pads.Ints[dims+i])
		}
	}
	autoPad := "NOTSET"
	if a, ok := n.Attrs["auto_pad"]; ok {
		autoPad = a.String
	}
	outShape, given := n.Attrs["output_shape"]
	switch autoPad {
	case "NOTSET":
		if !given {
			return nil
		}
	case "VALID", "SAME_UPPER", "SAME_LOWER":
		if explicit {
			return attrError("pads", pads.Ints, "given with auto_pad %s", autoPad)
		}
		if autoPad == "VALID" && !given {
			return nil
		}
	default:
		return attrError("auto_pad", autoPad, "want NOTSET, SAME_UPPER, SAME_LOWER or VALID")
	}
	if given {
		if len(outShape.Ints) != dims {
			return attrError("output_shape", outShape.Ints, "want %d values, one a spatial axis of X %v", dims, x)
		}
	}
	// SAME (and, for ConvTranspose, output_shape): the total padding of
	// each axis; odd, the extra one goes at the end for SAME_UPPER, at the
	// beginning otherwise (Conv's SAME_LOWER; ConvTranspose's SAME_LOWER,
	// and output_shape without SAME_UPPER), as ONNX specifies and ONNX
	// Runtime 1.30 computes.
	for i := 0; i < dims; i++ {
		in, k, s, d, op := x[2+i], w[2+i], c.Strides[i], c.Dilations[i], c.OutputPadding[i]
		if s < 1 || s > maxConvAttr || d < 1 || d > maxConvAttr || k > maxConvAttr || op < 0 || op > maxConvAttr {
			return nil // plan names the fault
		}
		var total int
		switch {
		case !transpose: // SAME: ⌈in/s⌉ outputs
			total = max(0, ((in+s-1)/s-1)*s+d*(k-1)+1-in)
		case given:
			out := toInt(outShape.Ints[i])
			if out < 1 || out > math.MaxInt/4 {
				return attrError("output_shape", outShape.Ints, "each value must be positive")
			}
			total = s*(in-1) + op + d*(k-1) + 1 - out
			if total < 0 {
				return attrError("output_shape", outShape.Ints, "larger than the %d values ConvTranspose gives along axis %d without padding", out+total, i)
			}
		default: // SAME: in·s outputs
			total = s*(in-1) + op + d*(k-1) + 1 - in*s
			if total < 0 {
				return attrError("auto_pad", autoPad, "ConvTranspose of X %v would need negative padding %d along axis %d (strides %v, kernel %v)", x, total, i, c.Strides[:dims], w[2:])
			}
		}
		begin := total / 2
		if autoPad == "SAME_LOWER" || transpose && autoPad != "SAME_UPPER" {
			begin = total - total/2
		}
		c.PadBegin[i], c.PadEnd[i] = begin, total-begin
	}
	return nil
}

// convRef is the textbook loop nest of Conv (ConvForward's reference), in
// T: y[n][o][oy][ox] = b[o] + Σ x[n][c][oy·s − pb + i·d][ox·s − pl +
// j·d]·w[o][c′][i][j] over the group's input channels, 0 in the padding.
// b may be nil.
func convRef[T float32 | float64](x, w, b []T, p convPlan) []T {
	g := p.g
	og := p.out / p.groups
	y := make([]T, p.n*p.out*g.OH*g.OW)
	for s := 0; s < p.n; s++ {
		for o := 0; o < p.out; o++ {
			gr := o / og
			for oy := 0; oy < g.OH; oy++ {
				for ox := 0; ox < g.OW; ox++ {
					var sum T
					if b != nil {
						sum = b[o]
					}
					for c := 0; c < g.C; c++ {
						for i := 0; i < g.KH; i++ {
							for j := 0; j < g.KW; j++ {
								yy, xx := oy*g.SH-g.PT+i*g.DH, ox*g.SW-g.PL+j*g.DW
								if yy < 0 || yy >= g.IH || xx < 0 || xx >= g.IW {
									continue
								}
								sum += x[((s*p.in+gr*g.C+c)*g.IH+yy)*g.IW+xx] * w[((o*g.C+c)*g.KH+i)*g.KW+j]
							}
						}
					}
					y[((s*p.out+o)*g.OH+oy)*g.OW+ox] = sum
				}
			}
		}
	}
	return y
}
