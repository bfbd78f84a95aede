package trainer

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestKLDivergenceGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	mu := randTensor(rng, -2, 2, 3, 4)
	lv := randTensor(rng, -3, 2, 3, 4)
	mu64, lv64 := to64(mu.Data), to64(lv.Data)
	ref := func() float64 {
		var s float64
		for i := range mu64 {
			s += 0.5 * (math.Exp(lv64[i]) + mu64[i]*mu64[i] - 1 - lv64[i])
		}
		return s
	}
	dmu, dlv := NewTensor(3, 4), NewTensor(3, 4)
	if got, want := KLDivergence(dmu, dlv, mu, lv, 1), ref(); !(math.Abs(got-want) <= 1e-6*want) {
		t.Errorf("KL: got %v, want %v", got, want)
	}
	assertClose(t, "dμ", dmu.Data, numericGrad(ref, mu64, 1e-6), 1e-6, 1e-5)
	assertClose(t, "dlog σ²", dlv.Data, numericGrad(ref, lv64, 1e-6), 1e-6, 1e-5)
	// KL(N(0, 1) ‖ N(0, 1)) = 0.
	zero := NewTensor(1, 3)
	if got := KLDivergence(nil, nil, zero, zero, 0); got != 0 {
		t.Errorf("KL of the prior with itself: got %v, want 0", got)
	}
}

// vae64 is the reference objective of a variational model with ε fixed:
// (Σ reconstruction + β·KL)/N, in float64.
func vae64(m *Model, x, cond, eps []float64, n int, w map[string][]float64, beta float64) float64 {
	c := m.Config
	withCond := func(v []float64, d int) []float64 {
		k := c.Condition
		out := make([]float64, 0, n*(d+k))
		for r := 0; r < n; r++ {
			out = append(out, v[r*d:(r+1)*d]...)
			out = append(out, cond[r*k:(r+1)*k]...)
		}
		return out
	}
	run := func(stack string, specs []LayerSpec, in []float64, d int) []float64 {
		for i, s := range specs {
			name := stack + "." + strconv.Itoa(i)
			if s.Type == "condition" {
				in = withCond(in, d)
				d += s.In
				continue
			}
			in = layer64(s, in, n, w[name+".weight"], w[name+".bias"])
			if s.Type == "dense" {
				d = s.Out
			}
		}
		return in
	}
	v := c.Variational
	h := run("encoder", c.Encoder, x, c.Input[0])
	head := LayerSpec{Type: "dense", In: v.In, Out: v.Latent}
	mu := layer64(head, h, n, w["mu.weight"], w["mu.bias"])
	lv := layer64(head, h, n, w["logvar.weight"], w["logvar.bias"])
	z := make([]float64, len(mu))
	var kl float64
	for i := range mu {
		z[i] = mu[i] + eps[i]*math.Exp(0.5*lv[i])
		kl += 0.5 * (math.Exp(lv[i]) + mu[i]*mu[i] - 1 - lv[i])
	}
	out := run("decoder", c.Decoder, z, v.Latent)
	recon := loss64(c.Loss, out, x) * float64(len(out))
	return (recon + beta*kl) / float64(n)
}

// TestVAEGradientsWithFixedNoise checks the reparameterised objective's
// gradient, with ε held fixed, against finite differences of the float64
// reference, for the VAE, the β-VAE and the conditional VAE.
func TestVAEGradientsWithFixedNoise(t *testing.T) {
	tests := []struct {
		name string
		mlp  MLP
		beta float64
	}{
		{"vae bce", MLP{Variant: "vae", Input: 6, Hidden: []int{5}, Latent: 2, Activation: "tanh", Loss: BCE}, 1},
		{"beta-vae mse", MLP{Variant: "beta-vae", Input: 5, Hidden: []int{4, 3}, Latent: 2, Activation: "elu", Loss: MSE}, 4},
		{"cvae", MLP{Variant: "cvae", Input: 5, Hidden: []int{4}, Latent: 3, Condition: 3, Activation: "tanh", Loss: BCE}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(63, 64))
			m, c := perturbedMLP(t, tt.mlp, 2, rng, 0.2)
			const n = 3
			x := randTensor(rng, 0.05, 0.95, n, c.Input[0])
			eps := randTensor(rng, -1.5, 1.5, n, c.Variational.Latent)
			b := Batch{X: x, Target: x, Eps: eps}
			var cond []float64
			if c.Condition > 0 {
				ct := NewTensor(n, c.Condition)
				for r := 0; r < n; r++ {
					ct.Data[r*c.Condition+r%c.Condition] = 1
				}
				b.Cond = ct
				cond = to64(ct.Data)
			}
			m.ZeroGrad()
			loss, pen := m.TrainStep(b, &Regularization{Beta: tt.beta}, nil)
			w := map[string][]float64{}
			for _, p := range m.Params() {
				w[p.Name] = to64(p.Value.Data)
			}
			x64, e64 := to64(x.Data), to64(eps.Data)
			obj := func() float64 { return vae64(m, x64, cond, e64, n, w, tt.beta) }
			if got, want := (loss+pen)/n, obj(); !(math.Abs(got-want) <= 1e-5*math.Abs(want)) {
				t.Errorf("objective: got %v, want %v", got, want)
			}
			for _, p := range m.Params() {
				assertClose(t, p.Name, p.Grad.Data, numericGrad(obj, w[p.Name], 1e-6), 1e-5, 1e-4)
			}
		})
	}
}

// TestEvaluateVAEOnGraph checks EvaluateVAE on the graph against the
// layers' evaluation (the path the PyTorch comparison of the VAE example
// checked) on the same weights and draws, for BCE on logits and MSE, with
// and without a condition.
func TestEvaluateVAEOnGraph(t *testing.T) {
	for _, tt := range []struct {
		variant string
		loss    Loss
		cond    int
	}{{"vae", BCE, 0}, {"vae", MSE, 0}, {"cvae", BCE, 3}} {
		t.Run(tt.variant+"/"+string(tt.loss), func(t *testing.T) {
			m := newMLP(t, MLP{Variant: tt.variant, Input: 12, Hidden: []int{8}, Latent: 3, Loss: tt.loss, Condition: tt.cond}, 4)
			if !m.inferOnGraph {
				t.Fatal("the model does not run on its graph")
			}
			r := rand.New(rand.NewPCG(3, 4))
			x := randTensor(r, 0, 1, 10, 12)
			var c *Tensor
			if tt.cond > 0 {
				c = randTensor(r, 0, 1, 10, tt.cond)
			}
			gr, gk := EvaluateVAE(m, x, c, 4, rand.New(rand.NewPCG(5, 6)))
			m.inferOnGraph = false
			lr, lk := EvaluateVAE(m, x, c, 4, rand.New(rand.NewPCG(5, 6)))
			m.inferOnGraph = true
			if math.Abs(gr-lr) > 1e-6*math.Abs(lr) || math.Abs(gk-lk) > 1e-6*math.Abs(lk) || lr == 0 || lk == 0 {
				t.Errorf("graph: recon %v, KL %v; layers: recon %v, KL %v", gr, gk, lr, lk)
			}
		})
	}
}
