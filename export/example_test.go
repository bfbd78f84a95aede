package export_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"

	"github.com/aebridge/aebridge/export"
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
	// [Add×2 MatMul×2 Relu×1 Transpose×2]
}
