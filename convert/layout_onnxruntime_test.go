//go:build cgo

package convert

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/graph"
)

// TestLayoutExportAgainstONNXRuntime runs the layout graph, written at
// every opset the exporter supports, in ONNX Runtime: its outputs are the
// Go graph's (1e-6).
func TestLayoutExportAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(173, 174))
	g := layoutGraph(r)
	x := graph.NewTensor(3, 8, 3, 4)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	want, err := g.Forward(map[string]*graph.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	for opset := export.MinOpset; opset <= export.MaxOpset; opset++ {
		t.Run(strconv.Itoa(opset), func(t *testing.T) {
			b, err := export.Writer{Opset: opset}.MarshalGraph(g, nil)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "layout.onnx")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			got := runORT(t, path, []*graph.Tensor{x})
			for k, name := range g.Outputs {
				w := want[name]
				if !slices.Equal(got[k].Shape, w.Shape) {
					t.Fatalf("output %s: shape %v, ONNX Runtime %v", name, w.Shape, got[k].Shape)
				}
				for i := range w.Data {
					if d := float64(got[k].Data[i] - w.Data[i]); d > 1e-6 || d < -1e-6 {
						t.Fatalf("output %s, element %d: Go %v, ONNX Runtime %v", name, i, w.Data[i], got[k].Data[i])
					}
				}
			}
		})
	}
}
