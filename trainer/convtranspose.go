package trainer

import (
	"fmt"

	"github.com/aebridge/aebridge/graph"
)

// ConvTranspose is a 1-D or 2-D transposed convolution, as PyTorch's
// nn.ConvTranspose1d and nn.ConvTranspose2d compute it: input (N, In, …),
// weight (In, Out/Groups, k…), bias (Out), output size per axis
// (in − 1)·stride − padBefore − padAfter + dilation·(k − 1) + outputPadding + 1.
// It is the adjoint of Conv, and runs graph's ConvTranspose kernels
// (graph.ConvTransposeForward, ConvTransposeBackward).
type ConvTranspose struct {
	Dims            int
	In, Out, Groups int
	K, S, D         [2]int
	PadBeg, PadEnd  [2]int
	OutPad          [2]int
	W, B            *Param
	x               *Tensor
	shapes          shapeCache
	op              graph.Conv // the attributes, and the kernels' buffers
	views           convViews
}

// NewConvTranspose returns a transposed convolution with zero weights;
// sizes as for NewConv, and outputPadding per axis, each below its stride
// or dilation.
func NewConvTranspose(name string, dims, in, out, groups int, kernel, stride, padding, outputPadding, dilation []int) (*ConvTranspose, error) {
	c := &ConvTranspose{Dims: dims, In: in, Out: out, Groups: groups}
	if err := windowParams(dims, kernel, stride, padding, dilation, &c.K, &c.S, &c.D, &c.PadBeg, &c.PadEnd); err != nil {
		return nil, fmt.Errorf("trainer: layer %s: %w", name, err)
	}
	if groups <= 0 || in%groups != 0 || out%groups != 0 || in <= 0 || out <= 0 {
		return nil, fmt.Errorf("trainer: layer %s: %d input and %d output channels do not split into %d groups", name, in, out, groups)
	}
	if len(outputPadding) != dims {
		return nil, fmt.Errorf("trainer: layer %s: output padding %v needs %d values", name, outputPadding, dims)
	}
	for i, op := range outputPadding {
		ax := 2 - dims + i
		if op < 0 || (op >= c.S[ax] && op >= c.D[ax]) {
			return nil, fmt.Errorf("trainer: layer %s: output padding %v must be smaller than the stride %v or the dilation %v", name, outputPadding, stride, dilation)
		}
		c.OutPad[ax] = op
	}
	shape := []int{in, out / groups, c.K[0], c.K[1]}
	if dims == 1 {
		shape = []int{in, out / groups, c.K[1]}
	}
	c.W = newParam(name+".weight", true, shape...)
	c.B = newParam(name+".bias", false, out)
	return c, nil
}

func (c *ConvTranspose) outHW(h, w int) (int, int) {
	f := func(ax, in int) int {
		return (in-1)*c.S[ax] - c.PadBeg[ax] - c.PadEnd[ax] + c.D[ax]*(c.K[ax]-1) + c.OutPad[ax] + 1
	}
	return f(0, h), f(1, w)
}

// OutShape is (Out, L′) or (Out, H′, W′).
func (c *ConvTranspose) OutShape(in []int) []int {
	h, w := spatial(c.Dims, in)
	oh, ow := c.outHW(h, w)
	if c.Dims == 1 {
		return []int{c.Out, ow}
	}
	return []int{c.Out, oh, ow}
}

// Forward computes dst = convᵀ(x) + b. It panics with ErrShape if x is not
// (N, In, …) of the layer's rank.
func (c *ConvTranspose) Forward(dst, x *Tensor) {
	windowInput(x, c.Dims, c.In, c.outHW)
	dst.Resize(c.shapes.get(x.Shape, c.OutShape)...)
	c.x = x
	graphConv(&c.op, c.Dims, c.Groups, c.S, c.D, c.PadBeg, c.PadEnd, c.OutPad)
	v := &c.views
	graph.ConvTransposeForward(convView(&v.y, dst), convView(&v.x, x), convView(&v.w, c.W.Value), convView(&v.b, c.B.Value), &c.op)
}

// Backward adds dW += x·im2col(dY)ᵀ and db += Σ dY, and writes
// dx = W·im2col(dY) if dx is not nil.
func (c *ConvTranspose) Backward(dx, dy *Tensor) {
	oh, ow := c.outHW(spatial(c.Dims, c.x.Shape[1:]))
	if dy.Len() != c.x.Rows()*c.Out*oh*ow {
		panic(ErrShape)
	}
	if dx != nil {
		dx.Resize(c.x.Shape...)
		dx.Zero()
	}
	graphConv(&c.op, c.Dims, c.Groups, c.S, c.D, c.PadBeg, c.PadEnd, c.OutPad)
	v := &c.views
	graph.ConvTransposeBackward(convView(&v.dx, dx), convView(&v.dw, c.W.Grad), convView(&v.db, c.B.Grad), convView(&v.y, dy), convView(&v.x, c.x), convView(&v.w, c.W.Value), &c.op)
}

// Params are W and b.
func (c *ConvTranspose) Params() []*Param { return []*Param{c.W, c.B} }

// Spec describes the layer.
func (c *ConvTranspose) Spec() LayerSpec {
	t := "conv_transpose2d"
	if c.Dims == 1 {
		t = "conv_transpose1d"
	}
	return LayerSpec{Type: t, In: c.In, Out: c.Out, Groups: c.Groups, Kernel: axes(c.Dims, c.K), Stride: axes(c.Dims, c.S),
		Dilation: axes(c.Dims, c.D), Padding: append(axes(c.Dims, c.PadBeg), axes(c.Dims, c.PadEnd)...), OutputPadding: axes(c.Dims, c.OutPad)}
}

var _ Layer = (*ConvTranspose)(nil)
