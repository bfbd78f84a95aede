package graph_test

import (
	"fmt"

	"github.com/aebridge/aebridge/graph"
)

// A residual block, y = x + relu(x·Wᵀ + b), as a graph: Order sorts its
// nodes, Forward runs it, Backward gives the gradients.
func ExampleGraph() {
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
				Attrs: map[string]graph.Attribute{"transB": graph.Int(1)}},
		},
		Marks: map[string]string{graph.MarkCode: "h"},
	}
	order, err := g.Order()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range order {
		fmt.Println(n.Name, n.Op)
	}
	x := &graph.Tensor{Shape: []int{1, 2}, Data: []float32{1, 2}}
	values, err := g.Forward(map[string]*graph.Tensor{"x": x})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("code", values[g.Marks[graph.MarkCode]].Data, "y", values["y"].Shape, values["y"].Data)
	// The gradient of Σy with respect to every tensor it depends on.
	grads, err := g.Backward(values, map[string]*graph.Tensor{"y": {Shape: []int{1, 2}, Data: []float32{1, 1}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("dx", grads["x"].Data, "dW", grads["fc.weight"].Data)
	// Output:
	// fc Gemm
	// relu Relu
	// add Add
	// code [0 1] y [1 2] [1 3]
	// dx [1 3] dW [0 0 1 2]
}
