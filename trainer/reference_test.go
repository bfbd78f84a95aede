package trainer

import (
	"math"
	"math/rand/v2"
	"testing"
)

// This file holds float64 reference implementations of the layers and
// losses, written as plainly as the maths, and the finite-difference checker
// the layer tests share. The float32 code under test is compared with the
// references' values, and its backward passes with central differences of
// the references.

// activate64 is the reference activation.
func activate64(s LayerSpec, x float64) float64 {
	switch s.Type {
	case "identity":
		return x
	case "relu":
		return math.Max(x, 0)
	case "leaky_relu":
		if x > 0 {
			return x
		}
		return s.Alpha * x
	case "elu":
		if x > 0 {
			return x
		}
		return s.Alpha * (math.Exp(x) - 1)
	case "sigmoid":
		return 1 / (1 + math.Exp(-x))
	case "tanh":
		return math.Tanh(x)
	case "softplus":
		return math.Log(1 + math.Exp(x))
	case "gelu":
		if s.Approximate == "tanh" {
			return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
		}
		return x * 0.5 * (1 + math.Erf(x/math.Sqrt2))
	case "silu":
		return x / (1 + math.Exp(-x))
	}
	panic("no reference for " + s.Type)
}

// layer64 applies one layer spec to x (batch rows of n features) with the
// weight w and bias b (for dense layers; w is (Out, In), or (In, Out) when
// tied), returning the output rows.
func layer64(s LayerSpec, x []float64, batch int, w, b []float64) []float64 {
	if s.Type != "dense" {
		y := make([]float64, len(x))
		for i, v := range x {
			y[i] = activate64(s, v)
		}
		return y
	}
	y := make([]float64, batch*s.Out)
	for r := 0; r < batch; r++ {
		for j := 0; j < s.Out; j++ {
			sum := b[j]
			for k := 0; k < s.In; k++ {
				if s.TiedTo != "" {
					sum += x[r*s.In+k] * w[k*s.Out+j]
				} else {
					sum += x[r*s.In+k] * w[j*s.In+k]
				}
			}
			y[r*s.Out+j] = sum
		}
	}
	return y
}

// loss64 is the reference mean loss.
func loss64(l Loss, out, target []float64) float64 {
	var sum float64
	for i, o := range out {
		t := target[i]
		if l == BCE {
			sum -= t*math.Max(math.Log(o), -100) + (1-t)*math.Max(math.Log(1-o), -100)
		} else {
			sum += (o - t) * (o - t)
		}
	}
	return sum / float64(len(out))
}

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, f := range v {
		out[i] = float64(f)
	}
	return out
}

func randTensor(rng *rand.Rand, lo, hi float64, shape ...int) *Tensor {
	t := NewTensor(shape...)
	for i := range t.Data {
		t.Data[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return t
}

// awayFromZero moves values within 0.05 of 0 out of that band, so that
// finite differences do not straddle the kinks of ReLU-like functions.
func awayFromZero(t *Tensor) {
	for i, v := range t.Data {
		if v > -0.05 && v < 0.05 {
			if v < 0 {
				t.Data[i] -= 0.05
			} else {
				t.Data[i] += 0.05
			}
		}
	}
}

// numericGrad returns the central difference of f at each element of x,
// with step h, in float64.
func numericGrad(f func() float64, x []float64, h float64) []float64 {
	g := make([]float64, len(x))
	for i := range x {
		orig := x[i]
		x[i] = orig + h
		fp := f()
		x[i] = orig - h
		fm := f()
		x[i] = orig
		g[i] = (fp - fm) / (2 * h)
	}
	return g
}

// assertClose fails the test at the first element where got and want differ
// by more than atol + rtol·|want|, and logs the largest difference.
func assertClose(t *testing.T, what string, got []float32, want []float64, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	maxDiff := 0.0
	for i := range got {
		d := math.Abs(float64(got[i]) - want[i])
		maxDiff = math.Max(maxDiff, d)
		if !(d <= atol+rtol*math.Abs(want[i])) {
			t.Errorf("%s: element %d: got %v, want %v (|Δ| %.3g)", what, i, got[i], want[i], d)
			return
		}
	}
	t.Logf("%s: max |Δ| = %.3g", what, maxDiff)
}

// perturbedMLP builds mlp, initialises it with seed and adds to every
// parameter (biases too, so that none is zero) a uniform draw of rng from
// [−spread/2, spread/2).
func perturbedMLP(t *testing.T, mlp MLP, seed uint64, rng *rand.Rand, spread float64) (*Model, Config) {
	t.Helper()
	c, err := mlp.Config()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(seed)
	for _, p := range m.Params() {
		for i := range p.Value.Data {
			p.Value.Data[i] += float32(spread * (rng.Float64() - 0.5))
		}
	}
	return m, c
}
