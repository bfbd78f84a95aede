package export

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/trainer"
)

// The ONNX element types of the Cast nodes that carry pooling indices as
// float32 between an encoder and its unpooling decoder.
const (
	onnxFloat = int64(onnxpb.TensorProto_FLOAT)
	onnxInt64 = int64(onnxpb.TensorProto_INT64)
)

// PartGraph returns the graph of part of m, as its ONNX file holds it: the
// model's graph (trainer.Model.Graph) for the full model, or one side of
// it cut at the code — μ for a variational model, whose decoder reads the
// code as "z" as every decoder does. An unpooling decoder takes the
// encoder's pooling indices: the encoder's extra outputs, and the
// decoder's extra inputs, named IndicesName(pool), as float32. A model
// that is itself an encoder or a decoder (imported as one) has only that
// part.
func PartGraph(m *trainer.Model, part Part) (*graph.Graph, error) {
	if _, err := ParsePart(string(part)); err != nil {
		return nil, err
	}
	g, err := m.Graph()
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if p := m.Config.Part; p != "" {
		if part != Full && string(part) != p {
			return nil, fmt.Errorf("export: the model is %s only; it has no %s", p, part)
		}
		return g, nil
	}
	if part == Full {
		// A variational model reconstructs from μ: the log σ² head's node
		// does not run, but its weights travel with the model (so that
		// convert reads the whole model back) as initializers no node reads.
		return withoutDeadNodes(g), nil
	}
	code := trainer.GraphCode
	if m.Config.Variational != nil {
		code = trainer.GraphMu
	}
	if m.Config.Variant == trainer.GraphVariant {
		// A graph model: its marked code, or the bottleneck found.
		if code, err = g.Bottleneck(); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
	}
	enc, dec, carried, err := g.CutCarrying(code)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	for _, t := range carried {
		pool, ok := strings.CutSuffix(t, "/indices")
		if !ok {
			return nil, fmt.Errorf("export: the decoder reads %q, computed by the encoder: only pooling indices may cross the code", t)
		}
		name := IndicesName(pool)
		enc.Nodes = append(enc.Nodes, &graph.Node{Name: pool + "/indices_out", Op: "Cast", Inputs: []string{t}, Outputs: []string{name},
			Attrs: map[string]graph.Attribute{"to": graph.Int(onnxFloat)}})
		enc.Outputs[slices.Index(enc.Outputs, t)] = name
		k := slices.IndexFunc(dec.Inputs, func(v graph.Value) bool { return v.Name == t })
		dec.Inputs[k].Name, dec.Inputs[k].Type = name, graph.Float32
		dec.Nodes = append([]*graph.Node{{Name: pool + "/indices_in", Op: "Cast", Inputs: []string{name}, Outputs: []string{t},
			Attrs: map[string]graph.Attribute{"to": graph.Int(onnxInt64)}}}, dec.Nodes...)
	}
	if part == Encoder {
		return enc, nil
	}
	if m.Config.Variational != nil { // the decoder reads z, not μ
		rename(dec, code, trainer.GraphCode)
		dec.Marks = map[string]string{graph.MarkCode: trainer.GraphCode}
	}
	return dec, nil
}

// withoutDeadNodes is g without the nodes that no output needs (and
// without the marks of their tensors); the parameters stay.
func withoutDeadNodes(g *graph.Graph) *graph.Graph {
	need := map[string]bool{}
	for _, out := range g.Outputs {
		need[out] = true
	}
	keep := make([]bool, len(g.Nodes))
	for changed := true; changed; {
		changed = false
		for i, n := range g.Nodes {
			if keep[i] || !slices.ContainsFunc(n.Outputs, func(t string) bool { return need[t] }) {
				continue
			}
			keep[i], changed = true, true
			for _, in := range n.Inputs {
				need[in] = true
			}
		}
	}
	out := *g
	out.Nodes = nil
	for i, n := range g.Nodes {
		if keep[i] {
			out.Nodes = append(out.Nodes, n)
		}
	}
	out.Marks = map[string]string{}
	for role, t := range g.Marks {
		if need[t] || slices.ContainsFunc(g.Inputs, func(v graph.Value) bool { return v.Name == t }) {
			out.Marks[role] = t
		}
	}
	return &out
}

// rename renames the tensor from to to in g's inputs, nodes and outputs.
func rename(g *graph.Graph, from, to string) {
	for i := range g.Inputs {
		if g.Inputs[i].Name == from {
			g.Inputs[i].Name = to
		}
	}
	for _, n := range g.Nodes {
		for k, in := range n.Inputs {
			if in == from {
				n.Inputs[k] = to
			}
		}
	}
	for k, out := range g.Outputs {
		if out == from {
			g.Outputs[k] = to
		}
	}
}

// modelGraph is model: part of the model's graph, written node by node, with the metadata convert and runtime
// read (variant, part, input shape, code size, loss, the model's
// configuration).
func (w Writer) modelGraph(m *trainer.Model, part Part) (*onnxpb.ModelProto, error) {
	g, err := PartGraph(m, part)
	if err != nil {
		return nil, err
	}
	meta, err := modelMetadata(m, part)
	if err != nil {
		return nil, err
	}
	mp, err := w.Graph(g, meta)
	if err != nil {
		return nil, err
	}
	mp.DocString = proto.String(fmt.Sprintf("aebridge %s autoencoder, %s graph", m.Config.Variant, part))
	mp.Graph.Name = proto.String(fmt.Sprintf("aebridge_%s_%s", m.Config.Variant, part))
	return mp, nil
}

// modelMetadata is what convert needs to rebuild a trainer model, and what
// a reader wants to know, beside what Writer.Graph records itself.
func modelMetadata(m *trainer.Model, part Part) (map[string]string, error) {
	c := m.Config
	shape, err := json.Marshal(c.Input)
	if err != nil {
		return nil, err
	}
	model, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"variant":     c.Variant,
		"part":        string(part),
		"input_shape": string(shape),
		"latent":      strconv.Itoa(product(m.CodeShape())),
		"loss":        string(c.Loss),
		"model":       string(model),
	}, nil
}
