package trainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"
)

// sequenceCase is one sequence autoencoder of the tests.
type sequenceCase struct {
	name    string
	variant string
	seq     Sequence
}

var sequenceCases = []sequenceCase{
	{"lstm/1 layer", "lstm", Sequence{Steps: 5, Features: 3, Hidden: 4, Layers: 1}},
	{"lstm/2 layers", "lstm", Sequence{Steps: 4, Features: 2, Hidden: 3, Layers: 2}},
	{"lstm/bidirectional, latent", "lstm", Sequence{Steps: 4, Features: 2, Hidden: 3, Layers: 2, Bidirectional: true, Latent: 5}},
	{"lstm/bidirectional", "lstm", Sequence{Steps: 3, Features: 1, Hidden: 4, Layers: 1, Bidirectional: true}},
	{"gru/1 layer", "gru", Sequence{Steps: 5, Features: 3, Hidden: 4, Layers: 1}},
	{"gru/2 layers", "gru", Sequence{Steps: 4, Features: 2, Hidden: 3, Layers: 2}},
	{"gru/bidirectional, latent", "gru", Sequence{Steps: 4, Features: 2, Hidden: 3, Layers: 2, Bidirectional: true, Latent: 5}},
	{"gru/bidirectional", "gru", Sequence{Steps: 3, Features: 1, Hidden: 4, Layers: 1, Bidirectional: true}},
}

func newSequence(t *testing.T, variant string, s Sequence, seed uint64) *Model {
	t.Helper()
	m, err := Build(Config{Variant: variant, Input: []int{s.Steps, s.Features}, Loss: MSE, Sequence: &s, InitSeed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func randomTensor(rng *rand.Rand, shape ...int) *Tensor {
	x := NewTensor(shape...)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return x
}

// TestSequenceMatchesPyTorch checks the forward pass and one training
// step's gradients of every case against PyTorch's nn.LSTM/nn.GRU
// autoencoder loaded with the model's state dict (strictly: same names,
// same shapes), computed in float64 by testdata/sequence/reference.py;
// then the other way, the Go model loaded with the state dict of
// PyTorch's own initialisation against PyTorch's reconstruction.
func TestSequenceMatchesPyTorch(t *testing.T) {
	py := os.Getenv("AEBRIDGE_PYTHON")
	if py == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("AEBRIDGE_PYTHON is not set: CI must run this test against PyTorch (make test sets it)")
		}
		t.Skip("AEBRIDGE_PYTHON not set (make test sets it): the sequence autoencoders were not checked against PyTorch")
	}
	type tensorJSON struct {
		Shape []int     `json:"shape"`
		Data  []float32 `json:"data"`
	}
	type caseJSON struct {
		Cell          string                `json:"cell"`
		Features      int                   `json:"features"`
		Hidden        int                   `json:"hidden"`
		Layers        int                   `json:"layers"`
		Bidirectional bool                  `json:"bidirectional"`
		Latent        int                   `json:"latent"`
		State         map[string]tensorJSON `json:"state"`
		X             tensorJSON            `json:"x"`
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var in []caseJSON
	var models []*Model
	var xs []*Tensor
	for i, c := range sequenceCases {
		m := newSequence(t, c.variant, c.seq, uint64(i+1))
		x := randomTensor(rng, 3, c.seq.Steps, c.seq.Features)
		cj := caseJSON{Cell: c.variant, Features: c.seq.Features, Hidden: c.seq.Hidden, Layers: c.seq.Layers,
			Bidirectional: c.seq.Bidirectional, Latent: c.seq.Latent, State: map[string]tensorJSON{}, X: tensorJSON{x.Shape, x.Data}}
		for name, v := range m.StateDict() {
			cj.State[name] = tensorJSON{v.Shape, v.Data}
		}
		in, models, xs = append(in, cj), append(models, m), append(xs, x)
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cases.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(py, "../testdata/sequence/reference.py", path)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var ref struct {
		Torch string `json:"torch"`
		Cases []struct {
			Output []float64            `json:"output"`
			Loss   float64              `json:"loss"`
			Grads  map[string][]float64 `json:"grads"`
			// PyTorch's own initialisation, and its reconstruction of x.
			TorchState  map[string]tensorJSON `json:"torch_state"`
			TorchOutput []float64             `json:"torch_output"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(out, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) != len(sequenceCases) {
		t.Fatalf("PyTorch gave %d cases, want %d", len(ref.Cases), len(sequenceCases))
	}
	near := func(got float32, want float64) bool {
		return math.Abs(float64(got)-want) <= 2e-5+2e-4*math.Abs(want)
	}
	for i, c := range sequenceCases {
		t.Run(c.name, func(t *testing.T) {
			m, x, r := models[i], xs[i], ref.Cases[i]
			y := m.Forward(x)
			if len(y.Data) != len(r.Output) {
				t.Fatalf("output of %d values, PyTorch's %d", len(y.Data), len(r.Output))
			}
			for j, v := range y.Data {
				if !near(v, r.Output[j]) {
					t.Fatalf("output[%d]: got %v, want %v (PyTorch %s)", j, v, r.Output[j], ref.Torch)
				}
			}
			m.ZeroGrad()
			loss, _ := m.TrainStep(Batch{X: x, Target: x}, nil, rand.New(rand.NewPCG(1, 1)))
			if mean := loss / float64(x.Len()); !(math.Abs(mean-r.Loss) <= 1e-5*r.Loss) {
				t.Errorf("loss: got %v, want %v", mean, r.Loss)
			}
			if len(m.Params()) != len(r.Grads) {
				t.Errorf("%d parameters, PyTorch's model has %d", len(m.Params()), len(r.Grads))
			}
			for _, p := range m.Params() {
				want, ok := r.Grads[p.Name]
				if !ok {
					t.Errorf("parameter %s: PyTorch's model has none", p.Name)
					continue
				}
				for j, g := range p.Grad.Data {
					if !near(g, want[j]) {
						t.Errorf("gradient of %s[%d]: got %v, want %v", p.Name, j, g, want[j])
						break
					}
				}
			}
			// The other direction: PyTorch's weights into the Go model.
			sd := map[string]Tensor{}
			for name, v := range r.TorchState {
				sd[name] = Tensor{Shape: v.Shape, Data: v.Data}
			}
			if err := m.LoadStateDict(sd, "PyTorch's state dict"); err != nil {
				t.Fatal(err)
			}
			y = m.Forward(x)
			for j, v := range y.Data {
				if !near(v, r.TorchOutput[j]) {
					t.Fatalf("output with PyTorch's weights [%d]: got %v, want %v", j, v, r.TorchOutput[j])
				}
			}
		})
	}
}

// sineWindows returns n windows of a noisy sine, (n, steps·1) flat.
func sineWindows(n, steps int, seed uint64) *Tensor {
	rng := rand.New(rand.NewPCG(seed, 0))
	x := NewTensor(n, steps)
	for i := range n {
		phase := rng.Float64() * 2 * math.Pi
		for j := range steps {
			x.Data[i*steps+j] = float32(math.Sin(phase+float64(j)*0.5) + 0.05*rng.NormFloat64())
		}
	}
	return x
}

// TestSequenceTrainsAndResumes trains an LSTM and a GRU autoencoder on
// sine windows: the training loss falls below half its initial value, a
// saved model loads back to the same outputs, and a run interrupted after
// an epoch and resumed from its checkpoint ends with the uninterrupted
// run's weights, bit for bit.
func TestSequenceTrainsAndResumes(t *testing.T) {
	data := sineWindows(96, 12, 5)
	for _, variant := range SequenceVariants {
		t.Run(variant, func(t *testing.T) {
			s := Sequence{Steps: 12, Features: 1, Hidden: 8, Layers: 1, Latent: 4}
			cfg := TrainConfig{Optimizer: OptimizerConfig{Name: "adam", LR: 1e-2}, Epochs: 20, Batch: 8, Seed: 7, ValSplit: 0.25}
			whole := newSequence(t, variant, s, 7)
			before, _ := Evaluate(whole, data, 32)
			res, err := Fit(whole, data, cfg, FitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if after := res.History[len(res.History)-1].TrainLoss; !(after < 0.5*before) {
				t.Errorf("training loss after %d epochs: got %v, want under half the initial %v", cfg.Epochs, after, before)
			}

			dir := t.TempDir()
			stop := errors.New("interrupted")
			first := newSequence(t, variant, s, 7)
			_, err = Fit(first, data, cfg, FitOptions{Dir: dir, OnEpoch: func(e EpochMetrics) error {
				if e.Epoch == 1 {
					return stop
				}
				return nil
			}})
			if !errors.Is(err, stop) {
				t.Fatalf("got %v, want the interruption", err)
			}
			resumed, f, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if f.Model.Sequence == nil || f.Model.Sequence.Hidden != s.Hidden {
				t.Fatalf("config.json model.sequence: got %+v, want %+v", f.Model.Sequence, s)
			}
			if _, err := Fit(resumed, data, *f.Training, FitOptions{Dir: dir, Resume: true}); err != nil {
				t.Fatal(err)
			}
			a, b := weights(whole), weights(resumed)
			if len(a) != len(b) {
				t.Fatalf("%d weights resumed, %d uninterrupted", len(b), len(a))
			}
			for i := range a {
				if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
					t.Fatalf("weight %d: resumed %v, uninterrupted %v", i, b[i], a[i])
				}
			}
			saved := t.TempDir()
			if err := Save(saved, resumed, nil); err != nil {
				t.Fatal(err)
			}
			loaded, _, err := Load(saved)
			if err != nil {
				t.Fatal(err)
			}
			x := &Tensor{Shape: []int{4, 12}, Data: data.Data[:48]}
			want := slices.Clone(resumed.Forward(x).Data)
			if got := loaded.Forward(x).Data; !slices.Equal(got, want) {
				t.Errorf("the loaded model's output %v, the trained one's %v", got[:4], want[:4])
			}
		})
	}
}

func TestStandardization(t *testing.T) {
	// Two samples of two steps of two features: feature 0 takes 1, 3, 5, 7;
	// feature 1 is constant.
	x := &Tensor{Shape: []int{2, 4}, Data: []float32{1, 4, 3, 4, 5, 4, 7, 4}}
	mean, std := Standardization(x, 2)
	if want := []float64{4, 4}; !slices.Equal(mean, want) {
		t.Errorf("mean: got %v, want %v", mean, want)
	}
	if want := []float64{math.Sqrt(5), 1}; !slices.Equal(std, want) {
		t.Errorf("std: got %v, want %v", std, want)
	}
	s := &Sequence{Mean: mean, Std: std}
	s.Standardize(x)
	want := []float32{float32(-3 / math.Sqrt(5)), 0, float32(-1 / math.Sqrt(5)), 0, float32(1 / math.Sqrt(5)), 0, float32(3 / math.Sqrt(5)), 0}
	for i := range want {
		if !(math.Abs(float64(x.Data[i]-want[i])) <= 1e-6) {
			t.Errorf("standardised[%d]: got %v, want %v", i, x.Data[i], want[i])
		}
	}
}

// TestSequenceCheck refuses descriptions that do not fit, naming the
// field, before allocating anything: a model past limits.MaxParams costs
// a few kilobytes to refuse.
func TestSequenceCheck(t *testing.T) {
	ok := Sequence{Steps: 4, Features: 2, Hidden: 3, Layers: 1}
	tests := []struct {
		name    string
		edit    func(c *Config)
		wantErr string
	}{
		{"no recipe", func(c *Config) { c.Sequence = nil }, "variant lstm needs its recipe (model.sequence)"},
		{"zero layers", func(c *Config) { c.Sequence.Layers = 0 }, "model.sequence.layers 0 must be in [1, 64]"},
		{"negative latent", func(c *Config) { c.Sequence.Latent = -1 }, "model.sequence.latent -1 must be in [0, 1048576]"},
		{"input differs", func(c *Config) { c.Input = []int{4, 3} }, "model.input [4 3] is not model.sequence's [steps features] [4 2]"},
		{"one std", func(c *Config) { c.Sequence.Mean, c.Sequence.Std = []float64{0, 0}, []float64{1} }, "mean (2 values) and std (1) must both be given for the 2 features"},
		{"zero std", func(c *Config) { c.Sequence.Mean, c.Sequence.Std = []float64{0, 0}, []float64{1, 0} }, "feature 1: mean 0, std 0"},
		{"NaN mean", func(c *Config) { c.Sequence.Mean, c.Sequence.Std = []float64{math.NaN(), 0}, []float64{1, 1} }, "feature 0: mean NaN"},
		{"xavier", func(c *Config) { c.Init = InitXavier }, `init "xavier" (want pytorch`},
		{"layers given", func(c *Config) { c.Encoder = []LayerSpec{{Type: "relu"}} }, "described by model.sequence: no encoder"},
		{"too many parameters", func(c *Config) { c.Sequence.Hidden, c.Sequence.Layers = 1<<20, 64 }, "exceeds aebridge's limit of 1073741824 parameters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := ok
			c := Config{Variant: "lstm", Input: []int{4, 2}, Loss: MSE, Sequence: &s}
			tc.edit(&c)
			var before, after runtimeMem
			before.read()
			_, err := Build(c)
			after.read()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
			}
			if d := after.total - before.total; d > 1<<20 {
				t.Errorf("refusing it allocated %d bytes", d)
			}
		})
	}
}

// runtimeMem is the total allocated at a moment.
type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var s goruntime.MemStats
	goruntime.ReadMemStats(&s)
	m.total = s.TotalAlloc
}
