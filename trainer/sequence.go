package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/limits"
)

// The sequence autoencoders, variants "lstm" and "gru": the Keras
// time-series autoencoder. A recurrent encoder (Sequence.Layers layers of
// Sequence.Hidden units, optionally bidirectional) reads the input
// (batch, steps, features); the last layer's final hidden state (both
// directions' concatenated, forward first) is the code, or a dense
// projection of it to Sequence.Latent units; the code is repeated over
// the steps (RepeatVector: Unsqueeze and Expand), read by a recurrent
// decoder of as many layers, and a time-distributed dense layer maps each
// step's hidden state back to the features.
//
// The model is built as a graph of ONNX operators (LSTM or GRU nodes,
// opset 14's form, time-major) over parameters named and laid out as
// PyTorch's state dict of the equivalent modules —
//
//	encoder  nn.LSTM(features, hidden, layers, batch_first=True, bidirectional=…)
//	project  nn.Linear(dirs·hidden, latent)          (when latent > 0)
//	decoder  nn.LSTM(code, hidden, layers, batch_first=True)
//	output   nn.Linear(hidden, features)
//
// (nn.GRU for gru): encoder.weight_ih_l0, encoder.bias_hh_l1_reverse, …
// The graph reorders the gates into ONNX's layout with Gather nodes (see
// graph/rnn.go for the mapping), so the state dict loads into PyTorch's
// modules as it is, and training updates PyTorch's tensors.

// SequenceVariants lists the sequence autoencoder variants.
var SequenceVariants = []string{"lstm", "gru"}

// isSequence reports whether the variant is a sequence autoencoder.
func isSequence(variant string) bool { return slices.Contains(SequenceVariants, variant) }

// Sequence describes a sequence autoencoder (Config.Sequence); its input
// is (batch, Steps, Features), Config.Input [Steps, Features].
type Sequence struct {
	Steps         int  `json:"steps"`    // time steps of a sample
	Features      int  `json:"features"` // features per step
	Hidden        int  `json:"hidden"`   // units of every recurrent layer
	Layers        int  `json:"layers"`   // recurrent layers of the encoder, and of the decoder
	Bidirectional bool `json:"bidirectional,omitempty"`
	// Latent, when positive, adds a dense projection of the encoder's
	// final state to Latent units as the code.
	Latent int `json:"latent,omitempty"`
	// Mean and Std, when set, are the per-feature standardisation the
	// model was trained with (from the training data): its inputs are
	// (x − Mean)/Std, its outputs in those units.
	Mean []float64 `json:"mean,omitempty"`
	Std  []float64 `json:"std,omitempty"`
	// Stride, when positive, is the step between the windows a CSV
	// series was cut into (windows of Steps values).
	Stride int `json:"stride,omitempty"`
}

// maxSequenceSize bounds each size of a sequence autoencoder, and
// maxSequenceLayers its depth.
const (
	maxSequenceSize   = 1 << 20
	maxSequenceLayers = 64
)

// dirs is the number of directions of the encoder.
func (s *Sequence) dirs() int {
	if s.Bidirectional {
		return 2
	}
	return 1
}

// codeSize is the size of the code.
func (s *Sequence) codeSize() int {
	if s.Latent > 0 {
		return s.Latent
	}
	return s.dirs() * s.Hidden
}

// checkSequence is Check for a sequence autoencoder: the sizes, the
// standardisation, and the parameter count against limits.MaxParams.
func (c Config) checkSequence() error {
	s := c.Sequence
	if s == nil {
		return fmt.Errorf("trainer: variant %s needs its recipe (model.sequence)", c.Variant)
	}
	if len(c.Encoder) > 0 || len(c.Decoder) > 0 || c.Variational != nil || c.Part != "" || c.Condition != 0 {
		return fmt.Errorf("trainer: variant %s is described by model.sequence: no encoder, decoder, variational heads, condition or part", c.Variant)
	}
	if _, err := ParseLoss(string(c.Loss)); err != nil {
		return err
	}
	if c.Init != "" && c.Init != InitPyTorch {
		return fmt.Errorf("trainer: variant %s: init %q (want %s: PyTorch's initialisation of nn.LSTM, nn.GRU and nn.Linear)", c.Variant, c.Init, InitPyTorch)
	}
	for _, f := range []struct {
		name     string
		v, least int
	}{{"steps", s.Steps, 1}, {"features", s.Features, 1}, {"hidden", s.Hidden, 1}, {"latent", s.Latent, 0}, {"stride", s.Stride, 0}} {
		if f.v < f.least || f.v > maxSequenceSize {
			return fmt.Errorf("trainer: model.sequence.%s %d must be in [%d, %d]", f.name, f.v, f.least, maxSequenceSize)
		}
	}
	if s.Layers < 1 || s.Layers > maxSequenceLayers {
		return fmt.Errorf("trainer: model.sequence.layers %d must be in [1, %d]", s.Layers, maxSequenceLayers)
	}
	if _, err := limits.ElementsInt([]int{s.Steps, s.Features}); err != nil {
		return fmt.Errorf("trainer: model.sequence: steps %d × features %d: %w", s.Steps, s.Features, err)
	}
	if !slices.Equal(c.Input, []int{s.Steps, s.Features}) {
		return fmt.Errorf("trainer: model.input %v is not model.sequence's [steps features] [%d %d]", c.Input, s.Steps, s.Features)
	}
	if (s.Mean == nil) != (s.Std == nil) || (s.Mean != nil && (len(s.Mean) != s.Features || len(s.Std) != s.Features)) {
		return fmt.Errorf("trainer: model.sequence: mean (%d values) and std (%d) must both be given for the %d features, or neither", len(s.Mean), len(s.Std), s.Features)
	}
	for i := range s.Mean {
		if math.IsNaN(s.Mean[i]) || math.IsInf(s.Mean[i], 0) || !(s.Std[i] > 0) || math.IsInf(s.Std[i], 0) {
			return fmt.Errorf("trainer: model.sequence: feature %d: mean %v, std %v: want a finite mean and a positive, finite std", i, s.Mean[i], s.Std[i])
		}
	}
	if n := s.params(c.Variant == "gru"); n > limits.MaxParams {
		return fmt.Errorf("trainer: variant %s: %d parameters, which %w of %d parameters", c.Variant, n, limits.ErrTooLarge, limits.MaxParams)
	}
	if c.Graph != nil {
		if _, err := c.Graph.graph(true); err != nil {
			return err
		}
	}
	return nil
}

// params counts the model's parameters (the sizes are checked, so no
// product overflows an int64).
func (s *Sequence) params(gru bool) int64 {
	g := int64(4)
	if gru {
		g = 3
	}
	h := int64(s.Hidden)
	rnn := func(in int64, layers, dirs int) int64 {
		var n int64
		for l := range layers {
			if l > 0 {
				in = int64(dirs) * h
			}
			n += int64(dirs) * (g*h*(in+h) + 2*g*h)
		}
		return n
	}
	n := rnn(int64(s.Features), s.Layers, s.dirs())
	if s.Latent > 0 {
		n += int64(s.Latent) * (int64(s.dirs())*h + 1)
	}
	n += rnn(int64(s.codeSize()), s.Layers, 1)
	return n + int64(s.Features)*(h+1)
}

// buildSequence is Build for a sequence autoencoder.
func buildSequence(c Config) (*Model, error) {
	if err := c.checkSequence(); err != nil {
		return nil, err
	}
	g, order := sequenceGraph(c.Variant == "gru", c.Sequence)
	initSequence(g, order, c.InitSeed)
	spec := SpecOf(g)
	if c.Graph != nil {
		if err := sameGraph(c.Graph, spec); err != nil {
			return nil, fmt.Errorf("trainer: %w: variant %s in aebridge %s: %w", ErrGraphMismatch, c.Variant, Version, err)
		}
	}
	c.Graph = spec
	return fromGraph(g, c)
}

// seqParam is a parameter of a sequence autoencoder with the bound of its
// initialisation, U(−bound, bound).
type seqParam struct {
	name  string
	bound float64
}

// initSequence draws the weights as PyTorch 1.13 initialises its modules:
// every tensor of nn.LSTM and nn.GRU from U(±1/√hidden), nn.Linear's
// weight and bias from U(±1/√in), in the modules' state-dict order, from
// a generator seeded with seed.
func initSequence(g *graph.Graph, order []seqParam, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6165_6272_6964_6765)) // "aebridge"
	for _, p := range order {
		t := g.Params[p.name]
		for j := range t.Data {
			t.Data[j] = float32((2*rng.Float64() - 1) * p.bound)
		}
	}
}

// seqBuilder builds a sequence autoencoder's graph.
type seqBuilder struct {
	g     *graph.Graph
	gru   bool
	order []seqParam
}

func (b *seqBuilder) node(name, op string, inputs []string, outputs []string, attrs map[string]graph.Attribute) string {
	b.g.Nodes = append(b.g.Nodes, &graph.Node{Name: name, Op: op, Inputs: inputs, Outputs: outputs, Attrs: attrs})
	return outputs[0]
}

func (b *seqBuilder) ints(name string, v ...int64) string {
	b.g.Params[name] = &graph.Tensor{Type: graph.Int64, Shape: []int{len(v)}, Int64: v}
	return name
}

func (b *seqBuilder) weight(name string, bound float64, shape ...int) string {
	b.g.Params[name] = graph.NewTensor(shape...)
	b.order = append(b.order, seqParam{name, bound})
	return name
}

// gatePerm is the rows of a PyTorch gate-stacked tensor (G·h rows) in
// ONNX's gate order: LSTM's i, f, g, o to i, o, f, c; GRU's r, z, n to
// z, r, h.
func gatePerm(gru bool, h int) []int64 {
	blocks := []int{0, 3, 1, 2}
	if gru {
		blocks = []int{1, 0, 2}
	}
	var perm []int64
	for _, blk := range blocks {
		for j := range h {
			perm = append(perm, int64(blk*h+j))
		}
	}
	return perm
}

// rnn adds a stack of recurrent layers named module (as nn.LSTM's
// parameters are) reading x, (steps, batch, in), and returns the last
// layer's Y, (steps, dirs, batch, h), and Y_h, (dirs, batch, h).
func (b *seqBuilder) rnn(module, x string, in, h, layers int, bidirectional bool) (y, yh string) {
	op, gates := "LSTM", 4
	if b.gru {
		op, gates = "GRU", 3
	}
	dirs, direction := 1, "forward"
	if bidirectional {
		dirs, direction = 2, "bidirectional"
	}
	perm := b.ints(module+"/gate_order", gatePerm(b.gru, h)...)
	axis0 := b.ints(module+"/axis0", 0)
	bound := 1 / math.Sqrt(float64(h))
	for l := range layers {
		if l > 0 {
			in = dirs * h
		}
		var ws, rs, bs []string
		for d := range dirs {
			sfx := fmt.Sprintf("_l%d", l)
			if d == 1 {
				sfx += "_reverse"
			}
			wih := b.weight(module+".weight_ih"+sfx, bound, gates*h, in)
			whh := b.weight(module+".weight_hh"+sfx, bound, gates*h, h)
			bih := b.weight(module+".bias_ih"+sfx, bound, gates*h)
			bhh := b.weight(module+".bias_hh"+sfx, bound, gates*h)
			at := func(what, t string) string {
				name := module + "/" + what + sfx
				g := b.node(name+"/gather", "Gather", []string{t, perm}, []string{name + "/onnx"}, map[string]graph.Attribute{"axis": graph.Int(0)})
				return g
			}
			unsq := func(name, t string) string {
				return b.node(name+"/unsqueeze", "Unsqueeze", []string{t, axis0}, []string{name + "/dir"}, nil)
			}
			ws = append(ws, unsq(module+"/W"+sfx, at("W", wih)))
			rs = append(rs, unsq(module+"/R"+sfx, at("R", whh)))
			bc := b.node(module+"/B"+sfx+"/concat", "Concat", []string{at("Wb", bih), at("Rb", bhh)}, []string{module + "/B" + sfx + "/flat"}, map[string]graph.Attribute{"axis": graph.Int(0)})
			bs = append(bs, unsq(module+"/B"+sfx, bc))
		}
		layer := fmt.Sprintf("%s/l%d", module, l)
		w, r, bias := ws[0], rs[0], bs[0]
		if dirs == 2 {
			cat := func(what string, v []string) string {
				return b.node(layer+"/"+what, "Concat", v, []string{layer + "/" + what}, map[string]graph.Attribute{"axis": graph.Int(0)})
			}
			w, r, bias = cat("W", ws), cat("R", rs), cat("B", bs)
		}
		attrs := map[string]graph.Attribute{"hidden_size": graph.Int(int64(h)), "direction": graph.String(direction)}
		if b.gru {
			attrs["linear_before_reset"] = graph.Int(1)
		}
		y = b.node(layer, op, []string{x, w, r, bias}, []string{layer + "/Y", layer + "/Y_h"}, attrs)
		yh = layer + "/Y_h"
		if l < layers-1 {
			// (steps, dirs, batch, h) → (steps, batch, dirs·h)
			t := b.node(layer+"/transpose", "Transpose", []string{y}, []string{layer + "/Y_t"}, map[string]graph.Attribute{"perm": graph.Ints(0, 2, 1, 3)})
			x = b.node(layer+"/reshape", "Reshape", []string{t, b.ints(layer+"/shape", 0, 0, -1)}, []string{layer + "/out"}, nil)
		}
	}
	return y, yh
}

// sequenceGraph builds the graph of a sequence autoencoder (gru: GRU
// layers, else LSTM) with zero weights, and lists its weights in
// PyTorch's initialisation order.
func sequenceGraph(gru bool, s *Sequence) (*graph.Graph, []seqParam) {
	b := &seqBuilder{g: &graph.Graph{Params: map[string]*graph.Tensor{}, Marks: map[string]string{}}, gru: gru}
	b.g.Inputs = []graph.Value{{Name: GraphInput, Shape: []int{-1, s.Steps, s.Features}}}
	tm := b.node("encoder/time_major", "Transpose", []string{GraphInput}, []string{"encoder/x"}, map[string]graph.Attribute{"perm": graph.Ints(1, 0, 2)})
	_, yh := b.rnn("encoder", tm, s.Features, s.Hidden, s.Layers, s.Bidirectional)
	// The last layer's final state (dirs, batch, h) → (batch, dirs·h).
	code := GraphCode
	if s.Latent > 0 {
		code = "encoder/h"
	}
	t := b.node("encoder/h_t", "Transpose", []string{yh}, []string{"encoder/h_t"}, map[string]graph.Attribute{"perm": graph.Ints(1, 0, 2)})
	h := b.node("encoder/h", "Reshape", []string{t, b.ints("encoder/h_shape", 0, -1)}, []string{code}, nil)
	if s.Latent > 0 {
		in := s.dirs() * s.Hidden
		bound := 1 / math.Sqrt(float64(in))
		w, bias := b.weight("project.weight", bound, s.Latent, in), b.weight("project.bias", bound, s.Latent)
		h = b.node("project", "Gemm", []string{h, w, bias}, []string{GraphCode}, map[string]graph.Attribute{"transB": graph.Int(1)})
	}
	b.g.Marks[graph.MarkCode] = GraphCode
	// RepeatVector: (batch, code) → (1, batch, code) → (steps, batch, code).
	u := b.node("repeat/unsqueeze", "Unsqueeze", []string{h, b.ints("repeat/axes", 0)}, []string{"repeat/z"}, nil)
	rep := b.node("repeat", "Expand", []string{u, b.ints("repeat/shape", int64(s.Steps), 1, 1)}, []string{"repeat/out"}, nil)
	y, _ := b.rnn("decoder", rep, s.codeSize(), s.Hidden, s.Layers, false)
	// (steps, 1, batch, h) → (batch, steps, h), then the dense layer on
	// the last axis.
	sq := b.node("decoder/squeeze", "Squeeze", []string{y, b.ints("decoder/squeeze_axes", 1)}, []string{"decoder/y"}, nil)
	bm := b.node("decoder/batch_major", "Transpose", []string{sq}, []string{"decoder/out"}, map[string]graph.Attribute{"perm": graph.Ints(1, 0, 2)})
	bound := 1 / math.Sqrt(float64(s.Hidden))
	w, bias := b.weight("output.weight", bound, s.Features, s.Hidden), b.weight("output.bias", bound, s.Features)
	wt := b.node("output/weight_t", "Transpose", []string{w}, []string{"output/weight_t"}, map[string]graph.Attribute{"perm": graph.Ints(1, 0)})
	mm := b.node("output/matmul", "MatMul", []string{bm, wt}, []string{"output/matmul"}, nil)
	b.node("output", "Add", []string{mm, bias}, []string{GraphOutput}, nil)
	b.g.Outputs = []string{GraphOutput}
	return b.g, b.order
}

// Standardization returns the per-feature mean and standard deviation of
// x, (N, steps·features) or (N, steps, features), over every sample and
// step, as Sequence.Mean and Sequence.Std record them: the population
// standard deviation, or 1 for a feature that does not vary (so that it
// is only centred).
func Standardization(x *Tensor, features int) (mean, std []float64) {
	mean, std = make([]float64, features), make([]float64, features)
	n := len(x.Data) / features
	if n == 0 {
		for i := range std {
			std[i] = 1
		}
		return mean, std
	}
	for i, v := range x.Data {
		mean[i%features] += float64(v)
	}
	for f := range mean {
		mean[f] /= float64(n)
	}
	for i, v := range x.Data {
		d := float64(v) - mean[i%features]
		std[i%features] += d * d
	}
	for f := range std {
		std[f] = math.Sqrt(std[f] / float64(n))
		if !(std[f] > 0) || math.IsInf(std[f], 0) {
			std[f] = 1
		}
	}
	return mean, std
}

// Standardize replaces x's values, (N, steps·features) or (N, steps,
// features), with (x − Mean)/Std per feature; with no standardisation
// recorded it leaves x as it is.
func (s *Sequence) Standardize(x *Tensor) {
	if s.Mean == nil {
		return
	}
	f := len(s.Mean)
	for i, v := range x.Data {
		x.Data[i] = float32((float64(v) - s.Mean[i%f]) / s.Std[i%f])
	}
}

// describe prints the recipe's modules, one a line, as Model.String
// prints layers.
func (s *Sequence) describe(variant string) string {
	bi := ""
	if s.Bidirectional {
		bi = ", bidirectional"
	}
	d := fmt.Sprintf("  encoder  %s %d→%d, %d layers%s\n", variant, s.Features, s.Hidden, s.Layers, bi)
	if s.Latent > 0 {
		d += fmt.Sprintf("  project  dense %d→%d\n", s.dirs()*s.Hidden, s.Latent)
	}
	d += fmt.Sprintf("  repeat  ×%d steps\n  decoder  %s %d→%d, %d layers\n  output  dense %d→%d per step\n", s.Steps, variant, s.codeSize(), s.Hidden, s.Layers, s.Hidden, s.Features)
	return d
}
