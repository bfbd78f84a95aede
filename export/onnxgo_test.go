//go:build onnxgo

package export_test

import (
	"fmt"
	"testing"

	"github.com/owulveryck/onnx-go"
	"github.com/owulveryck/onnx-go/backend/x/gorgonnx"
	"gorgonia.org/tensor"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/trainer"
)

// runOnnxGo runs a serialized model through onnx-go's pure-Go backend.
func runOnnxGo(t *testing.T, b []byte, x *trainer.Tensor) []float32 {
	t.Helper()
	backend := gorgonnx.NewGraph()
	model := onnx.NewModel(backend)
	if err := model.UnmarshalBinary(b); err != nil {
		t.Fatalf("onnx-go cannot read the export: %v", err)
	}
	in := tensor.New(tensor.WithShape(x.Rows(), x.Cols()), tensor.WithBacking(append([]float32(nil), x.Data...)))
	if err := model.SetInput(0, in); err != nil {
		t.Fatal(err)
	}
	if err := backend.Run(); err != nil {
		t.Fatalf("onnx-go run: %v", err)
	}
	out, err := model.GetOutputTensors()
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), out[0].Data().([]float32)...)
}

// TestOnnxGoRunsMLPExports checks that onnx-go, the pure-Go interpreter,
// runs the MLP exports whose activations it implements (it has no Elu or
// Erf) and agrees with the Go forward pass, at batch 5 and, repeatedly, at
// batch 1 (where its Gemm drifts; the exports use MatMul + Add).
func TestOnnxGoRunsMLPExports(t *testing.T) {
	runnable := map[string]bool{"deep": true, "tied": true, "linear": true}
	for _, v := range variants {
		if !runnable[v.name] {
			continue
		}
		for _, part := range []export.Part{export.Full, export.Encoder, export.Decoder} {
			t.Run(fmt.Sprintf("%s/%s", v.name, part), func(t *testing.T) {
				m := build(t, v.name, v.mlp)
				b, err := export.Writer{}.Marshal(m, part)
				if err != nil {
					t.Fatal(err)
				}
				cols := v.mlp.Input
				if part == export.Decoder {
					cols = product(m.CodeShape())
				}
				for _, rows := range []int{5, 1, 1} {
					x := input(rows, cols, uint64(rows))
					var want *trainer.Tensor
					switch part {
					case export.Full:
						want = m.Forward(x)
					case export.Encoder:
						want = m.Encode(x)
					case export.Decoder:
						want = m.Decode(x)
					}
					closeEnough(t, fmt.Sprintf("batch %d", rows), runOnnxGo(t, b, x), want.Data)
				}
			})
		}
	}
}
