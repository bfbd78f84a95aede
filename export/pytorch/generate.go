package pytorch

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/aebridge/aebridge/graph"
)

// Node is a graph node as an UnsupportedError names it.
type Node struct {
	Name   string
	Op     string
	Reason string
}

// UnsupportedError lists every node of a graph that the generator does
// not write as PyTorch code, and why; nothing is generated then.
type UnsupportedError struct {
	Nodes []Node
}

func (e *UnsupportedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pytorch: %d node(s) not supported:", len(e.Nodes))
	for _, n := range e.Nodes {
		fmt.Fprintf(&b, "\n  %s %q: %s", n.Op, n.Name, n.Reason)
	}
	return b.String()
}

// configSlots are the inputs of an op type that the generated code reads
// as Python values (shapes, axes, scales, ratios), not as tensors: the
// subgraphs computing them are left out, the values taken from the
// graph's parameters or from shape inference.
var configSlots = map[string][]int{
	"Reshape": {1}, "Expand": {1}, "Tile": {1}, "Slice": {1, 2, 3, 4}, "Squeeze": {1}, "Unsqueeze": {1},
	"Resize": {1, 2, 3}, "ConstantOfShape": {0}, "MaxUnpool": {2}, "Dropout": {1, 2}, "Pad": {1, 2, 3},
}

func isConfig(op string, k int) bool { return slices.Contains(configSlots[op], k) }

// gen is the state of one generation.
type gen struct {
	g       *graph.Graph
	shapes  [3]map[string][]int // inferred at batches 1, 2 and 3
	needed  map[string]bool     // tensors the outputs and marks depend on
	int64s  map[string]bool     // int64 tensors
	order   []*graph.Node
	bad     []Node
	tree    *tree
	sdPath  map[string][]string // graph parameter → its state-dict path
	names   map[string]string   // state-dict key → graph name, where they differ
	inlined []string            // graph parameters written as Python values
	vars    map[string]string   // tensor → Python variable
	taken   map[string]bool     // variable names in use
	layers  map[*graph.Node][]string
	init    []string // __init__ lines
	body    []string // forward lines
	batch   string   // the input whose first dimension is the batch
	usesN   bool
	sampled string // the variable the decoder reads for μ, in a VAE
	// batchNorms are the dimensions of the batch normalisation layers.
	batchNorms map[int]bool
}

// batches are the batch sizes shape inference runs at to tell the batch
// dimension from the fixed ones.
var batches = [3]int{1, 2, 3}

func newGen(g *graph.Graph) (*gen, error) {
	x := &gen{g: g, needed: map[string]bool{}, int64s: map[string]bool{}, tree: newTree("root"), sdPath: map[string][]string{},
		names: map[string]string{}, vars: map[string]string{}, taken: map[string]bool{}, layers: map[*graph.Node][]string{}, batchNorms: map[int]bool{}}
	order, err := g.Order()
	if err != nil {
		return nil, fmt.Errorf("pytorch: %w", err)
	}
	for i, b := range batches {
		in := map[string][]int{}
		for _, v := range g.Inputs {
			s := slices.Clone(v.Shape)
			for k := range s {
				if s[k] < 0 {
					s[k] = b
				}
			}
			in[v.Name] = s
		}
		if x.shapes[i], err = g.Shapes(in); err != nil {
			return nil, fmt.Errorf("pytorch: %w", err)
		}
	}
	for _, v := range g.Inputs {
		if v.Type == graph.Int64 {
			x.int64s[v.Name] = true
		}
		if x.batch == "" && len(v.Shape) > 0 && v.Shape[0] < 0 {
			x.batch = v.Name
		}
	}
	for name, p := range g.Params {
		if p.Type == graph.Int64 {
			x.int64s[name] = true
		}
	}
	for _, n := range order {
		if producesInt64(n, x.int64s) {
			for _, o := range n.Outputs {
				x.int64s[o] = true
			}
		}
	}
	// Liveness from the outputs and the marks, not through configuration
	// inputs.
	for _, out := range g.Outputs {
		x.needed[out] = true
	}
	for _, t := range g.Marks {
		x.needed[t] = true
	}
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		live := false
		for _, o := range n.Outputs {
			live = live || (o != "" && x.needed[o])
		}
		if !live {
			continue
		}
		x.order = append(x.order, n)
		for k, in := range n.Inputs {
			if in != "" && !isConfig(n.Op, k) {
				x.needed[in] = true
			}
		}
	}
	slices.Reverse(x.order)
	return x, nil
}

// producesInt64 reports whether n's outputs are int64.
func producesInt64(n *graph.Node, int64s map[string]bool) bool {
	switch n.Op {
	case "Shape":
		return true
	case "Cast":
		return n.Int("to", 1) == 7
	case "Constant":
		if a, ok := n.Attrs["value"]; ok && a.Tensor != nil {
			return a.Tensor.Type == graph.Int64
		}
		_, ints := n.Attrs["value_ints"]
		_, one := n.Attrs["value_int"]
		return ints || one
	case "ConstantOfShape":
		a, ok := n.Attrs["value"]
		return ok && a.Tensor != nil && a.Tensor.Type == graph.Int64
	case "Gather":
		return len(n.Inputs) > 0 && int64s[n.Inputs[0]]
	}
	return len(n.Inputs) > 0 && int64s[n.Inputs[0]]
}

func (x *gen) fail(n *graph.Node, format string, args ...any) {
	x.bad = append(x.bad, Node{Name: n.Name, Op: n.Op, Reason: fmt.Sprintf(format, args...)})
}

// symDims returns the dimensions of tensor t as Python expressions: a
// number, "n" (the batch) or "k * n", or ok false where a dimension
// changes with the batch otherwise.
func (x *gen) symDims(t string) ([]string, bool) {
	s1, s2, s3 := x.shapes[0][t], x.shapes[1][t], x.shapes[2][t]
	if len(s1) != len(s2) || len(s1) != len(s3) {
		return nil, false
	}
	out := make([]string, len(s1))
	for i := range s1 {
		a, b, c := s1[i], s2[i], s3[i]
		switch {
		case a == b && b == c:
			out[i] = strconv.Itoa(a)
		case b == 2*a && c == 3*a && a == 1:
			out[i] = "n"
			x.usesN = true
		case b == 2*a && c == 3*a:
			out[i] = fmt.Sprintf("%d * n", a)
			x.usesN = true
		default:
			return nil, false
		}
	}
	return out, true
}

// staticDims returns the dimensions of t from index from on, which must
// not change with the batch.
func (x *gen) staticDims(t string, from int) ([]int, bool) {
	s1, s2 := x.shapes[0][t], x.shapes[1][t]
	if len(s1) != len(s2) || len(s1) < from {
		return nil, false
	}
	if !slices.Equal(s1[from:], s2[from:]) {
		return nil, false
	}
	return slices.Clone(s1[from:]), true
}

// pyFloat writes a float32 as the shortest Python literal that reads back
// as the same float32.
func pyFloat(v float32) string {
	switch {
	case math.IsInf(float64(v), 1):
		return "math.inf"
	case math.IsInf(float64(v), -1):
		return "-math.inf"
	case math.IsNaN(float64(v)):
		return "math.nan"
	}
	s := strconv.FormatFloat(float64(v), 'g', -1, 32)
	if !strings.ContainsAny(s, ".en") {
		s += ".0"
	}
	return s
}

func pyInts[T int | int64](v []T) string {
	parts := make([]string, len(v))
	for i, d := range v {
		parts[i] = strconv.FormatInt(int64(d), 10)
	}
	return strings.Join(parts, ", ")
}

func pyTuple[T int | int64](v []T) string {
	if len(v) == 1 {
		return "(" + pyInts(v) + ",)"
	}
	return "(" + pyInts(v) + ")"
}

// pyArg writes a per-dimension argument as one number when all agree.
func pyArg(v []int64) string {
	if len(v) > 0 && slices.Min(v) == slices.Max(v) {
		return strconv.FormatInt(v[0], 10)
	}
	return pyTuple(v)
}

// ints returns the integer-list attribute name of n, or def.
func ints(n *graph.Node, name string, def []int64) []int64 {
	if a, ok := n.Attrs[name]; ok {
		return a.Ints
	}
	return def
}

func filled(n int, v int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// symmetric splits ONNX pads (begins, then ends) into per-axis padding,
// ok false where a begin and its end differ.
func symmetric(pads []int64) ([]int64, bool) {
	d := len(pads) / 2
	for i := 0; i < d; i++ {
		if pads[i] != pads[d+i] {
			return nil, false
		}
	}
	return pads[:d], true
}

// torchPad is ONNX pads as F.pad takes them: the last axis first, each
// (begin, end).
func torchPad(pads []int64) []int64 {
	d := len(pads) / 2
	var out []int64
	for i := d - 1; i >= 0; i-- {
		out = append(out, pads[i], pads[d+i])
	}
	return out
}

// param returns the float32 parameter name of the graph, or nil.
func (x *gen) param(name string) *graph.Tensor {
	if p, ok := x.g.Params[name]; ok && p.Type == graph.Float32 {
		return p
	}
	return nil
}

// floatsOf returns the values of a float32 parameter feeding a
// configuration input, and records it as inlined.
func (x *gen) floatsOf(name string) ([]float32, bool) {
	p := x.param(name)
	if p == nil {
		return nil, false
	}
	if !x.needed[name] && !slices.Contains(x.inlined, name) {
		x.inlined = append(x.inlined, name)
	}
	return p.Data, true
}

// int64sOf returns the values of an int64 parameter, or ok false for a
// tensor computed at run time.
func (x *gen) int64sOf(name string) ([]int64, bool) {
	if p, ok := x.g.Params[name]; ok && p.Type == graph.Int64 {
		return p.Int64, true
	}
	return nil, false
}

// uses counts the nodes of the generated forward reading each tensor.
func (x *gen) uses() map[string]int {
	u := map[string]int{}
	for _, n := range x.order {
		for k, in := range n.Inputs {
			if in != "" && !isConfig(n.Op, k) {
				u[in]++
			}
		}
	}
	return u
}
