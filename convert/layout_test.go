package convert

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/graph"
)

// layoutGraph is a graph of the layout ops: reflect and constant Pads
// (the second through the axes input), a Split by sizes and one into
// num_outputs uneven parts, DepthToSpace in both modes, SpaceToDepth, and
// a Gather at a Range of indices, on (batch, 8, 3, 4) data.
func layoutGraph(r *rand.Rand) *graph.Graph {
	rnd := func(shape ...int) *graph.Tensor {
		t := graph.NewTensor(shape...)
		for i := range t.Data {
			t.Data[i] = float32(r.NormFloat64())
		}
		return t
	}
	i64 := func(v ...int64) *graph.Tensor { return graph.NewInt64Tensor(v, len(v)) }
	scalar := func(v int64) *graph.Tensor { return graph.NewInt64Tensor([]int64{v}) }
	a := func(kv ...any) map[string]graph.Attribute {
		m := map[string]graph.Attribute{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(graph.Attribute)
		}
		return m
	}
	return &graph.Graph{Inputs: []graph.Value{{Name: "x", Shape: []int{-1, 8, 3, 4}}}, Outputs: []string{"y", "s2"},
		Params: map[string]*graph.Tensor{"w": rnd(1, 8, 1, 1), "pads": i64(0, 0, 1, 2, 0, 0, 1, 0), "pads2": i64(1, 0, 0, 1), "axes2": i64(1, -1),
			"value": {Shape: []int{}, Data: []float32{0.25}}, "sizes": i64(4, 4), "zero": scalar(0), "three": scalar(3), "one": scalar(1)},
		Nodes: []*graph.Node{
			{Name: "scale", Op: "Mul", Inputs: []string{"x", "w"}, Outputs: []string{"h"}},
			{Name: "reflect", Op: "Pad", Inputs: []string{"h", "pads"}, Outputs: []string{"p"}, Attrs: a("mode", graph.String("reflect"))}, // (b, 8, 5, 6)
			{Name: "split", Op: "Split", Inputs: []string{"p", "sizes"}, Outputs: []string{"s0", "s1"}, Attrs: a("axis", graph.Int(1))},
			{Name: "dcr", Op: "DepthToSpace", Inputs: []string{"s0"}, Outputs: []string{"d0"}, Attrs: a("blocksize", graph.Int(2))},
			{Name: "crd", Op: "DepthToSpace", Inputs: []string{"s1"}, Outputs: []string{"d1"}, Attrs: a("blocksize", graph.Int(2), "mode", graph.String("CRD"))},
			{Name: "sum", Op: "Add", Inputs: []string{"d0", "d1"}, Outputs: []string{"c"}},                           // (b, 1, 10, 12)
			{Name: "constant", Op: "Pad", Inputs: []string{"c", "pads2", "value", "axes2"}, Outputs: []string{"c2"}}, // (b, 2, 10, 13)
			{Name: "s2d", Op: "SpaceToDepth", Inputs: []string{"c2"}, Outputs: []string{"e"}, Attrs: a("blocksize", graph.Int(1))},
			{Name: "range", Op: "Range", Inputs: []string{"zero", "three", "one"}, Outputs: []string{"idx"}},
			{Name: "pick", Op: "Gather", Inputs: []string{"e", "idx"}, Outputs: []string{"g"}, Attrs: a("axis", graph.Int(2))},
			{Name: "parts", Op: "Split", Inputs: []string{"g"}, Outputs: []string{"y", "s2", "s3"}, Attrs: a("axis", graph.Int(-1), "num_outputs", graph.Int(3))},
		}}
}

// TestLayoutRoundTrip writes the layout graph at every opset the exporter
// supports and reads it back with DecodeGraph: the graph read computes
// what the graph written computes, bit for bit.
func TestLayoutRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(171, 172))
	g := layoutGraph(r)
	x := graph.NewTensor(2, 8, 3, 4)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	want, err := g.Forward(map[string]*graph.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	if s := want["y"].Shape; !slices.Equal(s, []int{2, 2, 3, 5}) {
		t.Fatalf("the graph's output: shape %v, want [2 2 3 5]", s)
	}
	for opset := export.MinOpset; opset <= export.MaxOpset; opset++ {
		t.Run(strconv.Itoa(opset), func(t *testing.T) {
			b, err := export.Writer{Opset: opset}.MarshalGraph(g, nil)
			if err != nil {
				t.Fatal(err)
			}
			back, _, err := DecodeGraph(bytes.NewReader(b), "layout.onnx", Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := back.Forward(map[string]*graph.Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range g.Outputs {
				if !slices.Equal(got[name].Shape, want[name].Shape) || !slices.Equal(got[name].Data, want[name].Data) {
					t.Errorf("output %s: got %v %v, want %v %v", name, got[name].Shape, got[name].Data, want[name].Shape, want[name].Data)
				}
			}
		})
	}
	// Pad's wrap came in opset 19: no opset written has it.
	g.Nodes[1].Attrs["mode"] = graph.String("wrap")
	_, err = export.Writer{Opset: export.MaxOpset}.MarshalGraph(g, nil)
	var ue *export.UnsupportedError
	if !errors.As(err, &ue) || ue.Op != "Pad" {
		t.Errorf("wrap: got error %v, want an *export.UnsupportedError of the Pad", err)
	}
}

// TestCVAEEmbedding reads the CVAE decoder of testdata/layout, whose class
// label is an int64 input feeding an nn.Embedding (Gather of its table),
// at each opset, and runs it in Go on the saved labels against PyTorch's
// outputs. (It is not in testdata/layout's manifest: aebridge check does
// not read int64 .npy inputs yet.)
func TestCVAEEmbedding(t *testing.T) {
	dir := filepath.Join("..", "testdata", "layout")
	z := readNPY(t, filepath.Join(dir, "cvae_embedding.in0.npy"))
	labels := readNPY(t, filepath.Join(dir, "cvae_embedding.in1.npy")) // int64 values, read as float32 (exact: 0 to 9)
	want := readNPY(t, filepath.Join(dir, "cvae_embedding.out0.npy"))
	label := graph.NewInt64Tensor(make([]int64, len(labels.Data)), labels.Shape...)
	for i, v := range labels.Data {
		label.Int64[i] = int64(v)
	}
	for _, opset := range []int{9, 11, 13, 17} {
		t.Run(fmt.Sprint(opset), func(t *testing.T) {
			g, _, err := ReadGraph(filepath.Join(dir, fmt.Sprintf("cvae_embedding.opset%d.onnx", opset)), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(g.Inputs) != 2 || g.Inputs[1].Name != "label" || g.Inputs[1].Type != graph.Int64 {
				t.Fatalf("inputs: got %+v, want z and the int64 label", g.Inputs)
			}
			values, err := g.Forward(map[string]*graph.Tensor{"z": z, "label": label})
			if err != nil {
				t.Fatal(err)
			}
			y := values[g.Outputs[0]]
			if !slices.Equal(y.Shape, want.Shape) {
				t.Fatalf("shape: got %v, want %v", y.Shape, want.Shape)
			}
			for i := range y.Data {
				if d := float64(y.Data[i] - want.Data[i]); d > 1e-5 || d < -1e-5 {
					t.Fatalf("element %d: got %v, want %v (PyTorch)", i, y.Data[i], want.Data[i])
				}
			}
			// A label outside the table is an error naming the node, not a panic.
			bad := graph.NewInt64Tensor(slices.Clone(label.Int64), label.Shape...)
			bad.Int64[2] = 10
			if _, err := g.Forward(map[string]*graph.Tensor{"z": z, "label": bad}); err == nil {
				t.Errorf("label 10 of a table of 10: no error")
			}
		})
	}
}
