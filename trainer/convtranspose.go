package trainer

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
)

// ConvTranspose is a 1-D or 2-D transposed convolution, as PyTorch's
// nn.ConvTranspose1d and nn.ConvTranspose2d compute it: input (N, In, …),
// weight (In, Out/Groups, k…), bias (Out), output size per axis
// (in − 1)·stride − padBefore − padAfter + dilation·(k − 1) + outputPadding + 1.
// It is the adjoint of Conv: one matrix product per sample and group, then
// col2im.
type ConvTranspose struct {
	Dims            int
	In, Out, Groups int
	K, S, D         [2]int
	PadBeg, PadEnd  [2]int
	OutPad          [2]int
	W, B            *Param
	x               *Tensor
	geo             geometry // the convolution this layer is the adjoint of: from the output to the input
	col             []float32
	shapes          shapeCache
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
	if len(x.Shape) != c.Dims+2 || x.Shape[1] != c.In {
		panic(ErrShape)
	}
	h, w := spatial(c.Dims, x.Shape[1:])
	oh, ow := c.outHW(h, w)
	if oh <= 0 || ow <= 0 {
		panic(ErrShape)
	}
	c.geo = geometry{C: c.Out / c.Groups, IH: oh, IW: ow, OH: h, OW: w, KH: c.K[0], KW: c.K[1], SH: c.S[0], SW: c.S[1], DH: c.D[0], DW: c.D[1], PT: c.PadBeg[0], PL: c.PadBeg[1]}
	g := &c.geo
	rows, p := g.rows(), h*w
	if cap(c.col) < rows*p {
		c.col = make([]float32, rows*p)
	}
	c.col = c.col[:rows*p]
	n := x.Rows()
	dst.Resize(c.shapes.get(x.Shape, c.OutShape)...)
	ig, og := c.In/c.Groups, c.Out/c.Groups
	outPlane := oh * ow
	for s := 0; s < n; s++ {
		for o := 0; o < c.Out; o++ {
			b := c.B.Value.Data[o]
			row := dst.Data[(s*c.Out+o)*outPlane : (s*c.Out+o+1)*outPlane]
			for i := range row {
				row[i] = b
			}
		}
		for gr := 0; gr < c.Groups; gr++ {
			xg := x.Data[(s*c.In+gr*ig)*p : (s*c.In+(gr+1)*ig)*p]
			wg := c.W.Value.Data[gr*ig*rows : (gr+1)*ig*rows]
			gemm(blas.Trans, blas.NoTrans, 1, general(ig, rows, wg), general(ig, p, xg), 0, general(rows, p, c.col))
			g.col2im(dst.Data[(s*c.Out+gr*og)*outPlane:(s*c.Out+(gr+1)*og)*outPlane], c.col)
		}
	}
	c.x = x
}

// Backward adds dW += x·im2col(dY)ᵀ and db += Σ dY, and writes
// dx = W·im2col(dY) if dx is not nil.
func (c *ConvTranspose) Backward(dx, dy *Tensor) {
	g := &c.geo
	n := c.x.Rows()
	outPlane, p := g.IH*g.IW, g.OH*g.OW
	if dy.Len() != n*c.Out*outPlane {
		panic(ErrShape)
	}
	ig, og := c.In/c.Groups, c.Out/c.Groups
	rows := g.rows()
	if dx != nil {
		dx.Resize(c.x.Shape...)
	}
	for s := 0; s < n; s++ {
		for o := 0; o < c.Out; o++ {
			var sum float32
			for _, v := range dy.Data[(s*c.Out+o)*outPlane : (s*c.Out+o+1)*outPlane] {
				sum += v
			}
			c.B.Grad.Data[o] += sum
		}
		for gr := 0; gr < c.Groups; gr++ {
			g.im2col(c.col, dy.Data[(s*c.Out+gr*og)*outPlane:])
			xg := c.x.Data[(s*c.In+gr*ig)*p : (s*c.In+(gr+1)*ig)*p]
			dw := c.W.Grad.Data[gr*ig*rows : (gr+1)*ig*rows]
			gemm(blas.NoTrans, blas.Trans, 1, general(ig, p, xg), general(rows, p, c.col), 1, general(ig, rows, dw))
			if dx != nil {
				wg := c.W.Value.Data[gr*ig*rows : (gr+1)*ig*rows]
				gemm(blas.NoTrans, blas.NoTrans, 1, general(ig, rows, wg), general(rows, p, c.col), 0, general(ig, p, dx.Data[(s*c.In+gr*ig)*p:(s*c.In+(gr+1)*ig)*p]))
			}
		}
	}
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
