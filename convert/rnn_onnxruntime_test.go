//go:build cgo

package convert

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/runtime"
)

// TestRNNExportAgainstONNXRuntime runs each LSTM and GRU graph, written at
// opsets 11 to 18, in ONNX Runtime (which runs only layout 0 and int32
// sequence_lens: the lowering's Transposes and Cast must be right) and
// compares with the graph's Forward.
func TestRNNExportAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, c := range rnnGraphCases {
		for _, opset := range []int{11, 14, 17, 18} {
			t.Run(fmt.Sprintf("%s_opset%d", c.name, opset), func(t *testing.T) {
				g := c.graph(r)
				path := filepath.Join(t.TempDir(), "m.onnx")
				if err := (export.Writer{Opset: opset}).WriteGraphFile(path, g, nil); err != nil {
					t.Fatal(err)
				}
				x := rnnBatchInput(r, g)
				want, err := g.Forward(map[string]*graph.Tensor{"x": x})
				if err != nil {
					t.Fatal(err)
				}
				m, err := runtime.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				shape := make([]int64, len(x.Shape))
				for i, d := range x.Shape {
					shape[i] = int64(d)
				}
				out, err := m.Run(runtime.Tensor{Shape: shape, Data: x.Data})
				if err != nil {
					t.Fatal(err)
				}
				for k, name := range g.Outputs {
					w := want[name]
					if len(out[k].Data) != len(w.Data) {
						t.Fatalf("output %s: %d values, want %d", name, len(out[k].Data), len(w.Data))
					}
					for i, v := range w.Data {
						if d := math.Abs(float64(out[k].Data[i] - v)); !(d <= 1e-5+1e-5*math.Abs(float64(v))) {
							t.Fatalf("output %s[%d]: ONNX Runtime %v, Go %v", name, i, out[k].Data[i], v)
						}
					}
				}
			})
		}
	}
}
