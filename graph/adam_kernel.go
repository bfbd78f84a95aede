package graph

import "math"

// AdamConsts are the per-step constants of the Adam update, in float32 as
// the update computes them. adam_amd64.s reads them by offset: the fields
// keep this order.
type AdamConsts struct {
	B1, OneMinusB1 float32 // β₁, 1 − β₁
	B2, OneMinusB2 float32 // β₂, 1 − β₂
	Step           float32 // lr / (1 − β₁ᵗ)
	InvBC2         float32 // 1 / √(1 − β₂ᵗ)
	Eps            float32
	Decay          float32 // 1 − lr·λ for AdamW, else 1
}

// adamGo applies the Adam update to the elements of w, m and v with the
// gradient g, one element at a time. AdamKernel computes the same, bit for
// bit: every operation is a float32 operation in this order.
func adamGo(w, g, m, v []float32, k *AdamConsts) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for i := range w {
		wi := w[i] * k.Decay
		gi := g[i]
		mi := k.B1*m[i] + k.OneMinusB1*gi
		vi := k.B2*v[i] + k.OneMinusB2*gi*gi
		m[i], v[i] = mi, vi
		w[i] = wi - k.Step*mi/(float32(math.Sqrt(float64(vi)))*k.InvBC2+k.Eps)
	}
}
