package trainer

import (
	"fmt"

	"github.com/aebridge/aebridge/graph"
)

// AvgPool is 1-D or 2-D average pooling, as PyTorch's nn.AvgPool1d/2d
// computes it: each output is the mean of its window, divided by the number
// of input elements in it, or by the whole window size (padding included)
// with CountIncludePad. The kernels are graph's AveragePool.
type AvgPool struct {
	Dims            int
	K, S            [2]int
	PadBeg, PadEnd  [2]int
	CountIncludePad bool
	inShape         []int
	pool            graph.Pool
	gx, gy          graph.Tensor // graph's views of the input and the output, or their gradients
}

// NewAvgPool returns an average-pooling layer; sizes as for NewMaxPool.
func NewAvgPool(name string, dims int, kernel, stride, padding []int, countIncludePad bool) (*AvgPool, error) {
	p := &AvgPool{Dims: dims, CountIncludePad: countIncludePad}
	var d [2]int
	if err := windowParams(dims, kernel, stride, padding, ones(dims), &p.K, &p.S, &d, &p.PadBeg, &p.PadEnd); err != nil {
		return nil, fmt.Errorf("trainer: layer %s: %w", name, err)
	}
	p.pool = graph.Pool{Kernel: p.K, Strides: p.S, Dilations: [2]int{1, 1}, PadBegin: p.PadBeg, PadEnd: p.PadEnd, CountIncludePad: countIncludePad, Overwrite: true}
	return p, nil
}

// OutShape keeps the channels and pools the spatial axes.
func (p *AvgPool) OutShape(in []int) []int {
	return poolOutShape(p.Dims, &p.pool, in)
}

// Forward averages the windows of x into dst. It panics with ErrShape if x
// has not the layer's rank or the window does not fit.
func (p *AvgPool) Forward(dst, x *Tensor) {
	if len(x.Shape) != p.Dims+2 || !poolFits(x.Shape, &p.pool) {
		panic(ErrShape)
	}
	poolView(&p.gx, x)
	poolView(&p.gy, dst)
	graph.AveragePoolForward(&p.gy, &p.gx, &p.pool)
	dst.Shape, dst.Data = p.gy.Shape, p.gy.Data
	p.inShape = append(p.inShape[:0], x.Shape...)
}

// Backward spreads each output's gradient evenly over its window.
func (p *AvgPool) Backward(dx, dy *Tensor) {
	if dx == nil {
		return
	}
	dx.Resize(p.inShape...)
	poolView(&p.gx, dx)
	poolView(&p.gy, dy)
	graph.AveragePoolBackward(&p.gx, &p.gy, &p.pool)
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
