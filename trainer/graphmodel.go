package trainer

import (
	"fmt"
	"slices"

	"github.com/aebridge/aebridge/graph"
)

// GraphVariant is the variant of models that are a graph rather than a
// recipe of layers: imported from ONNX (convert.ReadGraph) or built by
// hand. Config.Graph describes the graph; the weights are the model's.
const GraphVariant = "graph"

// FromGraph returns a model that trains and runs g, over g's own
// parameter tensors (training changes them): the float32 parameters that
// feed a differentiable input are trained (graph.Graph.Trainable; the
// others, such as batch normalisation's running statistics, are buffers
// saved with them). g's first input is the data and its first output the
// reconstruction the loss compares with it (only a graph whose output has
// its input's size trains: Fit says so of others, such as an encoder); a
// second input, (batch, K), is a condition. It returns an error naming
// what does not fit: an op type graph does not run, inputs that are not
// (data[, condition]), an output without the batch dimension.
func FromGraph(g *graph.Graph, loss Loss) (*Model, error) {
	if _, err := ParseLoss(string(loss)); err != nil {
		return nil, err
	}
	c := Config{Variant: GraphVariant, Loss: loss, Graph: SpecOf(g)}
	if len(g.Inputs) > 0 && len(g.Inputs[0].Shape) > 0 {
		c.Input = slices.Clone(g.Inputs[0].Shape[1:])
	}
	if len(g.Inputs) == 2 && len(g.Inputs[1].Shape) == 2 {
		c.Condition = g.Inputs[1].Shape[1]
	}
	return fromGraph(g, c)
}

// fromGraph is FromGraph for the graph of c.Graph.
func fromGraph(g *graph.Graph, c Config) (*Model, error) {
	switch {
	case len(g.Inputs) == 0 || len(g.Inputs) > 2 || len(g.Outputs) == 0:
		return nil, fmt.Errorf("trainer: graph: %d inputs and %d outputs; a model takes its data (and a condition) and gives the reconstruction first", len(g.Inputs), len(g.Outputs))
	case g.Inputs[0].Type != graph.Float32 || len(g.Inputs[0].Shape) < 2 || g.Inputs[0].Shape[0] != -1:
		return nil, fmt.Errorf("trainer: graph: input %q of shape %v (%v): the data must be float32, (batch, …)", g.Inputs[0].Name, g.Inputs[0].Shape, g.Inputs[0].Type)
	case len(g.Inputs) == 2 && (g.Inputs[1].Type != graph.Float32 || len(g.Inputs[1].Shape) != 2):
		return nil, fmt.Errorf("trainer: graph: input %q of shape %v: a condition must be float32, (batch, K)", g.Inputs[1].Name, g.Inputs[1].Shape)
	}
	shapes := map[string][]int{g.Inputs[0].Name: append([]int{1}, g.Inputs[0].Shape[1:]...)}
	if len(g.Inputs) == 2 {
		shapes[g.Inputs[1].Name] = []int{1, g.Inputs[1].Shape[1]}
	}
	inferred, err := g.Shapes(shapes)
	if err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	out := inferred[g.Outputs[0]]
	if len(out) == 0 || out[0] != 1 {
		return nil, fmt.Errorf("trainer: graph: output %q has shape %v at a batch of 1; its first dimension must be the batch", g.Outputs[0], out)
	}
	m := &Model{Config: c, g: g, onGraph: true, inferOnGraph: true, outShape: slices.Clone(out[1:])}
	if code, ok := g.Marks[graph.MarkCode]; ok {
		m.codeShape = slices.Clone(inferred[code][1:])
		if _, _, carried, err := g.CutCarrying(code); err == nil {
			m.carried = carried // an unpooling decoder's indices
		}
	}
	trainable := g.Trainable()
	for _, name := range trainable {
		t := g.Params[name]
		m.params = append(m.params, &Param{Name: name, Value: t, Grad: NewTensor(t.Shape...), Decay: len(t.Shape) >= 2})
	}
	for _, name := range sortedNames(g.Params) {
		if t := g.Params[name]; t.Type == graph.Float32 && !slices.Contains(trainable, name) {
			m.buffers = append(m.buffers, &Param{Name: name, Value: t})
		}
	}
	for _, n := range g.Nodes {
		if n.Outputs[0] == g.Outputs[0] && n.Op == "Sigmoid" && c.Loss == BCE {
			m.fused = true
		}
	}
	m.grad = [2]*Tensor{{}, {}}
	return m, nil
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// isGraph reports whether the model is a graph with no layers: variant
// "graph", or a sequence autoencoder (built as a graph).
func (m *Model) isGraph() bool {
	return m.Config.Variant == GraphVariant || isSequence(m.Config.Variant)
}

// inferencePlan returns the plan that computes the outputs named from the
// inputs named, for input x's batch shape (and the condition), planning
// it if the model has none for them.
func (m *Model) inferencePlan(inputs, outputs []string, shape []int) (*graph.Plan, error) {
	for _, ip := range m.inference {
		if slices.Equal(ip.inputs, inputs) && slices.Equal(ip.outputs, outputs) && slices.Equal(ip.shape, shape) {
			return ip.plan, nil
		}
	}
	data, cond := m.graphInputs()
	in := map[string][]int{data: shape}
	if cond != "" {
		in[cond] = []int{shape[0], m.Config.Condition}
	}
	p, err := m.g.Plan(in, graph.PlanOptions{Inputs: inputs, Outputs: outputs, Seeds: []string{}, Grads: []string{}})
	if err != nil {
		return nil, err
	}
	if len(m.inference) == maxTrainPlans {
		m.inference = m.inference[1:]
	}
	m.inference = append(m.inference, planned{inputs: inputs, outputs: outputs, shape: slices.Clone(shape), plan: p})
	return p, nil
}

// planned is one of the model's inference plans.
type planned struct {
	inputs, outputs []string
	shape           []int
	plan            *graph.Plan
}

// graphRun runs a graph model's inference plan from the tensors named
// inputs (x of the data's batch shape, or a code; then the condition, if
// the model has one) to the tensor named output, and returns its value, a
// buffer of the plan's valid until the next pass.
func (m *Model) graphRun(inputs []string, output string, x *Tensor, batch int) *Tensor {
	return m.graphRunPlan(inputs, []string{output}, x, batch).Value(output)
}

// graphRunPlan is graphRun for several outputs: it returns the plan, whose
// values hold them until its next pass.
func (m *Model) graphRunPlan(inputs, outputs []string, x *Tensor, batch int) *graph.Plan {
	shape := append([]int{batch}, m.Config.Input...)
	p, err := m.inferencePlan(inputs, outputs, shape)
	if err != nil {
		panic(err) // the model's own graph at a batch of its input: a bug
	}
	m.feeds[0] = x
	feeds := m.feeds[:1]
	if len(inputs) > 1 {
		m.feeds[1] = m.cond
		feeds = m.feeds[:2]
	}
	if err := p.Forward(feeds...); err != nil {
		panic(ErrShape)
	}
	return p
}

// graphView is x viewed with the batch shape of the graph tensor whose
// per-sample shape is per (x may come flat, (N, features)).
func (m *Model) graphView(x *Tensor, per []int) *Tensor {
	if len(x.Shape) == len(per)+1 {
		return x
	}
	if x.Cols() != product(per) {
		panic(ErrShape)
	}
	v := &m.inputView
	*v = Tensor{Shape: append(append(v.Shape[:0], x.Rows()), per...), Data: x.Data}
	return v
}

// graphInputsFrom are the plan inputs that start at the tensor named from.
func (m *Model) graphInputsFrom(from string) []string {
	_, cond := m.graphInputs()
	if cond != "" {
		return []string{from, cond}
	}
	return []string{from}
}

func (m *Model) graphForward(x *Tensor, output string) *Tensor {
	data, _ := m.graphInputs()
	x = m.graphView(x, m.Config.Input)
	return m.graphRun(m.graphInputsFrom(data), output, x, x.Rows())
}

func (m *Model) graphCode() string {
	if c, ok := m.g.Marks[graph.MarkCode]; ok {
		return c
	}
	return m.g.Marks[graph.MarkMu]
}
