//go:build cgo

package graph

import (
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxpb"
)

// convONNXAttrs are the case's attributes as ONNX's.
func convONNXAttrs(c convCase) []*onnxpb.AttributeProto {
	var attrs []*onnxpb.AttributeProto
	for _, name := range sortedKeys(c.attrs) {
		a := c.attrs[name]
		switch a.Type {
		case AttrInt:
			attrs = append(attrs, intAttr(name, a.Int))
		case AttrInts:
			attrs = append(attrs, intListAttr(name, a.Ints...))
		case AttrString:
			attrs = append(attrs, &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(a.String)})
		default:
			panic("conv case attribute " + name + " of type " + a.Type.String())
		}
	}
	return attrs
}

// TestConvAgainstONNXRuntime runs Conv and ConvTranspose on convCases (1-D
// and 2-D, padding, strides, dilations, groups, auto_pad, output_padding
// and output_shape) through ONNX Runtime.
func TestConvAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	for _, c := range convCases {
		t.Run(c.name, func(t *testing.T) {
			if c.noORT != "" {
				t.Skip(c.noORT)
			}
			cv, _ := c.plan(t)
			x, w, b := c.inputs(r)
			ins := []*Tensor{x, w}
			var y Tensor
			if c.transpose {
				ConvTransposeForward(&y, x, w, b, cv)
			} else {
				ConvForward(&y, x, w, b, cv)
			}
			if b != nil {
				ins = append(ins, b)
			}
			checkClose(t, "ONNX Runtime", y.Data, runONNX(t, c.op(), convONNXAttrs(c), ins, y.Shape), 1e-5, 1e-5)
		})
	}
}
