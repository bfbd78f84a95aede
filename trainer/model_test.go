package trainer

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// model64 is the reference forward pass of a whole model: x through every
// layer spec, using the model's current weights in float64 (w holds them by
// parameter name).
func model64(c Config, x []float64, batch int, w map[string][]float64) []float64 {
	run := func(stack string, specs []LayerSpec, in []float64) []float64 {
		for i, s := range specs {
			name := stack + "." + strconv.Itoa(i)
			wname := name + ".weight"
			if s.TiedTo != "" {
				wname = s.TiedTo + ".weight"
			}
			in = layer64(s, in, batch, w[wname], w[name+".bias"])
		}
		return in
	}
	return run("decoder", c.Decoder, run("encoder", c.Encoder, x))
}

func TestModelGradientsAgainstFiniteDifferences(t *testing.T) {
	tests := []struct {
		name string
		mlp  MLP
	}{
		{"deep relu mse", MLP{Variant: "ae", Input: 6, Hidden: []int{5}, Latent: 3, Loss: MSE}},
		{"tied tanh bce fused", MLP{Variant: "tied", Input: 6, Hidden: []int{4}, Latent: 2, Activation: "tanh", Loss: BCE}},
		{"linear", MLP{Variant: "linear", Input: 5, Latent: 2, Loss: MSE}},
		{"overcomplete elu", MLP{Variant: "ae", Input: 3, Hidden: []int{5}, Latent: 7, Activation: "elu", Loss: MSE}},
		{"gelu silu, bce without fusion", MLP{Variant: "ae", Input: 4, Hidden: []int{3}, Latent: 2, Activation: "gelu", CodeActivation: "silu", OutputActivation: "sigmoid", Loss: MSE}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, 10))
			m, c := perturbedMLP(t, tt.mlp, 11, rng, 0.2)
			const batch = 3
			x := randTensor(rng, 0.05, 0.95, batch, c.Input[0])
			const lambda = 0.01
			m.ZeroGrad()
			m.TrainStep(Batch{X: x, Target: x}, nil, nil)
			L2Penalty(m.Params(), lambda)

			x64 := to64(x.Data)
			w := map[string][]float64{}
			for _, p := range m.Params() {
				w[p.Name] = to64(p.Value.Data)
			}
			objective := func() float64 {
				out := model64(c, x64, batch, w)
				var l2 float64
				for _, p := range m.Params() {
					if p.Decay {
						for _, v := range w[p.Name] {
							l2 += v * v
						}
					}
				}
				return loss64(c.Loss, out, x64) + lambda*l2
			}
			for _, p := range m.Params() {
				assertClose(t, p.Name, p.Grad.Data, numericGrad(objective, w[p.Name], 1e-6), 2e-6, 1e-4)
			}
			assertClose(t, "forward", m.Forward(x).Data, model64(c, x64, batch, w), 1e-6, 1e-5)
		})
	}
}

func TestBuildRejectsBrokenConfigs(t *testing.T) {
	good, _ := MLP{Variant: "tied", Input: 6, Hidden: []int{4}, Latent: 2}.Config()
	tests := []struct {
		name    string
		edit    func(c *Config)
		wantErr string
	}{
		{"chain", func(c *Config) { c.Encoder[2].In = 5 }, "layer encoder.2: dense 5→2 does not follow 4 features"},
		{"tied target", func(c *Config) { c.Decoder[0].TiedTo = "encoder.0" }, `layer decoder.0: tied_to "encoder.0" is not a dense 4→2 layer before it`},
		{"activation", func(c *Config) { c.Encoder[1].Type = "swish" }, `layer encoder.1: trainer: unknown activation "swish"`},
		{"loss", func(c *Config) { c.Loss = "l1" }, `unknown loss "l1"`},
		{"input size", func(c *Config) { c.Input = []int{7} }, "layer encoder.0: dense 6→4 does not follow 7 features"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			c.Encoder = append([]LayerSpec(nil), good.Encoder...)
			c.Decoder = append([]LayerSpec(nil), good.Decoder...)
			tt.edit(&c)
			if _, err := Build(c); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestTiedModelSharesOneWeight(t *testing.T) {
	c, _ := MLP{Variant: "tied", Input: 8, Hidden: []int{6}, Latent: 3}.Config()
	m, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range m.Params() {
		names = append(names, p.Name)
	}
	want := "encoder.0.weight encoder.0.bias encoder.2.weight encoder.2.bias decoder.0.bias decoder.2.bias"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("parameters: got %s, want %s", got, want)
	}
}
