package trainer

import "slices"

// MaxUnpool is the partial inverse of a MaxPool layer, as PyTorch's
// nn.MaxUnpool1d/2d computes it with that layer's indices: each input value
// goes back to the position its window's maximum came from, every other
// output is 0. The output has the pooled layer's input shape.
type MaxUnpool struct {
	Pool *MaxPool // the layer whose indices this one uses
	Of   string   // its name, such as "encoder.2"
	Out  []int    // the per-sample shape of that layer's input
}

// Forward scatters x into dst. It panics with ErrShape if x does not have
// the shape of the pooling layer's last output.
func (u *MaxUnpool) Forward(dst, x *Tensor) {
	p := u.Pool
	if x.Len() != len(p.Indices) || x.Shape[0] != p.inShape[0] || !slices.Equal(p.inShape[1:], u.Out) {
		panic(ErrShape)
	}
	dst.Resize(p.inShape...)
	dst.Zero()
	planes := p.inShape[0] * p.inShape[1]
	plane, per := dst.Len()/planes, x.Len()/planes
	for k, at := range p.Indices {
		dst.Data[(k/per)*plane+at] = x.Data[k]
	}
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
	planes := p.inShape[0] * p.inShape[1]
	dx.Resize(p.shapes.get(p.inShape, p.OutShape)...)
	plane, per := dy.Len()/planes, len(p.Indices)/planes
	for k, at := range p.Indices {
		dx.Data[k] = dy.Data[(k/per)*plane+at]
	}
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
