package convert

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

func pbAttr(name string, v any) *onnxpb.AttributeProto {
	a := &onnxpb.AttributeProto{Name: proto.String(name)}
	switch v := v.(type) {
	case int:
		a.Type, a.I = onnxpb.AttributeProto_INT.Enum(), proto.Int64(int64(v))
	case float64:
		a.Type, a.F = onnxpb.AttributeProto_FLOAT.Enum(), proto.Float32(float32(v))
	case string:
		a.Type, a.S = onnxpb.AttributeProto_STRING.Enum(), []byte(v)
	case []int64:
		a.Type, a.Ints = onnxpb.AttributeProto_INTS.Enum(), v
	case []float32:
		a.Type, a.Floats = onnxpb.AttributeProto_FLOATS.Enum(), v
	default:
		panic(fmt.Sprintf("pbAttr %T", v))
	}
	return a
}

func pbValue(name string, typ onnxpb.TensorProto_DataType, shape []int) *onnxpb.ValueInfoProto {
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(typ))}
	if shape != nil {
		tt.Shape = &onnxpb.TensorShapeProto{}
		for _, d := range shape {
			dim := &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}}
			if d < 0 {
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}
			}
			tt.Shape.Dim = append(tt.Shape.Dim, dim)
		}
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}}
}

func pbTensor(name string, t *graph.Tensor) *onnxpb.TensorProto {
	p := &onnxpb.TensorProto{Name: proto.String(name)}
	for _, d := range t.Shape {
		p.Dims = append(p.Dims, int64(d))
	}
	if t.Type == graph.Int64 {
		p.DataType, p.Int64Data = proto.Int32(int32(onnxpb.TensorProto_INT64)), slices.Clone(t.Int64)
		if p.Int64Data == nil {
			p.Int64Data = []int64{}
		}
	} else {
		p.DataType, p.FloatData = proto.Int32(int32(onnxpb.TensorProto_FLOAT)), slices.Clone(t.Data)
	}
	return p
}

// upgradeModel is a one-node model of an op at an old opset.
type upgradeModel struct {
	name    string
	opset   int64
	op      string
	attrs   []*onnxpb.AttributeProto
	inputs  [][]int                  // the shapes of the graph inputs x0, x1, …
	consts  map[string]*graph.Tensor // initializers, read after the inputs in this order
	order   []string                 // the constants' order among the node's inputs
	outputs int                      // 1 unless given
	missing []string                 // the op types the graph does not run yet
}

// build writes the one-node model: inputs x0…, then the constants named
// in order (a name "" is an optional input left out), outputs y0….
func (c upgradeModel) build() *onnxpb.ModelProto {
	g := &onnxpb.GraphProto{Name: proto.String(c.name)}
	node := &onnxpb.NodeProto{Name: proto.String("node"), OpType: proto.String(c.op), Attribute: c.attrs}
	for k, s := range c.inputs {
		name := fmt.Sprintf("x%d", k)
		g.Input = append(g.Input, pbValue(name, onnxpb.TensorProto_FLOAT, s))
		node.Input = append(node.Input, name)
	}
	for _, name := range c.order {
		node.Input = append(node.Input, name)
		if name != "" {
			g.Initializer = append(g.Initializer, pbTensor(name, c.consts[name]))
		}
	}
	for k := 0; k < max(c.outputs, 1); k++ {
		name := fmt.Sprintf("y%d", k)
		node.Output = append(node.Output, name)
		g.Output = append(g.Output, pbValue(name, onnxpb.TensorProto_FLOAT, nil))
	}
	g.Node = []*onnxpb.NodeProto{node}
	ir := int64(3)
	if c.opset >= 9 {
		ir = 4
	}
	return &onnxpb.ModelProto{IrVersion: proto.Int64(ir), Graph: g, ProducerName: proto.String("aebridge test"),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(c.opset)}}}
}

func pbNode(op, name string, inputs []string, outputs []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: inputs, Output: outputs, Attribute: attrs}
}

// mlpModel is a small valid model at the opset: x (batch, 3) → Gemm with
// W (2×3, transposed) and b → h → Relu → y.
func mlpModel(opset int64) *onnxpb.ModelProto {
	w := pbTensor("W", &graph.Tensor{Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}})
	b := pbTensor("b", &graph.Tensor{Shape: []int{2}, Data: []float32{0.5, -40}})
	return &onnxpb.ModelProto{IrVersion: proto.Int64(8), ProducerName: proto.String("test"),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}},
		Graph: &onnxpb.GraphProto{Name: proto.String("mlp"),
			Input:       []*onnxpb.ValueInfoProto{pbValue("x", onnxpb.TensorProto_FLOAT, []int{-1, 3})},
			Output:      []*onnxpb.ValueInfoProto{pbValue("y", onnxpb.TensorProto_FLOAT, []int{-1, 2})},
			Initializer: []*onnxpb.TensorProto{w, b},
			Node: []*onnxpb.NodeProto{
				pbNode("Gemm", "fc", []string{"x", "W", "b"}, []string{"h"}, pbAttr("transB", 1)),
				pbNode("Relu", "relu", []string{"h"}, []string{"y"}),
			}}}
}

func decodeModel(t *testing.T, mp *onnxpb.ModelProto) (*graph.Graph, *GraphInfo, error) {
	t.Helper()
	data, err := proto.Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	return DecodeGraph(bytes.NewReader(data), "m.onnx", Options{})
}

// buildModel reads mp as far as build goes: the upgraded graph, whatever
// ops it holds, and what was listed as unsupported.
func buildModel(t *testing.T, mp *onnxpb.ModelProto, opts Options) (*graph.Graph, *reader, error) {
	t.Helper()
	r := newReader(mp, "m.onnx")
	err := r.build(opts)
	return r.g, r, err
}

func TestDecodeGraph(t *testing.T) {
	mp := mlpModel(13)
	mp.MetadataProps = []*onnxpb.StringStringEntryProto{{Key: proto.String("aebridge.mark.code"), Value: proto.String("h")}, {Key: proto.String("aebridge.mark.mu"), Value: proto.String("x")}, {Key: proto.String("k"), Value: proto.String("v")}}
	g, info, err := decodeModel(t, mp)
	if err != nil {
		t.Fatal(err)
	}
	if want := []graph.Value{{Name: "x", Shape: []int{-1, 3}, Type: graph.Float32}}; !reflect.DeepEqual(g.Inputs, want) {
		t.Errorf("inputs: got %v, want %v", g.Inputs, want)
	}
	if !slices.Equal(g.Outputs, []string{"y"}) || g.Marks[graph.MarkCode] != "h" || g.Marks[graph.MarkMu] != "x" || len(g.Marks) != 2 {
		t.Errorf("outputs %v, marks %v: want [y], code h, mu x", g.Outputs, g.Marks)
	}
	if info.Opset != 13 || info.Producer != "test" || info.Metadata["k"] != "v" || info.File != "m.onnx" {
		t.Errorf("info: got %+v", info)
	}
	x := &graph.Tensor{Shape: []int{2, 3}, Data: []float32{1, 0, 0, 0, 1, 1}}
	values, err := g.Forward(map[string]*graph.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	// Worked by hand: W·x + b, then ReLU.
	if got, want := values["y"].Data, []float32{1.5, 0, 5.5, 0}; !slices.Equal(got, want) {
		t.Errorf("y: got %v, want %v", got, want)
	}
}

// raw is a tensor of the type with raw_data bytes.
func raw(name string, dt onnxpb.TensorProto_DataType, dims []int64, data []byte) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: dims, RawData: data}
}

func le[T any](v ...T) []byte {
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, v); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// TestReadGraphParams reads initializers of every element type the graph
// takes, from raw_data and from the typed fields, and Constant nodes of
// every value attribute.
func TestReadGraphParams(t *testing.T) {
	h := []uint16{0x3e00, 0xb400} // 1.5 and −0.25 in float16
	tests := []struct {
		name string
		t    *onnxpb.TensorProto
		want *graph.Tensor
		note bool
	}{
		{"float raw", raw("p", onnxpb.TensorProto_FLOAT, []int64{2}, le[float32](1, -2)), &graph.Tensor{Shape: []int{2}, Data: []float32{1, -2}}, false},
		{"float typed", &onnxpb.TensorProto{Name: proto.String("p"), DataType: proto.Int32(1), Dims: []int64{1, 2}, FloatData: []float32{3, 4}}, &graph.Tensor{Shape: []int{1, 2}, Data: []float32{3, 4}}, false},
		{"float16 raw", raw("p", onnxpb.TensorProto_FLOAT16, []int64{2}, le(h...)), &graph.Tensor{Shape: []int{2}, Data: []float32{1.5, -0.25}}, false},
		{"float16 typed", &onnxpb.TensorProto{Name: proto.String("p"), DataType: proto.Int32(10), Dims: []int64{2}, Int32Data: []int32{int32(h[0]), int32(h[1])}}, &graph.Tensor{Shape: []int{2}, Data: []float32{1.5, -0.25}}, false},
		{"bfloat16 raw", raw("p", onnxpb.TensorProto_BFLOAT16, []int64{1}, le[uint16](0x3fc0)), &graph.Tensor{Shape: []int{1}, Data: []float32{1.5}}, false},
		{"double typed", &onnxpb.TensorProto{Name: proto.String("p"), DataType: proto.Int32(11), Dims: []int64{2}, DoubleData: []float64{0.1, 2}}, &graph.Tensor{Shape: []int{2}, Data: []float32{0.1, 2}}, true},
		{"double raw", raw("p", onnxpb.TensorProto_DOUBLE, []int64{}, le(0.1)), &graph.Tensor{Shape: []int{}, Data: []float32{0.1}}, true},
		{"int64 raw", raw("p", onnxpb.TensorProto_INT64, []int64{2}, le[int64](-1, 1<<40)), &graph.Tensor{Shape: []int{2}, Type: graph.Int64, Int64: []int64{-1, 1 << 40}}, false},
		{"int64 typed", &onnxpb.TensorProto{Name: proto.String("p"), DataType: proto.Int32(7), Dims: []int64{2}, Int64Data: []int64{5, 6}}, &graph.Tensor{Shape: []int{2}, Type: graph.Int64, Int64: []int64{5, 6}}, false},
		{"int32 raw", raw("p", onnxpb.TensorProto_INT32, []int64{2}, le[int32](-7, 1<<30)), &graph.Tensor{Shape: []int{2}, Type: graph.Int64, Int64: []int64{-7, 1 << 30}}, false},
		{"int32 typed", &onnxpb.TensorProto{Name: proto.String("p"), DataType: proto.Int32(6), Dims: []int64{1}, Int32Data: []int32{-3}}, &graph.Tensor{Shape: []int{1}, Type: graph.Int64, Int64: []int64{-3}}, false},
		{"uint8 raw", raw("p", onnxpb.TensorProto_UINT8, []int64{2}, []byte{200, 1}), &graph.Tensor{Shape: []int{2}, Type: graph.Int64, Int64: []int64{200, 1}}, false},
		{"empty", raw("p", onnxpb.TensorProto_FLOAT, []int64{0}, []byte{}), &graph.Tensor{Shape: []int{0}, Data: []float32{}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp := mlpModel(13)
			mp.Graph.Initializer = append(mp.Graph.Initializer, tt.t)
			mp.Graph.Output = append(mp.Graph.Output, pbValue("p", onnxpb.TensorProto_FLOAT, nil))
			g, info, err := decodeModel(t, mp)
			if err != nil {
				t.Fatal(err)
			}
			if got := g.Params["p"]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if want := []string(nil); tt.note {
				want = []string{`initializer p: float64 values read as float32`}
				if !slices.Equal(info.Notes, want) {
					t.Errorf("notes: got %q, want %q", info.Notes, want)
				}
			} else if len(info.Notes) != 0 {
				t.Errorf("notes: got %q, want none", info.Notes)
			}
		})
	}
	t.Run("Constant", func(t *testing.T) {
		mp := mlpModel(13)
		vt := pbTensor("", &graph.Tensor{Shape: []int{2, 1}, Data: []float32{7, 8}})
		tensorAttr := &onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: vt}
		mp.Graph.Node = append(mp.Graph.Node,
			pbNode("Constant", "c0", nil, []string{"c0"}, tensorAttr),
			pbNode("Constant", "c1", nil, []string{"c1"}, pbAttr("value_float", 2.5)),
			pbNode("Constant", "c2", nil, []string{"c2"}, pbAttr("value_floats", []float32{1, 2})),
			pbNode("Constant", "c3", nil, []string{"c3"}, pbAttr("value_int", 3)),
			pbNode("Constant", "c4", nil, []string{"c4"}, pbAttr("value_ints", []int64{4, 5})))
		for _, c := range []string{"c0", "c1", "c2", "c3", "c4"} {
			mp.Graph.Output = append(mp.Graph.Output, pbValue(c, onnxpb.TensorProto_FLOAT, nil))
		}
		g, _, err := decodeModel(t, mp)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]*graph.Tensor{
			"c0": {Shape: []int{2, 1}, Data: []float32{7, 8}},
			"c1": {Shape: []int{}, Data: []float32{2.5}},
			"c2": {Shape: []int{2}, Data: []float32{1, 2}},
			"c3": graph.NewInt64Tensor([]int64{3}),
			"c4": graph.NewInt64Tensor([]int64{4, 5}, 2),
		}
		for name, w := range want {
			if got := g.Params[name]; !reflect.DeepEqual(got, w) {
				t.Errorf("%s: got %+v, want %+v", name, got, w)
			}
		}
		if len(g.Nodes) != 2 {
			t.Errorf("nodes: got %d, want the 2 that are no Constant", len(g.Nodes))
		}
	})
}

// TestReadGraphNodes checks what build copies: op types, inputs, outputs,
// every attribute type, and node names made unique and non-empty.
func TestReadGraphNodes(t *testing.T) {
	mp := mlpModel(18)
	tensor := &onnxpb.AttributeProto{Name: proto.String("t"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: pbTensor("", graph.NewInt64Tensor([]int64{1, 2}, 2))}
	untyped := &onnxpb.AttributeProto{Name: proto.String("u"), I: proto.Int64(9)} // no type field: read from the field set
	mp.Graph.Node = []*onnxpb.NodeProto{
		pbNode("Relu", "", []string{"x"}, []string{"a"}),
		pbNode("Op", "dup", []string{"a", "", "W"}, []string{"bo", ""}, pbAttr("f", 0.5), pbAttr("i", -2), pbAttr("s", "str"),
			pbAttr("fs", []float32{1, 2}), pbAttr("is", []int64{3}), tensor, untyped),
		pbNode("Relu", "dup", []string{"bo"}, []string{"y"}),
		pbNode("Relu", "Relu", []string{"bo"}, []string{"y2"}),
	}
	g, r, err := buildModel(t, mp, Options{})
	if err != nil || len(r.bad) > 0 {
		t.Fatal(err, r.bad)
	}
	want := []*graph.Node{
		{Name: "Relu_2", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"a"}, Attrs: map[string]graph.Attribute{}},
		{Name: "dup", Op: "Op", Inputs: []string{"a", "", "W"}, Outputs: []string{"bo", ""}, Attrs: map[string]graph.Attribute{
			"f": graph.Float(0.5), "i": graph.Int(-2), "s": graph.String("str"), "fs": graph.Floats(1, 2), "is": graph.Ints(3),
			"t": graph.TensorAttr(graph.NewInt64Tensor([]int64{1, 2}, 2)), "u": graph.Int(9)}},
		{Name: "dup_2", Op: "Relu", Inputs: []string{"bo"}, Outputs: []string{"y"}, Attrs: map[string]graph.Attribute{}},
		{Name: "Relu", Op: "Relu", Inputs: []string{"bo"}, Outputs: []string{"y2"}, Attrs: map[string]graph.Attribute{}},
	}
	if !reflect.DeepEqual(g.Nodes, want) {
		t.Errorf("nodes:\ngot  %s\nwant %s", show(g.Nodes), show(want))
	}
}

// TestReadGraphNewNames checks that the tensors an upgrade adds avoid
// the names the model reads, even those nothing gives: a new tensor must
// not make a dangling input resolve.
func TestReadGraphNewNames(t *testing.T) {
	mp := mlpModel(11)
	mp.Graph.Node = append(mp.Graph.Node, pbNode("Unsqueeze", "u", []string{"h"}, []string{"z"}, pbAttr("axes", []int64{1})),
		pbNode("Relu", "r", []string{"u/axes"}, []string{"z2"}))
	g, r, err := buildModel(t, mp, Options{})
	if err != nil || len(r.bad) > 0 {
		t.Fatal(err, r.bad)
	}
	if got := g.Nodes[2].Inputs; !slices.Equal(got, []string{"h", "u/axes_2"}) {
		t.Errorf("Unsqueeze's inputs: got %v, want [h u/axes_2]", got)
	}
	if _, ok := g.Params["u/axes"]; ok {
		t.Errorf("a parameter u/axes resolves node r's dangling input")
	}
}

// TestReadGraphInputs checks the batch dimension: the first without a
// fixed size (symbolic, 0 or −1, or no value at all), and the refusal of
// a second.
func TestReadGraphInputs(t *testing.T) {
	dim := func(v any) *onnxpb.TensorShapeProto_Dimension {
		switch v := v.(type) {
		case int:
			return &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(v)}}
		case string:
			return &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: v}}
		}
		return &onnxpb.TensorShapeProto_Dimension{}
	}
	tests := []struct {
		name string
		typ  onnxpb.TensorProto_DataType
		dims []*onnxpb.TensorShapeProto_Dimension
		want []int
		err  string
	}{
		{"symbolic batch", onnxpb.TensorProto_FLOAT, []*onnxpb.TensorShapeProto_Dimension{dim("N"), dim(3)}, []int{-1, 3}, ""},
		{"zero batch", onnxpb.TensorProto_FLOAT, []*onnxpb.TensorShapeProto_Dimension{dim(0), dim(3)}, []int{-1, 3}, ""},
		{"minus one", onnxpb.TensorProto_FLOAT, []*onnxpb.TensorShapeProto_Dimension{dim(-1), dim(3)}, []int{-1, 3}, ""},
		{"unnamed", onnxpb.TensorProto_FLOAT, []*onnxpb.TensorShapeProto_Dimension{dim(nil), dim(3)}, []int{-1, 3}, ""},
		{"fixed", onnxpb.TensorProto_FLOAT, []*onnxpb.TensorShapeProto_Dimension{dim(4), dim(3)}, []int{4, 3}, ""},
		{"two symbolic", onnxpb.TensorProto_FLOAT, []*onnxpb.TensorShapeProto_Dimension{dim("N"), dim("T"), dim(3)}, nil,
			`convert: m.onnx: 1 node(s) not supported:` + "\n" + `  graph input "x": dimension 1 ("T") has no fixed size; only one, the batch (dimension 0), may be symbolic`},
		{"double", onnxpb.TensorProto_DOUBLE, []*onnxpb.TensorShapeProto_Dimension{dim("N"), dim(3)}, nil,
			`convert: m.onnx: 1 node(s) not supported:` + "\n" + `  graph input "x": element type float64 (graph inputs are float32 or int64)`},
		{"huge", onnxpb.TensorProto_FLOAT, []*onnxpb.TensorShapeProto_Dimension{dim("N"), dim(1 << 40)}, nil,
			`convert: m.onnx: input "x": dimension 1 is 1099511627776: exceeds aebridge's limit of 2147483648`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp := mlpModel(13)
			mp.Graph.Input[0].Type.GetTensorType().ElemType = proto.Int32(int32(tt.typ))
			mp.Graph.Input[0].Type.GetTensorType().Shape.Dim = tt.dims
			g, _, err := buildModel(t, mp, Options{})
			if tt.err != "" {
				if fmt.Sprint(err) != tt.err {
					t.Fatalf("error: got %q, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(g.Inputs[0].Shape, tt.want) {
				t.Errorf("shape: got %v, want %v", g.Inputs[0].Shape, tt.want)
			}
		})
	}
	t.Run("int64", func(t *testing.T) {
		mp := mlpModel(13)
		mp.Graph.Input = append(mp.Graph.Input, pbValue("label", onnxpb.TensorProto_INT64, []int{-1}))
		mp.Graph.Output = append(mp.Graph.Output, pbValue("label", onnxpb.TensorProto_INT64, nil))
		g, _, err := decodeModel(t, mp)
		if err != nil {
			t.Fatal(err)
		}
		if want := (graph.Value{Name: "label", Shape: []int{-1}, Type: graph.Int64}); !reflect.DeepEqual(g.Inputs[1], want) {
			t.Errorf("got %v, want %v", g.Inputs[1], want)
		}
	})
}

// TestReadGraphErrors gives malformed and unsupported models; each must
// fail with its error type and text, the unsupported ones listing every
// node at once.
func TestReadGraphErrors(t *testing.T) {
	unsupported := func(lines ...string) string {
		return fmt.Sprintf("convert: m.onnx: %d node(s) not supported:\n  ", len(lines)) + strings.Join(lines, "\n  ")
	}
	tests := []struct {
		name   string
		mutate func(mp *onnxpb.ModelProto)
		format bool // a *FormatError, else an *UnsupportedError
		err    string
	}{
		{"no opset", func(mp *onnxpb.ModelProto) { mp.OpsetImport[0].Domain = proto.String("com.x") }, true,
			"convert: m.onnx: opset_import: no opset for the ai.onnx domain"},
		{"declared output size", func(mp *onnxpb.ModelProto) { mp.Graph.Output[0] = pbValue("y", onnxpb.TensorProto_FLOAT, []int{-1, 5}) }, true,
			`convert: m.onnx: output 0 ("y"): declared dimension 1 is 5; the graph computes shape [1 2] (at a batch of 1)`},
		{"declared output rank", func(mp *onnxpb.ModelProto) {
			mp.Graph.Output[0] = pbValue("y", onnxpb.TensorProto_FLOAT, []int{-1, 2, 1})
		}, true,
			`convert: m.onnx: output 0 ("y"): declared of rank 3; the graph computes shape [1 2] (at a batch of 1)`},
		{"opset too new", func(mp *onnxpb.ModelProto) { mp.OpsetImport[0].Version = proto.Int64(22) }, false,
			unsupported("opset_import: ai.onnx opset 22 is newer than 21, the newest read")},
		{"ops and domains, all at once", func(mp *onnxpb.ModelProto) {
			mp.Graph.Node[1].OpType = proto.String("Celu")
			mp.Graph.Node = append(mp.Graph.Node, pbNode("Custom", "c", []string{"h"}, []string{"z"}), pbNode("StringNormalizer", "l", []string{"h"}, []string{"z2"}))
			mp.Graph.Node[2].Domain = proto.String("com.microsoft")
		}, false, unsupported(`Custom "c" (inputs h): domain "com.microsoft" (only ai.onnx is read)`, `Celu "relu" (inputs h): no graph operator`, `StringNormalizer "l" (inputs h): no graph operator`)},
		{"bool initializer", func(mp *onnxpb.ModelProto) {
			mp.Graph.Initializer = append(mp.Graph.Initializer, raw("mask", onnxpb.TensorProto_BOOL, []int64{1}, []byte{1}))
		}, false, unsupported(`initializer "mask": element type bool (the graph holds float32 and int64 tensors)`)},
		{"bool initializer among the inputs", func(mp *onnxpb.ModelProto) {
			mp.Graph.Initializer = append(mp.Graph.Initializer, raw("mask", onnxpb.TensorProto_BOOL, []int64{1}, []byte{1}))
			mp.Graph.Input = append(mp.Graph.Input, pbValue("mask", onnxpb.TensorProto_BOOL, []int{1}))
		}, false, unsupported(`initializer "mask": element type bool (the graph holds float32 and int64 tensors)`)},
		{"sparse initializer", func(mp *onnxpb.ModelProto) {
			mp.Graph.SparseInitializer = []*onnxpb.SparseTensorProto{{Values: raw("sp", onnxpb.TensorProto_FLOAT, []int64{1}, le[float32](1)), Dims: []int64{4}}}
		}, false, unsupported(`sparse initializer "sp": sparse tensors have no graph equivalent`)},
		{"string constant", func(mp *onnxpb.ModelProto) {
			mp.Graph.Node = append(mp.Graph.Node, pbNode("Constant", "s", nil, []string{"s"}, pbAttr("value_string", "a")))
		}, false, unsupported(`Constant "s": attribute value_string: a constant the graph cannot hold`)},
		{"graph attribute", func(mp *onnxpb.ModelProto) {
			mp.Graph.Node = append(mp.Graph.Node, pbNode("If", "if", []string{"h"}, []string{"z"},
				&onnxpb.AttributeProto{Name: proto.String("then_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: &onnxpb.GraphProto{}}))
		}, false, unsupported(`If "if" (inputs h): attribute then_branch: type GRAPH has no graph equivalent`)},
		{"external data", func(mp *onnxpb.ModelProto) {
			mp.Graph.Initializer[0].DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		}, true, `convert: m.onnx: tensor "W": data is in an external file; read the model with ReadGraph`},
		{"short raw_data", func(mp *onnxpb.ModelProto) {
			mp.Graph.Initializer[0] = raw("W", onnxpb.TensorProto_FLOAT, []int64{2, 3}, le[float32](1, 2))
		}, true, `convert: m.onnx: initializer W: tensor "W": raw_data holds 8 bytes; dims [2 3] of float32 need 24`},
		{"tensor written twice", func(mp *onnxpb.ModelProto) { mp.Graph.Node[1].Output[0] = "h" }, true,
			`convert: m.onnx: node Relu "relu": output 0: tensor "h": a tensor of this name is already given (by an input, an initializer or another node)`},
		{"constant named as an initializer", func(mp *onnxpb.ModelProto) {
			mp.Graph.Node = append(mp.Graph.Node, pbNode("Constant", "k", nil, []string{"W"}, pbAttr("value_int", 1)))
		}, true, `convert: m.onnx: node Constant "k": output 0: tensor "W": a tensor of this name is already given (by an input, an initializer or another node)`},
		{"constant of two values", func(mp *onnxpb.ModelProto) {
			mp.Graph.Node = append(mp.Graph.Node, pbNode("Constant", "k", nil, []string{"k"}, pbAttr("value_int", 1), pbAttr("value_float", 1.0)))
		}, true, `convert: m.onnx: node Constant "k": attribute: 2 attributes, want exactly one value`},
		{"attribute twice", func(mp *onnxpb.ModelProto) {
			mp.Graph.Node[0].Attribute = append(mp.Graph.Node[0].Attribute, pbAttr("transB", 0))
		}, true,
			`convert: m.onnx: node Gemm "fc": attribute transB: given twice`},
		{"no first output", func(mp *onnxpb.ModelProto) { mp.Graph.Node[1].Output = nil }, true,
			`convert: m.onnx: node Relu "relu": output 0: missing: the node has no first output`},
		{"mark of no tensor", func(mp *onnxpb.ModelProto) {
			mp.MetadataProps = []*onnxpb.StringStringEntryProto{{Key: proto.String("aebridge.mark.mu"), Value: proto.String("nothing")}}
		}, true, `convert: m.onnx: metadata "aebridge.mark.mu": tensor "nothing": names no tensor of the graph`},
		{"shapes do not fit", func(mp *onnxpb.ModelProto) { mp.Graph.Node[0].Attribute = nil }, true,
			`convert: m.onnx: node Gemm "fc": tensor "h": input shapes [[1 3] [2 3] [2]] do not fit`},
		{"required input left out", func(mp *onnxpb.ModelProto) { mp.Graph.Node[1].Input[0] = "" }, true,
			`convert: m.onnx: node Relu "relu": input 0 is required, but left out (named "")`},
		{"second operand left out", func(mp *onnxpb.ModelProto) {
			mp.Graph.Node = append(mp.Graph.Node, pbNode("Add", "add", []string{"h", ""}, []string{"z"}))
		}, true, `convert: m.onnx: node Add "add": input 1 is required, but left out (named "")`},
		{"dim below -1", func(mp *onnxpb.ModelProto) {
			mp.Graph.Input[0].Type.GetTensorType().Shape.Dim[1].Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: -3}
		}, true, `convert: m.onnx: input "x": dimension 1 is -3`},
		{"dangling input", func(mp *onnxpb.ModelProto) { mp.Graph.Node[1].Input[0] = "nowhere" }, true,
			`convert: m.onnx: node Relu "relu": tensor "nowhere": no graph input, parameter or node output`},
		{"old softmax axis", func(mp *onnxpb.ModelProto) {
			mp.OpsetImport[0].Version = proto.Int64(11)
			mp.Graph.Node[1] = pbNode("Softmax", "sm", []string{"h"}, []string{"y"}, pbAttr("axis", 2))
		}, true, `convert: m.onnx: node Softmax "sm": attribute axis: 2, outside the input's 2 dimensions (opset 11)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp := mlpModel(13)
			tt.mutate(mp)
			_, _, err := decodeModel(t, mp)
			var fe *FormatError
			var ue *UnsupportedError
			if tt.format && !errors.As(err, &fe) || !tt.format && !errors.As(err, &ue) {
				t.Fatalf("got %T %v, want a *FormatError: %v", err, err, tt.format)
			}
			if err.Error() != tt.err {
				t.Errorf("got  %q\nwant %q", err, tt.err)
			}
		})
	}
}

func TestReadGraphCode(t *testing.T) {
	data, err := proto.Marshal(mlpModel(13))
	if err != nil {
		t.Fatal(err)
	}
	g, _, err := DecodeGraph(bytes.NewReader(data), "m.onnx", Options{Code: "h"})
	if err != nil || g.Marks[graph.MarkCode] != "h" {
		t.Fatalf("got %v, %v; want the code marked h", err, g)
	}
	_, _, err = DecodeGraph(bytes.NewReader(data), "m.onnx", Options{Code: "z"})
	var ce *CodeError
	if !errors.As(err, &ce) || err.Error() != `convert: m.onnx: code "z" names no tensor of the graph` {
		t.Errorf("got %v, want a *CodeError", err)
	}
}

// TestReadGraphHostileSizes claims huge tensors in tiny models: each must
// be refused before anything is allocated from the claim.
func TestReadGraphHostileSizes(t *testing.T) {
	tests := []struct {
		name string
		t    *onnxpb.TensorProto
		err  string
	}{
		{"claimed 2^30 floats", raw("W", onnxpb.TensorProto_FLOAT, []int64{1 << 15, 1 << 15}, le[float32](1)),
			`convert: m.onnx: initializer W: tensor "W": raw_data holds 4 bytes; dims [32768 32768] of float32 need 4294967296`},
		{"claimed 2^30 int64 typed", &onnxpb.TensorProto{Name: proto.String("W"), DataType: proto.Int32(7), Dims: []int64{1 << 30}, Int64Data: []int64{1}},
			`convert: m.onnx: initializer W: tensor "W": int64_data holds 1 values; dims [1073741824] need 1073741824`},
		{"overflowing dims", raw("W", onnxpb.TensorProto_FLOAT, []int64{1 << 40, 1 << 40}, nil),
			`convert: m.onnx: initializer W: tensor "W": dims: shape [1099511627776 1099511627776]: exceeds aebridge's limit of 2147483648 elements`},
		{"negative dims", raw("W", onnxpb.TensorProto_FLOAT, []int64{-1, 3}, nil),
			`convert: m.onnx: initializer W: tensor "W": dims: negative dimension -1 in [-1 3]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp := mlpModel(13)
			mp.Graph.Initializer[0] = tt.t
			var before, after goruntime.MemStats
			goruntime.GC()
			goruntime.ReadMemStats(&before)
			_, _, err := decodeModel(t, mp)
			goruntime.ReadMemStats(&after)
			var fe *FormatError
			if !errors.As(err, &fe) || err.Error() != tt.err {
				t.Fatalf("got  %v\nwant %s", err, tt.err)
			}
			if d := after.TotalAlloc - before.TotalAlloc; d > 64<<20 {
				t.Errorf("allocated %d bytes, want under 64 MiB", d)
			}
		})
	}
}
