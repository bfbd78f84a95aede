package export

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/aebridge/aebridge/graph"
)

// TestLowerOpsAgainstONNXRuntime writes the elementwise, reduction and
// normalisation ops of the graph (graph/unary.go, binary.go, reduce.go,
// norm.go) at opset 18 and at each older opset the exporter writes, and
// checks that ONNX Runtime gives the same outputs at each (HardSwish below
// 14 and LayerNormalization below 17 are rewritten into older ops);
// onnx.checker then checks every file.
func TestLowerOpsAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(93, 94))
	rnd := func(shape ...int) *graph.Tensor {
		t := graph.NewTensor(shape...)
		for i := range t.Data {
			t.Data[i] = float32(3 * r.NormFloat64())
		}
		return t
	}
	pos := func(shape ...int) *graph.Tensor {
		t := rnd(shape...)
		for i, v := range t.Data {
			t.Data[i] = 0.5 + float32(math.Abs(float64(v)))
		}
		return t
	}
	scalar := func(v float32) *graph.Tensor { return &graph.Tensor{Shape: []int{}, Data: []float32{v}} }
	i64 := func(v ...int64) *graph.Tensor { return graph.NewInt64Tensor(v, len(v)) }
	a := Attrs
	one := func(op string, in []string, attrs map[string]graph.Attribute, out ...string) []*graph.Node {
		if len(out) == 0 {
			out = []string{"y"}
		}
		return []*graph.Node{{Name: "n", Op: op, Inputs: in, Outputs: out, Attrs: attrs}}
	}
	x := []string{"x"}
	cases := []lowerCase{
		{"HardSwish", one("HardSwish", x, nil), x, map[string]*graph.Tensor{"x": rnd(2, 3, 4)}},
		{"LayerNormalization", one("LayerNormalization", []string{"x", "s", "b"}, nil), x,
			map[string]*graph.Tensor{"x": rnd(2, 3, 4), "s": rnd(4), "b": rnd(4)}},
		{"LayerNormalization, statistics", one("LayerNormalization", []string{"x", "s"}, a("axis", graph.Int(1), "epsilon", graph.Float(1e-3)), "y", "mean", "inv"), x,
			map[string]*graph.Tensor{"x": rnd(2, 3, 4), "s": rnd(3, 4)}},
		{"Clip", one("Clip", []string{"x", "lo", "hi"}, nil), x, map[string]*graph.Tensor{"x": rnd(2, 5), "lo": scalar(0), "hi": scalar(6)}},
		{"Clip, max only", one("Clip", []string{"x", "", "hi"}, nil), x, map[string]*graph.Tensor{"x": rnd(2, 5), "hi": scalar(1)}},
		{"Pow", one("Pow", []string{"x", "e"}, nil), x, map[string]*graph.Tensor{"x": pos(2, 5), "e": scalar(2)}},
		{"PRelu", one("PRelu", []string{"x", "s"}, nil), x, map[string]*graph.Tensor{"x": rnd(2, 3, 2, 2), "s": rnd(3, 1, 1)}},
		{"Max", one("Max", []string{"x", "z", "w"}, nil), []string{"x", "z"}, map[string]*graph.Tensor{"x": rnd(2, 3), "z": rnd(3), "w": rnd(1)}},
		{"Mean", one("Mean", []string{"x", "z"}, nil), []string{"x", "z"}, map[string]*graph.Tensor{"x": rnd(2, 3), "z": rnd(2, 1)}},
		{"Selu", one("Selu", x, nil), x, map[string]*graph.Tensor{"x": rnd(2, 5)}},
		{"HardSigmoid", one("HardSigmoid", x, a("alpha", graph.Float(0.3))), x, map[string]*graph.Tensor{"x": rnd(2, 5)}},
		{"Softsign", one("Softsign", x, nil), x, map[string]*graph.Tensor{"x": rnd(2, 5)}},
		{"InstanceNormalization", one("InstanceNormalization", []string{"x", "s", "b"}, nil), x,
			map[string]*graph.Tensor{"x": rnd(2, 3, 5), "s": rnd(3), "b": rnd(3)}},
		{"ReduceL2", one("ReduceL2", []string{"x", "axes"}, a("keepdims", graph.Int(1))), x, map[string]*graph.Tensor{"x": rnd(2, 3, 4), "axes": i64(-1)}},
		{"ReduceSumSquare, no-op", one("ReduceSumSquare", []string{"x", "axes"}, a("noop_with_empty_axes", graph.Int(1))), x, map[string]*graph.Tensor{"x": rnd(2, 3), "axes": i64()}},
	}
	dir := t.TempDir()
	var files []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := runLowered(t, lowerModel(t, t.TempDir(), c, 18, nil), c)
			var shapes [][]int64
			for _, w := range want {
				shapes = append(shapes, w.Shape)
			}
			for opset := MinOpset; opset <= 18; opset++ {
				path := lowerModel(t, dir, c, opset, shapes)
				files = append(files, path)
				got := runLowered(t, path, c)
				for k := range want {
					if !slices.Equal(got[k].Shape, want[k].Shape) {
						t.Fatalf("opset %d, output %d: shape: got %v, want %v", opset, k, got[k].Shape, want[k].Shape)
					}
					for i := range want[k].Data {
						if g, w := float64(got[k].Data[i]), float64(want[k].Data[i]); !(math.Abs(g-w) <= 1e-5+1e-5*math.Abs(w)) {
							t.Fatalf("opset %d, output %d, element %d: got %v, want %v (opset 18)", opset, k, i, g, w)
						}
					}
				}
			}
		})
	}
	CheckWithONNX(t, files)
}
