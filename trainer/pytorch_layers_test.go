package trainer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aebridge/aebridge/internal/npy"
)

const layerFixtures = "../testdata/pytorch/layers"

type layerCase struct {
	Name       string            `json:"name"`
	Spec       LayerSpec         `json:"spec"`
	Input      string            `json:"input"`
	Output     string            `json:"output"`
	Tensors    map[string]string `json:"tensors"`
	Indices    string            `json:"indices"`
	Unpooled   string            `json:"unpooled"`
	After      map[string]string `json:"after"`
	EvalInput  string            `json:"eval_input"`
	EvalOutput string            `json:"eval_output"`
}

func readFixture(t *testing.T, file string) *Tensor {
	t.Helper()
	a, err := npy.ReadFile(filepath.Join(layerFixtures, file))
	if err != nil {
		t.Fatal(err)
	}
	return &Tensor{Shape: a.Shape, Data: a.Data}
}

// TestLayersMatchPyTorch runs each layer on the inputs and weights that
// testdata/pytorch/make_layer_fixtures.py gave PyTorch and compares the
// outputs (|Δ| ≤ 1e-5 + 1e-5·|ref|); for pooling also the indices and
// max-unpooling, for batch norm also the running statistics and the
// inference output.
func TestLayersMatchPyTorch(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(layerFixtures, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Cases []layerCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Cases) < 15 {
		t.Fatalf("%d cases, want 15", len(fx.Cases))
	}
	for _, c := range fx.Cases {
		t.Run(c.Name, func(t *testing.T) {
			x := readFixture(t, c.Input)
			bld := builder{built: map[string]Layer{}, inShapes: map[string][]int{}, shape: x.Shape[1:]}
			l, err := bld.layer("layer", c.Spec)
			if err != nil {
				t.Fatal(err)
			}
			params := map[string]*Param{}
			for _, p := range l.Params() {
				params[p.Name] = p
			}
			if st, ok := l.(stateful); ok {
				for _, p := range st.Buffers() {
					params[p.Name] = p
				}
			}
			for key, file := range c.Tensors {
				p, ok := params["layer."+key]
				if !ok {
					t.Fatalf("the layer has no tensor %q", key)
				}
				v := readFixture(t, file)
				if len(v.Data) != p.Value.Len() {
					t.Fatalf("%s: %d values, the layer holds %d", key, len(v.Data), p.Value.Len())
				}
				copy(p.Value.Data, v.Data)
			}
			if md, ok := l.(modal); ok {
				md.setTraining(true, nil)
			}
			y := &Tensor{}
			l.Forward(y, x)
			want := readFixture(t, c.Output)
			if !slices.Equal(y.Shape, want.Shape) {
				t.Fatalf("output shape %v, PyTorch's %v", y.Shape, want.Shape)
			}
			assertClose(t, "output", y.Data, to64(want.Data), 1e-5, 1e-5)
			if c.Indices != "" {
				pool := l.(*MaxPool)
				idx := readFixture(t, c.Indices)
				// PyTorch's index is within the plane; ours, ONNX's, is
				// flat over the input: the plane's offset more.
				planes := x.Shape[0] * x.Shape[1]
				plane, per := x.Len()/planes, len(pool.Indices)/planes
				for i, v := range idx.Data {
					if want := int64(v) + int64(i/per*plane); want != pool.Indices[i] {
						t.Fatalf("index %d: got %d, PyTorch %v (flat %d)", i, pool.Indices[i], v, want)
					}
				}
				u := &MaxUnpool{Pool: pool, Of: "layer", Out: x.Shape[1:]}
				back := &Tensor{}
				u.Forward(back, y)
				assertClose(t, "unpooled", back.Data, to64(readFixture(t, c.Unpooled).Data), 0, 0)
			}
			for key, file := range c.After {
				assertClose(t, "after training step: "+key, params["layer."+key].Value.Data, to64(readFixture(t, file).Data), 1e-6, 1e-5)
			}
			if c.EvalInput != "" {
				l.(modal).setTraining(false, nil)
				l.Forward(y, readFixture(t, c.EvalInput))
				assertClose(t, "inference output", y.Data, to64(readFixture(t, c.EvalOutput).Data), 1e-5, 1e-5)
			}
		})
	}
}
