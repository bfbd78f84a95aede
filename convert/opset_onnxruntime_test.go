//go:build cgo

package convert

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/runtime"
)

// The upgrades checked against ONNX Runtime: a one-node model of each old
// form is run by ONNX Runtime as written, and the graph ReadGraph makes of
// it is written back as an opset-18 model (pbModel) and run by ONNX
// Runtime too, so that every rule is checked whether or not the graph
// package runs its op yet; where it does, graph.Forward is compared as
// well. Builds without cgo leave this file out.

// pbModel writes g as an opset-18 ONNX model, its inputs of the shapes
// given.
func pbModel(g *graph.Graph, shapes map[string][]int) *onnxpb.ModelProto {
	pg := &onnxpb.GraphProto{Name: proto.String("upgraded")}
	for _, v := range g.Inputs {
		pg.Input = append(pg.Input, pbValue(v.Name, onnxpb.TensorProto_FLOAT, shapes[v.Name]))
	}
	for _, o := range g.Outputs {
		pg.Output = append(pg.Output, pbValue(o, onnxpb.TensorProto_FLOAT, nil))
	}
	for _, name := range slices.Sorted(maps.Keys(g.Params)) {
		pg.Initializer = append(pg.Initializer, pbTensor(name, g.Params[name]))
	}
	for _, n := range g.Nodes {
		pn := &onnxpb.NodeProto{Name: proto.String(n.Name), OpType: proto.String(n.Op), Input: n.Inputs, Output: n.Outputs}
		for _, name := range slices.Sorted(maps.Keys(n.Attrs)) {
			a := n.Attrs[name]
			switch a.Type {
			case graph.AttrInt:
				pn.Attribute = append(pn.Attribute, pbAttr(name, int(a.Int)))
			case graph.AttrFloat:
				pn.Attribute = append(pn.Attribute, pbAttr(name, float64(a.Float)))
			case graph.AttrString:
				pn.Attribute = append(pn.Attribute, pbAttr(name, a.String))
			case graph.AttrInts:
				pn.Attribute = append(pn.Attribute, pbAttr(name, a.Ints))
			case graph.AttrFloats:
				pn.Attribute = append(pn.Attribute, pbAttr(name, a.Floats))
			default:
				panic("pbModel: attribute type " + a.Type.String())
			}
		}
		pg.Node = append(pg.Node, pn)
	}
	return &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: pg,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(18)}}}
}

// runORT runs the model at path with ONNX Runtime on the inputs, in the
// model's input order, and returns its outputs.
func runORT(t *testing.T, path string, inputs []*graph.Tensor) []*graph.Tensor {
	t.Helper()
	m, err := runtime.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var feeds []runtime.Tensor
	for _, in := range inputs {
		shape := make([]int64, len(in.Shape))
		for i, d := range in.Shape {
			shape[i] = int64(d)
		}
		feeds = append(feeds, runtime.Tensor{Shape: shape, Data: in.Data})
	}
	out, err := m.Run(feeds...)
	if err != nil {
		t.Fatal(err)
	}
	var res []*graph.Tensor
	for _, o := range out {
		shape := make([]int, len(o.Shape))
		for i, d := range o.Shape {
			shape[i] = int(d)
		}
		res = append(res, &graph.Tensor{Shape: shape, Data: o.Data})
	}
	return res
}

// TestUpgradesAgainstONNXRuntime runs each old form in ONNX Runtime and
// the upgraded graph both written at opset 18 (in ONNX Runtime) and, where
// the graph runs it, through graph.Forward; all must agree to 1e-5.
func TestUpgradesAgainstONNXRuntime(t *testing.T) {
	f := func(v ...float32) *graph.Tensor { return &graph.Tensor{Shape: []int{len(v)}, Data: v} }
	i := func(v ...int64) *graph.Tensor { return graph.NewInt64Tensor(v, len(v)) }
	tests := []upgradeModel{
		{name: "Unsqueeze11", opset: 11, op: "Unsqueeze", attrs: []*onnxpb.AttributeProto{pbAttr("axes", []int64{1, -1})}, inputs: [][]int{{2, 3}}, missing: nil},
		{name: "Squeeze11", opset: 11, op: "Squeeze", attrs: []*onnxpb.AttributeProto{pbAttr("axes", []int64{1})}, inputs: [][]int{{2, 1, 3}}, missing: nil},
		{name: "ReduceSum11", opset: 11, op: "ReduceSum", attrs: []*onnxpb.AttributeProto{pbAttr("axes", []int64{1}), pbAttr("keepdims", 0)}, inputs: [][]int{{2, 3, 4}}, missing: nil},
		{name: "ReduceMean13", opset: 13, op: "ReduceMean", attrs: []*onnxpb.AttributeProto{pbAttr("axes", []int64{-1})}, inputs: [][]int{{2, 3, 4}}, missing: nil},
		{name: "Split11", opset: 11, op: "Split", attrs: []*onnxpb.AttributeProto{pbAttr("axis", 1), pbAttr("split", []int64{1, 2})}, inputs: [][]int{{2, 3, 4}}, outputs: 2, missing: nil},
		{name: "Split13Equal", opset: 13, op: "Split", attrs: []*onnxpb.AttributeProto{pbAttr("axis", -1)}, inputs: [][]int{{2, 3, 4}}, outputs: 2, missing: nil},
		{name: "Dropout7", opset: 7, op: "Dropout", attrs: []*onnxpb.AttributeProto{pbAttr("ratio", 0.3)}, inputs: [][]int{{2, 3}}, missing: nil},
		{name: "Dropout10", opset: 10, op: "Dropout", attrs: []*onnxpb.AttributeProto{pbAttr("ratio", 0.3)}, inputs: [][]int{{2, 3}}, missing: nil},
		{name: "Upsample7Nearest", opset: 7, op: "Upsample", attrs: []*onnxpb.AttributeProto{pbAttr("scales", []float32{1, 1, 2, 3})}, inputs: [][]int{{1, 2, 3, 3}}, missing: nil},
		{name: "Upsample7Linear", opset: 7, op: "Upsample", attrs: []*onnxpb.AttributeProto{pbAttr("mode", "linear"), pbAttr("scales", []float32{1, 1, 2, 2.5})}, inputs: [][]int{{1, 2, 3, 4}}, missing: nil},
		{name: "Upsample9Nearest", opset: 9, op: "Upsample", inputs: [][]int{{1, 1, 3, 4}}, consts: map[string]*graph.Tensor{"s": f(1, 1, 3, 2)}, order: []string{"s"}, missing: nil},
		{name: "Upsample9Linear", opset: 9, op: "Upsample", attrs: []*onnxpb.AttributeProto{pbAttr("mode", "linear")}, inputs: [][]int{{1, 1, 3, 4}}, consts: map[string]*graph.Tensor{"s": f(1, 1, 2, 1.5)}, order: []string{"s"}, missing: nil},
		{name: "Resize10NearestUp", opset: 10, op: "Resize", inputs: [][]int{{1, 2, 3, 3}}, consts: map[string]*graph.Tensor{"s": f(1, 1, 2, 3)}, order: []string{"s"}, missing: nil},
		{name: "Resize10NearestDown", opset: 10, op: "Resize", inputs: [][]int{{1, 2, 5, 7}}, consts: map[string]*graph.Tensor{"s": f(1, 1, 0.5, 0.6)}, order: []string{"s"}, missing: nil},
		{name: "Resize10Linear", opset: 10, op: "Resize", attrs: []*onnxpb.AttributeProto{pbAttr("mode", "linear")}, inputs: [][]int{{1, 2, 3, 4}}, consts: map[string]*graph.Tensor{"s": f(1, 1, 2, 1.5)}, order: []string{"s"}, missing: nil},
		{name: "Resize10LinearDown", opset: 10, op: "Resize", attrs: []*onnxpb.AttributeProto{pbAttr("mode", "linear")}, inputs: [][]int{{1, 2, 5, 7}}, consts: map[string]*graph.Tensor{"s": f(1, 1, 0.5, 0.6)}, order: []string{"s"}, missing: nil},
		{name: "Resize11Sizes", opset: 11, op: "Resize", attrs: []*onnxpb.AttributeProto{pbAttr("mode", "nearest")}, inputs: [][]int{{1, 1, 3, 4}},
			consts: map[string]*graph.Tensor{"roi": f(), "s": f(), "sizes": i(1, 1, 5, 7)}, order: []string{"roi", "s", "sizes"}, missing: nil},
		{name: "Softmax11Default3D", opset: 11, op: "Softmax", inputs: [][]int{{2, 3, 4}}, missing: nil},
		{name: "Softmax11Axis0", opset: 11, op: "Softmax", attrs: []*onnxpb.AttributeProto{pbAttr("axis", 0)}, inputs: [][]int{{2, 3}}, missing: nil},
		{name: "Softmax11Default2D", opset: 11, op: "Softmax", inputs: [][]int{{3, 5}}},
		{name: "Softmax9LastNegative", opset: 9, op: "Softmax", attrs: []*onnxpb.AttributeProto{pbAttr("axis", -1)}, inputs: [][]int{{2, 3, 4}}},
		{name: "LogSoftmax11Axis2", opset: 11, op: "LogSoftmax", attrs: []*onnxpb.AttributeProto{pbAttr("axis", 2)}, inputs: [][]int{{2, 3, 4}}, missing: nil},
		{name: "Hardmax11Default", opset: 11, op: "Hardmax", inputs: [][]int{{2, 3, 4}}, missing: []string{"Hardmax"}},
		{name: "Clip6", opset: 6, op: "Clip", attrs: []*onnxpb.AttributeProto{pbAttr("min", -0.5), pbAttr("max", 0.25)}, inputs: [][]int{{3, 4}}, missing: nil},
		{name: "Clip6MaxOnly", opset: 6, op: "Clip", attrs: []*onnxpb.AttributeProto{pbAttr("max", 0.25)}, inputs: [][]int{{3, 4}}, missing: nil},
		{name: "Pad2Constant", opset: 2, op: "Pad", attrs: []*onnxpb.AttributeProto{pbAttr("pads", []int64{0, 1, 2, 0, 2, 1}), pbAttr("value", 1.5)}, inputs: [][]int{{1, 2, 3}}, missing: nil},
		{name: "Pad2Reflect", opset: 2, op: "Pad", attrs: []*onnxpb.AttributeProto{pbAttr("pads", []int64{0, 0, 1, 0, 0, 2}), pbAttr("mode", "reflect")}, inputs: [][]int{{1, 2, 4}}, missing: nil},
		{name: "Slice9", opset: 9, op: "Slice", attrs: []*onnxpb.AttributeProto{pbAttr("starts", []int64{1, 0}), pbAttr("ends", []int64{3, -1}), pbAttr("axes", []int64{1, 2})}, inputs: [][]int{{2, 4, 5}}, missing: nil},
		{name: "Slice9NoAxes", opset: 9, op: "Slice", attrs: []*onnxpb.AttributeProto{pbAttr("starts", []int64{1}), pbAttr("ends", []int64{1 << 40})}, inputs: [][]int{{4, 5}}, missing: nil},
		{name: "BatchNormalization7Spatial", opset: 7, op: "BatchNormalization", attrs: []*onnxpb.AttributeProto{pbAttr("spatial", 1), pbAttr("epsilon", 1e-3)}, inputs: [][]int{{2, 3, 4}},
			consts: map[string]*graph.Tensor{"s": f(1, 2, 3), "b": f(0, 0.5, -1), "m": f(0.1, -0.2, 0.3), "v": f(1, 0.5, 2)}, order: []string{"s", "b", "m", "v"}, missing: nil},
	}
	r := rand.New(rand.NewPCG(61, 62))
	for _, c := range tests {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "old.onnx")
			mp := c.build()
			if err := onnxfile.Save(path, mp); err != nil {
				t.Fatal(err)
			}
			var inputs []*graph.Tensor
			shapes := map[string][]int{}
			for k, s := range c.inputs {
				x := graph.NewTensor(s...)
				for j := range x.Data {
					x.Data[j] = float32(r.NormFloat64())
				}
				inputs = append(inputs, x)
				shapes[fmt.Sprintf("x%d", k)] = s
			}
			want := runORT(t, path, inputs)

			rd := newReader(mp, path)
			if err := rd.build(Options{}); err != nil || len(rd.bad) > 0 {
				t.Fatalf("build: %v %v", err, rd.bad)
			}
			upgraded := filepath.Join(dir, "new.onnx")
			if err := onnxfile.Save(upgraded, pbModel(rd.g, shapes)); err != nil {
				t.Fatal(err)
			}
			for k, got := range runORT(t, upgraded, inputs) {
				graphClose(t, fmt.Sprintf("opset 18 output %d", k), got, want[k], 1e-5)
			}

			g, _, err := ReadGraph(path, Options{})
			var ue *UnsupportedError
			if errors.As(err, &ue) {
				if got := ue.Ops(); !slices.Equal(got, c.missing) {
					t.Fatalf("missing ops: got %v, want %v\n%v", got, c.missing, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.missing) > 0 {
				t.Errorf("read without error, but the case lists %v as missing: empty its list", c.missing)
			}
			feeds := map[string]*graph.Tensor{}
			for k, x := range inputs {
				feeds[g.Inputs[k].Name] = x
			}
			values, err := g.Forward(feeds)
			if err != nil {
				t.Fatal(err)
			}
			for k, name := range g.Outputs {
				graphClose(t, "graph.Forward "+name, values[name], want[k], 1e-5)
			}
		})
	}
}
