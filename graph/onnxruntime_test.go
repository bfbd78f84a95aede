//go:build cgo

package graph

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/runtime"
)

// The operators' Forward against ONNX Runtime, each on the one-node model
// of its op. Builds without cgo (where onnxruntime_go does not build) leave
// this file out.

func valueInfo(name string, shape []int) *onnxpb.ValueInfoProto {
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: &onnxpb.TensorShapeProto{}}
	for _, d := range shape {
		tt.Shape.Dim = append(tt.Shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}}
}

// runONNX builds the one-node ONNX model (opset 17) of op with the
// attributes, reading ins as graph inputs x0, x1, … and writing y, runs it
// with ONNX Runtime and returns y, checking that its shape is want.
func runONNX(t *testing.T, op string, attrs []*onnxpb.AttributeProto, ins []*Tensor, want []int) []float32 {
	t.Helper()
	return runONNXAt(t, 17, op, attrs, ins, want)
}

// runONNXAt is runONNX at the opset.
func runONNXAt(t *testing.T, opset int, op string, attrs []*onnxpb.AttributeProto, ins []*Tensor, want []int) []float32 {
	t.Helper()
	g := &onnxpb.GraphProto{Name: proto.String(op), Output: []*onnxpb.ValueInfoProto{valueInfo("y", want)}}
	node := &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String("n"), Output: []string{"y"}, Attribute: attrs}
	var feeds []runtime.Tensor
	for k, in := range ins {
		name := fmt.Sprintf("x%d", k)
		node.Input = append(node.Input, name)
		g.Input = append(g.Input, valueInfo(name, in.Shape))
		shape := make([]int64, len(in.Shape))
		for i, d := range in.Shape {
			shape[i] = int64(d)
		}
		feeds = append(feeds, runtime.Tensor{Shape: shape, Data: in.Data})
	}
	g.Node = []*onnxpb.NodeProto{node}
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(9),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(int64(opset))}},
		Graph:       g,
	}
	out := runModel(t, m, feeds)
	shape := make([]int, len(out[0].Shape))
	for i, d := range out[0].Shape {
		shape[i] = int(d)
	}
	if !slices.Equal(shape, want) {
		t.Fatalf("ONNX Runtime's %s: shape: got %v, want %v", op, shape, want)
	}
	return out[0].Data
}

// TestArithmeticAgainstONNXRuntime runs Add, Sub, Mul and Div on the
// broadcasting cases (but the scalar one: onnxruntime_go takes no rank-0
// tensors).
func TestArithmeticAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for _, o := range arithOps {
		for _, c := range broadcastCases {
			if len(c[0]) == 0 || len(c[1]) == 0 {
				continue
			}
			t.Run(fmt.Sprintf("%s_%v_%v", o.op, c[0], c[1]), func(t *testing.T) {
				a, b := randTensor(r, c[0]...), randTensor(r, c[1]...)
				var y Tensor
				o.forward(&y, a, b)
				checkClose(t, "ONNX Runtime", y.Data, runONNX(t, o.op, nil, []*Tensor{a, b}, y.Shape), 0, 1e-6)
			})
		}
	}
}

// TestGemmAgainstONNXRuntime runs Gemm on gemmCases with alpha, beta and
// both transposes as attributes.
func TestGemmAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(53, 54))
	b2i := map[bool]int64{false: 0, true: 1}
	for _, c := range gemmCases {
		t.Run(c.String(), func(t *testing.T) {
			y, a, b, ct := c.forward(r)
			attrs := []*onnxpb.AttributeProto{floatAttr("alpha", gemmAlpha), floatAttr("beta", gemmBeta), intAttr("transA", b2i[c.transA]), intAttr("transB", b2i[c.transB])}
			ins := []*Tensor{a, b}
			if ct != nil {
				ins = append(ins, ct)
			}
			checkClose(t, "ONNX Runtime", y.Data, runONNX(t, "Gemm", attrs, ins, y.Shape), 1e-5, 1e-5)
		})
	}
}

// TestMatMulAgainstONNXRuntime runs MatMul on matMulCases (but the one with
// a scalar output).
func TestMatMulAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(55, 56))
	for _, tt := range matMulCases {
		if len(tt.want) == 0 {
			continue
		}
		t.Run(fmt.Sprintf("%v_%v", tt.a, tt.b), func(t *testing.T) {
			a, b := randTensor(r, tt.a...), randTensor(r, tt.b...)
			var y Tensor
			MatMulForward(&y, a, b)
			checkClose(t, "ONNX Runtime", y.Data, runONNX(t, "MatMul", nil, []*Tensor{a, b}, y.Shape), 1e-5, 1e-5)
		})
	}
}

// TestActivationsAgainstONNXRuntime runs each activation, with its
// attributes, on random values and a saturating one.
func TestActivationsAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(57, 58))
	for _, a := range activations {
		t.Run(a.op, func(t *testing.T) {
			x := randTensor(r, 3, 17)
			for i := range x.Data {
				x.Data[i] *= 4
			}
			x.Data[0] = 30
			var y Tensor
			a.forward(&y, x)
			opset := max(a.opset, 17)
			checkClose(t, "ONNX Runtime", y.Data, runONNXAt(t, opset, a.op, a.attrs, []*Tensor{x}, x.Shape), 1e-6, 1e-6)
		})
	}
}

// TestTransposeAgainstONNXRuntime runs Transpose on transposeCases, perm
// left out where the case takes the default.
func TestTransposeAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(59, 60))
	for _, c := range transposeCases {
		t.Run(fmt.Sprintf("%v_%v", c.shape, c.perm), func(t *testing.T) {
			x := randTensor(r, c.shape...)
			var y Tensor
			TransposeForward(&y, x, c.perm)
			var attrs []*onnxpb.AttributeProto
			if c.perm != nil {
				perm := make([]int64, len(c.perm))
				for i, p := range c.perm {
					perm[i] = int64(p)
				}
				attrs = append(attrs, intListAttr("perm", perm...))
			}
			checkClose(t, "ONNX Runtime", y.Data, runONNX(t, "Transpose", attrs, []*Tensor{x}, y.Shape), 0, 0)
		})
	}
}

// TestConcatAgainstONNXRuntime runs Concat on concatCases (but the one with
// an empty input, which onnxruntime_go cannot feed).
func TestConcatAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	for _, c := range concatCases {
		xs := make([]*Tensor, len(c.shapes))
		empty := false
		for k, s := range c.shapes {
			xs[k] = randTensor(r, s...)
			empty = empty || xs[k].Len() == 0
		}
		if empty {
			continue
		}
		t.Run(fmt.Sprintf("%v_%d", c.shapes, c.axis), func(t *testing.T) {
			var y Tensor
			ConcatForward(&y, xs, c.axis)
			attrs := []*onnxpb.AttributeProto{intAttr("axis", int64(c.axis))}
			checkClose(t, "ONNX Runtime", y.Data, runONNX(t, "Concat", attrs, xs, y.Shape), 0, 0)
		})
	}
}

// TestFlattenAgainstONNXRuntime runs Flatten on flattenCases, and Identity.
func TestFlattenAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(63, 64))
	for _, c := range flattenCases {
		t.Run(fmt.Sprintf("%v_%d", c.shape, c.axis), func(t *testing.T) {
			x := randTensor(r, c.shape...)
			var y Tensor
			FlattenForward(&y, x, c.axis)
			attrs := []*onnxpb.AttributeProto{intAttr("axis", int64(c.axis))}
			checkClose(t, "ONNX Runtime", y.Data, runONNX(t, "Flatten", attrs, []*Tensor{x}, y.Shape), 0, 0)
			IdentityForward(&y, x)
			checkClose(t, "ONNX Runtime Identity", y.Data, runONNX(t, "Identity", nil, []*Tensor{x}, y.Shape), 0, 0)
		})
	}
}

// TestSoftmaxAgainstONNXRuntime runs Softmax on softmaxCases, with one
// value large enough that an unshifted exponential would overflow float32.
func TestSoftmaxAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(65, 66))
	for _, c := range softmaxCases {
		t.Run(fmt.Sprintf("%v_%d", c.shape, c.axis), func(t *testing.T) {
			x := randTensor(r, c.shape...)
			x.Data[0] = 100
			var y Tensor
			SoftmaxForward(&y, x, c.axis)
			attrs := []*onnxpb.AttributeProto{intAttr("axis", int64(c.axis))}
			checkClose(t, "ONNX Runtime", y.Data, runONNX(t, "Softmax", attrs, []*Tensor{x}, y.Shape), 1e-7, 1e-6)
		})
	}
}

// runModel saves m, runs it with ONNX Runtime on the feeds and returns its
// outputs, failing the test on any error.
func runModel(t *testing.T, m *onnxpb.ModelProto, feeds []runtime.Tensor) []runtime.Tensor {
	t.Helper()
	path := filepath.Join(t.TempDir(), "node.onnx")
	if err := onnxfile.Save(path, m); err != nil {
		t.Fatal(err)
	}
	sess, err := runtime.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	out, err := sess.Run(feeds...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
