package trainer

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// TestOptimizersMatchPyTorch replays the gradients of
// testdata/pytorch/optim.json (made by make_optim_fixture.py) and compares
// the parameters after every step with PyTorch's.
func TestOptimizersMatchPyTorch(t *testing.T) {
	b, err := os.ReadFile("../testdata/pytorch/optim.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		P0    []float32   `json:"p0"`
		Grads [][]float32 `json:"grads"`
		Cases []struct {
			Config OptimizerConfig `json:"config"`
			Steps  [][]float64     `json:"steps"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	for _, c := range fx.Cases {
		t.Run(fmt.Sprintf("%+v", c.Config), func(t *testing.T) {
			opt, err := NewOptimizer(c.Config)
			if err != nil {
				t.Fatal(err)
			}
			p := newParam("p", true, len(fx.P0))
			copy(p.Value.Data, fx.P0)
			for s, g := range fx.Grads {
				copy(p.Grad.Data, g)
				opt.Step([]*Param{p})
				assertClose(t, fmt.Sprintf("step %d", s+1), p.Value.Data, c.Steps[s], 1e-6, 1e-5)
			}
		})
	}
}

func TestOptimizerStateRoundTrip(t *testing.T) {
	for _, name := range []string{"sgd", "adam", "adamw"} {
		t.Run(name, func(t *testing.T) {
			cfg := OptimizerConfig{Name: name, LR: 0.01, Momentum: 0.9, WeightDecay: 0.1}
			if name != "sgd" {
				cfg.Momentum = 0
			}
			a, _ := NewOptimizer(cfg)
			b, _ := NewOptimizer(cfg)
			pa, pb := newParam("w", true, 3), newParam("w", true, 3)
			grads := [][]float32{{1, -2, 3}, {0.5, 0.5, -1}, {2, 0, 1}}
			copy(pa.Grad.Data, grads[0])
			a.Step([]*Param{pa})
			state, steps := a.State()
			if err := b.SetState(state, steps); err != nil {
				t.Fatal(err)
			}
			copy(pb.Value.Data, pa.Value.Data)
			for _, g := range grads[1:] {
				copy(pa.Grad.Data, g)
				copy(pb.Grad.Data, g)
				a.Step([]*Param{pa})
				b.Step([]*Param{pb})
			}
			for i := range pa.Value.Data {
				if pa.Value.Data[i] != pb.Value.Data[i] {
					t.Fatalf("after restoring state: got %v, want %v", pb.Value.Data, pa.Value.Data)
				}
			}
		})
	}
}

func TestNewOptimizerRejectsBadSettings(t *testing.T) {
	bad := []OptimizerConfig{
		{Name: "sgd", LR: 0},
		{Name: "sgd", LR: 0.1, Momentum: 1},
		{Name: "sgd", LR: 0.1, Nesterov: true},
		{Name: "adam", LR: 0.1, Beta1: 1.5},
		{Name: "rmsprop", LR: 0.1},
		{Name: "adamw", LR: 0.1, WeightDecay: -1},
	}
	for _, c := range bad {
		if _, err := NewOptimizer(c); err == nil {
			t.Errorf("%+v: got nil error", c)
		}
	}
}

// TestFitPassesWeightDecayToTheOptimizer checks that the weight decay of
// TrainConfig.Optimizer, its one home, reaches the step: one full-batch
// step with decay λ differs from one without by the closed form, −lr·2λ·W
// on the weights and nothing on the biases for sgd (the gradient of
// λ‖W‖²), −lr·λ·θ on every parameter for adamw (decoupled).
func TestFitPassesWeightDecayToTheOptimizer(t *testing.T) {
	c, err := MLP{Input: 6, Hidden: []int{5}, Latent: 2}.Config()
	if err != nil {
		t.Fatal(err)
	}
	data := randTensor(rand.New(rand.NewPCG(7, 8)), 0, 1, 16, 6)
	const lr, lambda = 0.1, 0.05
	for _, name := range []string{"sgd", "adamw"} {
		t.Run(name, func(t *testing.T) {
			step := func(decay float64) (before, after *Model) {
				before, _ = Build(c)
				after, _ = Build(c)
				before.Init(1)
				after.Init(1)
				cfg := TrainConfig{Optimizer: OptimizerConfig{Name: name, LR: lr, WeightDecay: decay}, Epochs: 1, Batch: 16, Seed: 1}
				if _, err := Fit(after, data, cfg, FitOptions{}); err != nil {
					t.Fatal(err)
				}
				return before, after
			}
			w0, plain := step(0)
			_, decayed := step(lambda)
			for i, p := range decayed.Params() {
				for j, v := range p.Value.Data {
					theta := float64(w0.Params()[i].Value.Data[j])
					want := 0.0
					switch {
					case name == "adamw":
						want = -lr * lambda * theta
					case p.Decay:
						want = -lr * 2 * lambda * theta
					}
					if got := float64(v - plain.Params()[i].Value.Data[j]); !(math.Abs(got-want) <= 1e-6+1e-4*math.Abs(want)) {
						t.Fatalf("%s[%d]: decayed − plain = %v, want %v", p.Name, j, got, want)
					}
				}
			}
		})
	}
	// TrainConfig has no weight decay of its own: config.json cannot set one.
	var f File
	dec := json.NewDecoder(strings.NewReader(`{"training": {"optimizer": {"name": "sgd", "lr": 0.1}, "weight_decay": 0.1}}`))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err == nil || !strings.Contains(err.Error(), `unknown field "weight_decay"`) {
		t.Errorf("training.weight_decay: got %v, want an unknown field", err)
	}
}
