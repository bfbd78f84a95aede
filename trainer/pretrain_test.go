package trainer

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// smoothData is n samples of d smooth values in (0.1, 0.9).
func smoothData(n, d int) *Tensor {
	x := NewTensor(n, d)
	for i := range x.Data {
		s, k := i/d, i%d
		x.Data[i] = float32(0.5 + 0.4*math.Sin(float64(k)*0.5+float64(s%7)*0.9))
	}
	return x
}

// TestPretrainStacksShallowAutoencoders checks that layer-wise
// pre-training puts into the deep model, layer by layer, weights whose
// shallow autoencoder reconstructs its input better than the initial
// ones did (the first layer the data, the second the first's codes), that
// the deep model then reconstructs better than at initialisation, and that
// the result is reproducible bit for bit.
func TestPretrainStacksShallowAutoencoders(t *testing.T) {
	for _, variant := range []string{"ae", "denoising"} {
		t.Run(variant, func(t *testing.T) {
			build := func() *Model {
				return newMLP(t, MLP{Variant: variant, Input: 20, Hidden: []int{12}, Latent: 6, Activation: "tanh", Loss: MSE}, 5)
			}
			x := smoothData(256, 20)
			cfg := TrainConfig{Optimizer: OptimizerConfig{Name: "adam", LR: 1e-2}, Epochs: 1, Batch: 32, Seed: 3, PretrainEpochs: 4}
			if variant == "denoising" {
				cfg.Reg = Regularization{Noise: "mask", NoiseLevel: 0.2}
			}
			m := build()
			before, _ := Evaluate(m, x, 64)
			// The first layer's shallow autoencoder with the initial weights.
			shallow := func(m *Model) float64 {
				c := Config{Variant: "ae", Input: []int{20}, Loss: MSE, Init: m.Config.Init,
					Encoder: m.Config.Encoder[:2], Decoder: m.Config.Decoder[len(m.Config.Decoder)-2:]}
				s, err := Build(c)
				if err != nil {
					t.Fatal(err)
				}
				sd, dd := s.StateDict(), m.StateDict()
				for to, from := range map[string]string{"encoder.0": "encoder.0", "decoder.0": "decoder.2"} {
					copy(sd[to+".weight"].Data, dd[from+".weight"].Data)
					copy(sd[to+".bias"].Data, dd[from+".bias"].Data)
				}
				l, _ := Evaluate(s, x, 64)
				return l
			}
			s0 := shallow(m)
			res, err := pretrain(m, x, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 2 || res[0].Layer != "encoder.0" || res[1].Layer != "encoder.2" || res[1].In != 12 || res[1].Out != 6 {
				t.Fatalf("pre-training results %+v", res)
			}
			if s1 := shallow(m); !(s1 < 0.5*s0) {
				t.Errorf("first layer's shallow autoencoder: loss %v after pre-training, %v before", s1, s0)
			}
			after, _ := Evaluate(m, x, 64)
			if !(after < 0.5*before) {
				t.Errorf("the deep model's loss: %v after pre-training, %v at initialisation", after, before)
			}
			again := build()
			if _, err := pretrain(again, x, cfg); err != nil {
				t.Fatal(err)
			}
			for name, p := range m.StateDict() {
				if !slices.Equal(p.Data, again.StateDict()[name].Data) {
					t.Fatalf("%s differs between two pre-trainings with the same seed", name)
				}
			}
			// Fit pre-trains, then trains end to end, and says so.
			m = build()
			r, err := Fit(m, x, cfg, FitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Pretrain) != 2 {
				t.Errorf("Fit's result has %d pre-trained layers, want 2", len(r.Pretrain))
			}
		})
	}
}

func TestPretrainRefusesWhatItCannotStack(t *testing.T) {
	x := smoothData(16, 12)
	for _, o := range []MLP{
		{Variant: "vae", Input: 12, Hidden: []int{8}, Latent: 2, Loss: BCE},
		{Variant: "tied", Input: 12, Hidden: []int{8}, Latent: 2},
	} {
		m := newMLP(t, o, 1)
		_, err := Fit(m, x, TrainConfig{Optimizer: OptimizerConfig{Name: "adam", LR: 1e-3}, Epochs: 1, Batch: 8, PretrainEpochs: 1}, FitOptions{})
		if err == nil || !strings.Contains(err.Error(), "pre-training") {
			t.Errorf("%s: got %v, want an error about pre-training", o.Variant, err)
		}
	}
}
