package export

import (
	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

// lowerRNN writes an LSTM or GRU node (the graph holds opset 14's form,
// with sequence_lens int64) at l.opset, any opset from MinOpset on:
// sequence_lens through a Cast to int32, the element type ONNX gives it;
// and layout 1 as layout 0 between Transposes — opsets before 14 have no
// layout, and ONNX Runtime runs only layout 0 — of X and the initial
// states in, and of Y, Y_h and Y_c out.
func lowerRNN(l *lowering, n *graph.Node) ([]*graph.Node, error) {
	var before, after []*graph.Node
	op := func(nodes *[]*graph.Node, kind, in, out string, attrs map[string]graph.Attribute) {
		*nodes = append(*nodes, &graph.Node{Name: l.fresh(n.Name + "/" + kind), Op: kind, Inputs: []string{in}, Outputs: []string{out}, Attrs: attrs})
	}
	if lens := input(n, 4); lens != "" {
		cast := l.fresh(lens + "/int32")
		op(&before, "Cast", lens, cast, map[string]graph.Attribute{"to": graph.Int(int64(onnxpb.TensorProto_INT32))})
		n.Inputs[4] = cast
	}
	layout, ok := n.Attrs["layout"]
	delete(n.Attrs, "layout")
	if !ok || layout.Int == 0 {
		return append(before, n), nil
	}
	swap := map[string]graph.Attribute{"perm": graph.Ints(1, 0, 2)}
	for _, k := range []int{0, 5, 6} {
		if in := input(n, k); in != "" {
			t := l.fresh(in + "/time_major")
			op(&before, "Transpose", in, t, swap)
			n.Inputs[k] = t
		}
	}
	for k, out := range n.Outputs {
		if out == "" {
			continue
		}
		t := l.fresh(out + "/time_major")
		perm := swap
		if k == 0 { // (seq, dirs, batch, hidden) → (batch, seq, dirs, hidden)
			perm = map[string]graph.Attribute{"perm": graph.Ints(2, 0, 1, 3)}
		}
		op(&after, "Transpose", t, out, perm)
		n.Outputs[k] = t
	}
	return append(append(before, n), after...), nil
}
