package trainer

import (
	"fmt"

	"github.com/aebridge/aebridge/graph"
)

// MaxPool is 1-D or 2-D max pooling, as PyTorch's nn.MaxPool1d/2d with
// return_indices computes it: each output is the largest input in its
// window (padding never wins), and Indices records, per output, its flat
// position within the input plane (H·W), which MaxUnpool uses. Padding may
// differ before and after each axis.
type MaxPool struct {
	Dims           int
	K, S           [2]int
	PadBeg, PadEnd [2]int
	Indices        []int // per output element of the last Forward
	inShape        []int // the last Forward's input shape
	x              *Tensor
	job            maxPoolJob
	shapes         shapeCache
}

// NewMaxPool returns a max-pooling layer; sizes as for NewConv (no
// dilation).
func NewMaxPool(name string, dims int, kernel, stride, padding []int) (*MaxPool, error) {
	p := &MaxPool{Dims: dims}
	var d, pe [2]int
	if err := windowParams(dims, kernel, stride, padding, ones(dims), &p.K, &p.S, &d, &p.PadBeg, &pe); err != nil {
		return nil, fmt.Errorf("trainer: layer %s: %w", name, err)
	}
	p.PadEnd = pe
	for ax := 0; ax < 2; ax++ {
		if p.PadBeg[ax] >= p.K[ax] || p.PadEnd[ax] >= p.K[ax] {
			return nil, fmt.Errorf("trainer: layer %s: padding %v must be smaller than the kernel %v", name, padding, kernel)
		}
	}
	return p, nil
}

func ones(n int) []int {
	o := make([]int, n)
	for i := range o {
		o[i] = 1
	}
	return o
}

func (p *MaxPool) outHW(h, w int) (int, int) {
	return outSize(h, p.K[0], p.S[0], 1, p.PadBeg[0], p.PadEnd[0]), outSize(w, p.K[1], p.S[1], 1, p.PadBeg[1], p.PadEnd[1])
}

// OutShape keeps the channels and pools the spatial axes.
func (p *MaxPool) OutShape(in []int) []int {
	h, w := spatial(p.Dims, in)
	oh, ow := p.outHW(h, w)
	if p.Dims == 1 {
		return []int{in[0], ow}
	}
	return []int{in[0], oh, ow}
}

// Forward pools x, (N, C, …), into dst and records the indices. It panics
// with ErrShape if x has not the layer's rank.
func (p *MaxPool) Forward(dst, x *Tensor) {
	if len(x.Shape) != p.Dims+2 {
		panic(ErrShape)
	}
	h, w := spatial(p.Dims, x.Shape[1:])
	oh, ow := p.outHW(h, w)
	planes := x.Shape[0] * x.Shape[1]
	dst.Resize(p.shapes.get(x.Shape, p.OutShape)...)
	if cap(p.Indices) < dst.Len() {
		p.Indices = make([]int, dst.Len())
	}
	p.Indices = p.Indices[:dst.Len()]
	p.inShape = append(p.inShape[:0], x.Shape...)
	p.x = x
	p.job = maxPoolJob{p: p, x: x.Data, y: dst.Data, h: h, w: w, oh: oh, ow: ow}
	graph.ParallelFor(planes, max(1, graph.Grain/(h*w)), &p.job)
	p.job = maxPoolJob{}
}

// maxPoolJob pools planes of x into y (Forward), or routes planes of dy
// into dx (Backward, backward true); the layer holds it, so that passing it
// allocates nothing.
type maxPoolJob struct {
	p            *MaxPool
	backward     bool
	x, y         []float32 // Forward: input, output; Backward: dx, dy
	h, w, oh, ow int
}

func (j *maxPoolJob) Run(lo, hi int) {
	p := j.p
	h, w, oh, ow := j.h, j.w, j.oh, j.ow
	for pl := lo; pl < hi; pl++ {
		in, idx := j.x[pl*h*w:(pl+1)*h*w], p.Indices[pl*oh*ow:(pl+1)*oh*ow]
		out := j.y[pl*oh*ow : (pl+1)*oh*ow]
		if j.backward {
			clear(in)
			for k, at := range idx {
				in[at] += out[k]
			}
			continue
		}
		for oy := 0; oy < oh; oy++ {
			y0 := oy*p.S[0] - p.PadBeg[0]
			ya, yb := max(y0, 0), min(y0+p.K[0], h)
			ox := 0
			if p.K == [2]int{2, 2} && p.S == [2]int{2, 2} && ya == y0 && yb == y0+2 {
				// The common 2×2 window, stride 2: the windows of this row
				// that lie inside the image, unrolled.
				ox = (p.PadBeg[1] + 1) / 2
				end := max(ox, min(ow, (w+p.PadBeg[1])/2))
				graph.Pool2x2(out[oy*ow+ox:oy*ow+end], idx[oy*ow+ox:oy*ow+end], in, y0*w+2*ox-p.PadBeg[1], w)
				p.poolWindows(out, idx, in, oy, 0, ox, j)
				ox = end
			}
			p.poolWindows(out, idx, in, oy, ox, ow, j)
		}
	}
}

// poolWindows pools the windows [ox0, ox1) of output row oy of a plane,
// clipped to the image.
func (p *MaxPool) poolWindows(out []float32, idx []int, in []float32, oy, ox0, ox1 int, j *maxPoolJob) {
	h, w, ow := j.h, j.w, j.ow
	ya, yb := max(oy*p.S[0]-p.PadBeg[0], 0), min(oy*p.S[0]-p.PadBeg[0]+p.K[0], h)
	for ox := ox0; ox < ox1; ox++ {
		xa, xb := max(ox*p.S[1]-p.PadBeg[1], 0), min(ox*p.S[1]-p.PadBeg[1]+p.K[1], w)
		// Every window holds an input: the padding is smaller than the
		// kernel. The first largest wins; NaN beats any number.
		at := ya*w + xa
		best := graph.OrderKey(in[at])
		for yy := ya; yy < yb; yy++ {
			row := in[yy*w : yy*w+xb]
			for xx := xa; xx < xb; xx++ {
				if k := graph.OrderKey(row[xx]); k > best {
					best, at = k, yy*w+xx
				}
			}
		}
		out[oy*ow+ox] = in[at]
		idx[oy*ow+ox] = at
	}
}

// Backward routes each output's gradient to the input that won its window.
func (p *MaxPool) Backward(dx, dy *Tensor) {
	if dy.Len() != len(p.Indices) {
		panic(ErrShape)
	}
	if dx == nil {
		return
	}
	dx.Resize(p.inShape...)
	planes := p.inShape[0] * p.inShape[1]
	h, w := spatial(p.Dims, p.inShape[1:])
	oh, ow := p.outHW(h, w)
	p.job = maxPoolJob{p: p, backward: true, x: dx.Data, y: dy.Data, h: h, w: w, oh: oh, ow: ow}
	graph.ParallelFor(planes, max(1, graph.Grain/(h*w)), &p.job)
	p.job = maxPoolJob{}
}

// Params is empty.
func (p *MaxPool) Params() []*Param { return nil }

// Spec describes the layer.
func (p *MaxPool) Spec() LayerSpec {
	t := "maxpool2d"
	if p.Dims == 1 {
		t = "maxpool1d"
	}
	return LayerSpec{Type: t, Kernel: axes(p.Dims, p.K), Stride: axes(p.Dims, p.S), Padding: append(axes(p.Dims, p.PadBeg), axes(p.Dims, p.PadEnd)...)}
}

var _ Layer = (*MaxPool)(nil)
