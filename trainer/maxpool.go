package trainer

import (
	"fmt"
	"math"
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
	dst.Resize(append([]int{x.Shape[0]}, p.OutShape(x.Shape[1:])...)...)
	if cap(p.Indices) < dst.Len() {
		p.Indices = make([]int, dst.Len())
	}
	p.Indices = p.Indices[:dst.Len()]
	for pl := 0; pl < planes; pl++ {
		in := x.Data[pl*h*w : (pl+1)*h*w]
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				best, at := float32(math.Inf(-1)), -1
				for i := 0; i < p.K[0]; i++ {
					yy := oy*p.S[0] - p.PadBeg[0] + i
					if yy < 0 || yy >= h {
						continue
					}
					for j := 0; j < p.K[1]; j++ {
						xx := ox*p.S[1] - p.PadBeg[1] + j
						if xx < 0 || xx >= w {
							continue
						}
						// NaN wins, as in PyTorch.
						if v := in[yy*w+xx]; v > best || at < 0 || v != v {
							best, at = v, yy*w+xx
						}
					}
				}
				k := (pl*oh+oy)*ow + ox
				dst.Data[k] = best
				p.Indices[k] = at
			}
		}
	}
	p.inShape = append(p.inShape[:0], x.Shape...)
	p.x = x
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
	dx.Zero()
	plane := dx.Len() / (p.inShape[0] * p.inShape[1])
	per := len(p.Indices) / (p.inShape[0] * p.inShape[1])
	for k, at := range p.Indices {
		dx.Data[(k/per)*plane+at] += dy.Data[k]
	}
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
