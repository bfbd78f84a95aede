package graph_test

import (
	"bytes"
	"fmt"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/trainer"
)

// An autoencoder with a residual skip, which no chain of layers holds,
// trained for a few epochs and exported to ONNX: the trainer plans the
// graph once per batch shape and runs its forward and backward passes; the
// exporter writes it node by node.
func ExampleGraph_train() {
	w := func(rows, cols int, v float32) *graph.Tensor {
		t := graph.NewTensor(rows, cols)
		for i := range t.Data {
			t.Data[i] = v * float32(i%7-3) / 3
		}
		return t
	}
	tb := map[string]graph.Attribute{"transB": graph.Int(1)}
	g := &graph.Graph{
		Inputs:  []graph.Value{{Name: "x", Shape: []int{-1, 6}}},
		Outputs: []string{"x_hat"},
		Params: map[string]*graph.Tensor{
			"enc.weight": w(4, 6, 0.4), "enc.bias": graph.NewTensor(4),
			"res.weight": w(4, 4, 0.3), "res.bias": graph.NewTensor(4),
			"code.weight": w(2, 4, 0.5), "code.bias": graph.NewTensor(2),
			"dec.weight": w(6, 2, 0.5), "dec.bias": graph.NewTensor(6),
		},
		Nodes: []*graph.Node{
			{Name: "enc", Op: "Gemm", Inputs: []string{"x", "enc.weight", "enc.bias"}, Outputs: []string{"e"}, Attrs: tb},
			{Name: "enc.act", Op: "Tanh", Inputs: []string{"e"}, Outputs: []string{"h"}},
			{Name: "res", Op: "Gemm", Inputs: []string{"h", "res.weight", "res.bias"}, Outputs: []string{"r"}, Attrs: tb},
			{Name: "res.act", Op: "Relu", Inputs: []string{"r"}, Outputs: []string{"ra"}},
			{Name: "skip", Op: "Add", Inputs: []string{"h", "ra"}, Outputs: []string{"h2"}},
			{Name: "code", Op: "Gemm", Inputs: []string{"h2", "code.weight", "code.bias"}, Outputs: []string{"z"}, Attrs: tb},
			{Name: "dec", Op: "Gemm", Inputs: []string{"z", "dec.weight", "dec.bias"}, Outputs: []string{"d"}, Attrs: tb},
			{Name: "out", Op: "Sigmoid", Inputs: []string{"d"}, Outputs: []string{"x_hat"}},
		},
		Marks: map[string]string{graph.MarkCode: "z"},
	}
	m, err := trainer.FromGraph(g, trainer.BCE)
	if err != nil {
		fmt.Println(err)
		return
	}
	data := trainer.NewTensor(32, 6)
	for i := range data.Data {
		if (i/6)%2 == (i%6)/3 { // two kinds of rows: two codes suffice
			data.Data[i] = 0.9
		} else {
			data.Data[i] = 0.1
		}
	}
	before, _ := trainer.Evaluate(m, data, 8)
	cfg := trainer.TrainConfig{Epochs: 40, Batch: 8, Seed: 1, Optimizer: trainer.OptimizerConfig{Name: "adam", LR: 0.02}}
	if _, err := trainer.Fit(m, data, cfg, trainer.FitOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	after, _ := trainer.Evaluate(m, data, 8)
	fmt.Println("the loss fell by more than half:", after < before/2)

	b, err := export.Writer{Opset: 17}.MarshalGraph(g, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("exported:", bytes.HasPrefix(b, []byte{0x08}), "nodes:", len(g.Nodes), "trained:", len(m.Params()), "tensors")
	// Output:
	// the loss fell by more than half: true
	// exported: true nodes: 8 trained: 8 tensors
}
