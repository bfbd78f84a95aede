package convert

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/npy"
)

// graphMissing is, per fixture, the op types that the graph package on
// this branch does not run yet (after the opset upgrades: Upsample is
// listed as Resize). An empty list means that the fixture must read and
// match its reference. As operator families arrive, their ops leave these
// lists; a fixture that reads without error is compared with its
// reference whatever its list says, and then fails until its list is
// emptied.
var graphMissing = map[string][]string{
	"mlp_ae":             nil,
	"tied_ae":            nil,
	"vae_encoder":        nil,
	"vae_mean":           nil,
	"cvae_decoder":       nil,
	"activations_ae":     nil,
	"mlp_batchnorm_ae":   nil,
	"conv1d_ae":          nil,
	"conv_dense_ae":      nil,
	"conv_keras_ae":      nil,
	"conv_transposed_ae": nil,
	"conv_unflatten_ae":  nil,
	"conv_upsample_ae":   nil,
	"residual_ae":        nil,
	"unet_ae":            nil,
	"dynamo_mlp_ae":      nil,
	"dynamo_conv_bn_ae":  nil,
}

// readNPY reads a float32 .npy file as a graph tensor.
func readNPY(t *testing.T, path string) *graph.Tensor {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return &graph.Tensor{Shape: a.Shape, Data: a.Data}
}

// graphFixture is one ONNX file with its reference inputs and outputs.
type graphFixture struct {
	model, file   string
	inputs, wants []string
}

// fixtureModel is one model of testdata/pytorch/manifest.json: its
// reference inputs and outputs, and its ONNX file at each opset PyTorch
// could export it at.
type fixtureModel struct {
	Name   string `json:"name"`
	Inputs []struct {
		File string `json:"file"`
	} `json:"inputs"`
	Outputs []struct {
		File string `json:"file"`
	} `json:"outputs"`
	Files map[string]string `json:"files"`
}

// readManifest reads the fixtures' manifest: the opsets and the models.
func readManifest(t *testing.T) ([]int, []fixtureModel) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Opsets []int          `json:"opsets"`
		Models []fixtureModel `json:"models"`
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	return man.Opsets, man.Models
}

// graphFixtures lists the PyTorch fixtures (every opset the manifest has)
// and the dynamo exports.
func graphFixtures(t *testing.T) []graphFixture {
	opsets, models := readManifest(t)
	var out []graphFixture
	for _, m := range models {
		for _, opset := range opsets {
			file, ok := m.Files[strconv.Itoa(opset)]
			if !ok {
				continue
			}
			f := graphFixture{model: m.Name, file: filepath.Join(fixtures, file)}
			for _, in := range m.Inputs {
				f.inputs = append(f.inputs, filepath.Join(fixtures, in.File))
			}
			for _, o := range m.Outputs {
				f.wants = append(f.wants, filepath.Join(fixtures, o.File))
			}
			out = append(out, f)
		}
	}
	dir := "../testdata/torch2-dynamo"
	for _, name := range []string{"dynamo_mlp_ae", "dynamo_conv_bn_ae"} {
		out = append(out, graphFixture{model: name, file: filepath.Join(dir, name+".onnx"),
			inputs: []string{filepath.Join(dir, name+".in0.npy")}, wants: []string{filepath.Join(dir, name+".out0.npy")}})
	}
	return out
}

// TestReadGraphFixtures reads every PyTorch fixture into a graph; where
// the graph runs every op, its Forward must match PyTorch's outputs to
// 1e-5, and where it does not, the error must list exactly the missing
// ops of graphMissing.
func TestReadGraphFixtures(t *testing.T) {
	for _, f := range graphFixtures(t) {
		t.Run(filepath.Base(f.file), func(t *testing.T) {
			missing, ok := graphMissing[f.model]
			if !ok {
				t.Fatalf("model %s has no entry in graphMissing", f.model)
			}
			g, info, err := ReadGraph(f.file, Options{})
			var ue *UnsupportedError
			if errors.As(err, &ue) {
				if got := ue.Ops(); !slices.Equal(got, missing) {
					t.Fatalf("missing ops: got %v, want %v\n%v", got, missing, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(missing) > 0 {
				t.Errorf("read without error, but graphMissing lists %v: empty its list", missing)
			}
			if info.Opset < 9 || !strings.HasPrefix(info.Producer, "pytorch") {
				t.Errorf("info: opset %d, producer %q", info.Opset, info.Producer)
			}
			inputs := map[string]*graph.Tensor{}
			for k, path := range f.inputs {
				inputs[g.Inputs[k].Name] = readNPY(t, path)
			}
			values, err := g.Forward(inputs)
			if err != nil {
				t.Fatal(err)
			}
			for k, path := range f.wants {
				graphClose(t, g.Outputs[k], values[g.Outputs[k]], readNPY(t, path), 1e-5)
			}
		})
	}
}

// graphClose fails unless got has want's shape and values to tol,
// relative and absolute; a NaN fails.
func graphClose(t *testing.T, what string, got, want *graph.Tensor, tol float64) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: no value", what)
	}
	if !slices.Equal(got.Shape, want.Shape) {
		t.Fatalf("%s: shape: got %v, want %v", what, got.Shape, want.Shape)
	}
	worst := 0.0
	for i := range want.Data {
		d := math.Abs(float64(got.Data[i] - want.Data[i]))
		if !(d <= tol+tol*math.Abs(float64(want.Data[i]))) {
			t.Fatalf("%s: element %d: got %v, want %v", what, i, got.Data[i], want.Data[i])
		}
		worst = math.Max(worst, d)
	}
	t.Logf("%s: max |Δ| %.2e", what, worst)
}
