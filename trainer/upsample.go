package trainer

import (
	"fmt"

	"github.com/aebridge/aebridge/graph"
)

// Upsample is nearest-neighbour upsampling by integer factors, as PyTorch's
// nn.Upsample(scale_factor=s, mode="nearest") computes it: output pixel
// (y, x) copies input pixel (⌊y/sh⌋, ⌊x/sw⌋). The kernels are graph's
// Resize (nearest, asymmetric, floor), which ONNX writes it as.
type Upsample struct {
	Dims    int
	Scale   [2]int // (height, width); height 1 for 1-D
	inShape []int
	resize  graph.Resize
	gx, gy  graph.Tensor // graph's views of the input and the output, or their gradients
	shapes  shapeCache
}

// NewUpsample returns an upsampling layer with one positive integer factor
// per spatial axis.
func NewUpsample(name string, dims int, scale []int) (*Upsample, error) {
	if (dims != 1 && dims != 2) || len(scale) != dims {
		return nil, fmt.Errorf("trainer: layer %s: scale %v needs %d values", name, scale, dims)
	}
	u := &Upsample{Dims: dims, Scale: [2]int{1, 1}}
	for i, s := range scale {
		if s <= 0 {
			return nil, fmt.Errorf("trainer: layer %s: scale %v must be positive integers", name, scale)
		}
		u.Scale[2-dims+i] = s
	}
	u.resize = graph.Resize{Mode: "nearest", Coord: "asymmetric", NearestMode: "floor", Overwrite: true, Scales: []float32{1, 1, float32(u.Scale[1])}}
	if dims == 2 {
		u.resize.Scales = []float32{1, 1, float32(u.Scale[0]), float32(u.Scale[1])}
	}
	return u, nil
}

// OutShape multiplies the spatial axes by the scale.
func (u *Upsample) OutShape(in []int) []int {
	if u.Dims == 1 {
		return []int{in[0], in[1] * u.Scale[1]}
	}
	return []int{in[0], in[1] * u.Scale[0], in[2] * u.Scale[1]}
}

// Forward upsamples x into dst. It panics with ErrShape if x has not the
// layer's rank.
func (u *Upsample) Forward(dst, x *Tensor) {
	if len(x.Shape) != u.Dims+2 {
		panic(ErrShape)
	}
	u.resize.Sizes = u.shapes.get(x.Shape, u.OutShape)
	poolView(&u.gx, x)
	poolView(&u.gy, dst)
	graph.ResizeForward(&u.gy, &u.gx, &u.resize)
	dst.Shape, dst.Data = u.gy.Shape, u.gy.Data
	u.inShape = append(u.inShape[:0], x.Shape...)
}

// Backward sums each output's gradient into the input pixel it copied.
func (u *Upsample) Backward(dx, dy *Tensor) {
	if dx == nil {
		return
	}
	if dy.Len() != product(u.resize.Sizes) {
		panic(ErrShape)
	}
	dx.Resize(u.inShape...)
	poolView(&u.gx, dx)
	u.gy.Shape, u.gy.Data = u.resize.Sizes, dy.Data
	graph.ResizeBackward(&u.gx, &u.gy, &u.resize)
}

// Params is empty.
func (u *Upsample) Params() []*Param { return nil }

// Spec describes the layer.
func (u *Upsample) Spec() LayerSpec {
	t := "upsample2d"
	if u.Dims == 1 {
		t = "upsample1d"
	}
	return LayerSpec{Type: t, Scale: axes(u.Dims, u.Scale)}
}

var _ Layer = (*Upsample)(nil)
