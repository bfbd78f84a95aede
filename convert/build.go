package convert

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/trainer"
)

// build turns the imported chain into a trainer model: a full autoencoder
// split at its bottleneck, or an encoder (a variational one with heads), or
// a decoder.
func (im *importer) build(opts Options) (*Model, error) {
	outputs := []string{}
	for _, vi := range im.g.Output {
		outputs = append(outputs, vi.GetName())
	}
	bad := func(reason string) error {
		return &UnsupportedError{File: im.file, Nodes: []Node{{Op: "graph", Name: im.g.GetName(), Reason: reason}}}
	}
	layers := im.layers
	var heads []layer
	if len(im.heads) == 2 {
		mu, lv := im.layers[im.heads[0]], im.layers[im.heads[1]]
		if len(outputs) != 2 {
			return nil, bad(fmt.Sprintf("two heads but %d outputs", len(outputs)))
		}
		// log σ² is the output named so; otherwise the second.
		if strings.Contains(strings.ToLower(outputs[0]), "var") && !strings.Contains(strings.ToLower(outputs[1]), "var") {
			outputs[0], outputs[1] = outputs[1], outputs[0]
		}
		if mu.out != outputs[0] {
			mu, lv = lv, mu
		}
		if mu.out != outputs[0] || lv.out != outputs[1] {
			return nil, bad(fmt.Sprintf("outputs %v are not the two heads' results", outputs))
		}
		heads = []layer{mu, lv}
		layers = im.layers[:im.heads[0]]
	} else {
		if len(outputs) != 1 || outputs[0] != im.current {
			return nil, bad(fmt.Sprintf("outputs %v: want one output at the end of the layer chain (%q)", outputs, im.current))
		}
	}
	in := im.dyn[im.input]
	out := im.dyn[im.current]
	c := trainer.Config{Variant: "imported", Input: in, Loss: trainer.MSE}
	if im.cond != "" {
		c.Condition = im.dyn[im.cond][0]
	}
	split := len(layers) // encoder = layers[:split]
	switch {
	case heads != nil:
		c.Part = "encoder"
		features := product(in)
		if len(layers) > 0 {
			features = product(layers[len(layers)-1].shape)
		}
		if len(layers) > 0 && len(layers[len(layers)-1].shape) != 1 || len(layers) == 0 && len(in) != 1 {
			return nil, bad("the variational heads must read flat features")
		}
		c.Variational = &trainer.Variational{In: features, Latent: heads[0].spec.Out}
	case slices.Equal(out, in):
		if split = im.bottleneck(layers, opts.Code); split < 0 {
			return nil, im.codeError(layers, opts.Code, "")
		}
	case product(out) < product(in):
		c.Part = "encoder"
	default:
		c.Part = "decoder"
		split = 0
	}
	if opts.Code != "" && c.Part != "" {
		return nil, im.codeError(layers, opts.Code, "is no cut point: the graph is an "+c.Part+", not a full autoencoder")
	}
	names := make([]string, len(layers))
	for i := range layers {
		if i < split {
			names[i] = fmt.Sprintf("encoder.%d", i)
		} else {
			names[i] = fmt.Sprintf("decoder.%d", i-split)
		}
	}
	sd := map[string]trainer.Tensor{}
	for i, l := range layers {
		s := l.spec
		if l.tied {
			s.TiedTo = names[l.tiedTo]
		}
		if strings.Contains(s.Type, "unpool") {
			s.Of = names[l.poolOf]
		}
		if i < split {
			c.Encoder = append(c.Encoder, s)
		} else {
			c.Decoder = append(c.Decoder, s)
		}
		for role, k := range l.tensors {
			sd[names[i]+"."+role] = trainer.Tensor{Data: k.f}
		}
	}
	for i, h := range heads {
		name := []string{"mu", "logvar"}[i]
		for role, k := range h.tensors {
			sd[name+"."+role] = trainer.Tensor{Data: k.f}
		}
	}
	m, err := trainer.Build(c)
	if err != nil {
		return nil, bad("the imported layers do not form a trainer model: " + err.Error())
	}
	// The imported tensors take the model's shapes: biases stored (1, out)
	// and the like hold the same values.
	want := m.StateDict()
	for name, t := range sd {
		w, ok := want[name]
		if !ok || len(w.Data) != len(t.Data) {
			return nil, &FormatError{File: im.file, Tensor: name, Reason: fmt.Sprintf("%d values where the layer needs %v", len(t.Data), w.Shape)}
		}
		sd[name] = trainer.Tensor{Shape: w.Shape, Data: t.Data}
	}
	if err := m.LoadStateDict(sd, im.file); err != nil {
		return nil, &FormatError{File: im.file, Reason: err.Error(), Err: err}
	}
	res := &Model{Model: m, File: im.file, Inputs: []string{im.input}, Outputs: outputs}
	if im.cond != "" {
		res.Inputs = append(res.Inputs, im.cond)
	}
	return res, nil
}

// bottleneck returns how many layers form the encoder: up to the layer
// whose output is named code, or else to the narrowest layer output — the
// last of a run of equally narrow outputs (a dense layer and its
// activation), and the first such run. −1 if code names no output that
// leaves a decoder after it.
func (im *importer) bottleneck(layers []layer, code string) int {
	if code != "" {
		for i, l := range layers[:max(0, len(layers)-1)] {
			if l.out == code {
				return i + 1
			}
		}
		return -1
	}
	best, at := -1, 0
	for i, l := range layers {
		if n := product(l.shape); best < 0 || n < best {
			best, at = n, i
		}
	}
	for at+1 < len(layers) && product(layers[at+1].shape) == best && !strings.Contains(layers[at+1].spec.Type, "unpool") {
		at++
	}
	return at + 1
}

// Run runs the model's Go forward pass on the graph's inputs (x, and the
// condition c of a conditional model), each (batch, …), and returns the
// graph's outputs in order: x̂, or μ and log σ² for a variational encoder.
// The results are copies.
func (m *Model) Run(inputs ...*trainer.Tensor) ([]*trainer.Tensor, error) {
	if len(inputs) != len(m.Inputs) {
		return nil, fmt.Errorf("convert: %s takes %d inputs (%s), given %d", m.File, len(m.Inputs), strings.Join(m.Inputs, ", "), len(inputs))
	}
	want := product(m.Config.Input)
	x := inputs[0]
	if len(x.Shape) == 0 || x.Len() == 0 || x.Len()%want != 0 || x.Shape[0]*want != x.Len() {
		return nil, fmt.Errorf("convert: %s: input %q of shape %v does not hold samples of shape %v", m.File, m.Inputs[0], x.Shape, m.Config.Input)
	}
	if len(inputs) == 2 {
		c := inputs[1]
		if c.Len() != x.Shape[0]*m.Config.Condition {
			return nil, fmt.Errorf("convert: %s: condition %q of shape %v, want (%d, %d)", m.File, m.Inputs[1], c.Shape, x.Shape[0], m.Config.Condition)
		}
		m.SetCondition(&trainer.Tensor{Shape: []int{x.Shape[0], m.Config.Condition}, Data: c.Data})
	}
	if m.Config.Variational != nil && m.Config.Part == "encoder" {
		mu, lv := m.EncodeDist(x)
		return []*trainer.Tensor{mu.Clone(), lv.Clone()}, nil
	}
	return []*trainer.Tensor{m.Forward(x).Clone()}, nil
}

// codeError reports an Options.Code the graph cannot be cut at, listing the
// layer outputs it can be cut at.
func (im *importer) codeError(layers []layer, code, reason string) error {
	e := &CodeError{File: im.file, Code: code, Reason: reason}
	for _, l := range layers[:max(0, len(layers)-1)] {
		e.Candidates = append(e.Candidates, fmt.Sprintf("%q %v", l.out, l.shape))
	}
	if reason != "" {
		e.Candidates = nil
		return e
	}
	known := slices.ContainsFunc(im.g.Input, func(vi *onnxpb.ValueInfoProto) bool { return vi.GetName() == code }) ||
		slices.ContainsFunc(im.g.Node, func(n *onnxpb.NodeProto) bool { return slices.Contains(n.Output, code) })
	switch {
	case !known:
		e.Reason = "is not a tensor of the graph"
	case len(layers) > 0 && code == layers[len(layers)-1].out:
		e.Reason = "is the model's output, which leaves no decoder"
	default:
		e.Reason = "is not the output of a layer (it is the input, or inside a layer's pattern)"
	}
	return e
}
