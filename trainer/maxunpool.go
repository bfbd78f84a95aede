package trainer

import (
	"slices"

	"github.com/aebridge/aebridge/graph"
)

// MaxUnpool is the partial inverse of a MaxPool layer, as PyTorch's
// nn.MaxUnpool1d/2d computes it with that layer's indices: each input value
// goes back to the position its window's maximum came from, every other
// output is 0. The output has the pooled layer's input shape. The kernels
// are graph's MaxUnpool.
type MaxUnpool struct {
	Pool *MaxPool // the layer whose indices this one uses
	Of   string   // its name, such as "encoder.2"
	Out  []int    // the per-sample shape of that layer's input

	gx, gy graph.Tensor // graph's views of the input and the output, or their gradients
}

// Forward scatters x into dst. It panics with ErrShape if x does not have
// as many values as the pooling layer's last output.
func (u *MaxUnpool) Forward(dst, x *Tensor) {
	p := u.Pool
	if x.Len() != len(p.Indices) || x.Shape[0] != p.inShape[0] || !slices.Equal(p.inShape[1:], u.Out) {
		panic(ErrShape)
	}
	u.gx.Shape, u.gx.Data = p.gi.Shape, x.Data
	poolView(&u.gy, dst)
	graph.MaxUnpoolForward(&u.gy, &u.gx, &p.gi, p.inShape)
	dst.Shape, dst.Data = u.gy.Shape, u.gy.Data
}

// Backward gathers dy at the recorded positions.
func (u *MaxUnpool) Backward(dx, dy *Tensor) {
	p := u.Pool
	if dy.Len() != product(p.inShape) {
		panic(ErrShape)
	}
	if dx == nil {
		return
	}
	dx.Resize(p.gi.Shape...)
	dx.Zero()
	poolView(&u.gx, dx)
	u.gy.Shape, u.gy.Data = p.inShape, dy.Data
	graph.MaxUnpoolBackward(&u.gx, &u.gy, &p.gi)
}

// OutShape is the shape of the pooling layer's input.
func (u *MaxUnpool) OutShape(in []int) []int { return append([]int(nil), u.Out...) }

// Params is empty.
func (u *MaxUnpool) Params() []*Param { return nil }

// Spec describes the layer.
func (u *MaxUnpool) Spec() LayerSpec {
	t := "maxunpool2d"
	if u.Pool.Dims == 1 {
		t = "maxunpool1d"
	}
	return LayerSpec{Type: t, Of: u.Of}
}

var _ Layer = (*MaxUnpool)(nil)
