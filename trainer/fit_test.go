package trainer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/aebridge/aebridge/dataset"
	"github.com/aebridge/aebridge/graph"
)

// fashion returns n Fashion-MNIST training images, 2×2 average-pooled to
// 14×14 (196 features) to keep the tests fast, and n test images.
func fashion(t testing.TB, n int) (train, test *Tensor) {
	t.Helper()
	tr, te, err := dataset.Load("fashion-mnist")
	if err != nil {
		t.Fatal(err)
	}
	pool := func(s *dataset.Set, n int) *Tensor {
		out := NewTensor(n, 196)
		// Spread the picks over the set so that every class appears.
		step := s.Len() / n
		for i := 0; i < n; i++ {
			img := s.Sample(i * step)
			for r := 0; r < 14; r++ {
				for c := 0; c < 14; c++ {
					v := img[2*r*28+2*c] + img[2*r*28+2*c+1] + img[(2*r+1)*28+2*c] + img[(2*r+1)*28+2*c+1]
					out.Data[i*196+r*14+c] = v / 4
				}
			}
		}
		return out
	}
	return pool(tr, n), pool(te, n)
}

func newMLP(t testing.TB, o MLP, seed uint64) *Model {
	t.Helper()
	c, err := o.Config()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(seed)
	return m
}

func weights(m *Model) []float32 {
	var w []float32
	for _, p := range m.Params() {
		w = append(w, p.Value.Data...)
	}
	return w
}

// pcaError is the mean squared error per element of reconstructing test
// from the top k principal components of train (gonum's stat.PC).
func pcaError(t *testing.T, train, test *Tensor, k int) float64 {
	t.Helper()
	n, d := train.Rows(), train.Cols()
	x := mat.NewDense(n, d, to64(train.Data))
	var pc stat.PC
	if !pc.PrincipalComponents(x, nil) {
		t.Fatal("gonum stat.PC found no principal components")
	}
	var vecs mat.Dense
	pc.VectorsTo(&vecs)
	v := vecs.Slice(0, d, 0, k)
	mean := make([]float64, d)
	for j := 0; j < d; j++ {
		mean[j] = stat.Mean(mat.Col(nil, j, x), nil)
	}
	rows := test.Rows()
	xt := mat.NewDense(rows, d, to64(test.Data))
	for i := 0; i < rows; i++ {
		for j := 0; j < d; j++ {
			xt.Set(i, j, xt.At(i, j)-mean[j])
		}
	}
	var code, rec mat.Dense
	code.Mul(xt, v)
	rec.Mul(&code, v.T())
	var sum float64
	for i := 0; i < rows; i++ {
		for j := 0; j < d; j++ {
			e := rec.At(i, j) - xt.At(i, j)
			sum += e * e
		}
	}
	return sum / float64(rows*d)
}

// TestLinearAutoencoderReachesPCA checks the classic result that a linear
// autoencoder trained with MSE spans the principal subspace: its error with
// k code units comes within 1 % of PCA's with k components, on the training
// data where the optimum is known.
func TestLinearAutoencoderReachesPCA(t *testing.T) {
	train, _ := fashion(t, 1000)
	const k = 4
	pca := pcaError(t, train, train, k)
	m := newMLP(t, MLP{Variant: "linear", Input: 196, Latent: k}, 1)
	cfg := TrainConfig{Optimizer: OptimizerConfig{Name: "adam", LR: 3e-3}, Epochs: 150, Batch: 100, Seed: 1}
	if _, err := Fit(m, train, cfg, FitOptions{}); err != nil {
		t.Fatal(err)
	}
	ae, _ := Evaluate(m, train, 500)
	t.Logf("PCA error %.6f, linear AE error %.6f (ratio %.4f)", pca, ae, ae/pca)
	if ae > 1.01*pca {
		t.Errorf("linear AE error %.6f is more than 1%% above PCA's %.6f", ae, pca)
	}
	if ae < 0.999*pca {
		t.Errorf("linear AE error %.6f beats PCA's %.6f: the PCA reference is wrong", ae, pca)
	}
}

// TestDeepAutoencoderBeatsPCA: with the same code size, a deep nonlinear
// autoencoder reconstructs held-out Fashion-MNIST better than PCA. Budget:
// 2,000 images (14×14), 40 epochs, batch 50.
func TestDeepAutoencoderBeatsPCA(t *testing.T) {
	train, test := fashion(t, 2000)
	const k = 4
	pca := pcaError(t, train, test, k)
	m := newMLP(t, MLP{Variant: "ae", Input: 196, Hidden: []int{128}, Latent: k}, 1)
	cfg := TrainConfig{Optimizer: OptimizerConfig{Name: "adam", LR: 2e-3}, Epochs: 40, Batch: 50, Seed: 1}
	if _, err := Fit(m, train, cfg, FitOptions{}); err != nil {
		t.Fatal(err)
	}
	ae, _ := Evaluate(m, test, 500)
	t.Logf("test error: PCA %.5f, deep AE %.5f (ratio %.3f)", pca, ae, ae/pca)
	if ae > 0.95*pca {
		t.Errorf("deep AE test error %.5f is not 5%% below PCA's %.5f", ae, pca)
	}
}

func smallRun() (MLP, TrainConfig) {
	return MLP{Variant: "tied", Input: 196, Hidden: []int{32}, Latent: 8},
		TrainConfig{Optimizer: OptimizerConfig{Name: "adam", LR: 1e-3}, Epochs: 4, Batch: 32, Seed: 7, ValSplit: 0.2}
}

func TestFitIsReproducible(t *testing.T) {
	data, _ := fashion(t, 300)
	o, cfg := smallRun()
	var runs [2][]float32
	for r := range runs {
		m := newMLP(t, o, 3)
		if _, err := Fit(m, data, cfg, FitOptions{}); err != nil {
			t.Fatal(err)
		}
		runs[r] = weights(m)
	}
	for i := range runs[0] {
		if math.Float32bits(runs[0][i]) != math.Float32bits(runs[1][i]) {
			t.Fatalf("weight %d differs between two runs with one seed: %v vs %v", i, runs[0][i], runs[1][i])
		}
	}
	// A different seed must change the result.
	cfg.Seed++
	m := newMLP(t, o, 3)
	if _, err := Fit(m, data, cfg, FitOptions{}); err != nil {
		t.Fatal(err)
	}
	if w := weights(m); w[0] == runs[0][0] && w[len(w)-1] == runs[0][len(w)-1] {
		t.Error("changing the seed did not change the weights")
	}
}

func TestResumeGivesTheUninterruptedWeights(t *testing.T) {
	data, _ := fashion(t, 300)
	o, cfg := smallRun()
	whole := newMLP(t, o, 3)
	var wholeMetrics bytes.Buffer
	if _, err := Fit(whole, data, cfg, FitOptions{Metrics: &wholeMetrics}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	stop := errors.New("interrupted")
	first := newMLP(t, o, 3)
	var metrics bytes.Buffer
	_, err := Fit(first, data, cfg, FitOptions{Dir: dir, Metrics: &metrics, OnEpoch: func(e EpochMetrics) error {
		if e.Epoch == 2 {
			return stop
		}
		return nil
	}})
	if !errors.Is(err, stop) {
		t.Fatalf("got %v, want the interruption", err)
	}
	// As a fresh process would: the model comes back from the directory.
	resumed, f, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if f.Training == nil || f.Training.Seed != cfg.Seed {
		t.Fatalf("config.json training section: got %+v", f.Training)
	}
	res, err := Fit(resumed, data, *f.Training, FitOptions{Dir: dir, Resume: true, Metrics: &metrics})
	if err != nil {
		t.Fatal(err)
	}
	if res.Epochs != 4 || len(res.History) != 2 {
		t.Errorf("resumed run: %d epochs in total, %d run now; want 4 and 2", res.Epochs, len(res.History))
	}
	a, b := weights(whole), weights(resumed)
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("weight %d: resumed %v, uninterrupted %v", i, b[i], a[i])
		}
	}
	// The metrics agree too, apart from the timings.
	strip := func(s string) string {
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
			var em EpochMetrics
			if err := json.Unmarshal([]byte(line), &em); err != nil {
				t.Fatal(err)
			}
			em.Seconds, em.GFLOPPerSecond = 0, 0
			b, _ := json.Marshal(em)
			out = append(out, string(b))
		}
		return strings.Join(out, "\n")
	}
	if strip(metrics.String()) != strip(wholeMetrics.String()) {
		t.Errorf("metrics differ:\nresumed:\n%s\nuninterrupted:\n%s", metrics.String(), wholeMetrics.String())
	}
}

func TestEarlyStoppingKeepsTheBestEpoch(t *testing.T) {
	data, _ := fashion(t, 200)
	// A learning rate this high makes the validation loss rise after a few
	// epochs, so that patience runs out.
	m := newMLP(t, MLP{Variant: "ae", Input: 196, Hidden: []int{64}, Latent: 16}, 5)
	cfg := TrainConfig{Optimizer: OptimizerConfig{Name: "sgd", LR: 2, Momentum: 0.9}, Epochs: 60, Batch: 20, Seed: 5, ValSplit: 0.25, Patience: 3}
	res, err := Fit(m, data, cfg, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Stopped || res.Epochs >= 60 || res.Epochs != res.BestEpoch+3 {
		t.Fatalf("got %d epochs, best %d, stopped %v; want a stop 3 epochs after the best", res.Epochs, res.BestEpoch, res.Stopped)
	}
	_, val := Split(data, cfg.ValSplit, cfg.Seed)
	got, _ := Evaluate(m, val, 50)
	if !(math.Abs(got-res.BestVal) <= 1e-6*res.BestVal) {
		t.Errorf("validation loss of the returned weights: got %v, want the best epoch's %v", got, res.BestVal)
	}
	lowest := math.Inf(1)
	for _, e := range res.History {
		lowest = math.Min(lowest, e.ValLoss)
	}
	if lowest != res.BestVal {
		t.Errorf("best val %v is not the lowest of the history, %v", res.BestVal, lowest)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m := newMLP(t, MLP{Variant: "tied", Input: 10, Hidden: []int{6}, Latent: 3, Activation: "leaky_relu"}, 9)
	dir := t.TempDir()
	if err := Save(dir, m, nil); err != nil {
		t.Fatal(err)
	}
	back, f, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != Version || back.String() != m.String() {
		t.Errorf("config: got %s, want %s", back, m)
	}
	a, b := weights(m), weights(back)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("weight %d: got %v, want %v", i, b[i], a[i])
		}
	}
	x := randTensor(rand.New(rand.NewPCG(1, 1)), 0, 1, 2, 10)
	want := m.Forward(x).Clone()
	got := back.Forward(x)
	for i := range want.Data {
		if got.Data[i] != want.Data[i] {
			t.Fatalf("forward after reload differs at %d", i)
		}
	}
}

// TestConfigRecordsTheGraph checks that config.json describes a model
// trained here by its graph as well as by its recipe: the graph reads
// back by itself (GraphSpec.Graph) and runs as the model does, an edited
// graph is refused with ErrGraphMismatch naming the node, and a
// config.json without the graph (as earlier versions wrote) still loads.
func TestConfigRecordsTheGraph(t *testing.T) {
	m := newMLP(t, MLP{Variant: "ae", Input: 10, Hidden: []int{6}, Latent: 3, Activation: "tanh"}, 9)
	dir := t.TempDir()
	if err := Save(dir, m, nil); err != nil {
		t.Fatal(err)
	}
	f, err := ReadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if f.Model.Graph == nil || len(f.Model.Graph.Nodes) == 0 {
		t.Fatalf("config.json has no graph: %+v", f.Model)
	}
	g, err := f.Model.Graph.Graph()
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range m.StateDict() {
		q, ok := g.Params[name]
		if !ok || !slices.Equal(q.Shape, p.Shape) {
			t.Fatalf("graph parameter %s: got %v, want shape %v", name, q, p.Shape)
		}
		copy(q.Data, p.Data)
	}
	x := randTensor(rand.New(rand.NewPCG(1, 1)), 0, 1, 4, 10)
	out, err := g.Forward(map[string]*graph.Tensor{g.Inputs[0].Name: x})
	if err != nil {
		t.Fatal(err)
	}
	want := m.Forward(x)
	if got := out[g.Outputs[0]]; !slices.Equal(got.Data, want.Data) {
		t.Errorf("the recorded graph's forward pass: got %v, want %v", got.Data, want.Data)
	}

	path := filepath.Join(dir, ConfigFile)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(orig), `"op": "Tanh"`, `"op": "Sigmoid"`, 1)
	if edited == string(orig) {
		t.Fatal("no Tanh node in config.json to edit")
	}
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(dir); !errors.Is(err, ErrGraphMismatch) || !strings.Contains(err.Error(), "Sigmoid") {
		t.Errorf("edited graph: got %v, want ErrGraphMismatch naming the node", err)
	}

	var raw map[string]json.RawMessage
	var model map[string]json.RawMessage
	if err := json.Unmarshal(orig, &raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw["model"], &model); err != nil {
		t.Fatal(err)
	}
	delete(model, "graph")
	raw["model"], _ = json.Marshal(model)
	old, _ := json.Marshal(raw)
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	back, _, err := Load(dir)
	if err != nil {
		t.Fatalf("config.json without a graph: %v", err)
	}
	if got := back.Forward(x); !slices.Equal(got.Data, want.Data) {
		t.Errorf("loaded without a graph: forward differs")
	}
}

// TestContextStopsBetweenStepsAndResumeIsExact interrupts a run through
// FitOptions.Context after k optimizer steps, in the middle of an epoch:
// Fit must stop there with ErrInterrupted, its checkpoint must be the last
// complete epoch's, and resuming from it must give the uninterrupted run's
// weights bit for bit.
func TestContextStopsBetweenStepsAndResumeIsExact(t *testing.T) {
	data, _ := fashion(t, 300)
	o, cfg := smallRun()
	whole := newMLP(t, o, 3)
	if _, err := Fit(whole, data, cfg, FitOptions{}); err != nil {
		t.Fatal(err)
	}
	steps := 0
	perEpoch := 0
	probe := newMLP(t, o, 3)
	c1 := cfg
	c1.Epochs = 1
	if _, err := Fit(probe, data, c1, FitOptions{OnProgress: func(p Progress) { perEpoch = p.Steps }}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{1, perEpoch + perEpoch/2, 2 * perEpoch} {
		t.Run(fmt.Sprintf("after %d steps", k), func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			cause := errors.New("ctrl-c")
			steps = 0
			first := newMLP(t, o, 3)
			res, err := Fit(first, data, cfg, FitOptions{Dir: dir, Context: ctx, OnProgress: func(p Progress) {
				if p.Metrics == nil {
					if steps++; steps == k {
						cancel(cause)
					}
				}
			}})
			if !errors.Is(err, ErrInterrupted) || !errors.Is(err, cause) {
				t.Fatalf("got %v, want ErrInterrupted and the cause", err)
			}
			if steps != k {
				t.Errorf("steps taken: got %d, want %d", steps, k)
			}
			// The epochs completed: cancelled on an epoch's last step, that
			// epoch still ends (validation, checkpoint), and the next
			// epoch's first step is refused.
			wantEpoch := k / perEpoch
			if res.Epochs != wantEpoch {
				t.Errorf("epochs completed: got %d, want %d", res.Epochs, wantEpoch)
			}
			if wantEpoch == 0 {
				if _, err := ReadCheckpoint(dir); !errors.Is(err, ErrNoCheckpoint) {
					t.Errorf("checkpoint before the first epoch: got %v, want ErrNoCheckpoint", err)
				}
				return
			}
			if e, err := CheckpointEpoch(dir); err != nil || e != wantEpoch {
				t.Fatalf("checkpoint: got epoch %d, %v; want %d", e, err, wantEpoch)
			}
			resumed, f, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Fit(resumed, data, *f.Training, FitOptions{Dir: dir, Resume: true}); err != nil {
				t.Fatal(err)
			}
			a, b := weights(whole), weights(resumed)
			for i := range a {
				if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
					t.Fatalf("weight %d: resumed %v, uninterrupted %v", i, b[i], a[i])
				}
			}
		})
	}
}
