//go:build !noasm

package graph

import "math"

// bceSSE computes, for the len(z) &^ 3 (at most 256) elements of z with
// targets t, the gradient of BCE from logits, grad = (σ(z) − t)·scale, the
// same bits as the Go expression, and into acc four float32 sums of
// max(z, 0) − z·t (acc[0:4]) and four products of 1 + e^−|z| (acc[4:8]),
// element i into lane i mod 4. c is sigmoidConsts with scale, four times,
// at index 15.
//
//go:noescape
func bceSSE(grad, z, t []float32, c *[16][4]uint32, acc *[8]float32)

// BCELogitsBlocks computes binary cross-entropy from logits z with targets
// t, for as many leading elements as the kernel takes — all but the last
// len(z) & 3 on amd64, none elsewhere: the gradient grad[i] = (σ(z[i]) −
// t[i])·scale, with the bits of the Go expression, and the summed loss
// max(z, 0) − z·t + log(1 + e^−|z|), in float32 over blocks of 256, then
// in float64 (about 1e-7 of a block's sum off a float64 sum). It returns
// the sum and how many elements it took; the caller does the rest. It
// panics if grad or t is shorter than z.
func BCELogitsBlocks(grad, z, t []float32, scale float32) (sum float64, done int) {
	var c [16][4]uint32
	copy(c[:15], sigmoidConsts[:])
	s := math.Float32bits(scale)
	c[15] = [4]uint32{s, s, s, s}
	var acc [8]float32
	for len(z)-done >= 4 {
		n := min(256, (len(z)-done)&^3)
		bceSSE(grad[done:done+n], z[done:done+n], t[done:done+n], &c, &acc)
		sum += float64(acc[0]) + float64(acc[1]) + float64(acc[2]) + float64(acc[3])
		sum += math.Log(float64(acc[4]) * float64(acc[5]) * float64(acc[6]) * float64(acc[7]))
		done += n
	}
	return sum, done
}
