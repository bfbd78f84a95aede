package trainer

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

// TestExp32 sweeps every 97th float32 in [−104, 89] (about 22 million
// values, both signs, subnormal results included) against math.Exp.
func TestExp32(t *testing.T) {
	var worst int64
	var at float32
	check := func(x float32) {
		if u := ulps(exp32(x), math.Exp(float64(x))); u > worst {
			worst, at = u, x
		}
	}
	for b := uint32(0); b < math.Float32bits(89); b += 97 {
		x := math.Float32frombits(b)
		check(x)
		if x <= 104 {
			check(-x)
		}
	}
	t.Logf("exp32: worst %d ulp at %v", worst, at)
	if worst > 1 {
		t.Errorf("exp32 is %d ulp off (more than 1) at %v: got %v, want %v", worst, at, exp32(at), float32(math.Exp(float64(at))))
	}
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {88.8, float32(math.Inf(1))}, {-105, 0}, {float32(math.Inf(1)), float32(math.Inf(1))}, {float32(math.Inf(-1)), 0},
	} {
		if got := exp32(c.x); got != c.want {
			t.Errorf("exp32(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if nan := float32(math.NaN()); exp32(nan) == exp32(nan) {
		t.Error("exp32(NaN) is not NaN")
	}
}

func TestSigmoid32(t *testing.T) {
	var worst int64
	for b := uint32(0); b < math.Float32bits(120); b += 101 {
		for _, x := range []float32{math.Float32frombits(b), -math.Float32frombits(b)} {
			u := ulps(sigmoid32(x), sigmoid(float64(x)))
			worst = max(worst, u)
		}
	}
	t.Logf("sigmoid32: worst %d ulp", worst)
	if worst > 2 {
		t.Errorf("sigmoid32 is up to %d ulp off", worst)
	}
}

// TestLog1p32 sweeps every 61st float32 in [0, 1] (about 17 million
// values, subnormals included) against math.Log1p, and log32 over [1, 2]
// and a spread of magnitudes against math.Log.
func TestLog1p32(t *testing.T) {
	var worst int64
	var at float32
	for b := uint32(0); b <= math.Float32bits(1); b += 61 {
		x := math.Float32frombits(b)
		if u := ulps(log1p32(x), math.Log1p(float64(x))); u > worst {
			worst, at = u, x
		}
	}
	t.Logf("log1p32: worst %d ulp at %v", worst, at)
	if worst > 2 {
		t.Errorf("log1p32 is %d ulp off at %v: got %v, want %v", worst, at, log1p32(at), float32(math.Log1p(float64(at))))
	}
	worst = 0
	for b := math.Float32bits(1e-30); b <= math.Float32bits(1e30); b += 997 {
		x := math.Float32frombits(b)
		if u := ulps(log32(x), math.Log(float64(x))); u > worst {
			worst, at = u, x
		}
	}
	t.Logf("log32: worst %d ulp at %v", worst, at)
	if worst > 2 {
		t.Errorf("log32 is %d ulp off at %v: got %v, want %v", worst, at, log32(at), float32(math.Log(float64(at))))
	}
}

// TestTanh32 sweeps every 89th float32 in [−20, 20] against math.Tanh.
func TestTanh32(t *testing.T) {
	var worst int64
	var at float32
	for b := uint32(0); b < math.Float32bits(20); b += 89 {
		for _, x := range []float32{math.Float32frombits(b), -math.Float32frombits(b)} {
			if u := ulps(tanh32(x), math.Tanh(float64(x))); u > worst {
				worst, at = u, x
			}
		}
	}
	t.Logf("tanh32: worst %d ulp at %v", worst, at)
	if worst > 2 {
		t.Errorf("tanh32 is %d ulp off at %v: got %v, want %v", worst, at, tanh32(at), float32(math.Tanh(float64(at))))
	}
	for _, x := range []float32{0, 30, -30, float32(math.Inf(1)), float32(math.Inf(-1))} {
		if got, want := tanh32(x), float32(math.Tanh(float64(x))); got != want {
			t.Errorf("tanh32(%v) = %v, want %v", x, got, want)
		}
	}
	if nan := float32(math.NaN()); tanh32(nan) == tanh32(nan) {
		t.Error("tanh32(NaN) is not NaN")
	}
}
