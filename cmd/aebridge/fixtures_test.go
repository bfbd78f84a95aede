package main

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/convert"
	"github.com/aebridge/aebridge/trainer"
)

// A fixture directory under testdata holds ONNX models written by others
// (PyTorch's exporter, or graphs made by hand in the style of tf2onnx) with
// reference inputs and outputs, listed in its manifest.json:
//
//	{"opsets": [9, 11, 13, 17], "models": [{"name": "mlp_ae",
//	  "inputs":  [{"name": "x", "file": "mlp_ae.in0.npy", "shape": [5, 64]}],
//	  "outputs": [{"name": "y", "file": "mlp_ae.out0.npy", "shape": [5, 64]}],
//	  "files":   {"9": "mlp_ae.opset9.onnx", "13": "mlp_ae.opset13.onnx"},
//	  "autoencoder": true}]}
//
// "autoencoder" (default true when the model has one input and one output of
// the same shape) says whether the model reconstructs its input, so that it
// can be fine-tuned on unlabelled data. TestEveryFixture walks every such
// manifest, so a new fixture directory is covered by adding it.
type fixtureManifest struct {
	dir    string
	Opsets []int `json:"opsets"`
	Models []struct {
		Name   string            `json:"name"`
		Inputs []fixtureIO       `json:"inputs"`
		Output []fixtureIO       `json:"outputs"`
		Files  map[string]string `json:"files"`
		// Autoencoder overrides the default guess (see above).
		Autoencoder *bool `json:"autoencoder"`
	} `json:"models"`
}

type fixtureIO struct {
	Name  string `json:"name"`
	File  string `json:"file"`
	Shape []int  `json:"shape"`
}

// fixtureMissing lists, by fixture directory and model, the op types the
// graph package does not run yet: the import must refuse those models with
// an error naming exactly these ops, and nothing else is checked of them.
var fixtureMissing = map[string][]string{}

// fixtureNoConvert lists, by fixture directory and model, the models that
// run in Go but that convert cannot make a model directory of, with the
// error it must give: the limit stays visible, and the test fails when it
// goes.
var fixtureNoConvert = map[string]string{
	// A trainer model's condition is float32 (batch, K), one-hot classes;
	// the label input of an nn.Embedding is int64 (batch).
	"layout/cvae_embedding": `trainer: graph: input "label" of shape [-1]: a condition must be float32, (batch, K)`,
}

// fixtureManifests reads testdata/*/manifest.json.
func fixtureManifests(t *testing.T) []fixtureManifest {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "..", "testdata", "*", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no testdata/*/manifest.json")
	}
	var out []fixtureManifest
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m := fixtureManifest{dir: filepath.Dir(p)}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if len(m.Models) == 0 {
			t.Fatalf("%s lists no models", p)
		}
		out = append(out, m)
	}
	return out
}

// TestEveryFixture is the conformance promise for models written by
// others: every fixture, at every opset it was exported at, imports, runs
// in Go as in ONNX Runtime and as the reference outputs say (1e-4), and,
// at its newest opset, converts to a model directory whose re-exported ONNX
// runs in ONNX Runtime as the Go graph does; an autoencoder among them
// also fine-tunes on smooth data with a falling loss.
func TestEveryFixture(t *testing.T) {
	for _, man := range fixtureManifests(t) {
		for _, m := range man.Models {
			var opsets []int
			for k := range m.Files {
				o, err := strconv.Atoi(k)
				if err != nil {
					t.Fatalf("%s: %s: files key %q is not an opset", man.dir, m.Name, k)
				}
				opsets = append(opsets, o)
			}
			if len(opsets) == 0 {
				t.Fatalf("%s: %s: no ONNX files", man.dir, m.Name)
			}
			sort.Ints(opsets)
			if missing, ok := fixtureMissing[filepath.Base(man.dir)+"/"+m.Name]; ok {
				for _, opset := range opsets {
					file := filepath.Join(man.dir, m.Files[strconv.Itoa(opset)])
					t.Run(filepath.Base(man.dir)+"/"+filepath.Base(file), func(t *testing.T) {
						_, _, err := convert.ReadGraph(file, convert.Options{})
						var ue *convert.UnsupportedError
						if !errors.As(err, &ue) || !slices.Equal(ue.Ops(), missing) {
							t.Fatalf("got %v, want an error naming the unsupported ops %v", err, missing)
						}
					})
				}
				continue
			}
			var inputs, expect []string
			for _, in := range m.Inputs {
				inputs = append(inputs, filepath.Join(man.dir, in.File))
			}
			for _, o := range m.Output {
				expect = append(expect, filepath.Join(man.dir, o.File))
			}
			for _, opset := range opsets {
				file := filepath.Join(man.dir, m.Files[strconv.Itoa(opset)])
				t.Run(filepath.Base(man.dir)+"/"+filepath.Base(file), func(t *testing.T) {
					f, out, _ := testFactory()
					opts := &checkOptions{IO: f.IO, Model: file, Inputs: inputs, Expect: expect,
						Backends: []string{"ort", "go"}, BackendsGiven: true, Atol: 1e-4, Rtol: 1e-4}
					if err := checkRun(opts); err != nil {
						t.Fatalf("%v\n%s", err, out)
					}
				})
			}
			newest := filepath.Join(man.dir, m.Files[strconv.Itoa(opsets[len(opsets)-1])])
			ae := len(m.Inputs) == 1 && len(m.Output) == 1 && slices.Equal(m.Inputs[0].Shape, m.Output[0].Shape)
			if m.Autoencoder != nil {
				ae = *m.Autoencoder
			}
			t.Run(filepath.Base(man.dir)+"/"+m.Name+"/convert", func(t *testing.T) {
				imported := filepath.Join(t.TempDir(), "imported")
				f, out, _ := testFactory()
				err := convertRun(&convertOptions{IO: f.IO, Source: newest, Out: imported})
				if want, ok := fixtureNoConvert[filepath.Base(man.dir)+"/"+m.Name]; ok {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Fatalf("got %v, want the error %q", err, want)
					}
					return
				}
				if err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
				f, out, _ = testFactory()
				if err := exportRun(&exportOptions{IO: f.IO, Dir: imported, Out: filepath.Join(imported, "model.onnx"), Part: "full", Opset: 17}); err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
				f, out, _ = testFactory()
				if err := checkRun(&checkOptions{IO: f.IO, Model: imported, Inputs: inputs, Expect: expect,
					Backends: []string{"ort", "go"}, BackendsGiven: true, Atol: 1e-4, Rtol: 1e-4}); err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
				if ae {
					fineTuneFixture(t, imported, m.Inputs[0].Shape[1:])
				}
			})
		}
	}
}

// fineTuneFixture fine-tunes an imported autoencoder on smooth data of
// its input's shape and checks that the loss falls clearly and that the
// tuned model's export runs in ONNX Runtime as the Go graph does.
func fineTuneFixture(t *testing.T, imported string, shape []int) {
	t.Helper()
	per := 1
	for _, d := range shape {
		per *= d
	}
	const n = 128
	values := make([]float32, n*per)
	for i := range values {
		s, k := i/per, i%per
		values[i] = float32(0.5 + 0.4*math.Sin(float64(k)*0.7+float64(s%4)))
	}
	data := filepath.Join(t.TempDir(), "x.npy")
	writeNPYArray(t, data, append([]int{n}, shape...), values)
	tuned := filepath.Join(t.TempDir(), "tuned")
	f, out, _ := testFactory()
	opts := &trainOptions{IO: f.IO, Out: tuned, Opset: 17, From: imported,
		Training: trainer.TrainConfig{Optimizer: trainer.OptimizerConfig{Name: "adam", LR: 3e-3}, Epochs: 8, Batch: 16, Seed: 1, ValSplit: 0.25, Data: data}}
	if err := trainRun(opts); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	before, _, err := trainer.Load(imported)
	if err != nil {
		t.Fatal(err)
	}
	after, _, err := trainer.Load(tuned)
	if err != nil {
		t.Fatal(err)
	}
	x := &trainer.Tensor{Shape: append([]int{n}, shape...), Data: values}
	lb, _ := trainer.Evaluate(before, x, n)
	la, _ := trainer.Evaluate(after, x, n)
	if !(la < 0.9*lb) {
		t.Errorf("fine-tuning did not lower the loss clearly: %.5f → %.5f", lb, la)
	}
	f, out, _ = testFactory()
	if err := checkRun(&checkOptions{IO: f.IO, Model: tuned, Inputs: []string{data}, Backends: []string{"ort", "go"}, BackendsGiven: true, Atol: 1e-5, Rtol: 1e-5}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
