package convert

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/aebridge/aebridge/internal/limits"
	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/trainer"
)

// Model is an imported graph: the trainer model, and the graph's input and
// output names in the order the model takes and gives them (x, then the
// condition c; x̂ — or μ and log σ² for a variational encoder).
type Model struct {
	*trainer.Model
	Inputs  []string
	Outputs []string
	File    string
}

// Options tune ReadFile and Decode, ReadGraph and DecodeGraph.
type Options struct {
	// Code names the tensor at which a full autoencoder graph is split into
	// encoder and decoder; "" picks the narrowest layer output. ReadGraph
	// and DecodeGraph mark it as the graph's code (graph.MarkCode).
	Code string
}

// ReadFile reads the ONNX file at path, with the external data its tensors
// reference from files beside it, into a trainer model.
func ReadFile(path string, opts Options) (*Model, error) {
	mp, err := onnxfile.Load(path)
	if err != nil {
		return nil, err
	}
	return fromProto(mp, path, opts)
}

// Decode reads a serialized ONNX model from r into a trainer model; name is
// used in errors. Its tensors must be inline: a model with external data
// needs ReadFile, which finds the side files beside the model.
func Decode(r io.Reader, name string, opts Options) (*Model, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("convert: %s: %w", name, err)
	}
	mp, err := onnxfile.Decode(data, name)
	if err != nil {
		return nil, err
	}
	var external string
	onnxfile.Tensors(mp, func(t *onnxpb.TensorProto) {
		if external == "" && t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
			external = t.GetName()
		}
	})
	if external != "" {
		return nil, &FormatError{File: name, Tensor: external, Reason: "data is in an external file; read the model with ReadFile"}
	}
	return fromProto(mp, name, opts)
}

// fromProto turns a loaded ModelProto into a trainer model; name is used in
// errors.
func fromProto(mp *onnxpb.ModelProto, name string, opts Options) (*Model, error) {
	if mp.Graph == nil {
		return nil, &FormatError{File: name, Reason: "model has no graph"}
	}
	if n := len(mp.Graph.Node); n > limits.MaxNodes {
		return nil, &FormatError{File: name, Field: "graph", Reason: fmt.Sprintf("%d nodes %v of %d nodes", n, limits.ErrTooLarge, limits.MaxNodes), Err: limits.ErrTooLarge}
	}
	if m, ok, err := fromMetadata(mp, name); ok || err != nil {
		return m, err
	}
	im := newImporter(mp, name)
	if err := im.walk(); err != nil {
		return nil, err
	}
	return im.build(opts)
}

// layer is an imported layer before naming: its spec and its tensors by
// role ("weight", "bias", "running_mean", …).
type layer struct {
	spec    trainer.LayerSpec
	tensors map[string]*konst
	out     string // the graph tensor holding its output
	tied    bool   // it uses the weight of layer tiedTo, transposed
	tiedTo  int
	poolOf  int   // max-unpooling: index of its pooling layer
	shape   []int // per-sample output shape
}

type importer struct {
	file     string
	mp       *onnxpb.ModelProto
	g        *onnxpb.GraphProto
	consts   map[string]*konst
	shapes   map[string][]dim // shape-valued tensors
	dyn      map[string][]int // runtime tensors: per-sample shape
	producer map[string]int   // runtime tensor → index of the layer that made it (−1: a graph input)
	users    map[string][]int // tensor → indices of the nodes that read it
	done     []bool           // nodes consumed by a pattern
	layers   []layer
	current  string
	input    string          // the graph input the chain starts from
	cond     string          // the conditioning input, if any
	heads    []int           // variational heads (layer indices)
	pad      []int           // zero padding of a Pad node, waiting for the next layer
	padded   string          // the Pad node's output
	broken   map[string]bool // tensors computed from an unsupported node
	bad      []Node
}

// layerOps are the operators the importer turns into layers (or folds into
// them); after an unsupported node they are not listed again.
var layerOps = map[string]bool{"Identity": true, "Dropout": true, "Relu": true, "Tanh": true, "Softplus": true, "LeakyRelu": true,
	"Elu": true, "Gelu": true, "Sigmoid": true, "Gemm": true, "MatMul": true, "Add": true, "Mul": true, "Div": true, "Sub": true,
	"Erf": true, "Conv": true, "ConvTranspose": true, "BatchNormalization": true, "MaxPool": true, "AveragePool": true,
	"MaxUnpool": true, "Resize": true, "Upsample": true, "Flatten": true, "Reshape": true, "Concat": true, "Pad": true,
	"Shape": true, "Gather": true, "Slice": true, "Unsqueeze": true, "Squeeze": true, "Cast": true, "Constant": true, "Transpose": true}

func newImporter(mp *onnxpb.ModelProto, file string) *importer {
	im := &importer{file: file, mp: mp, g: mp.Graph, consts: map[string]*konst{}, shapes: map[string][]dim{},
		dyn: map[string][]int{}, producer: map[string]int{}, users: map[string][]int{}, done: make([]bool, len(mp.Graph.Node)),
		broken: map[string]bool{}}
	for i, n := range im.g.Node {
		for _, in := range n.Input {
			im.users[in] = append(im.users[in], i)
		}
	}
	return im
}

func nodeOf(n *onnxpb.NodeProto) Node {
	return Node{Op: n.GetOpType(), Name: n.GetName(), Inputs: n.Input}
}

func (im *importer) unsupported(n *onnxpb.NodeProto, format string, args ...any) {
	nd := nodeOf(n)
	nd.Reason = fmt.Sprintf(format, args...)
	im.bad = append(im.bad, nd)
	for _, o := range n.Output {
		im.broken[o] = true
	}
}

func attr(n *onnxpb.NodeProto, name string) *onnxpb.AttributeProto {
	for _, a := range n.Attribute {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

// malformed returns a FormatError naming node n, its op and the field at
// fault ("input 1", "attribute strides").
func (im *importer) malformed(n *onnxpb.NodeProto, field, format string, args ...any) error {
	return &FormatError{File: im.file, Node: nodeOf(n), Field: field, Reason: fmt.Sprintf(format, args...)}
}

// arity is how many inputs ONNX requires (the first) and allows (the
// second; −1 for any number) for each operator the importer reads. Every
// node of these operators is checked against it before any pattern
// indexes its inputs.
var arity = map[string][2]int{
	"Identity": {1, 1}, "Dropout": {1, 3}, "Relu": {1, 1}, "Tanh": {1, 1}, "Softplus": {1, 1}, "LeakyRelu": {1, 1},
	"Elu": {1, 1}, "Gelu": {1, 1}, "Sigmoid": {1, 1}, "Erf": {1, 1}, "Gemm": {2, 3}, "MatMul": {2, 2},
	"Add": {2, 2}, "Sub": {2, 2}, "Mul": {2, 2}, "Div": {2, 2}, "Mod": {2, 2},
	"Conv": {2, 3}, "ConvTranspose": {2, 3}, "BatchNormalization": {5, 5}, "MaxPool": {1, 1}, "AveragePool": {1, 1},
	"MaxUnpool": {2, 3}, "Resize": {1, 4}, "Upsample": {1, 2}, "Flatten": {1, 1}, "Reshape": {2, 2}, "Concat": {1, -1},
	"Pad": {1, 4}, "Shape": {1, 1}, "Gather": {2, 2}, "Slice": {1, 5}, "Unsqueeze": {1, 2}, "Squeeze": {1, 2},
	"Cast": {1, 1}, "Constant": {0, 0}, "Transpose": {1, 1},
}

// checkNode checks what the patterns then index without looking: that the
// node has a first output, and that the inputs its operator requires are
// there and named.
func (im *importer) checkNode(n *onnxpb.NodeProto) error {
	if len(n.Output) == 0 || n.Output[0] == "" {
		return im.malformed(n, "output 0", "missing: the node has no first output")
	}
	if d := n.GetDomain(); d != "" && d != "ai.onnx" {
		return nil
	}
	a, ok := arity[n.GetOpType()]
	if !ok {
		return nil
	}
	if len(n.Input) < a[0] {
		return im.malformed(n, fmt.Sprintf("input %d", len(n.Input)), "missing: %s takes at least %d inputs, the node has %d", n.GetOpType(), a[0], len(n.Input))
	}
	if a[1] >= 0 && len(n.Input) > a[1] {
		return im.malformed(n, fmt.Sprintf("input %d", a[1]), "%s takes at most %d inputs, the node has %d", n.GetOpType(), a[1], len(n.Input))
	}
	for k := 0; k < a[0]; k++ {
		if n.Input[k] == "" {
			return im.malformed(n, fmt.Sprintf("input %d", k), "required, but its name is empty")
		}
	}
	if n.GetOpType() == "Slice" {
		// Opsets before 10 give starts and ends as attributes, later
		// ones as inputs 1 and 2.
		switch {
		case attr(n, "starts") != nil && attr(n, "ends") == nil:
			return im.malformed(n, "attribute ends", "missing (starts is given)")
		case attr(n, "starts") == nil && (len(n.Input) < 3 || n.Input[1] == "" || n.Input[2] == ""):
			return im.malformed(n, fmt.Sprintf("input %d", min(len(n.Input), 2)), "missing: Slice needs starts and ends")
		}
	}
	return nil
}

// attrInts reads the ints attribute name of n, or def when n has none. It
// returns a FormatError if the attribute does not hold want values (want <
// 0: any number) or holds a value past ±limits.MaxTensorElements.
func (im *importer) attrInts(n *onnxpb.NodeProto, name string, def []int, want int) ([]int, error) {
	a := attr(n, name)
	if a == nil {
		return def, nil
	}
	if want >= 0 && len(a.Ints) != want {
		return nil, im.malformed(n, "attribute "+name, "%v has %d values, want %d", a.Ints, len(a.Ints), want)
	}
	out := make([]int, len(a.Ints))
	for i, v := range a.Ints {
		if v > limits.MaxTensorElements || v < -limits.MaxTensorElements {
			return nil, im.malformed(n, "attribute "+name, "value %d out of range", v)
		}
		out[i] = int(v)
	}
	return out, nil
}

func attrInt(n *onnxpb.NodeProto, name string, def int64) int64 {
	if a := attr(n, name); a != nil {
		return a.GetI()
	}
	return def
}

func attrFloat(n *onnxpb.NodeProto, name string, def float64) float64 {
	if a := attr(n, name); a != nil {
		return float64(a.GetF())
	}
	return def
}

func attrString(n *onnxpb.NodeProto, name, def string) string {
	if a := attr(n, name); a != nil {
		return string(a.GetS())
	}
	return def
}

// walk classifies every value: constants (folded), shape values, and the
// chain of runtime tensors the layers form.
func (im *importer) walk() error {
	inits := map[string]bool{}
	for _, t := range im.g.Initializer {
		k, err := konstOf(t)
		if err != nil {
			return &FormatError{File: im.file, Field: "initializer", Tensor: t.GetName(), Reason: err.Error(), Err: err}
		}
		k.origin = t.GetName()
		im.consts[t.GetName()] = k
		inits[t.GetName()] = true
	}
	var inputs []*onnxpb.ValueInfoProto
	for _, vi := range im.g.Input {
		if !inits[vi.GetName()] {
			inputs = append(inputs, vi)
		}
	}
	if len(inputs) == 0 || len(inputs) > 2 {
		return &UnsupportedError{File: im.file, Nodes: []Node{{Op: "graph", Name: im.g.GetName(), Reason: fmt.Sprintf("%d inputs (want x, and perhaps a condition)", len(inputs))}}}
	}
	for _, vi := range inputs {
		tt := vi.GetType().GetTensorType()
		if tt == nil || tt.Shape == nil || len(tt.Shape.Dim) < 2 {
			return &UnsupportedError{File: im.file, Nodes: []Node{{Op: "graph input", Name: vi.GetName(), Reason: "needs a (batch, …) tensor shape"}}}
		}
		var ps []int
		for _, d := range tt.Shape.Dim[1:] {
			v := d.GetDimValue()
			if v <= 0 {
				return &UnsupportedError{File: im.file, Nodes: []Node{{Op: "graph input", Name: vi.GetName(), Reason: "dimensions after the batch must be fixed"}}}
			}
			ps = append(ps, int(v))
		}
		if _, err := limits.ElementsInt(ps); err != nil {
			return &UnsupportedError{File: im.file, Nodes: []Node{{Op: "graph input", Name: vi.GetName(), Reason: "per-sample shape: " + err.Error()}}}
		}
		im.dyn[vi.GetName()] = ps
		im.producer[vi.GetName()] = -1
	}
	im.input = inputs[0].GetName()
	if len(inputs) == 2 {
		// The condition is the input concatenated to the features.
		for _, vi := range inputs {
			for _, u := range im.users[vi.GetName()] {
				if im.g.Node[u].GetOpType() == "Concat" && len(im.dyn[vi.GetName()]) == 1 && slices.Index(im.g.Node[u].Input, vi.GetName()) > 0 {
					im.cond = vi.GetName()
				}
			}
		}
		if im.cond == "" {
			return &UnsupportedError{File: im.file, Nodes: []Node{{Op: "graph", Name: im.g.GetName(), Reason: "two inputs, but neither is concatenated to the other's features as a condition"}}}
		}
		if im.cond == im.input {
			im.input = inputs[1].GetName()
		}
	}
	im.current = im.input
	for _, n := range im.g.Node {
		if err := im.checkNode(n); err != nil {
			return err
		}
	}
	// Constant nodes first: patterns look ahead at constants that the
	// exporter may place after their first use.
	for i, n := range im.g.Node {
		if n.GetOpType() == "Constant" && len(n.Input) == 0 {
			if err := im.fold(n); err != nil {
				return err
			}
			im.done[i] = true
		}
	}
	for i, n := range im.g.Node {
		if im.done[i] {
			continue
		}
		if err := im.node(i, n); err != nil {
			return err
		}
	}
	if len(im.bad) > 0 {
		return &UnsupportedError{File: im.file, Nodes: im.bad}
	}
	return nil
}

// isDyn reports whether name is a runtime tensor.
func (im *importer) isDyn(name string) bool {
	_, ok := im.dyn[name]
	return ok
}

func (im *importer) node(i int, n *onnxpb.NodeProto) error {
	op := n.GetOpType()
	if d := n.GetDomain(); d != "" && d != "ai.onnx" {
		im.unsupported(n, "custom domain %q", d)
		return nil
	}
	for _, in := range n.Input {
		if im.broken[in] {
			// Downstream of an unsupported node: list it only if it would
			// not be supported anyway.
			if layerOps[op] {
				for _, o := range n.Output {
					im.broken[o] = true
				}
			} else {
				im.unsupported(n, "no trainer layer for this operator")
			}
			return nil
		}
	}
	var dynIn []string
	for _, in := range n.Input {
		if in != "" && im.isDyn(in) {
			dynIn = append(dynIn, in)
		}
	}
	if len(dynIn) == 0 {
		return im.fold(n)
	}
	if op == "Shape" {
		s := []dim{{batch: true}}
		for _, d := range im.dyn[n.Input[0]] {
			s = append(s, dim{v: int64(d)})
		}
		im.shapes[n.Output[0]] = s
		return nil
	}
	if im.pad != nil && dynIn[0] == im.padded {
		dynIn[0] = im.current
	}
	// A layer: it must continue the chain, or be the second variational head.
	if dynIn[0] != im.current && !(op == "Concat" && len(dynIn) == 2) {
		if (op == "Gemm" || op == "MatMul") && len(im.layers) > 0 && im.isHeadInput(dynIn[0]) {
			return im.secondHead(i, n)
		}
		im.unsupported(n, "branches off the chain at %q (the chain is at %q)", dynIn[0], im.current)
		return nil
	}
	return im.layerOp(i, n, dynIn)
}

// isHeadInput reports whether t fed the last dense layer: two dense layers
// on one tensor are a VAE's μ and log σ² heads.
func (im *importer) isHeadInput(t string) bool {
	last := im.layers[len(im.layers)-1]
	if last.spec.Type != "dense" || len(im.heads) > 0 {
		return false
	}
	prev := im.input
	if len(im.layers) > 1 {
		prev = im.layers[len(im.layers)-2].out
	}
	return prev == t
}

// emit appends a layer, made from node n, whose output is the tensor out.
// It reports n as unsupported and returns false when the trainer cannot
// build the layer on the chain's shape, or its output is past
// limits.MaxTensorElements.
func (im *importer) emit(n *onnxpb.NodeProto, l layer, out string) bool {
	l.out = out
	in := im.dyn[im.current]
	shape, err := im.outShape(l.spec, in)
	if err != nil {
		im.unsupported(n, "no trainer layer for it on per-sample shape %v: %v", in, err)
		return false
	}
	if _, err := limits.ElementsInt(shape); err != nil {
		im.unsupported(n, "per-sample output: %v", err)
		return false
	}
	l.shape = shape
	im.layers = append(im.layers, l)
	im.dyn[out] = l.shape
	im.producer[out] = len(im.layers) - 1
	im.current = out
	return true
}

// pass makes out an alias of the chain's tensor (Identity, Dropout).
func (im *importer) pass(out string) {
	im.dyn[out] = im.dyn[im.current]
	im.producer[out] = im.producer[im.current]
	// Later nodes read out: make it the chain's tensor, and let the layer
	// that produced the old one (if any) answer for it.
	if p := im.producer[im.current]; p >= 0 {
		im.layers[p].out = out
	} else {
		im.input = out
	}
	im.current = out
}

// outShape computes a layer's per-sample output shape with the trainer's
// own rules.
func (im *importer) outShape(s trainer.LayerSpec, in []int) ([]int, error) {
	switch s.Type { // layers without parameters: checked here rather than built
	case "condition":
		if len(in) != 1 || s.In <= 0 {
			return nil, fmt.Errorf("a condition of %d features needs flat features", s.In)
		}
		return []int{in[0] + s.In}, nil
	case "flatten":
		return []int{product(in)}, nil
	case "unflatten":
		if n, err := limits.ElementsInt(s.Shape); err != nil || n != product(in) || len(s.Shape) == 0 || slices.Min(s.Shape) <= 0 {
			return nil, fmt.Errorf("unflatten to %v does not hold the features of %v", s.Shape, in)
		}
		return s.Shape, nil
	}
	c, err := trainer.Build(trainer.Config{Variant: "probe", Input: in, Encoder: []trainer.LayerSpec{s}, Loss: trainer.MSE, Part: "encoder"})
	if err != nil {
		return nil, err
	}
	return c.OutputShape(), nil
}

func product(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// only reports whether node j's output is read by node k alone.
func (im *importer) only(j, k int) bool {
	users := im.users[im.g.Node[j].Output[0]]
	return len(users) == 1 && users[0] == k
}

// next returns the single node reading node i's output, if there is one.
func (im *importer) next(i int) (int, *onnxpb.NodeProto) {
	users := im.users[im.g.Node[i].Output[0]]
	if len(users) != 1 || im.done[users[0]] {
		return -1, nil
	}
	return users[0], im.g.Node[users[0]]
}

// other returns the input of a two-input node that is not x.
func other(n *onnxpb.NodeProto, x string) string {
	if len(n.Input) != 2 {
		return ""
	}
	if n.Input[0] == x {
		return n.Input[1]
	}
	if n.Input[1] == x {
		return n.Input[0]
	}
	return ""
}

func (im *importer) constIn(n *onnxpb.NodeProto, k int) *konst {
	if k >= len(n.Input) || n.Input[k] == "" {
		return nil
	}
	return im.consts[n.Input[k]]
}

// dense appends a dense layer, made from node n, with weight w (out, in)
// and bias b (nil for zero), recognising a weight tied to an earlier
// layer's.
func (im *importer) dense(n *onnxpb.NodeProto, w *konst, b *konst, out string) error {
	l := layer{spec: trainer.LayerSpec{Type: "dense", In: w.dims[1], Out: w.dims[0]}, tensors: map[string]*konst{"weight": w}}
	for j, prev := range im.layers {
		pw := prev.tensors["weight"]
		if prev.spec.Type == "dense" && !prev.tied && pw != nil && pw.origin != "" && pw.origin == w.origin && pw.transposed != w.transposed {
			l.tied, l.tiedTo = true, j
			l.tensors = map[string]*konst{}
		}
	}
	if b == nil {
		b = &konst{dims: []int{w.dims[0]}, f: make([]float32, w.dims[0])}
	}
	if b.size() != w.dims[0] || b.isInt {
		return im.malformed(n, "input 2", "bias %v does not fit weight (out, in) %v", b.dims, w.dims)
	}
	l.tensors["bias"] = &konst{dims: []int{w.dims[0]}, f: b.f}
	im.emit(n, l, out)
	return nil
}

func (im *importer) layerOp(i int, n *onnxpb.NodeProto, dynIn []string) error {
	op := n.GetOpType()
	out := n.Output[0]
	x := im.current
	act := func(kind string, alpha float64) bool {
		return im.emit(n, layer{spec: trainer.LayerSpec{Type: kind, Alpha: alpha}}, out)
	}
	switch op {
	case "Pad":
		return im.padOp(i, n)
	case "Identity", "Dropout":
		if len(n.Output) > 1 && n.Output[1] != "" && len(im.users[n.Output[1]]) > 0 {
			im.unsupported(n, "the dropout mask is used")
			return nil
		}
		im.pass(out)
	case "Relu":
		act("relu", 0)
	case "Tanh":
		act("tanh", 0)
	case "Softplus":
		act("softplus", 0)
	case "LeakyRelu":
		act("leaky_relu", attrFloat(n, "alpha", 0.01))
	case "Elu":
		act("elu", attrFloat(n, "alpha", 1))
	case "Gelu":
		approx := attrString(n, "approximate", "none")
		im.emit(n, layer{spec: trainer.LayerSpec{Type: "gelu", Approximate: approx}}, out)
	case "Sigmoid":
		// SiLU: x·σ(x).
		if j, m := im.next(i); m != nil && m.GetOpType() == "Mul" && other(m, out) == x {
			im.done[j] = true
			if !act("silu", 0) {
				return nil
			}
			im.current, im.dyn[m.Output[0]] = m.Output[0], im.dyn[out]
			im.layers[len(im.layers)-1].out = m.Output[0]
			im.producer[m.Output[0]] = len(im.layers) - 1
			return nil
		}
		act("sigmoid", 0)
	case "Div", "Mul", "Add", "Sub":
		if op == "Div" || op == "Mul" {
			if ok := im.gelu(i, n); ok {
				return nil
			}
		}
		im.unsupported(n, "arithmetic on the features outside a known pattern")
	case "Gemm":
		w, c := im.constIn(n, 1), im.constIn(n, 2)
		if w == nil || len(w.dims) != 2 || w.size() == 0 {
			im.unsupported(n, "needs a constant 2-D weight")
			return nil
		}
		if attrInt(n, "transA", 0) != 0 || attrFloat(n, "alpha", 1) != 1 || attrFloat(n, "beta", 1) != 1 {
			im.unsupported(n, "transA, alpha or beta other than PyTorch's")
			return nil
		}
		if attrInt(n, "transB", 0) == 0 {
			w = transpose2(w) // stored (in, out)
		}
		if len(n.Input) > 2 && n.Input[2] != "" && c == nil {
			im.unsupported(n, "needs a constant bias")
			return nil
		}
		if w.dims[1] != product(im.dyn[x]) {
			return im.malformed(n, "input 1", "weight %v does not take %d features", w.dims, product(im.dyn[x]))
		}
		return im.dense(n, w, c, out)
	case "MatMul":
		w := im.constIn(n, 1)
		if w == nil || len(w.dims) != 2 || n.Input[0] != x || w.size() == 0 {
			im.unsupported(n, "needs x times a constant 2-D weight")
			return nil
		}
		wt := transpose2(w) // (out, in)
		var b *konst
		if j, add := im.next(i); add != nil && add.GetOpType() == "Add" {
			if k := im.consts[other(add, out)]; k != nil && k.size() == wt.dims[0] {
				b = k
				im.done[j] = true
				out = add.Output[0]
			}
		}
		return im.dense(n, wt, b, out)
	case "Conv", "ConvTranspose":
		return im.conv(n, op)
	case "BatchNormalization":
		if attrInt(n, "training_mode", 0) != 0 || len(n.Output) > 1 && n.Output[1] != "" {
			im.unsupported(n, "training mode")
			return nil
		}
		var t [4]*konst
		for k := range t {
			if t[k] = im.constIn(n, k+1); t[k] == nil {
				im.unsupported(n, "needs constant scale, bias, mean and variance")
				return nil
			}
		}
		c := t[0].size()
		if in := im.dyn[x]; len(in) == 0 || in[0] != c {
			return im.malformed(n, "input 1", "scale of %d values for per-sample shape %v", c, in)
		}
		for k := 1; k < 4; k++ {
			if t[k].size() != c {
				return im.malformed(n, fmt.Sprintf("input %d", k+1), "%d values, want %d (the channels)", t[k].size(), c)
			}
		}
		im.emit(n, layer{spec: trainer.LayerSpec{Type: "batchnorm", In: c, Momentum: 0.1, Eps: attrFloat(n, "epsilon", 1e-5)},
			tensors: map[string]*konst{"weight": t[0], "bias": t[1], "running_mean": t[2], "running_var": t[3], "num_batches_tracked": {dims: []int{}, f: []float32{0}}}}, out)
	case "MaxPool", "AveragePool":
		return im.pool(n, op)
	case "MaxUnpool":
		pool, ok := im.producer[n.Input[1]]
		if !ok || pool < 0 || pool >= len(im.layers) || !strings.HasPrefix(im.layers[pool].spec.Type, "maxpool") {
			im.unsupported(n, "indices that do not come from a MaxPool of the chain")
			return nil
		}
		l := layer{spec: trainer.LayerSpec{Type: strings.Replace(im.layers[pool].spec.Type, "maxpool", "maxunpool", 1)}, poolOf: pool}
		l.out = out
		var in []int
		if pool == 0 {
			in = im.dyn[im.input]
		} else {
			in = im.layers[pool-1].shape
		}
		if !slices.Equal(im.dyn[x], im.layers[pool].shape) {
			im.unsupported(n, "input of per-sample shape %v, but the MaxPool's output is %v", im.dyn[x], im.layers[pool].shape)
			return nil
		}
		l.shape = in
		im.layers = append(im.layers, l)
		im.dyn[out], im.producer[out], im.current = in, len(im.layers)-1, out
	case "Resize", "Upsample":
		return im.resize(n, op)
	case "Flatten":
		if attrInt(n, "axis", 1) != 1 {
			im.unsupported(n, "axis other than 1")
			return nil
		}
		if len(im.dyn[x]) == 1 {
			im.pass(out)
			return nil
		}
		im.emit(n, layer{spec: trainer.LayerSpec{Type: "flatten"}}, out)
	case "Reshape":
		return im.reshape(n)
	case "Concat":
		if axis, r := attrInt(n, "axis", 1), int64(len(im.dyn[x])+1); axis < -r || axis >= r {
			return im.malformed(n, "attribute axis", "%d is out of range for rank %d", axis, r)
		}
		if len(dynIn) != 2 || n.Input[0] != x || n.Input[1] != im.cond || attrInt(n, "axis", 1) != 1 && attrInt(n, "axis", 1) != -1 {
			im.unsupported(n, "a concatenation other than [features, condition]")
			return nil
		}
		cond := im.dyn[im.cond]
		if len(cond) != 1 {
			im.unsupported(n, "a condition of per-sample shape %v (want flat features)", cond)
			return nil
		}
		im.emit(n, layer{spec: trainer.LayerSpec{Type: "condition", In: cond[0]}}, out)
	default:
		im.unsupported(n, "no trainer layer for this operator")
	}
	return nil
}

// padOp takes a constant zero Pad of the spatial axes: a no-op if it pads
// nothing, else padding for the convolution or average pooling after it.
func (im *importer) padOp(i int, n *onnxpb.NodeProto) error {
	if mode := attrString(n, "mode", "constant"); mode != "constant" {
		im.unsupported(n, "mode %s", mode)
		return nil
	}
	var pads []int64
	if a := attr(n, "pads"); a != nil { // opset < 11
		pads = a.Ints
	} else if k := im.constIn(n, 1); k != nil {
		pads = k.ints()
	} else {
		im.unsupported(n, "pads that are not constant")
		return nil
	}
	if len(n.Input) > 3 && n.Input[3] != "" {
		im.unsupported(n, "axes (pad every axis instead)")
		return nil
	}
	if v := im.constIn(n, 2); v != nil && !near(v, 0) || attrFloat(n, "value", 0) != 0 {
		im.unsupported(n, "a padding value other than 0")
		return nil
	}
	rank := len(im.dyn[im.current]) + 1
	if len(pads) != 2*rank {
		return im.malformed(n, "pads", "%d values for a tensor of rank %d (want %d)", len(pads), rank, 2*rank)
	}
	if !slices.ContainsFunc(pads, func(p int64) bool { return p != 0 }) {
		im.pass(n.Output[0])
		return nil
	}
	if rank < 3 || pads[0] != 0 || pads[1] != 0 || pads[rank] != 0 || pads[rank+1] != 0 {
		im.unsupported(n, "pads %v: only the spatial axes may be padded", pads)
		return nil
	}
	var spatial []int
	for _, p := range append(slices.Clone(pads[2:rank]), pads[rank+2:]...) {
		if p < 0 {
			im.unsupported(n, "negative pads %v", pads)
			return nil
		}
		if p > limits.MaxTensorElements {
			return im.malformed(n, "pads", "value %d out of range", p)
		}
		spatial = append(spatial, int(p))
	}
	if _, next := im.next(i); next == nil || (next.GetOpType() != "Conv" && next.GetOpType() != "AveragePool") {
		im.unsupported(n, "padding that no convolution or average pooling takes")
		return nil
	}
	im.pad = spatial
	im.dyn[n.Output[0]] = im.dyn[im.current]
	im.producer[n.Output[0]] = im.producer[im.current]
	im.padded = n.Output[0]
	return nil
}

// takePad adds a pending zero padding to pads (begins, then ends), which
// node n has read from its attribute.
func (im *importer) takePad(n *onnxpb.NodeProto, pads []int) ([]int, error) {
	if im.pad == nil {
		return pads, nil
	}
	if len(im.pad) != len(pads) {
		return nil, im.malformed(n, "attribute pads", "%d values, but the Pad before it pads %d", len(pads), len(im.pad))
	}
	out := append([]int(nil), pads...)
	for i := range out {
		out[i] += im.pad[i]
	}
	im.pad = nil
	return out, nil
}

// gelu recognises the erf form of GELU that PyTorch (and aebridge) export,
// x·0.5·(1 + erf(x/√2)), starting at its Div, and aebridge's tanh form.
func (im *importer) gelu(i int, n *onnxpb.NodeProto) bool {
	x := im.current
	chain := func(start int, ops ...string) ([]int, bool) {
		idx := []int{start}
		cur := start
		for _, op := range ops {
			j, m := im.next(cur)
			if m == nil || m.GetOpType() != op {
				return nil, false
			}
			idx = append(idx, j)
			cur = j
		}
		return idx, true
	}
	if n.GetOpType() == "Div" && n.Input[0] == x && near(im.consts[n.Input[1]], math.Sqrt2) {
		idx, ok := chain(i, "Erf", "Add", "Mul", "Mul")
		if !ok {
			return false
		}
		add, mul1, mul2 := im.g.Node[idx[2]], im.g.Node[idx[3]], im.g.Node[idx[4]]
		if !near(im.consts[other(add, im.g.Node[idx[1]].Output[0])], 1) || other(mul1, add.Output[0]) != x || !near(im.consts[other(mul2, mul1.Output[0])], 0.5) {
			return false
		}
		for _, j := range idx {
			im.done[j] = true
		}
		im.emit(n, layer{spec: trainer.LayerSpec{Type: "gelu", Approximate: "none"}}, mul2.Output[0])
		return true
	}
	// The tanh form, 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), starting
	// at x·x.
	if n.GetOpType() == "Mul" && len(n.Input) == 2 && n.Input[0] == x && n.Input[1] == x {
		idx, ok := chain(i, "Mul", "Mul", "Add", "Mul", "Tanh", "Add", "Mul", "Mul")
		if !ok {
			return false
		}
		node := func(k int) *onnxpb.NodeProto { return im.g.Node[idx[k]] }
		outOf := func(k int) string { return node(k).Output[0] }
		if other(node(1), outOf(0)) != x || !near(im.consts[other(node(2), outOf(1))], 0.044715) ||
			other(node(3), outOf(2)) != x || !near(im.consts[other(node(4), outOf(3))], math.Sqrt(2/math.Pi)) ||
			!near(im.consts[other(node(6), outOf(5))], 1) || other(node(7), outOf(6)) != x || !near(im.consts[other(node(8), outOf(7))], 0.5) {
			return false
		}
		for _, j := range idx {
			im.done[j] = true
		}
		im.emit(n, layer{spec: trainer.LayerSpec{Type: "gelu", Approximate: "tanh"}}, outOf(8))
		return true
	}
	return false
}

func (im *importer) conv(n *onnxpb.NodeProto, op string) error {
	w, b := im.constIn(n, 1), im.constIn(n, 2)
	if w == nil || (len(w.dims) != 3 && len(w.dims) != 4) || w.isInt {
		im.unsupported(n, "needs a constant 3-D or 4-D weight")
		return nil
	}
	dims := len(w.dims) - 2
	in := im.dyn[im.current]
	if len(in) != dims+1 {
		return im.malformed(n, "input 0", "per-sample shape %v for a %d-D weight %v", in, dims, w.dims)
	}
	kernel, err := im.attrInts(n, "kernel_shape", w.dims[2:], dims)
	if err != nil {
		return err
	}
	if !slices.Equal(kernel, w.dims[2:]) {
		return im.malformed(n, "attribute kernel_shape", "%v, but the weight is %v", kernel, w.dims)
	}
	stride, dilation, pads, err := im.windowAttrs(n, dims)
	if err != nil {
		return err
	}
	if pads, err = im.takePad(n, pads); err != nil {
		return err
	}
	group := attrInt(n, "group", 1)
	if group < 1 || group > int64(in[0]) {
		return im.malformed(n, "attribute group", "%d groups for %d input channels", group, in[0])
	}
	switch ap := attrString(n, "auto_pad", "NOTSET"); ap {
	case "NOTSET", "VALID":
	default:
		im.unsupported(n, "auto_pad %s", ap)
		return nil
	}
	if op == "ConvTranspose" && attr(n, "output_shape") != nil {
		im.unsupported(n, "output_shape (give pads and output_padding)")
		return nil
	}
	spec := trainer.LayerSpec{Kernel: kernel, Stride: stride, Dilation: dilation, Padding: pads, Groups: int(group)}
	if op == "Conv" {
		// The weight is (out, in/group, kernel…).
		if w.dims[1]*int(group) != in[0] {
			return im.malformed(n, "input 1", "weight %v in %d groups does not take %d input channels", w.dims, group, in[0])
		}
		spec.Type = fmt.Sprintf("conv%dd", dims)
		spec.In, spec.Out = in[0], w.dims[0]
	} else {
		// The weight is (in, out/group, kernel…).
		if w.dims[0] != in[0] {
			return im.malformed(n, "input 1", "weight %v does not take %d input channels", w.dims, in[0])
		}
		spec.Type = fmt.Sprintf("conv_transpose%dd", dims)
		spec.In, spec.Out = in[0], w.dims[1]*int(group)
		if spec.OutputPadding, err = im.attrInts(n, "output_padding", make([]int, dims), dims); err != nil {
			return err
		}
	}
	if b == nil {
		b = &konst{dims: []int{spec.Out}, f: make([]float32, spec.Out)}
	}
	if b.size() != spec.Out || b.isInt {
		return im.malformed(n, "input 2", "bias %v for %d output channels", b.dims, spec.Out)
	}
	im.emit(n, layer{spec: spec, tensors: map[string]*konst{"weight": w, "bias": b}}, n.Output[0])
	return nil
}

func ones(n int) []int {
	o := make([]int, n)
	for i := range o {
		o[i] = 1
	}
	return o
}

func (im *importer) pool(n *onnxpb.NodeProto, op string) error {
	in := im.dyn[im.current]
	dims := len(in) - 1
	if dims != 1 && dims != 2 {
		im.unsupported(n, "pooling over %d axes", dims)
		return nil
	}
	if attr(n, "kernel_shape") == nil {
		return im.malformed(n, "attribute kernel_shape", "missing (it is required)")
	}
	kernel, err := im.attrInts(n, "kernel_shape", nil, dims)
	if err != nil {
		return err
	}
	if slices.Min(kernel) < 1 {
		return im.malformed(n, "attribute kernel_shape", "%v must be positive", kernel)
	}
	stride, dilation, pads, err := im.windowAttrs(n, dims)
	if err != nil {
		return err
	}
	padded := im.pad != nil
	if pads, err = im.takePad(n, pads); err != nil {
		return err
	}
	if slices.Max(dilation) != 1 || slices.Min(dilation) != 1 || attrInt(n, "storage_order", 0) != 0 {
		im.unsupported(n, "dilation or storage order the trainer does not have")
		return nil
	}
	if ap := attrString(n, "auto_pad", "NOTSET"); ap != "NOTSET" && ap != "VALID" {
		im.unsupported(n, "auto_pad %s", ap)
		return nil
	}
	if attrInt(n, "ceil_mode", 0) == 1 {
		// ⌈⌉ becomes ⌊⌋ with enough padding after each axis.
		for a := 0; a < dims; a++ {
			span := in[1+a] + pads[a] + pads[dims+a] - kernel[a]
			if r := span % stride[a]; span >= 0 && r != 0 {
				pads[dims+a] += stride[a] - r
			}
		}
	}
	spec := trainer.LayerSpec{Kernel: kernel, Stride: stride, Padding: pads}
	if op == "MaxPool" {
		spec.Type = fmt.Sprintf("maxpool%dd", dims)
	} else {
		spec.Type = fmt.Sprintf("avgpool%dd", dims)
		// Zeros padded by a Pad node are counted like inputs.
		spec.CountIncludePad = attrInt(n, "count_include_pad", 0) == 1 || padded
	}
	if !im.emit(n, layer{spec: spec}, n.Output[0]) {
		return nil
	}
	if len(n.Output) > 1 && n.Output[1] != "" {
		im.producer[n.Output[1]] = len(im.layers) - 1 // the indices
		im.dyn[n.Output[1]] = im.dyn[n.Output[0]]
	}
	return nil
}

func (im *importer) resize(n *onnxpb.NodeProto, op string) error {
	in := im.dyn[im.current]
	dims := len(in) - 1
	if dims != 1 && dims != 2 {
		im.unsupported(n, "resizing %d axes", dims)
		return nil
	}
	if mode := attrString(n, "mode", "nearest"); mode != "nearest" {
		im.unsupported(n, "mode %s (nearest only)", mode)
		return nil
	}
	if op == "Resize" {
		ct := attrString(n, "coordinate_transformation_mode", "half_pixel")
		nm := attrString(n, "nearest_mode", "round_prefer_floor")
		if ct != "asymmetric" || nm != "floor" {
			im.unsupported(n, "coordinate_transformation_mode %s, nearest_mode %s (want asymmetric, floor: PyTorch's nearest)", ct, nm)
			return nil
		}
	}
	var scales []float64
	switch {
	case op == "Upsample" && attr(n, "scales") != nil:
		for _, v := range attr(n, "scales").Floats {
			scales = append(scales, float64(v))
		}
	case op == "Upsample":
		if k := im.constIn(n, 1); k != nil {
			scales = k.floats()
		}
	default:
		if k := im.constIn(n, 2); k != nil && k.size() > 0 {
			scales = k.floats()
		} else if len(n.Input) > 3 {
			if k := im.consts[n.Input[3]]; k != nil {
				sizes := k.ints()
				scales = []float64{1, 1}
				for a := 0; a < dims && a+2 < len(sizes); a++ {
					scales = append(scales, float64(sizes[a+2])/float64(in[1+a]))
				}
			} else if s, ok := im.shapes[n.Input[3]]; ok && len(s) == dims+2 {
				scales = []float64{1, 1}
				for a := 0; a < dims; a++ {
					if s[a+2].batch {
						im.unsupported(n, "sizes that depend on the batch")
						return nil
					}
					scales = append(scales, float64(s[a+2].v)/float64(in[1+a]))
				}
			}
		}
	}
	if len(scales) != dims+2 || scales[0] != 1 || scales[1] != 1 {
		im.unsupported(n, "scales %v: want constant integer scales of the spatial axes", scales)
		return nil
	}
	var sc []int
	for _, v := range scales[2:] {
		if v < 1 || v != math.Trunc(v) || v > limits.MaxTensorElements {
			im.unsupported(n, "scale %v is not a whole number", v)
			return nil
		}
		sc = append(sc, int(v))
	}
	im.emit(n, layer{spec: trainer.LayerSpec{Type: fmt.Sprintf("upsample%dd", dims), Scale: sc}}, n.Output[0])
	return nil
}

func (im *importer) reshape(n *onnxpb.NodeProto) error {
	in := im.dyn[im.current]
	var target []dim
	if s, ok := im.shapes[n.Input[1]]; ok {
		target = s
	} else if k := im.consts[n.Input[1]]; k != nil {
		for _, v := range k.ints() {
			target = append(target, dim{v: v})
		}
	} else {
		im.unsupported(n, "a target shape that is neither constant nor computed from the input's shape")
		return nil
	}
	if len(target) == 0 {
		return im.malformed(n, "input 1", "an empty target shape cannot hold a (batch, …) input")
	}
	// The first entry must keep the batch: the symbolic batch, 0 (copy) or
	// −1 with the rest fixed.
	per := []int{}
	infer := -1
	for a, d := range target[1:] {
		switch {
		case d.batch:
			im.unsupported(n, "the batch moves to axis %d", a+1)
			return nil
		case d.v == -1:
			if infer >= 0 {
				return im.malformed(n, "input 1", "target shape %v infers two axes", target)
			}
			infer = a
			per = append(per, -1)
		case d.v == 0:
			if a >= len(in) {
				return im.malformed(n, "input 1", "target shape %v: 0 copies axis %d, which the input (per-sample shape %v) does not have", target, a+1, in)
			}
			per = append(per, in[a])
		case d.v < -1 || d.v > limits.MaxTensorElements:
			return im.malformed(n, "input 1", "target shape %v: entry %d", target, d.v)
		default:
			per = append(per, int(d.v))
		}
	}
	first := target[0]
	if !(first.batch || first.v == 0 || first.v == -1) {
		im.unsupported(n, "a fixed batch size %d", first.v)
		return nil
	}
	if first.v == -1 && infer >= 0 {
		im.unsupported(n, "two axes to infer")
		return nil
	}
	total := product(in)
	if infer >= 0 {
		rest := slices.Delete(slices.Clone(per), infer, infer+1)
		known, err := limits.ElementsInt(rest)
		if err != nil || known == 0 || total%known != 0 {
			return im.malformed(n, "input 1", "cannot reshape %v to %v", in, per)
		}
		per[infer] = total / known
	}
	if got, err := limits.ElementsInt(per); err != nil || got != total {
		return im.malformed(n, "input 1", "cannot reshape %v to %v", in, per)
	}
	switch {
	case slices.Equal(per, in):
		im.pass(n.Output[0])
	case len(per) == 1:
		im.emit(n, layer{spec: trainer.LayerSpec{Type: "flatten"}}, n.Output[0])
	default:
		im.emit(n, layer{spec: trainer.LayerSpec{Type: "unflatten", Shape: per}}, n.Output[0])
	}
	return nil
}

// secondHead turns the last dense layer and this one, both on one tensor,
// into a variational model's μ and log σ² heads.
func (im *importer) secondHead(i int, n *onnxpb.NodeProto) error {
	first := len(im.layers) - 1
	saved := im.current
	// Run the node as a dense layer from the same input.
	prevOut := im.input
	if first > 0 {
		prevOut = im.layers[first-1].out
	}
	im.current = prevOut
	if err := im.layerOp(i, n, []string{prevOut}); err != nil {
		return err
	}
	im.heads = []int{first, len(im.layers) - 1}
	im.current = saved
	return nil
}

// fold evaluates a node on constants and shape values.
// It returns an error only for malformed nodes; others it cannot evaluate
// are listed as unsupported.
func (im *importer) fold(n *onnxpb.NodeProto) error {
	op := n.GetOpType()
	out := ""
	if len(n.Output) > 0 {
		out = n.Output[0]
	}
	in := func(k int) *konst { return im.constIn(n, k) }
	sh := func(k int) ([]dim, bool) {
		if k >= len(n.Input) {
			return nil, false
		}
		if s, ok := im.shapes[n.Input[k]]; ok {
			return s, true
		}
		if c := im.consts[n.Input[k]]; c != nil && len(c.dims) <= 1 {
			var s []dim
			for _, v := range c.ints() {
				s = append(s, dim{v: v})
			}
			return s, true
		}
		return nil, false
	}
	anyShape := false
	for _, name := range n.Input {
		if _, ok := im.shapes[name]; ok {
			anyShape = true
		}
	}
	switch op {
	case "Constant":
		a := n.Attribute
		if len(a) != 1 {
			return im.malformed(n, "attributes", "a Constant has one value attribute, this one %d", len(a))
		}
		switch {
		case a[0].T != nil:
			k, err := konstOf(a[0].T)
			if err != nil {
				return &FormatError{File: im.file, Node: nodeOf(n), Field: "attribute " + a[0].GetName(), Tensor: a[0].T.GetName(), Reason: err.Error(), Err: err}
			}
			im.consts[out] = k
		case a[0].GetName() == "value_float":
			im.consts[out] = &konst{dims: []int{}, f: []float32{a[0].GetF()}}
		case a[0].GetName() == "value_floats":
			im.consts[out] = &konst{dims: []int{len(a[0].Floats)}, f: a[0].Floats}
		case a[0].GetName() == "value_int":
			im.consts[out] = &konst{dims: []int{}, i: []int64{a[0].GetI()}, isInt: true}
		case a[0].GetName() == "value_ints":
			im.consts[out] = &konst{dims: []int{len(a[0].Ints)}, i: a[0].Ints, isInt: true}
		default:
			im.unsupported(n, "constant attribute %s", a[0].GetName())
		}
		return nil
	case "Identity", "Cast":
		if s, ok := sh(0); ok && in(0) == nil {
			im.shapes[out] = s
			return nil
		}
		if k := in(0); k != nil {
			c := *k
			if op == "Cast" {
				to := onnxpb.TensorProto_DataType(attrInt(n, "to", 1))
				switch to {
				case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_DOUBLE, onnxpb.TensorProto_FLOAT16:
					if c.isInt {
						c.f, c.i, c.isInt = make([]float32, len(c.i)), nil, false
						for j, v := range k.i {
							c.f[j] = float32(v)
						}
					}
				default:
					c.i, c.isInt = k.ints(), true
				}
			}
			im.consts[out] = &c
			return nil
		}
	case "Transpose":
		if k := in(0); k != nil && len(k.dims) == 2 {
			perm, err := im.attrInts(n, "perm", []int{1, 0}, 2)
			if err != nil {
				return err
			}
			if slices.Equal(perm, []int{1, 0}) {
				im.consts[out] = transpose2(k)
				return nil
			}
		}
	case "Gather":
		s, ok := sh(0)
		idx := in(1)
		if ok && idx != nil && attrInt(n, "axis", 0) == 0 {
			var res []dim
			for _, j := range idx.ints() {
				if j < 0 {
					j += int64(len(s))
				}
				if j < 0 || j >= int64(len(s)) {
					return im.malformed(n, "input 1", "index %d out of range for a shape of %d entries", j, len(s))
				}
				res = append(res, s[j])
			}
			im.shapes[out] = res
			return nil
		}
	case "Slice":
		s, ok := sh(0)
		var starts, ends, axes, steps []int64
		if a := attr(n, "starts"); a != nil { // opset < 10
			starts, ends = a.Ints, attr(n, "ends").Ints // checkNode saw both
			if ax := attr(n, "axes"); ax != nil {
				axes = ax.Ints
			}
		} else if st, en := in(1), in(2); st != nil && en != nil {
			starts, ends = st.ints(), en.ints()
			if k := in(3); k != nil {
				axes = k.ints()
			}
			if k := in(4); k != nil {
				steps = k.ints()
			}
		}
		// A shape value has one axis: axes can only name it, and steps must be 1.
		if len(axes) > 1 || len(axes) == 1 && axes[0] != 0 && axes[0] != -1 || len(steps) > 1 || len(steps) == 1 && steps[0] != 1 {
			im.unsupported(n, "axes %v, steps %v on a shape value", axes, steps)
			return nil
		}
		if ok && len(starts) == 1 && len(ends) == 1 {
			lo, hi := starts[0], ends[0]
			L := int64(len(s))
			if lo < 0 {
				lo += L
			}
			if hi < 0 {
				hi += L
			}
			lo, hi = max(0, min(lo, L)), max(0, min(hi, L))
			im.shapes[out] = slices.Clone(s[lo:max(lo, hi)])
			return nil
		}
	case "Unsqueeze", "Squeeze":
		if s, ok := sh(0); ok && (anyShape || in(0) == nil || len(in(0).dims) <= 1) {
			im.shapes[out] = s
			return nil
		}
		if k := in(0); k != nil {
			c := *k
			c.dims = nil
			if op == "Unsqueeze" {
				c.dims = append([]int{1}, k.dims...)
			} else {
				for _, d := range k.dims {
					if d != 1 {
						c.dims = append(c.dims, d)
					}
				}
			}
			im.consts[out] = &c
			return nil
		}
	case "Concat":
		if anyShape || attrInt(n, "axis", 0) == 0 {
			var res []dim
			ok := true
			for k := range n.Input {
				s, good := sh(k)
				if !good {
					ok = false
					break
				}
				res = append(res, s...)
			}
			if ok {
				if anyShape {
					im.shapes[out] = res
				} else {
					c := &konst{dims: []int{len(res)}, isInt: true}
					for _, d := range res {
						c.i = append(c.i, d.v)
					}
					im.consts[out] = c
				}
				return nil
			}
		}
	case "Add", "Sub", "Mul", "Div", "Mod":
		a, aok := sh(0)
		b, bok := sh(1)
		if anyShape && aok && bok {
			if len(a) != len(b) && len(a) != 1 && len(b) != 1 {
				return im.malformed(n, "input 1", "shape values of %d and %d entries do not broadcast", len(a), len(b))
			}
			res := []dim{}
			size := max(len(a), len(b))
			if len(a) == 0 || len(b) == 0 {
				size = 0 // (0,) broadcast with (1,) is (0,)
			}
			for j := 0; j < size; j++ {
				x, y := a[min(j, len(a)-1)], b[min(j, len(b)-1)]
				r, ok := arith(op, x, y)
				if !ok {
					im.unsupported(n, "arithmetic on the batch size")
					return nil
				}
				res = append(res, r)
			}
			im.shapes[out] = res
			return nil
		}
		if ka, kb := in(0), in(1); ka != nil && kb != nil && !anyShape {
			if r := elementwise(op, ka, kb); r != nil {
				im.consts[out] = r
				return nil
			}
		}
	}
	im.unsupported(n, "cannot be evaluated on constants")
	return nil
}

// arith applies a binary operator to shape entries; the batch passes only
// through the identities.
func arith(op string, x, y dim) (dim, bool) {
	switch {
	case x.batch && y.batch:
		return dim{}, false
	case x.batch || y.batch:
		k := y.v
		if y.batch {
			k = x.v
		}
		switch {
		case (op == "Mul" || op == "Div") && k == 1, (op == "Add" || op == "Sub") && k == 0:
			return dim{batch: true}, true
		}
		return dim{}, false
	}
	a, b := x.v, y.v
	switch op {
	case "Add":
		return dim{v: a + b}, true
	case "Sub":
		return dim{v: a - b}, true
	case "Mul":
		return dim{v: a * b}, true
	case "Div":
		if b == 0 {
			return dim{}, false
		}
		return dim{v: a / b}, true
	case "Mod":
		if b == 0 {
			return dim{}, false
		}
		return dim{v: ((a % b) + b) % b}, true
	}
	return dim{}, false
}

// elementwise folds a binary operator on constants of one shape, or with
// a scalar.
func elementwise(op string, a, b *konst) *konst {
	if a.size() == 0 || b.size() == 0 || a.size() != b.size() && a.size() != 1 && b.size() != 1 {
		return nil
	}
	dims := a.dims
	if a.size() == 1 {
		dims = b.dims
	}
	n := max(a.size(), b.size())
	av, bv := a.floats(), b.floats()
	out := &konst{dims: dims, f: make([]float32, n)}
	for j := 0; j < n; j++ {
		x, y := av[min(j, len(av)-1)], bv[min(j, len(bv)-1)]
		var r float64
		switch op {
		case "Add":
			r = x + y
		case "Sub":
			r = x - y
		case "Mul":
			r = x * y
		case "Div":
			r = x / y
		case "Mod":
			r = math.Mod(x, y)
		}
		out.f[j] = float32(r)
	}
	if a.isInt && b.isInt {
		out.isInt, out.i = true, make([]int64, n)
		for j, v := range out.f {
			out.i[j] = int64(v)
		}
		out.f = nil
	}
	return out
}

// fromMetadata rebuilds a model that aebridge exported as a full graph from
// the description in its metadata and the weights in its initializers.
func fromMetadata(mp *onnxpb.ModelProto, name string) (*Model, bool, error) {
	meta := map[string]string{}
	for _, kv := range mp.MetadataProps {
		meta[kv.GetKey()] = kv.GetValue()
	}
	if mp.GetProducerName() != "aebridge" || meta["model"] == "" || meta["part"] != "full" {
		return nil, false, nil
	}
	var c trainer.Config
	if err := json.Unmarshal([]byte(meta["model"]), &c); err != nil {
		return nil, true, &FormatError{File: name, Reason: "metadata \"model\" is not a model description: " + err.Error(), Err: err}
	}
	m, err := trainer.Build(c)
	if err != nil {
		return nil, true, &FormatError{File: name, Field: "metadata \"model\"", Reason: err.Error(), Err: err}
	}
	inits := map[string]*onnxpb.TensorProto{}
	for _, t := range mp.Graph.Initializer {
		inits[t.GetName()] = t
	}
	sd := map[string]trainer.Tensor{}
	for pname, t := range m.StateDict() {
		init, ok := inits[pname]
		if !ok {
			if strings.HasSuffix(pname, ".num_batches_tracked") {
				sd[pname] = trainer.Tensor{Shape: t.Shape, Data: make([]float32, len(t.Data))}
				continue
			}
			return nil, true, &FormatError{File: name, Tensor: pname, Reason: "the model description needs this tensor; the graph has no initializer of that name"}
		}
		v, err := onnxfile.Float32s(init)
		if err != nil {
			return nil, true, &FormatError{File: name, Tensor: pname, Reason: err.Error(), Err: err}
		}
		sd[pname] = trainer.Tensor{Shape: t.Shape, Data: v}
	}
	if err := m.LoadStateDict(sd, name); err != nil {
		return nil, true, &FormatError{File: name, Field: "initializers", Reason: err.Error(), Err: err}
	}
	res := &Model{Model: m, File: name}
	for _, vi := range mp.Graph.Input {
		if inits[vi.GetName()] == nil {
			res.Inputs = append(res.Inputs, vi.GetName())
		}
	}
	for _, vi := range mp.Graph.Output {
		res.Outputs = append(res.Outputs, vi.GetName())
	}
	return res, true, nil
}

// windowAttrs reads the strides, dilations and pads of a convolution or
// pooling node over dims spatial axes (ONNX's defaults: ones and zeros),
// each of its length, strides and dilations at least 1 and pads at least 0;
// anything else is a FormatError naming the attribute.
func (im *importer) windowAttrs(n *onnxpb.NodeProto, dims int) (stride, dilation, pads []int, err error) {
	if stride, err = im.attrInts(n, "strides", ones(dims), dims); err != nil {
		return nil, nil, nil, err
	}
	if dilation, err = im.attrInts(n, "dilations", ones(dims), dims); err != nil {
		return nil, nil, nil, err
	}
	if pads, err = im.attrInts(n, "pads", make([]int, 2*dims), 2*dims); err != nil {
		return nil, nil, nil, err
	}
	for _, c := range []struct {
		name string
		v    []int
		min  int
	}{{"strides", stride, 1}, {"dilations", dilation, 1}, {"pads", pads, 0}} {
		if len(c.v) > 0 && slices.Min(c.v) < c.min {
			return nil, nil, nil, im.malformed(n, "attribute "+c.name, "%v: values must be at least %d", c.v, c.min)
		}
	}
	return stride, dilation, pads, nil
}
