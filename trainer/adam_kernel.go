package trainer

import "math"

// adamConsts are the per-step constants of the Adam update, in float32 as
// the update computes them.
type adamConsts struct {
	b1, omb1 float32 // β₁, 1 − β₁
	b2, omb2 float32 // β₂, 1 − β₂
	step     float32 // lr / (1 − β₁ᵗ)
	invBC2   float32 // 1 / √(1 − β₂ᵗ)
	eps      float32
	decay    float32 // 1 − lr·λ for AdamW, else 1
}

// adamGo applies the Adam update to the elements of w, m and v with the
// gradient g, one element at a time. adamKernel computes the same, bit for
// bit: every operation is a float32 operation in this order.
func adamGo(w, g, m, v []float32, k *adamConsts) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for i := range w {
		wi := w[i] * k.decay
		gi := g[i]
		mi := k.b1*m[i] + k.omb1*gi
		vi := k.b2*v[i] + k.omb2*gi*gi
		m[i], v[i] = mi, vi
		w[i] = wi - k.step*mi/(float32(math.Sqrt(float64(vi)))*k.invBC2+k.eps)
	}
}
