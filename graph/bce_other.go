//go:build !amd64 || noasm

package graph

// BCELogitsBlocks computes binary cross-entropy from logits z with targets
// t, for as many leading elements as the kernel takes — all but the last
// len(z) & 3 on amd64, none elsewhere: the gradient grad[i] = (σ(z[i]) −
// t[i])·scale, with the bits of the Go expression, and the summed loss
// max(z, 0) − z·t + log(1 + e^−|z|), in float32 over blocks of 256, then
// in float64 (about 1e-7 of a block's sum off a float64 sum). It returns
// the sum and how many elements it took; the caller does the rest. It
// panics if grad or t is shorter than z.
func BCELogitsBlocks(grad, z, t []float32, scale float32) (sum float64, done int) { return 0, 0 }
