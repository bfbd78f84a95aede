package export_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/trainer"
)

func randGraphTensor(r *rand.Rand, shape ...int) *graph.Tensor {
	t := graph.NewTensor(shape...)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	return t
}

func gnode(name, op string, in []string, out string, a map[string]graph.Attribute) *graph.Node {
	return &graph.Node{Name: name, Op: op, Inputs: in, Outputs: []string{out}, Attrs: a}
}

// exportGraphs are graphs over the op types package graph runs today,
// with the output shapes the exporter must declare for them.
func exportGraphs(r *rand.Rand) []struct {
	name   string
	g      *graph.Graph
	shapes []string // of the outputs, as runtime.IO.ShapeString
} {
	positive := randGraphTensor(r, 5)
	for i := range positive.Data {
		positive.Data[i] = 0.5 + float32(math.Abs(float64(positive.Data[i])))
	}
	return []struct {
		name   string
		g      *graph.Graph
		shapes []string
	}{
		{"mlp", &graph.Graph{
			Inputs: []graph.Value{{Name: "x", Shape: []int{-1, 6}}}, Outputs: []string{"y", "code"},
			Params: map[string]*graph.Tensor{"enc.0.weight": randGraphTensor(r, 4, 6), "enc.0.bias": randGraphTensor(r, 4),
				"enc.1.weight": randGraphTensor(r, 4, 3), "enc.1.bias": randGraphTensor(r, 3),
				"dec.0.weight": randGraphTensor(r, 3, 6), "dec.0.bias": randGraphTensor(r, 1, 6)},
			Nodes: []*graph.Node{
				gnode("enc.0", "Gemm", []string{"x", "enc.0.weight", "enc.0.bias"}, "h0", export.Attrs("transB", graph.Int(1), "alpha", graph.Float(0.7), "beta", graph.Float(1.3))),
				gnode("enc.0.act", "LeakyRelu", []string{"h0"}, "a0", export.Attrs("alpha", graph.Float(0.2))),
				gnode("enc.1", "MatMul", []string{"a0", "enc.1.weight"}, "h1", nil),
				gnode("enc.1.bias", "Add", []string{"h1", "enc.1.bias"}, "h2", nil),
				gnode("enc.1.act", "Tanh", []string{"h2"}, "code", nil),
				gnode("dec.0", "Gemm", []string{"code", "dec.0.weight", "dec.0.bias"}, "d0", nil),
				gnode("dec.0.act", "Sigmoid", []string{"d0"}, "y", nil),
			},
			Marks: map[string]string{graph.MarkCode: "code"},
		}, []string{"[batch 6]", "[batch 3]"}},
		{"elementwise", &graph.Graph{
			Inputs: []graph.Value{{Name: "x", Shape: []int{-1, 5}}}, Outputs: []string{"y", "over_batch", "softmax"},
			Params: map[string]*graph.Tensor{"shift": randGraphTensor(r, 1, 5), "scale": positive},
			Nodes: []*graph.Node{
				gnode("elu", "Elu", []string{"x"}, "e", export.Attrs("alpha", graph.Float(0.5))),
				gnode("softplus", "Softplus", []string{"e"}, "sp", nil),
				gnode("relu", "Relu", []string{"x"}, "rl", nil),
				gnode("add", "Add", []string{"sp", "rl"}, "s1", nil),
				gnode("sub", "Sub", []string{"s1", "shift"}, "s2", nil),
				gnode("div", "Div", []string{"s2", "scale"}, "s3", nil),
				gnode("mul", "Mul", []string{"s3", "x"}, "s4", nil),
				gnode("id", "Identity", []string{"s4"}, "y", nil),
				gnode("softmax.batch", "Softmax", []string{"x"}, "over_batch", export.Attrs("axis", graph.Int(0))),
				gnode("softmax.last", "Softmax", []string{"s3"}, "softmax", nil),
			},
		}, []string{"[batch 5]", "[batch 5]", "[batch 5]"}},
		{"gelu", &graph.Graph{ // Gelu (opset 20) written with Erf or Tanh
			Inputs: []graph.Value{{Name: "x", Shape: []int{-1, 5}}}, Outputs: []string{"exact", "tanh", "erf"},
			Nodes: []*graph.Node{
				gnode("gelu", "Gelu", []string{"x"}, "exact", nil),
				gnode("gelu.tanh", "Gelu", []string{"x"}, "tanh", export.Attrs("approximate", graph.String("tanh"))),
				gnode("erf", "Erf", []string{"x"}, "erf", nil),
			},
		}, []string{"[batch 5]", "[batch 5]", "[batch 5]"}},
		{"rank3", &graph.Graph{
			Inputs: []graph.Value{{Name: "x", Shape: []int{-1, 3, 4}}}, Outputs: []string{"y", "all", "rows"},
			Params: map[string]*graph.Tensor{"gain": randGraphTensor(r, 4, 1), "fc.weight": randGraphTensor(r, 2, 24)},
			Nodes: []*graph.Node{
				gnode("t", "Transpose", []string{"x"}, "xt", export.Attrs("perm", graph.Ints(0, 2, 1))),
				gnode("softmax.mid", "Softmax", []string{"xt"}, "sm", export.Attrs("axis", graph.Int(1))),
				gnode("gain", "Mul", []string{"sm", "gain"}, "g", nil),
				gnode("flat.g", "Flatten", []string{"g"}, "fg", nil),
				gnode("flat.x", "Flatten", []string{"x"}, "fx", export.Attrs("axis", graph.Int(-2))),
				gnode("cat", "Concat", []string{"fg", "fx"}, "c", export.Attrs("axis", graph.Int(-1))),
				gnode("fc", "Gemm", []string{"c", "fc.weight"}, "y", export.Attrs("transB", graph.Int(1))),
				gnode("flat.all", "Flatten", []string{"x"}, "all", export.Attrs("axis", graph.Int(0))),
				gnode("flat.rows", "Flatten", []string{"x"}, "fr", export.Attrs("axis", graph.Int(2))),
				gnode("softmax.rows", "Softmax", []string{"fr"}, "rows", export.Attrs("axis", graph.Int(0))),
			},
		}, []string{"[batch 2]", "[1 ?]", "[? 4]"}},
		{"conditional", &graph.Graph{
			Inputs:  []graph.Value{{Name: "x", Shape: []int{-1, 5}}, {Name: "c", Shape: []int{-1, 2}}},
			Outputs: []string{"x_hat"},
			Params: map[string]*graph.Tensor{"enc.weight": randGraphTensor(r, 3, 7), "enc.bias": randGraphTensor(r, 3),
				"dec.weight": randGraphTensor(r, 5, 5), "dec.bias": randGraphTensor(r, 5)},
			Nodes: []*graph.Node{
				gnode("cond.in", "Concat", []string{"x", "c"}, "xc", export.Attrs("axis", graph.Int(1))),
				gnode("enc", "Gemm", []string{"xc", "enc.weight", "enc.bias"}, "z0", export.Attrs("transB", graph.Int(1))),
				gnode("enc.act", "Tanh", []string{"z0"}, "z", nil),
				gnode("cond.out", "Concat", []string{"z", "c"}, "zc", export.Attrs("axis", graph.Int(1))),
				gnode("dec", "Gemm", []string{"zc", "dec.weight", "dec.bias"}, "d", export.Attrs("transB", graph.Int(1))),
				gnode("dec.act", "Sigmoid", []string{"d"}, "x_hat", nil),
			},
			Marks: map[string]string{graph.MarkCode: "z"},
		}, []string{"[batch 5]"}},
	}
}

// TestGraphMatchesONNXRuntime exports each graph at every opset from 11 to
// 18 and checks, at two batch sizes, ONNX Runtime's outputs against
// graph.Forward's, and the declared output shapes; onnx.checker then
// checks every file.
func TestGraphMatchesONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(81, 82))
	dir := t.TempDir()
	var files []string
	for _, tt := range exportGraphs(r) {
		for opset := export.MinOpset; opset <= export.MaxOpset; opset++ {
			path := filepath.Join(dir, fmt.Sprintf("%s.opset%d.onnx", tt.name, opset))
			files = append(files, path)
			t.Run(filepath.Base(path), func(t *testing.T) {
				if err := (export.Writer{Opset: opset}).WriteGraphFile(path, tt.g, nil); err != nil {
					t.Fatal(err)
				}
				m, err := runtime.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				info := m.Info()
				for k, out := range info.Outputs {
					if got := out.ShapeString(); out.Name != tt.g.Outputs[k] || got != tt.shapes[k] {
						t.Errorf("output %d: got %s %s, want %s %s", k, out.Name, got, tt.g.Outputs[k], tt.shapes[k])
					}
				}
				for _, batch := range []int{1, 4} {
					feeds := map[string]*graph.Tensor{}
					var in []runtime.Tensor
					for _, v := range tt.g.Inputs {
						shape := slices.Clone(v.Shape)
						shape[0] = batch
						x := randGraphTensor(r, shape...)
						feeds[v.Name] = x
						in = append(in, runtime.Tensor{Shape: export.Int64Shape(shape), Data: x.Data})
					}
					want, err := tt.g.Forward(feeds)
					if err != nil {
						t.Fatal(err)
					}
					got, err := m.Run(in...)
					if err != nil {
						t.Fatal(err)
					}
					for k, name := range tt.g.Outputs {
						if !slices.Equal(got[k].Shape, export.Int64Shape(want[name].Shape)) {
							t.Fatalf("batch %d, %s: shape: got %v, want %v", batch, name, got[k].Shape, want[name].Shape)
						}
						closeEnough(t, fmt.Sprintf("batch %d, %s", batch, name), got[k].Data, want[name].Data)
					}
				}
			})
		}
	}
	export.CheckWithONNX(t, files)
}

// TestGraphCutHalves exports the halves of a cut graph and runs the
// decoder on the encoder's output in ONNX Runtime: the same as the whole
// graph's Forward.
func TestGraphCutHalves(t *testing.T) {
	r := rand.New(rand.NewPCG(83, 84))
	var g *graph.Graph
	for _, tt := range exportGraphs(r) {
		if tt.name == "conditional" {
			g = tt.g
		}
	}
	enc, dec, err := g.Cut("z")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	encPath, decPath := filepath.Join(dir, "encoder.onnx"), filepath.Join(dir, "decoder.onnx")
	if err := (export.Writer{Opset: 11}).WriteGraphFile(encPath, enc, map[string]string{"part": "encoder"}); err != nil {
		t.Fatal(err)
	}
	if err := (export.Writer{Opset: 11}).WriteGraphFile(decPath, dec, map[string]string{"part": "decoder"}); err != nil {
		t.Fatal(err)
	}
	x, c := randGraphTensor(r, 3, 5), randGraphTensor(r, 3, 2)
	want, err := g.Forward(map[string]*graph.Tensor{"x": x, "c": c})
	if err != nil {
		t.Fatal(err)
	}
	run := func(path string, in ...*graph.Tensor) []runtime.Tensor {
		m, err := runtime.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		var ts []runtime.Tensor
		for _, x := range in {
			ts = append(ts, runtime.Tensor{Shape: export.Int64Shape(x.Shape), Data: x.Data})
		}
		out, err := m.Run(ts...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	z := run(encPath, x, c)[0]
	closeEnough(t, "z", z.Data, want["z"].Data)
	y := run(decPath, &graph.Tensor{Shape: []int{3, 3}, Data: z.Data}, c)[0]
	closeEnough(t, "x_hat", y.Data, want["x_hat"].Data)
	info, err := runtime.Inspect(decPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Inputs[0].Name + " " + info.Inputs[0].ShapeString() + " " + info.Inputs[1].Name; got != "z [batch 3] c" {
		t.Errorf("decoder inputs: got %s, want z [batch 3] c", got)
	}
}

// TestGraphMetadata checks the metadata Graph records, and that runtime
// reads the input-scaling rule back.
func TestGraphMetadata(t *testing.T) {
	r := rand.New(rand.NewPCG(85, 86))
	g := exportGraphs(r)[0].g // mlp, code marked
	tc := &trainer.TrainConfig{Optimizer: trainer.OptimizerConfig{Name: "adam", LR: 1e-3}, Epochs: 1, Batch: 8, Seed: 3}
	_, dec, err := g.Cut("code")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		w    export.Writer
		g    *graph.Graph
		meta map[string]string
		want [][2]string
	}{
		{"trained here", export.Writer{Training: tc, InputRange: []float64{0, 1}}, g, map[string]string{"variant": "ae", "part": "full"},
			[][2]string{{"aebridge_version", trainer.Version}, {"training", `{"optimizer":{"name":"adam","lr":0.001},"epochs":1,"batch":8,"seed":3,"val_split":0}`},
				{"aebridge.mark.code", "code"}, {"aebridge.input_scale", "1/255"}, {"aebridge.input_range", "[0,1]"}, {"part", "full"}, {"variant", "ae"}}},
		{"trained elsewhere", export.Writer{}, g, nil,
			[][2]string{{"aebridge_version", trainer.Version}, {"aebridge.mark.code", "code"}, {"aebridge.input_scale", "none"}}},
		{"decoder by its marked input", export.Writer{Training: tc, InputRange: []float64{0, 1}}, dec, nil,
			[][2]string{{"aebridge_version", trainer.Version}, {"training", `{"optimizer":{"name":"adam","lr":0.001},"epochs":1,"batch":8,"seed":3,"val_split":0}`},
				{"aebridge.mark.code", "code"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.w.Graph(tt.g, tt.meta)
			if err != nil {
				t.Fatal(err)
			}
			var got [][2]string
			for _, p := range m.MetadataProps {
				got = append(got, [2]string{p.GetKey(), p.GetValue()})
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			path := filepath.Join(t.TempDir(), "m.onnx")
			if err := tt.w.WriteGraphFile(path, tt.g, tt.meta); err != nil {
				t.Fatal(err)
			}
			info, err := runtime.Inspect(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := info.InputScaling()
			if want := tt.w.Training != nil && tt.g == g; err != nil || (s.Divisor == 255) != want {
				t.Errorf("InputScaling: got %+v, %v; want divisor 255: %v", s, err, want)
			}
		})
	}
}

// TestGraphErrors checks Graph's refusals.
func TestGraphErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(87, 88))
	mlp := func(edit func(g *graph.Graph)) *graph.Graph {
		g := exportGraphs(r)[0].g
		edit(g)
		return g
	}
	tests := []struct {
		name    string
		w       export.Writer
		g       *graph.Graph
		meta    map[string]string
		wantErr string
	}{
		{"unknown op", export.Writer{}, mlp(func(g *graph.Graph) { g.Nodes[4].Op = "Celu" }), nil,
			`export: node "enc.1.act" (Celu): opset 13: op type not supported by package graph`},
		{"opset", export.Writer{Opset: 19}, mlp(func(g *graph.Graph) {}), nil, "export: opset 19 is not supported (want 11 to 18)"},
		{"dangling tensor", export.Writer{}, mlp(func(g *graph.Graph) { g.Nodes[6].Inputs[0] = "nothing" }), nil,
			`export: graph: node "dec.0.act" (Sigmoid): tensor "nothing": no graph input, parameter or node output`},
		{"shapes", export.Writer{}, mlp(func(g *graph.Graph) { g.Inputs[0].Shape = []int{-1, 7} }), nil,
			`export: graph: node "enc.0" (Gemm): tensor "h0": input shapes [[2 7] [4 6] [4]] do not fit`},
		{"parameter data", export.Writer{}, mlp(func(g *graph.Graph) { g.Params["unused"] = &graph.Tensor{Shape: []int{3}, Data: []float32{1}} }), nil,
			`export: tensor "unused": 1 float32 values for shape [3]`},
		{"metadata key", export.Writer{}, mlp(func(g *graph.Graph) {}), map[string]string{"aebridge.input_scale": "1/255"},
			`export: metadata key "aebridge.input_scale": written by the exporter itself`},
		{"mark key", export.Writer{}, mlp(func(g *graph.Graph) {}), map[string]string{"aebridge.mark.mu": "h0"},
			`export: metadata key "aebridge.mark.mu": written by the exporter itself`},
		{"input range", export.Writer{InputRange: []float64{math.Inf(-1), 0}}, mlp(func(g *graph.Graph) {}), nil,
			"export: input range [-Inf 0]: want [min, max] of finite numbers, min ≤ max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.w.Graph(tt.g, tt.meta)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("got %v, want %s", err, tt.wantErr)
			}
		})
	}
	_, err := export.Writer{}.Graph(mlp(func(g *graph.Graph) { g.Nodes[0].Op = "Conv2" }), nil)
	var ue *export.UnsupportedError
	if !errors.As(err, &ue) || ue.Node != "enc.0" || ue.Op != "Conv2" {
		t.Errorf("got %#v, want an *UnsupportedError for node enc.0 (Conv2)", err)
	}
}

// TestMarshalGraphIsDeterministic marshals graphs again and again (their
// parameters and attributes in maps, whose order Go varies): the same
// bytes every time.
func TestMarshalGraphIsDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(89, 90))
	for _, tt := range exportGraphs(r) {
		t.Run(tt.name, func(t *testing.T) {
			w := export.Writer{Opset: 11, InputRange: []float64{0, 1}}
			meta := map[string]string{"variant": "ae", "part": "full", "loss": "mse"}
			first, err := w.MarshalGraph(tt.g, meta)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				b, err := w.MarshalGraph(tt.g, meta)
				if err != nil || !slices.Equal(b, first) {
					t.Fatalf("marshal %d: got %d bytes (%v), different from the first %d", i+2, len(b), err, len(first))
				}
			}
		})
	}
}
