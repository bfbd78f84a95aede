package convert

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/graph"
)

// opsRoundTripGraph is a graph with a node of each elementwise, reduction
// and normalisation op of package graph (unary.go, binary.go, reduce.go,
// logsoftmax.go, norm.go), each an output.
func opsRoundTripGraph(r *rand.Rand) *graph.Graph {
	rnd := func(shape ...int) *graph.Tensor {
		t := graph.NewTensor(shape...)
		for i := range t.Data {
			t.Data[i] = float32(r.NormFloat64())
		}
		return t
	}
	scalar := func(v float32) *graph.Tensor { return &graph.Tensor{Shape: []int{}, Data: []float32{v}} }
	i64 := func(v ...int64) *graph.Tensor { return graph.NewInt64Tensor(v, len(v)) }
	g := &graph.Graph{
		Inputs: []graph.Value{{Name: "x", Shape: []int{-1, 4, 6}}},
		Params: map[string]*graph.Tensor{"one": scalar(1), "lo": scalar(-0.5), "hi": scalar(0.5), "six": scalar(6), "zero": scalar(0), "two": scalar(2),
			"slope": rnd(4, 1), "w": rnd(6), "ln.s": rnd(6), "ln.b": rnd(6), "in.s": rnd(4), "in.b": rnd(4),
			"last": i64(-1), "first2": i64(0, 1), "none": i64()},
	}
	add := func(op string, in []string, attrs map[string]graph.Attribute, outs ...string) {
		name := fmt.Sprintf("n%d_%s", len(g.Nodes), op)
		if len(outs) == 0 {
			outs = []string{name}
		}
		g.Nodes = append(g.Nodes, &graph.Node{Name: name, Op: op, Inputs: in, Outputs: outs, Attrs: attrs})
		for _, o := range outs {
			if o != "" && o != "a" && o != "p" {
				g.Outputs = append(g.Outputs, o)
			}
		}
	}
	x := []string{"x"}
	add("Abs", x, nil, "a")
	add("Add", []string{"a", "one"}, nil, "p")
	for _, op := range []string{"Neg", "Exp", "Softsign", "Selu", "HardSigmoid", "HardSwish"} {
		add(op, x, nil)
	}
	for _, op := range []string{"Sqrt", "Log", "Reciprocal"} {
		add(op, []string{"p"}, nil)
	}
	add("Selu", x, map[string]graph.Attribute{"alpha": graph.Float(0.5), "gamma": graph.Float(2)})
	add("Clip", []string{"x", "lo", "hi"}, nil)
	add("Clip", []string{"x", "", "hi"}, nil)
	add("Clip", []string{"x", "zero", "six"}, nil)
	add("Pow", []string{"p", "two"}, nil)
	add("Pow", []string{"p", "x"}, nil)
	add("PRelu", []string{"x", "slope"}, nil)
	add("LogSoftmax", x, map[string]graph.Attribute{"axis": graph.Int(1)})
	add("Max", []string{"x", "p", "w"}, nil)
	add("Min", []string{"x", "w"}, nil)
	add("Sum", []string{"x", "p", "w"}, nil)
	add("Mean", []string{"x", "w"}, nil)
	for _, op := range []string{"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSumExp"} {
		add(op, []string{"x", "last"}, map[string]graph.Attribute{"keepdims": graph.Int(0)})
		add(op, []string{"x", "first2"}, nil)
		add(op, []string{"x", "none"}, map[string]graph.Attribute{"noop_with_empty_axes": graph.Int(1)})
	}
	add("ReduceL2", []string{"x"}, map[string]graph.Attribute{"keepdims": graph.Int(1)})
	add("LayerNormalization", []string{"x", "ln.s", "ln.b"}, nil, "ln", "ln.mean")
	add("LayerNormalization", []string{"x", "ln.s"}, map[string]graph.Attribute{"axis": graph.Int(-2), "epsilon": graph.Float(1e-3)}, "ln2", "", "ln2.inv")
	add("InstanceNormalization", []string{"x", "in.s", "in.b"}, map[string]graph.Attribute{"epsilon": graph.Float(1e-4)})
	return g
}

// TestExportReadGraphRoundTripOps exports opsRoundTripGraph at every
// opset the exporter writes and reads it back with ReadGraph: the same
// outputs, to float32 rounding (below 17 LayerNormalization comes back as
// the ops it was written as, below 14 HardSwish).
func TestExportReadGraphRoundTripOps(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	want := opsRoundTripGraph(r)
	x := graph.NewTensor(3, 4, 6)
	for i := range x.Data {
		x.Data[i] = float32(2 * r.NormFloat64())
	}
	inputs := map[string]*graph.Tensor{"x": x}
	wv, err := want.Forward(inputs)
	if err != nil {
		t.Fatal(err)
	}
	for opset := export.MinOpset; opset <= export.MaxOpset; opset++ {
		t.Run(fmt.Sprint("opset", opset), func(t *testing.T) {
			b, err := export.Writer{Opset: opset}.MarshalGraph(want, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := DecodeGraph(bytes.NewReader(b), "ops.onnx", Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Outputs, want.Outputs) {
				t.Fatalf("outputs %v, want %v", got.Outputs, want.Outputs)
			}
			gv, err := got.Forward(inputs)
			if err != nil {
				t.Fatal(err)
			}
			for _, out := range want.Outputs {
				a, b := gv[out], wv[out]
				if !slices.Equal(a.Shape, b.Shape) {
					t.Fatalf("output %s: shape %v, want %v", out, a.Shape, b.Shape)
				}
				for i := range b.Data {
					if d := math.Abs(float64(a.Data[i] - b.Data[i])); !(d <= 1e-5+1e-5*math.Abs(float64(b.Data[i]))) {
						t.Fatalf("output %s[%d]: read back %v, the graph %v", out, i, a.Data[i], b.Data[i])
					}
				}
			}
		})
	}
}
