package trainer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"testing"
)

// familyCase is what testdata/pytorch/families.py reads: an MLP, its
// weights, a batch and a family's noise.
type familyCase struct {
	Family     string                 `json:"family"`
	Input      int                    `json:"input"`
	Hidden     []int                  `json:"hidden"`
	Latent     int                    `json:"latent"`
	Activation string                 `json:"activation"`
	Loss       Loss                   `json:"loss"`
	Samples    int                    `json:"samples,omitempty"`
	MMD        float64                `json:"mmd,omitempty"`
	Bandwidth  float64                `json:"bandwidth,omitempty"`
	InfoAlpha  float64                `json:"info_alpha,omitempty"`
	InfoLambda float64                `json:"info_lambda,omitempty"`
	Prior      []float32              `json:"prior,omitempty"`
	Embedding  float64                `json:"embedding,omitempty"`
	Decay      float64                `json:"decoder_decay,omitempty"`
	Weights    map[string]familyParam `json:"weights"`
	X          []float32              `json:"x"`
	Eps        []float32              `json:"eps,omitempty"`
}

type familyParam struct {
	Shape []int     `json:"shape"`
	Data  []float32 `json:"data"`
}

// familyResult is families.py's answer to a case: the objective averaged
// over the batch and its gradient by weight, in float64.
type familyResult struct {
	Objective float64              `json:"objective"`
	Grads     map[string][]float64 `json:"grads"`
}

// pytorchFamilies runs families.py once on the cases. Without
// AEBRIDGE_PYTHON it fails under CI and skips elsewhere, as the other
// PyTorch comparisons do.
func pytorchFamilies(t *testing.T, cases []familyCase) []familyResult {
	t.Helper()
	py := os.Getenv("AEBRIDGE_PYTHON")
	if py == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("AEBRIDGE_PYTHON is not set: CI must run this test against PyTorch (make test sets it)")
		}
		t.Skip("AEBRIDGE_PYTHON not set (make test sets it)")
	}
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(py, "../testdata/pytorch/families.py")
	cmd.Stdin, cmd.Stderr = bytes.NewReader(in), &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("families.py: %v\n%s", err, stderr.String())
	}
	var res struct {
		Results []familyResult `json:"results"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(res.Results) != len(cases) {
		t.Fatalf("families.py answered %d of %d cases", len(res.Results), len(cases))
	}
	return res.Results
}

// TestIWAEMatchesPyTorch checks one training step of variant iwae on given
// noise against PyTorch's autograd of the same bound in float64 (the
// objective −(1/N)Σ L_K and the gradient of every weight) and against
// central finite differences of the Go objective, with K = 1 and K = 4,
// BCE and MSE.
func TestIWAEMatchesPyTorch(t *testing.T) {
	type run struct {
		name string
		m    *Model
		x    *Tensor
		eps  *Tensor
		k    int
	}
	var runs []run
	var cases []familyCase
	for _, tt := range []struct {
		loss Loss
		k    int
	}{{BCE, 4}, {MSE, 4}, {BCE, 1}} {
		o := MLP{Variant: "iwae", Input: 6, Hidden: []int{5}, Latent: 2, Loss: tt.loss, Activation: "tanh"}
		m := newMLP(t, o, 4)
		r := rand.New(rand.NewPCG(8, 9))
		const n = 3
		x := randTensor(r, 0.05, 0.95, n, 6)
		eps := randTensor(r, -2, 2, n*tt.k, 2)
		c := familyCase{Family: "iwae", Input: 6, Hidden: o.Hidden, Latent: 2, Activation: "tanh", Loss: tt.loss, Samples: tt.k,
			Weights: map[string]familyParam{}, X: x.Data, Eps: eps.Data}
		for name, p := range m.StateDict() {
			c.Weights[name] = familyParam{Shape: p.Shape, Data: p.Data}
		}
		cases = append(cases, c)
		runs = append(runs, run{fmt.Sprintf("%s/K=%d", tt.loss, tt.k), m, x, eps, tt.k})
	}
	results := pytorchFamilies(t, cases)
	for i, rn := range runs {
		t.Run(rn.name, func(t *testing.T) {
			m, n := rn.m, float64(rn.x.Rows())
			objective := func() float64 {
				m.ZeroGrad()
				loss, pen := m.TrainStep(Batch{X: rn.x, Target: rn.x, Eps: rn.eps}, &Regularization{Samples: rn.k}, rand.New(rand.NewPCG(1, 1)))
				return (loss + pen) / n
			}
			want := results[i]
			if got := objective(); math.Abs(got-want.Objective) > 1e-5*math.Abs(want.Objective) {
				t.Errorf("objective: got %v, PyTorch %v", got, want.Objective)
			}
			if len(m.plans) == 0 {
				t.Fatal("the step did not run on the graph")
			}
			grads := map[string][]float32{}
			for _, p := range m.Params() {
				g, ok := want.Grads[p.Name]
				if !ok {
					t.Fatalf("PyTorch has no gradient for %s", p.Name)
				}
				assertClose(t, p.Name, p.Grad.Data, g, 1e-5, 1e-4)
				grads[p.Name] = slices.Clone(p.Grad.Data)
			}
			// Finite differences of the float32 objective: a few weights
			// of each tensor, h = 1e-2 (the objective is smooth: tanh).
			for _, p := range m.Params() {
				for _, i := range []int{0, len(p.Value.Data) / 2, len(p.Value.Data) - 1} {
					v := p.Value.Data[i]
					p.Value.Data[i] = v + 1e-2
					up := objective()
					p.Value.Data[i] = v - 1e-2
					down := objective()
					p.Value.Data[i] = v
					fd, g := (up-down)/2e-2, float64(grads[p.Name][i])
					if math.Abs(fd-g) > 2e-3+2e-2*math.Abs(g) {
						t.Errorf("%s[%d]: gradient %v, finite differences %v", p.Name, i, g, fd)
					}
				}
			}
		})
	}
}

// TestEvaluateIWAEBound checks EvaluateIWAE against the step's objective
// (the same bound, drawn the same way), and that the bound tightens with
// K as the theory says: L_1 ≤ L_16 on average, below the ELBO of the same
// model's VAE evaluation only by the KL estimate's noise.
func TestEvaluateIWAEBound(t *testing.T) {
	m := newMLP(t, MLP{Variant: "iwae", Input: 12, Hidden: []int{8}, Latent: 3, Loss: BCE}, 4)
	x := randTensor(rand.New(rand.NewPCG(3, 4)), 0, 1, 40, 12)
	l1 := EvaluateIWAE(m, x, 1, 16, rand.New(rand.NewPCG(5, 6)))
	l16 := EvaluateIWAE(m, x, 16, 16, rand.New(rand.NewPCG(5, 6)))
	recon, kl := EvaluateVAE(m, x, nil, 16, rand.New(rand.NewPCG(5, 6)))
	if !(l16 > l1) || math.Abs(l1-(-(recon+kl))) > 0.1*math.Abs(recon+kl) {
		t.Errorf("L_1 %v, L_16 %v, ELBO %v: want L_1 < L_16 and L_1 near the ELBO", l1, l16, -(recon + kl))
	}
	// The step's objective on the same draws is −L_K.
	k := 4
	eps := NewTensor(40*k, 3)
	r := rand.New(rand.NewPCG(7, 7))
	for i := range eps.Data {
		eps.Data[i] = float32(r.NormFloat64())
	}
	loss, _ := m.TrainStep(Batch{X: x, Target: x, Eps: eps}, &Regularization{Samples: k}, nil)
	r = rand.New(rand.NewPCG(7, 7))
	got := EvaluateIWAE(m, x, k, 40, rand.New(&replay{r}))
	if math.Abs(-loss/40-got) > 1e-5*math.Abs(got) {
		t.Errorf("EvaluateIWAE %v, the step's bound %v", got, -loss/40)
	}
}

// replay draws from r as its source: EvaluateIWAE's NormFloat64 calls then
// see the stream the test drew ε from.
type replay struct{ r *rand.Rand }

func (p *replay) Uint64() uint64 { return p.r.Uint64() }

// TestWAEMatchesPyTorch checks one training step of variant wae on given
// prior draws against PyTorch's autograd of pythae's objective in float64
// — (1/N)Σ recon + λ·MMD with the inverse multiquadric kernel — for MSE
// and BCE and two bandwidths, and the MMD's gradient against central
// finite differences.
func TestWAEMatchesPyTorch(t *testing.T) {
	type run struct {
		m      *Model
		x, eps *Tensor
		reg    *Regularization
	}
	var runs []run
	var cases []familyCase
	for _, tt := range []struct {
		loss  Loss
		sigma float64
	}{{MSE, 0}, {BCE, 0.5}} {
		o := MLP{Variant: "wae", Input: 6, Hidden: []int{5}, Latent: 2, Loss: tt.loss, Activation: "tanh"}
		m := newMLP(t, o, 4)
		r := rand.New(rand.NewPCG(8, 9))
		x := randTensor(r, 0.05, 0.95, 5, 6)
		eps := randTensor(r, -2, 2, 5, 2)
		reg := &Regularization{MMD: 0.7, Bandwidth: tt.sigma}
		c := familyCase{Family: "wae", Input: 6, Hidden: o.Hidden, Latent: 2, Activation: "tanh", Loss: tt.loss, MMD: reg.MMD, Bandwidth: tt.sigma,
			Weights: map[string]familyParam{}, X: x.Data, Eps: eps.Data}
		for name, p := range m.StateDict() {
			c.Weights[name] = familyParam{Shape: p.Shape, Data: p.Data}
		}
		cases = append(cases, c)
		runs = append(runs, run{m, x, eps, reg})
	}
	results := pytorchFamilies(t, cases)
	for i, rn := range runs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			m, n := rn.m, float64(rn.x.Rows())
			m.ZeroGrad()
			loss, pen := m.TrainStep(Batch{X: rn.x, Target: rn.x, Prior: rn.eps}, rn.reg, nil)
			want := results[i]
			if got := loss/n + pen; math.Abs(got-want.Objective) > 1e-5*math.Abs(want.Objective) {
				t.Errorf("objective: got %v, PyTorch %v", got, want.Objective)
			}
			for _, p := range m.Params() {
				assertClose(t, p.Name, p.Grad.Data, want.Grads[p.Name], 1e-5, 1e-4)
			}
		})
	}
	// The MMD's gradient in z, against central differences in float64
	// terms (the penalty sums in float64).
	r := rand.New(rand.NewPCG(1, 2))
	z, p := randTensor(r, -1, 1, 4, 3), randTensor(r, -1, 1, 4, 3)
	dz := NewTensor(4, 3)
	MMDPenalty(dz, z, p, 1.3, 0.8)
	for i := range z.Data {
		v := z.Data[i]
		z.Data[i] = v + 1e-3
		up := MMDPenalty(nil, z, p, 1.3, 0.8)
		z.Data[i] = v - 1e-3
		down := MMDPenalty(nil, z, p, 1.3, 0.8)
		z.Data[i] = v
		if fd := (up - down) / 2e-3; math.Abs(fd-float64(dz.Data[i])) > 1e-3+1e-3*math.Abs(fd) {
			t.Errorf("∂MMD/∂z[%d]: got %v, finite differences %v", i, dz.Data[i], fd)
		}
	}
}

// TestInfoVAEMatchesPyTorch checks one training step of variant infovae
// on given noise and prior draws against PyTorch's autograd of pythae's
// objective in float64, for α = 0 and α = 0.5.
func TestInfoVAEMatchesPyTorch(t *testing.T) {
	type run struct {
		m             *Model
		x, eps, prior *Tensor
		reg           *Regularization
	}
	var runs []run
	var cases []familyCase
	for _, alpha := range []float64{0, 0.5} {
		o := MLP{Variant: "infovae", Input: 6, Hidden: []int{5}, Latent: 2, Loss: BCE, Activation: "tanh"}
		m := newMLP(t, o, 4)
		r := rand.New(rand.NewPCG(8, 9))
		x := randTensor(r, 0.05, 0.95, 5, 6)
		eps, prior := randTensor(r, -2, 2, 5, 2), randTensor(r, -2, 2, 5, 2)
		reg := &Regularization{InfoAlpha: alpha, InfoLambda: 3, Bandwidth: 0.7}
		c := familyCase{Family: "infovae", Input: 6, Hidden: o.Hidden, Latent: 2, Activation: "tanh", Loss: BCE,
			InfoAlpha: alpha, InfoLambda: 3, Bandwidth: 0.7, Weights: map[string]familyParam{}, X: x.Data, Eps: eps.Data, Prior: prior.Data}
		for name, p := range m.StateDict() {
			c.Weights[name] = familyParam{Shape: p.Shape, Data: p.Data}
		}
		cases = append(cases, c)
		runs = append(runs, run{m, x, eps, prior, reg})
	}
	results := pytorchFamilies(t, cases)
	for i, rn := range runs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			m, n := rn.m, float64(rn.x.Rows())
			m.ZeroGrad()
			loss, pen := m.TrainStep(Batch{X: rn.x, Target: rn.x, Eps: rn.eps, Prior: rn.prior}, rn.reg, nil)
			want := results[i]
			if got := (loss + pen) / n; math.Abs(got-want.Objective) > 1e-5*math.Abs(want.Objective) {
				t.Errorf("objective: got %v, PyTorch %v", got, want.Objective)
			}
			for _, p := range m.Params() {
				assertClose(t, p.Name, p.Grad.Data, want.Grads[p.Name], 1e-5, 1e-4)
			}
		})
	}
}

// TestRAEMatchesPyTorch checks one training step of variant rae against
// PyTorch's autograd of pythae's RAE_L2 objective in float64, with and
// without the decoder's weight decay.
func TestRAEMatchesPyTorch(t *testing.T) {
	var models []*Model
	var regs []*Regularization
	var cases []familyCase
	x := randTensor(rand.New(rand.NewPCG(8, 9)), 0.05, 0.95, 5, 6)
	for _, decay := range []float64{0, 0.3} {
		o := MLP{Variant: "rae", Input: 6, Hidden: []int{5}, Latent: 2, Loss: MSE, Activation: "tanh"}
		m := newMLP(t, o, 4)
		reg := &Regularization{Embedding: 0.4, DecoderDecay: decay}
		c := familyCase{Family: "rae", Input: 6, Hidden: o.Hidden, Latent: 2, Activation: "tanh", Loss: MSE,
			Embedding: reg.Embedding, Decay: decay, Weights: map[string]familyParam{}, X: x.Data}
		for name, p := range m.StateDict() {
			c.Weights[name] = familyParam{Shape: p.Shape, Data: p.Data}
		}
		models, regs, cases = append(models, m), append(regs, reg), append(cases, c)
	}
	results := pytorchFamilies(t, cases)
	for i, m := range models {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			m.ZeroGrad()
			loss, pen := m.TrainStep(Batch{X: x, Target: x}, regs[i], nil)
			if got, want := loss/5+pen, results[i].Objective; math.Abs(got-want) > 1e-5*math.Abs(want) {
				t.Errorf("objective: got %v, PyTorch %v", got, want)
			}
			for _, p := range m.Params() {
				assertClose(t, p.Name, p.Grad.Data, results[i].Grads[p.Name], 1e-5, 1e-4)
			}
		})
	}
}
