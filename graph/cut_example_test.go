package graph_test

import (
	"fmt"

	"github.com/aebridge/aebridge/graph"
)

// Cut an autoencoder with a conditional decoder at its code, and find that
// a skip connection around the code forbids the cut.
func ExampleGraph_Cut() {
	g := &graph.Graph{
		Inputs:  []graph.Value{{Name: "x", Shape: []int{-1, 3}}, {Name: "label", Shape: []int{-1, 1}}},
		Outputs: []string{"y"},
		Params:  map[string]*graph.Tensor{"w": graph.NewTensor(3, 2)},
		Nodes: []*graph.Node{
			{Name: "enc", Op: "MatMul", Inputs: []string{"x", "w"}, Outputs: []string{"h"}},
			{Name: "act", Op: "Tanh", Inputs: []string{"h"}, Outputs: []string{"z"}},
			{Name: "cond", Op: "Concat", Inputs: []string{"z", "label"}, Outputs: []string{"zl"}, Attrs: map[string]graph.Attribute{"axis": graph.Int(1)}},
			{Name: "dec", Op: "Sigmoid", Inputs: []string{"zl"}, Outputs: []string{"y"}},
		},
	}
	enc, dec, err := g.Cut("z")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("encoder", enc.Inputs[0].Name, "→", enc.Outputs, len(enc.Nodes), "nodes, parameters", len(enc.Params))
	fmt.Println("decoder", dec.Inputs, "→", dec.Outputs, len(dec.Nodes), "nodes, parameters", len(dec.Params))
	// A skip: the decoder also reads h, from before the code.
	g.Nodes[2].Inputs = []string{"z", "label", "h"}
	_, _, err = g.Cut("z")
	fmt.Println(err)
	// Output:
	// encoder x → [z] 2 nodes, parameters 1
	// decoder [{z [-1 2] float32} {label [-1 1] float32}] → [y] 2 nodes, parameters 0
	// graph: node "cond" (Concat): tensor "h": cut at "z": computed before the cut and read after it, a skip connection across the cut
}
