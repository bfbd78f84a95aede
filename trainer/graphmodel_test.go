package trainer

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/aebridge/aebridge/graph"
)

// residualGraph is an autoencoder that is not a chain: 10 → 8 (ReLU),
// plus a residual block h + ReLU(h·W + b), → 3, the code, → 10 (sigmoid).
func residualGraph(r *rand.Rand) *graph.Graph {
	p := func(scale float64, shape ...int) *graph.Tensor {
		t := graph.NewTensor(shape...)
		for i := range t.Data {
			t.Data[i] = float32(scale * r.NormFloat64())
		}
		return t
	}
	tb := map[string]graph.Attribute{"transB": graph.Int(1)}
	return &graph.Graph{
		Inputs:  []graph.Value{{Name: "x", Shape: []int{-1, 10}}},
		Outputs: []string{"x_hat"},
		Params: map[string]*graph.Tensor{
			"enc.0.weight": p(0.3, 8, 10), "enc.0.bias": p(0.1, 8),
			"res.weight": p(0.3, 8, 8), "res.bias": p(0.1, 8),
			"code.weight": p(0.3, 3, 8), "code.bias": p(0.1, 3),
			"dec.weight": p(0.3, 10, 3), "dec.bias": p(0.1, 10),
			"flat.shape": graph.NewInt64Tensor([]int64{-1, 3}, 2),
		},
		Nodes: []*graph.Node{
			{Name: "enc.0", Op: "Gemm", Inputs: []string{"x", "enc.0.weight", "enc.0.bias"}, Outputs: []string{"e0"}, Attrs: tb},
			{Name: "enc.0.act", Op: "Relu", Inputs: []string{"e0"}, Outputs: []string{"h"}},
			{Name: "res", Op: "Gemm", Inputs: []string{"h", "res.weight", "res.bias"}, Outputs: []string{"r0"}, Attrs: tb},
			{Name: "res.act", Op: "Relu", Inputs: []string{"r0"}, Outputs: []string{"r1"}},
			{Name: "skip", Op: "Add", Inputs: []string{"h", "r1"}, Outputs: []string{"h2"}},
			{Name: "code", Op: "Gemm", Inputs: []string{"h2", "code.weight", "code.bias"}, Outputs: []string{"z"}, Attrs: tb},
			{Name: "dec", Op: "Gemm", Inputs: []string{"z", "dec.weight", "dec.bias"}, Outputs: []string{"d"}, Attrs: tb},
			{Name: "out", Op: "Sigmoid", Inputs: []string{"d"}, Outputs: []string{"x_hat"}},
		},
		Marks: map[string]string{graph.MarkCode: "z"},
	}
}

// TestGraphModelStep checks a graph model's training step against the
// graph's reference Forward and Backward with the MSE loss's gradient as
// the seed: the loss and every trainable parameter's gradient.
func TestGraphModelStep(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	g := residualGraph(r)
	m, err := FromGraph(g, MSE)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0)
	for _, p := range m.Params() {
		names = append(names, p.Name)
	}
	if want := []string{"code.bias", "code.weight", "dec.bias", "dec.weight", "enc.0.bias", "enc.0.weight", "res.bias", "res.weight"}; !slices.Equal(names, want) {
		t.Fatalf("trainable: got %v, want %v", names, want)
	}
	x := NewTensor(5, 10)
	for i := range x.Data {
		x.Data[i] = float32(r.Float64())
	}
	values, err := g.Forward(map[string]*graph.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	out := values["x_hat"]
	seed := NewTensor(out.Shape...)
	var want float64
	for i, v := range out.Data {
		d := float64(v - x.Data[i])
		want += d * d
		seed.Data[i] = float32(2 * d / float64(out.Len()))
	}
	grads, err := g.Backward(values, map[string]*graph.Tensor{"x_hat": seed})
	if err != nil {
		t.Fatal(err)
	}
	m.ZeroGrad()
	loss, _ := m.TrainStep(Batch{X: x, Target: x}, nil, nil)
	if !(math.Abs(loss-want) <= 1e-5*want) {
		t.Errorf("loss: got %v, want %v", loss, want)
	}
	for _, p := range m.Params() {
		if d := maxDiff(p.Grad.Data, grads[p.Name].Data); !(d <= 1e-6) {
			t.Errorf("gradient of %s: off by %v from the reference Backward", p.Name, d)
		}
	}
	if got := m.Forward(x); !slices.Equal(got.Data, out.Data) {
		t.Error("Forward differs from the graph's")
	}
	if got, want := m.Encode(x), values["z"]; !slices.Equal(got.Data, want.Data) {
		t.Error("Encode differs from the graph's code")
	}
	if got := m.Decode(values["z"]); !slices.Equal(got.Data, out.Data) {
		t.Error("Decode of the code differs from the graph's output")
	}
}

// TestGraphModelFitSaveLoad fits a graph model that is not a chain (a
// residual block), checks that the loss falls, saves it, loads it back and
// compares the outputs bit for bit, and checks a config.json that lies
// about the graph is refused.
func TestGraphModelFitSaveLoad(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	m, err := FromGraph(residualGraph(r), BCE)
	if err != nil {
		t.Fatal(err)
	}
	data := NewTensor(64, 10)
	for i := 0; i < 64; i++ { // two kinds of rows, so that 3 codes suffice
		for j := 0; j < 10; j++ {
			if (i%2 == 0) == (j < 5) {
				data.Data[i*10+j] = 0.9
			} else {
				data.Data[i*10+j] = 0.1
			}
		}
	}
	before := Evaluate0(m, data)
	dir := t.TempDir()
	cfg := TrainConfig{Epochs: 30, Batch: 16, Seed: 1, Optimizer: OptimizerConfig{Name: "adam", LR: 1e-2}}
	res, err := Fit(m, data, cfg, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	after := Evaluate0(m, data)
	if !(after < 0.5*before) {
		t.Errorf("loss %v before, %v after 30 epochs: it did not fall by half", before, after)
	}
	_ = res
	if err := Save(dir, m, &cfg); err != nil {
		t.Fatal(err)
	}
	m2, f, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if f.Model.Variant != GraphVariant {
		t.Errorf("variant %q", f.Model.Variant)
	}
	want := slices.Clone(m.Forward(data).Data)
	if got := m2.Forward(data); !slices.Equal(got.Data, want) {
		t.Error("the loaded model's outputs differ")
	}
	c := f.Model
	c.Graph.Nodes[2].Inputs[1] = "nope"
	if err := c.Check(); err == nil {
		t.Error("a graph reading a tensor it does not have: no error")
	}
}

// Evaluate0 is the mean loss per element over data.
func Evaluate0(m *Model, data *Tensor) float64 {
	e, _ := Evaluate(m, data, 16)
	return e
}
