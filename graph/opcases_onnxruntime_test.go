//go:build cgo

package graph

import (
	"math/rand/v2"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/runtime"
)

// TestOpCasesAgainstONNXRuntime runs each of opCases as a one-node model
// through ONNX Runtime (the constants as initializers) and compares every
// output with the graph's Forward, but those with a rank-0 float input
// or output (which onnxruntime_go cannot feed, and runtime cannot return).
func TestOpCasesAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(147, 148))
	for _, c := range opCases {
		if slices.ContainsFunc(c.shapes, func(s []int) bool { return len(s) == 0 }) {
			continue
		}
		t.Run(c.String(), func(t *testing.T) {
			g := opCaseGraph(c)
			xs := opCaseInputs(r, c)
			feeds := map[string]*Tensor{}
			for k, x := range xs {
				feeds[g.Inputs[k].Name] = x
			}
			values, err := g.Forward(feeds)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range g.Outputs {
				if len(values[name].Shape) == 0 {
					t.Skip("a rank-0 output, which runtime cannot return")
				}
			}
			got := runOpCaseONNX(t, g, c, xs, values)
			for k, name := range g.Outputs {
				checkClose(t, "ONNX Runtime "+name, values[name].Data, got[k].Data, 1e-5, 1e-5)
			}
		})
	}
}

// runOpCaseONNX runs g's node with ONNX Runtime at c's opset and returns
// its outputs, checking their shapes against values'.
func runOpCaseONNX(t *testing.T, g *Graph, c opCase, xs []*Tensor, values map[string]*Tensor) []runtime.Tensor {
	t.Helper()
	n := g.Nodes[0]
	node := &onnxpb.NodeProto{OpType: proto.String(n.Op), Name: proto.String(n.Name), Input: n.Inputs, Output: n.Outputs}
	for _, name := range sortedKeys(n.Attrs) {
		a := n.Attrs[name]
		switch a.Type {
		case AttrInt:
			node.Attribute = append(node.Attribute, intAttr(name, a.Int))
		case AttrFloat:
			node.Attribute = append(node.Attribute, floatAttr(name, a.Float))
		default:
			t.Fatalf("attribute %s of type %v", name, a.Type)
		}
	}
	pg := &onnxpb.GraphProto{Name: proto.String(n.Op), Node: []*onnxpb.NodeProto{node}}
	var feeds []runtime.Tensor
	for k, x := range xs {
		pg.Input = append(pg.Input, valueInfo(g.Inputs[k].Name, x.Shape))
		feeds = append(feeds, runtime.Tensor{Shape: dims64(x.Shape), Data: x.Data})
	}
	for _, name := range sortedKeys(g.Params) {
		p := g.Params[name]
		tp := &onnxpb.TensorProto{Name: proto.String(name), Dims: dims64(p.Shape)}
		if p.Type == Int64 {
			tp.DataType = proto.Int32(int32(onnxpb.TensorProto_INT64))
			tp.Int64Data = p.Int64
		} else {
			tp.DataType = proto.Int32(int32(onnxpb.TensorProto_FLOAT))
			tp.FloatData = p.Data
		}
		pg.Initializer = append(pg.Initializer, tp)
	}
	for _, name := range g.Outputs {
		pg.Output = append(pg.Output, valueInfo(name, values[name].Shape))
	}
	opset := 17
	if c.opset > 17 {
		opset = c.opset
	}
	if _, ok := reductionOps[c.op]; ok {
		opset = 18 // axes as an input
	}
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(9),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(int64(opset))}},
		Graph:       pg,
	}
	out := runModel(t, m, feeds)
	for k, name := range g.Outputs {
		shape := make([]int, len(out[k].Shape))
		for i, d := range out[k].Shape {
			shape[i] = int(d)
		}
		if !slices.Equal(shape, values[name].Shape) {
			t.Fatalf("ONNX Runtime's %s: shape: got %v, want %v", name, shape, values[name].Shape)
		}
	}
	return out
}

func dims64(shape []int) []int64 {
	d := make([]int64, len(shape))
	for i, v := range shape {
		d[i] = int64(v)
	}
	return d
}
