package export_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/trainer"
)

// Export a model's encoder and list what the graph holds.
func ExampleWriter_WriteFile() {
	cfg, err := trainer.MLP{Variant: "ae", Input: 784, Hidden: []int{128}, Latent: 16}.Config()
	if err != nil {
		log.Fatal(err)
	}
	m, err := trainer.Build(cfg)
	if err != nil {
		log.Fatal(err)
	}
	m.Init(1)
	dir, _ := os.MkdirTemp("", "export")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "encoder.onnx")
	if err := (export.Writer{Opset: 17}).WriteFile(path, m, export.Encoder); err != nil {
		log.Fatal(err)
	}
	info, err := runtime.Inspect(path) // reads the file; needs no ONNX Runtime
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Inputs[0].Name, info.Inputs[0].ShapeString(), "→", info.Outputs[0].Name, info.Outputs[0].ShapeString())
	fmt.Println("opset", info.Opsets[0].Version, "parameters", info.Parameters)
	var ops []string
	for op, n := range info.Ops {
		ops = append(ops, fmt.Sprintf("%s×%d", op, n))
	}
	sort.Strings(ops)
	fmt.Println(ops)
	// Output:
	// x [batch 784] → z [batch 16]
	// opset 17 parameters 102544
	// [Gemm×2 Relu×1]
}

// Export a graph's encoder: cut the graph at its marked code and write the
// half before it, at opset 11.
func ExampleWriter_WriteGraphFile() {
	g := &graph.Graph{
		Inputs:  []graph.Value{{Name: "x", Shape: []int{-1, 4}}},
		Outputs: []string{"y"},
		Params: map[string]*graph.Tensor{
			"enc.weight": graph.NewTensor(2, 4), "enc.bias": graph.NewTensor(2),
			"dec.weight": graph.NewTensor(4, 2), "dec.bias": graph.NewTensor(4),
		},
		Nodes: []*graph.Node{
			{Name: "enc", Op: "Gemm", Inputs: []string{"x", "enc.weight", "enc.bias"}, Outputs: []string{"h"}, Attrs: map[string]graph.Attribute{"transB": graph.Int(1)}},
			{Name: "code", Op: "Softmax", Inputs: []string{"h"}, Outputs: []string{"z"}},
			{Name: "dec", Op: "Gemm", Inputs: []string{"z", "dec.weight", "dec.bias"}, Outputs: []string{"d"}, Attrs: map[string]graph.Attribute{"transB": graph.Int(1)}},
			{Name: "out", Op: "Sigmoid", Inputs: []string{"d"}, Outputs: []string{"y"}},
		},
		Marks: map[string]string{graph.MarkCode: "z"},
	}
	code, err := g.Bottleneck()
	if err != nil {
		log.Fatal(err)
	}
	enc, _, err := g.Cut(code)
	if err != nil {
		log.Fatal(err)
	}
	dir, _ := os.MkdirTemp("", "export")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "encoder.onnx")
	if err := (export.Writer{Opset: 11}).WriteGraphFile(path, enc, map[string]string{"part": "encoder"}); err != nil {
		log.Fatal(err)
	}
	info, err := runtime.Inspect(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Inputs[0].Name, info.Inputs[0].ShapeString(), "→", info.Outputs[0].Name, info.Outputs[0].ShapeString())
	fmt.Println("opset", info.Opsets[0].Version, "parameters", info.Parameters, "ops", info.Ops)
	fmt.Println("code", info.Metadata["aebridge.mark.code"], "part", info.Metadata["part"])
	// Output:
	// x [batch 4] → z [batch 2]
	// opset 11 parameters 10 ops map[Gemm:1 Softmax:1]
	// code z part encoder
}
