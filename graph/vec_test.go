package graph

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestKernelsMatchGo checks the assembly kernels (where the build has
// them) against their Go definitions bit for bit, over lengths around the
// vector widths and values of mixed sign and size.
func TestKernelsMatchGo(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	vec := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(7)-3)))
		}
		return v
	}
	for _, n := range []int{0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 100, 841, 4099} {
		x, y := vec(n), vec(n)
		var total, size float64 // Σx, Σ|x|: float32 sums err by ε·Σ|x| per step
		for _, v := range x {
			total += float64(v)
			size += math.Abs(float64(v))
		}
		if got := float64(Sum32(x)); !(math.Abs(got-total) <= 6e-8*size*float64(n/8+8)) { // NaN fails
			t.Errorf("Sum32, %d elements: %v, float64 sum %v", n, got, total)
		}
		if got, want := Dot(x, y), dotGo(x, y); math.Float32bits(got) != math.Float32bits(want) {
			t.Errorf("dot, %d elements: %v, Go %v", n, got, want)
		}
		var ref float64
		for i := range x {
			ref += float64(x[i]) * float64(y[i])
		}
		if got := float64(Dot(x, y)); !(math.Abs(got-ref) <= 1e-5*(math.Abs(ref)+1)*math.Sqrt(float64(n)+1)) { // NaN fails
			t.Errorf("dot, %d elements: %v, float64 sum %v", n, got, ref)
		}
		a := float32(r.NormFloat64())
		y1, y2 := append([]float32(nil), y...), append([]float32(nil), y...)
		Axpy(y1, x, a)
		axpyGo(y2, x, a)
		for i := range y1 {
			if math.Float32bits(y1[i]) != math.Float32bits(y2[i]) || y2[i] != y[i]+a*x[i] {
				t.Fatalf("Axpy, %d elements: element %d is %v, Go %v", n, i, y1[i], y2[i])
			}
		}

		w, g, m, v := vec(n), vec(n), vec(n), vec(n)
		for i := range v {
			v[i] = float32(math.Abs(float64(v[i])))
		}
		k := AdamConsts{B1: 0.9, OneMinusB1: 1 - float32(0.9), B2: 0.999, OneMinusB2: 1 - float32(0.999), Step: 1e-3 / 0.1, InvBC2: 1 / float32(math.Sqrt(0.001)), Eps: 1e-8, Decay: 1 - 1e-3*1e-2}
		w1, m1, v1 := append([]float32(nil), w...), append([]float32(nil), m...), append([]float32(nil), v...)
		AdamKernel(w1, g, m1, v1, &k)
		adamGo(w, g, m, v, &k)
		for i := range w {
			if math.Float32bits(w1[i]) != math.Float32bits(w[i]) || math.Float32bits(m1[i]) != math.Float32bits(m[i]) || math.Float32bits(v1[i]) != math.Float32bits(v[i]) {
				t.Fatalf("adam, %d elements: element %d is (%v, %v, %v), Go (%v, %v, %v)", n, i, w1[i], m1[i], v1[i], w[i], m[i], v[i])
			}
		}
	}
}

// TestSigmoidsMatchSigmoid32 checks the vector sigmoid (SSE where the build
// has it) against Sigmoid32 bit for bit, over a sweep of float32s of both
// signs and the special values.
func TestSigmoidsMatchSigmoid32(t *testing.T) {
	var x []float32
	for b := uint32(0); b < math.Float32bits(float32(math.Inf(1))); b += 4099 {
		x = append(x, math.Float32frombits(b), -math.Float32frombits(b))
	}
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	x = append(x, 0, float32(math.Copysign(0, -1)), inf, -inf, nan, -nan, 87, -87, 88.5, -88.5, 103.9, -103.9, 104, -104, 1e-45, -1e-45, 7)
	y := make([]float32, len(x))
	Sigmoids(y, x)
	for i, v := range x {
		want := Sigmoid32(v)
		if want != want {
			if y[i] == y[i] {
				t.Errorf("sigmoid(%v) = %v, want NaN", v, y[i])
			}
			continue
		}
		if math.Float32bits(y[i]) != math.Float32bits(want) {
			t.Errorf("sigmoid(%v) = %v (%#x), Sigmoid32 gives %v (%#x)", v, y[i], math.Float32bits(y[i]), want, math.Float32bits(want))
		}
	}
}

// TestElementwiseKernelsMatchGo checks the ReLU kernels (SSE where the
// build has them) against the Go loops, both ways bit for bit, special
// values included.
func TestElementwiseKernelsMatchGo(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	nan := float32(math.NaN())
	specials := []float32{0, float32(math.Copysign(0, -1)), nan, -nan, float32(math.Inf(1)), float32(math.Inf(-1))}
	for _, n := range []int{1, 3, 4, 5, 255, 256, 257, 1001} {
		x, g := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], g[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
			if r.IntN(8) == 0 {
				x[i] = specials[r.IntN(len(specials))]
			}
		}
		y, want := make([]float32, n), make([]float32, n)
		Relu(y, x)
		reluGo(want, x)
		back, wantBack := make([]float32, n), make([]float32, n)
		ReluBack(back, g, want)
		reluBackGo(wantBack, g, want)
		for i := range x {
			if math.Float32bits(y[i]) != math.Float32bits(want[i]) || math.Float32bits(back[i]) != math.Float32bits(wantBack[i]) {
				t.Fatalf("%d elements, x[%d] = %v: relu %v (Go %v), backward %v (Go %v)", n, i, x[i], y[i], want[i], back[i], wantBack[i])
			}
		}
	}
}
