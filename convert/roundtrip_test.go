package convert

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/trainer"
)

// variants lists one model of every variant the trainer builds.
func variants(t *testing.T) map[string]trainer.Config {
	t.Helper()
	out := map[string]trainer.Config{}
	add := func(name string, c trainer.Config, err error) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = c
	}
	for _, o := range []trainer.MLP{
		{Variant: "ae", Input: 12, Hidden: []int{8}, Latent: 3},
		{Variant: "tied", Input: 12, Hidden: []int{8}, Latent: 3, Activation: "tanh"},
		{Variant: "linear", Input: 10, Latent: 4},
		{Variant: "sparse-l1", Input: 12, Hidden: []int{6}, Latent: 8, CodeActivation: "relu", Tied: true},
		{Variant: "sparse-kl", Input: 12, Latent: 5},
		{Variant: "denoising", Input: 12, Hidden: []int{7}, Latent: 3, Activation: "gelu", Loss: trainer.BCE},
		{Variant: "contractive", Input: 12, Latent: 4, CodeActivation: "sigmoid", Activation: "silu"},
		{Variant: "vae", Input: 12, Hidden: []int{6}, Latent: 2, Loss: trainer.BCE},
		{Variant: "beta-vae", Input: 12, Hidden: []int{6}, Latent: 2, Activation: "elu"},
		{Variant: "cvae", Input: 12, Hidden: []int{6}, Latent: 2, Condition: 3, Loss: trainer.BCE},
	} {
		c, err := o.Config()
		add(o.Variant, c, err)
	}
	for name, o := range map[string]trainer.ConvNet{
		"conv-upsample":   {Variant: "conv", Input: []int{1, 12, 12}, Channels: []int{3, 2}, Kernel: 3, Decoder: "upsample"},
		"conv-transposed": {Variant: "conv", Input: []int{2, 9, 9}, Channels: []int{3}, Kernel: 3, Decoder: "transposed", BatchNorm: true, Dropout: 0.1},
		"conv-unpool":     {Variant: "conv", Input: []int{1, 8, 8}, Channels: []int{2, 2}, Kernel: 3, Decoder: "unpool", Latent: 4},
		"conv1d":          {Variant: "conv1d", Input: []int{1, 24}, Channels: []int{4, 2}, Kernel: 7, Stride: 2, Pool: "none", Decoder: "transposed", Dropout: 0.2},
		"conv-vae":        {Variant: "conv", Input: []int{1, 8, 8}, Channels: []int{2}, Kernel: 3, Decoder: "transposed", Latent: 3, Variational: true},
	} {
		c, err := o.Config()
		add(name, c, err)
	}
	return out
}

func randomModel(t *testing.T, c trainer.Config) *trainer.Model {
	t.Helper()
	m, err := trainer.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(5)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range m.StateDict() {
		for i := range p.Data {
			p.Data[i] += float32(0.1 * (rng.Float64() - 0.5))
		}
	}
	return m
}

// TestRoundTripEveryVariant: convert(export(m)) gives back m's description
// and weights exactly, for every variant.
func TestRoundTripEveryVariant(t *testing.T) {
	for name, c := range variants(t) {
		t.Run(name, func(t *testing.T) {
			m := randomModel(t, c)
			b, err := export.Writer{}.Marshal(m, export.Full)
			if err != nil {
				t.Fatal(err)
			}
			mp, err := onnxfile.Decode(b, name)
			if err != nil {
				t.Fatal(err)
			}
			back, err := fromProto(mp, name, Options{})
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(m.Config)
			got, _ := json.Marshal(back.Config)
			if string(got) != string(want) {
				t.Errorf("description:\ngot  %s\nwant %s", got, want)
			}
			sd := back.StateDict()
			for pname, w := range m.StateDict() {
				if strings.HasSuffix(pname, "num_batches_tracked") {
					continue // a counter, not exported
				}
				g, ok := sd[pname]
				if !ok || len(g.Data) != len(w.Data) {
					t.Fatalf("%s: missing or resized", pname)
				}
				for i := range w.Data {
					if g.Data[i] != w.Data[i] {
						t.Fatalf("%s[%d]: got %v, want %v", pname, i, g.Data[i], w.Data[i])
					}
				}
			}
		})
	}
}

// TestPatternImportOfOwnExports strips aebridge's metadata from its
// exports, so that Decode must recognise the graph itself, and checks that
// the imported model computes what the original does.
func TestPatternImportOfOwnExports(t *testing.T) {
	for name, c := range variants(t) {
		if c.Variational != nil {
			continue // their full graphs leave out log σ²: see TestRoundTripEveryVariant
		}
		t.Run(name, func(t *testing.T) {
			m := randomModel(t, c)
			b, err := export.Writer{}.Marshal(m, export.Full)
			if err != nil {
				t.Fatal(err)
			}
			mp, _ := onnxfile.Decode(b, name)
			mp.MetadataProps = nil
			back, err := fromProto(mp, name, Options{})
			if err != nil {
				t.Fatal(err)
			}
			x := trainer.NewTensor(3, product(c.Input))
			rng := rand.New(rand.NewPCG(3, 4))
			for i := range x.Data {
				x.Data[i] = float32(rng.Float64())
			}
			var cond *trainer.Tensor
			inputs := []*trainer.Tensor{x}
			if c.Condition > 0 {
				cond = trainer.NewTensor(3, c.Condition)
				cond.Data[0], cond.Data[c.Condition+1], cond.Data[2*c.Condition+2] = 1, 1, 1
				m.SetCondition(cond)
				inputs = append(inputs, cond)
			}
			want := m.Forward(x).Clone()
			got, err := back.Run(inputs...)
			if err != nil {
				t.Fatal(err)
			}
			closeTo(t, "forward", got[0].Data, want.Data)
			// Tied weights stay tied.
			var tied int
			for _, s := range append(back.Config.Encoder, back.Config.Decoder...) {
				if s.TiedTo != "" {
					tied++
				}
			}
			var wantTied int
			for _, s := range append(c.Encoder, c.Decoder...) {
				if s.TiedTo != "" {
					wantTied++
				}
			}
			if tied != wantTied {
				t.Errorf("tied layers: got %d, want %d", tied, wantTied)
			}
		})
	}
}

// TestUnsupportedGraphListsEveryNode builds a graph with a recurrent layer
// and an attention block (a MatMul of two runtime tensors and a Softmax)
// and checks that Decode lists each node it cannot place: every node whose
// operator has no trainer equivalent; nodes downstream of those, whose
// operators the importer knows (the Transpose and MatMul here), are not
// listed again.
func TestUnsupportedGraphListsEveryNode(t *testing.T) {
	f := func(name string, dims []int64, v ...float32) *onnxpb.TensorProto {
		return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: v}
	}
	node := func(op, name string, in []string, out ...string) *onnxpb.NodeProto {
		return &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: in, Output: out}
	}
	vi := func(name string, d ...int64) *onnxpb.ValueInfoProto {
		dims := []*onnxpb.TensorShapeProto_Dimension{{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}}}
		for _, v := range d {
			dims = append(dims, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: v}})
		}
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: &onnxpb.TensorShapeProto{Dim: dims}}}}}
	}
	mp := &onnxpb.ModelProto{IrVersion: proto.Int64(7), OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(13)}}, Graph: &onnxpb.GraphProto{
		Name:        proto.String("seq_ae"),
		Initializer: []*onnxpb.TensorProto{f("W", []int64{1, 8, 2}, make([]float32, 16)...), f("R", []int64{1, 8, 2}, make([]float32, 16)...)},
		Node: []*onnxpb.NodeProto{
			node("LSTM", "encoder/lstm", []string{"x", "W", "R"}, "h"),
			node("Transpose", "attention/kT", []string{"h"}, "kT"),
			node("MatMul", "attention/scores", []string{"h", "kT"}, "s"),
			node("Softmax", "attention/softmax", []string{"s"}, "y"),
		},
		Input:  []*onnxpb.ValueInfoProto{vi("x", 5, 2)},
		Output: []*onnxpb.ValueInfoProto{vi("y", 5, 5)},
	}}
	_, err := fromProto(mp, "seq.onnx", Options{})
	var ue *UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("got %v, want an UnsupportedError", err)
	}
	msg := err.Error()
	for _, want := range []string{`LSTM "encoder/lstm" (inputs x, W, R): no trainer layer for this operator`, `Softmax "attention/softmax" (inputs s): no trainer layer`, "seq.onnx: 2 node(s)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}
