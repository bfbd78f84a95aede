//go:build cgo

package graph

import (
	"math/rand/v2"
	"testing"
)

// TestResizeAgainstONNXRuntime runs Resize on resizeCases (but cubic over
// three axes, which ONNX Runtime refuses), the scales or sizes written into
// the model, roi left out.
func TestResizeAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(125, 126))
	for _, c := range resizeCases {
		if c.attrs["mode"].String == "cubic" && len(c.x) != 4 {
			continue // ONNX Runtime runs cubic over 2-D and 4-D inputs only
		}
		t.Run(c.name, func(t *testing.T) {
			x := randTensor(r, c.x...)
			var y Tensor
			ResizeForward(&y, x, c.resize(t, x))
			in := c.inputs(x)
			ins := []nodeInput{{Tensor: x}, {}, {Tensor: in[2], Const: true}, {Tensor: in[3]}}
			if in[3] == nil {
				ins = ins[:3]
			}
			checkClose(t, "ONNX Runtime", y.Data, runNodeONNX(t, "Resize", c.attrs, ins, []DType{Float32}, [][]int{y.Shape})[0], 1e-6, 1e-5)
		})
	}
}
