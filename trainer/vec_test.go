package trainer

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
		if got := float64(sum32(x)); math.Abs(got-total) > 6e-8*size*float64(n/8+8) {
			t.Errorf("sum32, %d elements: %v, float64 sum %v", n, got, total)
		}
		if got, want := dot(x, y), dotGo(x, y); math.Float32bits(got) != math.Float32bits(want) {
			t.Errorf("dot, %d elements: %v, Go %v", n, got, want)
		}
		var ref float64
		for i := range x {
			ref += float64(x[i]) * float64(y[i])
		}
		if got := float64(dot(x, y)); math.Abs(got-ref) > 1e-5*(math.Abs(ref)+1)*math.Sqrt(float64(n)+1) {
			t.Errorf("dot, %d elements: %v, float64 sum %v", n, got, ref)
		}
		a := float32(r.NormFloat64())
		y1, y2 := append([]float32(nil), y...), append([]float32(nil), y...)
		axpy(y1, x, a)
		axpyGo(y2, x, a)
		for i := range y1 {
			if math.Float32bits(y1[i]) != math.Float32bits(y2[i]) || y2[i] != y[i]+a*x[i] {
				t.Fatalf("axpy, %d elements: element %d is %v, Go %v", n, i, y1[i], y2[i])
			}
		}

		w, g, m, v := vec(n), vec(n), vec(n), vec(n)
		for i := range v {
			v[i] = float32(math.Abs(float64(v[i])))
		}
		k := adamConsts{b1: 0.9, omb1: 1 - float32(0.9), b2: 0.999, omb2: 1 - float32(0.999), step: 1e-3 / 0.1, invBC2: 1 / float32(math.Sqrt(0.001)), eps: 1e-8, decay: 1 - 1e-3*1e-2}
		w1, m1, v1 := append([]float32(nil), w...), append([]float32(nil), m...), append([]float32(nil), v...)
		adamKernel(w1, g, m1, v1, &k)
		adamGo(w, g, m, v, &k)
		for i := range w {
			if math.Float32bits(w1[i]) != math.Float32bits(w[i]) || math.Float32bits(m1[i]) != math.Float32bits(m[i]) || math.Float32bits(v1[i]) != math.Float32bits(v[i]) {
				t.Fatalf("adam, %d elements: element %d is (%v, %v, %v), Go (%v, %v, %v)", n, i, w1[i], m1[i], v1[i], w[i], m[i], v[i])
			}
		}
	}
}

// TestSigmoidsMatchSigmoid32 checks the vector sigmoid (SSE where the build
// has it) against sigmoid32 bit for bit, over a sweep of float32s of both
// signs and the special values.
func TestSigmoidsMatchSigmoid32(t *testing.T) {
	var x []float32
	for b := uint32(0); b < math.Float32bits(float32(math.Inf(1))); b += 4099 {
		x = append(x, math.Float32frombits(b), -math.Float32frombits(b))
	}
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	x = append(x, 0, float32(math.Copysign(0, -1)), inf, -inf, nan, -nan, 87, -87, 88.5, -88.5, 103.9, -103.9, 104, -104, 1e-45, -1e-45, 7)
	y := make([]float32, len(x))
	sigmoids(y, x)
	for i, v := range x {
		want := sigmoid32(v)
		if want != want {
			if y[i] == y[i] {
				t.Errorf("sigmoid(%v) = %v, want NaN", v, y[i])
			}
			continue
		}
		if math.Float32bits(y[i]) != math.Float32bits(want) {
			t.Errorf("sigmoid(%v) = %v (%#x), sigmoid32 gives %v (%#x)", v, y[i], math.Float32bits(y[i]), want, math.Float32bits(want))
		}
	}
}

// TestPool2x2MatchesGo checks the 2×2 pooling kernel (SSE where the build
// has it) against pool2x2Go: values bit for bit and indices, over rows of
// random values with ties (±0, repeats) and the odd NaN and infinity.
func TestPool2x2MatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	specials := []float32{0, float32(math.Copysign(0, -1)), 1, 1, -1, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	for _, windows := range []int{1, 3, 4, 5, 8, 13, 16, 33} {
		for rep := 0; rep < 50; rep++ {
			w := 2*windows + r.IntN(3)
			in := make([]float32, 2*w+2)
			for i := range in {
				switch k := r.IntN(40); {
				case k < len(specials):
					in[i] = specials[k]
				default:
					in[i] = float32(r.NormFloat64())
				}
			}
			at := r.IntN(w - 2*windows + 1)
			out, idx := make([]float32, windows), make([]int, windows)
			wantOut, wantIdx := make([]float32, windows), make([]int, windows)
			pool2x2(out, idx, in, at, w)
			pool2x2Go(wantOut, wantIdx, in, at, w)
			for i := range out {
				same := math.Float32bits(out[i]) == math.Float32bits(wantOut[i]) || (out[i] != out[i] && wantOut[i] != wantOut[i])
				if !same || idx[i] != wantIdx[i] {
					t.Fatalf("%d windows, row %v from %d (w %d): window %d gives %v at %d, Go %v at %d", windows, in, at, w, i, out[i], idx[i], wantOut[i], wantIdx[i])
				}
			}
		}
	}
}

// TestBCEKernelMatchesGo checks BCE from logits with the SSE kernel (where
// the build has it) against the Go loop: the gradient bit for bit, the
// loss to 1e-6 of its size, NaN logits giving a NaN loss.
func TestBCEKernelMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{1, 3, 4, 7, 256, 257, 1000, 5003} {
		z, target := NewTensor(n), NewTensor(n)
		for i := range z.Data {
			z.Data[i] = float32(r.NormFloat64() * 8)
			target.Data[i] = float32(r.Float64())
		}
		z.Data[n/2] = float32([]float64{0, math.Copysign(0, -1), 120, -120}[n%4])
		var g Tensor
		got := BCEWithLogitsLoss(&g, z, target, nil)
		wantGrad, scale := make([]float32, n), float32(1/float64(n))
		var want float64
		prod := 1.0
		for i, x := range z.Data { // the Go loop's arithmetic, element by element
			e := exp32(math.Float32frombits(math.Float32bits(x) | 1<<31))
			want += float64(max(x, 0) - x*target.Data[i])
			prod *= 1 + float64(e)
			if i%500 == 499 {
				want += math.Log(prod)
				prod = 1
			}
			neg := signMask(x)
			s := math.Float32frombits(0x3f800000&^neg|math.Float32bits(e)&neg) / (1 + e)
			wantGrad[i] = (s - target.Data[i]) * scale
		}
		want += math.Log(prod)
		if math.Abs(got-want) > 1e-6*math.Abs(want) {
			t.Errorf("%d elements: loss %v, want %v", n, got, want)
		}
		for i := range g.Data {
			if math.Float32bits(g.Data[i]) != math.Float32bits(wantGrad[i]) {
				t.Fatalf("%d elements: gradient %d is %v, want %v", n, i, g.Data[i], wantGrad[i])
			}
		}
		z.Data[n-1] = float32(math.NaN())
		if l := BCEWithLogitsLoss(&g, z, target, nil); !math.IsNaN(l) {
			t.Errorf("%d elements with a NaN logit: loss %v", n, l)
		}
	}
}

// TestElementwiseKernelsMatchGo checks the ReLU kernels and MSE's (SSE
// where the build has them) against the Go loops: ReLU both ways bit for
// bit, special values included; MSE's gradient bit for bit and its loss to
// 1e-6.
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
		relu(y, x)
		reluGo(want, x)
		back, wantBack := make([]float32, n), make([]float32, n)
		reluBack(back, g, want)
		reluBackGo(wantBack, g, want)
		for i := range x {
			if math.Float32bits(y[i]) != math.Float32bits(want[i]) || math.Float32bits(back[i]) != math.Float32bits(wantBack[i]) {
				t.Fatalf("%d elements, x[%d] = %v: relu %v (Go %v), backward %v (Go %v)", n, i, x[i], y[i], want[i], back[i], wantBack[i])
			}
		}

		out, target := NewTensor(n), NewTensor(n)
		for i := range out.Data {
			out.Data[i], target.Data[i] = float32(r.Float64()), float32(r.Float64())
		}
		var grad Tensor
		got := MSELoss(&grad, out, target, nil)
		var sum float64
		scale := float32(2 / float64(n))
		for i := range out.Data {
			d := out.Data[i] - target.Data[i]
			sum += float64(d) * float64(d)
			if w := scale * d; math.Float32bits(grad.Data[i]) != math.Float32bits(w) {
				t.Fatalf("%d elements: MSE gradient %d is %v, want %v", n, i, grad.Data[i], w)
			}
		}
		if math.Abs(got-sum) > 1e-6*sum {
			t.Errorf("%d elements: MSE %v, want %v", n, got, sum)
		}
	}
}
