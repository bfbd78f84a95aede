package runtime

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

// Weights of a linear autoencoder with 3 inputs, a code of 2 and a
// condition of 2 classes: z = x·E (+ c·C), x̂ = z·D (+ c·G).
var (
	weightE = []float32{1, 0, 0, 1, 1, -1} // (3, 2)
	weightD = []float32{1, 2, 0, 0, 1, 1}  // (2, 3)
	weightC = []float32{10, 20, 30, 40}    // (2, 2)
	weightG = []float32{1, 1, 1, 2, 2, 2}  // (2, 3)
	weightL = []float32{0, 0, 0, 0, 0, 0}  // log σ², (3, 2)
)

// linear builds y = Σ inputs[i]·W[i] as MatMul and Add nodes.
type linear struct {
	nodes []*onnxpb.NodeProto
	inits []*onnxpb.TensorProto
	n     int
}

func (l *linear) matmul(in, name string, w []float32, rows, cols int64) string {
	l.n++
	out := "t" + string(rune('a'+l.n))
	l.param(name, w, rows, cols)
	l.nodes = append(l.nodes, &onnxpb.NodeProto{OpType: proto.String("MatMul"), Input: []string{in, name}, Output: []string{out}})
	return out
}

func (l *linear) param(name string, w []float32, rows, cols int64) {
	l.inits = append(l.inits, &onnxpb.TensorProto{Name: proto.String(name), Dims: []int64{rows, cols},
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: w})
}

func (l *linear) add(a, b string) string {
	l.n++
	out := "t" + string(rune('a'+l.n))
	l.nodes = append(l.nodes, &onnxpb.NodeProto{OpType: proto.String("Add"), Input: []string{a, b}, Output: []string{out}})
	return out
}

func (l *linear) rename(from, to string) {
	l.nodes = append(l.nodes, &onnxpb.NodeProto{OpType: proto.String("Identity"), Input: []string{from}, Output: []string{to}})
}

// writeLinear writes one part of the linear autoencoder (conditional with
// cond, variational with vae) to dir/file with aebridge's metadata, config
// standing for the model configuration.
func writeLinear(t *testing.T, dir, file, part, config string, cond, vae bool) string {
	t.Helper()
	var l linear
	io := func(name string, n int64) *onnxpb.ValueInfoProto {
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: tensorType([]int64{-1, n})}
	}
	var inputs, outputs []*onnxpb.ValueInfoProto
	encode := func() string {
		z := l.matmul("x", "E", weightE, 3, 2)
		if cond {
			z = l.add(z, l.matmul("c", "C", weightC, 2, 2))
		}
		return z
	}
	decode := func(z string) string {
		y := l.matmul(z, "D", weightD, 2, 3)
		if cond {
			y = l.add(y, l.matmul("c", "G", weightG, 2, 3))
		}
		return y
	}
	code := "z"
	if vae {
		code = "mu"
	}
	switch part {
	case "full":
		l.rename(decode(encode()), "x_hat")
		if vae { // unused, as in aebridge's exports, which carry the log σ² head
			l.param("L", weightL, 3, 2)
		}
		inputs, outputs = []*onnxpb.ValueInfoProto{io("x", 3)}, []*onnxpb.ValueInfoProto{io("x_hat", 3)}
	case "encoder":
		l.rename(encode(), code)
		inputs, outputs = []*onnxpb.ValueInfoProto{io("x", 3)}, []*onnxpb.ValueInfoProto{io(code, 2)}
		if vae {
			l.rename(l.matmul("x", "L", weightL, 3, 2), "logvar")
			outputs = append(outputs, io("logvar", 2))
		}
	case "decoder":
		l.rename(decode("z"), "x_hat")
		inputs, outputs = []*onnxpb.ValueInfoProto{io("z", 2)}, []*onnxpb.ValueInfoProto{io("x_hat", 3)}
	}
	if cond {
		inputs = append(inputs, io("c", 2))
	}
	m := &onnxpb.ModelProto{
		IrVersion:     proto.Int64(8),
		ProducerName:  proto.String("aebridge"),
		OpsetImport:   []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		MetadataProps: []*onnxpb.StringStringEntryProto{{Key: proto.String("part"), Value: proto.String(part)}, {Key: proto.String("model"), Value: proto.String(config)}},
		Graph:         &onnxpb.GraphProto{Name: proto.String("linear"), Node: l.nodes, Initializer: l.inits, Input: inputs, Output: outputs},
	}
	path := filepath.Join(dir, file)
	if err := onnxfile.Save(path, m); err != nil {
		t.Fatal(err)
	}
	return path
}

// linearDir writes model.onnx, encoder.onnx and decoder.onnx of the linear
// autoencoder to a new directory.
func linearDir(t *testing.T, cond, vae bool) string {
	t.Helper()
	dir := t.TempDir()
	writeLinear(t, dir, FullFile, "full", `{"v":1}`, cond, vae)
	writeLinear(t, dir, EncoderFile, "encoder", `{"v":1}`, cond, vae)
	writeLinear(t, dir, DecoderFile, "decoder", `{"v":1}`, cond, vae)
	return dir
}

// matmul returns a·b for a (n, k) and b (k, m), in float64.
func matmul(a []float64, b []float32, n, k, m int) []float64 {
	out := make([]float64, n*m)
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			for l := 0; l < k; l++ {
				out[i*m+j] += a[i*k+l] * float64(b[l*m+j])
			}
		}
	}
	return out
}

func float64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func addTo(a, b []float64) []float64 {
	for i := range a {
		a[i] += b[i]
	}
	return a
}

func closeTo(t *testing.T, what string, got Tensor, want []float64, shape []int64) {
	t.Helper()
	if !slices.Equal(got.Shape, shape) {
		t.Fatalf("%s: got shape %v, want %v", what, got.Shape, shape)
	}
	for i, w := range want {
		if !(math.Abs(float64(got.Data[i])-w) <= 1e-5*(1+math.Abs(w))) {
			t.Fatalf("%s: element %d: got %v, want %v (all: %v)", what, i, got.Data[i], w, got.Data)
		}
	}
}

// TestEncodeDecodeReconstructEveryPart checks Encode, Decode, Reconstruct
// and Score on each file of a linear autoencoder — the full model (which
// reaches its encoder and decoder beside it), the encoder and the decoder
// — plain, conditional and variational, against the closed form.
func TestEncodeDecodeReconstructEveryPart(t *testing.T) {
	x := Tensor{Shape: []int64{2, 3}, Data: []float32{1, 2, 3, 0.5, -1, 0}}
	c, err := OneHot([]int{1, 0}, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		cond, vae bool
	}{{"plain", false, false}, {"conditional", true, false}, {"variational", false, true}, {"conditional variational", true, true}} {
		t.Run(tt.name, func(t *testing.T) {
			dir := linearDir(t, tt.cond, tt.vae)
			var conds []Tensor
			z := matmul(float64s(x.Data), weightE, 2, 3, 2)
			if tt.cond {
				conds = []Tensor{c}
				z = addTo(z, matmul(float64s(c.Data), weightC, 2, 2, 2))
			}
			xhat := matmul(z, weightD, 2, 2, 3)
			if tt.cond {
				xhat = addTo(xhat, matmul(float64s(c.Data), weightG, 2, 2, 3))
			}
			var mse, l2 []float64
			for s := 0; s < 2; s++ {
				var sum float64
				for j := 0; j < 3; j++ {
					d := float64(x.Data[s*3+j]) - xhat[s*3+j]
					sum += d * d
				}
				mse, l2 = append(mse, sum/3), append(l2, math.Sqrt(sum))
			}
			zt := Tensor{Shape: []int64{2, 2}, Data: make([]float32, 4)}
			for i, v := range z {
				zt.Data[i] = float32(v)
			}
			for _, file := range []string{FullFile, EncoderFile, DecoderFile} {
				m := open(t, filepath.Join(dir, file))
				if file != DecoderFile {
					got, err := m.Encode(x, conds...)
					if err != nil {
						t.Fatalf("%s: Encode: %v", file, err)
					}
					closeTo(t, file+" Encode", got, z, []int64{2, 2})
				} else if _, err := m.Encode(x, conds...); err == nil || !strings.Contains(err.Error(), "is a decoder") {
					t.Errorf("Encode on the decoder: got %v, want an error", err)
				}
				got, err := m.Decode(zt, conds...)
				if err != nil {
					t.Fatalf("%s: Decode: %v", file, err)
				}
				closeTo(t, file+" Decode", got, xhat, []int64{2, 3})
				got, err = m.Reconstruct(x, conds...)
				if err != nil {
					t.Fatalf("%s: Reconstruct: %v", file, err)
				}
				closeTo(t, file+" Reconstruct", got, xhat, []int64{2, 3})
				for _, metric := range []struct {
					m    Metric
					want []float64
				}{{MSE, mse}, {L2, l2}} {
					s, err := m.Score(x, metric.m, conds...)
					if err != nil {
						t.Fatalf("%s: Score: %v", file, err)
					}
					closeTo(t, file+" Score "+string(metric.m), Tensor{Shape: []int64{2}, Data: s}, metric.want, []int64{2})
				}
				if tt.cond {
					if _, err := m.Reconstruct(x); err == nil || !strings.Contains(err.Error(), "is conditional") {
						t.Errorf("%s without the condition: got %v, want an error saying it is conditional", file, err)
					}
				} else if _, err := m.Score(x, MSE, c); err == nil || !strings.Contains(err.Error(), "no condition") {
					t.Errorf("%s with a condition: got %v, want an error", file, err)
				}
			}
		})
	}
}

// TestCompanionMustBeTheSameModel checks that a full model does not take
// an encoder or decoder of another model, or a missing one, for its own.
func TestCompanionMustBeTheSameModel(t *testing.T) {
	x := Tensor{Shape: []int64{1, 3}, Data: []float32{1, 2, 3}}
	dir := t.TempDir()
	full := writeLinear(t, dir, FullFile, "full", `{"v":1}`, false, false)
	writeLinear(t, dir, EncoderFile, "encoder", `{"v":2}`, false, false)
	m := open(t, full)
	if _, err := m.Encode(x); err == nil || !strings.Contains(err.Error(), "encoder.onnx is not the encoder of") {
		t.Errorf("another model's encoder: got %v", err)
	}
	if _, err := m.Decode(Tensor{Shape: []int64{1, 2}, Data: []float32{1, 2}}); err == nil || !strings.Contains(err.Error(), "decoder.onnx") || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("no decoder: got %v", err)
	}
	// The same configuration with other weights: a model trained again
	// beside its old encoder.
	old := weightE
	weightE = []float32{1, 0, 0, 1, 1, -0.5}
	writeLinear(t, dir, EncoderFile, "encoder", `{"v":1}`, false, false)
	weightE = old
	writeLinear(t, dir, DecoderFile, "decoder", `{"v":1}`, false, false)
	for _, file := range []string{FullFile, DecoderFile} {
		m := open(t, filepath.Join(dir, file))
		_, err := m.Encode(x)
		if file == DecoderFile {
			_, err = m.Reconstruct(x)
		}
		if err == nil || !strings.Contains(err.Error(), `hold different weights "E"`) {
			t.Errorf("%s with an encoder of other weights: got %v", file, err)
		}
	}
	// A PyTorch autoencoder records no part: its output is a
	// reconstruction, and Encode says so.
	py := open(t, filepath.Join(fixtures, "mlp_ae.opset13.onnx"))
	in := readTensor(t, filepath.Join(fixtures, "mlp_ae.in0.npy"))
	if _, err := py.Encode(in); err == nil || !strings.Contains(err.Error(), "looks like a whole autoencoder") {
		t.Errorf("PyTorch full model: got %v", err)
	}
	// A PyTorch VAE encoder gives μ.
	enc := open(t, filepath.Join(fixtures, "vae_encoder.opset13.onnx"))
	ein := readTensor(t, filepath.Join(fixtures, "vae_encoder.in0.npy"))
	got, err := enc.Encode(ein)
	if err != nil {
		t.Fatal(err)
	}
	out, err := enc.Run(ein)
	if err != nil {
		t.Fatal(err)
	}
	if k := codeOutput(enc.Info()); enc.Info().Outputs[k].Name != "mu" || !slices.Equal(got.Data, out[k].Data) {
		t.Errorf("VAE encoder: got output %d, want mu", k)
	}
}

func TestFeatureScores(t *testing.T) {
	x := Tensor{Shape: []int64{1, 2}, Data: []float32{0, 1}}
	xhat := Tensor{Shape: []int64{1, 2}, Data: []float32{0.5, 0.25}}
	for _, tt := range []struct {
		metric Metric
		want   []float64
	}{
		{MSE, []float64{0.25, 0.5625}}, {L2, []float64{0.25, 0.5625}}, {MAE, []float64{0.5, 0.75}},
		{BCE, []float64{-math.Log(0.5), -math.Log(0.25)}},
	} {
		t.Run(string(tt.metric), func(t *testing.T) {
			got, err := FeatureScores(x, xhat, tt.metric)
			if err != nil {
				t.Fatal(err)
			}
			closeTo(t, "feature scores", got, tt.want, []int64{1, 2})
			// They add up to the sample's score.
			s, _ := Scores(x, xhat, tt.metric)
			sum := float64(got.Data[0] + got.Data[1])
			want := map[Metric]float64{MSE: sum / 2, MAE: sum / 2, BCE: sum / 2, L2: math.Sqrt(sum)}[tt.metric]
			if !(math.Abs(float64(s[0])-want) <= 1e-6) {
				t.Errorf("score: got %v, want %v from the feature scores", s[0], want)
			}
		})
	}
}
