package trainer

import (
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The characteristic effects of the regularised variants, each against a
// plain autoencoder of the same shape trained with the same seed, data and
// budget on a Fashion-MNIST subset (14×14 images; 1,000 training images,
// 15 epochs, batch 50, Adam 2e-3). CI runs seed 1; the runs are
// deterministic, and the thresholds sit far inside the margins measured over
// seeds 1–5 (AEBRIDGE_EFFECT_SEEDS=1,2,3,4,5 go test -v -run … shows them):
//
//	sparse-l1:   mean |h| ratio 0.04–0.05 (threshold 0.5); near-zero
//	             fraction 0.29–0.37 → 0.90–0.92 (threshold +0.2)
//	sparse-kl:   mean activation 0.052–0.057 for ρ = 0.05 (threshold ±0.02),
//	             plain 0.50–0.57
//	denoising:   error ratio on masked inputs 0.26–0.29 (threshold 0.8)
//	contractive: ‖J‖²_F ratio 0.03 (threshold 0.5)

func effectSeeds(t *testing.T) []uint64 {
	s := os.Getenv("AEBRIDGE_EFFECT_SEEDS")
	if s == "" {
		return []uint64{1}
	}
	var out []uint64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// trainPair trains a plain model and a regularised one from the same seed.
func trainPair(t *testing.T, o MLP, variant string, reg Regularization, data *Tensor, seed uint64, epochs int) (plain, regd *Model) {
	t.Helper()
	cfg := TrainConfig{Optimizer: OptimizerConfig{Name: "adam", LR: 2e-3}, Epochs: epochs, Batch: 50, Seed: seed}
	plain = newMLP(t, o, seed)
	if _, err := Fit(plain, data, cfg, FitOptions{}); err != nil {
		t.Fatal(err)
	}
	o.Variant = variant
	regd = newMLP(t, o, seed)
	cfg.Reg = reg
	if _, err := Fit(regd, data, cfg, FitOptions{}); err != nil {
		t.Fatal(err)
	}
	return plain, regd
}

// codeStats returns the mean code activation and the fraction of code
// values below 0.01 in magnitude.
func codeStats(m *Model, x *Tensor) (mean, nearZero float64) {
	h := m.Encode(x)
	for _, v := range h.Data {
		mean += math.Abs(float64(v))
		if math.Abs(float64(v)) < 0.01 {
			nearZero++
		}
	}
	n := float64(len(h.Data))
	return mean / n, nearZero / n
}

func TestSparseL1LowersCodeActivity(t *testing.T) {
	train, test := fashion(t, 1000)
	o := MLP{Variant: "ae", Input: 196, Hidden: []int{64}, Latent: 32, CodeActivation: "relu"}
	for _, seed := range effectSeeds(t) {
		plain, sparse := trainPair(t, o, "sparse-l1", Regularization{L1: 3e-3}, train, seed, 15)
		pm, pz := codeStats(plain, test)
		sm, sz := codeStats(sparse, test)
		t.Logf("seed %d: mean |h| plain %.4f sparse %.4f (ratio %.2f); near-zero plain %.3f sparse %.3f", seed, pm, sm, sm/pm, pz, sz)
		if sm > 0.5*pm || sz < pz+0.2 {
			t.Errorf("seed %d: sparse code not clearly sparser: mean %.4f vs %.4f, near-zero %.3f vs %.3f", seed, sm, pm, sz, pz)
		}
	}
}

func TestSparseKLReachesTargetRate(t *testing.T) {
	train, test := fashion(t, 1000)
	o := MLP{Variant: "ae", Input: 196, Hidden: []int{64}, Latent: 32, CodeActivation: "sigmoid"}
	const rho = 0.05
	for _, seed := range effectSeeds(t) {
		plain, sparse := trainPair(t, o, "sparse-kl", Regularization{Rho: rho, SparsityWeight: 0.05}, train, seed, 15)
		pm, _ := codeStats(plain, test)
		sm, _ := codeStats(sparse, test)
		t.Logf("seed %d: mean activation plain %.4f, sparse-kl %.4f (ρ = %v)", seed, pm, sm, rho)
		if !(math.Abs(sm-rho) <= 0.02) || pm < 3*rho {
			t.Errorf("seed %d: mean activation %.4f not near ρ = %v (plain %.4f)", seed, sm, rho, pm)
		}
	}
}

func TestDenoisingReconstructsCorruptedInputsBetter(t *testing.T) {
	train, test := fashion(t, 1000)
	o := MLP{Variant: "ae", Input: 196, Hidden: []int{64}, Latent: 32}
	noisy := &Tensor{}
	for _, seed := range effectSeeds(t) {
		plain, dae := trainPair(t, o, "denoising", Regularization{Noise: "mask", NoiseLevel: 0.5}, train, seed, 15)
		Corrupt(noisy, nil, test, "mask", 0.5, false, rand.New(rand.NewPCG(seed, 99)))
		errOf := func(m *Model) float64 { return m.Eval(noisy, test) / float64(test.Len()) }
		pe, de := errOf(plain), errOf(dae)
		t.Logf("seed %d: error on masked test inputs against clean ones: plain %.5f, denoising %.5f (ratio %.2f)", seed, pe, de, de/pe)
		if de > 0.8*pe {
			t.Errorf("seed %d: denoising error %.5f not clearly below plain %.5f", seed, de, pe)
		}
	}
}

func TestContractiveShrinksTheJacobian(t *testing.T) {
	train, test := fashion(t, 1000)
	o := MLP{Variant: "ae", Input: 196, Latent: 32, CodeActivation: "sigmoid"}
	small := &Tensor{Shape: []int{200, 196}, Data: test.Data[:200*196]}
	for _, seed := range effectSeeds(t) {
		plain, cae := trainPair(t, o, "contractive", Regularization{Contractive: 0.1}, train, seed, 15)
		norm := func(m *Model) float64 {
			v, err := m.JacobianNorm(small)
			if err != nil {
				t.Fatal(err)
			}
			var s float64
			for _, x := range v {
				s += x
			}
			return s / float64(len(v))
		}
		pn, cn := norm(plain), norm(cae)
		t.Logf("seed %d: mean ‖J‖²_F on test inputs: plain %.3f, contractive %.3f (ratio %.2f)", seed, pn, cn, cn/pn)
		if cn > 0.5*pn {
			t.Errorf("seed %d: contractive Jacobian norm %.3f not clearly below plain %.3f", seed, cn, pn)
		}
	}
}
