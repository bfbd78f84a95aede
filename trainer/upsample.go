package trainer

import "fmt"

// Upsample is nearest-neighbour upsampling by integer factors, as PyTorch's
// nn.Upsample(scale_factor=s, mode="nearest") computes it: output pixel
// (y, x) copies input pixel (⌊y/sh⌋, ⌊x/sw⌋).
type Upsample struct {
	Dims    int
	Scale   [2]int // (height, width); height 1 for 1-D
	inShape []int
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
	h, w := spatial(u.Dims, x.Shape[1:])
	oh, ow := h*u.Scale[0], w*u.Scale[1]
	dst.Resize(append([]int{x.Shape[0]}, u.OutShape(x.Shape[1:])...)...)
	for pl := 0; pl < x.Shape[0]*x.Shape[1]; pl++ {
		in, out := x.Data[pl*h*w:(pl+1)*h*w], dst.Data[pl*oh*ow:(pl+1)*oh*ow]
		for y := 0; y < oh; y++ {
			src := in[(y/u.Scale[0])*w : (y/u.Scale[0]+1)*w]
			row := out[y*ow : (y+1)*ow]
			for xx := range row {
				row[xx] = src[xx/u.Scale[1]]
			}
		}
	}
	u.inShape = append(u.inShape[:0], x.Shape...)
}

// Backward sums each output's gradient into the input pixel it copied.
func (u *Upsample) Backward(dx, dy *Tensor) {
	if dx == nil {
		return
	}
	h, w := spatial(u.Dims, u.inShape[1:])
	oh, ow := h*u.Scale[0], w*u.Scale[1]
	planes := u.inShape[0] * u.inShape[1]
	if dy.Len() != planes*oh*ow {
		panic(ErrShape)
	}
	dx.Resize(u.inShape...)
	dx.Zero()
	for pl := 0; pl < planes; pl++ {
		g, out := dy.Data[pl*oh*ow:(pl+1)*oh*ow], dx.Data[pl*h*w:(pl+1)*h*w]
		for y := 0; y < oh; y++ {
			dst := out[(y/u.Scale[0])*w : (y/u.Scale[0]+1)*w]
			for xx, v := range g[y*ow : (y+1)*ow] {
				dst[xx/u.Scale[1]] += v
			}
		}
	}
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
