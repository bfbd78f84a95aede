package convert

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/trainer"
)

// TestExportReadGraphRoundTrip exports every variant's graph (each part,
// at opsets 11 and 17) and reads it back with ReadGraph: the graph read
// has the model's parameters, by name and value, and computes what the
// model computes (float32 rounding: GELU comes back as its Erf form).
func TestExportReadGraphRoundTrip(t *testing.T) {
	var configs []trainer.Config
	add := func(c trainer.Config, err error) {
		if err != nil {
			t.Fatal(err)
		}
		configs = append(configs, c)
	}
	for _, v := range trainer.MLPVariants {
		o := trainer.MLP{Variant: v, Input: 12, Hidden: []int{7}, Latent: 3, Activation: "gelu"}
		if v == "linear" {
			o.Activation = ""
		}
		if v == "cvae" {
			o.Condition = 2
		}
		add(o.Config())
	}
	add(trainer.MLP{Variant: "ae", Tied: true, Input: 12, Hidden: []int{7}, Latent: 3}.Config())
	for _, dec := range trainer.ConvDecoders {
		add(trainer.ConvNet{Variant: "conv", Input: []int{1, 8, 8}, Channels: []int{3, 2}, Kernel: 3, Decoder: dec, Pool: "max"}.Config())
	}
	add(trainer.ConvNet{Variant: "conv", Input: []int{1, 8, 8}, Channels: []int{3}, Kernel: 3, Pool: "avg", Latent: 4, BatchNorm: true, Dropout: 0.1}.Config())
	add(trainer.ConvNet{Variant: "conv1d", Input: []int{2, 12}, Channels: []int{3}, Kernel: 3}.Config())
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range configs {
		c.InitSeed = 3
		m, err := trainer.Build(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range []export.Part{export.Full, export.Encoder, export.Decoder} {
			for _, opset := range []int{11, 17} {
				t.Run(fmt.Sprintf("%s_%v_%s_opset%d", c.Variant, c.Encoder[len(c.Encoder)-1].Type, part, opset), func(t *testing.T) {
					want, err := export.PartGraph(m, part)
					if err != nil {
						t.Fatal(err)
					}
					b, err := export.Writer{Opset: opset}.Marshal(m, part)
					if err != nil {
						t.Fatal(err)
					}
					got, _, err := DecodeGraph(bytes.NewReader(b), "m.onnx", Options{})
					if err != nil {
						t.Fatal(err)
					}
					read := map[string]bool{}
					for _, n := range want.Nodes {
						for _, in := range n.Inputs {
							read[in] = true
						}
					}
					for name, p := range want.Params {
						// (Parameters no node reads — a VAE's log σ² head in its
						// full graph — are not read back: ReadGraph prunes them.)
						if q, ok := got.Params[name]; read[name] && p.Type == graph.Float32 && (!ok || !slices.Equal(q.Data, p.Data)) {
							t.Errorf("parameter %s: not read back as written", name)
						}
					}
					inputs := map[string]*graph.Tensor{}
					for _, v := range want.Inputs {
						shape := append([]int{3}, v.Shape[1:]...)
						x := graph.NewTensor(shape...)
						for i := range x.Data {
							x.Data[i] = float32(r.Float64())
						}
						inputs[v.Name] = x
					}
					wv, err := want.Forward(inputs)
					if err != nil {
						t.Fatal(err)
					}
					gv, err := got.Forward(inputs)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got.Outputs, want.Outputs) {
						t.Fatalf("outputs %v, want %v", got.Outputs, want.Outputs)
					}
					for _, out := range want.Outputs {
						a, b := gv[out], wv[out]
						if !slices.Equal(a.Shape, b.Shape) {
							t.Fatalf("output %s: shape %v, want %v", out, a.Shape, b.Shape)
						}
						for i := range b.Data {
							if d := math.Abs(float64(a.Data[i] - b.Data[i])); !(d <= 1e-6+1e-6*math.Abs(float64(b.Data[i]))) {
								t.Fatalf("output %s[%d]: read back %v, the model's graph %v", out, i, a.Data[i], b.Data[i])
							}
						}
					}
				})
			}
		}
	}
}
