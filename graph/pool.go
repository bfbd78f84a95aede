package graph

import (
	"math"
	"slices"
)

func init() {
	register(map[string]operator{
		"MaxPool": {inputs: [2]int{1, 1}, outputs: [2]int{1, 2}, attrs: maxPoolAttrs,
			infer: func(n *Node, in []arg) ([]arg, error) {
				s, err := poolInfer(n, in)
				if err != nil {
					return nil, err
				}
				return []arg{{shape: s}, {shape: slices.Clone(s), typ: Int64}}, nil
			},
			forward: func(s *state, n *Node, out, in []*Tensor) {
				ps := poolOf(s, n, in[0].Shape)
				idx := at(out, 1)
				if idx == nil {
					idx = &ps.idx
				}
				MaxPoolForward(out[0], idx, in[0], &ps.p)
				ps.fresh = idx == &ps.idx
			},
			backward: func(s *state, n *Node, din, dout, out, in []*Tensor) {
				if din[0] == nil || dout[0] == nil {
					return
				}
				ps := poolOf(s, n, in[0].Shape)
				idx := at(out, 1)
				if idx == nil {
					if !ps.fresh { // a state that saw no Forward: find the maxima again
						MaxPoolForward(&ps.y, &ps.idx, in[0], &ps.p)
					}
					idx = &ps.idx
				}
				MaxPoolBackward(din[0], dout[0], idx, &ps.p)
			}},
	})
}

// MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool and MaxUnpool:
// ONNX's (opset 18) pooling over the spatial axes of an (N, C, L) or (N, C,
// H, W) tensor (the global ones over any number of spatial axes), plane by
// plane (a plane is one sample's channel). MaxUnpool scatters at the flat
// indices MaxPool gives. Three spatial axes are refused by the shape rules.

// Pool is a pooling window over one or two spatial axes as MaxPool and
// AveragePool read it, auto_pad resolved: per axis (height, width; a 1-D
// pool has height 1 and a window of one row) the kernel, strides,
// dilations and the padding before and after (each below 2³¹; at most
// 2²⁸ outputs a plane), and ceil_mode; CountIncludePad is AveragePool's
// (AveragePool has no dilations at opset 18). With CeilMode a window that would
// start in the padding after the input is left out, as PyTorch and ONNX
// Runtime do. A Pool also holds its kernels' parallel job, so that running
// them allocates nothing: one Pool serves one node or layer at a time.
//
// With Overwrite, MaxPoolBackward and AveragePoolBackward write the input
// gradient instead of adding into it, each plane cleared as its turn comes
// (for callers that would clear the gradient first; the operators add).
type Pool struct {
	Kernel, Strides, Dilations [2]int
	PadBegin, PadEnd           [2]int
	CeilMode, CountIncludePad  bool
	Overwrite                  bool

	job poolJob
}

// poolSize is the output length along an axis of in elements, or 0 if the
// dilated window is longer than the padded axis.
func poolSize(in, k, s, d, pb, pe int, ceil bool) int {
	span := in + pb + pe - (k-1)*d - 1
	if span < 0 {
		return 0
	}
	if !ceil {
		return span/s + 1
	}
	o := (span+s-1)/s + 1
	if (o-1)*s >= in+pb {
		o--
	}
	return o
}

// taps returns the window positions [i0, i1) of a window starting at
// start, of k taps d apart, that fall inside [0, in).
func taps(start, k, d, in int) (int, int) {
	i0 := 0
	if start < 0 {
		i0 = (-start + d - 1) / d
	}
	i1 := k
	if last := start + (k-1)*d; last >= in {
		i1 = (in - start + d - 1) / d
	}
	return i0, max(i0, i1)
}

// planes returns the number of planes and the input's and output's
// (height, width) for the input shape x, or false if p does not fit x: x is
// not of rank 3 or 4, p's values are out of range, the window does not fit
// the padded input or some window holds no input.
func (p *Pool) planes(x []int) (n, h, w, oh, ow int, ok bool) {
	if len(x) != 3 && len(x) != 4 || slices.Min(x) < 0 {
		return 0, 0, 0, 0, 0, false
	}
	h, w = 1, x[len(x)-1]
	if len(x) == 4 {
		h = x[2]
	}
	in, out := [2]int{h, w}, [2]int{}
	for ax := 0; ax < 2; ax++ {
		k, s, d, pb, pe := p.Kernel[ax], p.Strides[ax], p.Dilations[ax], p.PadBegin[ax], p.PadEnd[ax]
		if k < 1 || s < 1 || d < 1 || pb < 0 || pe < 0 || max(k, s, d, pb, pe) > math.MaxInt32 {
			return 0, 0, 0, 0, 0, false
		}
		out[ax] = poolSize(in[ax], k, s, d, pb, pe, p.CeilMode)
		if out[ax] < 1 || out[ax] > maxPoolPlane {
			return 0, 0, 0, 0, 0, false
		}
		// Window starts grow with o, so with taps no further apart than
		// the input is long only the first and the last window can miss
		// it; with taps further apart, any can.
		for o := 0; o < out[ax]; o++ {
			if i0, i1 := taps(o*s-pb, k, d, in[ax]); i0 == i1 {
				return 0, 0, 0, 0, 0, false
			}
			if d <= in[ax] && o < out[ax]-1 {
				o = max(o, out[ax]-2)
			}
		}
	}
	if out[0]*out[1] > maxPoolPlane {
		return 0, 0, 0, 0, 0, false
	}
	return x[0] * x[1], h, w, out[0], out[1], true
}

// maxPoolPlane is the most outputs a pooling plane may have (a larger
// one, from huge pads, is refused rather than allocated).
const maxPoolPlane = 1 << 28

// PoolShape returns the shape of MaxPool's and AveragePool's output (and
// MaxPool's indices) for the input shape x: x with its spatial axes
// pooled. It returns false if p does not fit x (see Pool).
func PoolShape(x []int, p *Pool) ([]int, bool) {
	_, _, _, oh, ow, ok := p.planes(x)
	if !ok {
		return nil, false
	}
	if len(x) == 3 {
		return []int{x[0], x[1], ow}, true
	}
	return []int{x[0], x[1], oh, ow}, true
}

// poolJob is a kernel of a Pool over a range of planes; the Pool holds it,
// so that passing it to ParallelFor allocates nothing.
type poolJob struct {
	p            *Pool
	kind         int
	x, y         []float32 // input and output, or their gradients
	idx          []int64
	h, w, oh, ow int
}

// The poolJob kinds.
const (
	maxPoolForward = iota
	maxPoolBackward
	avgPoolForward
	avgPoolBackward
)

func (p *Pool) run(kind int, x, y []float32, idx []int64, planes, h, w, oh, ow int) {
	p.job = poolJob{p: p, kind: kind, x: x, y: y, idx: idx, h: h, w: w, oh: oh, ow: ow}
	ParallelFor(planes, max(1, Grain/max(1, h*w)), &p.job)
	p.job = poolJob{}
}

func (j *poolJob) Run(lo, hi int) {
	for pl := lo; pl < hi; pl++ {
		switch j.kind {
		case maxPoolForward:
			j.p.maxPlane(j, pl)
		case maxPoolBackward:
			if j.p.Overwrite {
				clear(j.x[pl*j.h*j.w : (pl+1)*j.h*j.w])
			}
			base := pl * j.oh * j.ow
			for k, at := range j.idx[base : base+j.oh*j.ow] {
				j.x[at] += j.y[base+k]
			}
		case avgPoolForward:
			j.p.avgPlane(j, pl, false)
		case avgPoolBackward:
			if j.p.Overwrite {
				clear(j.x[pl*j.h*j.w : (pl+1)*j.h*j.w])
			}
			j.p.avgPlane(j, pl, true)
		}
	}
}

// MaxPoolForward writes y, the largest input in each window of x (ONNX
// MaxPool; padding never wins, the first largest wins ties, NaN above
// all), and indices, an int64 tensor of y's shape holding the flat index in
// x (N, C, H, W order) of each output's input; both take PoolShape's
// shape. It panics with ErrShape if p does not fit x.
func MaxPoolForward(y, indices, x *Tensor, p *Pool) {
	checkLen(x)
	planes, h, w, oh, ow, ok := p.planes(x.Shape)
	if !ok {
		panic(ErrShape)
	}
	poolResize(y, x.Shape, oh, ow)
	resizeInt64(indices, y.Shape)
	p.run(maxPoolForward, x.Data, y.Data, indices.Int64, planes, h, w, oh, ow)
}

// MaxPoolBackward adds each output's gradient dy into dx (may be nil) at
// the input that won its window, indices being MaxPoolForward's. It panics
// with ErrShape if the shapes do not fit.
func MaxPoolBackward(dx, dy, indices *Tensor, p *Pool) {
	if dx == nil {
		return
	}
	checkLen(dx, dy)
	planes, h, w, oh, ow, ok := p.planes(dx.Shape)
	if !ok || indices.Type != Int64 || !poolShaped(dy.Shape, dx.Shape, oh, ow) || !slices.Equal(dy.Shape, indices.Shape) || len(indices.Int64) != dy.Len() {
		panic(ErrShape)
	}
	p.run(maxPoolBackward, dx.Data, dy.Data, indices.Int64, planes, h, w, oh, ow)
}

// maxPlane pools plane pl of j.x into j.y and j.idx.
func (p *Pool) maxPlane(j *poolJob, pl int) {
	h, w, oh, ow := j.h, j.w, j.oh, j.ow
	base := pl * h * w
	out, idx := j.y[pl*oh*ow:(pl+1)*oh*ow], j.idx[pl*oh*ow:(pl+1)*oh*ow]
	fast := p.Kernel == [2]int{2, 2} && p.Strides == [2]int{2, 2} && p.Dilations == [2]int{1, 1}
	for oy := 0; oy < oh; oy++ {
		y0 := oy*p.Strides[0] - p.PadBegin[0]
		ox := 0
		if fast && y0 >= 0 && y0+2 <= h {
			// The common 2×2 window, stride 2: the windows of this row
			// that lie inside the image, unrolled.
			ox = (p.PadBegin[1] + 1) / 2
			end := max(ox, min(ow, (w+p.PadBegin[1])/2))
			Pool2x2(out[oy*ow+ox:oy*ow+end], idx[oy*ow+ox:oy*ow+end], j.x, base+y0*w+2*ox-p.PadBegin[1], w)
			p.maxWindows(j, out, idx, base, oy, 0, ox)
			ox = end
		}
		p.maxWindows(j, out, idx, base, oy, ox, ow)
	}
}

// maxWindows pools the windows [ox0, ox1) of output row oy of the plane at
// base, clipped to the image.
func (p *Pool) maxWindows(j *poolJob, out []float32, idx []int64, base, oy, ox0, ox1 int) {
	x, h, w, ow := j.x, j.h, j.w, j.ow
	y0, dy := oy*p.Strides[0]-p.PadBegin[0], p.Dilations[0]
	ia, ib := taps(y0, p.Kernel[0], dy, h)
	for ox := ox0; ox < ox1; ox++ {
		x0, dx := ox*p.Strides[1]-p.PadBegin[1], p.Dilations[1]
		ja, jb := taps(x0, p.Kernel[1], dx, w)
		// Every window holds an input (planes checks it). The first
		// largest wins; NaN beats any number.
		at := base + (y0+ia*dy)*w + x0 + ja*dx
		best := OrderKey(x[at])
		for i := ia; i < ib; i++ {
			row := base + (y0+i*dy)*w + x0
			if dx == 1 {
				for k, v := range x[row+ja : row+jb] {
					if key := OrderKey(v); key > best {
						best, at = key, row+ja+k
					}
				}
				continue
			}
			for k := ja; k < jb; k++ {
				if key := OrderKey(x[row+k*dx]); key > best {
					best, at = key, row+k*dx
				}
			}
		}
		out[oy*ow+ox] = x[at]
		idx[oy*ow+ox] = int64(at)
	}
}

// poolResize gives y the shape of x with its spatial axes oh and ow (ow
// alone for one), allocating only where y is too small.
func poolResize(y *Tensor, x []int, oh, ow int) {
	y.Shape = append(y.Shape[:0], x[0], x[1])
	if len(x) == 4 {
		y.Shape = append(y.Shape, oh)
	}
	y.Shape = append(y.Shape, ow)
	y.Resize(y.Shape...)
}

// poolShaped reports whether s is the shape of x with its spatial axes oh
// and ow (ow alone for one).
func poolShaped(s, x []int, oh, ow int) bool {
	return len(s) == len(x) && s[0] == x[0] && s[1] == x[1] && s[len(s)-1] == ow && (len(s) == 3 || s[2] == oh)
}

// resizeInt64 makes t an int64 tensor of the shape, reusing its values
// where they are large enough (they are then not cleared).
func resizeInt64(t *Tensor, shape []int) {
	n := elements(shape)
	if cap(t.Int64) < n {
		t.Int64 = make([]int64, n)
	}
	t.Type, t.Data, t.Int64 = Int64, nil, t.Int64[:n]
	t.Shape = append(t.Shape[:0], shape...)
}

// pool2x2Go pools len(out) 2×2 windows side by side, the first with its top
// left corner at in[at], rows w apart.
func pool2x2Go(out []float32, idx []int64, in []float32, at, w int) {
	idx = idx[:len(out)]
	for i := range out {
		r0, r1 := in[at:at+2], in[at+w:at+w+2]
		k0, k1, k2, k3 := OrderKey(r0[0]), OrderKey(r0[1]), OrderKey(r1[0]), OrderKey(r1[1])
		best := int64(max(k0, k1, k2, k3))
		// The offset of the first position holding the largest, chosen by
		// masks (all ones where a key is the largest): no branches, whose
		// outcome would be a coin toss.
		off := w + 1
		off ^= (off ^ w) & isZero(best-int64(k2))
		off ^= (off ^ 1) & isZero(best-int64(k1))
		off &^= isZero(best - int64(k0))
		win := at + off
		out[i], idx[i] = in[win], int64(win)
		at += 2
	}
}

// isZero returns all ones (−1) if d is 0, else 0, for d ≥ 0.
func isZero(d int64) int { return int((d - 1) >> 63) }

// OrderKey maps float32s to int32s in their order, −0 with +0, every NaN
// above +Inf: comparing keys needs no branch on the values (which come in
// no predictable order), where comparing floats does.
func OrderKey(v float32) int32 {
	b := math.Float32bits(v)
	mag := int32(b & 0x7fffffff)
	s := int32(b) >> 31
	k := (mag ^ s) - s // −mag for negative v
	if mag > 0x7f800000 {
		k = math.MaxInt32
	}
	return k
}
