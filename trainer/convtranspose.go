package trainer

import (
	"fmt"

	"gonum.org/v1/gonum/blas"

	"github.com/aebridge/aebridge/graph"
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
	shapes          shapeCache
	job             transposeJob
	scratch         []convScratch // per-worker buffers
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
	h, w, oh, ow := windowInput(x, c.Dims, c.In, c.outHW)
	c.geo = geometry{C: c.Out / c.Groups, IH: oh, IW: ow, OH: h, OW: w, KH: c.K[0], KW: c.K[1], SH: c.S[0], SW: c.S[1], DH: c.D[0], DW: c.D[1], PT: c.PadBeg[0], PL: c.PadBeg[1]}
	dst.Resize(c.shapes.get(x.Shape, c.OutShape)...)
	c.x = x
	c.job = transposeJob{c, forwardPass(x, dst)}
	runPass(&c.job, &c.job.batchPass, &c.scratch)
	c.job = transposeJob{}
}

// Backward adds dW += x·im2col(dY)ᵀ and db += Σ dY, and writes
// dx = W·im2col(dY) if dx is not nil.
func (c *ConvTranspose) Backward(dx, dy *Tensor) {
	g := &c.geo
	if dy.Len() != c.x.Rows()*c.Out*g.IH*g.IW {
		panic(ErrShape)
	}
	if dx != nil {
		dx.Resize(c.x.Shape...)
	}
	c.job = transposeJob{c, backwardPass(c.x, dy, dx)}
	parts := runPass(&c.job, &c.job.batchPass, &c.scratch)
	c.job = transposeJob{}
	addPartials(c.scratch[:parts], c.W, c.B)
}

// transposeJob is a transposed convolution's pass over a share of the
// batch a worker: sample by sample, one product per group into the
// worker's column matrix, then col2im into the output (Forward); im2col of
// dY, the worker's share of dW and db, and dx (Backward).
type transposeJob struct {
	c *ConvTranspose
	batchPass
}

func (j *transposeJob) Run(lo, hi int) {
	c, g := j.c, &j.c.geo
	outPlane, p := g.IH*g.IW, g.OH*g.OW
	ig, og, rows := c.In/c.Groups, c.Out/c.Groups, g.rows()
	for part := lo; part < hi; part++ {
		sc := j.begin(c.scratch, part, c.W, c.B)
		col := resize(&sc.col, rows*p)
		first, end := j.samples(part)
		for s := first; s < end; s++ {
			for o := 0; o < c.Out; o++ {
				plane := j.y[(s*c.Out+o)*outPlane : (s*c.Out+o+1)*outPlane]
				if j.backward {
					sc.db[o] += graph.Sum32(plane)
					continue
				}
				b := c.B.Value.Data[o]
				for i := range plane {
					plane[i] = b
				}
			}
			for gr := 0; gr < c.Groups; gr++ {
				xg := general(ig, p, j.x[(s*c.In+gr*ig)*p:(s*c.In+(gr+1)*ig)*p])
				w := general(ig, rows, c.W.Value.Data[gr*ig*rows:(gr+1)*ig*rows])
				y := j.y[(s*c.Out+gr*og)*outPlane:]
				if !j.backward {
					graph.GemmSerial(blas.Trans, blas.NoTrans, 1, w, xg, 0, general(rows, p, col))
					g.col2im(y[:og*outPlane], col)
					continue
				}
				g.im2col(col, y)
				dw := general(ig, rows, sc.dw[gr*ig*rows:(gr+1)*ig*rows])
				graph.GemmSerial(blas.NoTrans, blas.Trans, 1, xg, general(rows, p, col), 1, dw)
				if j.dx != nil {
					graph.GemmSerial(blas.NoTrans, blas.NoTrans, 1, w, general(rows, p, col), 0, general(ig, p, j.dx[(s*c.In+gr*ig)*p:(s*c.In+(gr+1)*ig)*p]))
				}
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
