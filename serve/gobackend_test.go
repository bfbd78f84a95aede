package serve

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/backend"
	"github.com/aebridge/aebridge/runtime"
)

// goFixtures are the PyTorch fixtures served with the go backend.
var goFixtures = []string{"mlp_ae", "conv_transposed_ae", "conv_dense_ae", "residual_ae", "unet_ae", "cvae_decoder", "vae_encoder"}

// newGoTestServer serves the fixtures named with the go backend.
func newGoTestServer(t testing.TB, opts Options, names ...string) *httptest.Server {
	t.Helper()
	var models []*Model
	for _, n := range names {
		m, err := LoadGo(n + "=" + fixture(n))
		if err != nil {
			t.Fatal(err)
		}
		models = append(models, m)
	}
	s, err := New(models, opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return ts
}

// within reports whether got and want have the same length and differ by
// at most tol everywhere.
func within(got, want []float32, tol float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !(math.Abs(float64(got[i])-float64(want[i])) <= tol) {
			return false
		}
	}
	return true
}

func fixtureInputs(t *testing.T, name string, info *runtime.Info) ([]runtime.Tensor, []string) {
	t.Helper()
	var inputs []runtime.Tensor
	var names []string
	for i, io := range info.Inputs {
		inputs = append(inputs, readNPYFile(t, filepath.Join(fixtures, fmt.Sprintf("%s.in%d.npy", name, i))))
		names = append(names, io.Name)
	}
	return inputs, names
}

// TestGoBackendInferMatches serves the fixtures with the go backend and
// with ONNX Runtime: /infer gives the graph backend's outputs bit for bit
// (what aebridge run --backend go writes) and ONNX Runtime's within 1e-5,
// with dynamic batching off and on; the metadata says the backend.
func TestGoBackendInferMatches(t *testing.T) {
	for _, batch := range []int{0, 8} {
		goTS := newGoTestServer(t, Options{MaxBatch: batch}, goFixtures...)
		_, ortTS := newTestServer(t, Options{MaxBatch: batch}, goFixtures...)
		for _, name := range goFixtures {
			t.Run(fmt.Sprintf("%s/max-batch=%d", name, batch), func(t *testing.T) {
				info, err := runtime.Inspect(fixture(name))
				if err != nil {
					t.Fatal(err)
				}
				inputs, inNames := fixtureInputs(t, name, info)
				g, err := backend.OpenGraph(fixture(name))
				if err != nil {
					t.Fatal(err)
				}
				want, err := g.Run(inputs)
				if err != nil {
					t.Fatal(err)
				}
				var results [2]inferResponse
				for i, base := range []string{goTS.URL, ortTS.URL} {
					r := do(t, "POST", base+"/v2/models/"+name+"/infer", tensorRequest(inNames, inputs, false), nil)
					if r.code != 200 {
						t.Fatalf("got %d %s, want 200", r.code, r.body)
					}
					if err := json.Unmarshal(r.body, &results[i]); err != nil {
						t.Fatal(err)
					}
				}
				got, ort := results[0], results[1]
				if len(got.Outputs) != len(info.Outputs) || len(ort.Outputs) != len(info.Outputs) {
					t.Fatalf("got %d and %d outputs, want %d", len(got.Outputs), len(ort.Outputs), len(info.Outputs))
				}
				for j, o := range got.Outputs {
					w := want[info.Outputs[j].Name]
					if o.Name != info.Outputs[j].Name || !slices.Equal(o.Shape, w.Shape) || !slices.Equal(o.Shape, ort.Outputs[j].Shape) {
						t.Errorf("output %d: got %s %v, want %s %v (ONNX Runtime %v)", j, o.Name, o.Shape, info.Outputs[j].Name, w.Shape, ort.Outputs[j].Shape)
					}
					if !sameBits(o.Data, w.Data) {
						t.Errorf("output %q: got values that differ from the graph backend's", o.Name)
					}
					if !within(o.Data, ort.Outputs[j].Data, 1e-5) {
						t.Errorf("output %q: got values more than 1e-5 from ONNX Runtime's", o.Name)
					}
				}
				r := do(t, "GET", goTS.URL+"/v2/models/"+name, nil, nil)
				var meta struct {
					Platform string
					Inputs   []struct{ Name string }
					Outputs  []struct{ Name string }
					Aebridge struct{ Backend string }
				}
				if err := json.Unmarshal(r.body, &meta); r.code != 200 || err != nil {
					t.Fatalf("metadata: got %d %s", r.code, r.body)
				}
				if meta.Platform != "aebridge_go_onnx" || meta.Aebridge.Backend != "go" || len(meta.Inputs) != len(info.Inputs) || len(meta.Outputs) != len(info.Outputs) {
					t.Errorf("metadata: got %s, want platform aebridge_go_onnx, backend go, %d inputs and %d outputs", r.body, len(info.Inputs), len(info.Outputs))
				}
			})
		}
	}
}

// TestGoBackendScoreMatches checks /score and /reconstruct of the go
// backend: the scores are runtime.Scores of the graph's reconstruction,
// bit for bit, and ONNX Runtime's within 1e-5.
func TestGoBackendScoreMatches(t *testing.T) {
	names := []string{"mlp_ae", "conv_transposed_ae", "residual_ae", "unet_ae"}
	goTS := newGoTestServer(t, Options{}, names...)
	_, ortTS := newTestServer(t, Options{}, names...)
	for _, name := range names {
		for _, metric := range []runtime.Metric{runtime.MSE, runtime.L2} {
			t.Run(fmt.Sprintf("%s/%s", name, metric), func(t *testing.T) {
				x := readNPYFile(t, filepath.Join(fixtures, name+".in0.npy"))
				g, err := backend.OpenGraph(fixture(name))
				if err != nil {
					t.Fatal(err)
				}
				out, err := g.Run([]runtime.Tensor{x})
				if err != nil {
					t.Fatal(err)
				}
				xhat := out[g.OutputNames()[0]]
				want, err := runtime.Scores(x, xhat, metric)
				if err != nil {
					t.Fatal(err)
				}
				var sc [2]struct{ Scores []float32 }
				for i, base := range []string{goTS.URL, ortTS.URL} {
					r := do(t, "POST", base+"/v2/models/"+name+"/score", tensorBody(x, fmt.Sprintf(`,"metric":%q`, metric)), nil)
					if err := json.Unmarshal(r.body, &sc[i]); r.code != 200 || err != nil {
						t.Fatalf("got %d %s, want 200", r.code, r.body)
					}
				}
				if !sameBits(sc[0].Scores, want) {
					t.Errorf("got scores %v, want runtime.Scores of the graph's reconstruction %v", sc[0].Scores, want)
				}
				if !within(sc[0].Scores, sc[1].Scores, 1e-5) {
					t.Errorf("got scores %v, want ONNX Runtime's %v within 1e-5", sc[0].Scores, sc[1].Scores)
				}
				r := do(t, "POST", goTS.URL+"/v2/models/"+name+"/reconstruct", tensorBody(x, ""), nil)
				var rec struct {
					Shape []int64
					Data  []float32
				}
				if err := json.Unmarshal(r.body, &rec); r.code != 200 || err != nil {
					t.Fatalf("reconstruct: got %d %s, want 200", r.code, r.body)
				}
				if !slices.Equal(rec.Shape, xhat.Shape) || !sameBits(rec.Data, xhat.Data) {
					t.Errorf("reconstruct: got %v, want the graph's first output %v", rec.Shape, xhat.Shape)
				}
			})
		}
	}
}

// TestGoBackendErrors checks that the go backend reports bad requests as
// ONNX Runtime's path does (4xx naming the field), and that encode of a
// whole PyTorch autoencoder is refused.
func TestGoBackendErrors(t *testing.T) {
	ts := newGoTestServer(t, Options{}, "mlp_ae", "vae_encoder")
	x := readNPYFile(t, filepath.Join(fixtures, "mlp_ae.in0.npy"))
	tests := []struct {
		name, path string
		body       []byte
		code       int
		field      string
		contains   string
	}{
		{name: "wrong shape", path: "mlp_ae/infer", body: []byte(`{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}`), code: 400, field: "inputs[0].shape"},
		{name: "wrong shape score", path: "mlp_ae/score", body: []byte(`{"shape":[1,3],"data":[1,2,3]}`), code: 400, field: "data", contains: "dimension 1 is 3"},
		{name: "encode a whole autoencoder", path: "mlp_ae/encode", body: tensorBody(x, ""), code: 422, field: "model", contains: "looks like a whole autoencoder"},
		{name: "reconstruct with an encoder", path: "vae_encoder/reconstruct", body: tensorBody(x, ""), code: 422, field: "model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, "POST", ts.URL+"/v2/models/"+tt.path, tt.body, nil)
			var e struct{ Error, Field string }
			if err := json.Unmarshal(r.body, &e); err != nil || r.code != tt.code || e.Field != tt.field || !strings.Contains(e.Error, tt.contains) {
				t.Errorf("got %d %s, want %d with field %q containing %q", r.code, r.body, tt.code, tt.field, tt.contains)
			}
		})
	}
}
