package trainer

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestLossGradientsAgainstFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	target := randTensor(rng, 0, 1, 4, 5)
	t64 := to64(target.Data)
	tests := []struct {
		name string
		fn   func(grad, out, target, weight *Tensor) float64
		ref  func(o []float64) float64 // the mean loss
		lo   float64
		hi   float64
	}{
		{"mse", MSELoss, func(o []float64) float64 { return loss64(MSE, o, t64) }, -2, 2},
		{"bce", BCELoss, func(o []float64) float64 { return loss64(BCE, o, t64) }, 0.05, 0.95},
		{"bce with logits", BCEWithLogitsLoss, func(z []float64) float64 {
			p := make([]float64, len(z))
			for i, v := range z {
				p[i] = 1 / (1 + math.Exp(-v))
			}
			return loss64(BCE, p, t64)
		}, -5, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := randTensor(rng, tt.lo, tt.hi, 4, 5)
			o64 := to64(out.Data)
			grad := &Tensor{}
			sum := tt.fn(grad, out, target, nil)
			n := float64(out.Len())
			if want := tt.ref(o64); !(math.Abs(sum/n-want) <= 1e-6*(1+want)) {
				t.Errorf("mean loss: got %v, want %v", sum/n, want)
			}
			assertClose(t, "gradient of the mean", grad.Data, numericGrad(func() float64 { return tt.ref(o64) }, o64, 1e-6), 1e-7, 1e-4)
		})
	}
}

func TestBCEStaysFiniteWhenSaturated(t *testing.T) {
	target := &Tensor{Shape: []int{1, 4}, Data: []float32{1, 0, 1, 0}}
	// Probabilities of exactly 0 and 1: PyTorch's clamp gives 100 per wrong element.
	p := &Tensor{Shape: []int{1, 4}, Data: []float32{0, 1, 1, 0}}
	grad := &Tensor{}
	if got := BCELoss(grad, p, target, nil); got != 200 {
		t.Errorf("BCE of saturated probabilities: got %v, want 200", got)
	}
	// Logits far out: the loss is |z| for the wrong sign, 0 for the right one.
	z := &Tensor{Shape: []int{1, 4}, Data: []float32{-1e4, 1e4, 1e4, -1e4}}
	if got := BCEWithLogitsLoss(grad, z, target, nil); got != 2e4 {
		t.Errorf("BCE of saturated logits: got %v, want 20000", got)
	}
	want := []float64{-0.25, 0.25, 0, 0}
	assertClose(t, "gradient", grad.Data, want, 1e-7, 0)
}

func TestL2PenaltyGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	w := newParam("w", true, 3, 4)
	b := newParam("b", false, 4)
	copy(w.Value.Data, randTensor(rng, -1, 1, 3, 4).Data)
	copy(b.Value.Data, randTensor(rng, -1, 1, 4).Data)
	const lambda = 0.3
	got := L2Penalty([]*Param{w, b}, lambda)
	w64 := to64(w.Value.Data)
	ref := func() float64 {
		var s float64
		for _, v := range w64 {
			s += v * v
		}
		return lambda * s
	}
	if want := ref(); !(math.Abs(got-want) <= 1e-9) {
		t.Errorf("penalty: got %v, want %v (biases are not decayed)", got, want)
	}
	assertClose(t, "gradient", w.Grad.Data, numericGrad(ref, w64, 1e-6), 1e-7, 1e-5)
	for i, g := range b.Grad.Data {
		if g != 0 {
			t.Errorf("bias gradient %d: got %v, want 0", i, g)
		}
	}
}
