package trainer

import (
	"fmt"
	"strings"

	"github.com/aebridge/aebridge/graph"
)

// The graph's tensor names, which export writes and convert reads: the
// input, the condition of a conditional model, the code (μ and log σ² for
// a variational model) and the reconstruction.
const (
	GraphInput     = "x"
	GraphCondition = "c"
	GraphCode      = "z"
	GraphMu        = "mu"
	GraphLogVar    = "logvar"
	GraphOutput    = "x_hat"
)

// Graph returns the model as a graph of ONNX operators: each layer's nodes
// in order, under the layer's name ("encoder.0"), with the model's own
// weight tensors as parameters (shared, not copied: training the model
// changes the graph's weights), under their state-dict names. The input is
// "x" (and "c" for a conditional model), the output "x_hat"; the code is
// the tensor "z", marked graph.MarkCode, or for a variational model "mu"
// and "logvar", marked graph.MarkMu and graph.MarkLogVar, the decoder
// reading μ (the deterministic reconstruction). An encoder model's output
// is its code; a decoder model's input is its code "z". A graph model
// (FromGraph) returns its own graph.
//
// Dense layers are Gemm nodes (transB 1, or 0 for a tied layer, whose
// weight is the encoder layer's), GELU is ONNX's Gelu and SiLU x·σ(x);
// dropout is a Dropout node (active only in training), batch
// normalisation BatchNormalization with ONNX's momentum (1 − PyTorch's),
// upsampling Resize (nearest, asymmetric, floor), and unflattening a
// Reshape to (batch, shape…).
func (m *Model) Graph() (*graph.Graph, error) {
	if m.isGraph() {
		return m.g, nil // a graph model is its graph
	}
	c := m.Config
	b := &graphBuilder{m: m, g: &graph.Graph{Params: map[string]*graph.Tensor{}, Marks: map[string]string{}}, indices: map[string]string{}, inShape: map[string][]int{}}
	in, shape := GraphInput, c.Input
	if c.Part == "decoder" {
		in, shape = GraphCode, m.codeShape
	}
	b.g.Inputs = []graph.Value{{Name: in, Shape: append([]int{-1}, shape...)}}
	if c.Condition > 0 {
		b.g.Inputs = append(b.g.Inputs, graph.Value{Name: GraphCondition, Shape: []int{-1, c.Condition}})
	}
	x := in
	if c.Part != "decoder" {
		b.encoder = []string{x}
		x, shape = b.stack("encoder", c.Encoder, m.Encoder, x, shape)
		if v := c.Variational; v != nil {
			h := b.flat("heads", x, shape)
			b.dense("mu", h, GraphMu, "mu", "")
			b.dense("logvar", h, GraphLogVar, "logvar", "")
			b.g.Marks[graph.MarkMu], b.g.Marks[graph.MarkLogVar] = GraphMu, GraphLogVar
			x, shape = GraphMu, []int{v.Latent}
		} else {
			old := x
			x = b.rename(x, GraphCode)
			for i, t := range b.encoder {
				if t == old {
					b.encoder[i] = x
				}
			}
			b.g.Marks[graph.MarkCode] = GraphCode
		}
	} else {
		b.g.Marks[graph.MarkCode] = GraphCode
	}
	if c.Part == "encoder" {
		b.g.Outputs = []string{x}
		if c.Variational != nil {
			b.g.Outputs = []string{GraphMu, GraphLogVar}
		}
		return b.g, b.err
	}
	x, _ = b.stack("decoder", c.Decoder, m.Decoder, x, shape)
	b.g.Outputs = []string{b.rename(x, GraphOutput)}
	m.encoderTensors = b.encoder
	return b.g, b.err
}

// graphBuilder builds Model.Graph; it keeps the first error and does
// nothing after it.
type graphBuilder struct {
	m       *Model
	g       *graph.Graph
	indices map[string]string // max-pooling layer → the tensor of its indices
	// encoder is the tensor entering the encoder, then each encoder
	// layer's output (an identity layer's is its input).
	encoder []string
	inShape map[string][]int // layer → its per-sample input shape
	err     error
}

// node adds a node named name computing out from the inputs, and returns
// out.
func (b *graphBuilder) node(name, op string, inputs []string, out string, attrs map[string]graph.Attribute) string {
	b.g.Nodes = append(b.g.Nodes, &graph.Node{Name: name, Op: op, Inputs: inputs, Outputs: []string{out}, Attrs: attrs})
	return out
}

// param adds the model's tensor name (a parameter or buffer) to the
// graph's parameters and returns name.
func (b *graphBuilder) param(name string) string {
	if b.err != nil {
		return name
	}
	p := b.m.param(name)
	if p == nil {
		b.err = fmt.Errorf("trainer: graph: the model has no tensor %q", name)
		return name
	}
	b.g.Params[name] = p.Value
	return name
}

// constant adds a parameter that is not the model's: the int64 shapes and
// float scales of Reshape and Resize.
func (b *graphBuilder) constant(name string, t *graph.Tensor) string {
	b.g.Params[name] = t
	return name
}

// rename makes the node writing x write name instead (or adds an Identity
// node where no node writes x: an empty stack), and returns name.
func (b *graphBuilder) rename(x, name string) string {
	for i := len(b.g.Nodes) - 1; i >= 0; i-- {
		if n := b.g.Nodes[i]; n.Outputs[0] == x && !b.used(x, i) {
			n.Outputs[0] = name
			return name
		}
	}
	return b.node(name, "Identity", []string{x}, name, nil)
}

// used reports whether a node other than node i reads x.
func (b *graphBuilder) used(x string, i int) bool {
	for j, n := range b.g.Nodes {
		if j != i && (contains(n.Inputs, x)) {
			return true
		}
	}
	return false
}

func contains(s []string, v string) bool {
	for _, e := range s {
		if e == v {
			return true
		}
	}
	return false
}

// flat returns x as (batch, features): x itself, or a Flatten of it where
// its per-sample shape has more than one dimension.
func (b *graphBuilder) flat(layer, x string, shape []int) string {
	if len(shape) <= 1 {
		return x
	}
	return b.node(layer+"/flatten", "Flatten", []string{x}, layer+"/flatten", map[string]graph.Attribute{"axis": graph.Int(1)})
}

// dense adds a Gemm node for a dense layer: y = x·Wᵀ + b, or x·W + b for
// a layer tied to the encoder layer tiedTo.
func (b *graphBuilder) dense(layer, x, out, owner, tiedTo string) string {
	w, trans := owner+".weight", int64(1)
	if tiedTo != "" {
		w, trans = tiedTo+".weight", 0
	}
	return b.node(layer, "Gemm", []string{x, b.param(w), b.param(layer + ".bias")}, out, map[string]graph.Attribute{"transB": graph.Int(trans)})
}

// stack adds the layers of one stack after x, of per-sample shape shape,
// and returns the last tensor and its per-sample shape.
func (b *graphBuilder) stack(stack string, specs []LayerSpec, layers []Layer, x string, shape []int) (string, []int) {
	for i, s := range specs {
		layer := fmt.Sprintf("%s.%d", stack, i)
		b.inShape[layer] = shape
		x = b.layer(layer, s, x, shape)
		shape = layers[i].OutShape(shape)
		if stack == "encoder" {
			b.encoder = append(b.encoder, x)
		}
	}
	return x, shape
}

func ints(v []int) []int64 {
	out := make([]int64, len(v))
	for i, d := range v {
		out[i] = int64(d)
	}
	return out
}

func filled(n int, v int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// window is the attributes of a convolution or pooling layer.
func window(s LayerSpec, withDilation bool) map[string]graph.Attribute {
	dims := len(s.Kernel)
	a := map[string]graph.Attribute{"kernel_shape": graph.Ints(ints(s.Kernel)...), "strides": graph.Ints(filled(dims, 1)...), "pads": graph.Ints(filled(2*dims, 0)...)}
	if len(s.Stride) > 0 {
		a["strides"] = graph.Ints(ints(s.Stride)...)
	}
	if len(s.Padding) > 0 {
		a["pads"] = graph.Ints(ints(s.Padding)...)
	}
	if withDilation {
		a["dilations"] = graph.Ints(filled(dims, 1)...)
		if len(s.Dilation) > 0 {
			a["dilations"] = graph.Ints(ints(s.Dilation)...)
		}
	}
	return a
}

// layer adds the nodes of one layer after x and returns its output.
func (b *graphBuilder) layer(layer string, s LayerSpec, x string, shape []int) string {
	if b.err != nil {
		return x
	}
	one := func(op string, attrs map[string]graph.Attribute) string {
		return b.node(layer, op, []string{x}, layer, attrs)
	}
	switch s.Type {
	case "dense":
		return b.dense(layer, b.flat(layer, x, shape), layer, layer, s.TiedTo)
	case "identity":
		return x
	case "relu", "sigmoid", "tanh", "softplus":
		return one(map[string]string{"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus"}[s.Type], nil)
	case "leaky_relu", "elu":
		op := map[string]string{"leaky_relu": "LeakyRelu", "elu": "Elu"}[s.Type]
		return one(op, map[string]graph.Attribute{"alpha": graph.Float(float32(s.Alpha))})
	case "gelu":
		approx := s.Approximate
		if approx == "" {
			approx = "none"
		}
		return one("Gelu", map[string]graph.Attribute{"approximate": graph.String(approx)})
	case "silu": // x·σ(x), as ONNX has no SiLU
		sig := b.node(layer+"/sigmoid", "Sigmoid", []string{x}, layer+"/sigmoid", nil)
		return b.node(layer, "Mul", []string{x, sig}, layer, nil)
	case "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d":
		attrs := window(s, true)
		groups := max(s.Groups, 1)
		attrs["group"] = graph.Int(int64(groups))
		op := "Conv"
		if strings.HasPrefix(s.Type, "conv_transpose") {
			op = "ConvTranspose"
			attrs["output_padding"] = graph.Ints(filled(len(s.Kernel), 0)...)
			if len(s.OutputPadding) > 0 {
				attrs["output_padding"] = graph.Ints(ints(s.OutputPadding)...)
			}
		}
		return b.node(layer, op, []string{x, b.param(layer + ".weight"), b.param(layer + ".bias")}, layer, attrs)
	case "maxpool1d", "maxpool2d":
		n := &graph.Node{Name: layer, Op: "MaxPool", Inputs: []string{x}, Outputs: []string{layer}, Attrs: window(s, false)}
		if b.unpooled(layer) {
			b.indices[layer] = layer + "/indices"
			n.Outputs = append(n.Outputs, b.indices[layer])
		}
		b.g.Nodes = append(b.g.Nodes, n)
		return layer
	case "maxunpool1d", "maxunpool2d":
		idx, ok := b.indices[s.Of]
		pool := b.poolSpec(s.Of)
		if !ok || pool == nil {
			b.err = fmt.Errorf("trainer: graph: layer %s (%s): no indices from %s", layer, s.Type, s.Of)
			return x
		}
		// output_shape = (batch of the indices, the pooling input's shape).
		outShape := b.node(layer+"/output_shape", "Concat", []string{
			b.node(layer+"/batch", "Shape", []string{idx}, layer+"/batch", map[string]graph.Attribute{"end": graph.Int(1)}),
			b.constant(layer+".output_shape", graph.NewInt64Tensor(ints(b.inShape[s.Of]), len(b.inShape[s.Of]))),
		}, layer+"/output_shape", map[string]graph.Attribute{"axis": graph.Int(0)})
		return b.node(layer, "MaxUnpool", []string{x, idx, outShape}, layer, window(*pool, false))
	case "avgpool1d", "avgpool2d":
		attrs := window(s, false)
		cip := int64(0)
		if s.CountIncludePad {
			cip = 1
		}
		attrs["count_include_pad"] = graph.Int(cip)
		return one("AveragePool", attrs)
	case "upsample1d", "upsample2d":
		scales := []float32{1, 1}
		for _, v := range s.Scale {
			scales = append(scales, float32(v))
		}
		sc := b.constant(layer+".scales", &graph.Tensor{Shape: []int{len(scales)}, Data: scales})
		return b.node(layer, "Resize", []string{x, "", sc}, layer, map[string]graph.Attribute{
			"mode": graph.String("nearest"), "coordinate_transformation_mode": graph.String("asymmetric"), "nearest_mode": graph.String("floor")})
	case "batchnorm":
		eps, momentum := s.Eps, s.Momentum
		if eps == 0 {
			eps = 1e-5
		}
		if momentum == 0 {
			momentum = 0.1
		}
		in := []string{x}
		for _, suffix := range []string{".weight", ".bias", ".running_mean", ".running_var"} {
			in = append(in, b.param(layer+suffix))
		}
		return b.node(layer, "BatchNormalization", in, layer, map[string]graph.Attribute{"epsilon": graph.Float(float32(eps)), "momentum": graph.Float(float32(1 - momentum))})
	case "dropout":
		ratio := b.constant(layer+".ratio", &graph.Tensor{Shape: []int{}, Data: []float32{float32(s.P)}})
		return b.node(layer, "Dropout", []string{x, ratio}, layer, nil)
	case "flatten":
		return one("Flatten", map[string]graph.Attribute{"axis": graph.Int(1)})
	case "unflatten":
		sh := append([]int64{-1}, ints(s.Shape)...)
		return b.node(layer, "Reshape", []string{x, b.constant(layer+".shape", graph.NewInt64Tensor(sh, len(sh)))}, layer, nil)
	case "condition":
		return b.node(layer, "Concat", []string{b.flat(layer, x, shape), GraphCondition}, layer, map[string]graph.Attribute{"axis": graph.Int(1)})
	}
	b.err = fmt.Errorf("trainer: graph: layer %s: type %q has no graph form", layer, s.Type)
	return x
}

// unpooled reports whether a decoder layer unpools with the named layer's
// indices.
func (b *graphBuilder) unpooled(layer string) bool {
	for _, s := range b.m.Config.Decoder {
		if strings.HasPrefix(s.Type, "maxunpool") && s.Of == layer {
			return true
		}
	}
	return false
}

// poolSpec returns the spec of the named encoder layer, or nil.
func (b *graphBuilder) poolSpec(name string) *LayerSpec {
	var i int
	if _, err := fmt.Sscanf(name, "encoder.%d", &i); err != nil || i < 0 || i >= len(b.m.Config.Encoder) {
		return nil
	}
	return &b.m.Config.Encoder[i]
}
