//go:build !amd64 || noasm

package graph

// Pool2x2 max-pools len(out) 2×2 windows side by side, the first with its
// top left corner at in[at], rows w apart: out[i] is the largest of
// in[at+2i], in[at+2i+1], in[at+w+2i] and in[at+w+2i+1] (the first of
// them on ties, −0 tying +0, NaN above all), idx[i] its index in in. The
// same values and indices in every build. It panics if idx is shorter than
// out or in does not hold the windows.
func Pool2x2(out []float32, idx []int64, in []float32, at, w int) { pool2x2Go(out, idx, in, at, w) }
