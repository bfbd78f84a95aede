package convert

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

// rnnGraphCase is a graph of one LSTM or GRU node: x (batch-major with
// layout 1, else time-major) in, its named outputs out, the rest
// parameters.
type rnnGraphCase struct {
	name      string
	op        string
	layout    int
	direction string
	lens      []int64
	outputs   []string // names of Y, Y_h, Y_c; "" left out
}

const rnnSeq, rnnBatch, rnnIn, rnnHid = 4, 3, 2, 3

func (c rnnGraphCase) graph(r *rand.Rand) *graph.Graph {
	rnd := func(shape ...int) *graph.Tensor {
		t := graph.NewTensor(shape...)
		for i := range t.Data {
			t.Data[i] = float32(r.NormFloat64() * 0.5)
		}
		return t
	}
	g, dirs := 4, 1
	if c.op == "GRU" {
		g = 3
	}
	if c.direction == "bidirectional" {
		dirs = 2
	}
	// The states are parameters of rnnBatch, so the batch is fixed (a
	// model builds its states from X's shape instead).
	x := []int{-1, rnnBatch, rnnIn}
	state := []int{dirs, rnnBatch, rnnHid}
	if c.layout == 1 {
		x = []int{rnnBatch, rnnSeq, rnnIn}
		state = []int{rnnBatch, dirs, rnnHid}
	}
	if c.lens != nil && c.layout == 0 { // lengths as parameters: of sequences of rnnSeq
		x[0] = rnnSeq
	}
	gr := &graph.Graph{Inputs: []graph.Value{{Name: "x", Shape: x}}, Params: map[string]*graph.Tensor{
		"w": rnd(dirs, g*rnnHid, rnnIn), "r": rnd(dirs, g*rnnHid, rnnHid), "b": rnd(dirs, 2*g*rnnHid), "h0": rnd(state...)}}
	in := []string{"x", "w", "r", "b", "", "h0"}
	if c.lens != nil {
		gr.Params["lens"] = graph.NewInt64Tensor(c.lens, len(c.lens))
		in[4] = "lens"
	}
	attrs := map[string]graph.Attribute{"hidden_size": graph.Int(rnnHid), "layout": graph.Int(int64(c.layout)), "direction": graph.String(c.direction)}
	if c.op == "LSTM" {
		gr.Params["c0"] = rnd(state...)
		in = append(in, "c0")
	} else {
		attrs["linear_before_reset"] = graph.Int(1)
	}
	for _, o := range c.outputs {
		if o != "" {
			gr.Outputs = append(gr.Outputs, o)
		}
	}
	gr.Nodes = []*graph.Node{{Name: "rnn", Op: c.op, Inputs: in, Outputs: c.outputs, Attrs: attrs}}
	return gr
}

var rnnGraphCases = []rnnGraphCase{
	{"lstm", "LSTM", 0, "forward", nil, []string{"y", "yh", "yc"}},
	{"lstm_layout1_lens", "LSTM", 1, "bidirectional", []int64{4, 2, 3}, []string{"y", "yh", "yc"}},
	{"lstm_layout1_yh", "LSTM", 1, "reverse", nil, []string{"y", "yh"}},
	{"gru_lens", "GRU", 0, "reverse", []int64{1, 4, 2}, []string{"y", "yh"}},
	{"gru_layout1", "GRU", 1, "bidirectional", nil, []string{"y", "yh"}},
}

// rnnBatchInput is x of the case at a batch of rnnBatch.
func rnnBatchInput(r *rand.Rand, g *graph.Graph) *graph.Tensor {
	shape := slices.Clone(g.Inputs[0].Shape)
	if shape[0] == -1 {
		shape[0] = rnnSeq
	}
	x := graph.NewTensor(shape...)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	return x
}

// TestRNNExportReadGraphRoundTrip writes each LSTM and GRU graph at
// opsets 11 to 18 (layout 1 through Transposes, sequence_lens through a
// Cast to int32) and reads it back: the same outputs, to float32 rounding,
// and the parameters by name and value. The graphs with sequence_lens are
// left out: ONNX types it int32, and the graph's Cast does not read a Cast
// to int32 back (TestRNNExportAgainstONNXRuntime runs them).
func TestRNNExportReadGraphRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, c := range rnnGraphCases {
		if c.lens != nil {
			continue
		}
		for _, opset := range []int{11, 13, 14, 17, 18} {
			t.Run(fmt.Sprintf("%s_opset%d", c.name, opset), func(t *testing.T) {
				want := c.graph(r)
				b, err := export.Writer{Opset: opset}.MarshalGraph(want, nil)
				if err != nil {
					t.Fatal(err)
				}
				got, _, err := DecodeGraph(bytes.NewReader(b), "m.onnx", Options{})
				if err != nil {
					t.Fatal(err)
				}
				for name, p := range want.Params {
					if q, ok := got.Params[name]; p.Type == graph.Float32 && (!ok || !slices.Equal(q.Data, p.Data)) {
						t.Errorf("parameter %s: not read back as written", name)
					}
				}
				x := rnnBatchInput(r, want)
				compareGraphs(t, got, want, map[string]*graph.Tensor{"x": x}, 1e-6)
			})
		}
	}
}

// compareGraphs runs both graphs on the inputs and compares their outputs,
// which must be the same list.
func compareGraphs(t *testing.T, got, want *graph.Graph, inputs map[string]*graph.Tensor, tol float64) {
	t.Helper()
	if !slices.Equal(got.Outputs, want.Outputs) {
		t.Fatalf("outputs %v, want %v", got.Outputs, want.Outputs)
	}
	wv, err := want.Forward(inputs)
	if err != nil {
		t.Fatal(err)
	}
	gv, err := got.Forward(inputs)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range want.Outputs {
		a, b := gv[out], wv[out]
		if !slices.Equal(a.Shape, b.Shape) {
			t.Fatalf("output %s: shape %v, want %v", out, a.Shape, b.Shape)
		}
		for i := range b.Data {
			if d := math.Abs(float64(a.Data[i] - b.Data[i])); !(d <= tol+tol*math.Abs(float64(b.Data[i]))) {
				t.Fatalf("output %s[%d]: read back %v, the graph %v", out, i, a.Data[i], b.Data[i])
			}
		}
	}
}

// TestRNNUpgrades reads LSTM and GRU nodes of opset 1's form (with
// output_sequence): the graph read computes what the same node at opset 14
// computes.
func TestRNNUpgrades(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct {
		name    string
		op      string
		opset   int64
		outputs []string
	}{
		{"lstm output_sequence", "LSTM", 6, []string{"y", "yh"}},
		{"gru output_sequence", "GRU", 6, []string{"y", "yh"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := rnnGraphCase{op: c.op, direction: "forward", outputs: []string{"y", "yh"}}.graph(r)
			n := want.Nodes[0]
			var attrs []*onnxpb.AttributeProto
			for _, k := range slices.Sorted(maps.Keys(n.Attrs)) {
				if k == "layout" {
					continue
				}
				switch a := n.Attrs[k]; a.Type {
				case graph.AttrInt:
					attrs = append(attrs, pbAttr(k, int(a.Int)))
				case graph.AttrString:
					attrs = append(attrs, pbAttr(k, a.String))
				}
			}
			if c.opset < 7 {
				attrs = append(attrs, pbAttr("output_sequence", 1))
			}
			var outs []*onnxpb.ValueInfoProto
			for _, o := range c.outputs {
				if o != "" {
					outs = append(outs, pbValue(o, onnxpb.TensorProto_FLOAT, nil))
				}
			}
			pg := &onnxpb.GraphProto{Name: proto.String("rnn"), Input: []*onnxpb.ValueInfoProto{pbValue("x", onnxpb.TensorProto_FLOAT, want.Inputs[0].Shape)},
				Output: outs, Node: []*onnxpb.NodeProto{pbNode(c.op, "rnn", n.Inputs, c.outputs, attrs...)}}
			for _, name := range slices.Sorted(maps.Keys(want.Params)) {
				pg.Initializer = append(pg.Initializer, pbTensor(name, want.Params[name]))
			}
			mp := &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: pg,
				OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(c.opset)}}}
			got, _, err := decodeModel(t, mp)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := got.Nodes[0].Attrs["output_sequence"]; ok {
				t.Errorf("output_sequence kept")
			}
			want.Outputs = got.Outputs
			compareGraphs(t, got, want, map[string]*graph.Tensor{"x": rnnBatchInput(r, want)}, 0)
		})
	}
}
