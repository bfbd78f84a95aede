package export

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/aebridge/aebridge/graph"
)

// Down-conversion: the graph holds every node in its opset-18 form; a node
// written at an older opset is rewritten into that opset's form, by the
// op type's entry in lowerings. An op type without an entry has the same
// form at every opset from MinOpset to 18.

// UnsupportedError is a node of a graph that cannot be written at the
// requested opset: its op type is newer, or its attributes or inputs have
// no equivalent in that opset's form.
type UnsupportedError struct {
	Node   string // the node's name
	Op     string // its op type
	Tensor string // the tensor involved, if any
	Opset  int    // the opset written, 0 where the node cannot be written at any
	Reason string
}

func (e *UnsupportedError) Error() string {
	s := fmt.Sprintf("export: node %q (%s): ", e.Node, e.Op)
	if e.Tensor != "" {
		s += fmt.Sprintf("tensor %q: ", e.Tensor)
	}
	if e.Opset != 0 {
		s += fmt.Sprintf("opset %d: ", e.Opset)
	}
	return s + e.Reason
}

// lowering is what a down-conversion works with: the opset written, what
// graph.Describe knows of every tensor (shapes for ranks, values of
// constant inputs that become attributes), the names in use, and the
// initializers the conversions add.
type lowering struct {
	opset int
	infos map[string]graph.TensorInfo
	taken map[string]bool
	inits []string // names of added initializers, in order; values in infos
	empty string   // the shared empty float tensor of Resize below 13
}

// newLowering returns the lowering of g at the opset; infos is g's
// Describe.
func newLowering(g *graph.Graph, opset int, infos map[string]graph.TensorInfo) *lowering {
	l := &lowering{opset: opset, infos: infos, taken: map[string]bool{}}
	for name := range infos {
		l.taken[name] = true
	}
	for _, n := range g.Nodes {
		l.taken[n.Name] = true
	}
	return l
}

// lowerFunc rewrites a copy of a node at l.opset; it returns the nodes
// that replace it.
type lowerFunc func(l *lowering, n *graph.Node) ([]*graph.Node, error)

// lowerings are the op types whose form changed between MinOpset and 18,
// with the opsets at which it did.
var lowerings = map[string]lowerFunc{
	"Softmax":    lowerSoftmax, // 13: along one axis, not over the flattened dimensions from it
	"LogSoftmax": lowerSoftmax,
	"Hardmax":    lowerSoftmax,
	"Unsqueeze":  axesInput(13), // 13: axes an input, not an attribute
	"Squeeze":    axesInput(13),
	"ReduceSum":  reduceAxes(13), // 13: axes an input; noop_with_empty_axes
	// 18: axes an input; noop_with_empty_axes
	"ReduceMean": reduceAxes(18), "ReduceMax": reduceAxes(18), "ReduceMin": reduceAxes(18), "ReduceProd": reduceAxes(18),
	"ReduceL1": reduceAxes(18), "ReduceL2": reduceAxes(18), "ReduceLogSum": reduceAxes(18), "ReduceLogSumExp": reduceAxes(18),
	"ReduceSumSquare":    reduceAxes(18),
	"Split":              lowerSplit,     // 18: num_outputs; 13: split an input
	"Dropout":            lowerDropout,   // 12: ratio and training_mode inputs, seed
	"BatchNormalization": lowerBatchNorm, // 14: training_mode, running statistics as outputs
	"Reshape":            lowerReshape,   // 14: allowzero
	"Shape":              lowerShape,     // 15: start and end
	"Constant":           lowerConstant,  // 12: value_float, value_ints, …
	"Resize":             lowerResize,    // 18: antialias, axes, keep_aspect_ratio_policy; 13: roi and scales optional
	"Pad":                lowerPad,       // 18: axes
	"ArgMax":             dropDefault(12, "select_last_index", graph.Int(0)),
	"ArgMin":             dropDefault(12, "select_last_index", graph.Int(0)),
	"GatherND":           dropDefault(12, "batch_dims", graph.Int(0)),
	"LSTM":               lowerRNN, // 14: layout; sequence_lens int32 at every opset
	"GRU":                lowerRNN,
	"RNN":                dropDefault(14, "layout", graph.Int(0)),
	"LpPool":             lowerLpPool,   // 18: ceil_mode, dilations
	"RoiAlign":           lowerRoiAlign, // 16: coordinate_transformation_mode
	"ScatterND":          lowerScatter,  // 16: reduction; 18: its max and min
	"ScatterElements":    lowerScatter,
	"Gelu":               lowerGelu,      // 20: Gelu itself
	"HardSwish":          lowerHardSwish, // 14: HardSwish itself
	"LayerNormalization": lowerLayerNorm, // 17: LayerNormalization itself
}

// introduced are the opsets that op types newer than MinOpset first
// appear in (those after 18 are never written).
var introduced = map[string]int{
	"Celu": 12, "Einsum": 12, "GreaterOrEqual": 12, "LessOrEqual": 12, "NegativeLogLikelihoodLoss": 12, "SoftmaxCrossEntropyLoss": 12,
	"Trilu": 14, "Bernoulli": 15, "CastLike": 15, "GridSample": 16,
	"DFT": 17, "STFT": 17, "BlackmanWindow": 17, "HammingWindow": 17, "HannWindow": 17, "MelWeightMatrix": 17,
	"Mish": 18, "GroupNormalization": 18, "CenterCropPad": 18, "Col2Im": 18,
	"BitwiseAnd": 18, "BitwiseNot": 18, "BitwiseOr": 18, "BitwiseXor": 18,
	"AffineGrid": 20, "ImageDecoder": 20,
	"RMSNormalization": 23, "RotaryEmbedding": 23, "Attention": 23,
}

// lowerAt18 are the op types whose lowering applies at opset 18 too.
var lowerAt18 = map[string]bool{"Gelu": true, "LSTM": true, "GRU": true, "Pad": true}

// lower returns the nodes that write n at l.opset.
func (l *lowering) lower(n *graph.Node) ([]*graph.Node, error) {
	if v, ok := introduced[n.Op]; ok && l.opset < v {
		return nil, l.errorf(n, "", "%s first appears in opset %d", n.Op, v)
	}
	f, ok := lowerings[n.Op]
	if !ok || l.opset >= 18 && !lowerAt18[n.Op] {
		return []*graph.Node{n}, nil
	}
	c := &graph.Node{Name: n.Name, Op: n.Op, Inputs: slices.Clone(n.Inputs), Outputs: slices.Clone(n.Outputs), Attrs: maps.Clone(n.Attrs)}
	if c.Attrs == nil {
		c.Attrs = map[string]graph.Attribute{}
	}
	return f(l, c)
}

func (l *lowering) errorf(n *graph.Node, tensor, format string, args ...any) error {
	return &UnsupportedError{Node: n.Name, Op: n.Op, Tensor: tensor, Opset: l.opset, Reason: fmt.Sprintf(format, args...)}
}

// input is n's input k, "" where it is left out.
func input(n *graph.Node, k int) string {
	if k < len(n.Inputs) {
		return n.Inputs[k]
	}
	return ""
}

// dropInputs leaves out n's inputs from k on.
func dropInputs(n *graph.Node, k int) {
	if k < len(n.Inputs) {
		n.Inputs = n.Inputs[:k]
	}
}

// setInput sets n's input k, adding left-out ones before it.
func setInput(n *graph.Node, k int, name string) {
	for len(n.Inputs) <= k {
		n.Inputs = append(n.Inputs, "")
	}
	n.Inputs[k] = name
}

// constant returns the value of n's input k, which opset l.opset takes as
// an attribute, or an error if it is not known before the graph runs (or
// depends on the batch size) or is not of type typ.
func (l *lowering) constant(n *graph.Node, k int, typ graph.DType) (*graph.Tensor, error) {
	name := input(n, k)
	v := l.infos[name].Value
	if v == nil {
		return nil, l.errorf(n, name, "input %d must be a constant (opset %d takes it as an attribute); it is computed as the graph runs", k, l.opset)
	}
	if v.Type != typ {
		return nil, l.errorf(n, name, "input %d is %v, want %v", k, v.Type, typ)
	}
	return v, nil
}

// rank is the rank of n's input k.
func (l *lowering) rank(n *graph.Node, k int) int { return len(l.infos[input(n, k)].Shape) }

// fresh returns an unused name made from base.
func (l *lowering) fresh(base string) string {
	name := base
	for i := 1; l.taken[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	l.taken[name] = true
	return name
}

// initializer adds t as an initializer named after base and returns its
// name.
func (l *lowering) initializer(base string, t *graph.Tensor) string {
	name := l.fresh(base)
	l.inits = append(l.inits, name)
	l.infos[name] = graph.TensorInfo{Shape: slices.Clone(t.Shape), Type: t.Type, Value: t}
	return name
}

func int64s(v []int64) *graph.Tensor { return graph.NewInt64Tensor(v, len(v)) }

// normAxes returns the axes counted from 0 in rank r, or false if one is
// outside [−r, r).
func normAxes(axes []int64, r int) ([]int, bool) {
	out := make([]int, len(axes))
	for i, a := range axes {
		if a < 0 {
			a += int64(r)
		}
		if a < 0 || a >= int64(r) {
			return nil, false
		}
		out[i] = int(a)
	}
	return out, true
}

// sameAttr reports whether a and b are the same attribute value.
func sameAttr(a, b graph.Attribute) bool {
	return a.Type == b.Type && a.Float == b.Float && a.Int == b.Int && a.String == b.String &&
		slices.Equal(a.Floats, b.Floats) && slices.Equal(a.Ints, b.Ints) && a.Tensor == b.Tensor
}

// dropDefault is the conversion of an attribute added at opset since:
// below it the attribute must have its default, and is left out.
func dropDefault(since int, name string, def graph.Attribute) lowerFunc {
	return func(l *lowering, n *graph.Node) ([]*graph.Node, error) {
		if err := l.dropDefault(n, since, name, def); err != nil {
			return nil, err
		}
		return []*graph.Node{n}, nil
	}
}

func (l *lowering) dropDefault(n *graph.Node, since int, name string, def graph.Attribute) error {
	if l.opset >= since {
		return nil
	}
	if a, ok := n.Attrs[name]; ok && !sameAttr(a, def) {
		return l.errorf(n, "", "attribute %s = %v: opset %d has no %s (it came in opset %d), and %v is not its default", name, attrValue(a), l.opset, name, since, attrValue(a))
	}
	delete(n.Attrs, name)
	return nil
}

// attrValue is the value of an attribute for messages.
func attrValue(a graph.Attribute) any {
	switch a.Type {
	case graph.AttrFloat:
		return a.Float
	case graph.AttrInt:
		return a.Int
	case graph.AttrString:
		return fmt.Sprintf("%q", a.String)
	case graph.AttrFloats:
		return a.Floats
	case graph.AttrInts:
		return a.Ints
	case graph.AttrTensor:
		return "a tensor"
	}
	return a.Type
}

// lowerSoftmax writes Softmax (LogSoftmax, Hardmax) below 13, where it
// works on its input coerced to a matrix at axis (the dimensions from axis
// on flattened): the same along one axis only when axis is the last. Along
// another axis, a Transpose swaps it with the last before and after.
func lowerSoftmax(l *lowering, n *graph.Node) ([]*graph.Node, error) {
	if l.opset >= 13 {
		return []*graph.Node{n}, nil
	}
	r := l.rank(n, 0)
	axes, ok := normAxes([]int64{n.Int("axis", -1)}, r)
	if !ok {
		return nil, l.errorf(n, "", "attribute axis = %d: outside [−%d, %d)", n.Int("axis", -1), r, r)
	}
	n.Attrs["axis"] = graph.Int(int64(r - 1))
	if axes[0] == r-1 {
		return []*graph.Node{n}, nil
	}
	perm := make([]int64, r)
	for i := range perm {
		perm[i] = int64(i)
	}
	perm[axes[0]], perm[r-1] = int64(r-1), int64(axes[0])
	in, out := n.Inputs[0], n.Outputs[0]
	before, after := l.fresh(out+"/axis_last"), l.fresh(out+"/along_last")
	n.Inputs[0], n.Outputs[0] = before, after
	return []*graph.Node{
		{Name: l.fresh(n.Name + "/axis_last"), Op: "Transpose", Inputs: []string{in}, Outputs: []string{before}, Attrs: map[string]graph.Attribute{"perm": graph.Ints(perm...)}},
		n,
		{Name: l.fresh(n.Name + "/axis_back"), Op: "Transpose", Inputs: []string{after}, Outputs: []string{out}, Attrs: map[string]graph.Attribute{"perm": graph.Ints(perm...)}},
	}, nil
}

// axesInput is the conversion of Unsqueeze and Squeeze below since, where
// their axes are an attribute.
func axesInput(since int) lowerFunc {
	return func(l *lowering, n *graph.Node) ([]*graph.Node, error) {
		if l.opset >= since || input(n, 1) == "" {
			return []*graph.Node{n}, nil
		}
		axes, err := l.constant(n, 1, graph.Int64)
		if err != nil {
			return nil, err
		}
		n.Attrs["axes"] = graph.Ints(slices.Clone(axes.Int64)...)
		dropInputs(n, 1)
		return []*graph.Node{n}, nil
	}
}

// reduceAxes is the conversion of a reduction below since, where its axes
// are an attribute and there is no noop_with_empty_axes: reducing over no
// axes reduces over all, and the no-op is written by reduceNoop.
func reduceAxes(since int) lowerFunc {
	return func(l *lowering, n *graph.Node) ([]*graph.Node, error) {
		if l.opset >= since {
			return []*graph.Node{n}, nil
		}
		var axes []int64
		if input(n, 1) != "" {
			t, err := l.constant(n, 1, graph.Int64)
			if err != nil {
				return nil, err
			}
			axes = t.Int64
		}
		noop := n.Int("noop_with_empty_axes", 0) != 0
		delete(n.Attrs, "noop_with_empty_axes")
		dropInputs(n, 1)
		switch {
		case len(axes) > 0:
			n.Attrs["axes"] = graph.Ints(slices.Clone(axes)...)
		case noop:
			return []*graph.Node{reduceNoop(n)}, nil
		}
		return []*graph.Node{n}, nil
	}
}

// lowerSplit writes Split below 18, where num_outputs does not exist (the
// number of outputs splits equally), and below 13, where split is an
// attribute.
func lowerSplit(l *lowering, n *graph.Node) ([]*graph.Node, error) {
	if a, ok := n.Attrs["num_outputs"]; ok {
		delete(n.Attrs, "num_outputs")
		if input(n, 1) != "" {
			return nil, l.errorf(n, "", "both num_outputs and the split input given")
		}
		shape := l.infos[input(n, 0)].Shape
		axes, ok := normAxes([]int64{n.Int("axis", 0)}, len(shape))
		if !ok {
			return nil, l.errorf(n, "", "attribute axis = %d: outside the input's rank %d", n.Int("axis", 0), len(shape))
		}
		d, k := shape[axes[0]], int(a.Int)
		if d < 0 {
			return nil, l.errorf(n, input(n, 0), "num_outputs = %d: opset %d cannot split a dimension that depends on the batch size into parts of which the last may be shorter", k, l.opset)
		}
		if k != len(n.Outputs) || k <= 0 {
			return nil, l.errorf(n, "", "attribute num_outputs = %d: the node has %d outputs", k, len(n.Outputs))
		}
		if d%k != 0 { // ⌈d/k⌉ each, the last shorter
			part := (d + k - 1) / k
			sizes := make([]int64, k)
			for i := range sizes {
				sizes[i] = int64(min(part, d-min(d, i*part)))
			}
			setInput(n, 1, l.initializer(n.Name+"/split", int64s(sizes)))
		}
	}
	if l.opset < 13 && input(n, 1) != "" {
		split, err := l.constant(n, 1, graph.Int64)
		if err != nil {
			return nil, err
		}
		n.Attrs["split"] = graph.Ints(slices.Clone(split.Int64)...)
		dropInputs(n, 1)
	}
	return []*graph.Node{n}, nil
}

// lowerDropout writes Dropout below 12, where ratio is an attribute and
// there is no training mode (the graph written is for inference).
func lowerDropout(l *lowering, n *graph.Node) ([]*graph.Node, error) {
	if l.opset >= 12 {
		return []*graph.Node{n}, nil
	}
	if input(n, 1) != "" {
		ratio, err := l.constant(n, 1, graph.Float32)
		if err != nil {
			return nil, err
		}
		if len(ratio.Data) != 1 {
			return nil, l.errorf(n, input(n, 1), "ratio of shape %v, want a scalar", ratio.Shape)
		}
		n.Attrs["ratio"] = graph.Float(ratio.Data[0])
	}
	if name := input(n, 2); name != "" {
		v := l.infos[name].Value
		if v == nil || v.Len() != 1 || v.Type == graph.Int64 && v.Int64[0] != 0 || v.Type == graph.Float32 && v.Data[0] != 0 {
			return nil, l.errorf(n, name, "training_mode: opset %d has no training mode; only a constant false can be written", l.opset)
		}
	}
	delete(n.Attrs, "seed")
	dropInputs(n, 1)
	return []*graph.Node{n}, nil
}

// lowerBatchNorm writes BatchNormalization below 14, where the running
// statistics it updates in training are not its outputs in the same way:
// only inference (training_mode 0, the output Y alone) is written.
func lowerBatchNorm(l *lowering, n *graph.Node) ([]*graph.Node, error) {
	if l.opset >= 14 {
		return []*graph.Node{n}, nil
	}
	if err := l.dropDefault(n, 14, "training_mode", graph.Int(0)); err != nil {
		return nil, err
	}
	for _, out := range n.Outputs[1:] {
		if out != "" {
			return nil, l.errorf(n, out, "the running statistics as outputs (training mode) cannot be written below opset 14")
		}
	}
	n.Outputs = n.Outputs[:1]
	return []*graph.Node{n}, nil
}

// lowerReshape writes Reshape below 14, where a 0 in the shape always
// copies the input's dimension: allowzero 1 can be left out only where
// the shape has no 0.
func lowerReshape(l *lowering, n *graph.Node) ([]*graph.Node, error) {
	if l.opset >= 14 {
		return []*graph.Node{n}, nil
	}
	if n.Int("allowzero", 0) != 0 {
		shape, err := l.constant(n, 1, graph.Int64)
		if err != nil {
			return nil, l.errorf(n, input(n, 1), "allowzero = 1 needs a constant shape without zeros below opset 14")
		}
		if slices.Contains(shape.Int64, 0) {
			return nil, l.errorf(n, input(n, 1), "allowzero = 1 with a 0 in the shape %v cannot be written below opset 14", shape.Int64)
		}
	}
	delete(n.Attrs, "allowzero")
	return []*graph.Node{n}, nil
}

// lowerShape writes Shape below 15, which has no start and end: a Slice of
// the whole shape.
func lowerShape(l *lowering, n *graph.Node) ([]*graph.Node, error) {
	if l.opset >= 15 {
		return []*graph.Node{n}, nil
	}
	start := n.Int("start", 0)
	_, hasEnd := n.Attrs["end"]
	end := n.Int("end", math.MaxInt64)
	delete(n.Attrs, "start")
	delete(n.Attrs, "end")
	if start == 0 && !hasEnd {
		return []*graph.Node{n}, nil
	}
	out := n.Outputs[0]
	whole := l.fresh(out + "/whole")
	n.Outputs[0] = whole
	slice := &graph.Node{Name: l.fresh(n.Name + "/slice"), Op: "Slice", Outputs: []string{out}, Inputs: []string{whole,
		l.initializer(n.Name+"/starts", int64s([]int64{start})), l.initializer(n.Name+"/ends", int64s([]int64{end})),
		l.initializer(n.Name+"/axes", int64s([]int64{0}))}}
	return []*graph.Node{n, slice}, nil
}

// lowerConstant writes Constant below 12, whose value is a tensor
// attribute only.
func lowerConstant(l *lowering, n *graph.Node) ([]*graph.Node, error) {
	if l.opset >= 12 {
		return []*graph.Node{n}, nil
	}
	for _, name := range sortedNames(n.Attrs) {
		a := n.Attrs[name]
		var t *graph.Tensor
		switch name {
		case "value":
			continue
		case "value_float":
			t = &graph.Tensor{Data: []float32{a.Float}}
		case "value_floats":
			t = &graph.Tensor{Shape: []int{len(a.Floats)}, Data: slices.Clone(a.Floats)}
		case "value_int":
			t = graph.NewInt64Tensor([]int64{a.Int})
		case "value_ints":
			t = int64s(slices.Clone(a.Ints))
		default:
			return nil, l.errorf(n, "", "attribute %s: opset %d's Constant takes a tensor value only", name, l.opset)
		}
		delete(n.Attrs, name)
		n.Attrs["value"] = graph.TensorAttr(t)
	}
	return []*graph.Node{n}, nil
}

// lowerScatter writes ScatterND and ScatterElements below 18, which have no
// max and min reductions, and below 16, which have no reduction.
func lowerScatter(l *lowering, n *graph.Node) ([]*graph.Node, error) {
	if a, ok := n.Attrs["reduction"]; ok && (a.String == "max" || a.String == "min") {
		return nil, l.errorf(n, "", "attribute reduction = %q: came in opset 18", a.String)
	}
	if err := l.dropDefault(n, 16, "reduction", graph.String("none")); err != nil {
		return nil, err
	}
	return []*graph.Node{n}, nil
}

// lowerLpPool writes LpPool below 18, which has no ceil_mode and no
// dilations.
func lowerLpPool(l *lowering, n *graph.Node) ([]*graph.Node, error) {
	if a, ok := n.Attrs["dilations"]; ok && l.opset < 18 {
		if slices.ContainsFunc(a.Ints, func(d int64) bool { return d != 1 }) {
			return nil, l.errorf(n, "", "attribute dilations = %v: came in opset 18", a.Ints)
		}
		delete(n.Attrs, "dilations")
	}
	return dropDefault(18, "ceil_mode", graph.Int(0))(l, n)
}

// lowerRoiAlign writes RoiAlign below 16, which has no
// coordinate_transformation_mode and works as its "output_half_pixel"
// (the default since 16 is "half_pixel").
func lowerRoiAlign(l *lowering, n *graph.Node) ([]*graph.Node, error) {
	if l.opset >= 16 {
		return []*graph.Node{n}, nil
	}
	mode := "half_pixel"
	if a, ok := n.Attrs["coordinate_transformation_mode"]; ok {
		mode = a.String
	}
	if mode != "output_half_pixel" {
		return nil, l.errorf(n, "", "coordinate_transformation_mode %q: opset %d works as \"output_half_pixel\" only", mode, l.opset)
	}
	delete(n.Attrs, "coordinate_transformation_mode")
	return []*graph.Node{n}, nil
}

func sortedNames[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// lowerGelu writes Gelu below opset 20, which has none, as PyTorch exports
// GELU: x·(1 + erf(x/√2))·0.5, or in the tanh form
// x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))·0.5.
func lowerGelu(l *lowering, n *graph.Node) ([]*graph.Node, error) {
	var nodes []*graph.Node
	x, y := n.Inputs[0], n.Outputs[0]
	scalar := func(v float32) string {
		return l.initializer(n.Name+"/const", &graph.Tensor{Shape: []int{}, Data: []float32{v}})
	}
	op := func(op string, in ...string) string {
		out := l.fresh(y + "/" + op)
		nodes = append(nodes, &graph.Node{Name: l.fresh(n.Name + "/" + op), Op: op, Inputs: in, Outputs: []string{out}})
		return out
	}
	var inner string
	switch a := n.Attrs["approximate"].String; a {
	case "", "none":
		inner = op("Erf", op("Div", x, scalar(float32(math.Sqrt2))))
	case "tanh":
		x3 := op("Mul", op("Mul", x, x), x)
		u := op("Add", x, op("Mul", x3, scalar(0.044715)))
		inner = op("Tanh", op("Mul", u, scalar(float32(math.Sqrt(2/math.Pi)))))
	default:
		return nil, l.errorf(n, "", "attribute approximate = %q: want \"none\" or \"tanh\"", a)
	}
	prod := op("Mul", x, op("Add", inner, scalar(1)))
	last := &graph.Node{Name: n.Name, Op: "Mul", Inputs: []string{prod, scalar(0.5)}, Outputs: []string{y}}
	return append(nodes, last), nil
}
