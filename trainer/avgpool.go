package trainer

import "fmt"

// AvgPool is 1-D or 2-D average pooling, as PyTorch's nn.AvgPool1d/2d
// computes it: each output is the mean of its window, divided by the number
// of input elements in it, or by the whole window size (padding included)
// with CountIncludePad.
type AvgPool struct {
	Dims            int
	K, S            [2]int
	PadBeg, PadEnd  [2]int
	CountIncludePad bool
	inShape         []int
	shapes          shapeCache
}

// NewAvgPool returns an average-pooling layer; sizes as for NewMaxPool.
func NewAvgPool(name string, dims int, kernel, stride, padding []int, countIncludePad bool) (*AvgPool, error) {
	p := &AvgPool{Dims: dims, CountIncludePad: countIncludePad}
	var d [2]int
	if err := windowParams(dims, kernel, stride, padding, ones(dims), &p.K, &p.S, &d, &p.PadBeg, &p.PadEnd); err != nil {
		return nil, fmt.Errorf("trainer: layer %s: %w", name, err)
	}
	return p, nil
}

func (p *AvgPool) outHW(h, w int) (int, int) {
	return outSize(h, p.K[0], p.S[0], 1, p.PadBeg[0], p.PadEnd[0]), outSize(w, p.K[1], p.S[1], 1, p.PadBeg[1], p.PadEnd[1])
}

// OutShape keeps the channels and pools the spatial axes.
func (p *AvgPool) OutShape(in []int) []int {
	h, w := spatial(p.Dims, in)
	oh, ow := p.outHW(h, w)
	if p.Dims == 1 {
		return []int{in[0], ow}
	}
	return []int{in[0], oh, ow}
}

// window calls fn for each input position of output (oy, ox) and returns
// the divisor.
func (p *AvgPool) window(h, w, oy, ox int, fn func(at int)) int {
	n := 0
	for i := 0; i < p.K[0]; i++ {
		yy := oy*p.S[0] - p.PadBeg[0] + i
		for j := 0; j < p.K[1]; j++ {
			xx := ox*p.S[1] - p.PadBeg[1] + j
			if yy < 0 || yy >= h || xx < 0 || xx >= w {
				continue
			}
			n++
			fn(yy*w + xx)
		}
	}
	if p.CountIncludePad {
		// PyTorch counts the padding but not what lies beyond it.
		y0, x0 := oy*p.S[0]-p.PadBeg[0], ox*p.S[1]-p.PadBeg[1]
		y1, x1 := min(y0+p.K[0], h+p.PadEnd[0]), min(x0+p.K[1], w+p.PadEnd[1])
		return (y1 - y0) * (x1 - x0)
	}
	return n
}

// Forward averages the windows of x into dst. It panics with ErrShape if x
// has not the layer's rank.
func (p *AvgPool) Forward(dst, x *Tensor) {
	if len(x.Shape) != p.Dims+2 {
		panic(ErrShape)
	}
	h, w := spatial(p.Dims, x.Shape[1:])
	oh, ow := p.outHW(h, w)
	dst.Resize(p.shapes.get(x.Shape, p.OutShape)...)
	for pl := 0; pl < x.Shape[0]*x.Shape[1]; pl++ {
		in := x.Data[pl*h*w : (pl+1)*h*w]
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				var sum float32
				n := p.window(h, w, oy, ox, func(at int) { sum += in[at] })
				dst.Data[(pl*oh+oy)*ow+ox] = sum / float32(n)
			}
		}
	}
	p.inShape = append(p.inShape[:0], x.Shape...)
}

// Backward spreads each output's gradient evenly over its window.
func (p *AvgPool) Backward(dx, dy *Tensor) {
	if dx == nil {
		return
	}
	h, w := spatial(p.Dims, p.inShape[1:])
	oh, ow := p.outHW(h, w)
	planes := p.inShape[0] * p.inShape[1]
	if dy.Len() != planes*oh*ow {
		panic(ErrShape)
	}
	dx.Resize(p.inShape...)
	dx.Zero()
	for pl := 0; pl < planes; pl++ {
		out := dx.Data[pl*h*w : (pl+1)*h*w]
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				g := dy.Data[(pl*oh+oy)*ow+ox]
				n := p.window(h, w, oy, ox, func(int) {})
				share := g / float32(n)
				p.window(h, w, oy, ox, func(at int) { out[at] += share })
			}
		}
	}
}

// Params is empty.
func (p *AvgPool) Params() []*Param { return nil }

// Spec describes the layer.
func (p *AvgPool) Spec() LayerSpec {
	t := "avgpool2d"
	if p.Dims == 1 {
		t = "avgpool1d"
	}
	return LayerSpec{Type: t, Kernel: axes(p.Dims, p.K), Stride: axes(p.Dims, p.S), Padding: append(axes(p.Dims, p.PadBeg), axes(p.Dims, p.PadEnd)...), CountIncludePad: p.CountIncludePad}
}

var _ Layer = (*AvgPool)(nil)
