package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/atomicfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/trainer"
)

// MarkKeyPrefix begins the metadata keys that record a graph's marks: the
// tensor marked graph.MarkCode is the value of "aebridge.mark.code", and
// so on for graph.MarkMu and graph.MarkLogVar.
const MarkKeyPrefix = "aebridge.mark."

// VersionKey and TrainingKey are the metadata keys of the aebridge version
// that wrote a model and of its training configuration (JSON).
const (
	VersionKey  = "aebridge_version"
	TrainingKey = "training"
)

// WriteGraphFile writes g to path atomically, as MarshalGraph serializes it.
func (w Writer) WriteGraphFile(path string, g *graph.Graph, meta map[string]string) error {
	b, err := w.MarshalGraph(g, meta)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, b)
}

// MarshalGraph returns g as a serialized ONNX ModelProto (see Graph).
func (w Writer) MarshalGraph(g *graph.Graph, meta map[string]string) ([]byte, error) {
	m, err := w.Graph(g, meta)
	if err != nil {
		return nil, err
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

// Graph returns g as an ONNX model at w's opset, node by node in
// topological order: each node's op type, inputs, outputs and typed
// attributes as they are, but for the op types whose form changed between
// the opset and 18 (the graph's), which are rewritten into the opset's
// form (Unsqueeze's axes as an attribute below 13, Softmax along a middle
// axis between Transposes below 13, …).
//
// The inputs keep their shapes, each −1 (the batch) written as the
// symbolic dimension BatchDim, and their element types; the outputs get
// the shapes graph.Describe infers, the batch dimension symbolic and a
// dimension that depends on the batch size otherwise left unnamed. The
// parameters are initializers (float32 or int64), in the order the nodes
// first read them, those no node reads after them by name.
//
// The metadata records the aebridge version (VersionKey), w.Training
// (TrainingKey), g's marks (MarkKeyPrefix + role), and the input-scaling
// rule (InputScaleKey and InputRangeKey, as Writer says) unless the graph
// is a decoder — meta["part"] is "decoder", or its first input is marked —
// followed by meta, sorted by key; meta may not hold a key Graph writes.
//
// Graph returns an *UnsupportedError for a node of an op type that package
// graph does not run, or one that the opset cannot express, and g's
// *graph.NodeError (wrapped) for a graph that does not hold together.
func (w Writer) Graph(g *graph.Graph, meta map[string]string) (*onnxpb.ModelProto, error) {
	opset, err := w.opset()
	if err != nil {
		return nil, err
	}
	order, err := g.Order()
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	ops := graph.Ops()
	for _, n := range order {
		if _, ok := slices.BinarySearch(ops, n.Op); !ok {
			return nil, &UnsupportedError{Node: n.Name, Op: n.Op, Opset: opset, Reason: "op type not supported by package graph"}
		}
	}
	infos, err := g.Describe()
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	kv, err := w.graphMetadata(g, meta)
	if err != nil {
		return nil, err
	}
	l := newLowering(g, opset, infos)
	var nodes []*onnxpb.NodeProto
	for _, n := range order {
		lowered, err := l.lower(n)
		if err != nil {
			return nil, err
		}
		for _, ln := range lowered {
			np, err := nodeProto(ln)
			if err != nil {
				return nil, err
			}
			nodes = append(nodes, np)
		}
	}
	inits, err := initializers(g, l, nodes)
	if err != nil {
		return nil, err
	}
	gp := &onnxpb.GraphProto{Name: proto.String("aebridge"), Node: nodes, Initializer: inits}
	for _, v := range g.Inputs {
		gp.Input = append(gp.Input, graphValueInfo(v.Name, v.Type, v.Shape))
	}
	for _, out := range g.Outputs {
		info := infos[out]
		gp.Output = append(gp.Output, graphValueInfo(out, info.Type, info.Shape))
	}
	return &onnxpb.ModelProto{
		IrVersion:       proto.Int64(irVersion(opset)),
		OpsetImport:     []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(int64(opset))}},
		ProducerName:    proto.String("aebridge"),
		ProducerVersion: proto.String(trainer.Version),
		ModelVersion:    proto.Int64(1),
		MetadataProps:   kv,
		Graph:           gp,
	}, nil
}

// opset is w's opset, or an error if it is outside MinOpset to MaxOpset.
func (w Writer) opset() (int, error) {
	opset := w.Opset
	if opset == 0 {
		opset = DefaultOpset
	}
	if opset < MinOpset || opset > MaxOpset {
		return 0, fmt.Errorf("export: opset %d is not supported (want %d to %d)", opset, MinOpset, MaxOpset)
	}
	return opset, nil
}

// graphMetadata returns Graph's metadata_props.
func (w Writer) graphMetadata(g *graph.Graph, meta map[string]string) ([]*onnxpb.StringStringEntryProto, error) {
	kv := [][2]string{{VersionKey, trainer.Version}}
	if w.Training != nil {
		training, err := json.Marshal(w.Training)
		if err != nil {
			return nil, err
		}
		kv = append(kv, [2]string{TrainingKey, string(training)})
	}
	decoder := meta["part"] == string(Decoder)
	for _, role := range sortedNames(g.Marks) {
		kv = append(kv, [2]string{MarkKeyPrefix + role, g.Marks[role]})
		decoder = decoder || len(g.Inputs) > 0 && g.Marks[role] == g.Inputs[0].Name
	}
	if !decoder {
		scale := "none"
		if w.Training != nil {
			scale = "1/255"
		}
		kv = append(kv, [2]string{InputScaleKey, scale})
		if w.InputRange != nil {
			r, err := inputRangeValue(w.InputRange)
			if err != nil {
				return nil, err
			}
			kv = append(kv, [2]string{InputRangeKey, r})
		}
	}
	for _, k := range sortedNames(meta) {
		if k == "" {
			return nil, errors.New("export: metadata key \"\": want a name")
		}
		if slices.ContainsFunc(kv, func(p [2]string) bool { return p[0] == k }) || strings.HasPrefix(k, MarkKeyPrefix) {
			return nil, fmt.Errorf("export: metadata key %q: written by the exporter itself", k)
		}
		kv = append(kv, [2]string{k, meta[k]})
	}
	out := make([]*onnxpb.StringStringEntryProto, len(kv))
	for i, p := range kv {
		out[i] = &onnxpb.StringStringEntryProto{Key: proto.String(p[0]), Value: proto.String(p[1])}
	}
	return out, nil
}

// inputRangeValue is InputRangeKey's value for [min, max], or an error if r is
// not a pair of finite numbers, min ≤ max.
func inputRangeValue(r []float64) (string, error) {
	if len(r) != 2 || !(r[0] <= r[1]) || math.IsInf(r[0], 0) || math.IsInf(r[1], 0) {
		return "", fmt.Errorf("export: input range %v: want [min, max] of finite numbers, min ≤ max", r)
	}
	return "[" + shortFloat(r[0]) + "," + shortFloat(r[1]) + "]", nil
}

// initializers returns g's parameters and the lowering's added tensors as
// initializers: first those the nodes read, in the order they first read
// them, then the parameters no node reads, by name. An added tensor that
// no node reads any more is left out, as is a parameter that only a
// lowered input read (Unsqueeze's axes, now an attribute).
func initializers(g *graph.Graph, l *lowering, nodes []*onnxpb.NodeProto) ([]*onnxpb.TensorProto, error) {
	readBefore := map[string]bool{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			readBefore[in] = true
		}
	}
	added := map[string]bool{}
	for _, name := range l.inits {
		added[name] = true
	}
	var names []string
	seen := map[string]bool{}
	for _, n := range nodes {
		for _, in := range n.Input {
			_, param := g.Params[in]
			if !seen[in] && (param || added[in]) {
				names = append(names, in)
			}
			seen[in] = true
		}
	}
	for _, name := range sortedNames(g.Params) {
		if !seen[name] && !readBefore[name] {
			names = append(names, name)
		}
	}
	out := make([]*onnxpb.TensorProto, len(names))
	for i, name := range names {
		t := g.Params[name]
		if t == nil {
			t = l.infos[name].Value
		}
		tp, err := tensorProto(name, t)
		if err != nil {
			return nil, err
		}
		out[i] = tp
	}
	return out, nil
}

// tensorProto returns t as a TensorProto, or an error if it holds a
// number of values other than its shape's or is of an unknown type.
func tensorProto(name string, t *graph.Tensor) (*onnxpb.TensorProto, error) {
	n := 1
	dims := make([]int64, len(t.Shape))
	for i, d := range t.Shape {
		if d < 0 || n != 0 && d > math.MaxInt/n {
			return nil, fmt.Errorf("export: tensor %q: shape %v", name, t.Shape)
		}
		n *= d
		dims[i] = int64(d)
	}
	tp := &onnxpb.TensorProto{Name: proto.String(name), Dims: dims}
	switch t.Type {
	case graph.Float32:
		if len(t.Data) != n || t.Int64 != nil {
			return nil, fmt.Errorf("export: tensor %q: %d float32 values for shape %v", name, len(t.Data), t.Shape)
		}
		tp.DataType, tp.FloatData = proto.Int32(int32(onnxpb.TensorProto_FLOAT)), slices.Clone(t.Data)
	case graph.Int64:
		if len(t.Int64) != n || t.Data != nil {
			return nil, fmt.Errorf("export: tensor %q: %d int64 values for shape %v", name, len(t.Int64), t.Shape)
		}
		tp.DataType, tp.Int64Data = proto.Int32(int32(onnxpb.TensorProto_INT64)), slices.Clone(t.Int64)
	default:
		return nil, fmt.Errorf("export: tensor %q: element type %v", name, t.Type)
	}
	return tp, nil
}

// elemType is the ONNX element type of a graph tensor type.
func elemType(t graph.DType) onnxpb.TensorProto_DataType {
	if t == graph.Int64 {
		return onnxpb.TensorProto_INT64
	}
	return onnxpb.TensorProto_FLOAT
}

// graphValueInfo describes a tensor of the type and shape, graph.BatchDim
// written as the dimension BatchDim and graph.DynamicDim as an unnamed one.
func graphValueInfo(name string, typ graph.DType, shape []int) *onnxpb.ValueInfoProto {
	dims := make([]*onnxpb.TensorShapeProto_Dimension, len(shape))
	for i, d := range shape {
		dims[i] = &onnxpb.TensorShapeProto_Dimension{}
		switch {
		case d == graph.BatchDim:
			dims[i].Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: BatchDim}
		case d >= 0:
			dims[i].Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
		}
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(elemType(typ))),
			Shape:    &onnxpb.TensorShapeProto{Dim: dims},
		}}},
	}
}

// nodeProto returns n as a NodeProto: op type, inputs and outputs (left-out
// optional ones at the end dropped), attributes by name with their types.
func nodeProto(n *graph.Node) (*onnxpb.NodeProto, error) {
	trim := func(s []string) []string {
		for len(s) > 0 && s[len(s)-1] == "" {
			s = s[:len(s)-1]
		}
		return slices.Clone(s)
	}
	np := &onnxpb.NodeProto{Name: proto.String(n.Name), OpType: proto.String(n.Op), Input: trim(n.Inputs), Output: trim(n.Outputs)}
	for _, name := range sortedNames(n.Attrs) {
		a, err := attrProto(name, n.Attrs[name])
		if err != nil {
			return nil, &UnsupportedError{Node: n.Name, Op: n.Op, Reason: err.Error()}
		}
		np.Attribute = append(np.Attribute, a)
	}
	return np, nil
}

// attrProto returns the attribute as an AttributeProto of its type.
func attrProto(name string, a graph.Attribute) (*onnxpb.AttributeProto, error) {
	p := &onnxpb.AttributeProto{Name: proto.String(name)}
	switch a.Type {
	case graph.AttrFloat:
		p.Type, p.F = onnxpb.AttributeProto_FLOAT.Enum(), proto.Float32(a.Float)
	case graph.AttrInt:
		p.Type, p.I = onnxpb.AttributeProto_INT.Enum(), proto.Int64(a.Int)
	case graph.AttrString:
		p.Type, p.S = onnxpb.AttributeProto_STRING.Enum(), []byte(a.String)
	case graph.AttrFloats:
		p.Type, p.Floats = onnxpb.AttributeProto_FLOATS.Enum(), slices.Clone(a.Floats)
	case graph.AttrInts:
		p.Type, p.Ints = onnxpb.AttributeProto_INTS.Enum(), slices.Clone(a.Ints)
	case graph.AttrTensor:
		if a.Tensor == nil {
			return nil, fmt.Errorf("attribute %s: tensor attribute without a tensor", name)
		}
		t, err := tensorProto("", a.Tensor)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		t.Name = nil
		p.Type, p.T = onnxpb.AttributeProto_TENSOR.Enum(), t
	default:
		return nil, fmt.Errorf("attribute %s: type %v cannot be written", name, a.Type)
	}
	return p, nil
}
