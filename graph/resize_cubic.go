package graph

import "math"

// cubicAxis is cubic interpolation along one axis: output o reads the
// inputs idx[o] (clamped to the input) with weights w[o].
type cubicAxis struct {
	idx [][4]int
	w   [][4]float32
}

// planCubic makes the cubic tables of the last two axes of x (one output
// reading input 0 with weight 1 for the height of a tensor of one axis):
// the four taps around each coordinate, not clamped to the input (ONNX
// Runtime does not), their weights those of the cubic convolution kernel
// with coefficient CubicA.
func (r *Resize) planCubic(x []int) {
	rank := len(x)
	a := float64(r.CubicA)
	for k := range r.cub {
		ax := rank - 2 + k
		if ax < 0 {
			r.cub[k] = cubicAxis{idx: [][4]int{{0, 0, 0, 0}}, w: [][4]float32{{0, 1, 0, 0}}}
			continue
		}
		n, l := r.Sizes[ax], x[ax]
		ca := cubicAxis{idx: make([][4]int, n), w: make([][4]float32, n)}
		for o := 0; o < n; o++ {
			c := float64(r.coordinate(o, r.Scales[ax], n, l))
			base := math.Floor(c)
			t := c - base
			ws := [4]float64{
				((a*(t+1)-5*a)*(t+1)+8*a)*(t+1) - 4*a,
				((a+2)*t-(a+3))*t*t + 1,
				((a+2)*(1-t)-(a+3))*(1-t)*(1-t) + 1,
				((a*(2-t)-5*a)*(2-t)+8*a)*(2-t) - 4*a,
			}
			var sum float64
			for i := range ws {
				at := int(base) + i - 1
				if r.ExcludeOutside && (at < 0 || at >= l) {
					ws[i] = 0
				}
				sum += ws[i]
				ca.idx[o][i] = max(0, min(at, l-1))
			}
			for i := range ws {
				if r.ExcludeOutside {
					ws[i] /= sum
				}
				ca.w[o][i] = float32(ws[i])
			}
		}
		r.cub[k] = ca
	}
}

// cubicForward interpolates the plane: each output the sum over the 4×4
// inputs around it of their weights' products times their values.
func (r *Resize) cubicForward(out, in []float32, w, oh, ow int) {
	cy, cx := &r.cub[0], &r.cub[1]
	for oy := 0; oy < oh; oy++ {
		row := out[oy*ow : (oy+1)*ow]
		for ox := range row {
			var v float32
			for i, iy := range cy.idx[oy] {
				src := in[iy*w : (iy+1)*w]
				var s float32
				for j, ix := range cx.idx[ox] {
					s += cx.w[ox][j] * src[ix]
				}
				v += cy.w[oy][i] * s
			}
			row[ox] = v
		}
	}
}

// cubicBackward shares each output's gradient among the 4×4 inputs it
// interpolates, by their weights.
func (r *Resize) cubicBackward(in, out []float32, w, oh, ow int) {
	cy, cx := &r.cub[0], &r.cub[1]
	for oy := 0; oy < oh; oy++ {
		for ox, g := range out[oy*ow : (oy+1)*ow] {
			for i, iy := range cy.idx[oy] {
				gy := cy.w[oy][i] * g
				dst := in[iy*w : (iy+1)*w]
				for j, ix := range cx.idx[ox] {
					dst[ix] += cx.w[ox][j] * gy
				}
			}
		}
	}
}
