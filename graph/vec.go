package graph

// axpyGo adds a·x to y, element by element (len(x) ≥ len(y)).
func axpyGo(y, x []float32, a float32) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] += a * v
	}
}

// dotGo returns Σ x[i]·y[i] over len(x) elements in the order of dotSSE:
// eight running sums (element i into sum i mod 8) for the first len &^ 7
// elements, folded as ((s₀+s₄) + (s₂+s₆)) + ((s₁+s₅) + (s₃+s₇)), then the
// rest one by one. The result does not depend on the build.
func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	n := len(x) &^ 7
	var s [8]float32
	for i := 0; i < n; i += 8 {
		for k := range s {
			s[k] += x[i+k] * y[i+k]
		}
	}
	v0, v1, v2, v3 := s[0]+s[4], s[1]+s[5], s[2]+s[6], s[3]+s[7]
	r := (v0 + v2) + (v1 + v3)
	for i := n; i < len(x); i++ {
		r += x[i] * y[i]
	}
	return r
}

// Sum32 returns Σ x[i] with eight running sums (element i into sum i mod
// 8), folded as dotGo folds them, then the rest one by one: no chain of
// dependent additions, and a smaller rounding error than one running sum.
func Sum32(x []float32) float32 {
	n := len(x) &^ 7
	var s [8]float32
	for i := 0; i < n; i += 8 {
		v := x[i : i+8 : i+8]
		s[0] += v[0]
		s[1] += v[1]
		s[2] += v[2]
		s[3] += v[3]
		s[4] += v[4]
		s[5] += v[5]
		s[6] += v[6]
		s[7] += v[7]
	}
	v0, v1, v2, v3 := s[0]+s[4], s[1]+s[5], s[2]+s[6], s[3]+s[7]
	r := (v0 + v2) + (v1 + v3)
	for _, v := range x[n:] {
		r += v
	}
	return r
}
