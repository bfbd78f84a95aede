package trainer

import "math/rand/v2"

// Corrupt writes into dst a corrupted copy of x, for denoising, and marks
// in mask (when not nil) the coordinates it changed with 1, the others 0.
// kind is
//
//	"mask":        each element set to 0 with probability level;
//	"salt-pepper": each element set, with probability level, to 0 or 1
//	               with equal chance;
//	"gaussian":    N(0, level²) added to every element (all marked), then
//	               clipped to [0, 1] if clip.
//
// dst and mask take x's shape; x is not modified. It panics for another kind.
func Corrupt(dst, mask, x *Tensor, kind string, level float64, clip bool, rng *rand.Rand) {
	dst.Resize(x.Shape...)
	if mask != nil {
		mask.Resize(x.Shape...)
	}
	mark := func(i int, v float32) {
		if mask != nil {
			mask.Data[i] = v
		}
	}
	switch kind {
	case "mask":
		for i, v := range x.Data {
			if rng.Float64() < level {
				dst.Data[i] = 0
				mark(i, 1)
			} else {
				dst.Data[i] = v
				mark(i, 0)
			}
		}
	case "salt-pepper":
		for i, v := range x.Data {
			if rng.Float64() < level {
				dst.Data[i] = float32(rng.IntN(2))
				mark(i, 1)
			} else {
				dst.Data[i] = v
				mark(i, 0)
			}
		}
	case "gaussian":
		for i, v := range x.Data {
			c := v + float32(level*rng.NormFloat64())
			if clip {
				c = min(max(c, 0), 1)
			}
			dst.Data[i] = c
			mark(i, 1)
		}
	default:
		panic("trainer: unknown noise " + kind)
	}
}

// lossWeights turns a corruption mask into loss weights: α where the input
// was corrupted, 1 − α elsewhere.
func lossWeights(w, mask *Tensor, alpha float64) {
	w.Resize(mask.Shape...)
	a, b := float32(alpha), float32(1-alpha)
	for i, m := range mask.Data {
		if m != 0 {
			w.Data[i] = a
		} else {
			w.Data[i] = b
		}
	}
}
