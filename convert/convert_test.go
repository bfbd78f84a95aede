package convert

import (
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/aebridge/aebridge/trainer"
)

const fixtures = "../testdata/pytorch"

func readTensor(t *testing.T, path string) *trainer.Tensor {
	t.Helper()
	a := readNPY(t, path)
	return &trainer.Tensor{Shape: a.Shape, Data: a.Data}
}

func closeTo(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst := 0.0
	for i := range got {
		d := math.Abs(float64(got[i] - want[i]))
		worst = math.Max(worst, d)
		if d > 1e-5+1e-5*math.Abs(float64(want[i])) {
			t.Fatalf("%s: element %d: got %v, want %v", what, i, got[i], want[i])
		}
	}
	t.Logf("%s: max |Δ| %.2e", what, worst)
}

// notChains is, per fixture that is not a chain of layers, the op of the
// node that joins two branches: the chain importer (ReadFile) must refuse
// it with an UnsupportedError naming that node. ReadGraph reads these
// fixtures (TestReadGraphFixtures).
var notChains = map[string]string{
	"residual_ae": "Add",    // the residual skip
	"unet_ae":     "Concat", // the U-Net skip
}

// TestPyTorchFixturesConvertAndMatch converts every PyTorch export in
// testdata/pytorch (opsets 9, 13, 17) and runs the Go forward pass against
// PyTorch's saved outputs; a fixture of notChains must be refused.
func TestPyTorchFixturesConvertAndMatch(t *testing.T) {
	opsets, models := readManifest(t)
	for _, fm := range models {
		for _, opset := range opsets {
			file, ok := fm.Files[strconv.Itoa(opset)]
			if !ok {
				continue // PyTorch could not export this model at this opset
			}
			t.Run(file, func(t *testing.T) {
				m, err := ReadFile(filepath.Join(fixtures, file), Options{})
				if op, ok := notChains[fm.Name]; ok {
					var ue *UnsupportedError
					if !errors.As(err, &ue) || !slices.Equal(ue.Ops(), []string{op}) {
						t.Fatalf("got %v, want an UnsupportedError for one %s node", err, op)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				var inputs []*trainer.Tensor
				for _, in := range fm.Inputs {
					inputs = append(inputs, readTensor(t, filepath.Join(fixtures, in.File)))
				}
				got, err := m.Run(inputs...)
				if err != nil {
					t.Fatal(err)
				}
				for j, out := range fm.Outputs {
					closeTo(t, "output "+strconv.Itoa(j), got[j].Data, readTensor(t, filepath.Join(fixtures, out.File)).Data)
				}
				if fm.Name == "tied_ae" {
					// F.linear(h, W.t()) is recognised as a tied layer.
					tied := 0
					for _, s := range m.Config.Decoder {
						if s.TiedTo != "" {
							tied++
						}
					}
					if tied != 2 {
						t.Errorf("tied layers: got %d, want 2:\n%s", tied, m.Model)
					}
				}
			})
		}
	}
}

func TestDynamoExportsConvert(t *testing.T) {
	for _, name := range []string{"dynamo_mlp_ae", "dynamo_conv_bn_ae"} {
		t.Run(name, func(t *testing.T) {
			dir := "../testdata/torch2-dynamo"
			m, err := ReadFile(filepath.Join(dir, name+".onnx"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Run(readTensor(t, filepath.Join(dir, name+".in0.npy")))
			if err != nil {
				t.Fatal(err)
			}
			closeTo(t, "y", got[0].Data, readTensor(t, filepath.Join(dir, name+".out0.npy")).Data)
			t.Log(m.Model)
		})
	}
}
