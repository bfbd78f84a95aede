//go:build cgo

package graph

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/runtime"
)

// TestPadAgainstONNXRuntime runs Pad on padCases in every mode against
// ONNX Runtime: float32 and int64 data, a constant given or not, the axes
// input given or not; opset 17 for constant, reflect and edge, opset 19
// (where it came in) for wrap.
func TestPadAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(145, 146))
	for _, c := range padCases {
		if elements(c.x) == 0 {
			continue // onnxruntime_go feeds no empty tensors
		}
		for _, mode := range c.modes {
			t.Run(fmt.Sprintf("%v_%v_%v_%v", c.x, c.pads, c.axes, mode), func(t *testing.T) {
				attrs := map[string]Attribute{"mode": String(mode.String())}
				pattrs := []*onnxpb.AttributeProto{{Name: proto.String("mode"), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(mode.String())}}
				axes := typedInput{}
				if c.axes != nil {
					axes = init_(i64s(c.axes...))
				}
				x := randTensor(r, c.x...)
				if mode == PadWrap || c.axes != nil { // axes came in opset 18, wrap in 19
					var y Tensor
					PadForward(&y, x, c.pads, c.axes, nil, mode)
					checkClose(t, "ONNX Runtime", y.Data, padONNX19(t, x, c.pads, c.axes, mode, y.Shape), 0, 0)
					return
				}
				f, i := []DType{Float32}, []DType{Int64}
				checkAgainstONNX(t, "Pad", attrs, pattrs, []typedInput{feed(x), init_(i64s(c.pads...)), init_(&Tensor{Shape: []int{}, Data: []float32{-1.5}}), axes}, f, 0)
				checkAgainstONNX(t, "Pad", attrs, pattrs, []typedInput{feed(x), init_(i64s(c.pads...)), {}, axes}, f, 0)
				checkAgainstONNX(t, "Pad", attrs, pattrs, []typedInput{init_(counting(c.x...)), init_(i64s(c.pads...)), init_(NewInt64Tensor([]int64{4})), axes}, i, 0)
			})
		}
	}
}

// padONNX19 runs Pad(x, pads[, "", axes]) in the mode at opset 19 in
// ONNX Runtime and returns its output, checking its shape.
func padONNX19(t *testing.T, x *Tensor, pads, axes []int64, mode PadMode, want []int) []float32 {
	t.Helper()
	node := &onnxpb.NodeProto{OpType: proto.String("Pad"), Name: proto.String("n"), Input: []string{"x", "pads"}, Output: []string{"y"},
		Attribute: []*onnxpb.AttributeProto{{Name: proto.String("mode"), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(mode.String())}}}
	g := &onnxpb.GraphProto{Name: proto.String("pad"), Node: []*onnxpb.NodeProto{node},
		Input: []*onnxpb.ValueInfoProto{valueInfo("x", x.Shape)}, Output: []*onnxpb.ValueInfoProto{valueInfo("y", want)},
		Initializer: []*onnxpb.TensorProto{initializer("pads", i64s(pads...))}}
	if axes != nil {
		node.Input = append(node.Input, "", "axes")
		g.Initializer = append(g.Initializer, initializer("axes", i64s(axes...)))
	}
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(9), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(19)}}}
	shape := make([]int64, len(x.Shape))
	for i, d := range x.Shape {
		shape[i] = int64(d)
	}
	out := runModel(t, m, []runtime.Tensor{{Shape: shape, Data: x.Data}})
	if fmt.Sprint(out[0].Shape) != fmt.Sprint(func() []int64 {
		s := make([]int64, len(want))
		for i, d := range want {
			s[i] = int64(d)
		}
		return s
	}()) {
		t.Fatalf("ONNX Runtime's shape: got %v, want %v", out[0].Shape, want)
	}
	return out[0].Data
}
