// Package half converts IEEE 754 binary16 ("half", float16) values.
package half

import "math"

// ToFloat32 converts a binary16 value, given by its bits, to float32 exactly
// (every binary16 value, subnormals, infinities and NaNs included, is a
// float32 value).
func ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0: // zero or subnormal: frac × 2⁻²⁴
		v := float32(frac) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}
