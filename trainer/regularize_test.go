package trainer

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestWeightedLossGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	target := randTensor(rng, 0, 1, 3, 4)
	weight := randTensor(rng, 0, 1, 3, 4)
	t64, w64 := to64(target.Data), to64(weight.Data)
	ref := func(l Loss, o []float64) float64 {
		var s float64
		for i, v := range o {
			e := loss64(l, []float64{v}, []float64{t64[i]})
			s += w64[i] * e
		}
		return s / float64(len(o))
	}
	for _, l := range []Loss{MSE, BCE} {
		out := randTensor(rng, 0.05, 0.95, 3, 4)
		o64 := to64(out.Data)
		grad := &Tensor{}
		fn := MSELoss
		if l == BCE {
			fn = BCELoss
		}
		sum := fn(grad, out, target, weight)
		if want := ref(l, o64); !(math.Abs(sum/12-want) <= 1e-6) {
			t.Errorf("%s: weighted mean: got %v, want %v", l, sum/12, want)
		}
		assertClose(t, string(l)+" gradient", grad.Data, numericGrad(func() float64 { return ref(l, o64) }, o64, 1e-6), 1e-7, 1e-4)
	}
	// Logits: the same weighting.
	z := randTensor(rng, -3, 3, 3, 4)
	z64 := to64(z.Data)
	grad := &Tensor{}
	BCEWithLogitsLoss(grad, z, target, weight)
	refZ := func() float64 {
		p := make([]float64, len(z64))
		for i, v := range z64 {
			p[i] = 1 / (1 + math.Exp(-v))
		}
		return ref(BCE, p)
	}
	assertClose(t, "logits gradient", grad.Data, numericGrad(refZ, z64, 1e-6), 1e-7, 1e-4)
}

func TestSparsityPenaltyGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	h := randTensor(rng, 0.05, 0.95, 5, 3)
	h64 := to64(h.Data)
	const lambda, rho, beta = 0.3, 0.1, 0.7
	l1 := func() float64 {
		var s float64
		for _, v := range h64 {
			s += math.Abs(v)
		}
		return lambda * s / 5
	}
	kl := func() float64 {
		var s float64
		for j := 0; j < 3; j++ {
			var m float64
			for r := 0; r < 5; r++ {
				m += h64[r*3+j]
			}
			m /= 5
			s += rho*math.Log(rho/m) + (1-rho)*math.Log((1-rho)/(1-m))
		}
		return beta * s
	}
	dh := NewTensor(5, 3)
	if got, want := L1Penalty(dh, h, lambda), l1(); !(math.Abs(got-want) <= 1e-6) {
		t.Errorf("L1: got %v, want %v", got, want)
	}
	assertClose(t, "L1 gradient", dh.Data, numericGrad(l1, h64, 1e-6), 1e-6, 1e-4)
	dh.Zero()
	if got, want := KLSparsityPenalty(dh, h, rho, beta), kl(); !(math.Abs(got-want) <= 1e-6) {
		t.Errorf("KL: got %v, want %v", got, want)
	}
	assertClose(t, "KL gradient", dh.Data, numericGrad(kl, h64, 1e-6), 1e-6, 1e-4)

	// The L1 subgradient at 0 is 0, and the penalty adds to what dh holds.
	zero := &Tensor{Shape: []int{1, 2}, Data: []float32{0, -2}}
	dz := &Tensor{Shape: []int{1, 2}, Data: []float32{5, 5}}
	L1Penalty(dz, zero, 1)
	if dz.Data[0] != 5 || dz.Data[1] != 4 {
		t.Errorf("L1 at 0 and −2: got %v, want [5 4]", dz.Data)
	}
}

func TestSlopesAgainstFiniteDifferences(t *testing.T) {
	for _, kind := range ActivationKinds {
		for _, approx := range []string{"none", "tanh"} {
			if approx == "tanh" && kind != "gelu" {
				continue
			}
			a, _ := NewActivation(kind)
			if kind == "gelu" {
				a.Approximate = approx
			}
			spec := a.Spec()
			for _, x := range []float64{-2.3, -0.7, 0.4, 1.9} {
				h := activate64(spec, x)
				d1, d2 := slopes(a, x, h)
				const e = 1e-4
				n1 := (activate64(spec, x+e) - activate64(spec, x-e)) / (2 * e)
				n2 := (activate64(spec, x+e) - 2*h + activate64(spec, x-e)) / (e * e)
				if !(math.Abs(d1-n1) <= 1e-6) || !(math.Abs(d2-n2) <= 1e-4) {
					t.Errorf("%s/%s at %v: got σ′ %v σ″ %v, want %v %v", kind, approx, x, d1, d2, n1, n2)
				}
			}
		}
	}
}

// encoder64 is the reference encoder: x (one sample) through the encoder
// specs with weights w, in float64.
func encoder64(c Config, x []float64, w map[string][]float64) []float64 {
	for i, s := range c.Encoder {
		name := "encoder." + itoa(i)
		x = layer64(s, x, 1, w[name+".weight"], w[name+".bias"])
	}
	return x
}

func itoa(i int) string { return string(rune('0' + i)) } // encoders here have < 10 layers

// bruteJacobianNorm is ‖∂h/∂x‖²_F by central differences of the reference
// encoder, averaged over the samples, times λ.
func bruteJacobianNorm(c Config, x []float64, n int, w map[string][]float64, lambda float64) float64 {
	d := len(x) / n
	var total float64
	for s := 0; s < n; s++ {
		xs := append([]float64(nil), x[s*d:(s+1)*d]...)
		for m := 0; m < d; m++ {
			orig := xs[m]
			const e = 1e-5
			xs[m] = orig + e
			hp := encoder64(c, xs, w)
			xs[m] = orig - e
			hm := encoder64(c, xs, w)
			xs[m] = orig
			for i := range hp {
				g := (hp[i] - hm[i]) / (2 * e)
				total += g * g
			}
		}
	}
	return lambda * total / float64(n)
}

func TestContractivePenaltyAgainstBruteForceJacobian(t *testing.T) {
	tests := []struct {
		name string
		mlp  MLP
	}{
		{"one layer sigmoid (closed form)", MLP{Variant: "ae", Input: 5, Latent: 3, CodeActivation: "sigmoid"}},
		{"one layer tanh, tied (closed form)", MLP{Variant: "tied", Input: 5, Latent: 3, CodeActivation: "tanh"}},
		{"deep tanh-sigmoid (tangents)", MLP{Variant: "ae", Input: 5, Hidden: []int{4}, Latent: 3, Activation: "tanh", CodeActivation: "sigmoid"}},
		{"deep elu-softplus (tangents)", MLP{Variant: "ae", Input: 4, Hidden: []int{5, 3}, Latent: 2, Activation: "elu", CodeActivation: "softplus"}},
	}
	const lambda = 0.5
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(25, 26))
			m, c := perturbedMLP(t, tt.mlp, 3, rng, 0.3)
			const n = 3
			x := randTensor(rng, -1, 1, n, c.Input[0])
			m.ZeroGrad()
			m.encodeLayers(x)
			got := m.contractive(lambda, 0, nil)
			x64 := to64(x.Data)
			w := map[string][]float64{}
			for _, p := range m.Params() {
				w[p.Name] = to64(p.Value.Data)
			}
			want := bruteJacobianNorm(c, x64, n, w, lambda)
			if !(math.Abs(got-want) <= 1e-5*(1+want)) {
				t.Errorf("penalty: got %v, want %v", got, want)
			}
			norms, err := m.JacobianNorm(x)
			if err != nil {
				t.Fatal(err)
			}
			var sum float64
			for _, v := range norms {
				sum += v
			}
			if !(math.Abs(lambda*sum/n-want) <= 1e-5*(1+want)) {
				t.Errorf("JacobianNorm: got mean %v, want %v", sum/n, want/lambda)
			}
			for _, p := range m.Params() {
				if p.Name[:7] != "encoder" {
					continue
				}
				assertClose(t, p.Name, p.Grad.Data, numericGrad(func() float64 { return bruteJacobianNorm(c, x64, n, w, lambda) }, w[p.Name], 1e-4), 1e-5, 1e-3)
			}
		})
	}
}

// TestContractiveEstimatorIsUnbiased averages the Gaussian estimator over
// many draws and compares with the exact penalty: with k directions its
// relative standard deviation is at most √(2/k) per draw, so 400 draws of
// k = 4 put the mean within 4 % with overwhelming probability (the seed is
// fixed, so the test is deterministic).
func TestContractiveEstimatorIsUnbiased(t *testing.T) {
	c, _ := MLP{Variant: "ae", Input: 6, Hidden: []int{5}, Latent: 3, Activation: "tanh", CodeActivation: "sigmoid"}.Config()
	m, _ := Build(c)
	m.Init(4)
	rng := rand.New(rand.NewPCG(27, 28))
	x := randTensor(rng, -1, 1, 4, 6)
	m.encodeLayers(x)
	exact := m.contractive(1, 0, nil)
	var sum float64
	const draws = 400
	for i := 0; i < draws; i++ {
		m.ZeroGrad()
		sum += m.contractive(1, 4, rng)
	}
	if mean := sum / draws; !(math.Abs(mean-exact) <= 0.04*exact) {
		t.Errorf("estimator mean %v, exact %v", mean, exact)
	}
}

func TestCorrupt(t *testing.T) {
	x := NewTensor(200, 50)
	for i := range x.Data {
		x.Data[i] = 0.5
	}
	for _, tt := range []struct {
		kind  string
		level float64
	}{{"mask", 0.3}, {"salt-pepper", 0.2}, {"gaussian", 0.1}} {
		t.Run(tt.kind, func(t *testing.T) {
			dst, mask := &Tensor{}, &Tensor{}
			Corrupt(dst, mask, x, tt.kind, tt.level, false, rand.New(rand.NewPCG(1, 2)))
			var marked, zeros, ones float64
			var mean, sq float64
			for i, v := range dst.Data {
				marked += float64(mask.Data[i])
				switch {
				case mask.Data[i] == 0 && v != 0.5:
					t.Fatalf("unmarked element %d changed to %v", i, v)
				case v == 0:
					zeros++
				case v == 1:
					ones++
				}
				d := float64(v) - 0.5
				mean += d
				sq += d * d
			}
			n := float64(len(dst.Data))
			switch tt.kind {
			case "mask":
				if f := marked / n; !(math.Abs(f-0.3) <= 0.02) || zeros != marked {
					t.Errorf("masked fraction %v (zeros %v of %v marked), want 0.3", f, zeros, marked)
				}
			case "salt-pepper":
				if f := marked / n; !(math.Abs(f-0.2) <= 0.02) || zeros+ones != marked || !(math.Abs(zeros-ones) <= 0.2*marked) {
					t.Errorf("fraction %v, %v zeros, %v ones of %v marked", f, zeros, ones, marked)
				}
			case "gaussian":
				if marked != n || !(math.Abs(mean/n) <= 0.005) || !(math.Abs(math.Sqrt(sq/n)-0.1) <= 0.005) {
					t.Errorf("noise mean %v std %v, want 0 and 0.1 on every element", mean/n, math.Sqrt(sq/n))
				}
			}
			if x.Data[0] != 0.5 {
				t.Error("Corrupt modified its input")
			}
		})
	}
	// Clipping keeps Gaussian noise in [0, 1].
	dst := &Tensor{}
	Corrupt(dst, nil, x, "gaussian", 2, true, rand.New(rand.NewPCG(3, 4)))
	for _, v := range dst.Data {
		if v < 0 || v > 1 {
			t.Fatalf("clipped value %v outside [0, 1]", v)
		}
	}
}

func TestRegularizationCheck(t *testing.T) {
	alpha := 1.5
	half := 0.5
	bad := []Regularization{
		{L1: -1},
		{SparsityWeight: 1, Rho: 0},
		{SparsityWeight: 1, Rho: 1},
		{Noise: "mask", NoiseLevel: 1},
		{Noise: "gaussian", NoiseLevel: 0},
		{Noise: "blur", NoiseLevel: 0.1},
		{Noise: "mask", NoiseLevel: 0.2, Alpha: &alpha},
		{Alpha: &half},
		{Contractive: -0.1},
	}
	for _, r := range bad {
		if err := r.Check(); err == nil {
			t.Errorf("%+v: got nil error", r)
		}
	}
	if err := (Regularization{Noise: "gaussian", NoiseLevel: 0.3, Alpha: &half, L1: 1e-3}).Check(); err != nil {
		t.Errorf("valid settings: %v", err)
	}
}

// TestTrainStepWithPenaltiesAgainstFiniteDifferences checks the whole
// objective a regularised step differentiates: weighted loss + L1 + KL +
// contractive, on a deep model with a sigmoid code.
func TestTrainStepWithPenaltiesAgainstFiniteDifferences(t *testing.T) {
	c, _ := MLP{Variant: "ae", Input: 5, Hidden: []int{4}, Latent: 3, Activation: "tanh", CodeActivation: "sigmoid"}.Config()
	m, _ := Build(c)
	m.Init(6)
	rng := rand.New(rand.NewPCG(29, 30))
	const n = 4
	x := randTensor(rng, 0.05, 0.95, n, 5)
	clean := randTensor(rng, 0.05, 0.95, n, 5)
	weight := randTensor(rng, 0, 1, n, 5)
	reg := Regularization{L1: 0.2, Rho: 0.2, SparsityWeight: 0.3, Contractive: 0.1}
	m.ZeroGrad()
	m.TrainStep(Batch{X: x, Target: clean, Weight: weight}, &reg, nil)

	x64, c64, wt64 := to64(x.Data), to64(clean.Data), to64(weight.Data)
	w := map[string][]float64{}
	for _, p := range m.Params() {
		w[p.Name] = to64(p.Value.Data)
	}
	objective := func() float64 {
		out := model64(c, x64, n, w)
		var loss float64
		for i, o := range out {
			loss += wt64[i] * (o - c64[i]) * (o - c64[i])
		}
		loss /= float64(len(out))
		var l1 float64
		codes := make([][]float64, n)
		for s := 0; s < n; s++ {
			codes[s] = encoder64(c, x64[s*5:(s+1)*5], w)
			for _, v := range codes[s] {
				l1 += math.Abs(v)
			}
		}
		var kl float64
		for j := 0; j < 3; j++ {
			var mean float64
			for s := 0; s < n; s++ {
				mean += codes[s][j]
			}
			mean /= n
			kl += reg.Rho*math.Log(reg.Rho/mean) + (1-reg.Rho)*math.Log((1-reg.Rho)/(1-mean))
		}
		return loss + reg.L1*l1/n + reg.SparsityWeight*kl + bruteJacobianNorm(c, x64, n, w, reg.Contractive)
	}
	for _, p := range m.Params() {
		assertClose(t, p.Name, p.Grad.Data, numericGrad(objective, w[p.Name], 1e-4), 1e-5, 1e-3)
	}
}
