package serve

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/runtime"
)

const fixtures = "../testdata/pytorch"

func fixture(name string) string { return filepath.Join(fixtures, name+".opset17.onnx") }

func readNPYFile(t testing.TB, path string) runtime.Tensor {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	shape := make([]int64, len(a.Shape))
	for i, d := range a.Shape {
		shape[i] = int64(d)
	}
	return runtime.Tensor{Shape: shape, Data: a.Data}
}

// newTestServer serves the fixtures named, failing the test if ONNX
// Runtime cannot be loaded (a silent skip would hide a broken setup).
func newTestServer(t testing.TB, opts Options, names ...string) (*Server, *httptest.Server) {
	t.Helper()
	var models []*Model
	for _, n := range names {
		m, err := Load(n+"="+fixture(n), runtime.WithThreads(1))
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
	return s, ts
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func do(t testing.TB, method, url string, body []byte, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// tensorRequest writes an infer request for the tensors, named by the
// model's inputs, with the data flat, or nested by the shape.
func tensorRequest(names []string, ts []runtime.Tensor, nested bool) []byte {
	var b bytes.Buffer
	b.WriteString(`{"id":"req-1","inputs":[`)
	for i, t := range ts {
		if i > 0 {
			b.WriteByte(',')
		}
		shape, _ := json.Marshal(t.Shape)
		fmt.Fprintf(&b, `{"name":%q,"shape":%s,"datatype":"FP32","data":`, names[i], shape)
		if nested {
			writeNested(&b, t.Shape, t.Data)
		} else {
			d, _ := appendData(nil, t.Data, "")
			b.Write(d)
		}
		b.WriteByte('}')
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func writeNested(b *bytes.Buffer, shape []int64, data []float32) {
	if len(shape) == 0 {
		b.WriteString(strconv.FormatFloat(float64(data[0]), 'g', -1, 32))
		return
	}
	per := len(data) / int(shape[0])
	b.WriteByte('[')
	for i := 0; i < int(shape[0]); i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		writeNested(b, shape[1:], data[i*per:(i+1)*per])
	}
	b.WriteByte(']')
}

type inferResponse struct {
	ModelName string `json:"model_name"`
	ID        string `json:"id"`
	Outputs   []struct {
		Name       string          `json:"name"`
		Shape      []int64         `json:"shape"`
		Datatype   string          `json:"datatype"`
		Data       []float32       `json:"data"`
		Parameters map[string]int  `json:"parameters"`
		Raw        json.RawMessage `json:"-"`
	} `json:"outputs"`
}

func sameBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

// TestInferMatchesRuntime checks that /infer gives runtime.Model.Run's
// outputs bit for bit, for JSON data flat and nested and for the
// binary-tensor extension, on PyTorch exports of one and two inputs and of
// rank 2 and 4.
func TestInferMatchesRuntime(t *testing.T) {
	names := []string{"mlp_ae", "conv_transposed_ae", "cvae_decoder"}
	_, ts := newTestServer(t, Options{}, names...)
	for _, name := range names {
		m, err := runtime.Open(fixture(name), runtime.WithThreads(1))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		info := m.Info()
		var inputs []runtime.Tensor
		var inNames []string
		for i, io := range info.Inputs {
			inputs = append(inputs, readNPYFile(t, filepath.Join(fixtures, fmt.Sprintf("%s.in%d.npy", name, i))))
			inNames = append(inNames, io.Name)
		}
		want, err := m.Run(inputs...)
		if err != nil {
			t.Fatal(err)
		}
		for _, nested := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/nested=%v", name, nested), func(t *testing.T) {
				r := do(t, "POST", ts.URL+"/v2/models/"+name+"/infer", tensorRequest(inNames, inputs, nested), nil)
				if r.code != 200 {
					t.Fatalf("got %d %s, want 200", r.code, r.body)
				}
				var got inferResponse
				if err := json.Unmarshal(r.body, &got); err != nil {
					t.Fatal(err)
				}
				if got.ModelName != name || got.ID != "req-1" || len(got.Outputs) != len(want) {
					t.Fatalf("got %s, want model %s, id req-1, %d outputs", r.body, name, len(want))
				}
				for j, o := range got.Outputs {
					if o.Name != info.Outputs[j].Name || o.Datatype != "FP32" || !slices.Equal(o.Shape, want[j].Shape) {
						t.Errorf("output %d: got %s %s %v, want %s FP32 %v", j, o.Name, o.Datatype, o.Shape, info.Outputs[j].Name, want[j].Shape)
					}
					if !sameBits(o.Data, want[j].Data) {
						t.Errorf("output %q: got values that differ from runtime.Run's", o.Name)
					}
				}
			})
		}
		t.Run(name+"/binary", func(t *testing.T) {
			var head bytes.Buffer
			var bin []byte
			head.WriteString(`{"inputs":[`)
			for i, x := range inputs {
				if i > 0 {
					head.WriteByte(',')
				}
				shape, _ := json.Marshal(x.Shape)
				fmt.Fprintf(&head, `{"name":%q,"shape":%s,"datatype":"FP32","parameters":{"binary_data_size":%d}}`, inNames[i], shape, 4*len(x.Data))
				for _, v := range x.Data {
					bin = binary.LittleEndian.AppendUint32(bin, math.Float32bits(v))
				}
			}
			head.WriteString(`],"parameters":{"binary_data_output":true}}`)
			body := append(head.Bytes(), bin...)
			r := do(t, "POST", ts.URL+"/v2/models/"+name+"/infer", body, map[string]string{
				"Inference-Header-Content-Length": strconv.Itoa(head.Len()), "Content-Type": "application/octet-stream"})
			if r.code != 200 {
				t.Fatalf("got %d %s, want 200", r.code, r.body)
			}
			n, err := strconv.Atoi(r.header.Get("Inference-Header-Content-Length"))
			if err != nil || n > len(r.body) {
				t.Fatalf("got header length %q for %d bytes", r.header.Get("Inference-Header-Content-Length"), len(r.body))
			}
			var got inferResponse
			if err := json.Unmarshal(r.body[:n], &got); err != nil {
				t.Fatal(err)
			}
			rest := r.body[n:]
			for j, o := range got.Outputs {
				size := o.Parameters["binary_data_size"]
				if size != 4*len(want[j].Data) || size > len(rest) {
					t.Fatalf("output %q: got binary_data_size %d (%d bytes left), want %d", o.Name, size, len(rest), 4*len(want[j].Data))
				}
				data := make([]float32, size/4)
				for i := range data {
					data[i] = math.Float32frombits(binary.LittleEndian.Uint32(rest[4*i:]))
				}
				rest = rest[size:]
				if !sameBits(data, want[j].Data) {
					t.Errorf("output %q: got values that differ from runtime.Run's", o.Name)
				}
			}
			if len(rest) != 0 {
				t.Errorf("got %d bytes after the outputs, want 0", len(rest))
			}
		})
	}
}

func TestHealthAndMetadata(t *testing.T) {
	_, ts := newTestServer(t, Options{Version: "test"}, "mlp_ae", "cvae_decoder")
	tests := []struct {
		path string
		want string // a fragment of the JSON answer
	}{
		{"/v2/health/live", `{"live":true}`},
		{"/v2/health/ready", `{"ready":true}`},
		{"/v2", `"extensions":["binary_tensor_data","aebridge_autoencoder"]`},
		{"/v2/models/mlp_ae", `"inputs":[{"datatype":"FP32","name":"x","shape":[-1,64]}]`},
		{"/v2/models/mlp_ae", `"outputs":[{"datatype":"FP32","name":"y","shape":[-1,64]}]`},
		{"/v2/models/cvae_decoder", `"inputs":[{"datatype":"FP32","name":"z","shape":[-1,4]},{"datatype":"FP32","name":"c","shape":[-1,10]}]`},
		{"/v2/models/cvae_decoder", `"classes":10`},
		{"/v2/models/mlp_ae/ready", `"ready":true`},
		{"/v2/models", `"name":"cvae_decoder"`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := do(t, "GET", ts.URL+tt.path, nil, nil)
			if r.code != 200 || !strings.Contains(string(r.body), tt.want) {
				t.Errorf("got %d %s, want 200 with %s", r.code, r.body, tt.want)
			}
		})
	}
}

// TestErrors sends bad requests to every endpoint: each must get its 4xx
// with a JSON error naming the field, never a 5xx.
func TestErrors(t *testing.T) {
	_, ts := newTestServer(t, Options{MaxBodyBytes: 1 << 16, MaxSamples: 100}, "mlp_ae", "cvae_decoder")
	row := strings.Repeat("0.5,", 63) + "0.5"
	x := `{"name":"x","shape":[1,64],"datatype":"FP32","data":[` + row + `]}`
	infer := "/v2/models/mlp_ae/infer"
	binHead8 := `{"inputs":[{"name":"x","shape":[1,64],"datatype":"FP32","parameters":{"binary_data_size":8}}]}`
	binHead2 := `{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","parameters":{"binary_data_size":8}}]}`
	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		code                     int
		field, text              string
	}{
		{"unknown model", "POST", "/v2/models/nope/infer", `{"inputs":[` + x + `]}`, nil, 404, "model", `no model "nope" (serving mlp_ae, cvae_decoder)`},
		{"unknown model metadata", "GET", "/v2/models/nope", "", nil, 404, "model", `no model "nope"`},
		{"unknown path", "GET", "/v3/x", "", nil, 404, "path", "no endpoint GET /v3/x"},
		{"wrong method", "GET", infer, "", nil, 405, "method", "takes POST"},
		{"wrong method health", "POST", "/v2/health/live", "", nil, 405, "method", "takes GET"},
		{"malformed JSON", "POST", infer, `{"inputs":[`, nil, 400, "body", "malformed JSON"},
		{"JSON NaN literal", "POST", infer, `{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[NaN]}]}`, nil, 400, "body", "malformed JSON"},
		{"trailing data", "POST", infer, `{"inputs":[` + x + `]} {}`, nil, 400, "body", "data after the JSON value"},
		{"no inputs", "POST", infer, `{}`, nil, 400, "inputs", `missing: the model takes "x" [batch 64]`},
		{"inputs not an array", "POST", infer, `{"inputs":3}`, nil, 400, "inputs", "not a []serve.tensorJSON"},
		{"wrong shape", "POST", infer, `{"inputs":[{"name":"x","shape":[1,63],"datatype":"FP32","data":[` + row[4:] + `]}]}`, nil, 400, "inputs[0].shape", "dimension 1 is 63"},
		{"wrong rank", "POST", infer, `{"inputs":[{"name":"x","shape":[64],"datatype":"FP32","data":[` + row + `]}]}`, nil, 400, "inputs[0].shape", "rank 1"},
		{"shape not integers", "POST", infer, `{"inputs":[{"name":"x","shape":[1.5,64],"datatype":"FP32","data":[1]}]}`, nil, 400, "inputs.shape", "not a int64"},
		{"negative dimension", "POST", infer, `{"inputs":[{"name":"x","shape":[-1,64],"datatype":"FP32","data":[1]}]}`, nil, 400, "inputs[0].shape", "dimension 0 is -1"},
		{"huge shape", "POST", infer, `{"inputs":[{"name":"x","shape":[1,4294967296,4294967296],"datatype":"FP32","data":[1]}]}`, nil, 400, "inputs[0].shape", "holds more than"},
		{"no shape", "POST", infer, `{"inputs":[{"name":"x","datatype":"FP32","data":[1]}]}`, nil, 400, "inputs[0].shape", "missing"},
		{"too many samples", "POST", infer, `{"inputs":[{"name":"x","shape":[101,64],"datatype":"FP32","data":[1]}]}`, nil, 400, "inputs[0].shape", "101 samples, more than the 100 allowed"},
		{"wrong dtype", "POST", infer, `{"inputs":[{"name":"x","shape":[1,64],"datatype":"INT64","data":[` + row + `]}]}`, nil, 400, "inputs[0].datatype", `"INT64": the models take FP32`},
		{"NaN string", "POST", infer, `{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1,"NaN"]}]}`, nil, 400, "inputs[0].data[1]", "NaN and ±Inf are not accepted"},
		{"string element", "POST", infer, `{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1,"a"]}]}`, nil, 400, "inputs[0].data[1]", "a string: want a number"},
		{"null element", "POST", infer, `{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[null,1]}]}`, nil, 400, "inputs[0].data[0]", "null: want a number"},
		{"beyond float32", "POST", infer, `{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1,1e39]}]}`, nil, 400, "inputs[0].data[1]", "1e39 is beyond float32's range"},
		{"too few elements", "POST", infer, `{"inputs":[{"name":"x","shape":[1,64],"datatype":"FP32","data":[1,2]}]}`, nil, 400, "inputs[0].data", "2 elements, but the shape holds 64"},
		{"too many elements", "POST", infer, `{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[1,2]}]}`, nil, 400, "inputs[0].data", "more than the 1 elements the shape holds"},
		{"data not an array", "POST", infer, `{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":"abc"}]}`, nil, 400, "inputs[0].data", "want an array of numbers"},
		{"no data", "POST", infer, `{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32"}]}`, nil, 400, "inputs[0].data", "missing"},
		{"unknown input", "POST", infer, `{"inputs":[{"name":"q","shape":[1,64],"datatype":"FP32","data":[` + row + `]}]}`, nil, 400, "inputs[0].name", `"q": the model has no such input`},
		{"input twice", "POST", infer, `{"inputs":[` + x + `,` + x + `]}`, nil, 400, "inputs[1].name", `input "x" given twice`},
		{"missing input", "POST", "/v2/models/cvae_decoder/infer", `{"inputs":[{"name":"z","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}`, nil, 400, "inputs", `no input "c"`},
		{"unknown output", "POST", infer, `{"inputs":[` + x + `],"outputs":[{"name":"zz"}]}`, nil, 400, "outputs[0].name", `"zz": the model has no such output`},
		{"bad binary_data_output", "POST", infer, `{"inputs":[` + x + `],"parameters":{"binary_data_output":"yes"}}`, nil, 400, "parameters.parameters.binary_data_output", "want true or false"},
		{"binary size wrong", "POST", infer, binHead8 + "12345678", map[string]string{"Inference-Header-Content-Length": strconv.Itoa(len(binHead8))}, 400, "inputs[0].parameters.binary_data_size", "8 bytes, but shape [1 64] of FP32 takes 256"},
		{"binary short", "POST", infer, binHead2 + "1234", map[string]string{"Inference-Header-Content-Length": strconv.Itoa(len(binHead2))}, 400, "inputs[0].parameters.binary_data_size", "only 4 remain"},
		{"bad header length", "POST", infer, `{}`, map[string]string{"Inference-Header-Content-Length": "99"}, 400, "Inference-Header-Content-Length", "want the JSON's length"},
		{"oversized body", "POST", infer, `{"inputs":[` + strings.Repeat(" ", 1<<16) + `]}`, nil, 413, "body", "larger than the 65536 bytes allowed"},
		{"score malformed", "POST", "/v2/models/mlp_ae/score", `{"shape":[1,64],`, nil, 400, "body", "malformed JSON"},
		{"score no shape", "POST", "/v2/models/mlp_ae/score", `{"data":[1]}`, nil, 400, "shape", "missing"},
		{"score wrong shape", "POST", "/v2/models/mlp_ae/score", `{"shape":[1,2],"data":[1,2]}`, nil, 400, "data", "dimension 1 is 2"},
		{"score NaN", "POST", "/v2/models/mlp_ae/score", `{"shape":[1,2],"data":[1,"NaN"]}`, nil, 400, "data[1]", "NaN and ±Inf are not accepted"},
		{"score empty batch", "POST", "/v2/models/mlp_ae/score", `{"shape":[0,64],"data":[]}`, nil, 400, "shape", "want a batch of samples"},
		{"score bad metric", "POST", "/v2/models/mlp_ae/score", `{"shape":[1,64],"data":[` + row + `],"metric":"rmse"}`, nil, 400, "metric", `"rmse": want mse, mae, bce or l2`},
		{"score class on plain model", "POST", "/v2/models/mlp_ae/score", `{"shape":[1,64],"data":[` + row + `],"class":1}`, nil, 400, "class", "takes no condition"},
		{"score BCE outside [0,1]", "POST", "/v2/models/mlp_ae/score", `{"shape":[1,64],"data":[` + strings.Replace(row, "0.5", "2", 1) + `],"metric":"bce"}`, nil, 400, "data", "BCE score needs inputs in [0, 1]"},
		{"score bad npy", "POST", "/v2/models/mlp_ae/score", "\x93NUMPY\x01\x00", map[string]string{"Content-Type": "application/x-npy"}, 400, "body", "npy"},
		{"score form body", "POST", "/v2/models/mlp_ae/score", `a=b`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 400, "body", "malformed JSON"},
		{"decode without class", "POST", "/v2/models/cvae_decoder/decode", `{"shape":[1,4],"data":[1,2,3,4]}`, nil, 400, "class", "is conditional"},
		{"decode class out of range", "POST", "/v2/models/cvae_decoder/decode", `{"shape":[1,4],"data":[1,2,3,4],"class":10}`, nil, 400, "class", "10: cvae_decoder has 10 classes, 0 to 9"},
		{"decode classes count", "POST", "/v2/models/cvae_decoder/decode", `{"shape":[1,4],"data":[1,2,3,4],"classes":[1,2]}`, nil, 400, "classes", "2 classes for 1 samples"},
		{"encode a whole autoencoder", "POST", "/v2/models/mlp_ae/encode", `{"shape":[1,64],"data":[` + row + `]}`, nil, 422, "model", "looks like a whole autoencoder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			r := do(t, tt.method, ts.URL+tt.path, body, tt.header)
			var e struct{ Error, Field string }
			if err := json.Unmarshal(r.body, &e); err != nil {
				t.Fatalf("got %d %q, not a JSON error: %v", r.code, r.body, err)
			}
			if r.code != tt.code || e.Field != tt.field || !strings.Contains(e.Error, tt.text) || !strings.HasPrefix(e.Error, "serve: ") {
				t.Errorf("got %d field %q error %q, want %d field %q error containing %q", r.code, e.Field, e.Error, tt.code, tt.field, tt.text)
			}
		})
	}
}

// TestBatchedErrors checks that a server that batches refuses bad samples
// as one that does not, naming the same field.
func TestBatchedErrors(t *testing.T) {
	for _, batch := range []int{0, 8} {
		_, ts := newTestServer(t, Options{MaxBatch: batch}, "mlp_ae")
		r := do(t, "POST", ts.URL+"/v2/models/mlp_ae/score", []byte(`{"shape":[1,2],"data":[1,2]}`), nil)
		var e struct{ Error, Field string }
		json.Unmarshal(r.body, &e)
		if r.code != 400 || e.Field != "data" || !strings.Contains(e.Error, "dimension 1 is 2") {
			t.Errorf("max-batch %d: got %d field %q error %q, want 400 field data, dimension 1 is 2", batch, r.code, e.Field, e.Error)
		}
	}
}

// TestTimeout checks that a request that waits longer than the timeout
// (here in a batch that waits 2s for company) gets a 503 with a JSON error.
func TestTimeout(t *testing.T) {
	_, ts := newTestServer(t, Options{MaxBatch: 8, MaxDelay: 2 * time.Second, Timeout: 100 * time.Millisecond}, "mlp_ae")
	row := strings.Repeat("0.5,", 63) + "0.5"
	start := time.Now()
	r := do(t, "POST", ts.URL+"/v2/models/mlp_ae/infer", []byte(`{"inputs":[{"name":"x","shape":[1,64],"datatype":"FP32","data":[`+row+`]}]}`), nil)
	var e struct{ Error string }
	json.Unmarshal(r.body, &e)
	if r.code != 503 || e.Error != "serve: no result within 100ms" || time.Since(start) > time.Second {
		t.Errorf("got %d %q after %v, want 503 \"serve: no result within 100ms\" at once", r.code, e.Error, time.Since(start))
	}
}

// TestVerbsMatchRuntime checks score, reconstruct and decode against the
// runtime's own calls on the same tensors, bit for bit.
func TestVerbsMatchRuntime(t *testing.T) {
	_, ts := newTestServer(t, Options{}, "mlp_ae", "cvae_decoder")
	m, err := runtime.Open(fixture("mlp_ae"), runtime.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	x := readNPYFile(t, filepath.Join(fixtures, "mlp_ae.in0.npy"))
	xhat, err := m.Reconstruct(x)
	if err != nil {
		t.Fatal(err)
	}
	body := tensorBody(x, "")
	for _, metric := range []runtime.Metric{runtime.MSE, runtime.MAE, runtime.L2} {
		t.Run("score/"+string(metric), func(t *testing.T) {
			want, err := runtime.Scores(x, xhat, metric)
			if err != nil {
				t.Fatal(err)
			}
			r := do(t, "POST", ts.URL+"/v2/models/mlp_ae/score", tensorBody(x, `,"metric":"`+string(metric)+`"`), nil)
			var got struct {
				Metric string
				Scores []float32
				Labels []int
			}
			if err := json.Unmarshal(r.body, &got); r.code != 200 || err != nil {
				t.Fatalf("got %d %s", r.code, r.body)
			}
			if got.Metric != string(metric) || !sameBits(got.Scores, want) || got.Labels != nil {
				t.Errorf("got %s %v labels %v, want %s %v and no labels (no threshold)", got.Metric, got.Scores, got.Labels, metric, want)
			}
		})
	}
	t.Run("score/threshold", func(t *testing.T) {
		s, _ := runtime.Scores(x, xhat, runtime.MSE)
		sorted := slices.Clone(s)
		slices.Sort(sorted)
		th := float64(sorted[2])
		r := do(t, "POST", ts.URL+"/v2/models/mlp_ae/score", tensorBody(x, `,"threshold":`+strconv.FormatFloat(th, 'g', -1, 64)), nil)
		var got struct {
			Labels          []int
			Threshold       float64
			ThresholdSource string `json:"threshold_source"`
		}
		if err := json.Unmarshal(r.body, &got); r.code != 200 || err != nil {
			t.Fatalf("got %d %s", r.code, r.body)
		}
		var want []int
		for _, v := range s {
			want = append(want, map[bool]int{true: 1, false: 0}[float64(v) > th])
		}
		if !slices.Equal(got.Labels, want) || got.Threshold != th || got.ThresholdSource != "request" {
			t.Errorf("got labels %v at %v (%s), want %v at %v (request)", got.Labels, got.Threshold, got.ThresholdSource, want, th)
		}
	})
	t.Run("score/curl's Content-Type", func(t *testing.T) {
		// curl -d sends application/x-www-form-urlencoded: the JSON is read all the same.
		want, _ := runtime.Scores(x, xhat, runtime.MSE)
		r := do(t, "POST", ts.URL+"/v2/models/mlp_ae/score", body, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		var got struct{ Scores []float32 }
		if err := json.Unmarshal(r.body, &got); r.code != 200 || err != nil || !sameBits(got.Scores, want) {
			t.Errorf("got %d %s, want 200 with the scores %v", r.code, r.body, want)
		}
	})
	t.Run("score/npy", func(t *testing.T) {
		var b bytes.Buffer
		if err := npy.Write(&b, []int{int(x.Shape[0]), int(x.Shape[1])}, x.Data); err != nil {
			t.Fatal(err)
		}
		want, _ := runtime.Scores(x, xhat, runtime.L2)
		r := do(t, "POST", ts.URL+"/v2/models/mlp_ae/score?metric=l2", b.Bytes(), map[string]string{"Content-Type": "application/x-npy"})
		var got struct{ Scores []float32 }
		if err := json.Unmarshal(r.body, &got); r.code != 200 || err != nil {
			t.Fatalf("got %d %s", r.code, r.body)
		}
		if !sameBits(got.Scores, want) {
			t.Errorf("got %v, want %v", got.Scores, want)
		}
	})
	t.Run("reconstruct", func(t *testing.T) {
		r := do(t, "POST", ts.URL+"/v2/models/mlp_ae/reconstruct", body, nil)
		var got struct {
			Shape []int64
			Data  []float32
		}
		if err := json.Unmarshal(r.body, &got); r.code != 200 || err != nil {
			t.Fatalf("got %d %s", r.code, r.body)
		}
		if !slices.Equal(got.Shape, xhat.Shape) || !sameBits(got.Data, xhat.Data) {
			t.Errorf("got shape %v and values unlike Reconstruct's, want %v", got.Shape, xhat.Shape)
		}
	})
	t.Run("decode", func(t *testing.T) {
		dec, err := runtime.Open(fixture("cvae_decoder"), runtime.WithThreads(1))
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		z := readNPYFile(t, filepath.Join(fixtures, "cvae_decoder.in0.npy"))
		classes := []int{0, 3, 9, 1, 2}
		c, _ := runtime.OneHot(classes, 10)
		want, err := dec.Decode(z, c)
		if err != nil {
			t.Fatal(err)
		}
		r := do(t, "POST", ts.URL+"/v2/models/cvae_decoder/decode", tensorBody(z, `,"classes":[0,3,9,1,2]`), nil)
		var got struct {
			Shape []int64
			Data  []float32
		}
		if err := json.Unmarshal(r.body, &got); r.code != 200 || err != nil {
			t.Fatalf("got %d %s", r.code, r.body)
		}
		if !slices.Equal(got.Shape, want.Shape) || !sameBits(got.Data, want.Data) {
			t.Errorf("got shape %v and values unlike Decode's, want %v", got.Shape, want.Shape)
		}
	})
}

// tensorBody writes an autoencoder verb's JSON body for x, with extra
// fields appended.
func tensorBody(x runtime.Tensor, extra string) []byte {
	shape, _ := json.Marshal(x.Shape)
	d, _ := appendData(nil, x.Data, "")
	return []byte(fmt.Sprintf(`{"shape":%s,"data":%s%s}`, shape, d, extra))
}

// TestBatchingMatchesUnbatched sends concurrent requests of 1 to 3
// samples each to a server that batches and checks that each gets, bit for
// bit, what runtime.Run gives for its samples alone, and that requests
// were in fact joined.
func TestBatchingMatchesUnbatched(t *testing.T) {
	for _, name := range []string{"mlp_ae", "conv_transposed_ae", "cvae_decoder"} {
		t.Run(name, func(t *testing.T) {
			s, ts := newTestServer(t, Options{MaxBatch: 64, MaxDelay: 50 * time.Millisecond}, name)
			if s.models[name].batch == nil {
				t.Fatalf("%s: no batcher", name)
			}
			m, err := runtime.Open(fixture(name), runtime.WithThreads(1))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			info := m.Info()
			var base []runtime.Tensor
			var names []string
			for i, io := range info.Inputs {
				base = append(base, readNPYFile(t, filepath.Join(fixtures, fmt.Sprintf("%s.in%d.npy", name, i))))
				names = append(names, io.Name)
			}
			const clients = 12
			var wg sync.WaitGroup
			errs := make([]string, clients)
			for c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n := int64(1 + c%3)
					inputs := make([]runtime.Tensor, len(base))
					for i, b := range base {
						per := len(b.Data) / int(b.Shape[0])
						data := make([]float32, 0, int(n)*per)
						for k := range n {
							row := (c + int(k)) % int(b.Shape[0])
							for _, v := range b.Data[row*per : (row+1)*per] {
								data = append(data, v*float32(1+c)/7)
							}
						}
						inputs[i] = runtime.Tensor{Shape: append([]int64{n}, b.Shape[1:]...), Data: data}
					}
					want, err := m.Run(inputs...)
					if err != nil {
						errs[c] = err.Error()
						return
					}
					req, err := http.NewRequest("POST", ts.URL+"/v2/models/"+name+"/infer", bytes.NewReader(tensorRequest(names, inputs, false)))
					if err != nil {
						errs[c] = err.Error()
						return
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						errs[c] = err.Error()
						return
					}
					defer resp.Body.Close()
					var got inferResponse
					if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
						errs[c] = fmt.Sprintf("status %d: %v", resp.StatusCode, err)
						return
					}
					for j := range want {
						if !slices.Equal(got.Outputs[j].Shape, want[j].Shape) || !sameBits(got.Outputs[j].Data, want[j].Data) {
							errs[c] = fmt.Sprintf("output %d: got shape %v, values unlike the unbatched run's %v", j, got.Outputs[j].Shape, want[j].Shape)
						}
					}
				}()
			}
			wg.Wait()
			for c, e := range errs {
				if e != "" {
					t.Errorf("client %d: %s", c, e)
				}
			}
			var b bytes.Buffer
			s.metrics.write(&b)
			joined := false
			for _, line := range strings.Split(b.String(), "\n") {
				if strings.HasPrefix(line, `aebridge_batch_requests_bucket{model="`+name+`",le="1"}`) {
					f := strings.Fields(line)
					total := batchCount(b.String(), name)
					joined = f[len(f)-1] != strconv.Itoa(total)
				}
			}
			if !joined {
				t.Errorf("no batch joined two requests:\n%s", b.String())
			}
		})
	}
}

// batchCount returns aebridge_batch_requests_count for the model.
func batchCount(metrics, model string) int {
	for _, line := range strings.Split(metrics, "\n") {
		if v, ok := strings.CutPrefix(line, `aebridge_batch_requests_count{model="`+model+`"} `); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return -1
}

func TestBearerToken(t *testing.T) {
	_, ts := newTestServer(t, Options{Token: "s3cret"}, "mlp_ae")
	tests := []struct {
		name, path, auth string
		code             int
	}{
		{"health without token", "/v2/health/live", "", 200},
		{"ready without token", "/v2/health/ready", "", 200},
		{"metadata without token", "/v2/models/mlp_ae", "", 401},
		{"metrics without token", "/metrics", "", 401},
		{"wrong token", "/v2/models/mlp_ae", "Bearer nope", 401},
		{"not bearer", "/v2/models/mlp_ae", "Basic s3cret", 401},
		{"right token", "/v2/models/mlp_ae", "Bearer s3cret", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.auth != "" {
				h["Authorization"] = tt.auth
			}
			r := do(t, "GET", ts.URL+tt.path, nil, h)
			if r.code != tt.code {
				t.Errorf("got %d %s, want %d", r.code, r.body, tt.code)
			}
			if r.code == 401 && (!strings.Contains(string(r.body), `"field":"Authorization"`) || r.header.Get("WWW-Authenticate") == "") {
				t.Errorf("got %s, WWW-Authenticate %q; want a JSON error naming Authorization and the header", r.body, r.header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestMetricsAndLogs(t *testing.T) {
	var logs syncBuffer
	_, ts := newTestServer(t, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))}, "mlp_ae")
	row := strings.Repeat("0.5,", 63) + "0.5"
	ok := `{"inputs":[{"name":"x","shape":[1,64],"datatype":"FP32","data":[` + row + `]}]}`
	do(t, "POST", ts.URL+"/v2/models/mlp_ae/infer", []byte(ok), nil)
	do(t, "POST", ts.URL+"/v2/models/mlp_ae/infer", []byte(ok), nil)
	do(t, "POST", ts.URL+"/v2/models/mlp_ae/infer", []byte(`{`), nil)
	do(t, "POST", ts.URL+"/v2/models/made-up-name/infer", []byte(ok), nil)
	do(t, "GET", ts.URL+"/made/up/path", nil, nil)
	r := do(t, "GET", ts.URL+"/metrics", nil, nil)
	if strings.Contains(string(r.body), "made") {
		t.Errorf("metrics hold a label value a client made up:\n%s", r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("got Content-Type %q, want text/plain; version=0.0.4", ct)
	}
	for _, want := range []string{
		`aebridge_requests_total{model="mlp_ae",endpoint="/v2/models/{name}/infer",code="200"} 2`,
		`aebridge_requests_total{model="mlp_ae",endpoint="/v2/models/{name}/infer",code="400"} 1`,
		`aebridge_request_duration_seconds_bucket{endpoint="/v2/models/{name}/infer",le="+Inf"} 4`,
		`aebridge_request_duration_seconds_count{endpoint="/v2/models/{name}/infer"} 4`,
		`aebridge_batch_samples_count{model="mlp_ae"} 2`,
		`aebridge_batch_samples_bucket{model="mlp_ae",le="1"} 2`,
		`aebridge_errors_total{kind="bad_request"} 1`,
		`aebridge_errors_total{kind="not_found"} 2`,
		`aebridge_requests_total{model="",endpoint="/v2/models/{name}/infer",code="404"} 1`,
		`aebridge_requests_total{model="",endpoint="other",code="404"} 1`,
		"# TYPE aebridge_request_duration_seconds histogram",
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("metrics lack %s:\n%s", want, r.body)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) < 3 {
		t.Fatalf("got %d log lines, want at least 3:\n%s", len(lines), logs.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[2]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["msg"] != "request" || rec["method"] != "POST" || rec["path"] != "/v2/models/mlp_ae/infer" || rec["status"] != 400.0 ||
		rec["model"] != "mlp_ae" || !strings.Contains(fmt.Sprint(rec["error"]), "malformed JSON") {
		t.Errorf("got log record %v, want the third request's method, path, status 400, model and error", rec)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's writes and the test's
// reads at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLoadNames(t *testing.T) {
	tests := []struct {
		spec, name, wantErr string
	}{
		{spec: fixture("mlp_ae"), name: "mlp_ae.opset17"},
		{spec: "ae=" + fixture("mlp_ae"), name: "ae"},
		{spec: "a/b=" + fixture("mlp_ae"), wantErr: `model name "a/b"`},
		{spec: "x=missing.onnx", wantErr: "missing.onnx"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			m, err := Load(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.Name != tt.name {
				t.Errorf("got name %q, want %q", m.Name, tt.name)
			}
		})
	}
	a, err := Load("m=" + fixture("mlp_ae"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load("m=" + fixture("tied_ae"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New([]*Model{a, b}, Options{}); err == nil || !strings.Contains(err.Error(), `two models named "m"`) {
		t.Errorf("got %v, want an error about two models named m", err)
	}
	a.Close()
	b.Close()
}
