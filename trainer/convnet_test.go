package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

var convNets = []struct {
	name string
	net  ConvNet
}{
	{"upsample", ConvNet{Variant: "conv", Input: []int{1, 10, 10}, Channels: []int{4, 3}, Kernel: 3, Decoder: "upsample"}},
	{"upsample odd sizes", ConvNet{Variant: "conv", Input: []int{2, 14, 14}, Channels: []int{3, 3, 2}, Kernel: 3, Decoder: "upsample"}},
	{"transposed with batch norm", ConvNet{Variant: "conv", Input: []int{1, 9, 7}, Channels: []int{3, 4}, Kernel: 3, Decoder: "transposed", BatchNorm: true}},
	{"unpool with dense bottleneck", ConvNet{Variant: "conv", Input: []int{1, 8, 8}, Channels: []int{3, 2}, Kernel: 3, Decoder: "unpool", Latent: 5, Loss: BCE}},
	{"avg pool", ConvNet{Variant: "conv", Input: []int{1, 8, 8}, Channels: []int{3}, Kernel: 3, Pool: "avg", Decoder: "transposed"}},
	{"conv1d strided", ConvNet{Variant: "conv1d", Input: []int{1, 24}, Channels: []int{4, 3}, Kernel: 7, Stride: 2, Pool: "none", Decoder: "transposed"}},
	{"conv1d upsample", ConvNet{Variant: "conv1d", Input: []int{2, 20}, Channels: []int{3}, Kernel: 5, Decoder: "upsample"}},
}

// TestConvModelGradientsAlongRandomDirections checks each convolutional
// model's whole backward pass (the layers are checked one by one against
// float64 references elsewhere): the directional derivative ⟨∇f, v⟩ must
// match the central difference (f(θ + εv) − f(θ − εv))/2ε of the objective
// along a random direction v of all parameters.
func TestConvModelGradientsAlongRandomDirections(t *testing.T) {
	for _, tt := range convNets {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.net.Config()
			if err != nil {
				t.Fatal(err)
			}
			// The bias perturbation and ε below were chosen under the
			// by-activation scheme (then the default, with zero biases);
			// the test checks the backward pass, not the scheme.
			c.Init = InitByActivation
			m, err := Build(c)
			if err != nil {
				t.Fatal(err)
			}
			m.Init(1)
			rng := rand.New(rand.NewPCG(51, 52))
			// Non-zero biases: after unpooling, most inputs are 0, and a zero
			// bias would put those pre-activations on ReLU's kink.
			for _, p := range m.Params() {
				if len(p.Value.Shape) == 1 {
					for i := range p.Value.Data {
						p.Value.Data[i] += float32(0.2 * (rng.Float64() - 0.5))
					}
				}
			}
			x := randTensor(rng, 0.05, 0.95, 3, product(c.Input))
			objective := func() float64 {
				// Training-mode forward (batch statistics), no gradients.
				m.setTraining(true, rng)
				m.run(x, 0, len(m.acts))
				return m.loss(x, nil, false) / float64(x.Len())
			}
			m.ZeroGrad()
			m.TrainStep(Batch{X: x, Target: x}, nil, rng)
			var dir []float64
			var analytic float64
			for _, p := range m.Params() {
				for i := range p.Value.Data {
					v := rng.NormFloat64()
					dir = append(dir, v)
					analytic += v * float64(p.Grad.Data[i])
				}
			}
			move := func(eps float64) {
				k := 0
				for _, p := range m.Params() {
					for i := range p.Value.Data {
						p.Value.Data[i] += float32(eps * dir[k])
						k++
					}
				}
			}
			const eps = 1e-4
			move(eps)
			fp := objective()
			move(-2 * eps)
			fm := objective()
			move(eps)
			numeric := (fp - fm) / (2 * eps)
			t.Logf("%s: analytic %.6g, numeric %.6g", m.Config.Variant, analytic, numeric)
			if !(math.Abs(analytic-numeric) <= 5e-3*math.Abs(numeric)+1e-6) {
				t.Errorf("directional derivative: analytic %v, numeric %v", analytic, numeric)
			}
		})
	}
}

func TestConvNetKerasShapes(t *testing.T) {
	// The Keras example: 28 → 14 → 7 → 4, and back 4 → 8 → 16 → 14 (valid) → 28.
	c, err := ConvNet{Variant: "conv", Input: []int{1, 28, 28}, Channels: []int{16, 8, 8}, Kernel: 3}.Config()
	if err != nil {
		t.Fatal(err)
	}
	m, _ := Build(c)
	if got := m.CodeShape(); !slices.Equal(got, []int{8, 4, 4}) {
		t.Errorf("code shape %v, want [8 4 4]", got)
	}
	// decoder.6 is the third stage's convolution: valid, 16 → 14.
	if p := c.Decoder[6].Padding; p[0] != 0 || p[1] != 0 || p[2] != 0 || p[3] != 0 {
		t.Errorf("decoder.6 padding %v, want a valid convolution", p)
	}
	if _, err := (ConvNet{Variant: "conv", Input: []int{1, 28, 28}, Channels: []int{4}, Kernel: 3, Pool: "none"}).Config(); err == nil {
		t.Error("a network that does not compress was accepted")
	}
}

func paramCount(m *Model) int {
	n := 0
	for _, p := range m.Params() {
		n += p.Value.Len()
	}
	return n
}

// TestConvBeatsMLPOfSimilarSize: on Fashion-MNIST (14×14, 1,000 training
// images, 15 epochs, batch 50, Adam 2e-3, the same seed), a convolutional
// autoencoder reaches a lower test error than an MLP autoencoder with about
// as many parameters.
func TestConvBeatsMLPOfSimilarSize(t *testing.T) {
	train, test := fashion(t, 1000)
	conv, err := ConvNet{Variant: "conv", Input: []int{1, 14, 14}, Channels: []int{16, 8}, Kernel: 3, Decoder: "upsample"}.Config()
	if err != nil {
		t.Fatal(err)
	}
	cm, _ := Build(conv)
	cm.Init(1)
	mlp := newMLP(t, MLP{Variant: "ae", Input: 196, Latent: 10}, 1)
	cfg := TrainConfig{Optimizer: OptimizerConfig{Name: "adam", LR: 2e-3}, Epochs: 15, Batch: 50, Seed: 1}
	for _, m := range []*Model{cm, mlp} {
		if _, err := Fit(m, train, cfg, FitOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ce, _ := Evaluate(cm, test, 500)
	me, _ := Evaluate(mlp, test, 500)
	t.Logf("parameters: conv %d, MLP %d; test MSE: conv %.5f, MLP %.5f (ratio %.2f)", paramCount(cm), paramCount(mlp), ce, me, ce/me)
	if pc, pm := paramCount(cm), paramCount(mlp); pc > 2*pm || pm > 2*pc {
		t.Fatalf("parameter counts %d and %d are not similar", pc, pm)
	}
	if ce > 0.9*me {
		t.Errorf("conv test error %.5f is not clearly below the MLP's %.5f", ce, me)
	}
}

// TestUnpoolDecodeOnGraph checks that an unpooling decoder's Encode then
// Decode on the graph gives what the layers give (the layers' unpooling is
// checked against PyTorch), and that Decode without the indices of an
// Encode of the same batch panics with a message rather than decoding
// with stale ones.
func TestUnpoolDecodeOnGraph(t *testing.T) {
	for _, o := range []ConvNet{
		{Variant: "conv", Input: []int{1, 8, 8}, Channels: []int{3, 2}, Kernel: 3, Decoder: "unpool", Latent: 5, Loss: BCE},
		{Variant: "conv", Input: []int{1, 8, 8}, Channels: []int{3, 2}, Kernel: 3, Decoder: "unpool"},
		{Variant: "conv1d", Input: []int{2, 16}, Channels: []int{3}, Kernel: 3, Decoder: "unpool"},
	} {
		c, err := o.Config()
		if err != nil {
			t.Fatal(err)
		}
		m, err := Build(c)
		if err != nil {
			t.Fatal(err)
		}
		if !m.inferOnGraph || len(m.carried) == 0 {
			t.Fatalf("%s: inference on the graph %v, carried %v", o.Variant, m.inferOnGraph, m.carried)
		}
		x := randTensor(rand.New(rand.NewPCG(1, 2)), 0, 1, 3, product(o.Input))
		z := m.Encode(x).Clone()
		got := m.Decode(z).Clone()
		m.inferOnGraph = false
		zl := m.Encode(x).Clone()
		want := m.Decode(zl).Clone()
		m.inferOnGraph = true
		assertClose(t, "code", z.Data, to64(zl.Data), 1e-6, 1e-6)
		assertClose(t, "decoded", got.Data, to64(want.Data), 1e-6, 1e-6)
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "pooling indices") {
					t.Errorf("Decode of another batch: got panic %v, want one naming the pooling indices", r)
				}
			}()
			m.Decode(&Tensor{Shape: []int{2, z.Cols()}, Data: z.Data[:2*z.Cols()]})
		}()
	}
}
