package backend

import (
	"fmt"
	"slices"
	"sync"

	"github.com/aebridge/aebridge/convert"
	"github.com/aebridge/aebridge/graph"
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

// Run runs the graph on the inputs, in the graph's input order (float32
// ones: int64 inputs are not fed through this interface), and returns
// copies of its outputs.
func (b *Graph) Run(inputs []runtime.Tensor) (map[string]runtime.Tensor, error) {
	if len(inputs) != len(b.g.Inputs) {
		return nil, fmt.Errorf("backend: go: %d inputs, the graph takes %d", len(inputs), len(b.g.Inputs))
	}
	shapes := map[string][]int{}
	feeds := make([]*graph.Tensor, len(inputs))
	key := ""
	for i, in := range inputs {
		v := b.g.Inputs[i]
		if v.Type != graph.Float32 {
			return nil, fmt.Errorf("backend: go: input %q is %v; only float32 inputs can be given", v.Name, v.Type)
		}
		shape := make([]int, len(in.Shape))
		for j, d := range in.Shape {
			shape[j] = int(d)
		}
		shapes[v.Name] = shape
		feeds[i] = &graph.Tensor{Shape: shape, Data: in.Data}
		key += fmt.Sprint(shape)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.plans[key]
	if !ok {
		var err error
		if p, err = b.g.Plan(shapes, graph.PlanOptions{Grads: []string{}}); err != nil {
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
	out := map[string]runtime.Tensor{}
	for _, name := range b.g.Outputs {
		v := p.Value(name)
		if v.Type != graph.Float32 {
			return nil, fmt.Errorf("backend: go: output %q is %v; only float32 outputs are compared", name, v.Type)
		}
		shape := make([]int64, len(v.Shape))
		for j, d := range v.Shape {
			shape[j] = int64(d)
		}
		out[name] = runtime.Tensor{Shape: shape, Data: slices.Clone(v.Data)}
	}
	return out, nil
}

// Close does nothing.
func (b *Graph) Close() error { return nil }
