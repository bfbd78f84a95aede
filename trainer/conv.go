package trainer

import (
	"fmt"

	"github.com/aebridge/aebridge/graph"
)

// Conv is a 1-D or 2-D convolution (cross-correlation), as PyTorch's
// nn.Conv1d and nn.Conv2d compute it: input (N, In, L) or (N, In, H, W),
// output (N, Out, L′) or (N, Out, H′, W′), weight (Out, In/Groups, k) or
// (Out, In/Groups, kh, kw), bias (Out). Padding may differ before and after
// each axis. It runs graph's Conv kernels (graph.ConvForward, ConvBackward).
type Conv struct {
	Dims            int // 1 or 2
	In, Out, Groups int
	K, S, D         [2]int // kernel, stride, dilation: (height, width); height 1 for 1-D
	PadBeg, PadEnd  [2]int
	W, B            *Param
	x               *Tensor
	shapes          shapeCache
	op              graph.Conv // the attributes, and the kernels' buffers
	views           convViews
}

// convViews are graph's views of the tensors a convolution layer passes
// to the graph kernels, held in the layer so that passing them costs no
// allocation.
type convViews struct{ x, y, w, b, dx, dw, db graph.Tensor }

// convView points v at t's shape and values (no copy) and returns it, nil for
// a nil t.
func convView(v *graph.Tensor, t *Tensor) *graph.Tensor {
	if t == nil {
		return nil
	}
	v.Shape, v.Data = t.Shape, t.Data
	return v
}

// graphConv sets op to a layer's attributes: graph's per-axis order, the
// 1-D sizes from the width.
func graphConv(op *graph.Conv, dims, groups int, s, d, pb, pe, outPad [2]int) {
	ax := func(v [2]int) [2]int {
		if dims == 1 {
			return [2]int{v[1], 0}
		}
		return v
	}
	op.Group, op.Strides, op.Dilations, op.PadBegin, op.PadEnd, op.OutputPadding = groups, ax(s), ax(d), ax(pb), ax(pe), ax(outPad)
}

// NewConv returns a convolution with zero weights. kernel, stride, dilation
// have one value per spatial axis (dims of them); padding has 2·dims: the
// padding before each axis, then after. It returns an error for sizes that
// do not fit.
func NewConv(name string, dims, in, out, groups int, kernel, stride, padding, dilation []int) (*Conv, error) {
	c := &Conv{Dims: dims, In: in, Out: out, Groups: groups}
	if err := windowParams(dims, kernel, stride, padding, dilation, &c.K, &c.S, &c.D, &c.PadBeg, &c.PadEnd); err != nil {
		return nil, fmt.Errorf("trainer: layer %s: %w", name, err)
	}
	if groups <= 0 || in%groups != 0 || out%groups != 0 || in <= 0 || out <= 0 {
		return nil, fmt.Errorf("trainer: layer %s: %d input and %d output channels do not split into %d groups", name, in, out, groups)
	}
	shape := []int{out, in / groups, c.K[0], c.K[1]}
	if dims == 1 {
		shape = []int{out, in / groups, c.K[1]}
	}
	c.W = newParam(name+".weight", true, shape...)
	c.B = newParam(name+".bias", false, out)
	return c, nil
}

// windowParams checks and spreads per-axis window sizes into (h, w) pairs;
// 1-D sizes go to the width, with height 1.
func windowParams(dims int, kernel, stride, padding, dilation []int, k, s, d, pb, pe *[2]int) error {
	if dims != 1 && dims != 2 {
		return fmt.Errorf("%d spatial dimensions (want 1 or 2)", dims)
	}
	if len(kernel) != dims || len(stride) != dims || len(dilation) != dims || len(padding) != 2*dims {
		return fmt.Errorf("kernel %v, stride %v, dilation %v need %d values each and padding %v %d", kernel, stride, dilation, dims, padding, 2*dims)
	}
	*k, *s, *d, *pb, *pe = [2]int{1, 1}, [2]int{1, 1}, [2]int{1, 1}, [2]int{}, [2]int{}
	off := 2 - dims
	for i := 0; i < dims; i++ {
		if kernel[i] <= 0 || stride[i] <= 0 || dilation[i] <= 0 || padding[i] < 0 || padding[dims+i] < 0 {
			return fmt.Errorf("kernel %v, stride %v, dilation %v must be positive and padding %v not negative", kernel, stride, dilation, padding)
		}
		k[off+i], s[off+i], d[off+i] = kernel[i], stride[i], dilation[i]
		pb[off+i], pe[off+i] = padding[i], padding[dims+i]
	}
	return nil
}

// spatial returns (H, W) of a per-sample shape (C, L) or (C, H, W).
func spatial(dims int, shape []int) (int, int) {
	if dims == 1 {
		return 1, shape[1]
	}
	return shape[1], shape[2]
}

// outSize is the number of window positions along one axis (0 or less
// when the window does not fit): graph.OutputSize.
func outSize(in, k, stride, dil, padBefore, padAfter int) int {
	return graph.OutputSize(in, k, stride, dil, padBefore, padAfter)
}

func (c *Conv) outHW(h, w int) (int, int) {
	return outSize(h, c.K[0], c.S[0], c.D[0], c.PadBeg[0], c.PadEnd[0]), outSize(w, c.K[1], c.S[1], c.D[1], c.PadBeg[1], c.PadEnd[1])
}

// OutShape is (Out, L′) or (Out, H′, W′).
func (c *Conv) OutShape(in []int) []int {
	h, w := spatial(c.Dims, in)
	oh, ow := c.outHW(h, w)
	if c.Dims == 1 {
		return []int{c.Out, ow}
	}
	return []int{c.Out, oh, ow}
}

// windowInput checks that x is (N, in, …) with dims spatial axes and that
// outHW gives the output a positive size, and returns the input's and the
// output's (height, width). It panics with ErrShape otherwise.
func windowInput(x *Tensor, dims, in int, outHW func(h, w int) (int, int)) (h, w, oh, ow int) {
	if len(x.Shape) != dims+2 || x.Shape[1] != in {
		panic(ErrShape)
	}
	h, w = spatial(dims, x.Shape[1:])
	oh, ow = outHW(h, w)
	if oh <= 0 || ow <= 0 {
		panic(ErrShape)
	}
	return h, w, oh, ow
}

// Forward computes dst = conv(x) + b. It panics with ErrShape if x is not
// (N, In, …) of the layer's rank or is smaller than the window.
func (c *Conv) Forward(dst, x *Tensor) {
	windowInput(x, c.Dims, c.In, c.outHW)
	dst.Resize(c.shapes.get(x.Shape, c.OutShape)...)
	c.x = x
	graphConv(&c.op, c.Dims, c.Groups, c.S, c.D, c.PadBeg, c.PadEnd, [2]int{})
	v := &c.views
	graph.ConvForward(convView(&v.y, dst), convView(&v.x, x), convView(&v.w, c.W.Value), convView(&v.b, c.B.Value), &c.op)
}

// Backward adds dW += dY·colᵀ and db += Σ dY, and writes dx = col2im(Wᵀ·dY)
// if dx is not nil.
func (c *Conv) Backward(dx, dy *Tensor) {
	oh, ow := c.outHW(spatial(c.Dims, c.x.Shape[1:]))
	if dy.Len() != c.x.Rows()*c.Out*oh*ow {
		panic(ErrShape)
	}
	if dx != nil {
		dx.Resize(c.x.Shape...)
		dx.Zero()
	}
	graphConv(&c.op, c.Dims, c.Groups, c.S, c.D, c.PadBeg, c.PadEnd, [2]int{})
	v := &c.views
	graph.ConvBackward(convView(&v.dx, dx), convView(&v.dw, c.W.Grad), convView(&v.db, c.B.Grad), convView(&v.y, dy), convView(&v.x, c.x), convView(&v.w, c.W.Value), &c.op)
}

// Params are W and b.
func (c *Conv) Params() []*Param { return []*Param{c.W, c.B} }

// Spec describes the layer.
func (c *Conv) Spec() LayerSpec {
	t := "conv2d"
	if c.Dims == 1 {
		t = "conv1d"
	}
	return LayerSpec{Type: t, In: c.In, Out: c.Out, Groups: c.Groups, Kernel: axes(c.Dims, c.K), Stride: axes(c.Dims, c.S),
		Dilation: axes(c.Dims, c.D), Padding: append(axes(c.Dims, c.PadBeg), axes(c.Dims, c.PadEnd)...)}
}

// axes returns the per-axis values of a (height, width) pair: both for 2-D,
// the width for 1-D.
func axes(dims int, v [2]int) []int {
	if dims == 1 {
		return []int{v[1]}
	}
	return []int{v[0], v[1]}
}

var _ Layer = (*Conv)(nil)
