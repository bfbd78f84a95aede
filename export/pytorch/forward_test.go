package pytorch_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/convert"
	"github.com/aebridge/aebridge/export/pytorch"
	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/trainer"
)

// python returns the interpreter with PyTorch that AEBRIDGE_PYTHON names.
// Under CI (CI set) a missing one fails the test; elsewhere it skips it.
func python(t *testing.T) string {
	t.Helper()
	py := os.Getenv("AEBRIDGE_PYTHON")
	if py == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("AEBRIDGE_PYTHON is not set: CI must run this test against PyTorch (make test sets it)")
		}
		t.Skip("AEBRIDGE_PYTHON not set (make test sets it): the generated PyTorch code was not run")
	}
	return py
}

// variantGraphs returns the graph of every trainer variant (each MLP
// variant, tied, each convolutional decoder with batch normalisation and
// dropout, average pooling, conv1d, a convolutional VAE), with random
// weights and, for batch normalisation, random running statistics.
func variantGraphs(t *testing.T) map[string]*graph.Graph {
	t.Helper()
	configs := map[string]trainer.Config{}
	add := func(name string, c trainer.Config, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		configs[name] = c
	}
	for _, v := range trainer.MLPVariants {
		o := trainer.MLP{Variant: v, Input: 12, Hidden: []int{7}, Latent: 3, Activation: "gelu"}
		switch v {
		case "linear":
			o.Activation = ""
		case "cvae":
			o.Condition = 2
		case "sparse-kl":
			o.Activation = "elu"
		}
		c, err := o.Config()
		add(v, c, err)
	}
	c, err := trainer.MLP{Variant: "ae", Tied: true, Input: 12, Hidden: []int{7}, Latent: 3, Activation: "tanh"}.Config()
	add("ae-tied", c, err)
	for _, dec := range trainer.ConvDecoders {
		c, err := trainer.ConvNet{Variant: "conv", Input: []int{1, 8, 8}, Channels: []int{3, 2}, Kernel: 3, Decoder: dec, Pool: "max", BatchNorm: true, Dropout: 0.1, Latent: 4}.Config()
		add("conv-"+dec, c, err)
	}
	c, err = trainer.ConvNet{Variant: "conv", Input: []int{1, 8, 8}, Channels: []int{3}, Kernel: 3, Stride: 2, Pool: "avg", Decoder: "transposed"}.Config()
	add("conv-avg-stride", c, err)
	c, err = trainer.ConvNet{Variant: "conv1d", Input: []int{2, 12}, Channels: []int{3}, Kernel: 3, Pool: "max"}.Config()
	add("conv1d", c, err)
	c, err = trainer.ConvNet{Variant: "conv", Input: []int{1, 8, 8}, Channels: []int{2}, Kernel: 3, Pool: "max", Latent: 3, Variational: true}.Config()
	add("conv-vae", c, err)
	c, err = trainer.ConvNet{Variant: "conv", Input: []int{1, 8, 8}, Channels: []int{2}, Kernel: 3, Pool: "max", Latent: 3, Variational: true, Condition: 2}.Config()
	add("conv-cvae", c, err)
	r := rand.New(rand.NewPCG(1, 2))
	out := map[string]*graph.Graph{}
	for name, c := range configs {
		c.InitSeed = 7
		m, err := trainer.Build(c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		g, err := m.Graph()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for pname, p := range g.Params {
			if strings.HasSuffix(pname, ".running_mean") || strings.HasSuffix(pname, ".running_var") {
				for i := range p.Data {
					p.Data[i] = float32(0.5 + r.Float64())
				}
			}
		}
		out[name] = g
	}
	return out
}

// fixtureGraphs reads every model of testdata/pytorch/manifest.json (its
// opset-17 file) that convert imports; the others are listed.
func fixtureGraphs(t *testing.T) (map[string]*graph.Graph, []string) {
	t.Helper()
	b, err := os.ReadFile("../../testdata/pytorch/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Models []struct {
			Name  string
			Files map[string]string
		}
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	out := map[string]*graph.Graph{}
	var skipped []string
	for _, m := range man.Models {
		g, _, err := convert.ReadGraph(filepath.Join("../../testdata/pytorch", m.Files["17"]), convert.Options{})
		var unsupported *convert.UnsupportedError
		if errors.As(err, &unsupported) {
			skipped = append(skipped, m.Name)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		out["fixture-"+m.Name] = g
	}
	return out, skipped
}

// TestForwardEqualsGo generates the package of every trainer variant and
// every imported PyTorch fixture, runs each model.py's forward (one
// Python process for all) on random inputs, and compares what it returns
// with the Go graph's forward pass on the same inputs: the graph's
// outputs, and a VAE's μ and log σ², within 1e-5. It also checks that
// the module's state_dict() keys are the graph's parameter names, but
// for those the package renames.
func TestForwardEqualsGo(t *testing.T) {
	py := python(t)
	graphs := variantGraphs(t)
	fixtures, skipped := fixtureGraphs(t)
	if len(skipped) > 0 {
		t.Logf("fixtures convert does not import (not graphs aebridge holds): %v", skipped)
	}
	for name, g := range fixtures {
		graphs[name] = g
	}
	graphs["ops"] = opsGraph()
	graphs["pools"] = poolsGraph()
	graphs["embedding"] = embeddingGraph()
	root := t.TempDir()
	type want struct {
		outputs []*graph.Tensor
		returns []string
		keys    []string
	}
	wants := map[string]want{}
	type spec struct {
		Name   string   `json:"name"`
		Dir    string   `json:"dir"`
		Inputs []string `json:"inputs"`
		Types  []string `json:"types"`
	}
	var specs []spec
	r := rand.New(rand.NewPCG(3, 4))
	for _, name := range sortedKeys(graphs) {
		g := graphs[name]
		p, err := pytorch.Generate(g, pytorch.DefaultRecipe("mse"), pytorch.Options{Source: name, Version: "test"})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		dir := filepath.Join(root, name)
		if err := p.WriteDir(dir); err != nil {
			t.Fatal(err)
		}
		inputs := map[string]*graph.Tensor{}
		s := spec{Name: name, Dir: dir}
		for i, v := range g.Inputs {
			shape := slices.Clone(v.Shape)
			shape[0] = 3
			x := graph.NewTensor(shape...)
			for k := range x.Data {
				x.Data[k] = float32(r.Float64())
			}
			typ := "float32"
			if v.Type == graph.Int64 {
				// Indices below 10, written as float32 (exact) and read as int64.
				typ = "int64"
				values := make([]int64, len(x.Data))
				for k := range x.Data {
					values[k] = int64(r.IntN(10))
					x.Data[k] = float32(values[k])
				}
				inputs[v.Name] = graph.NewInt64Tensor(values, shape...)
			} else {
				inputs[v.Name] = x
			}
			f := filepath.Join(dir, fmt.Sprintf("in%d.npy", i))
			if err := npy.WriteFile(f, x.Shape, x.Data); err != nil {
				t.Fatal(err)
			}
			s.Inputs = append(s.Inputs, f)
			s.Types = append(s.Types, typ)
		}
		values, err := g.Forward(inputs)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		w := want{returns: p.Returns}
		for _, o := range p.Returns {
			w.outputs = append(w.outputs, values[o])
		}
		for gname, t := range g.Params {
			if t.Type != graph.Float32 || slices.Contains(p.Inlined, gname) || !readAsTensor(g, gname) {
				continue
			}
			key := gname
			for k, v := range p.Names {
				if v == gname {
					key = k
				}
			}
			w.keys = append(w.keys, key)
		}
		slices.Sort(w.keys)
		wants[name] = w
		specs = append(specs, s)
	}
	sb, err := json.Marshal(specs)
	if err != nil {
		t.Fatal(err)
	}
	specFile := filepath.Join(root, "spec.json")
	if err := os.WriteFile(specFile, sb, 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(py, "../../testdata/pytorch/check_export.py", specFile)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	seen := map[string]bool{}
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var res struct {
			Name     string
			OK       bool
			Error    string
			Returned int
			Keys     []string `json:"state_dict_keys"`
		}
		if err := json.Unmarshal(line, &res); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		seen[res.Name] = true
		t.Run(res.Name, func(t *testing.T) {
			w := wants[res.Name]
			if !res.OK {
				t.Fatalf("model.py: %s", res.Error)
			}
			if !slices.Equal(res.Keys, w.keys) {
				t.Errorf("state_dict keys: got %v, want %v", res.Keys, w.keys)
			}
			if res.Returned != len(w.outputs) {
				t.Fatalf("forward returned %d tensors, want %d (%v)", res.Returned, len(w.outputs), w.returns)
			}
			for i, o := range w.outputs {
				got, err := npy.ReadFile(filepath.Join(root, res.Name, fmt.Sprintf("got%d.npy", i)))
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.Shape, o.Shape) {
					t.Fatalf("%s: shape: got %v, want %v", w.returns[i], got.Shape, o.Shape)
				}
				worst := 0.0
				for k := range o.Data {
					d := math.Abs(float64(got.Data[k] - o.Data[k]))
					if !(d <= 1e-5) {
						t.Fatalf("%s[%d]: got %v, want %v (Go)", w.returns[i], k, got.Data[k], o.Data[k])
					}
					worst = max(worst, d)
				}
				t.Logf("%s: max |PyTorch − Go| = %.3g", w.returns[i], worst)
			}
		})
	}
	for name := range wants {
		if !seen[name] {
			t.Errorf("%s: no result from check_export.py", name)
		}
	}
}

// readAsTensor reports whether a node reads parameter name at an input
// that the generated code takes as a tensor (not Resize's scales, Dropout's
// ratio).
func readAsTensor(g *graph.Graph, name string) bool {
	for _, n := range g.Nodes {
		for k, in := range n.Inputs {
			if in == name && !((n.Op == "Resize" && k >= 1) || (n.Op == "Dropout" && k >= 1)) {
				return true
			}
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
