package graph

import "math"

// pool2x2Go pools len(out) 2×2 windows side by side, the first with its top
// left corner at in[at], rows w apart.
func pool2x2Go(out []float32, idx []int, in []float32, at, w int) {
	idx = idx[:len(out)]
	for i := range out {
		r0, r1 := in[at:at+2], in[at+w:at+w+2]
		k0, k1, k2, k3 := OrderKey(r0[0]), OrderKey(r0[1]), OrderKey(r1[0]), OrderKey(r1[1])
		best := int64(max(k0, k1, k2, k3))
		// The offset of the first position holding the largest, chosen by
		// masks (all ones where a key is the largest): no branches, whose
		// outcome would be a coin toss.
		off := w + 1
		off ^= (off ^ w) & isZero(best-int64(k2))
		off ^= (off ^ 1) & isZero(best-int64(k1))
		off &^= isZero(best - int64(k0))
		win := at + off
		out[i], idx[i] = in[win], win
		at += 2
	}
}

// isZero returns all ones (−1) if d is 0, else 0, for d ≥ 0.
func isZero(d int64) int { return int((d - 1) >> 63) }

// OrderKey maps float32s to int32s in their order, −0 with +0, every NaN
// above +Inf: comparing keys needs no branch on the values (which come in
// no predictable order), where comparing floats does.
func OrderKey(v float32) int32 {
	b := math.Float32bits(v)
	mag := int32(b & 0x7fffffff)
	s := int32(b) >> 31
	k := (mag ^ s) - s // −mag for negative v
	if mag > 0x7f800000 {
		k = math.MaxInt32
	}
	return k
}
