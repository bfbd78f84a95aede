package trainer

import (
	"fmt"

	"github.com/aebridge/aebridge/graph"
)

// Upsample is nearest-neighbour upsampling by integer factors, as PyTorch's
// nn.Upsample(scale_factor=s, mode="nearest") computes it: output pixel
// (y, x) copies input pixel (⌊y/sh⌋, ⌊x/sw⌋).
type Upsample struct {
	Dims    int
	Scale   [2]int // (height, width); height 1 for 1-D
	inShape []int
	job     upsampleJob
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
	dst.Resize(u.shapes.get(x.Shape, u.OutShape)...)
	u.inShape = append(u.inShape[:0], x.Shape...)
	u.job = upsampleJob{u: u, x: x.Data, y: dst.Data, h: h, w: w}
	graph.ParallelFor(x.Shape[0]*x.Shape[1], max(1, graph.Grain/(h*w*u.Scale[0]*u.Scale[1])), &u.job)
	u.job = upsampleJob{}
}

// Backward sums each output's gradient into the input pixel it copied.
func (u *Upsample) Backward(dx, dy *Tensor) {
	if dx == nil {
		return
	}
	h, w := spatial(u.Dims, u.inShape[1:])
	planes := u.inShape[0] * u.inShape[1]
	if dy.Len() != planes*h*w*u.Scale[0]*u.Scale[1] {
		panic(ErrShape)
	}
	dx.Resize(u.inShape...)
	u.job = upsampleJob{u: u, backward: true, x: dx.Data, y: dy.Data, h: h, w: w}
	graph.ParallelFor(planes, max(1, graph.Grain/(h*w*u.Scale[0]*u.Scale[1])), &u.job)
	u.job = upsampleJob{}
}

// upsampleJob upsamples planes of x into y (Forward), or sums planes of y
// into x (Backward, backward true); the layer holds it, so that passing it
// allocates nothing.
type upsampleJob struct {
	u        *Upsample
	backward bool
	x, y     []float32 // the input (or its gradient), the output (or its gradient)
	h, w     int
}

func (j *upsampleJob) Run(lo, hi int) {
	sh, sw := j.u.Scale[0], j.u.Scale[1]
	h, w, ow := j.h, j.w, j.w*sw
	for pl := lo; pl < hi; pl++ {
		in, out := j.x[pl*h*w:(pl+1)*h*w], j.y[pl*h*w*sh*sw:(pl+1)*h*w*sh*sw]
		for y := 0; y < h; y++ {
			src := in[y*w : (y+1)*w]
			rows := out[y*sh*ow : (y+1)*sh*ow] // the sh output rows of input row y
			if j.backward && sh == 2 && sw == 2 {
				// The common 2×2 case, in the general loop's order of
				// additions: row 0's pair, then row 1's.
				g0, g1 := rows[:ow], rows[ow:2*ow]
				for x := range src {
					src[x] = 0 + g0[2*x] + g0[2*x+1] + g1[2*x] + g1[2*x+1]
				}
				continue
			}
			if j.backward {
				for x := range src {
					var sum float32
					for r := 0; r < sh; r++ {
						for _, v := range rows[r*ow+x*sw : r*ow+(x+1)*sw] {
							sum += v
						}
					}
					src[x] = sum
				}
				continue
			}
			first := rows[:ow]
			if sw == 2 {
				for x, v := range src {
					first[2*x], first[2*x+1] = v, v
				}
			} else {
				for x, v := range src {
					for k := x * sw; k < (x+1)*sw; k++ {
						first[k] = v
					}
				}
			}
			for r := 1; r < sh; r++ {
				copy(rows[r*ow:(r+1)*ow], first)
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
