package trainer

import (
	"encoding/json"
	"fmt"
	"os"
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
