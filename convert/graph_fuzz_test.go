package convert

import (
	"bytes"
	"errors"
	"fmt"
	goruntime "runtime"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

// graphFuzzFixtures are the PyTorch exports FuzzReadGraph mutates: some
// the graph runs, some it lists ops of, at the old opsets the upgrades
// rewrite.
var graphFuzzFixtures = []string{"mlp_ae.opset9.onnx", "cvae_decoder.opset13.onnx", "vae_encoder.opset17.onnx",
	"activations_ae.opset11.onnx", "conv_upsample_ae.opset9.onnx", "conv_dense_ae.opset11.onnx", "conv1d_ae.opset9.onnx"}

// graphFuzzModels are the hand-made old forms FuzzReadGraph mutates too.
var graphFuzzModels = []upgradeModel{
	{name: "softmax", opset: 11, op: "Softmax", inputs: [][]int{{-1, 3, 4}}},
	{name: "upsample", opset: 7, op: "Upsample", attrs: []*onnxpb.AttributeProto{pbAttr("scales", []float32{1, 1, 2, 2})}, inputs: [][]int{{-1, 1, 2, 2}}},
	{name: "resize", opset: 10, op: "Resize", inputs: [][]int{{-1, 1, 4, 4}}, consts: map[string]*graph.Tensor{"s": {Shape: []int{4}, Data: []float32{1, 1, 0.5, 0.5}}}, order: []string{"s"}},
	{name: "clip", opset: 6, op: "Clip", attrs: []*onnxpb.AttributeProto{pbAttr("min", 0.0), pbAttr("max", 6.0)}, inputs: [][]int{{-1, 3}}},
	{name: "slice", opset: 9, op: "Slice", attrs: []*onnxpb.AttributeProto{pbAttr("starts", []int64{1}), pbAttr("ends", []int64{3}), pbAttr("axes", []int64{1})}, inputs: [][]int{{-1, 4}}},
	{name: "unsqueeze", opset: 11, op: "Unsqueeze", attrs: []*onnxpb.AttributeProto{pbAttr("axes", []int64{1})}, inputs: [][]int{{-1, 4}}},
}

// graphFuzzSeeds are the models FuzzReadGraph starts from.
func graphFuzzSeeds(tb testing.TB) []*onnxpb.ModelProto {
	var models []*onnxpb.ModelProto
	for _, name := range graphFuzzFixtures {
		models = append(models, loadFixture(tb, name))
	}
	for _, c := range graphFuzzModels {
		models = append(models, c.build())
	}
	return models
}

var fuzzOpsets = []int64{1, 5, 6, 7, 9, 10, 11, 12, 13, 17, 18, 21, 22, 0, -1}

// FuzzReadGraph mutates models (nodes' inputs, outputs, op types and
// attributes; initializers' dims and data; the graph's shapes; the opset)
// as the fuzzer's bytes choose and reads them with DecodeGraph. It checks
// that the reader never panics, that every error is a *FormatError, an
// *UnsupportedError or onnxfile's *FormatError, that a read allocates
// within bounds, and that a graph it returns holds together: ordered, of
// ops the graph runs, its parameters of the sizes their shapes say, and
// its shapes inferred for a batch of 2 and its Forward run on zeros where
// small.
func FuzzReadGraph(f *testing.F) {
	models := graphFuzzSeeds(f)
	for i := range models {
		f.Add([]byte{0, byte(i)})                                     // the model itself
		f.Add([]byte{0, byte(i), 1, 0, 0, byte(i), 0, 5, 0, 0, 0, 1}) // one mutation
		f.Add([]byte{0, byte(i), 0x23, 0, 3, 0, 0, 0, 9})             // another opset
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &fuzzBytes{b: data}
		mp := proto.Clone(models[r.intn(len(models))]).(*onnxpb.ModelProto)
		k := r.next()
		if k&0x20 != 0 {
			mp.OpsetImport[0].Version = proto.Int64(fuzzOpsets[r.intn(len(fuzzOpsets))])
		}
		for k %= 8; k > 0; k-- {
			mutate(mp.Graph, r)
		}
		b, err := proto.Marshal(mp)
		if err != nil {
			return
		}
		var before, after goruntime.MemStats
		goruntime.ReadMemStats(&before)
		g, _, err := DecodeGraph(bytes.NewReader(b), "fuzz.onnx", Options{})
		goruntime.ReadMemStats(&after)
		if d := after.TotalAlloc - before.TotalAlloc; d > 256<<20 {
			t.Fatalf("reading %d bytes allocated %d", len(b), d)
		}
		if err != nil {
			if !typedError(err) {
				t.Fatalf("got %v (%T), want a *FormatError or *UnsupportedError", err, err)
			}
			return
		}
		if err := holdsTogether(g); err != nil {
			t.Fatal(err)
		}
	})
}

// holdsTogether checks what ReadGraph promises of a graph it returns, and
// runs it where it is small.
func holdsTogether(g *graph.Graph) error {
	if _, err := g.Order(); err != nil {
		return err
	}
	ops := map[string]bool{}
	for _, op := range graph.Ops() {
		ops[op] = true
	}
	for _, n := range g.Nodes {
		if !ops[n.Op] || n.Name == "" {
			return fmt.Errorf("node %q: op %s", n.Name, n.Op)
		}
	}
	for name, p := range g.Params {
		n := 1
		for _, d := range p.Shape {
			n *= d
		}
		if p.Len() != n || p.Type == graph.Float32 && p.Int64 != nil || p.Type == graph.Int64 && p.Data != nil {
			return fmt.Errorf("parameter %q: %v of shape %v holds %d values", name, p.Type, p.Shape, p.Len())
		}
	}
	shapes := map[string][]int{}
	inputs := map[string]*graph.Tensor{}
	for _, v := range g.Inputs {
		s := append([]int(nil), v.Shape...)
		for i := range s {
			if s[i] < 0 {
				s[i] = 2
			}
		}
		shapes[v.Name] = s
	}
	all, err := g.Shapes(shapes)
	if err != nil {
		var ne *graph.NodeError
		if !errors.As(err, &ne) {
			return fmt.Errorf("shapes: %v (%T), want a *graph.NodeError", err, err)
		}
		return nil // a batch of 2 that a batch of 1 fits: possible (a Reshape to 1×n)
	}
	total := 0
	for _, s := range all {
		n := 1
		for _, d := range s {
			n *= d
		}
		total += n
	}
	if total > 1<<20 {
		return nil
	}
	for _, v := range g.Inputs {
		x := graph.NewTensor(shapes[v.Name]...)
		if v.Type == graph.Int64 {
			x = &graph.Tensor{Shape: x.Shape, Type: graph.Int64, Int64: make([]int64, len(x.Data))}
		}
		inputs[v.Name] = x
	}
	if _, err := g.Forward(inputs); err != nil {
		return fmt.Errorf("shapes inferred, but Forward fails: %v", err)
	}
	return nil
}

// TestFuzzReadGraphSeeds keeps FuzzReadGraph's starting points what they
// are meant to be: each reads unmutated, or lists only ops the graph does
// not run yet.
func TestFuzzReadGraphSeeds(t *testing.T) {
	for i, mp := range graphFuzzSeeds(t) {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			g, _, err := decodeModel(t, mp)
			var ue *UnsupportedError
			if errors.As(err, &ue) {
				for _, n := range ue.Nodes {
					if n.Reason != "no graph operator" {
						t.Errorf("%v: want only ops the graph does not run", n)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := holdsTogether(g); err != nil {
				t.Fatal(err)
			}
		})
	}
}
