package graph

import (
	"math"
	"testing"
)

// ulps returns how many float32 steps got is from the float64 value want
// rounded to float32.
func ulps(got float32, want float64) int64 {
	w := float32(want)
	if got == w {
		return 0
	}
	d := int64(int32(math.Float32bits(got))) - int64(int32(math.Float32bits(w)))
	if (got < 0) != (w < 0) {
		return math.MaxInt32
	}
	return max(d, -d)
}

// checkULPs sweeps every step-th float32 from lo to hi (both ≥ 0, and
// their negatives too with bothSigns) and fails the test if f is ever more
// than limit ulp from ref rounded to float32.
func checkULPs(t *testing.T, name string, f func(float32) float32, ref func(float64) float64, lo, hi float32, step uint32, bothSigns bool, limit int64) {
	t.Helper()
	var worst int64
	var at float32
	for b := math.Float32bits(lo); b <= math.Float32bits(hi); b += step {
		x := math.Float32frombits(b)
		vs := []float32{x}
		if bothSigns {
			vs = append(vs, -x)
		}
		for _, v := range vs {
			if u := ulps(f(v), ref(float64(v))); u > worst {
				worst, at = u, v
			}
		}
	}
	t.Logf("%s: worst %d ulp at %v", name, worst, at)
	if worst > limit {
		t.Errorf("%s is %d ulp off at %v (more than %d): got %v, want %v", name, worst, at, limit, f(at), float32(ref(float64(at))))
	}
}

// TestExp32 sweeps every 293rd float32 in [−104, 104] (about 7 million
// values: overflow, underflow and subnormal results included) against
// math.Exp.
func TestExp32(t *testing.T) {
	checkULPs(t, "Exp32", Exp32, math.Exp, 0, 104, 293, true, 1)
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {88.8, float32(math.Inf(1))}, {-105, 0}, {float32(math.Inf(1)), float32(math.Inf(1))}, {float32(math.Inf(-1)), 0},
	} {
		if got := Exp32(c.x); got != c.want {
			t.Errorf("Exp32(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if nan := float32(math.NaN()); Exp32(nan) == Exp32(nan) {
		t.Error("Exp32(NaN) is not NaN")
	}
}

// sigmoid64 is the logistic function in float64, without overflow.
func sigmoid64(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func TestSigmoid32(t *testing.T) {
	checkULPs(t, "Sigmoid32", Sigmoid32, sigmoid64, 0, 120, 307, true, 2)
}

// TestLog1p32 sweeps every 181st float32 in [0, 1] (about 6 million
// values, subnormals included) against math.Log1p, and log32 over [1, 2]
// and a spread of magnitudes against math.Log.
func TestLog1p32(t *testing.T) {
	checkULPs(t, "Log1p32", Log1p32, math.Log1p, 0, 1, 181, false, 2)
	checkULPs(t, "log32", log32, math.Log, 1e-30, 1e30, 997, false, 2)
}

// TestTanh32 sweeps every 271st float32 in [−20, 20] against math.Tanh.
func TestTanh32(t *testing.T) {
	checkULPs(t, "Tanh32", Tanh32, math.Tanh, 0, 20, 271, true, 2)
	for _, x := range []float32{0, 30, -30, float32(math.Inf(1)), float32(math.Inf(-1))} {
		if got, want := Tanh32(x), float32(math.Tanh(float64(x))); got != want {
			t.Errorf("Tanh32(%v) = %v, want %v", x, got, want)
		}
	}
	if nan := float32(math.NaN()); Tanh32(nan) == Tanh32(nan) {
		t.Error("Tanh32(NaN) is not NaN")
	}
}
