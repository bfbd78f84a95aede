package graph_test

import (
	"fmt"

	"github.com/aebridge/aebridge/graph"
)

// A residual block, y = x + relu(x·Wᵀ + b), as a graph: Order sorts its
// nodes, and the operators' Forward functions run it.
func ExampleGraph_Order() {
	g := &graph.Graph{
		Inputs:  []graph.Value{{Name: "x", Shape: []int{-1, 2}}},
		Outputs: []string{"y"},
		Params: map[string]*graph.Tensor{
			"fc.weight": {Shape: []int{2, 2}, Data: []float32{1, -1, 0, 2}},
			"fc.bias":   {Shape: []int{2}, Data: []float32{0.5, -3}},
		},
		Nodes: []*graph.Node{
			{Name: "add", Op: "Add", Inputs: []string{"x", "h"}, Outputs: []string{"y"}},
			{Name: "relu", Op: "Relu", Inputs: []string{"z"}, Outputs: []string{"h"}},
			{Name: "fc", Op: "Gemm", Inputs: []string{"x", "fc.weight", "fc.bias"}, Outputs: []string{"z"},
				Attrs: map[string]graph.Attribute{"transB": {Int: 1}}},
		},
		Marks: map[string]string{graph.MarkCode: "h"},
	}
	order, err := g.Order()
	if err != nil {
		fmt.Println(err)
		return
	}
	values := map[string]*graph.Tensor{"x": {Shape: []int{1, 2}, Data: []float32{1, 2}}}
	for name, p := range g.Params {
		values[name] = p
	}
	for _, n := range order {
		fmt.Println(n.Name, n.Op)
		y := new(graph.Tensor)
		in := func(k int) *graph.Tensor { return values[n.Inputs[k]] }
		switch n.Op {
		case "Gemm":
			graph.GemmForward(y, in(0), in(1), in(2), n.Float("alpha", 1), n.Float("beta", 1), n.Int("transA", 0) != 0, n.Int("transB", 0) != 0)
		case "Relu":
			graph.ReluForward(y, in(0))
		case "Add":
			graph.AddForward(y, in(0), in(1))
		}
		values[n.Outputs[0]] = y
	}
	fmt.Println(values["y"].Shape, values["y"].Data)
	// Output:
	// fc Gemm
	// relu Relu
	// add Add
	// [1 2] [1 3]
}
