package backend

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/aebridge/aebridge/runtime"
)

var (
	nan    = float32(math.NaN())
	posInf = float32(math.Inf(1))
	negInf = float32(math.Inf(-1))
)

func vec(v ...float32) runtime.Tensor {
	return runtime.Tensor{Shape: []int64{int64(len(v))}, Data: v}
}

// TestCompareNonFinite pins the cases issue 12 reported, each of which
// passed before: NaN and infinities slipped through because the tolerance
// max(atol, rtol·|w|) is NaN or +Inf there and d > tol is then false.
func TestCompareNonFinite(t *testing.T) {
	tests := []struct {
		name      string
		got, want runtime.Tensor
		tol       Tolerance
		failed    int // elements failing; -1 for an error
		nonFinite int
		worst     int
	}{
		{"all-NaN reference against finite outputs", vec(1, 2, 3), vec(nan, nan, nan), Tolerance{Atol: 1e-5, Rtol: 1e-5}, 3, 3, 0},
		{"NaN from both backends", vec(nan, nan), vec(nan, nan), Tolerance{Atol: 1e-5, Rtol: 1e-5}, 2, 2, 0},
		{"+Inf in both", vec(posInf, 1), vec(posInf, 1), Tolerance{Atol: 1e-5, Rtol: 1e-5}, 1, 1, 0},
		{"finite against a +Inf reference", vec(1, 1), vec(1, posInf), Tolerance{Atol: 1e-5, Rtol: 1e-5}, 1, 1, 1},
		{"+Inf against -Inf", vec(posInf), vec(negInf), Tolerance{Atol: 1e-5, Rtol: 1e-5}, 1, 1, 0},
		{"worst is the NaN, not the first element", vec(1, 5, 1), vec(1, nan, 1), Tolerance{}, 1, 1, 1},
		{"empty tensors", runtime.Tensor{Shape: []int64{0, 64}}, runtime.Tensor{Shape: []int64{0, 64}}, Tolerance{Atol: 1e-5, Rtol: 1e-5}, -1, 0, 0},
		{"data short of its shape", runtime.Tensor{Shape: []int64{2, 3}, Data: make([]float32, 4)}, runtime.Tensor{Shape: []int64{2, 3}, Data: make([]float32, 4)}, Tolerance{}, -1, 0, 0},
		{"NaN atol", vec(1), vec(2), Tolerance{Atol: math.NaN()}, -1, 0, 0},
		{"+Inf rtol against a zero", vec(1), vec(0), Tolerance{Rtol: math.Inf(1)}, -1, 0, 0},

		// --allow-nonfinite: the same NaN or infinity at the same position matches.
		{"allowed: NaN at the same positions", vec(nan, 1, nan), vec(nan, 1, nan), Tolerance{AllowNonFinite: true}, 0, 0, 0},
		{"allowed: NaN at other positions", vec(nan, 1, 1), vec(1, nan, 1), Tolerance{AllowNonFinite: true}, 2, 2, 0},
		{"allowed: ±Inf matching", vec(posInf, negInf), vec(posInf, negInf), Tolerance{AllowNonFinite: true}, 0, 0, 0},
		{"allowed: +Inf against -Inf", vec(1, posInf), vec(1, negInf), Tolerance{AllowNonFinite: true}, 1, 1, 1},
		{"allowed: NaN against +Inf", vec(nan), vec(posInf), Tolerance{AllowNonFinite: true}, 1, 1, 0},
		{"allowed: +Inf against a number", vec(1, posInf), vec(1, 3e38), Tolerance{Atol: 1, Rtol: 1, AllowNonFinite: true}, 1, 1, 1},
		{"allowed: a finite failure beside matching NaN", vec(nan, 2), vec(nan, 1), Tolerance{Atol: 0.5, AllowNonFinite: true}, 1, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.tol.Compare(tt.got, tt.want)
			if tt.failed < 0 {
				if err == nil || s.Pass {
					t.Errorf("got %+v, %v; want an error and no pass", s, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Failed != tt.failed || s.NonFinite != tt.nonFinite || s.Pass != (tt.failed == 0) || s.Worst != tt.worst {
				t.Errorf("got %+v, want %d failed, %d non-finite, worst %d", s, tt.failed, tt.nonFinite, tt.worst)
			}
			if tt.nonFinite > 0 && !math.IsInf(s.MaxAbs, 1) {
				t.Errorf("max abs: got %v, want +Inf", s.MaxAbs)
			}
		})
	}
}

// TestCompareStrictByDefault checks that Compare, the form other commands
// call, lets no NaN or infinity through.
func TestCompareStrictByDefault(t *testing.T) {
	for _, v := range []float32{nan, posInf, negInf} {
		if s, err := Compare(vec(1, v), vec(1, v), 1, 1); err != nil || s.Pass || s.Failed != 1 {
			t.Errorf("%v against itself: got %+v, %v; want one failure", v, s, err)
		}
	}
}

// naiveFails is the rule written out for one element, the reference that
// TestCompareRandom holds Compare to.
func naiveFails(g, w float32, tol Tolerance) (fails, nonFinite bool) {
	gNaN, wNaN := g != g, w != w
	gInf, wInf := math.IsInf(float64(g), 0), math.IsInf(float64(w), 0)
	if gNaN || wNaN || gInf || wInf {
		switch {
		case !tol.AllowNonFinite:
			return true, true
		case gNaN && wNaN:
			return false, false
		case gInf && wInf && (g > 0) == (w > 0):
			return false, false
		}
		return true, true
	}
	d := math.Abs(float64(g) - float64(w))
	return d > tol.Atol && d > tol.Rtol*math.Abs(float64(w)), false
}

// TestCompareRandom draws shapes, tolerances and values with NaN and
// infinities sprinkled in, from a fixed seed, and checks Compare against
// naiveFails element by element.
func TestCompareRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 2026))
	pick := func(vs ...float32) float32 { return vs[rng.IntN(len(vs))] }
	tolerance := func() float64 {
		switch rng.IntN(3) {
		case 0:
			return 0
		case 1:
			return 1e-5
		}
		return math.Pow(10, -8+8*rng.Float64())
	}
	seen := map[string]int{}
	for c := 0; c < 3000; c++ {
		rank := rng.IntN(4)
		shape := make([]int64, rank)
		n := 1
		for i := range shape {
			shape[i] = int64(1 + rng.IntN(4))
			if rng.IntN(20) == 0 {
				shape[i] = 0
			}
			n *= int(shape[i])
		}
		wantShape := append([]int64(nil), shape...)
		if rank > 0 && rng.IntN(15) == 0 {
			wantShape[rng.IntN(rank)]++
		}
		tol := Tolerance{Atol: tolerance(), Rtol: tolerance(), AllowNonFinite: rng.IntN(2) == 0}
		scale := math.Pow(10, -3+6*rng.Float64())
		pNonFinite := []float64{0, 0.02, 0.3}[rng.IntN(3)]
		wantN := 1
		for _, d := range wantShape {
			wantN *= int(d)
		}
		want := make([]float32, wantN)
		got := make([]float32, n)
		for i := range want {
			want[i] = float32(rng.NormFloat64() * scale)
		}
		for i := range got {
			w := float32(0)
			if i < len(want) {
				w = want[i]
			}
			// Errors around the tolerance, so that both verdicts occur.
			got[i] = w + float32(rng.NormFloat64()*math.Max(tol.Atol, tol.Rtol*math.Abs(float64(w)))*2)
			if rng.IntN(4) == 0 {
				got[i] = w
			}
			if rng.Float64() < pNonFinite {
				v := pick(nan, posInf, negInf)
				got[i] = v
				if i < len(want) && rng.IntN(2) == 0 {
					want[i] = v // the same value at the same position
				}
			} else if i < len(want) && rng.Float64() < pNonFinite {
				want[i] = pick(nan, posInf, negInf)
			}
		}
		s, err := tol.Compare(runtime.Tensor{Shape: shape, Data: got}, runtime.Tensor{Shape: wantShape, Data: want})
		if wantErr := n == 0 || n != wantN || !equalShapes(shape, wantShape); wantErr {
			seen["error"]++
			if err == nil || s.Pass {
				t.Fatalf("case %d: shapes %v and %v: got %+v, %v; want an error", c, shape, wantShape, s, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("case %d: %v", c, err)
		}
		var failed, nonFinite int
		maxAbs := 0.0
		for i := range got {
			f, nf := naiveFails(got[i], want[i], tol)
			d := math.Abs(float64(got[i]) - float64(want[i]))
			switch {
			case nf:
				d = math.Inf(1)
				seen["non-finite failure"]++
			case f:
				seen["finite failure"]++
			case got[i] != got[i] || math.IsInf(float64(got[i]), 0):
				d = 0
				seen["allowed non-finite match"]++
			default:
				seen["finite pass"]++
			}
			if f {
				failed++
			}
			if nf {
				nonFinite++
			}
			maxAbs = math.Max(maxAbs, d)
		}
		if s.Failed != failed || s.NonFinite != nonFinite || s.Pass != (failed == 0) || s.Elements != n || s.MaxAbs != maxAbs {
			t.Fatalf("case %d: %v against %v, %+v:\ngot %+v\nwant %d failed, %d non-finite, max abs %v", c, got, want, tol, s, failed, nonFinite, maxAbs)
		}
		if f, _ := naiveFails(got[s.Worst], want[s.Worst], tol); failed > 0 && !f {
			t.Fatalf("case %d: worst element %d (%v vs %v) passes, but %d elements fail", c, s.Worst, got[s.Worst], want[s.Worst], failed)
		}
		if math.Float32bits(s.Got) != math.Float32bits(got[s.Worst]) || math.Float32bits(s.Want) != math.Float32bits(want[s.Worst]) {
			t.Fatalf("case %d: got %v vs %v at the worst element %d, want %v vs %v", c, s.Got, s.Want, s.Worst, got[s.Worst], want[s.Worst])
		}
	}
	// The generator must reach every kind of element, or the test proves little.
	for _, k := range []string{"error", "non-finite failure", "finite failure", "allowed non-finite match", "finite pass"} {
		if seen[k] < 50 {
			t.Errorf("%s: got %d cases, want at least 50 (all: %v)", k, seen[k], seen)
		}
	}
}

func equalShapes(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
