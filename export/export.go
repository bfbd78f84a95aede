package export

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

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
	InputName     = "x"
	CodeName      = "z"
	OutputName    = "x_hat"
	MuName        = "mu"     // variational encoders' outputs
	LogVarName    = "logvar" //
	ConditionName = "c"      // conditional models' second input
	BatchDim      = "batch"
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
//
// The full model and the encoder also record the input-scaling rule (see
// runtime.InputScaling): a model with Training was trained here, on data
// that aebridge's loaders scale (uint8 divided by 255), so its
// runtime.InputScaleKey is "1/255"; without Training (a model from convert,
// trained elsewhere) it is "none". InputRange, when set, is recorded as
// runtime.InputRangeKey.
type Writer struct {
	Opset    int                  // 0 means DefaultOpset
	Training *trainer.TrainConfig // recorded in the metadata when not nil
	// InputRange is [min, max] of the (scaled) values the model was
	// trained on, or nil when unknown.
	InputRange []float64
}

// The metadata keys of the input-scaling rule, as runtime reads them.
const (
	InputScaleKey = "aebridge.input_scale"
	InputRangeKey = "aebridge.input_range"
)

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
	opset, err := w.opset()
	if err != nil {
		return nil, err
	}
	if onGraph(m) {
		return w.modelGraph(m, part)
	}
	if _, err := ParsePart(string(part)); err != nil {
		return nil, err
	}
	c := m.Config
	g := newGraph(m, opset)
	code := m.CodeShape()
	var inputs, outputs []*onnxpb.ValueInfoProto
	cond := []*onnxpb.ValueInfoProto{}
	if c.Condition > 0 {
		cond = append(cond, valueInfo(ConditionName, []int{c.Condition}))
	}
	switch {
	case c.Variational != nil && part == Full:
		// Deterministic reconstruction: the decoder runs on μ.
		mu := g.head("mu", g.stack("encoder", c.Encoder, InputName))
		g.finish(g.stack("decoder", c.Decoder, mu), OutputName)
		// The log σ² head is unused here, but its weights travel with the
		// model so that convert can read the whole model back.
		for _, name := range []string{"logvar.weight", "logvar.bias"} {
			if p := g.param(name); p != nil {
				g.init(p.Name, p.Value.Shape, p.Value.Data)
			}
		}
		inputs = append([]*onnxpb.ValueInfoProto{valueInfo(InputName, c.Input)}, cond...)
		outputs = []*onnxpb.ValueInfoProto{valueInfo(OutputName, m.OutputShape())}
	case c.Variational != nil && part == Encoder:
		h := g.stack("encoder", c.Encoder, InputName)
		g.finish(g.head("mu", h), MuName)
		g.finish(g.head("logvar", h), LogVarName)
		inputs = append([]*onnxpb.ValueInfoProto{valueInfo(InputName, c.Input)}, cond...)
		outputs = []*onnxpb.ValueInfoProto{valueInfo(MuName, code), valueInfo(LogVarName, code)}
	case c.Variational != nil && part == Decoder:
		g.finish(g.stack("decoder", c.Decoder, CodeName), OutputName)
		inputs = append([]*onnxpb.ValueInfoProto{valueInfo(CodeName, code)}, cond...)
		outputs = []*onnxpb.ValueInfoProto{valueInfo(OutputName, m.OutputShape())}
	case part == Full:
		out := g.stack("decoder", c.Decoder, g.stack("encoder", c.Encoder, InputName))
		g.finish(out, OutputName)
		inputs = append([]*onnxpb.ValueInfoProto{valueInfo(InputName, c.Input)}, cond...)
		outputs = []*onnxpb.ValueInfoProto{valueInfo(OutputName, m.OutputShape())}
	case part == Encoder:
		g.finish(g.stack("encoder", c.Encoder, InputName), CodeName)
		inputs = append([]*onnxpb.ValueInfoProto{valueInfo(InputName, c.Input)}, cond...)
		outputs = []*onnxpb.ValueInfoProto{valueInfo(CodeName, code)}
		// An unpooling decoder needs the encoder's pooling indices: they
		// are outputs too, as float32.
		for _, u := range g.unpooled() {
			name := IndicesName(u.pool)
			g.nodes = append(g.nodes, &onnxpb.NodeProto{Name: proto.String(u.pool + "/indices_out"), OpType: proto.String("Cast"),
				Input: []string{g.indices[u.pool]}, Output: []string{name}, Attribute: []*onnxpb.AttributeProto{attrInt("to", int64(onnxpb.TensorProto_FLOAT))}})
			outputs = append(outputs, valueInfo(name, u.pooled))
		}
	case part == Decoder:
		inputs = append([]*onnxpb.ValueInfoProto{valueInfo(CodeName, code)}, cond...)
		for _, u := range g.unpooled() {
			name := IndicesName(u.pool)
			g.indices[u.pool] = g.node(u.pool, "Cast", []string{name}, attrInt("to", int64(onnxpb.TensorProto_INT64)))
			inputs = append(inputs, valueInfo(name, u.pooled))
		}
		g.finish(g.stack("decoder", c.Decoder, CodeName), OutputName)
		outputs = []*onnxpb.ValueInfoProto{valueInfo(OutputName, m.OutputShape())}
	}
	if g.err != nil {
		return nil, g.err
	}
	meta, err := metadata(m, part, w.Training, w.InputRange)
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
			Input:       inputs,
			Output:      outputs,
		},
	}, nil
}

// metadata records what convert needs to rebuild the model, and what a
// reader wants to know, as metadata_props.
func metadata(m *trainer.Model, part Part, tc *trainer.TrainConfig, inputRange []float64) ([]*onnxpb.StringStringEntryProto, error) {
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
		{VersionKey, trainer.Version},
		{"variant", c.Variant},
		{"part", string(part)},
		{"input_shape", string(shape)},
		{"latent", strconv.Itoa(product(m.CodeShape()))},
		{"loss", string(c.Loss)},
		{"model", string(model)},
	}
	if tc != nil {
		training, err := json.Marshal(tc)
		if err != nil {
			return nil, err
		}
		kv = append(kv, [2]string{TrainingKey, string(training)})
	}
	if part != Decoder { // the graphs whose first input is the data x
		scale := "none"
		if tc != nil {
			scale = "1/255"
		}
		kv = append(kv, [2]string{InputScaleKey, scale})
		if inputRange != nil {
			r, err := inputRangeValue(inputRange)
			if err != nil {
				return nil, err
			}
			kv = append(kv, [2]string{InputRangeKey, r})
		}
	}
	out := make([]*onnxpb.StringStringEntryProto, len(kv))
	for i, p := range kv {
		out[i] = &onnxpb.StringStringEntryProto{Key: proto.String(p[0]), Value: proto.String(p[1])}
	}
	return out, nil
}

// shortFloat formats v in the fewest digits that read back to it, as a
// float32 where v is one (0.2, not 0.20000000298023224).
func shortFloat(v float64) string {
	if float64(float32(v)) == v {
		return strconv.FormatFloat(v, 'g', -1, 32)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func product(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// IndicesName is the name of the graph input (decoder) or output (encoder)
// carrying the pooling indices of the named max-pooling layer, as float32,
// for models with an unpooling decoder.
func IndicesName(pool string) string { return "indices_" + pool }

// valueInfo describes a float tensor of shape (batch, perSample…).
func valueInfo(name string, perSample []int) *onnxpb.ValueInfoProto {
	dims := []*onnxpb.TensorShapeProto_Dimension{{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: BatchDim}}}
	for _, d := range perSample {
		dims = append(dims, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			Shape:    &onnxpb.TensorShapeProto{Dim: dims},
		}}},
	}
}

// layerGraph builds the nodes and initializers of one graph. Its methods keep
// the first error (err) and do nothing after it, so that building code
// reads straight.
type layerGraph struct {
	m       *trainer.Model
	opset   int
	indices map[string]string // max-pooling layer → its int64 indices tensor
	nodes   []*onnxpb.NodeProto
	inits   []*onnxpb.TensorProto
	have    map[string]bool // initializer names already added
	counter int
	err     error
}

func newGraph(m *trainer.Model, opset int) *layerGraph {
	return &layerGraph{m: m, opset: opset, have: map[string]bool{}, indices: map[string]string{}}
}

// unpool describes a max-unpooling layer's use of a pooling layer.
type unpool struct {
	pool   string // the pooling layer, "encoder.2"
	pooled []int  // per-sample shape of the pooled output (and its indices)
	input  []int  // per-sample shape entering the pooling layer
}

// unpooled lists the pooling layers the decoder unpools with, in decoder
// order.
func (g *layerGraph) unpooled() []unpool {
	c := g.m.Config
	var out []unpool
	shape := append([]int(nil), c.Input...)
	shapes := map[string][2][]int{}
	for i := range c.Encoder {
		name := fmt.Sprintf("encoder.%d", i)
		next := g.m.Encoder[i].OutShape(shape)
		shapes[name] = [2][]int{shape, next}
		shape = next
	}
	for _, s := range c.Decoder {
		if strings.HasPrefix(s.Type, "maxunpool") {
			sh := shapes[s.Of]
			out = append(out, unpool{pool: s.Of, pooled: sh[1], input: sh[0]})
		}
	}
	return out
}

// usedByUnpool reports whether a decoder layer unpools with the named layer.
func (g *layerGraph) usedByUnpool(layer string) bool {
	for _, s := range g.m.Config.Decoder {
		if strings.HasPrefix(s.Type, "maxunpool") && s.Of == layer {
			return true
		}
	}
	return false
}

// nodeN adds op with n outputs and returns their names.
func (g *layerGraph) nodeN(layer, op string, inputs []string, n int, attrs ...*onnxpb.AttributeProto) []string {
	if g.err != nil {
		return make([]string, n)
	}
	g.counter++
	name := fmt.Sprintf("%s/%s_%d", layer, op, g.counter)
	outs := make([]string, n)
	for i := range outs {
		outs[i] = fmt.Sprintf("%s:%d", name, i)
	}
	g.nodes = append(g.nodes, &onnxpb.NodeProto{Name: proto.String(name), OpType: proto.String(op), Input: inputs, Output: outs, Attribute: attrs})
	return outs
}

// initInt64 adds an int64 initializer once and returns its name.
func (g *layerGraph) initInt64(name string, data ...int64) string {
	if g.err != nil || g.have[name] {
		return name
	}
	g.have[name] = true
	g.inits = append(g.inits, &onnxpb.TensorProto{
		Name: proto.String(name), Dims: []int64{int64(len(data))}, DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: data,
	})
	return name
}

// node adds op with the given inputs and attributes, named after the layer
// it belongs to, and returns its output's name.
func (g *layerGraph) node(layer, op string, inputs []string, attrs ...*onnxpb.AttributeProto) string {
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
func (g *layerGraph) init(name string, shape []int, data []float32) string {
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
func (g *layerGraph) scalar(v float32) string {
	return g.init("const_"+strconv.FormatUint(uint64(math.Float32bits(v)), 16), nil, []float32{v})
}

func attrFloat(name string, v float64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(float32(v))}
}

func attrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func attrString(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

func ints64(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

func attrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

// stack adds the layers of one stack after the tensor x and returns the
// name of its output.
func (g *layerGraph) stack(stack string, specs []trainer.LayerSpec, x string) string {
	for i, s := range specs {
		layer := fmt.Sprintf("%s.%d", stack, i)
		x = g.layer(layer, s, x)
	}
	return x
}

func orOnes(v []int, n int) []int {
	if len(v) > 0 {
		return v
	}
	out := make([]int, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

func orZeros(v []int, n int) []int {
	if len(v) > 0 {
		return v
	}
	return make([]int, n)
}

// poolSpec returns the spec of the named encoder layer.
func (g *layerGraph) poolSpec(name string) *trainer.LayerSpec {
	var i int
	if _, err := fmt.Sscanf(name, "encoder.%d", &i); err != nil || i < 0 || i >= len(g.m.Config.Encoder) {
		return nil
	}
	return &g.m.Config.Encoder[i]
}

// bufferOrParam returns the named parameter or buffer (batch norm's running
// statistics).
func (g *layerGraph) bufferOrParam(name string) *trainer.Param {
	sd := g.m.StateDict()
	t, ok := sd[name]
	if !ok {
		if g.err == nil {
			g.err = fmt.Errorf("export: the model has no tensor %q", name)
		}
		return nil
	}
	return &trainer.Param{Name: name, Value: &trainer.Tensor{Shape: t.Shape, Data: t.Data}}
}

// param returns the weights of the named parameter.
func (g *layerGraph) param(name string) *trainer.Param {
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

func (g *layerGraph) layer(layer string, s trainer.LayerSpec, x string) string {
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
	case "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d":
		w, b := g.param(layer+".weight"), g.param(layer+".bias")
		if g.err != nil {
			return ""
		}
		dims := len(s.Kernel)
		groups := s.Groups
		if groups == 0 {
			groups = 1
		}
		attrs := []*onnxpb.AttributeProto{
			attrInts("kernel_shape", ints64(s.Kernel)...), attrInts("strides", ints64(orOnes(s.Stride, dims))...),
			attrInts("pads", ints64(orZeros(s.Padding, 2*dims))...), attrInts("dilations", ints64(orOnes(s.Dilation, dims))...),
			attrInt("group", int64(groups)),
		}
		op := "Conv"
		if strings.HasPrefix(s.Type, "conv_transpose") {
			op = "ConvTranspose"
			attrs = append(attrs, attrInts("output_padding", ints64(orZeros(s.OutputPadding, dims))...))
		}
		return g.node(layer, op, []string{x, g.init(w.Name, w.Value.Shape, w.Value.Data), g.init(b.Name, b.Value.Shape, b.Value.Data)}, attrs...)
	case "maxpool1d", "maxpool2d":
		dims := len(s.Kernel)
		attrs := []*onnxpb.AttributeProto{attrInts("kernel_shape", ints64(s.Kernel)...), attrInts("strides", ints64(s.Stride)...), attrInts("pads", ints64(orZeros(s.Padding, 2*dims))...)}
		if !g.usedByUnpool(layer) {
			return g.node(layer, "MaxPool", []string{x}, attrs...)
		}
		outs := g.nodeN(layer, "MaxPool", []string{x}, 2, attrs...)
		g.indices[layer] = outs[1]
		return outs[0]
	case "maxunpool1d", "maxunpool2d":
		var u *unpool
		for _, c := range g.unpooled() {
			if c.pool == s.Of {
				u = &c
			}
		}
		ps := g.poolSpec(s.Of)
		idx, ok := g.indices[s.Of]
		if u == nil || ps == nil || !ok {
			if g.err == nil {
				g.err = fmt.Errorf("export: layer %s (%s): no indices from %s", layer, s.Type, s.Of)
			}
			return ""
		}
		// output_shape = (batch of the indices, the pooling input's shape).
		batch := g.node(layer, "Slice", []string{g.node(layer, "Shape", []string{idx}), g.initInt64("const_i64_0", 0), g.initInt64("const_i64_1", 1)})
		shape := g.node(layer, "Concat", []string{batch, g.initInt64(layer+".output_shape", ints64(u.input)...)}, attrInt("axis", 0))
		dims := len(ps.Kernel)
		return g.node(layer, "MaxUnpool", []string{x, idx, shape},
			attrInts("kernel_shape", ints64(ps.Kernel)...), attrInts("strides", ints64(ps.Stride)...), attrInts("pads", ints64(orZeros(ps.Padding, 2*dims))...))
	case "avgpool1d", "avgpool2d":
		dims := len(s.Kernel)
		cip := int64(0)
		if s.CountIncludePad {
			cip = 1
		}
		return g.node(layer, "AveragePool", []string{x}, attrInts("kernel_shape", ints64(s.Kernel)...), attrInts("strides", ints64(s.Stride)...),
			attrInts("pads", ints64(orZeros(s.Padding, 2*dims))...), attrInt("count_include_pad", cip))
	case "upsample1d", "upsample2d":
		scales := []float32{1, 1}
		for _, v := range s.Scale {
			scales = append(scales, float32(v))
		}
		sc := g.init(layer+".scales", []int{len(scales)}, scales)
		roi := g.init("const_empty_roi", []int{0}, nil)
		// Nearest with integer scales: output i copies input ⌊i/s⌋.
		return g.node(layer, "Resize", []string{x, roi, sc}, attrString("mode", "nearest"),
			attrString("coordinate_transformation_mode", "asymmetric"), attrString("nearest_mode", "floor"))
	case "batchnorm":
		names := []string{x}
		for _, suffix := range []string{".weight", ".bias", ".running_mean", ".running_var"} {
			p := g.bufferOrParam(layer + suffix)
			if p == nil {
				return ""
			}
			names = append(names, g.init(p.Name, p.Value.Shape, p.Value.Data))
		}
		eps := s.Eps
		if eps == 0 {
			eps = 1e-5
		}
		return g.node(layer, "BatchNormalization", names, attrFloat("epsilon", eps))
	case "dropout":
		return x // inference: the identity
	case "flatten":
		return g.node(layer, "Flatten", []string{x}, attrInt("axis", 1))
	case "unflatten":
		return g.node(layer, "Reshape", []string{x, g.initInt64(layer+".shape", append([]int64{-1}, ints64(s.Shape)...)...)})
	case "condition":
		return g.node(layer, "Concat", []string{x, ConditionName}, attrInt("axis", 1))
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

// head adds a variational head, "mu" or "logvar": a dense layer on h.
func (g *layerGraph) head(name, h string) string {
	return g.layer(name, trainer.LayerSpec{Type: "dense"}, h)
}

// finish names the graph's output: the node producing x now writes name. If
// x is not produced by a node (an empty stack, or one of identities only),
// an Identity node copies it.
func (g *layerGraph) finish(x, name string) {
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
