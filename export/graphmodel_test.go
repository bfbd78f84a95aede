package export_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/trainer"
)

// TestGraphModelParts writes the parts of a graph model (FromGraph) with a
// residual skip inside its encoder, cut at its marked code:
// decoder(encoder(x)) is the whole graph's output, bit for bit, and each
// part marshals. A graph model that is not an autoencoder does not fit.
func TestGraphModelParts(t *testing.T) {
	w := func(v float32, shape ...int) *graph.Tensor {
		t := graph.NewTensor(shape...)
		for i := range t.Data {
			t.Data[i] = v * float32(i%5-2)
		}
		return t
	}
	tb := map[string]graph.Attribute{"transB": graph.Int(1)}
	g := &graph.Graph{
		Inputs:  []graph.Value{{Name: "in", Shape: []int{-1, 4}}},
		Outputs: []string{"out"},
		Params: map[string]*graph.Tensor{"a.weight": w(0.3, 3, 4), "a.bias": w(0.1, 3), "r.weight": w(0.2, 3, 3), "r.bias": w(0.1, 3),
			"c.weight": w(0.4, 2, 3), "c.bias": w(0.1, 2), "d.weight": w(0.5, 4, 2), "d.bias": w(0.1, 4)},
		Nodes: []*graph.Node{
			{Name: "a", Op: "Gemm", Inputs: []string{"in", "a.weight", "a.bias"}, Outputs: []string{"h"}, Attrs: tb},
			{Name: "r", Op: "Gemm", Inputs: []string{"h", "r.weight", "r.bias"}, Outputs: []string{"r0"}, Attrs: tb},
			{Name: "skip", Op: "Add", Inputs: []string{"h", "r0"}, Outputs: []string{"h2"}},
			{Name: "c", Op: "Gemm", Inputs: []string{"h2", "c.weight", "c.bias"}, Outputs: []string{"code"}, Attrs: tb},
			{Name: "d", Op: "Gemm", Inputs: []string{"code", "d.weight", "d.bias"}, Outputs: []string{"out"}, Attrs: tb},
		},
		Marks: map[string]string{graph.MarkCode: "code"},
	}
	m, err := trainer.FromGraph(g, trainer.MSE)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := export.PartGraph(m, export.Encoder)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := export.PartGraph(m, export.Decoder)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []export.Part{export.Full, export.Encoder, export.Decoder} {
		if _, err := (export.Writer{Opset: 17}).Marshal(m, part); err != nil {
			t.Errorf("%s: %v", part, err)
		}
	}
	x := &graph.Tensor{Shape: []int{2, 4}, Data: []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}}
	whole, err := g.Forward(map[string]*graph.Tensor{"in": x})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := enc.Forward(map[string]*graph.Tensor{"in": x})
	if err != nil {
		t.Fatal(err)
	}
	dv, err := dec.Forward(map[string]*graph.Tensor{"code": ev["code"]})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dv["out"].Data, whole["out"].Data) {
		t.Error("decoder(encoder(x)) differs from the graph's output")
	}
	// The encoder alone is a graph model too, but it does not train.
	em, err := trainer.FromGraph(enc, trainer.MSE)
	if err != nil {
		t.Fatal(err)
	}
	data := graph.NewTensor(8, 4)
	if _, err := trainer.Fit(em, data, trainer.TrainConfig{Epochs: 1, Batch: 4, Optimizer: trainer.OptimizerConfig{Name: "sgd", LR: 0.1}}, trainer.FitOptions{}); err == nil || !strings.Contains(err.Error(), "only an autoencoder") {
		t.Errorf("fitting an encoder: got error %v", err)
	}
}
