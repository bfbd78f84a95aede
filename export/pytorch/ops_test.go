package pytorch_test

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/aebridge/aebridge/export/pytorch"
	"github.com/aebridge/aebridge/graph"
)

// opsGraph is a hand-built graph of the op types the variants and
// fixtures leave out — MatMul, Transpose, Softmax, Slice, Unsqueeze,
// Squeeze, a linear Resize, AveragePool, GlobalAveragePool, Sub, a Gemm
// with transB 0 and alpha, beta, Gather with constant indices, Tile,
// Concat — with a parameter whose name is no state-dict path.
func opsGraph() *graph.Graph {
	r := rand.New(rand.NewPCG(9, 9))
	random := func(shape ...int) *graph.Tensor {
		t := graph.NewTensor(shape...)
		for i := range t.Data {
			t.Data[i] = float32(r.Float64() - 0.5)
		}
		return t
	}
	i64 := func(v ...int64) *graph.Tensor { return graph.NewInt64Tensor(v, len(v)) }
	node := func(name, op string, in []string, attrs map[string]graph.Attribute) *graph.Node {
		return &graph.Node{Name: name, Op: op, Inputs: in, Outputs: []string{name}, Attrs: attrs}
	}
	return &graph.Graph{
		Inputs:  []graph.Value{{Name: "x", Shape: []int{-1, 4, 6}}},
		Outputs: []string{"y"},
		Params: map[string]*graph.Tensor{
			"w.weight": random(6, 5), "onnx::Add_3": random(5), "g.weight": random(15, 4), "g.bias": random(4),
			"starts": i64(1), "ends": i64(4), "axes2": i64(2), "axes1": i64(1), "pick": i64(0, 2), "reps": i64(1, 3),
			"scales": {Shape: []int{4}, Data: []float32{1, 1, 2, 2}},
		},
		Nodes: []*graph.Node{
			node("mm", "MatMul", []string{"x", "w.weight"}, nil),
			node("add", "Add", []string{"mm", "onnx::Add_3"}, nil),
			node("tr", "Transpose", []string{"add"}, map[string]graph.Attribute{"perm": graph.Ints(0, 2, 1)}),
			node("sm", "Softmax", []string{"tr"}, map[string]graph.Attribute{"axis": graph.Int(-1)}),
			node("sl", "Slice", []string{"sm", "starts", "ends", "axes2"}, nil),
			node("us", "Unsqueeze", []string{"sl", "axes1"}, nil),
			node("rs", "Resize", []string{"us", "", "scales"}, map[string]graph.Attribute{"mode": graph.String("linear"), "coordinate_transformation_mode": graph.String("half_pixel")}),
			node("ap", "AveragePool", []string{"rs"}, map[string]graph.Attribute{"kernel_shape": graph.Ints(2, 2), "strides": graph.Ints(2, 2)}),
			node("gp", "GlobalAveragePool", []string{"ap"}, nil),
			node("sb", "Sub", []string{"ap", "gp"}, nil),
			node("sq", "Squeeze", []string{"sb", "axes1"}, nil),
			node("fl", "Flatten", []string{"sq"}, map[string]graph.Attribute{"axis": graph.Int(1)}),
			node("gm", "Gemm", []string{"fl", "g.weight", "g.bias"}, map[string]graph.Attribute{"alpha": graph.Float(0.5), "beta": graph.Float(2)}),
			node("ga", "Gather", []string{"gm", "pick"}, map[string]graph.Attribute{"axis": graph.Int(1)}),
			node("ti", "Tile", []string{"ga", "reps"}, nil),
			{Name: "cat", Op: "Concat", Inputs: []string{"ti", "ga"}, Outputs: []string{"y"}, Attrs: map[string]graph.Attribute{"axis": graph.Int(1)}},
		},
	}
}

// poolsGraph pools with ceil_mode: an average whose last windows run past
// the input (divided by the window clipped to the padded input, with and
// without the padding counted) and a padded max pooling; two outputs.
func poolsGraph() *graph.Graph {
	pool := func(name, op string, attrs map[string]graph.Attribute) *graph.Node {
		return &graph.Node{Name: name, Op: op, Inputs: []string{"x"}, Outputs: []string{name}, Attrs: attrs}
	}
	return &graph.Graph{
		Inputs:  []graph.Value{{Name: "x", Shape: []int{-1, 2, 5, 7}}},
		Outputs: []string{"avg", "avg_pad", "max"},
		Params:  map[string]*graph.Tensor{},
		Nodes: []*graph.Node{
			pool("avg", "AveragePool", map[string]graph.Attribute{"kernel_shape": graph.Ints(2, 2), "strides": graph.Ints(2, 2), "ceil_mode": graph.Int(1)}),
			pool("avg_pad", "AveragePool", map[string]graph.Attribute{"kernel_shape": graph.Ints(3, 3), "strides": graph.Ints(2, 2), "pads": graph.Ints(1, 1, 1, 1), "ceil_mode": graph.Int(1), "count_include_pad": graph.Int(1)}),
			pool("max", "MaxPool", map[string]graph.Attribute{"kernel_shape": graph.Ints(3, 3), "strides": graph.Ints(2, 2), "pads": graph.Ints(1, 1, 1, 1), "ceil_mode": graph.Int(1)}),
		},
	}
}

// embeddingGraph looks up int64 indices in a table (Gather on axis 0 of
// a parameter, nn.Embedding) and decodes the flattened vectors.
func embeddingGraph() *graph.Graph {
	r := rand.New(rand.NewPCG(4, 4))
	table := graph.NewTensor(10, 4)
	for i := range table.Data {
		table.Data[i] = float32(r.NormFloat64())
	}
	return &graph.Graph{
		Inputs:  []graph.Value{{Name: "idx", Shape: []int{-1, 3}, Type: graph.Int64}},
		Outputs: []string{"y"},
		Params:  map[string]*graph.Tensor{"emb.weight": table},
		Nodes: []*graph.Node{
			{Name: "emb", Op: "Gather", Inputs: []string{"emb.weight", "idx"}, Outputs: []string{"e"}},
			{Name: "flat", Op: "Flatten", Inputs: []string{"e"}, Outputs: []string{"f"}, Attrs: map[string]graph.Attribute{"axis": graph.Int(1)}},
			{Name: "act", Op: "Tanh", Inputs: []string{"f"}, Outputs: []string{"y"}},
		},
	}
}

// TestGenerateUnsupported checks that nodes the generator does not write
// make one error listing every one of them, in order, and no package.
func TestGenerateUnsupported(t *testing.T) {
	g := &graph.Graph{
		Inputs:  []graph.Value{{Name: "x", Shape: []int{-1, 6}}},
		Outputs: []string{"y"},
		Params: map[string]*graph.Tensor{
			"starts": graph.NewInt64Tensor([]int64{-1}, 1), "ends": graph.NewInt64Tensor([]int64{-100}, 1),
			"axes": graph.NewInt64Tensor([]int64{1}, 1), "steps": graph.NewInt64Tensor([]int64{-1}, 1),
			"idx": graph.NewInt64Tensor([]int64{0, 1, 2, 3}, 2, 2),
		},
		Nodes: []*graph.Node{
			{Name: "rev", Op: "Slice", Inputs: []string{"x", "starts", "ends", "axes", "steps"}, Outputs: []string{"r"}},
			{Name: "act", Op: "Relu", Inputs: []string{"r"}, Outputs: []string{"a"}},
			{Name: "pick", Op: "Gather", Inputs: []string{"a", "idx"}, Outputs: []string{"y"}, Attrs: map[string]graph.Attribute{"axis": graph.Int(1)}},
		},
	}
	if _, err := g.Forward(map[string]*graph.Tensor{"x": graph.NewTensor(2, 6)}); err != nil {
		t.Fatalf("the graph does not run in Go: %v", err)
	}
	p, err := pytorch.Generate(g, pytorch.DefaultRecipe("mse"), pytorch.Options{})
	want := "pytorch: 2 node(s) not supported:\n" +
		"  Slice \"rev\": step -1: only positive steps are written\n" +
		"  Gather \"pick\": indices of more than one dimension are not written"
	var unsupported *pytorch.UnsupportedError
	if err == nil || err.Error() != want || !errors.As(err, &unsupported) || p != nil {
		t.Fatalf("got %v (package %v), want %q", err, p != nil, want)
	}
}
