package trainer

import (
	"fmt"

	"github.com/aebridge/aebridge/graph"
)

// MaxPool is 1-D or 2-D max pooling, as PyTorch's nn.MaxPool1d/2d with
// return_indices computes it: each output is the largest input in its
// window (padding never wins), and Indices records, per output, the flat
// position of that input in the whole input tensor ((N, C, H, W) order, as
// ONNX's MaxPool gives it; PyTorch's index within the plane H·W is its
// remainder), which MaxUnpool uses. Padding may differ before and after
// each axis. The kernels are graph's MaxPool.
type MaxPool struct {
	Dims           int
	K, S           [2]int
	PadBeg, PadEnd [2]int
	Indices        []int64 // per output element of the last Forward
	inShape        []int   // the last Forward's input shape
	pool           graph.Pool
	gx, gy, gi     graph.Tensor // graph's views of the input, the output and the indices
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
	p.pool = graph.Pool{Kernel: p.K, Strides: p.S, Dilations: [2]int{1, 1}, PadBegin: p.PadBeg, PadEnd: p.PadEnd, Overwrite: true}
	return p, nil
}

func ones(n int) []int {
	o := make([]int, n)
	for i := range o {
		o[i] = 1
	}
	return o
}

// OutShape keeps the channels and pools the spatial axes.
func (p *MaxPool) OutShape(in []int) []int {
	return poolOutShape(p.Dims, &p.pool, in)
}

// poolOutShape is the per-sample output shape of a pooling layer over the
// per-sample input shape in.
func poolOutShape(dims int, pool *graph.Pool, in []int) []int {
	s, ok := graph.PoolShape(append([]int{1}, in...), pool)
	if !ok {
		// The window does not fit: a size that a Forward refuses.
		s = make([]int, dims+2)
	}
	return s[1:]
}

// poolView points t at x's shape and values.
func poolView(t *graph.Tensor, x *Tensor) {
	t.Shape, t.Data = x.Shape, x.Data
}

// Forward pools x, (N, C, …), into dst and records the indices. It panics
// with ErrShape if x has not the layer's rank or the window does not fit.
func (p *MaxPool) Forward(dst, x *Tensor) {
	if len(x.Shape) != p.Dims+2 || !poolFits(x.Shape, &p.pool) {
		panic(ErrShape)
	}
	poolView(&p.gx, x)
	poolView(&p.gy, dst)
	p.gi.Int64 = p.Indices
	graph.MaxPoolForward(&p.gy, &p.gi, &p.gx, &p.pool)
	dst.Shape, dst.Data, p.Indices = p.gy.Shape, p.gy.Data, p.gi.Int64
	p.inShape = append(p.inShape[:0], x.Shape...)
}

// poolFits reports whether the pool's window fits the input shape x.
func poolFits(x []int, pool *graph.Pool) bool {
	h, w := 1, x[len(x)-1]
	if len(x) == 4 {
		h = x[2]
	}
	for ax, n := range [2]int{h, w} {
		if n+pool.PadBegin[ax]+pool.PadEnd[ax] < pool.Kernel[ax] {
			return false
		}
	}
	return true
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
	poolView(&p.gx, dx)
	p.gy.Shape, p.gy.Data = p.gi.Shape, dy.Data
	graph.MaxPoolBackward(&p.gx, &p.gy, &p.gi, &p.pool)
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
