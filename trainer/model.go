package trainer

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/limits"
)

// Config is the one description of a model: the variant, the per-sample
// input shape, the encoder stack (ending at the code), the decoder stack and
// the loss. It drives training, export, import, printing and checkpoints;
// the weights are stored apart, under the layers' state-dict names.
type Config struct {
	Variant string      `json:"variant"` // one of Variants: "ae", "tied", "conv", …
	Input   []int       `json:"input"`   // per-sample input shape, e.g. [784]
	Encoder []LayerSpec `json:"encoder"`
	Decoder []LayerSpec `json:"decoder"`
	Loss    Loss        `json:"loss"`
	// Variational, when set, makes the model a variational autoencoder:
	// two dense heads, "mu" and "logvar", map the encoder's output to the
	// mean and log-variance of the code's distribution.
	Variational *Variational `json:"variational,omitempty"`
	// Condition is the size of a conditional model's conditioning input
	// (one-hot classes); "condition" layers in the stacks append it.
	Condition int `json:"condition,omitempty"`
	// Part is "" for an autoencoder, or "encoder" or "decoder" for half of
	// one (imported from such a graph): the decoder stack of an encoder is
	// empty, the encoder stack of a decoder is, and the output need not
	// have the input's shape. A decoder's Input is its code's shape.
	Part string `json:"part,omitempty"`
	// Init is the weight initialisation scheme, one of InitSchemes ("":
	// InitPyTorch, PyTorch's defaults), and InitSeed its generator's seed:
	// Build initialises the weights with them.
	Init     string `json:"init,omitempty"`
	InitSeed uint64 `json:"init_seed,omitempty"`
	// Graph describes a model of variant "graph": a graph imported from
	// ONNX or built by hand, rather than layers (Encoder, Decoder and
	// Variational then empty).
	Graph *GraphSpec `json:"graph,omitempty"`
	// Sequence is the recipe of a sequence autoencoder (variants lstm
	// and gru, SequenceVariants), whose graph it builds.
	Sequence *Sequence `json:"sequence,omitempty"`
}

// Variational describes a VAE's bottleneck.
type Variational struct {
	In     int `json:"in"`     // features of the encoder's output
	Latent int `json:"latent"` // size of z
	// LogVarMin and LogVarMax clip log σ² when sampling (0, 0: the
	// defaults −30 and 20, wide enough that training never reaches them
	// unless it diverges).
	LogVarMin float64 `json:"logvar_min,omitempty"`
	LogVarMax float64 `json:"logvar_max,omitempty"`
}

// Model is an autoencoder built from a Config: layers with their weights,
// and the buffers its passes reuse. A Model is not safe for concurrent use.
type Model struct {
	Config  Config
	Encoder []Layer
	Decoder []Layer

	mu, logvar *Dense     // the variational heads, or nil
	vae        vaeBuffers // what a variational pass keeps
	conditions []*Condition

	params    []*Param   // unique, in state-dict order
	buffers   []*Param   // saved, untrained state (batch norm statistics)
	codeShape []int      // per-sample shape of the code
	outShape  []int      // per-sample shape of the output
	acts      []*Tensor  // acts[i] is the output of layer i (encoder, then decoder)
	grad      [2]*Tensor // ping-pong buffers for the backward pass
	fused     bool       // BCE on the logits before the final sigmoid

	// g is the model as a graph over the same weights (Graph); training
	// steps that trainsOnGraph allows run on its plans, one per batch
	// shape.
	g       *graph.Graph
	onGraph bool // every node's operator is one graph runs
	// inferOnGraph is whether inference runs on the graph (onGraph, and
	// every graph model).
	inferOnGraph bool
	// carried are the tensors other than the code that the decoder reads
	// from the encoder (an unpooling decoder's pooling indices), and
	// carriedValues their values at the last Encode, which Decode reads.
	carried       []string
	carriedValues []*Tensor
	// encoderTensors names the graph tensor entering the encoder, then
	// each encoder layer's output (Graph sets it).
	encoderTensors []string
	plans          []*trainPlan
	inputShape     []int
	inference      []planned  // a graph model's inference plans
	cond           *Tensor    // a graph model's condition
	feeds          [2]*Tensor // its plans' inputs

	stack                  []Layer // Encoder then Decoder
	inputView              Tensor  // a flat input seen with the input's shape
	targetView, weightView Tensor  // flat targets seen with the output's shape
	lossJob                lossJob // the loss's parallel loop
}

// ErrGraphMismatch reports a config.json whose recorded graph
// (model.graph) is not the graph its recipe builds: the file was edited,
// or written by a version that built the recipe differently.
var ErrGraphMismatch = errors.New("model.graph is not the graph the recipe builds")

// Build makes the model c describes, its weights initialised by
// c.Init's scheme from c.InitSeed (see Init). It returns an error naming the
// layer when the stacks do not chain, a layer type is unknown, a size is
// out of range, a tied layer does not mirror the layer it names, or the
// model would have more than limits.MaxParams parameters; it counts them
// (Check) before allocating any.
func Build(c Config) (*Model, error) {
	if c.Variant == GraphVariant {
		return buildGraph(c)
	}
	if isSequence(c.Variant) {
		return buildSequence(c)
	}
	if err := c.Check(); err != nil {
		return nil, err
	}
	m, _, err := build(c, false)
	if err != nil {
		return nil, err
	}
	m.Init(c.InitSeed)
	if m.g, err = m.Graph(); err != nil {
		return nil, err
	}
	// config.json records the graph the recipe builds (model.graph), so a
	// reader needs no recipe; a recorded graph must be the one this
	// version builds from the recipe.
	spec := SpecOf(m.g)
	if c.Graph != nil {
		if err := sameGraph(c.Graph, spec); err != nil {
			return nil, fmt.Errorf("trainer: %w: variant %s in aebridge %s: %w", ErrGraphMismatch, c.Variant, Version, err)
		}
	}
	m.Config.Graph = spec
	m.onGraph = true
	for _, n := range m.g.Nodes {
		m.onGraph = m.onGraph && slices.Contains(graph.Ops(), n.Op)
	}
	m.inferOnGraph = m.onGraph
	if m.onGraph && c.Part == "" {
		// An unpooling decoder reads the pooling indices of the last
		// Encode: the tensors that cross the code besides it.
		if _, _, m.carried, err = m.g.CutCarrying(m.graphCode()); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Check validates the description as Build does, without allocating the
// weights: the sizes, the chaining of the layers, and the number of
// parameters and buffers against limits.MaxParams.
func (c Config) Check() error {
	if c.Variant == GraphVariant {
		return c.checkGraph()
	}
	if isSequence(c.Variant) {
		return c.checkSequence()
	}
	if c.Graph != nil {
		// The record of what the recipe builds: well formed here, equal to
		// the recipe's graph in Build.
		if _, err := c.Graph.graph(true); err != nil {
			return err
		}
	}
	_, _, err := build(c, true)
	return err
}

// build makes the model c describes, with zero weights, and returns it
// with the number of its parameters and buffers; dry, it only checks the
// description, and the model it returns has layers without weights.
func build(c Config, dry bool) (*Model, int64, error) {
	b := builder{dry: dry, built: map[string]Layer{}, inShapes: map[string][]int{}, shape: append([]int(nil), c.Input...)}
	m, err := b.model(c)
	return m, b.params, err
}

// model builds the model c describes with b.
func (b *builder) model(c Config) (*Model, error) {
	dry := b.dry
	if len(c.Input) == 0 {
		return nil, fmt.Errorf("trainer: input shape %v must have positive dimensions", c.Input)
	}
	for _, d := range c.Input {
		if d <= 0 {
			return nil, fmt.Errorf("trainer: input shape %v must have positive dimensions", c.Input)
		}
	}
	if _, err := limits.ElementsInt(c.Input); err != nil {
		return nil, fmt.Errorf("trainer: input: %w", err)
	}
	if _, err := ParseLoss(string(c.Loss)); err != nil {
		return nil, err
	}
	if err := checkInit(c.Init); err != nil {
		return nil, err
	}
	if c.Condition < 0 || c.Condition > limits.MaxTensorElements {
		return nil, fmt.Errorf("trainer: condition %d must be in [0, %d]", c.Condition, limits.MaxTensorElements)
	}
	m := &Model{Config: c}
	var err error
	if m.Encoder, err = b.stack("encoder", c.Encoder); err != nil {
		return nil, err
	}
	if v := c.Variational; v != nil {
		if len(b.shape) != 1 || b.shape[0] != v.In || v.Latent <= 0 {
			return nil, fmt.Errorf("trainer: the variational heads take %d features to %d; the encoder gives shape %v", v.In, v.Latent, b.shape)
		}
		if lo, hi := v.bounds(); !(lo < hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
			return nil, fmt.Errorf("trainer: the variational log-variance bounds [%v, %v] (logvar_min, logvar_max) must be finite and increasing", v.LogVarMin, v.LogVarMax)
		}
		for _, head := range []string{"mu", "logvar"} {
			if err := b.reserve(head, fmt.Sprintf("dense %d→%d", v.In, v.Latent), []int{v.Latent, v.In}, []int{v.Latent}); err != nil {
				return nil, err
			}
		}
		if dry {
			m.mu, m.logvar = &Dense{In: v.In, Out: v.Latent}, &Dense{In: v.In, Out: v.Latent}
		} else {
			m.mu, m.logvar = NewDense("mu", v.In, v.Latent), NewDense("logvar", v.In, v.Latent)
		}
		b.shape = []int{v.Latent}
	}
	m.codeShape = append([]int(nil), b.shape...)
	if m.Decoder, err = b.stack("decoder", c.Decoder); err != nil {
		return nil, err
	}
	switch c.Part {
	case "", "encoder", "decoder":
	default:
		return nil, fmt.Errorf("trainer: part %q (want encoder, decoder or none)", c.Part)
	}
	m.outShape = append([]int(nil), b.shape...)
	if c.Part == "" && !slices.Equal(b.shape, c.Input) && !(len(b.shape) == 1 && b.shape[0] == product(c.Input)) {
		return nil, fmt.Errorf("trainer: the decoder ends with shape %v, the input has %v", b.shape, c.Input)
	}
	if len(m.Encoder) == 0 && m.mu != nil {
		m.params = append(m.params, m.mu.Params()...)
		m.params = append(m.params, m.logvar.Params()...)
	}
	for i, l := range m.layers() {
		m.params = append(m.params, l.Params()...)
		if i == len(m.Encoder)-1 && m.mu != nil {
			m.params = append(m.params, m.mu.Params()...)
			m.params = append(m.params, m.logvar.Params()...)
		}
		if st, ok := l.(stateful); ok {
			m.buffers = append(m.buffers, st.Buffers()...)
		}
		if cl, ok := l.(*Condition); ok {
			if cl.K != c.Condition {
				return nil, fmt.Errorf("trainer: a condition layer takes %d features, the model's condition has %d", cl.K, c.Condition)
			}
			m.conditions = append(m.conditions, cl)
		}
		m.acts = append(m.acts, &Tensor{})
	}
	if c.Condition > 0 && len(m.conditions) == 0 {
		return nil, fmt.Errorf("trainer: the model has a condition of %d features but no condition layer", c.Condition)
	}
	m.grad = [2]*Tensor{{}, {}}
	if last, ok := m.last().(*Activation); ok && last.Kind == "sigmoid" && c.Loss == BCE {
		m.fused = true
	}
	return m, nil
}

func product(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// layers returns the encoder's layers, then the decoder's, in one slice
// that Build made (a training step asks for it several times).
func (m *Model) layers() []Layer {
	if len(m.stack) != len(m.Encoder)+len(m.Decoder) {
		m.stack = append(slices.Clip(m.Encoder), m.Decoder...)
	}
	return m.stack
}

func (m *Model) last() Layer {
	if len(m.Decoder) == 0 {
		return nil
	}
	return m.Decoder[len(m.Decoder)-1]
}

// Params returns the model's trainable parameters in state-dict order; a
// tied weight appears once.
func (m *Model) Params() []*Param { return m.params }

// state returns the parameters and the buffers: everything a state dict
// holds.
func (m *Model) state() []*Param { return append(slices.Clip(m.params), m.buffers...) }

// ZeroGrad clears every parameter's gradient.
func (m *Model) ZeroGrad() {
	for _, p := range m.params {
		p.Grad.Zero()
	}
}

// Forward runs x, (batch, input features), through encoder and decoder and
// returns the reconstruction, (batch, input features). The result is a
// buffer of the model's, valid until its next pass. It panics with ErrShape
// if x has the wrong number of features.
// For a variational model the code is μ (no sampling). A conditional
// model takes its condition from SetCondition.
func (m *Model) Forward(x *Tensor) *Tensor {
	if m.inferOnGraph {
		return m.graphForward(x, m.g.Outputs[0])
	}
	m.setTraining(false, nil)
	if m.mu != nil {
		return m.run(m.heads(m.run(x, 0, len(m.Encoder))), len(m.Encoder), len(m.acts))
	}
	return m.run(x, 0, len(m.acts))
}

// SetCondition sets the conditioning input, (batch, Condition), that the
// next passes of a conditional model use.
func (m *Model) SetCondition(c *Tensor) {
	m.cond = c
	for _, l := range m.conditions {
		l.C = c
	}
}

// setTraining switches the layers that behave differently in training
// (batch norm, dropout); rng draws dropout's masks.
func (m *Model) setTraining(training bool, rng *rand.Rand) {
	for _, l := range m.layers() {
		if md, ok := l.(modal); ok {
			md.setTraining(training, rng)
		}
	}
}

// Encode returns the code for x, (batch, latent), in a buffer of the
// model's, valid until its next pass.
// For a variational model it returns μ.
func (m *Model) Encode(x *Tensor) *Tensor {
	if m.inferOnGraph && len(m.carried) > 0 {
		in, _ := m.graphInputs()
		x = m.graphView(x, m.Config.Input)
		code := m.graphCode()
		p := m.graphRunPlan(m.graphInputsFrom(in), append([]string{code}, m.carried...), x, x.Rows())
		m.carriedValues = m.carriedValues[:0]
		for _, name := range m.carried {
			m.carriedValues = append(m.carriedValues, p.Value(name).Clone())
		}
		return p.Value(code)
	}
	if m.inferOnGraph {
		return m.graphForward(x, m.graphCode())
	}
	return m.encodeLayers(x)
}

// encodeLayers is Encode on the layers, which keep what the contractive
// penalty's tangent passes read.
func (m *Model) encodeLayers(x *Tensor) *Tensor {
	m.setTraining(false, nil)
	h := m.run(x, 0, len(m.Encoder))
	if m.mu != nil {
		return m.heads(h)
	}
	return h
}

// Decode returns the reconstruction for codes z, (batch, latent), in a
// buffer of the model's, valid until its next pass.
func (m *Model) Decode(z *Tensor) *Tensor {
	if m.inferOnGraph && len(m.carried) > 0 {
		if len(m.carriedValues) != len(m.carried) || m.carriedValues[0].Shape[0] != z.Rows() {
			panic(fmt.Sprintf("trainer: Decode of a model whose decoder unpools needs the pooling indices of an Encode of the same batch (%d codes)", z.Rows()))
		}
		code := m.graphCode()
		inputs := append([]string{code}, m.carried...)
		feeds := append([]*Tensor{m.graphView(z, m.codeShape)}, m.carriedValues...)
		if _, cond := m.graphInputs(); cond != "" {
			inputs, feeds = append(inputs, cond), append(feeds, m.cond)
		}
		out := m.g.Outputs[0]
		p, err := m.inferencePlan(inputs, []string{out}, append([]int{z.Rows()}, m.Config.Input...))
		if err != nil {
			panic(err) // the model's own graph at a batch of its input: a bug
		}
		if err := p.Forward(feeds...); err != nil {
			panic(ErrShape)
		}
		return p.Value(out)
	}
	if m.inferOnGraph {
		code := m.graphCode()
		return m.graphRun(m.graphInputsFrom(code), m.g.Outputs[0], m.graphView(z, m.codeShape), z.Rows())
	}
	m.setTraining(false, nil)
	return m.run(z, len(m.Encoder), len(m.acts))
}

// CodeShape is the per-sample shape of the code: (latent) for dense
// bottlenecks, (C, H, W) or (C, L) for convolutional codes.
func (m *Model) CodeShape() []int { return append([]int(nil), m.codeShape...) }

// OutputShape is the per-sample shape of the model's output: the input's
// for an autoencoder.
func (m *Model) OutputShape() []int { return append([]int(nil), m.outShape...) }

// run applies layers [from, to) to x. A flat (N, features) x is viewed
// with the per-sample shape the first layer expects.
func (m *Model) run(x *Tensor, from, to int) *Tensor {
	layers := m.layers()
	want := m.Config.Input
	if from > 0 {
		want = m.codeShape
	}
	if len(x.Shape) != len(want)+1 && x.Cols() == product(want) {
		v := &m.inputView
		*v = Tensor{Shape: append(append(v.Shape[:0], x.Rows()), want...), Data: x.Data}
		x = v
	}
	in := x
	for i := from; i < to; i++ {
		layers[i].Forward(m.acts[i], in)
		in = m.acts[i]
	}
	return in
}

// Batch is one training step's data.
type Batch struct {
	X      *Tensor // the input, (batch, features), possibly corrupted
	Target *Tensor // what the reconstruction is compared with: the clean input
	Weight *Tensor // per-element loss weights, or nil for the plain mean
	Cond   *Tensor // conditioning inputs of a conditional model, (batch, K)
	Eps    *Tensor // a variational model's noise ε, (batch, latent); nil to draw it
	// Prior is a wae or infovae step's draws from the prior N(0, I),
	// (batch, latent); nil to draw them.
	Prior *Tensor
}

// loss returns the summed (weighted) loss of the last Forward's output
// against target and, if grad is true, leaves the gradient of the objective
// (that sum divided by the element count) in m.grad[0] for backward.
func (m *Model) loss(target, weight *Tensor, grad bool) float64 {
	n := len(m.acts)
	out := m.acts[n-1]
	if m.fused {
		out = m.acts[n-2] // the logits: a training step skips the sigmoid
	}
	var g *Tensor
	if grad {
		g = m.grad[0]
	}
	return m.lossOf(out, m.fused, target, weight, g)
}

// lossOf returns the summed (weighted) loss of out — the logits of the
// output's sigmoid if logits is set — against target and, if grad is not
// nil, writes the gradient of the objective into it. Targets and weights
// may come flat, (N, features): they are viewed with out's shape.
func (m *Model) lossOf(out *Tensor, logits bool, target, weight, grad *Tensor) float64 {
	view := func(t, v *Tensor) *Tensor {
		if t == nil || len(t.Shape) == len(out.Shape) || t.Len() != out.Len() {
			return t
		}
		*v = Tensor{Shape: append(v.Shape[:0], out.Shape...), Data: t.Data}
		return v
	}
	target, weight = view(target, &m.targetView), view(weight, &m.weightView)
	if m.Config.Loss == BCE && !logits {
		return BCELoss(grad, out, target, weight)
	}
	j := &m.lossJob
	*j = lossJob{kind: m.Config.Loss, logits: logits, grad: grad, out: out, target: target, weight: weight}
	loss := j.total()
	*j = lossJob{}
	return loss
}

// backward propagates dy, the gradient at the output of layer top, down to
// layer bottom, adding parameter gradients, and returns the gradient at
// layer bottom's input (nil when bottom is 0: the input needs none).
func (m *Model) backward(dy *Tensor, top, bottom int) *Tensor {
	layers := m.layers()
	dx := m.grad[1]
	if dy == m.grad[1] {
		dx = m.grad[0]
	}
	for i := top; i >= bottom; i-- {
		if i == 0 {
			layers[i].Backward(nil, dy)
			return nil
		}
		layers[i].Backward(dx, dy)
		dy, dx = dx, dy
	}
	return dy
}

// TrainStep runs a forward and backward pass on a batch and adds the
// gradients of the objective — the mean loss per element plus the penalties
// reg sets (nil for none) — into the parameters' Grad tensors. It returns
// the summed reconstruction loss and the penalty. rng draws the contractive
// estimator's directions. It panics with ErrShape if the shapes do not fit
// the model.
//
// For a variational model the objective is (reconstruction + β·KL)/N summed
// over the elements of each of the N samples (see trainVAE), and penalty is
// β·KL summed over the batch.
func (m *Model) TrainStep(b Batch, reg *Regularization, rng *rand.Rand) (loss, penalty float64) {
	m.setTraining(true, rng)
	if b.Cond != nil || len(m.conditions) > 0 {
		m.SetCondition(b.Cond)
	}
	if m.trainsOnGraph(reg) {
		return m.graphStep(b, reg, rng)
	}
	if m.Config.Variant == "iwae" || m.Config.Variant == "wae" || m.Config.Variant == "infovae" {
		panic("trainer: variant " + m.Config.Variant + " trains on the graph only")
	}
	if m.mu != nil {
		beta := 1.0
		if reg != nil {
			beta = reg.klWeight()
		}
		return m.trainVAE(b, beta, rng)
	}
	m.run(b.X, 0, m.trainEnd())
	loss = m.loss(b.Target, b.Weight, true)
	top := len(m.acts) - 1
	if m.fused {
		top-- // the gradient is already with respect to the logits
	}
	if reg == nil || (reg.L1 == 0 && reg.SparsityWeight == 0 && reg.Contractive == 0) {
		m.backward(m.grad[0], top, 0)
		return loss, 0
	}
	enc := len(m.Encoder)
	dcode := m.backward(m.grad[0], top, enc)
	code := m.acts[enc-1]
	if reg.L1 > 0 {
		penalty += L1Penalty(dcode, code, reg.L1)
	}
	if reg.SparsityWeight > 0 {
		penalty += KLSparsityPenalty(dcode, code, reg.Rho, reg.SparsityWeight)
	}
	m.backward(dcode, enc-1, 0)
	if reg.Contractive > 0 {
		penalty += m.contractive(reg.Contractive, reg.ContractiveSamples, rng)
	}
	return loss, penalty
}

// trainEnd is where a training step's forward pass stops: before the
// final sigmoid when the loss takes the logits (fused), else at the end.
func (m *Model) trainEnd() int {
	if m.fused {
		return len(m.acts) - 1
	}
	return len(m.acts)
}

// Eval returns the summed loss of the model on x against target, without
// touching gradients.
// A variational model reconstructs through μ.
func (m *Model) Eval(x, target *Tensor) float64 {
	if m.inferOnGraph {
		return m.lossOf(m.graphForward(x, m.lossTensor()), m.fused, target, nil, nil)
	}
	m.Forward(x)
	return m.loss(target, nil, false)
}

// String prints the layers, one a line, as "encoder.0  dense 784→512".
func (m *Model) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s autoencoder, input %v, code %v, loss %s", m.Config.Variant, m.Config.Input, m.codeShape, m.Config.Loss)
	if m.Config.Condition > 0 {
		fmt.Fprintf(&b, ", condition %d", m.Config.Condition)
	}
	b.WriteString("\n")
	if m.Config.Sequence != nil {
		b.WriteString(m.Config.Sequence.describe(m.Config.Variant))
	}
	for _, part := range []struct {
		name  string
		specs []LayerSpec
	}{{"encoder", m.Config.Encoder}, {"decoder", m.Config.Decoder}} {
		if part.name == "decoder" && m.mu != nil {
			fmt.Fprintf(&b, "  mu  dense %d→%d\n  logvar  dense %d→%d\n", m.mu.In, m.mu.Out, m.logvar.In, m.logvar.Out)
		}
		for i, s := range part.specs {
			fmt.Fprintf(&b, "  %s.%d  %s\n", part.name, i, describe(s))
		}
	}
	return b.String()
}

// describe prints a layer spec briefly: its type and the sizes that matter.
func describe(s LayerSpec) string {
	d := s.Type
	switch {
	case s.Type == "dense":
		d += fmt.Sprintf(" %d→%d", s.In, s.Out)
		if s.TiedTo != "" {
			d += fmt.Sprintf(" (weight tied to %s)", s.TiedTo)
		}
	case strings.HasPrefix(s.Type, "conv"):
		d += fmt.Sprintf(" %d→%d kernel %v stride %v padding %v", s.In, s.Out, s.Kernel, orDefault(s.Stride, len(s.Kernel), 1), orDefault(s.Padding, 2*len(s.Kernel), 0))
		if len(s.OutputPadding) > 0 {
			d += fmt.Sprintf(" output padding %v", s.OutputPadding)
		}
	case strings.Contains(s.Type, "pool") && !strings.Contains(s.Type, "unpool"):
		d += fmt.Sprintf(" kernel %v stride %v padding %v", s.Kernel, s.Stride, s.Padding)
	case strings.Contains(s.Type, "unpool"):
		d += " with the indices of " + s.Of
	case strings.HasPrefix(s.Type, "upsample"):
		d += fmt.Sprintf(" ×%v", s.Scale)
	case s.Type == "batchnorm":
		d += fmt.Sprintf(" %d channels", s.In)
	case s.Type == "dropout":
		d += fmt.Sprintf(" p=%v", s.P)
	case s.Type == "unflatten":
		d += fmt.Sprintf(" to %v", s.Shape)
	}
	return d
}
