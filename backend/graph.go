package backend

import (
	"fmt"
	"slices"
	"sync"

	"github.com/aebridge/aebridge/convert"
	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/limits"
	"github.com/aebridge/aebridge/runtime"
)

// Graph runs an ONNX file in pure Go: convert reads it node by node into a
// graph (any graph, not only chains: skips, several inputs and outputs,
// shape subgraphs), and the graph's executor runs it, with a plan kept per
// set of input shapes. It is safe for concurrent use (runs are
// serialised).
type Graph struct {
	g     *graph.Graph
	mu    sync.Mutex
	plans map[string]*graph.Plan // by the inputs' shapes
}

// maxGraphPlans bounds the plans a Graph keeps (one per batch size seen).
const maxGraphPlans = 8

// OpenGraph reads the ONNX file at path into a graph.
func OpenGraph(path string) (*Graph, error) {
	g, _, err := convert.ReadGraph(path, convert.Options{})
	if err != nil {
		return nil, err
	}
	return NewGraph(g), nil
}

// NewGraph runs g.
func NewGraph(g *graph.Graph) *Graph { return &Graph{g: g, plans: map[string]*graph.Plan{}} }

// Name is "go".
func (b *Graph) Name() string { return "go" }

// OutputNames are the graph's outputs.
func (b *Graph) OutputNames() []string { return slices.Clone(b.g.Outputs) }

// Run runs the graph on float32 inputs, in the graph's input order, and
// returns copies of its outputs, which must be float32 too; RunValues runs
// graphs with int64 inputs or outputs.
func (b *Graph) Run(inputs []runtime.Tensor) (map[string]runtime.Tensor, error) {
	values := make([]runtime.Value, len(inputs))
	for i, t := range inputs {
		values[i] = runtime.ValueOf(t)
	}
	out, err := b.RunValues(values)
	if err != nil {
		return nil, err
	}
	tensors := make(map[string]runtime.Tensor, len(out))
	for name, v := range out {
		t, err := v.Tensor()
		if err != nil {
			return nil, fmt.Errorf("backend: go: output %q is %s; Run returns float32 outputs only: use RunValues", name, v.DType())
		}
		tensors[name] = t
	}
	return tensors, nil
}

// RunValues runs the graph on the inputs, in the graph's input order, and
// returns copies of its outputs. The graph holds float32 and int64 tensors
// (class labels feeding a Gather, say): each input must have the element
// type of the graph's input, and a value of another type is an error
// naming the input and both types.
func (b *Graph) RunValues(inputs []runtime.Value) (map[string]runtime.Value, error) {
	if len(inputs) != len(b.g.Inputs) {
		return nil, fmt.Errorf("backend: go: %d inputs, the graph takes %d", len(inputs), len(b.g.Inputs))
	}
	shapes := map[string][]int{}
	feeds := make([]*graph.Tensor, len(inputs))
	key := ""
	for i, in := range inputs {
		v := b.g.Inputs[i]
		shape := make([]int, len(in.Shape))
		for j, d := range in.Shape {
			shape[j] = int(d)
		}
		if n, err := limits.ElementsInt(shape); err != nil || n != in.Len() {
			return nil, fmt.Errorf("backend: go: input %q: shape %v does not hold its %d values", v.Name, in.Shape, in.Len())
		}
		t := &graph.Tensor{Shape: shape, Type: v.Type}
		switch d := in.Data.(type) {
		case []float32:
			t.Data = d
		case []int64:
			t.Int64 = d
		default:
			return nil, fmt.Errorf("backend: go: input %q: element type %s: the Go graph holds float32 and int64 tensors only", v.Name, in.DType())
		}
		if dt := runtime.DType(v.Type.String()); in.DType() != dt {
			return nil, fmt.Errorf("backend: go: input %q: element type %s given, the graph wants %s", v.Name, in.DType(), dt)
		}
		shapes[v.Name] = shape
		feeds[i] = t
		key += v.Type.String() + fmt.Sprint(shape)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.plans[key]
	if !ok {
		var err error
		if p, err = b.g.Plan(shapes, graph.PlanOptions{Seeds: []string{}, Grads: []string{}}); err != nil {
			return nil, fmt.Errorf("backend: go: %w", err)
		}
		if len(b.plans) == maxGraphPlans {
			clear(b.plans)
		}
		b.plans[key] = p
	}
	if err := p.Forward(feeds...); err != nil {
		return nil, fmt.Errorf("backend: go: %w", err)
	}
	out := map[string]runtime.Value{}
	for _, name := range b.g.Outputs {
		v := p.Value(name)
		shape := make([]int64, len(v.Shape))
		for j, d := range v.Shape {
			shape[j] = int64(d)
		}
		switch v.Type {
		case graph.Float32:
			out[name] = runtime.Value{Shape: shape, Data: slices.Clone(v.Data)}
		case graph.Int64:
			out[name] = runtime.Value{Shape: shape, Data: slices.Clone(v.Int64)}
		default:
			return nil, fmt.Errorf("backend: go: output %q is %v, which the runtime does not hold", name, v.Type)
		}
	}
	return out, nil
}

// Close does nothing.
func (b *Graph) Close() error { return nil }
