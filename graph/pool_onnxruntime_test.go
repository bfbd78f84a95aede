//go:build cgo

package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/runtime"
)

// onnxAttrs is the attributes as ONNX's, sorted by name.
func onnxAttrs(attrs map[string]Attribute) []*onnxpb.AttributeProto {
	var out []*onnxpb.AttributeProto
	for _, name := range sortedKeys(attrs) {
		a := attrs[name]
		p := &onnxpb.AttributeProto{Name: proto.String(name)}
		switch a.Type {
		case AttrInt:
			p.Type, p.I = onnxpb.AttributeProto_INT.Enum(), proto.Int64(a.Int)
		case AttrInts:
			p.Type, p.Ints = onnxpb.AttributeProto_INTS.Enum(), a.Ints
		case AttrFloat:
			p.Type, p.F = onnxpb.AttributeProto_FLOAT.Enum(), proto.Float32(a.Float)
		case AttrFloats:
			p.Type, p.Floats = onnxpb.AttributeProto_FLOATS.Enum(), a.Floats
		case AttrString:
			p.Type, p.S = onnxpb.AttributeProto_STRING.Enum(), []byte(a.String)
		default:
			panic("onnxAttrs: attribute type " + a.Type.String())
		}
		out = append(out, p)
	}
	return out
}

// onnxInit is t as an initializer named name.
func onnxInit(name string, t *Tensor) *onnxpb.TensorProto {
	tp := &onnxpb.TensorProto{Name: proto.String(name)}
	for _, d := range t.Shape {
		tp.Dims = append(tp.Dims, int64(d))
	}
	if t.Type == Int64 {
		tp.DataType, tp.Int64Data = proto.Int32(int32(onnxpb.TensorProto_INT64)), slices.Clone(t.Int64)
	} else {
		tp.DataType, tp.FloatData = proto.Int32(int32(onnxpb.TensorProto_FLOAT)), slices.Clone(t.Data)
	}
	return tp
}

// nodeInput is an input of runNodeONNX: a float32 tensor fed to the model,
// or (Const, or any int64 tensor) written into it as an initializer; a nil
// Tensor is an input left out.
type nodeInput struct {
	*Tensor
	Const bool
}

// runNodeONNX builds the one-node ONNX model (opset 18) of op with the
// attributes over the inputs, runs it with ONNX Runtime and returns its
// outputs of the shapes want, int64 ones cast to float32 in the model
// (onnxruntime_go returns float32 only; indices below 2²⁴ stay exact).
func runNodeONNX(t *testing.T, op string, attrs map[string]Attribute, ins []nodeInput, outTypes []DType, want [][]int) [][]float32 {
	t.Helper()
	g := &onnxpb.GraphProto{Name: proto.String(op)}
	node := &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String("n"), Attribute: onnxAttrs(attrs)}
	var feeds []runtime.Tensor
	for k, in := range ins {
		name := fmt.Sprintf("x%d", k)
		switch {
		case in.Tensor == nil:
			name = ""
		case in.Const || in.Type == Int64:
			g.Initializer = append(g.Initializer, onnxInit(name, in.Tensor))
		default:
			g.Input = append(g.Input, valueInfo(name, in.Shape))
			shape := make([]int64, len(in.Shape))
			for i, d := range in.Shape {
				shape[i] = int64(d)
			}
			feeds = append(feeds, runtime.Tensor{Shape: shape, Data: in.Data})
		}
		node.Input = append(node.Input, name)
	}
	g.Node = []*onnxpb.NodeProto{node}
	for k, typ := range outTypes {
		name := fmt.Sprintf("y%d", k)
		node.Output = append(node.Output, name)
		if typ == Int64 {
			g.Node = append(g.Node, &onnxpb.NodeProto{OpType: proto.String("Cast"), Name: proto.String("cast" + name), Input: []string{name}, Output: []string{name + "f"},
				Attribute: []*onnxpb.AttributeProto{intAttr("to", int64(onnxpb.TensorProto_FLOAT))}})
			name += "f"
		}
		g.Output = append(g.Output, valueInfo(name, want[k]))
	}
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(18)}},
		Graph:       g,
	}
	out := runModel(t, m, feeds)
	res := make([][]float32, len(out))
	for k, o := range out {
		shape := make([]int, len(o.Shape))
		for i, d := range o.Shape {
			shape[i] = int(d)
		}
		if !slices.Equal(shape, want[k]) {
			t.Fatalf("ONNX Runtime's %s: output %d: shape %v, want %v", op, k, shape, want[k])
		}
		res[k] = o.Data
	}
	return res
}

// TestPoolsAgainstONNXRuntime runs MaxPool (with its indices) and
// AveragePool (count_include_pad 0 and 1) on poolCases.
func TestPoolsAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(109, 110))
	for _, c := range poolCases {
		x := randTensor(r, c.x...)
		if c.max {
			t.Run("MaxPool "+c.name, func(t *testing.T) {
				var y, idx Tensor
				MaxPoolForward(&y, &idx, x, poolOfCase(t, "MaxPool", c.x, c.attrs))
				got := runNodeONNX(t, "MaxPool", c.attrs, []nodeInput{{Tensor: x}}, []DType{Float32, Int64}, [][]int{y.Shape, y.Shape})
				checkClose(t, "ONNX Runtime", y.Data, got[0], 0, 0)
				idxf := make([]float32, len(idx.Int64))
				for i, v := range idx.Int64 {
					idxf[i] = float32(v)
				}
				checkClose(t, "ONNX Runtime's indices", idxf, got[1], 0, 0)
			})
		}
		if c.avg {
			for _, include := range []int64{0, 1} {
				t.Run(fmt.Sprintf("AveragePool %s count_include_pad %d", c.name, include), func(t *testing.T) {
					attrs := withAttr(c.attrs, "count_include_pad", Int(include))
					var y Tensor
					AveragePoolForward(&y, x, poolOfCase(t, "AveragePool", c.x, attrs))
					got := runNodeONNX(t, "AveragePool", attrs, []nodeInput{{Tensor: x}}, []DType{Float32}, [][]int{y.Shape})
					checkClose(t, "ONNX Runtime", y.Data, got[0], 1e-6, 1e-6)
				})
			}
		}
	}
}

// TestGlobalPoolsAgainstONNXRuntime runs GlobalAveragePool and
// GlobalMaxPool over 1, 2 and 3 spatial axes.
func TestGlobalPoolsAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(111, 112))
	for _, shape := range [][]int{{2, 3, 5}, {2, 3, 4, 5}, {1, 2, 2, 3, 2}} {
		x := randTensor(r, shape...)
		var avg, mx Tensor
		GlobalAveragePoolForward(&avg, x)
		GlobalMaxPoolForward(&mx, x)
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			checkClose(t, "GlobalAveragePool", avg.Data, runNodeONNX(t, "GlobalAveragePool", nil, []nodeInput{{Tensor: x}}, []DType{Float32}, [][]int{avg.Shape})[0], 1e-6, 1e-6)
			checkClose(t, "GlobalMaxPool", mx.Data, runNodeONNX(t, "GlobalMaxPool", nil, []nodeInput{{Tensor: x}}, []DType{Float32}, [][]int{mx.Shape})[0], 0, 0)
		})
	}
}

// TestMaxUnpoolAgainstONNXRuntime runs MaxUnpool on MaxPool's output and
// indices, with the default output shape and with output_shape larger.
func TestMaxUnpoolAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(113, 114))
	for _, c := range []struct {
		x, outShape []int
		attrs       map[string]Attribute
	}{
		{[]int{2, 2, 6, 8}, nil, map[string]Attribute{"kernel_shape": Ints(2, 2), "strides": Ints(2, 2)}},
		{[]int{1, 2, 7, 7}, []int{1, 2, 7, 7}, map[string]Attribute{"kernel_shape": Ints(2, 2), "strides": Ints(2, 2)}},
		{[]int{1, 2, 5, 7}, nil, map[string]Attribute{"kernel_shape": Ints(2, 2), "strides": Ints(2, 2), "pads": Ints(1, 1, 0, 0)}},
		{[]int{2, 3, 8}, nil, map[string]Attribute{"kernel_shape": Ints(2), "strides": Ints(2)}},
	} {
		t.Run(fmt.Sprintf("%v %v", c.x, c.outShape), func(t *testing.T) {
			var pooled, idx, y Tensor
			MaxPoolForward(&pooled, &idx, randTensor(r, c.x...), poolOfCase(t, "MaxPool", c.x, c.attrs))
			n := &Node{Name: "n", Op: "MaxUnpool", Inputs: []string{"x", "i"}, Attrs: c.attrs}
			ins := []nodeInput{{Tensor: &pooled}, {Tensor: &idx}}
			args := []arg{{shape: pooled.Shape}, {shape: idx.Shape, typ: Int64}}
			if c.outShape != nil {
				os := make([]int64, len(c.outShape))
				for i, d := range c.outShape {
					os[i] = int64(d)
				}
				v := NewInt64Tensor(os, len(os))
				ins = append(ins, nodeInput{Tensor: v})
				args = append(args, arg{shape: v.Shape, typ: Int64, value: v})
				n.Inputs = append(n.Inputs, "s")
			}
			shape, err := maxUnpoolShape(n, args, nil)
			if err != nil {
				t.Fatal(err)
			}
			MaxUnpoolForward(&y, &pooled, &idx, shape)
			checkClose(t, "ONNX Runtime", y.Data, runNodeONNX(t, "MaxUnpool", c.attrs, ins, []DType{Float32}, [][]int{shape})[0], 0, 0)
		})
	}
}
