package convert

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/limits"
	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

// Options are the choices of a read.
type Options struct {
	// Code names the tensor that ReadGraph and DecodeGraph mark as the
	// graph's code (graph.MarkCode): where export and convert --split cut
	// it into encoder and decoder. "" leaves the marks of the file's
	// metadata, if any.
	Code string
}

// nodeOf is n as errors name it.
func nodeOf(n *onnxpb.NodeProto) Node {
	return Node{Op: n.GetOpType(), Name: n.GetName(), Inputs: n.Input}
}

// GraphInfo is what ReadGraph and DecodeGraph report beside the graph.
type GraphInfo struct {
	File     string
	Opset    int64             // the ai.onnx opset the model was written at; the graph holds opset 18's forms
	Producer string            // producer_name and producer_version, as the model gives them
	Metadata map[string]string // the model's metadata_props
	// Notes lists what was read with a loss of precision (a float64
	// initializer read as float32).
	Notes []string
}

// MarkKeyPrefix begins the metadata keys that mark a graph's tensors, as
// export writes them (export.MarkKeyPrefix).
const MarkKeyPrefix = export.MarkKeyPrefix

// ReadGraph reads the ONNX file at path, with the external data its
// tensors reference from files beside it, node by node into a graph (see
// DecodeGraph).
func ReadGraph(path string, opts Options) (*graph.Graph, *GraphInfo, error) {
	mp, err := onnxfile.Load(path)
	if err != nil {
		return nil, nil, err
	}
	return graphOf(mp, path, opts)
}

// DecodeGraph reads a serialized ONNX model from r node by node into a
// graph; name is used in errors. Its tensors must be inline: a model with
// external data needs ReadGraph.
//
// Each node of the ai.onnx domain becomes a graph node of the same op
// type, inputs, outputs and attributes, after the nodes of older opsets
// are rewritten into opset 18's forms (see the upgrades table); Constant
// nodes and initializers become parameters (float32, or int64 for
// integer tensors). The first dimension of each graph input that has no
// fixed size is the batch (−1). Marks come from the metadata keys that
// begin with MarkKeyPrefix, and Options.Code marks the code. Nodes that the graph package does not run give one
// *UnsupportedError listing them all; a malformed model gives a
// *FormatError naming the node, its op and the field or tensor at fault.
func DecodeGraph(r io.Reader, name string, opts Options) (*graph.Graph, *GraphInfo, error) {
	data, err := io.ReadAll(io.LimitReader(r, limits.MaxModelBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("convert: %s: %w", name, err)
	}
	if len(data) > limits.MaxModelBytes {
		return nil, nil, &FormatError{File: name, Reason: fmt.Sprintf("more than %d bytes: %v for an ONNX file", int64(limits.MaxModelBytes), limits.ErrTooLarge), Err: limits.ErrTooLarge}
	}
	mp, err := onnxfile.Decode(data, name)
	if err != nil {
		return nil, nil, err
	}
	return graphOf(mp, name, opts)
}

// maxOpset is the newest ai.onnx opset read. Opsets 19 to 21 change the
// operators autoencoders use only by new element types, attributes and
// modes, which the graph's operators refuse where they do not run them.
const maxOpset = 21

// reader turns one ModelProto into a graph.
type reader struct {
	file     string
	mp       *onnxpb.ModelProto
	g        *graph.Graph
	info     *GraphInfo
	tensors  map[string]bool // every tensor name given: inputs, parameters, node outputs
	nodes    map[string]bool // every node name given
	named    map[string]bool // every node name the model gives, which new names avoid
	readBy   map[string]bool // every tensor a node reads or the graph returns, which new names avoid
	elements int64           // parameter elements so far
	bad      []Node
}

func graphOf(mp *onnxpb.ModelProto, name string, opts Options) (*graph.Graph, *GraphInfo, error) {
	if mp.Graph == nil {
		return nil, nil, &FormatError{File: name, Reason: "model has no graph"}
	}
	if n := len(mp.Graph.Node); n > limits.MaxNodes {
		return nil, nil, &FormatError{File: name, Field: "graph", Reason: fmt.Sprintf("%d nodes %v of %d nodes", n, limits.ErrTooLarge, limits.MaxNodes), Err: limits.ErrTooLarge}
	}
	var external string
	onnxfile.Tensors(mp, func(t *onnxpb.TensorProto) {
		if external == "" && t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
			external = t.GetName()
		}
	})
	if external != "" {
		return nil, nil, &FormatError{File: name, Tensor: external, Reason: "data is in an external file; read the model with ReadGraph"}
	}
	r := newReader(mp, name)
	if err := r.read(opts); err != nil {
		return nil, nil, err
	}
	return r.g, r.info, nil
}

func newReader(mp *onnxpb.ModelProto, name string) *reader {
	return &reader{file: name, mp: mp, g: &graph.Graph{Params: map[string]*graph.Tensor{}, Marks: map[string]string{}},
		info:    &GraphInfo{File: name, Metadata: map[string]string{}},
		tensors: map[string]bool{}, nodes: map[string]bool{}, named: map[string]bool{}, readBy: map[string]bool{}}
}

func (r *reader) read(opts Options) error {
	if err := r.build(opts); err != nil {
		return err
	}
	known := map[string]bool{}
	for _, op := range graph.Ops() {
		known[op] = true
	}
	for _, n := range r.g.Nodes {
		if !known[n.Op] {
			r.bad = append(r.bad, Node{Op: n.Op, Name: n.Name, Inputs: n.Inputs, Reason: "no graph operator"})
		}
	}
	if len(r.bad) > 0 {
		return &UnsupportedError{File: r.file, Nodes: r.bad}
	}
	return r.check()
}

// build reads the model into r.g, its nodes in opset 18's forms, whether
// or not the graph package runs their op types; what the graph cannot
// hold is listed in r.bad.
func (r *reader) build(opts Options) error {
	mp, g := r.mp, r.mp.Graph
	for _, kv := range mp.MetadataProps {
		r.info.Metadata[kv.GetKey()] = kv.GetValue()
	}
	r.info.Producer = strings.TrimSpace(mp.GetProducerName() + " " + mp.GetProducerVersion())
	if err := r.readOpset(); err != nil {
		return err
	}
	inits := map[string]bool{}
	for _, t := range g.Initializer {
		if err := r.param(t.GetName(), t, "initializer"); err != nil {
			return err
		}
		inits[t.GetName()] = true
	}
	for _, t := range g.SparseInitializer {
		name := t.GetValues().GetName()
		if err := r.give(name, Node{}, "sparse initializer"); err != nil {
			return err
		}
		inits[name] = true
		r.bad = append(r.bad, Node{Op: "sparse initializer", Name: name, Reason: "sparse tensors have no graph equivalent"})
	}
	for _, vi := range g.Input {
		if inits[vi.GetName()] {
			continue // an initializer listed among the inputs (IR < 4)
		}
		if err := r.input(vi); err != nil {
			return err
		}
	}
	for _, n := range g.Node {
		r.named[n.GetName()] = true
		for _, in := range n.Input {
			r.readBy[in] = true
		}
	}
	for _, vi := range g.Output {
		r.readBy[vi.GetName()] = true
	}
	var nodes []*graph.Node
	for i, n := range g.Node {
		gn, err := r.node(i, n)
		if err != nil {
			return err
		}
		if gn != nil {
			nodes = append(nodes, gn)
		}
	}
	if err := r.upgrade(nodes); err != nil {
		return err
	}
	for i, vi := range g.Output {
		if vi.GetName() == "" {
			return &FormatError{File: r.file, Field: fmt.Sprintf("output %d", i), Reason: "has no name"}
		}
		r.g.Outputs = append(r.g.Outputs, vi.GetName())
	}
	if err := r.marks(opts); err != nil {
		return err
	}
	r.prune()
	return nil
}

// readOpset finds the ai.onnx opset the model imports.
func (r *reader) readOpset() error {
	found := false
	for _, o := range r.mp.OpsetImport {
		if d := o.GetDomain(); d == "" || d == "ai.onnx" {
			r.info.Opset, found = o.GetVersion(), true
		}
	}
	switch {
	case !found:
		return &FormatError{File: r.file, Field: "opset_import", Reason: "no opset for the ai.onnx domain"}
	case r.info.Opset < 1:
		return &FormatError{File: r.file, Field: "opset_import", Reason: fmt.Sprintf("ai.onnx opset %d", r.info.Opset)}
	case r.info.Opset > maxOpset:
		return &UnsupportedError{File: r.file, Nodes: []Node{{Op: "opset_import", Reason: fmt.Sprintf("ai.onnx opset %d is newer than %d, the newest read", r.info.Opset, maxOpset)}}}
	}
	return nil
}

// give records a tensor name as given (by an input, a parameter or a node
// output), or returns a FormatError if it already is.
func (r *reader) give(name string, node Node, field string) error {
	if name == "" {
		return &FormatError{File: r.file, Node: node, Field: field, Reason: "has no name"}
	}
	if r.tensors[name] {
		return &FormatError{File: r.file, Node: node, Field: field, Tensor: name, Reason: "a tensor of this name is already given (by an input, an initializer or another node)"}
	}
	r.tensors[name] = true
	return nil
}

// param reads the tensor t as the parameter name.
func (r *reader) param(name string, t *onnxpb.TensorProto, what string) error {
	if err := r.give(name, Node{}, what); err != nil {
		return err
	}
	p, err := r.tensor(t, what+" "+name)
	var ue unsupportedError
	if errors.As(err, &ue) {
		r.bad = append(r.bad, Node{Op: what, Name: name, Reason: string(ue)})
		return nil
	}
	if err != nil {
		return err
	}
	r.g.Params[name] = p
	return nil
}

// unsupportedError is the reason why valid input is not read, for the
// caller to list in an *UnsupportedError.
type unsupportedError string

func (e unsupportedError) Error() string { return string(e) }

// tensor reads t as a graph tensor: float32 from float32, float16 and
// bfloat16 exactly, from float64 with a note; int64 from the integer types
// up to 32 bits and int64. Other element types are listed as unsupported
// (an unsupportedError). what names t in errors and notes.
func (r *reader) tensor(t *onnxpb.TensorProto, what string) (*graph.Tensor, error) {
	n, err := limits.Elements(t.Dims)
	if err != nil {
		return nil, &FormatError{File: r.file, Field: what, Tensor: t.GetName(), Reason: "dims: " + err.Error(), Err: err}
	}
	if r.elements+n > limits.MaxParams {
		return nil, &FormatError{File: r.file, Field: what, Tensor: t.GetName(), Reason: fmt.Sprintf("parameters of more than %d elements in all: %v", limits.MaxParams, limits.ErrTooLarge), Err: limits.ErrTooLarge}
	}
	shape := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		shape[i] = int(d)
	}
	var p *graph.Tensor
	dt := onnxpb.TensorProto_DataType(t.GetDataType())
	switch dt {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_BFLOAT16, onnxpb.TensorProto_DOUBLE:
		v, err := onnxfile.Float32s(t)
		if err != nil {
			return nil, r.tensorError(what, t, err)
		}
		p = &graph.Tensor{Shape: shape, Type: graph.Float32, Data: v}
		if dt == onnxpb.TensorProto_DOUBLE {
			r.info.Notes = append(r.info.Notes, fmt.Sprintf("%s: float64 values read as float32", what))
		}
	case onnxpb.TensorProto_INT64, onnxpb.TensorProto_INT32, onnxpb.TensorProto_INT16, onnxpb.TensorProto_INT8,
		onnxpb.TensorProto_UINT32, onnxpb.TensorProto_UINT16, onnxpb.TensorProto_UINT8:
		v, err := onnxfile.Int64s(t)
		if err != nil {
			return nil, r.tensorError(what, t, err)
		}
		p = &graph.Tensor{Shape: shape, Type: graph.Int64, Int64: v}
	default:
		return nil, unsupportedError(fmt.Sprintf("element type %s (the graph holds float32 and int64 tensors)", onnxfile.DataTypeName(t.GetDataType())))
	}
	r.elements += n
	return p, nil
}

func (r *reader) tensorError(what string, t *onnxpb.TensorProto, err error) error {
	reason := err.Error()
	var oe *onnxfile.FormatError
	if errors.As(err, &oe) {
		reason = oe.Reason
	}
	return &FormatError{File: r.file, Field: what, Tensor: t.GetName(), Reason: reason, Err: err}
}

// input reads a graph input: float32 or int64, its first dimension
// without a fixed size the batch.
func (r *reader) input(vi *onnxpb.ValueInfoProto) error {
	name := vi.GetName()
	field := fmt.Sprintf("input %q", name)
	if err := r.give(name, Node{}, field); err != nil {
		return err
	}
	unsupported := func(format string, args ...any) error {
		return &UnsupportedError{File: r.file, Nodes: []Node{{Op: "graph input", Name: name, Reason: fmt.Sprintf(format, args...)}}}
	}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return unsupported("not a tensor")
	}
	v := graph.Value{Name: name}
	switch onnxpb.TensorProto_DataType(tt.GetElemType()) {
	case onnxpb.TensorProto_FLOAT:
		v.Type = graph.Float32
	case onnxpb.TensorProto_INT64:
		v.Type = graph.Int64
	default:
		return unsupported("element type %s (graph inputs are float32 or int64)", onnxfile.DataTypeName(tt.GetElemType()))
	}
	if tt.Shape == nil {
		return unsupported("no shape")
	}
	if len(tt.Shape.Dim) > limits.MaxRank {
		return &FormatError{File: r.file, Field: field, Reason: fmt.Sprintf("rank %d %v of %d", len(tt.Shape.Dim), limits.ErrTooLarge, limits.MaxRank), Err: limits.ErrTooLarge}
	}
	batch := false
	for i, d := range tt.Shape.Dim {
		size := d.GetDimValue()
		switch {
		case size > limits.MaxTensorElements:
			return &FormatError{File: r.file, Field: field, Reason: fmt.Sprintf("dimension %d is %d: %v of %d", i, size, limits.ErrTooLarge, limits.MaxTensorElements), Err: limits.ErrTooLarge}
		case size > 0:
			v.Shape = append(v.Shape, int(size))
		case size < -1:
			return &FormatError{File: r.file, Field: field, Reason: fmt.Sprintf("dimension %d is %d", i, size)}
		case !batch:
			v.Shape, batch = append(v.Shape, -1), true
		default:
			what := fmt.Sprintf("%d", size)
			if p := d.GetDimParam(); p != "" {
				what = fmt.Sprintf("%q", p)
			}
			return unsupported("dimension %d (%s) has no fixed size; only one, the batch (dimension %d), may be symbolic", i, what, slices.Index(v.Shape, -1))
		}
	}
	r.g.Inputs = append(r.g.Inputs, v)
	return nil
}

// node reads ONNX node i as a graph node, or as a parameter for a Constant
// (node returns nil then). Nodes the graph cannot hold (another domain, an
// attribute type it has no field for) are listed in r.bad.
func (r *reader) node(i int, n *onnxpb.NodeProto) (*graph.Node, error) {
	nd := nodeOf(n)
	if n.GetOpType() == "" {
		return nil, &FormatError{File: r.file, Node: nd, Field: fmt.Sprintf("node %d", i), Reason: "has no op type"}
	}
	if len(n.Output) == 0 || n.Output[0] == "" {
		return nil, &FormatError{File: r.file, Node: nd, Field: "output 0", Reason: "missing: the node has no first output"}
	}
	for k, out := range n.Output {
		if out != "" {
			if err := r.give(out, nd, fmt.Sprintf("output %d", k)); err != nil {
				return nil, err
			}
		}
	}
	if d := n.GetDomain(); d != "" && d != "ai.onnx" {
		nd.Reason = fmt.Sprintf("domain %q (only ai.onnx is read)", d)
		r.bad = append(r.bad, nd)
		return nil, nil
	}
	attrs := map[string]graph.Attribute{}
	for _, a := range n.Attribute {
		name := a.GetName()
		field := "attribute " + name
		if name == "" {
			return nil, &FormatError{File: r.file, Node: nd, Field: "attribute", Reason: "has no name"}
		}
		if _, ok := attrs[name]; ok {
			return nil, &FormatError{File: r.file, Node: nd, Field: field, Reason: "given twice"}
		}
		if a.GetRefAttrName() != "" {
			return nil, &FormatError{File: r.file, Node: nd, Field: field, Reason: fmt.Sprintf("refers to attribute %q of a function, outside a function", a.GetRefAttrName())}
		}
		v, err := r.attribute(a, field)
		var ue unsupportedError
		if errors.As(err, &ue) {
			nd.Reason = fmt.Sprintf("%s: %s", field, ue)
			r.bad = append(r.bad, nd)
			return nil, nil
		}
		var fe *FormatError
		if errors.As(err, &fe) && fe.Node.Op == "" {
			fe.Node = nd
		}
		if err != nil {
			return nil, err
		}
		attrs[name] = v
	}
	if n.GetOpType() == "Constant" {
		return nil, r.constant(n, nd, attrs)
	}
	name := n.GetName()
	if name == "" || r.nodes[name] {
		name = r.freshNode(cmpOr(name, n.GetOpType()))
	}
	r.nodes[name] = true
	return &graph.Node{Name: name, Op: n.GetOpType(), Inputs: slices.Clone(n.Input), Outputs: slices.Clone(n.Output), Attrs: attrs}, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// attrType is a's type, from its type field or, in files that leave it
// out, from the field it sets.
func attrType(a *onnxpb.AttributeProto) onnxpb.AttributeProto_AttributeType {
	if t := a.GetType(); t != onnxpb.AttributeProto_UNDEFINED {
		return t
	}
	switch {
	case a.F != nil:
		return onnxpb.AttributeProto_FLOAT
	case a.I != nil:
		return onnxpb.AttributeProto_INT
	case a.S != nil:
		return onnxpb.AttributeProto_STRING
	case a.T != nil:
		return onnxpb.AttributeProto_TENSOR
	case a.G != nil:
		return onnxpb.AttributeProto_GRAPH
	case len(a.Floats) > 0:
		return onnxpb.AttributeProto_FLOATS
	case len(a.Ints) > 0:
		return onnxpb.AttributeProto_INTS
	case len(a.Strings) > 0:
		return onnxpb.AttributeProto_STRINGS
	case len(a.Tensors) > 0:
		return onnxpb.AttributeProto_TENSORS
	case len(a.Graphs) > 0:
		return onnxpb.AttributeProto_GRAPHS
	}
	return onnxpb.AttributeProto_UNDEFINED
}

// attribute reads an attribute as a graph attribute of its type; the
// types the graph has no field for (graphs, lists of strings or tensors,
// sparse tensors, type protos) give an unsupportedError.
func (r *reader) attribute(a *onnxpb.AttributeProto, what string) (graph.Attribute, error) {
	switch t := attrType(a); t {
	case onnxpb.AttributeProto_FLOAT:
		return graph.Float(a.GetF()), nil
	case onnxpb.AttributeProto_INT:
		return graph.Int(a.GetI()), nil
	case onnxpb.AttributeProto_STRING:
		return graph.String(string(a.S)), nil
	case onnxpb.AttributeProto_FLOATS:
		return graph.Floats(slices.Clone(a.Floats)...), nil
	case onnxpb.AttributeProto_INTS:
		return graph.Ints(slices.Clone(a.Ints)...), nil
	case onnxpb.AttributeProto_TENSOR:
		if a.T == nil {
			return graph.Attribute{}, &FormatError{File: r.file, Field: what, Reason: "of type tensor, but holds none"}
		}
		v, err := r.tensor(a.T, what)
		if err != nil {
			return graph.Attribute{}, err
		}
		return graph.TensorAttr(v), nil
	default:
		return graph.Attribute{}, unsupportedError(fmt.Sprintf("type %s has no graph equivalent", t))
	}
}

// constant turns a Constant node into the parameter of its output's name.
func (r *reader) constant(n *onnxpb.NodeProto, nd Node, attrs map[string]graph.Attribute) error {
	if len(n.Input) != 0 || len(n.Output) != 1 {
		return &FormatError{File: r.file, Node: nd, Reason: fmt.Sprintf("%d inputs and %d outputs, want none and 1", len(n.Input), len(n.Output))}
	}
	if len(attrs) != 1 {
		return &FormatError{File: r.file, Node: nd, Field: "attribute", Reason: fmt.Sprintf("%d attributes, want exactly one value", len(attrs))}
	}
	var p *graph.Tensor
	for name, a := range attrs {
		want := map[string]graph.AttrType{"value": graph.AttrTensor, "value_float": graph.AttrFloat, "value_floats": graph.AttrFloats,
			"value_int": graph.AttrInt, "value_ints": graph.AttrInts}[name]
		if want == graph.AttrUndefined {
			nd.Reason = fmt.Sprintf("attribute %s: a constant the graph cannot hold", name)
			r.bad = append(r.bad, nd)
			return nil
		}
		if a.Type != want {
			return &FormatError{File: r.file, Node: nd, Field: "attribute " + name, Reason: fmt.Sprintf("type %v, want %v", a.Type, want)}
		}
		switch name {
		case "value":
			p = a.Tensor
		case "value_float":
			p = &graph.Tensor{Shape: []int{}, Data: []float32{a.Float}}
		case "value_floats":
			p = &graph.Tensor{Shape: []int{len(a.Floats)}, Data: a.Floats}
		case "value_int":
			p = graph.NewInt64Tensor([]int64{a.Int})
		case "value_ints":
			p = graph.NewInt64Tensor(a.Ints, len(a.Ints))
		}
	}
	r.g.Params[n.Output[0]] = p
	return nil
}

// freshNode returns a node name that the model does not give, from base,
// and gives it.
func (r *reader) freshNode(base string) string { return fresh(base, r.nodes, r.named) }

// freshTensor returns a tensor name that the model neither gives nor
// reads, from base, and gives it.
func (r *reader) freshTensor(base string) string { return fresh(base, r.tensors, r.readBy) }

// fresh returns base, or base_2, base_3, … : the first in neither given
// nor taken, and adds it to given.
func fresh(base string, given, taken map[string]bool) string {
	name := base
	for k := 2; given[name] || taken[name]; k++ {
		name = fmt.Sprintf("%s_%d", base, k)
	}
	given[name] = true
	return name
}

// marks sets the graph's marks from the metadata and opts.Code.
func (r *reader) marks(opts Options) error {
	for _, key := range slices.Sorted(maps.Keys(r.info.Metadata)) {
		role, ok := strings.CutPrefix(key, MarkKeyPrefix)
		if !ok {
			continue
		}
		t := r.info.Metadata[key]
		if role == "" || !r.tensors[t] {
			return &FormatError{File: r.file, Field: fmt.Sprintf("metadata %q", key), Tensor: t, Reason: "names no tensor of the graph"}
		}
		r.g.Marks[role] = t
	}
	if opts.Code != "" {
		if !r.tensors[opts.Code] {
			return &CodeError{File: r.file, Code: opts.Code, Reason: "names no tensor of the graph"}
		}
		r.g.Marks[graph.MarkCode] = opts.Code
	}
	return nil
}

// check runs the graph's own checks — a DAG over known tensors, each node
// with the inputs (the required ones named), outputs and attributes its
// operator takes and shapes that fit, for a batch of 1 — and the declared
// output shapes, and returns a FormatError for what they find.
func (r *reader) check() error {
	shapes := map[string][]int{}
	for _, v := range r.g.Inputs {
		s := slices.Clone(v.Shape)
		for i := range s {
			if s[i] < 0 {
				s[i] = 1
			}
		}
		shapes[v.Name] = s
	}
	inferred, err := r.g.Shapes(shapes)
	var ne *graph.NodeError
	if errors.As(err, &ne) {
		nd := Node{Op: ne.Op, Name: ne.Node}
		for _, n := range r.g.Nodes {
			if n.Name == ne.Node {
				nd.Inputs = n.Inputs
			}
		}
		return &FormatError{File: r.file, Node: nd, Tensor: ne.Tensor, Reason: ne.Reason, Err: ne}
	}
	if err != nil {
		return err
	}
	return r.checkOutputs(inferred)
}

// checkOutputs compares the outputs' declared shapes, where the model
// declares them, with the shapes the graph computes (at a batch of 1): a
// graph that computes another shape than its file says is refused, not run
// (the declared sizes are what every other runtime holds it to).
func (r *reader) checkOutputs(inferred map[string][]int) error {
	for i, vi := range r.mp.GetGraph().GetOutput() {
		tt := vi.GetType().GetTensorType()
		if tt == nil || tt.GetShape() == nil {
			continue
		}
		got, dims := inferred[vi.GetName()], tt.GetShape().GetDim()
		field := fmt.Sprintf("output %d (%q)", i, vi.GetName())
		if len(dims) != len(got) {
			return &FormatError{File: r.file, Field: field, Reason: fmt.Sprintf("declared of rank %d; the graph computes shape %v (at a batch of 1)", len(dims), got)}
		}
		for k, d := range dims {
			if v, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok && v.DimValue != int64(got[k]) {
				return &FormatError{File: r.file, Field: field, Reason: fmt.Sprintf("declared dimension %d is %d; the graph computes shape %v (at a batch of 1)", k, v.DimValue, got)}
			}
		}
	}
	return nil
}
