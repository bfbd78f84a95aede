package convert

import (
	"fmt"
	"maps"
	"slices"

	"github.com/aebridge/aebridge/graph"
)

// The graph holds opset 18's forms of the operators. upgrades lists, per
// op type, where older opsets differ and how a node written at an older
// opset is rewritten into opset 18's form (export reads the same
// differences the other way). Each entry applies to a model whose ai.onnx
// opset is below before; an op's entries are in increasing order of
// before and apply one after another, and one that rewrites a node into
// several is its op's last.
var upgrades = map[string][]upgrade{
	"Unsqueeze": {{13, "axes: attribute → input 1", attrToInput("axes", 1, graph.Int64)}},
	"Squeeze":   {{13, "axes: attribute → input 1", attrToInput("axes", 1, graph.Int64)}},
	"ReduceSum": {{13, "axes: attribute → input 1", attrToInput("axes", 1, graph.Int64)}},
	"Split": {
		{13, "split: attribute → input 1", attrToInput("split", 1, graph.Int64)},
		{18, "num_outputs given where split is not (equal parts)", splitParts},
	},

	"Dropout": {
		{7, "is_test dropped (the graph's Forward is inference)", dropAttrs("is_test")},
		{12, "ratio: attribute → input 1", attrToInput("ratio", 1, graph.Float32)},
	},
	"BatchNormalization": {
		{7, "is_test dropped", dropAttrs("is_test")},
		{9, "spatial dropped (1, per channel, is 9's only form)", bnSpatial},
		{14, "training-only outputs (mean, var, saved mean, saved var) dropped when nothing reads them", bnOutputs},
	},

	"Upsample": {{11, "→ Resize (asymmetric coordinates, nearest as floor)", upsample}},
	"Resize": {
		{11, "opset 10's Resize(X, scales) → Resize(X, \"\", scales), asymmetric coordinates", resize10},
		{13, "roi and scales of no elements → left out", resize11},
	},

	"Softmax":    {{13, "2-D coercion at axis (default 1) → Flatten, Softmax(axis −1), Reshape", coerce2D}},
	"LogSoftmax": {{13, "2-D coercion at axis (default 1) → Flatten, LogSoftmax(axis −1), Reshape", coerce2D}},
	"Hardmax":    {{13, "2-D coercion at axis (default 1) → Flatten, Hardmax(axis −1), Reshape", coerce2D}},

	"Clip":  {{11, "min, max: attributes → inputs 1, 2", clipInputs}},
	"Pad":   {{11, "pads (paddings before 2), value: attributes → inputs 1, 2", padInputs}},
	"Slice": {{10, "starts, ends, axes: attributes → inputs 1, 2, 3", sliceInputs}},

	"Reshape": {{5, "shape: attribute → input 1", attrToInput("shape", 1, graph.Int64)}},
	"TopK":    {{10, "k: attribute → input 1 (of one element)", topK}},
	"Tile":    {{6, "Tile(input, tiles, axis) refused: its repeats need the input's rank", tile1}},
	"Concat":  {{4, "axis: default 1 given", defaultInt("axis", 1)}},
	"Cast":    {{6, "to: type name → type number", castTo}},
	"Gemm":    {{7, "broadcast dropped (7 broadcasts C)", dropAttrs("broadcast")}},

	// LSTM and GRU: 7 dropped output_sequence (which only said that Y is
	// optional), 14 added layout (its default 0 is the older form).
	"LSTM": {{7, "output_sequence dropped", dropAttrs("output_sequence")}},
	"GRU":  {{7, "output_sequence dropped", dropAttrs("output_sequence")}},
}

func init() {
	for _, op := range []string{"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
		"ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"} {
		upgrades[op] = []upgrade{{18, "axes: attribute → input 1", attrToInput("axes", 1, graph.Int64)}}
	}
	for _, op := range []string{"Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less"} {
		upgrades[op] = []upgrade{{7, "broadcast, axis (legacy broadcasting) → ONNX broadcasting", legacyBroadcast}}
	}
}

// everyOp are the upgrades of every op type, applied before its own.
var everyOp = []upgrade{{6, "consumed_inputs (a memory hint) dropped", dropAttrs("consumed_inputs")}}

// upgrade is one difference of an op type between opsets: below opset
// before, nodes have an older form, and apply rewrites one into the form
// opset before introduced.
type upgrade struct {
	before int64
	what   string
	apply  func(u *upgrader, n *graph.Node) ([]*graph.Node, error)
}

// upgrader rewrites the nodes of one model.
type upgrader struct {
	opset  int64
	params map[string]*graph.Tensor // parameters, where new ones go
	tensor func(base string) string // a new tensor name
	node   func(base string) string // a new node name
	rank   func(name string) (int, bool)
	used   func(name string) bool // whether a node reads the tensor or the graph returns it
}

// fieldError is a node whose field (attribute, input) is malformed.
type fieldError struct{ field, reason string }

func (e *fieldError) Error() string { return e.field + ": " + e.reason }

// rewrite returns n in opset 18's form (n itself when nothing changes):
// one node, or several where opset 18 needs them. Its error is an
// unsupportedError for a form the graph cannot express, or a *fieldError.
func (u *upgrader) rewrite(n *graph.Node) ([]*graph.Node, error) {
	nodes := []*graph.Node{n}
	for _, up := range slices.Concat(everyOp, upgrades[n.Op]) {
		if u.opset >= up.before {
			continue
		}
		if len(nodes) != 1 {
			panic("convert: an upgrade of " + n.Op + " follows one that made several nodes")
		}
		m := *nodes[0]
		m.Attrs = maps.Clone(m.Attrs)
		m.Inputs = slices.Clone(m.Inputs)
		m.Outputs = slices.Clone(m.Outputs)
		var err error
		if nodes, err = up.apply(u, &m); err != nil {
			return nil, err
		}
	}
	return nodes, nil
}

// param adds t as a new parameter named from base and returns its name.
func (u *upgrader) param(base string, t *graph.Tensor) string {
	name := u.tensor(base)
	u.params[name] = t
	return name
}

// nodeAttr returns n's attribute name, if it has one of type want.
func nodeAttr(n *graph.Node, name string, want graph.AttrType) (graph.Attribute, bool, error) {
	a, ok := n.Attrs[name]
	if ok && a.Type != want {
		return a, false, &fieldError{"attribute " + name, fmt.Sprintf("type %v, want %v", a.Type, want)}
	}
	return a, ok, nil
}

// setInput makes name n's input k, with optional inputs left out ("")
// before it. It returns a *fieldError if n already has an input k.
func setInput(n *graph.Node, k int, name, from string) error {
	if len(n.Inputs) > k && n.Inputs[k] != "" {
		return &fieldError{fmt.Sprintf("input %d", k), fmt.Sprintf("%q, and attribute %s gives it too", n.Inputs[k], from)}
	}
	for len(n.Inputs) <= k {
		n.Inputs = append(n.Inputs, "")
	}
	n.Inputs[k] = name
	return nil
}

// needInputs returns a *fieldError unless n has at least k inputs, the
// first of them named.
func needInputs(n *graph.Node, k int) error {
	if len(n.Inputs) < k || k > 0 && n.Inputs[0] == "" {
		return &fieldError{fmt.Sprintf("input %d", len(n.Inputs)), fmt.Sprintf("missing: %s takes at least %d inputs, the node has %d", n.Op, k, len(n.Inputs))}
	}
	return nil
}

// attrToInput moves the attribute name, when the node has it, to input k:
// ints as a 1-D int64 parameter (typ Int64), a float as a float32 scalar.
func attrToInput(name string, k int, typ graph.DType) func(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
	return func(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
		if err := needInputs(n, 1); err != nil {
			return nil, err
		}
		if err := moveAttr(u, n, name, k, typ); err != nil {
			return nil, err
		}
		return []*graph.Node{n}, nil
	}
}

func moveAttr(u *upgrader, n *graph.Node, name string, k int, typ graph.DType) error {
	want := graph.AttrInts
	if typ == graph.Float32 {
		want = graph.AttrFloat
	}
	a, ok, err := nodeAttr(n, name, want)
	if err != nil || !ok {
		return err
	}
	t := graph.NewInt64Tensor(a.Ints, len(a.Ints))
	if typ == graph.Float32 {
		t = &graph.Tensor{Shape: []int{}, Data: []float32{a.Float}}
	}
	if err := setInput(n, k, u.param(n.Name+"/"+name, t), name); err != nil {
		return err
	}
	delete(n.Attrs, name)
	return nil
}

func dropAttrs(names ...string) func(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
	return func(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
		for _, name := range names {
			delete(n.Attrs, name)
		}
		return []*graph.Node{n}, nil
	}
}

func defaultInt(name string, v int64) func(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
	return func(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
		if _, ok := n.Attrs[name]; !ok {
			n.Attrs[name] = graph.Int(v)
		}
		return []*graph.Node{n}, nil
	}
}

// bnSpatial drops BatchNormalization's spatial attribute of opsets 7 and
// 8 where it is 1 (statistics per channel, opset 9's only form).
func bnSpatial(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
	a, ok, err := nodeAttr(n, "spatial", graph.AttrInt)
	if err != nil {
		return nil, err
	}
	if ok && a.Int != 1 {
		return nil, unsupportedError(fmt.Sprintf("attribute spatial = %d (statistics per activation) at opset %d; the graph has statistics per channel", a.Int, u.opset))
	}
	delete(n.Attrs, "spatial")
	return []*graph.Node{n}, nil
}

// bnOutputs drops the outputs a BatchNormalization before opset 14 gives
// only in training (mean, variance, saved mean, saved variance) where
// nothing reads them.
func bnOutputs(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
	for k, out := range n.Outputs[1:] {
		if out != "" && u.used(out) {
			return nil, unsupportedError(fmt.Sprintf("output %d (%q), which opset %d computes only in training, is read", k+1, out, u.opset))
		}
	}
	n.Outputs = n.Outputs[:1]
	return []*graph.Node{n}, nil
}

// legacyBroadcast drops the broadcast attribute of binary operators
// before opset 7. Without axis, broadcasting B over the trailing
// dimensions of A is what ONNX broadcasting does on the shapes legacy
// broadcasting allowed; with axis it aligns elsewhere.
func legacyBroadcast(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
	if a, ok := n.Attrs["axis"]; ok {
		if b, _, err := nodeAttr(n, "broadcast", graph.AttrInt); err != nil || b.Int != 0 {
			return nil, unsupportedError(fmt.Sprintf("legacy broadcasting along axis %d (opset %d)", a.Int, u.opset))
		}
	}
	delete(n.Attrs, "broadcast")
	delete(n.Attrs, "axis")
	return []*graph.Node{n}, nil
}

// resizeModes are Resize's attributes for opset 10's and Upsample's
// coordinates: asymmetric (x_in = x_out / scale) and ONNX Runtime's
// nearest pixel of those opsets, floor when upsampling and ceil when
// downsampling (scales above and below 1 in one node have no opset-18
// form). scales nil: not known before the graph runs; promise: scales
// are Upsample's, which must be at least 1.
func resizeModes(n *graph.Node, scales *graph.Tensor, promise bool) error {
	a, ok, err := nodeAttr(n, "mode", graph.AttrString)
	if err != nil {
		return err
	}
	mode := "nearest"
	if ok {
		mode = a.String
	}
	if mode == "bilinear" {
		mode = "linear"
	}
	if mode != "nearest" && mode != "linear" {
		return &fieldError{"attribute mode", fmt.Sprintf("%q, want nearest or linear", mode)}
	}
	n.Attrs = map[string]graph.Attribute{"mode": graph.String(mode), "coordinate_transformation_mode": graph.String("asymmetric")}
	if mode != "nearest" {
		return nil
	}
	nearest := "floor"
	switch {
	case scales != nil && scales.Type != graph.Float32:
		return &fieldError{"input 1", fmt.Sprintf("scales are %v, want float32", scales.Type)}
	case scales != nil:
		up := slices.ContainsFunc(scales.Data, func(s float32) bool { return s > 1 })
		down := slices.ContainsFunc(scales.Data, func(s float32) bool { return s < 1 })
		if down && promise {
			return &fieldError{"scales", fmt.Sprintf("%v: Upsample's are at least 1", scales.Data)}
		}
		if up && down {
			return unsupportedError(fmt.Sprintf("nearest with scales %v, above and below 1 at once: opset 18 rounds both alike", scales.Data))
		}
		if down {
			nearest = "ceil"
		}
	case !promise:
		return unsupportedError("nearest with scales computed when the graph runs: opset 18 rounds by whether they are below 1")
	}
	n.Attrs["nearest_mode"] = graph.String(nearest)
	return nil
}

// upsample rewrites Upsample (opsets 7 to 10; scales an attribute before
// 9, an input after) as Resize.
func upsample(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
	if err := needInputs(n, 1); err != nil {
		return nil, err
	}
	if a, ok := n.Attrs["height_scale"]; ok && u.opset < 7 {
		// Upsample-1 scaled NCHW's height and width by two attributes.
		h, w := a.Float, n.Float("width_scale", 1)
		delete(n.Attrs, "height_scale")
		delete(n.Attrs, "width_scale")
		n.Attrs["scales"] = graph.Floats(1, 1, h, w)
	}
	if u.opset < 9 {
		if len(n.Inputs) != 1 {
			return nil, &fieldError{"input 1", fmt.Sprintf("Upsample before opset 9 takes one input, the node has %d", len(n.Inputs))}
		}
		a, ok, err := nodeAttr(n, "scales", graph.AttrFloats)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &fieldError{"attribute scales", "missing"}
		}
		n.Inputs = append(n.Inputs, u.param(n.Name+"/scales", &graph.Tensor{Shape: []int{len(a.Floats)}, Data: slices.Clone(a.Floats)}))
	} else if len(n.Inputs) != 2 || n.Inputs[1] == "" {
		return nil, &fieldError{"input 1", fmt.Sprintf("Upsample from opset 9 takes X and scales, the node has %d inputs", len(n.Inputs))}
	}
	if err := resizeModes(n, u.params[n.Inputs[1]], true); err != nil {
		return nil, err
	}
	n.Op = "Resize"
	n.Inputs = []string{n.Inputs[0], "", n.Inputs[1]}
	return []*graph.Node{n}, nil
}

// resize10 rewrites opset 10's Resize(X, scales) into 11's form.
func resize10(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
	if len(n.Inputs) != 2 || n.Inputs[0] == "" || n.Inputs[1] == "" {
		return nil, &fieldError{"input 1", fmt.Sprintf("Resize at opset 10 takes X and scales, the node has %d inputs", len(n.Inputs))}
	}
	if err := resizeModes(n, u.params[n.Inputs[1]], false); err != nil {
		return nil, err
	}
	n.Inputs = []string{n.Inputs[0], "", n.Inputs[1]}
	return []*graph.Node{n}, nil
}

// resize11 leaves out Resize's roi and scales where opsets 11 and 12 give
// them as tensors of no elements (13 leaves them out).
func resize11(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
	for k := 1; k <= 2 && k < len(n.Inputs); k++ {
		if p := u.params[n.Inputs[k]]; p != nil && p.Len() == 0 {
			n.Inputs[k] = ""
		}
	}
	return []*graph.Node{n}, nil
}

// coerce2D rewrites Softmax, LogSoftmax and Hardmax before opset 13, which
// work on the input coerced to 2-D at axis (default 1), into opset 13's
// op along one axis: the op itself where axis is the last one, else
// Flatten(axis) → op(axis −1) → Reshape to the input's shape.
func coerce2D(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
	if len(n.Inputs) != 1 || n.Inputs[0] == "" || len(n.Outputs) != 1 {
		return nil, &fieldError{"input 0", fmt.Sprintf("%s takes one input and gives one output, the node has %d and %d", n.Op, len(n.Inputs), len(n.Outputs))}
	}
	a, ok, err := nodeAttr(n, "axis", graph.AttrInt)
	if err != nil {
		return nil, err
	}
	axis := int64(1)
	if ok {
		axis = a.Int
	}
	last := axis == -1
	if rank, ok := u.rank(n.Inputs[0]); ok {
		if axis < -int64(rank) || axis >= int64(rank) {
			return nil, &fieldError{"attribute axis", fmt.Sprintf("%d, outside the input's %d dimensions", axis, rank)}
		}
		last = axis == int64(rank)-1 || axis == -1
	}
	n.Attrs["axis"] = graph.Int(-1)
	if last {
		return []*graph.Node{n}, nil
	}
	x, y := n.Inputs[0], n.Outputs[0]
	flat, soft, shape := u.tensor(n.Name+"/flat"), u.tensor(n.Name+"/2d"), u.tensor(n.Name+"/shape")
	n.Inputs, n.Outputs = []string{flat}, []string{soft}
	return []*graph.Node{
		{Name: u.node(n.Name + "/flatten"), Op: "Flatten", Inputs: []string{x}, Outputs: []string{flat}, Attrs: map[string]graph.Attribute{"axis": graph.Int(axis)}},
		n,
		{Name: u.node(n.Name + "/shape"), Op: "Shape", Inputs: []string{x}, Outputs: []string{shape}, Attrs: map[string]graph.Attribute{}},
		{Name: u.node(n.Name + "/reshape"), Op: "Reshape", Inputs: []string{soft, shape}, Outputs: []string{y}, Attrs: map[string]graph.Attribute{}},
	}, nil
}

// clipInputs moves Clip's min and max attributes (opsets 6 to 10) to
// inputs 1 and 2.
func clipInputs(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
	if len(n.Inputs) != 1 || n.Inputs[0] == "" {
		return nil, &fieldError{"input 1", fmt.Sprintf("Clip before opset 11 takes one input, the node has %d", len(n.Inputs))}
	}
	for k, name := range []string{"min", "max"} {
		if err := moveAttr(u, n, name, k+1, graph.Float32); err != nil {
			return nil, err
		}
	}
	return []*graph.Node{n}, nil
}

// padInputs moves Pad's pads (paddings at opset 1) and value attributes
// to inputs 1 and 2; mode stays an attribute.
func padInputs(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
	if len(n.Inputs) != 1 || n.Inputs[0] == "" {
		return nil, &fieldError{"input 1", fmt.Sprintf("Pad before opset 11 takes one input, the node has %d", len(n.Inputs))}
	}
	if a, ok := n.Attrs["paddings"]; ok {
		if _, has := n.Attrs["pads"]; has {
			return nil, &fieldError{"attribute paddings", "given with pads"}
		}
		n.Attrs["pads"] = a
		delete(n.Attrs, "paddings")
	}
	if _, ok := n.Attrs["pads"]; !ok {
		return nil, &fieldError{"attribute pads", "missing"}
	}
	if err := moveAttr(u, n, "pads", 1, graph.Int64); err != nil {
		return nil, err
	}
	if err := moveAttr(u, n, "value", 2, graph.Float32); err != nil {
		return nil, err
	}
	return []*graph.Node{n}, nil
}

// sliceInputs moves Slice's starts, ends and axes attributes (before
// opset 10) to inputs 1, 2 and 3.
func sliceInputs(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
	if len(n.Inputs) != 1 || n.Inputs[0] == "" {
		return nil, &fieldError{"input 1", fmt.Sprintf("Slice before opset 10 takes one input, the node has %d", len(n.Inputs))}
	}
	for k, name := range []string{"starts", "ends", "axes"} {
		if _, ok := n.Attrs[name]; !ok && name != "axes" {
			return nil, &fieldError{"attribute " + name, "missing"}
		}
		if err := moveAttr(u, n, name, k+1, graph.Int64); err != nil {
			return nil, err
		}
	}
	return []*graph.Node{n}, nil
}

// splitParts gives Split without split sizes, in equal parts before
// opset 18, the num_outputs that opset 18 requires then.
func splitParts(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
	if len(n.Inputs) < 2 || n.Inputs[1] == "" {
		if _, ok := n.Attrs["num_outputs"]; !ok {
			n.Attrs["num_outputs"] = graph.Int(int64(len(n.Outputs)))
		}
	}
	return []*graph.Node{n}, nil
}

// topK moves TopK's k attribute (before opset 10) to input 1, a 1-D int64
// tensor of one element.
func topK(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
	if err := needInputs(n, 1); err != nil {
		return nil, err
	}
	a, ok, err := nodeAttr(n, "k", graph.AttrInt)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &fieldError{"attribute k", "missing"}
	}
	if err := setInput(n, 1, u.param(n.Name+"/k", graph.NewInt64Tensor([]int64{a.Int}, 1)), "k"); err != nil {
		return nil, err
	}
	delete(n.Attrs, "k")
	return []*graph.Node{n}, nil
}

// tile1 refuses opset 1's Tile, which repeats along one axis given as an
// input: its repeats for every axis need the input's rank.
func tile1(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
	return nil, unsupportedError(fmt.Sprintf("Tile of opset %d (tiles along one axis given as input 2)", u.opset))
}

// castTypes are Cast's type names before opset 6, by TensorProto type
// number.
var castTypes = map[string]int64{"FLOAT": 1, "UINT8": 2, "INT8": 3, "UINT16": 4, "INT16": 5, "INT32": 6, "INT64": 7,
	"STRING": 8, "BOOL": 9, "FLOAT16": 10, "DOUBLE": 11, "UINT32": 12, "UINT64": 13}

// castTo turns Cast's to, a type name before opset 6, into its number.
func castTo(u *upgrader, n *graph.Node) ([]*graph.Node, error) {
	a, ok := n.Attrs["to"]
	if !ok || a.Type != graph.AttrString {
		return []*graph.Node{n}, nil
	}
	v, ok := castTypes[a.String]
	if !ok {
		return nil, &fieldError{"attribute to", fmt.Sprintf("%q is no element type", a.String)}
	}
	n.Attrs["to"] = graph.Int(v)
	return []*graph.Node{n}, nil
}

// maxRankVisits bounds the nodes rank inference visits for one model, so
// that a long chain of old Softmax nodes costs linear time (past it, the
// general form is written).
const maxRankVisits = 1 << 16

// rank returns the rank of tensor t from the parameters, the graph inputs
// or shape inference over the nodes upgraded so far that it depends on
// (batch 1), if that succeeds.
func (r *reader) rank(t string, producer map[string]*graph.Node, visits *int) (int, bool) {
	if p, ok := r.g.Params[t]; ok {
		return len(p.Shape), true
	}
	for _, v := range r.g.Inputs {
		if v.Name == t {
			return len(v.Shape), true
		}
	}
	sub := &graph.Graph{Inputs: r.g.Inputs, Params: r.g.Params}
	seen := map[*graph.Node]bool{}
	stack := []string{t}
	for len(stack) > 0 {
		name := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := producer[name]
		if n == nil || seen[n] {
			continue
		}
		if *visits++; *visits > maxRankVisits {
			return 0, false
		}
		seen[n] = true
		sub.Nodes = append(sub.Nodes, n)
		stack = append(stack, n.Inputs...)
	}
	shapes := map[string][]int{}
	for _, v := range r.g.Inputs {
		s := slices.Clone(v.Shape)
		for i := range s {
			s[i] = max(s[i], 1)
		}
		shapes[v.Name] = s
	}
	got, err := sub.Shapes(shapes)
	if s, ok := got[t]; err == nil && ok {
		return len(s), true
	}
	return 0, false
}

// upgrade rewrites the nodes into opset 18's forms as r.g.Nodes, listing
// those the graph cannot express in r.bad.
func (r *reader) upgrade(nodes []*graph.Node) error {
	used := map[string]bool{}
	for _, n := range nodes {
		for _, in := range n.Inputs {
			used[in] = true
		}
	}
	for _, vi := range r.mp.Graph.Output {
		used[vi.GetName()] = true
	}
	producer := map[string]*graph.Node{}
	visits := 0
	u := &upgrader{opset: r.info.Opset, params: r.g.Params, tensor: r.freshTensor, node: r.freshNode,
		rank: func(t string) (int, bool) { return r.rank(t, producer, &visits) },
		used: func(t string) bool { return used[t] }}
	for _, n := range nodes {
		out, err := u.rewrite(n)
		if err != nil {
			nd := Node{Op: n.Op, Name: n.Name, Inputs: n.Inputs}
			if ue, ok := err.(unsupportedError); ok {
				nd.Reason = string(ue)
				r.bad = append(r.bad, nd)
				continue
			}
			fe := err.(*fieldError)
			return &FormatError{File: r.file, Node: nd, Field: fe.field, Reason: fmt.Sprintf("%s (opset %d)", fe.reason, r.info.Opset)}
		}
		for _, m := range out {
			r.g.Nodes = append(r.g.Nodes, m)
			for _, o := range m.Outputs {
				producer[o] = m
			}
		}
	}
	return nil
}

// prune drops the parameters that no node reads, no output returns and
// no mark names (constants an upgrade replaced, unused initializers).
func (r *reader) prune() {
	used := map[string]bool{}
	for _, n := range r.g.Nodes {
		for _, in := range n.Inputs {
			used[in] = true
		}
	}
	for _, o := range r.g.Outputs {
		used[o] = true
	}
	for _, t := range r.g.Marks {
		used[t] = true
	}
	maps.DeleteFunc(r.g.Params, func(name string, _ *graph.Tensor) bool { return !used[name] })
}
