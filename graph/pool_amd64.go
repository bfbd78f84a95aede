//go:build !noasm

package graph

import "math"

// pool2x2SSE pools 2×2 windows four at a time, as pool2x2Go does (the
// first largest wins, −0 ties +0), out[i] from r0[2i:2i+2] and
// r1[2i:2i+2] with index at + 2i (+1, +w): the first len(out) &^ 3
// windows, stopping before four that hold a NaN or an infinity (left to
// pool2x2Go). It returns how many windows it pooled.
//
//go:noescape
func pool2x2SSE(out []float32, idx []int64, r0, r1 []float32, at, w int) int

// Pool2x2 max-pools len(out) 2×2 windows side by side, the first with its
// top left corner at in[at], rows w apart: out[i] is the largest of
// in[at+2i], in[at+2i+1], in[at+w+2i] and in[at+w+2i+1] (the first of
// them on ties, −0 tying +0, NaN above all), idx[i] its index in in. The
// same values and indices in every build. It panics if idx is shorter than
// out or in does not hold the windows.
func Pool2x2(out []float32, idx []int64, in []float32, at, w int) {
	// The kernel counts indices in 32 bits.
	if len(out) < 4 || at+w+2*len(out) > math.MaxInt32 {
		pool2x2Go(out, idx, in, at, w)
		return
	}
	n := len(out) &^ 3
	pool2x2Blocks(out[:n], idx[:n], in, at, w)
	if n < len(out) {
		// The last few windows: the last four again, overlapping some
		// already pooled (which come out the same).
		k := len(out) - 4
		pool2x2Blocks(out[k:], idx[k:], in, at+2*k, w)
	}
}

// pool2x2Blocks pools len(out), a multiple of 4, windows with the kernel,
// and fours that hold a NaN or an infinity with pool2x2Go.
func pool2x2Blocks(out []float32, idx []int64, in []float32, at, w int) {
	for len(out) > 0 {
		done := pool2x2SSE(out, idx, in[at:at+2*len(out)], in[at+w:at+w+2*len(out)], at, w)
		out, idx, at = out[done:], idx[done:], at+2*done
		if len(out) > 0 {
			pool2x2Go(out[:4], idx[:4], in, at, w)
			out, idx, at = out[4:], idx[4:], at+8
		}
	}
}
