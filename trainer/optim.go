package trainer

import (
	"fmt"
	"math"
	"strings"

	"github.com/aebridge/aebridge/graph"
)

// Optimizer updates parameters from their gradients. Step applies one
// update; it does not clear the gradients (Model.ZeroGrad does).
type Optimizer interface {
	Step(params []*Param)
	// State returns the optimizer's per-parameter buffers, named
	// "<buffer>.<param name>", and its step count, for checkpoints;
	// SetState restores them.
	State() (buffers map[string][]float32, steps int)
	SetState(buffers map[string][]float32, steps int) error
}

// OptimizerConfig describes an optimizer by PyTorch's hyperparameter names.
type OptimizerConfig struct {
	Name     string  `json:"name"` // "sgd", "adam" or "adamw"
	LR       float64 `json:"lr"`
	Momentum float64 `json:"momentum,omitempty"` // sgd
	Nesterov bool    `json:"nesterov,omitempty"` // sgd
	Beta1    float64 `json:"beta1,omitempty"`    // adam, adamw (default 0.9)
	Beta2    float64 `json:"beta2,omitempty"`    // adam, adamw (default 0.999)
	Eps      float64 `json:"eps,omitempty"`      // adam, adamw (default 1e-8)
	// WeightDecay is λ: for sgd and adam, of the L2 term λ‖W‖² on the
	// weights (not the biases), whose gradient 2λW the optimizer adds to
	// theirs (PyTorch's weight_decay = 2λ, on the weights only); for
	// adamw, AdamW's decoupled decay of every parameter, as PyTorch's.
	WeightDecay float64 `json:"weight_decay,omitempty"`
}

// NewOptimizer builds the optimizer c describes.
func NewOptimizer(c OptimizerConfig) (Optimizer, error) {
	if !(c.LR > 0) {
		return nil, fmt.Errorf("trainer: learning rate %v must be positive", c.LR)
	}
	if c.WeightDecay < 0 {
		return nil, fmt.Errorf("trainer: weight decay %v must not be negative", c.WeightDecay)
	}
	switch c.Name {
	case "sgd":
		if c.Momentum < 0 || c.Momentum >= 1 {
			return nil, fmt.Errorf("trainer: momentum %v must be in [0, 1)", c.Momentum)
		}
		if c.Nesterov && c.Momentum == 0 {
			return nil, fmt.Errorf("trainer: Nesterov momentum needs a momentum > 0")
		}
		return &SGD{LR: c.LR, Momentum: c.Momentum, Nesterov: c.Nesterov, L2: c.WeightDecay, buf: map[string][]float32{}}, nil
	case "adam", "adamw":
		a := &Adam{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps, m: map[string][]float32{}, v: map[string][]float32{}}
		if a.Beta1 == 0 {
			a.Beta1 = 0.9
		}
		if a.Beta2 == 0 {
			a.Beta2 = 0.999
		}
		if a.Eps == 0 {
			a.Eps = 1e-8
		}
		if a.Beta1 < 0 || a.Beta1 >= 1 || a.Beta2 < 0 || a.Beta2 >= 1 {
			return nil, fmt.Errorf("trainer: Adam betas (%v, %v) must be in [0, 1)", a.Beta1, a.Beta2)
		}
		if c.Name == "adamw" {
			a.DecoupledDecay = c.WeightDecay
		} else {
			a.L2 = c.WeightDecay
		}
		return a, nil
	}
	return nil, fmt.Errorf("trainer: unknown optimizer %q (want sgd, adam or adamw)", c.Name)
}

// SGD is stochastic gradient descent with optional (Nesterov) momentum,
// on the gradient g plus that of the L2 term, 2·L2·θ for the weights
// (Param.Decay):
//
//	b ← μ·b + g;  p ← p − lr·b            (momentum)
//	b ← μ·b + g;  p ← p − lr·(g + μ·b)    (Nesterov)
//
// reference: https://pytorch.org/docs/stable/generated/torch.optim.SGD.html
// (dampening 0; the first step sets b = g, as PyTorch does).
type SGD struct {
	LR, Momentum float64
	Nesterov     bool
	L2           float64 // λ of λ‖W‖²
	steps        int
	buf          map[string][]float32
}

// Step updates params.
func (o *SGD) Step(params []*Param) {
	o.steps++
	addL2(params, o.L2)
	lr, mu := float32(o.LR), float32(o.Momentum)
	for _, p := range params {
		w, g := p.Value.Data, p.Grad.Data
		if o.Momentum == 0 {
			for i := range w {
				w[i] -= lr * g[i]
			}
			continue
		}
		b, ok := o.buf[p.Name]
		if !ok {
			b = append([]float32(nil), g...)
			o.buf[p.Name] = b
		} else {
			for i := range b {
				b[i] = mu*b[i] + g[i]
			}
		}
		if o.Nesterov {
			for i := range w {
				w[i] -= lr * (g[i] + mu*b[i])
			}
		} else {
			for i := range w {
				w[i] -= lr * b[i]
			}
		}
	}
}

// State returns the momentum buffers as "momentum.<param>".
func (o *SGD) State() (map[string][]float32, int) {
	s := map[string][]float32{}
	for k, v := range o.buf {
		s["momentum."+k] = v
	}
	return s, o.steps
}

// SetState restores what State returned.
func (o *SGD) SetState(buffers map[string][]float32, steps int) error {
	o.steps = steps
	o.buf = map[string][]float32{}
	for k, v := range buffers {
		name, ok := strings.CutPrefix(k, "momentum.")
		if !ok {
			return fmt.Errorf("trainer: SGD state has unknown buffer %q", k)
		}
		o.buf[name] = append([]float32(nil), v...)
	}
	return nil
}

// Adam is Adam, or AdamW when DecoupledDecay > 0, on the gradient g plus
// that of the L2 term, 2·L2·θ for the weights (Param.Decay; Adam only):
//
//	p ← p − lr·λ·p                          (AdamW only)
//	m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²
//	p ← p − lr·m̂/(√v̂ + ε),  m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ)
//
// reference: https://pytorch.org/docs/stable/generated/torch.optim.Adam.html
// and https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html
// (AdamW decays every parameter, biases included, as PyTorch does).
type Adam struct {
	LR, Beta1, Beta2, Eps float64
	DecoupledDecay        float64
	L2                    float64 // λ of λ‖W‖² (Adam; AdamW decays decoupled)
	steps                 int
	m, v                  map[string][]float32
	job                   adamJob
}

// Step updates params.
func (o *Adam) Step(params []*Param) {
	o.steps++
	addL2(params, o.L2)
	t := float64(o.steps)
	bc1 := 1 - math.Pow(o.Beta1, t)
	bc2 := 1 - math.Pow(o.Beta2, t)
	// p −= lr/bc1 · m / (√v/√bc2 + ε), PyTorch's arrangement of the terms.
	j := &o.job
	j.k = graph.AdamConsts{
		B1: float32(o.Beta1), OneMinusB1: 1 - float32(o.Beta1),
		B2: float32(o.Beta2), OneMinusB2: 1 - float32(o.Beta2),
		Step: float32(o.LR / bc1), InvBC2: float32(1 / math.Sqrt(bc2)),
		Eps: float32(o.Eps), Decay: float32(1 - o.LR*o.DecoupledDecay),
	}
	for _, p := range params {
		w := p.Value.Data
		m, ok := o.m[p.Name]
		if !ok {
			m = make([]float32, len(w))
			o.m[p.Name] = m
			o.v[p.Name] = make([]float32, len(w))
		}
		j.w, j.g, j.m, j.v = w, p.Grad.Data, m, o.v[p.Name]
		graph.ParallelFor(len(w), graph.Grain, j)
	}
	*j = adamJob{}
}

// adamJob is one parameter's update, split over the worker pool.
type adamJob struct {
	w, g, m, v []float32
	k          graph.AdamConsts
}

func (j *adamJob) Run(lo, hi int) {
	graph.AdamKernel(j.w[lo:hi], j.g[lo:hi], j.m[lo:hi], j.v[lo:hi], &j.k)
}

// State returns the moment buffers as "exp_avg.<param>" and
// "exp_avg_sq.<param>", PyTorch's names.
func (o *Adam) State() (map[string][]float32, int) {
	s := map[string][]float32{}
	for k, v := range o.m {
		s["exp_avg."+k] = v
	}
	for k, v := range o.v {
		s["exp_avg_sq."+k] = v
	}
	return s, o.steps
}

// SetState restores what State returned.
func (o *Adam) SetState(buffers map[string][]float32, steps int) error {
	o.steps = steps
	o.m, o.v = map[string][]float32{}, map[string][]float32{}
	for k, b := range buffers {
		if name, ok := strings.CutPrefix(k, "exp_avg_sq."); ok {
			o.v[name] = append([]float32(nil), b...)
		} else if name, ok := strings.CutPrefix(k, "exp_avg."); ok {
			o.m[name] = append([]float32(nil), b...)
		} else {
			return fmt.Errorf("trainer: Adam state has unknown buffer %q", k)
		}
	}
	return nil
}

// addL2 adds the gradient of λ‖W‖², 2λW, to the gradients of the weights
// among params (L2Penalty without the penalty's value).
func addL2(params []*Param, lambda float64) {
	if lambda != 0 {
		L2Penalty(params, lambda)
	}
}
