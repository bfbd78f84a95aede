package export_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/trainer"
)

// variants are the MLP-family models every conformance test exports: each
// variant of the trainer issue, and together every activation.
var variants = []struct {
	name string
	mlp  trainer.MLP
}{
	{"deep", trainer.MLP{Variant: "ae", Input: 20, Hidden: []int{16, 12}, Latent: 6}},
	{"overcomplete", trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{12}, Latent: 16, Activation: "elu", CodeActivation: "softplus"}},
	{"tied", trainer.MLP{Variant: "tied", Input: 20, Hidden: []int{10}, Latent: 4, Activation: "tanh", CodeActivation: "leaky_relu"}},
	{"linear", trainer.MLP{Variant: "linear", Input: 20, Latent: 5}},
	{"gelu", trainer.MLP{Variant: "ae", Input: 12, Hidden: []int{9}, Latent: 3, Activation: "gelu", CodeActivation: "silu", OutputActivation: "identity"}},
	{"gelu-tanh", trainer.MLP{Variant: "tied", Input: 12, Hidden: []int{9}, Latent: 3, Activation: "gelu", OutputActivation: "tanh"}},
	{"sparse-l1", trainer.MLP{Variant: "sparse-l1", Tied: true, Input: 16, Hidden: []int{8}, Latent: 6, CodeActivation: "relu"}},
	{"sparse-kl", trainer.MLP{Variant: "sparse-kl", Input: 16, Hidden: []int{8}, Latent: 6}},
	{"denoising", trainer.MLP{Variant: "denoising", Input: 16, Hidden: []int{10}, Latent: 4, Loss: trainer.BCE}},
	{"contractive", trainer.MLP{Variant: "contractive", Input: 16, Latent: 5, CodeActivation: "sigmoid"}},
}

var opsets = []int{11, 13, 17}

// build returns a model of the variant with random weights and non-zero
// biases, and the GELU layers of the "gelu-tanh" variant in tanh form.
func build(t *testing.T, name string, o trainer.MLP) *trainer.Model {
	t.Helper()
	c, err := o.Config()
	if err != nil {
		t.Fatal(err)
	}
	if name == "gelu-tanh" {
		for _, s := range [][]trainer.LayerSpec{c.Encoder, c.Decoder} {
			for i := range s {
				if s[i].Type == "gelu" {
					s[i].Approximate = "tanh"
				}
			}
		}
	}
	m, err := trainer.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(42)
	rng := rand.New(rand.NewPCG(4, 2))
	for _, p := range m.Params() {
		for i := range p.Value.Data {
			p.Value.Data[i] += float32(0.2 * (rng.Float64() - 0.5))
		}
	}
	return m
}

func input(rows, cols int, seed uint64) *trainer.Tensor {
	rng := rand.New(rand.NewPCG(seed, 9))
	x := trainer.NewTensor(rows, cols)
	for i := range x.Data {
		x.Data[i] = float32(rng.Float64())
	}
	return x
}

// closeEnough checks |got − want| ≤ 1e-5 + 1e-5·|want| elementwise.
func closeEnough(t *testing.T, what string, got []float32, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	worst := 0.0
	for i := range got {
		d := math.Abs(float64(got[i] - want[i]))
		worst = math.Max(worst, d)
		if d > 1e-5+1e-5*math.Abs(float64(want[i])) {
			t.Errorf("%s: element %d: got %v, want %v", what, i, got[i], want[i])
			return
		}
	}
	t.Logf("%s: max |Δ| %.2e", what, worst)
}

func runORT(t *testing.T, path string, x *trainer.Tensor) []float32 {
	t.Helper()
	m, err := runtime.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out, err := m.Run(runtime.Tensor{Shape: []int64{int64(x.Rows()), int64(x.Cols())}, Data: x.Data})
	if err != nil {
		t.Fatal(err)
	}
	return out[0].Data
}

// TestGoForwardMatchesONNXRuntime exports every variant's three graphs at
// opsets 11, 13 and 17 and checks ONNX Runtime against the Go forward pass
// on inputs the model was not built from.
func TestGoForwardMatchesONNXRuntime(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for _, v := range variants {
		m := build(t, v.name, v.mlp)
		x := input(7, v.mlp.Input, 1)
		wantFull := m.Forward(x).Clone()
		wantCode := m.Encode(x).Clone()
		z := input(7, product(m.CodeShape()), 2)
		wantDec := m.Decode(z).Clone()
		for _, opset := range opsets {
			w := export.Writer{Opset: opset}
			for _, part := range []export.Part{export.Full, export.Encoder, export.Decoder} {
				path := filepath.Join(dir, fmt.Sprintf("%s.%s.opset%d.onnx", v.name, part, opset))
				if err := w.WriteFile(path, m, part); err != nil {
					t.Fatal(err)
				}
				files = append(files, path)
				t.Run(filepath.Base(path), func(t *testing.T) {
					switch part {
					case export.Full:
						closeEnough(t, "x_hat", runORT(t, path, x), wantFull.Data)
					case export.Encoder:
						closeEnough(t, "z", runORT(t, path, x), wantCode.Data)
					case export.Decoder:
						closeEnough(t, "x_hat", runORT(t, path, z), wantDec.Data)
					}
				})
			}
		}
	}
	checkWithONNX(t, files)
}

// checkWithONNX runs onnx.checker.check_model(full_check=True) on files,
// with the Python make test names (it installs python3-onnx).
func checkWithONNX(t *testing.T, files []string) {
	py := os.Getenv("AEBRIDGE_PYTHON")
	if py == "" {
		t.Log("AEBRIDGE_PYTHON not set: onnx.checker not run (make test sets it)")
		return
	}
	script := `import sys, onnx
for f in sys.argv[1:]:
    onnx.checker.check_model(onnx.load(f), full_check=True)
print(len(sys.argv) - 1, "checked")`
	out, err := exec.Command(py, append([]string{"-c", script}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("onnx.checker: %v\n%s", err, out)
	}
	if want := fmt.Sprintf("%d checked", len(files)); !strings.Contains(string(out), want) {
		t.Errorf("onnx.checker printed %q, want %q", out, want)
	}
}

func TestWriterRejectsUnsupportedOpset(t *testing.T) {
	m := build(t, "linear", variants[3].mlp)
	for _, opset := range []int{10, 19} {
		_, err := export.Writer{Opset: opset}.Marshal(m, export.Full)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("opset %d is not supported (want 11 to 18)", opset)) {
			t.Errorf("opset %d: got %v", opset, err)
		}
	}
}

func TestMetadataDescribesTheModel(t *testing.T) {
	m := build(t, "tied", variants[2].mlp)
	path := filepath.Join(t.TempDir(), "m.onnx")
	tc := &trainer.TrainConfig{Optimizer: trainer.OptimizerConfig{Name: "adam", LR: 1e-3}, Epochs: 3, Batch: 8, Seed: 1}
	if err := (export.Writer{Training: tc}).WriteFile(path, m, export.Encoder); err != nil {
		t.Fatal(err)
	}
	info, err := runtime.Inspect(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"variant": "tied", "part": "encoder", "input_shape": "[20]", "latent": "4", "loss": "mse", "aebridge_version": trainer.Version}
	for k, v := range want {
		if info.Metadata[k] != v {
			t.Errorf("metadata %q: got %q, want %q", k, info.Metadata[k], v)
		}
	}
	if !strings.Contains(info.Metadata["training"], `"seed":1`) || !strings.Contains(info.Metadata["model"], `"tied_to":"encoder.0"`) {
		t.Errorf("metadata training/model: %q / %q", info.Metadata["training"], info.Metadata["model"])
	}
	if info.Producer != "aebridge" || info.Opsets[0].Version != 13 || info.IRVersion != 7 {
		t.Errorf("producer %q, opset %v, IR %d; want aebridge, 13, 7", info.Producer, info.Opsets, info.IRVersion)
	}
	if in := info.Inputs[0]; in.Name != "x" || in.ShapeString() != "[batch 20]" {
		t.Errorf("input: got %s %s", in.Name, in.ShapeString())
	}
	if info.Outputs[0].Name != "z" || info.Outputs[0].ShapeString() != "[batch 4]" {
		t.Errorf("output: got %s %s", info.Outputs[0].Name, info.Outputs[0].ShapeString())
	}
}

// TestMetadataRecordsInputScaling checks the input-scaling rule each part
// records, and that runtime reads it back.
func TestMetadataRecordsInputScaling(t *testing.T) {
	m := build(t, "deep", variants[0].mlp)
	tc := &trainer.TrainConfig{Optimizer: trainer.OptimizerConfig{Name: "adam", LR: 1e-3}, Epochs: 1, Batch: 8, Seed: 1}
	tests := []struct {
		name      string
		w         export.Writer
		part      export.Part
		wantScale string // "" for no key
		wantRange string
		want      runtime.InputScaling
	}{
		{"trained here, full", export.Writer{Training: tc, InputRange: []float64{0, 1}}, export.Full, "1/255", "[0,1]", runtime.InputScaling{Input: "x", Divisor: 255, Range: []float64{0, 1}}},
		{"trained here, encoder", export.Writer{Training: tc, InputRange: []float64{-0.5, 2.25}}, export.Encoder, "1/255", "[-0.5,2.25]", runtime.InputScaling{Input: "x", Divisor: 255, Range: []float64{-0.5, 2.25}}},
		{"trained here, no range", export.Writer{Training: tc}, export.Full, "1/255", "", runtime.InputScaling{Input: "x", Divisor: 255}},
		{"trained elsewhere", export.Writer{}, export.Encoder, "none", "", runtime.InputScaling{Input: "x"}},
		{"decoder", export.Writer{Training: tc, InputRange: []float64{0, 1}}, export.Decoder, "", "", runtime.InputScaling{}},
	}
	if export.InputScaleKey != runtime.InputScaleKey || export.InputRangeKey != runtime.InputRangeKey {
		t.Fatalf("keys: export writes %q, %q; runtime reads %q, %q", export.InputScaleKey, export.InputRangeKey, runtime.InputScaleKey, runtime.InputRangeKey)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.onnx")
			if err := tt.w.WriteFile(path, m, tt.part); err != nil {
				t.Fatal(err)
			}
			info, err := runtime.Inspect(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Metadata[export.InputScaleKey]; got != tt.wantScale {
				t.Errorf("%s: got %q, want %q", export.InputScaleKey, got, tt.wantScale)
			}
			if got := info.Metadata[export.InputRangeKey]; got != tt.wantRange {
				t.Errorf("%s: got %q, want %q", export.InputRangeKey, got, tt.wantRange)
			}
			got, err := info.InputScaling()
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("InputScaling: got %+v, %v, want %+v", got, err, tt.want)
			}
		})
	}
	_, err := export.Writer{Training: tc, InputRange: []float64{1, 0}}.Marshal(m, export.Full)
	if want := "export: input range [1 0]: want [min, max] of finite numbers, min ≤ max"; err == nil || err.Error() != want {
		t.Errorf("reversed range: got %v, want %q", err, want)
	}
}
