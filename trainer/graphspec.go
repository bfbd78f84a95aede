package trainer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/limits"
)

// GraphSpec is a graph as config.json holds it, for models that are
// graphs rather than a recipe of layers (variant "graph": imported from
// ONNX and fine-tuned, or built by hand): its inputs, nodes, outputs and
// marks, and its parameters' names, shapes and types. Float parameters
// are stored in model.safetensors under their names; int64 ones (shapes,
// axes, indices) are small and stored here, with their values.
type GraphSpec struct {
	Inputs  []ValueSpec       `json:"inputs"`
	Outputs []string          `json:"outputs"`
	Nodes   []NodeSpec        `json:"nodes"`
	Params  []ParamSpec       `json:"params"`
	Marks   map[string]string `json:"marks,omitempty"`
}

// ValueSpec is a graph input: its name, shape (−1 for the batch) and type.
type ValueSpec struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	Type  string `json:"type,omitempty"` // "float32" (default) or "int64"
}

// NodeSpec is a node: its name, ONNX op type, inputs, outputs and
// attributes.
type NodeSpec struct {
	Name    string              `json:"name"`
	Op      string              `json:"op"`
	Inputs  []string            `json:"inputs"`
	Outputs []string            `json:"outputs"`
	Attrs   map[string]AttrSpec `json:"attrs,omitempty"`
}

// AttrSpec is an attribute: its type ("float", "int", "string", "floats",
// "ints", "tensor") and the field of that type.
type AttrSpec struct {
	Type   string     `json:"type"`
	Float  float32    `json:"f,omitempty"`
	Int    int64      `json:"i,omitempty"`
	String string     `json:"s,omitempty"`
	Floats []float32  `json:"floats,omitempty"`
	Ints   []int64    `json:"ints,omitempty"`
	Tensor *ParamSpec `json:"t,omitempty"`
}

// ParamSpec is a parameter: its name, shape and type, and the values of an
// int64 one (or of a tensor attribute).
type ParamSpec struct {
	Name   string    `json:"name,omitempty"`
	Shape  []int     `json:"shape"`
	Type   string    `json:"type,omitempty"` // "float32" (default) or "int64"
	Int64  []int64   `json:"int64,omitempty"`
	Floats []float32 `json:"floats,omitempty"` // a tensor attribute's float values
}

var attrTypes = map[graph.AttrType]string{graph.AttrFloat: "float", graph.AttrInt: "int", graph.AttrString: "string",
	graph.AttrFloats: "floats", graph.AttrInts: "ints", graph.AttrTensor: "tensor"}

func dtypeName(t graph.DType) string {
	if t == graph.Int64 {
		return "int64"
	}
	return "float32"
}

// SpecOf describes g as config.json holds it (the values of its float
// parameters left out: they go to model.safetensors).
func SpecOf(g *graph.Graph) *GraphSpec {
	s := &GraphSpec{Outputs: slices.Clone(g.Outputs), Marks: g.Marks}
	for _, v := range g.Inputs {
		s.Inputs = append(s.Inputs, ValueSpec{Name: v.Name, Shape: slices.Clone(v.Shape), Type: dtypeName(v.Type)})
	}
	for _, n := range g.Nodes {
		ns := NodeSpec{Name: n.Name, Op: n.Op, Inputs: slices.Clone(n.Inputs), Outputs: slices.Clone(n.Outputs)}
		for name, a := range n.Attrs {
			if ns.Attrs == nil {
				ns.Attrs = map[string]AttrSpec{}
			}
			as := AttrSpec{Type: attrTypes[a.Type], Float: a.Float, Int: a.Int, String: a.String, Floats: a.Floats, Ints: a.Ints}
			if a.Tensor != nil {
				as.Tensor = &ParamSpec{Shape: a.Tensor.Shape, Type: dtypeName(a.Tensor.Type), Int64: a.Tensor.Int64, Floats: a.Tensor.Data}
			}
			ns.Attrs[name] = as
		}
		s.Nodes = append(s.Nodes, ns)
	}
	names := make([]string, 0, len(g.Params))
	for name := range g.Params {
		names = append(names, name)
	}
	slices.Sort(names)
	constants := floatConstants(g)
	for _, name := range names {
		p := g.Params[name]
		ps := ParamSpec{Name: name, Shape: slices.Clone(p.Shape), Type: dtypeName(p.Type)}
		if p.Type == graph.Int64 {
			ps.Int64 = p.Int64
		} else if constants[name] {
			ps.Floats = p.Data
		}
		s.Params = append(s.Params, ps)
	}
	return s
}

// maxInlineFloats is the most values of a float constant config.json
// holds itself.
const maxInlineFloats = 1 << 12

// floatConstants are the float32 parameters of g that shape inference
// reads — Resize's scales, Dropout's ratio: not trained, and not running
// statistics — small enough for config.json, which then holds their
// values, so that the graph it describes holds together before its weights
// are loaded.
func floatConstants(g *graph.Graph) map[string]bool {
	trainable := map[string]bool{}
	for _, name := range g.Trainable() {
		trainable[name] = true
	}
	stats := map[string]bool{}
	for _, n := range g.Nodes {
		if n.Op == "BatchNormalization" {
			for _, in := range n.Inputs[min(3, len(n.Inputs)):] {
				stats[in] = true
			}
		}
	}
	out := map[string]bool{}
	for name, p := range g.Params {
		if p.Type == graph.Float32 && !trainable[name] && !stats[name] && p.Len() <= maxInlineFloats {
			out[name] = true
		}
	}
	return out
}

// tensorOf checks a parameter's description against the limits and makes
// its tensor: zeros for float32 (the weights come from model.safetensors),
// the values given for int64.
func (p ParamSpec) tensorOf(what string, dry bool) (*graph.Tensor, error) {
	n, err := limits.ElementsInt(p.Shape)
	if err != nil {
		return nil, fmt.Errorf("%s: shape %v: %w", what, p.Shape, err)
	}
	switch p.Type {
	case "", "float32":
		if p.Floats != nil {
			if len(p.Floats) != n {
				return nil, fmt.Errorf("%s: %d float values for shape %v", what, len(p.Floats), p.Shape)
			}
			return &graph.Tensor{Shape: slices.Clone(p.Shape), Data: slices.Clone(p.Floats)}, nil
		}
		if p.Int64 != nil {
			return nil, fmt.Errorf("%s: int64 values for a float32 tensor", what)
		}
		if dry {
			return &graph.Tensor{Shape: slices.Clone(p.Shape)}, nil
		}
		return graph.NewTensor(p.Shape...), nil
	case "int64":
		if len(p.Int64) != n || p.Floats != nil {
			return nil, fmt.Errorf("%s: %d int64 values for shape %v", what, len(p.Int64), p.Shape)
		}
		return graph.NewInt64Tensor(p.Int64, p.Shape...), nil
	}
	return nil, fmt.Errorf("%s: type %q (want float32 or int64)", what, p.Type)
}

// Graph makes the graph s describes, with zero float weights, and checks
// it against the limits (nodes, parameters) and for holding together
// (graph.Graph.Shapes at a batch of 1), naming the part at fault.
func (s *GraphSpec) Graph() (*graph.Graph, error) { return s.graph(false) }

// graph is Graph; dry, it allocates no float weights (the tensors have
// their shapes and no values): a check of the description alone.
func (s *GraphSpec) graph(dry bool) (*graph.Graph, error) {
	if len(s.Nodes) > limits.MaxNodes {
		return nil, fmt.Errorf("trainer: graph: %d nodes, more than %d", len(s.Nodes), limits.MaxNodes)
	}
	g := &graph.Graph{Outputs: slices.Clone(s.Outputs), Params: map[string]*graph.Tensor{}, Marks: map[string]string{}}
	for role, t := range s.Marks {
		g.Marks[role] = t
	}
	shapes := map[string][]int{}
	for i, v := range s.Inputs {
		typ := graph.Float32
		switch v.Type {
		case "", "float32":
		case "int64":
			typ = graph.Int64
		default:
			return nil, fmt.Errorf("trainer: graph: inputs[%d] %q: type %q (want float32 or int64)", i, v.Name, v.Type)
		}
		batch := slices.Clone(v.Shape)
		for k, d := range batch {
			if d == -1 && k == 0 {
				batch[k] = 1
			} else if d <= 0 || d > limits.MaxTensorElements {
				return nil, fmt.Errorf("trainer: graph: inputs[%d] %q: shape %v (want −1 for the batch, then positive sizes)", i, v.Name, v.Shape)
			}
		}
		if _, err := limits.ElementsInt(batch); err != nil {
			return nil, fmt.Errorf("trainer: graph: inputs[%d] %q: shape %v: %w", i, v.Name, v.Shape, err)
		}
		g.Inputs = append(g.Inputs, graph.Value{Name: v.Name, Shape: slices.Clone(v.Shape), Type: typ})
		shapes[v.Name] = batch
	}
	var total int64
	for i, p := range s.Params {
		if _, ok := g.Params[p.Name]; ok || p.Name == "" {
			return nil, fmt.Errorf("trainer: graph: params[%d]: name %q empty or given twice", i, p.Name)
		}
		t, err := p.tensorOf(fmt.Sprintf("trainer: graph: params[%d] %q", i, p.Name), dry)
		if err != nil {
			return nil, err
		}
		if total += int64(t.Len()); total > limits.MaxParams {
			return nil, fmt.Errorf("trainer: graph: more than %d parameters", limits.MaxParams)
		}
		g.Params[p.Name] = t
	}
	for i, ns := range s.Nodes {
		n := &graph.Node{Name: ns.Name, Op: ns.Op, Inputs: slices.Clone(ns.Inputs), Outputs: slices.Clone(ns.Outputs)}
		for name, as := range ns.Attrs {
			a, err := as.attribute(fmt.Sprintf("trainer: graph: nodes[%d] %q: attribute %s", i, ns.Name, name))
			if err != nil {
				return nil, err
			}
			if n.Attrs == nil {
				n.Attrs = map[string]graph.Attribute{}
			}
			n.Attrs[name] = a
		}
		g.Nodes = append(g.Nodes, n)
	}
	if _, err := g.Shapes(shapes); err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	return g, nil
}

func (as AttrSpec) attribute(what string) (graph.Attribute, error) {
	var a graph.Attribute
	switch as.Type {
	case "float":
		a = graph.Float(as.Float)
	case "int":
		a = graph.Int(as.Int)
	case "string":
		a = graph.String(as.String)
	case "floats":
		a = graph.Floats(as.Floats...)
	case "ints":
		a = graph.Ints(as.Ints...)
	case "tensor":
		if as.Tensor == nil {
			return a, fmt.Errorf("%s: type tensor without one", what)
		}
		t, err := as.Tensor.tensorOf(what, false)
		if err != nil {
			return a, err
		}
		a = graph.TensorAttr(t)
	default:
		return a, fmt.Errorf("%s: type %q (want float, int, string, floats, ints or tensor)", what, as.Type)
	}
	for _, f := range as.Floats {
		if math.IsNaN(float64(f)) {
			return a, fmt.Errorf("%s: NaN", what)
		}
	}
	return a, nil
}

// checkGraph is Check for a model of variant "graph".
func (c Config) checkGraph() error {
	_, err := c.graphOf(true)
	return err
}

// graphOf checks c, a model of variant "graph", and makes its graph (dry:
// without weights).
func (c Config) graphOf(dry bool) (*graph.Graph, error) {
	if c.Graph == nil {
		return nil, fmt.Errorf("trainer: variant %s needs its graph described (model.graph)", GraphVariant)
	}
	if len(c.Encoder) > 0 || len(c.Decoder) > 0 || c.Variational != nil || c.Part != "" {
		return nil, fmt.Errorf("trainer: a model of variant %s is its graph: no encoder, decoder, variational heads or part", GraphVariant)
	}
	if _, err := ParseLoss(string(c.Loss)); err != nil {
		return nil, err
	}
	g, err := c.Graph.graph(dry)
	if err != nil {
		return nil, err
	}
	if len(g.Inputs) == 0 || len(g.Inputs[0].Shape) == 0 || !slices.Equal(c.Input, g.Inputs[0].Shape[1:]) {
		return nil, fmt.Errorf("trainer: model.input %v is not the per-sample shape of the graph's first input", c.Input)
	}
	cond := 0
	if len(g.Inputs) > 1 && len(g.Inputs[1].Shape) == 2 {
		cond = g.Inputs[1].Shape[1]
	}
	if c.Condition != cond {
		return nil, fmt.Errorf("trainer: model.condition %d is not the graph's second input's %d features", c.Condition, cond)
	}
	return g, nil
}

// buildGraph is Build for a model of variant "graph": its weights are
// zeros until loaded (Load, LoadStateDict).
func buildGraph(c Config) (*Model, error) {
	g, err := c.graphOf(false)
	if err != nil {
		return nil, err
	}
	return fromGraph(g, c)
}

// sameGraph returns nil if the descriptions a and b are the same graph,
// else an error naming the first part that differs.
func sameGraph(a, b *GraphSpec) error {
	same := func(x, y any) bool {
		bx, errx := json.Marshal(x)
		by, erry := json.Marshal(y)
		return errx == nil && erry == nil && bytes.Equal(bx, by)
	}
	switch {
	case !same(a.Inputs, b.Inputs):
		return fmt.Errorf("graph.inputs differ")
	case !same(a.Outputs, b.Outputs):
		return fmt.Errorf("graph.outputs %v, want %v", a.Outputs, b.Outputs)
	case !same(a.Marks, b.Marks):
		return fmt.Errorf("graph.marks %v, want %v", a.Marks, b.Marks)
	}
	for i := range max(len(a.Nodes), len(b.Nodes)) {
		switch {
		case i >= len(a.Nodes):
			return fmt.Errorf("graph.nodes: %d nodes, want %d (the next is %s %q)", len(a.Nodes), len(b.Nodes), b.Nodes[i].Op, b.Nodes[i].Name)
		case i >= len(b.Nodes):
			return fmt.Errorf("graph.nodes: %d nodes, want %d (%s %q is extra)", len(a.Nodes), len(b.Nodes), a.Nodes[i].Op, a.Nodes[i].Name)
		case !same(a.Nodes[i], b.Nodes[i]):
			return fmt.Errorf("graph.nodes[%d]: %s %q, want %s %q as the recipe builds it", i, a.Nodes[i].Op, a.Nodes[i].Name, b.Nodes[i].Op, b.Nodes[i].Name)
		}
	}
	if !same(a.Params, b.Params) {
		return fmt.Errorf("graph.params differ")
	}
	return nil
}
