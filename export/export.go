package export

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/atomicfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/trainer"
)

// Part selects which graph to write.
type Part string

// The parts of an autoencoder.
const (
	Full    Part = "full"    // x → x_hat
	Encoder Part = "encoder" // x → z
	Decoder Part = "decoder" // z → x_hat
)

// ParsePart checks a part name.
func ParsePart(s string) (Part, error) {
	switch p := Part(s); p {
	case Full, Encoder, Decoder:
		return p, nil
	}
	return "", fmt.Errorf("export: unknown part %q (want full, encoder or decoder)", s)
}

// The graphs' input and output names.
const (
	InputName  = "x"
	CodeName   = "z"
	OutputName = "x_hat"
	BatchDim   = "batch"
)

// DefaultOpset is the opset the zero Writer uses.
const DefaultOpset = 13

// MinOpset and MaxOpset bound the opsets Writer accepts.
const (
	MinOpset = 11
	MaxOpset = 18
)

// Writer turns trainer models into ONNX. Its zero value writes opset 13
// with no training configuration recorded.
type Writer struct {
	Opset    int                  // 0 means DefaultOpset
	Training *trainer.TrainConfig // recorded in the metadata when not nil
}

// WriteFile writes part of m to path atomically with the zero Writer.
func WriteFile(path string, m *trainer.Model, part Part) error {
	var w Writer
	return w.WriteFile(path, m, part)
}

// WriteFile writes part of m to path atomically.
func (w Writer) WriteFile(path string, m *trainer.Model, part Part) error {
	b, err := w.Marshal(m, part)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, b)
}

// Encode writes part of m to out as a serialized ONNX ModelProto.
func (w Writer) Encode(out io.Writer, m *trainer.Model, part Part) error {
	b, err := w.Marshal(m, part)
	if err != nil {
		return err
	}
	_, err = out.Write(b)
	return err
}

// Marshal returns part of m as a serialized ONNX ModelProto.
func (w Writer) Marshal(m *trainer.Model, part Part) ([]byte, error) {
	mp, err := w.model(m, part)
	if err != nil {
		return nil, err
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(mp)
}

// irVersion is the lowest IR version that carries opset: ONNX's table of
// releases (IR 6: opset 11, IR 7: 12–14, IR 8: 15–18).
func irVersion(opset int) int64 {
	switch {
	case opset <= 11:
		return 6
	case opset <= 14:
		return 7
	}
	return 8
}

func (w Writer) model(m *trainer.Model, part Part) (*onnxpb.ModelProto, error) {
	opset := w.Opset
	if opset == 0 {
		opset = DefaultOpset
	}
	if opset < MinOpset || opset > MaxOpset {
		return nil, fmt.Errorf("export: opset %d is not supported (want %d to %d)", opset, MinOpset, MaxOpset)
	}
	if _, err := ParsePart(string(part)); err != nil {
		return nil, err
	}
	c := m.Config
	g := newGraph(m)
	inFeatures := 1
	for _, d := range c.Input {
		inFeatures *= d
	}
	latent := c.Latent()
	var in, out string
	var inDim, outDim int
	switch part {
	case Full:
		in, inDim, outDim = InputName, inFeatures, inFeatures
		out = g.stack("decoder", c.Decoder, g.stack("encoder", c.Encoder, in))
		g.finish(out, OutputName)
		out = OutputName
	case Encoder:
		in, inDim, outDim = InputName, inFeatures, latent
		g.finish(g.stack("encoder", c.Encoder, in), CodeName)
		out = CodeName
	case Decoder:
		in, inDim, outDim = CodeName, latent, inFeatures
		g.finish(g.stack("decoder", c.Decoder, in), OutputName)
		out = OutputName
	}
	if g.err != nil {
		return nil, g.err
	}
	meta, err := metadata(m, part, w.Training)
	if err != nil {
		return nil, err
	}
	return &onnxpb.ModelProto{
		IrVersion:       proto.Int64(irVersion(opset)),
		OpsetImport:     []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(int64(opset))}},
		ProducerName:    proto.String("aebridge"),
		ProducerVersion: proto.String(trainer.Version),
		ModelVersion:    proto.Int64(1),
		DocString:       proto.String(fmt.Sprintf("aebridge %s autoencoder, %s graph", c.Variant, part)),
		MetadataProps:   meta,
		Graph: &onnxpb.GraphProto{
			Name:        proto.String(fmt.Sprintf("aebridge_%s_%s", c.Variant, part)),
			Node:        g.nodes,
			Initializer: g.inits,
			Input:       []*onnxpb.ValueInfoProto{valueInfo(in, inDim)},
			Output:      []*onnxpb.ValueInfoProto{valueInfo(out, outDim)},
		},
	}, nil
}

// metadata records what convert needs to rebuild the model, and what a
// reader wants to know, as metadata_props.
func metadata(m *trainer.Model, part Part, tc *trainer.TrainConfig) ([]*onnxpb.StringStringEntryProto, error) {
	c := m.Config
	shape, err := json.Marshal(c.Input)
	if err != nil {
		return nil, err
	}
	model, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	kv := [][2]string{
		{"aebridge_version", trainer.Version},
		{"variant", c.Variant},
		{"part", string(part)},
		{"input_shape", string(shape)},
		{"latent", strconv.Itoa(c.Latent())},
		{"loss", string(c.Loss)},
		{"model", string(model)},
	}
	if tc != nil {
		training, err := json.Marshal(tc)
		if err != nil {
			return nil, err
		}
		kv = append(kv, [2]string{"training", string(training)})
	}
	out := make([]*onnxpb.StringStringEntryProto, len(kv))
	for i, p := range kv {
		out[i] = &onnxpb.StringStringEntryProto{Key: proto.String(p[0]), Value: proto.String(p[1])}
	}
	return out, nil
}

func valueInfo(name string, features int) *onnxpb.ValueInfoProto {
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			Shape: &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{
				{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: BatchDim}},
				{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(features)}},
			}},
		}}},
	}
}

// graph builds the nodes and initializers of one graph. Its methods keep
// the first error (err) and do nothing after it, so that building code
// reads straight.
type graph struct {
	m       *trainer.Model
	nodes   []*onnxpb.NodeProto
	inits   []*onnxpb.TensorProto
	have    map[string]bool // initializer names already added
	counter int
	err     error
}

func newGraph(m *trainer.Model) *graph {
	return &graph{m: m, have: map[string]bool{}}
}

// node adds op with the given inputs and attributes, named after the layer
// it belongs to, and returns its output's name.
func (g *graph) node(layer, op string, inputs []string, attrs ...*onnxpb.AttributeProto) string {
	if g.err != nil {
		return ""
	}
	g.counter++
	name := fmt.Sprintf("%s/%s_%d", layer, op, g.counter)
	out := name + ":0"
	g.nodes = append(g.nodes, &onnxpb.NodeProto{
		Name: proto.String(name), OpType: proto.String(op), Input: inputs, Output: []string{out}, Attribute: attrs,
	})
	return out
}

// init adds a float initializer once and returns its name.
func (g *graph) init(name string, shape []int, data []float32) string {
	if g.err != nil || g.have[name] {
		return name
	}
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	g.have[name] = true
	g.inits = append(g.inits, &onnxpb.TensorProto{
		Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: append([]float32(nil), data...),
	})
	return name
}

// scalar adds a float constant, shared by every node that uses its value.
func (g *graph) scalar(v float32) string {
	return g.init("const_"+strconv.FormatUint(uint64(math.Float32bits(v)), 16), nil, []float32{v})
}

func attrFloat(name string, v float64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(float32(v))}
}

func attrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

// stack adds the layers of one stack after the tensor x and returns the
// name of its output.
func (g *graph) stack(stack string, specs []trainer.LayerSpec, x string) string {
	for i, s := range specs {
		layer := fmt.Sprintf("%s.%d", stack, i)
		x = g.layer(layer, s, x)
	}
	return x
}

// param returns the weights of the named parameter.
func (g *graph) param(name string) *trainer.Param {
	for _, p := range g.m.Params() {
		if p.Name == name {
			return p
		}
	}
	if g.err == nil {
		g.err = fmt.Errorf("export: the model has no parameter %q", name)
	}
	return nil
}

func (g *graph) layer(layer string, s trainer.LayerSpec, x string) string {
	switch s.Type {
	case "dense":
		owner := layer
		if s.TiedTo != "" {
			owner = s.TiedTo
		}
		w, b := g.param(owner+".weight"), g.param(layer+".bias")
		if g.err != nil {
			return ""
		}
		wName := g.init(w.Name, w.Value.Shape, w.Value.Data)
		var y string
		if s.TiedTo != "" {
			y = g.node(layer, "MatMul", []string{x, wName}) // z·W, W is (in_enc, out_enc)
		} else {
			wt := g.node(layer, "Transpose", []string{wName}, attrInts("perm", 1, 0))
			y = g.node(layer, "MatMul", []string{x, wt})
		}
		// The bias is stored as (1, out), not (out): onnx-go broadcasts
		// (n, out) + (out) wrongly when n == out.
		return g.node(layer, "Add", []string{y, g.init(b.Name, []int{1, len(b.Value.Data)}, b.Value.Data)})
	case "identity":
		return x
	case "relu":
		return g.node(layer, "Relu", []string{x})
	case "sigmoid":
		return g.node(layer, "Sigmoid", []string{x})
	case "tanh":
		return g.node(layer, "Tanh", []string{x})
	case "softplus":
		return g.node(layer, "Softplus", []string{x})
	case "leaky_relu":
		return g.node(layer, "LeakyRelu", []string{x}, attrFloat("alpha", s.Alpha))
	case "elu":
		return g.node(layer, "Elu", []string{x}, attrFloat("alpha", s.Alpha))
	case "silu": // x·σ(x), as PyTorch exports SiLU before opset 20
		return g.node(layer, "Mul", []string{x, g.node(layer, "Sigmoid", []string{x})})
	case "gelu":
		if s.Approximate == "tanh" {
			// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
			x3 := g.node(layer, "Mul", []string{g.node(layer, "Mul", []string{x, x}), x})
			inner := g.node(layer, "Add", []string{x, g.node(layer, "Mul", []string{x3, g.scalar(0.044715)})})
			t := g.node(layer, "Tanh", []string{g.node(layer, "Mul", []string{inner, g.scalar(float32(math.Sqrt(2 / math.Pi)))})})
			return g.node(layer, "Mul", []string{g.node(layer, "Mul", []string{x, g.node(layer, "Add", []string{t, g.scalar(1)})}), g.scalar(0.5)})
		}
		// x·0.5·(1 + erf(x/√2)), PyTorch's export of exact GELU
		e := g.node(layer, "Erf", []string{g.node(layer, "Div", []string{x, g.scalar(float32(math.Sqrt2))})})
		return g.node(layer, "Mul", []string{g.node(layer, "Mul", []string{x, g.node(layer, "Add", []string{e, g.scalar(1)})}), g.scalar(0.5)})
	}
	if g.err == nil {
		g.err = fmt.Errorf("export: layer %s: type %q cannot be exported", layer, s.Type)
	}
	return ""
}

// finish names the graph's output: the node producing x now writes name. If
// x is not produced by a node (an empty stack, or one of identities only),
// an Identity node copies it.
func (g *graph) finish(x, name string) {
	if g.err != nil {
		return
	}
	for i := len(g.nodes) - 1; i >= 0; i-- {
		if g.nodes[i].Output[0] == x {
			g.nodes[i].Output[0] = name // x is the last tensor: no node reads it
			return
		}
	}
	g.nodes = append(g.nodes, &onnxpb.NodeProto{
		Name: proto.String("output/Identity"), OpType: proto.String("Identity"), Input: []string{x}, Output: []string{name},
	})
}
