package convert

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/internal/safetensors"
	"github.com/aebridge/aebridge/trainer"
)

// TestLoadWeightsWithPyTorchNames loads a state_dict named as the PyTorch
// examples' VAE names it (fc1, fc21, fc22, fc3, fc4) into the trainer's
// description of that architecture.
func TestLoadWeightsWithPyTorchNames(t *testing.T) {
	c, err := trainer.MLP{Variant: "vae", Input: 6, Hidden: []int{4}, Latent: 2, Loss: trainer.BCE}.Config()
	if err != nil {
		t.Fatal(err)
	}
	m, _ := trainer.Build(c)
	fill := func(n int, v float32) []float32 {
		d := make([]float32, n)
		for i := range d {
			d[i] = v + float32(i)/100
		}
		return d
	}
	file := map[string]safetensors.Tensor{
		"fc1.weight": {Shape: []int{4, 6}, Data: fill(24, 1)}, "fc1.bias": {Shape: []int{4}, Data: fill(4, 2)},
		"fc21.weight": {Shape: []int{2, 4}, Data: fill(8, 3)}, "fc21.bias": {Shape: []int{2}, Data: fill(2, 4)},
		"fc22.weight": {Shape: []int{2, 4}, Data: fill(8, 5)}, "fc22.bias": {Shape: []int{2}, Data: fill(2, 6)},
		"fc3.weight": {Shape: []int{4, 2}, Data: fill(8, 7)}, "fc3.bias": {Shape: []int{4}, Data: fill(4, 8)},
		"fc4.weight": {Shape: []int{6, 4}, Data: fill(24, 9)}, "fc4.bias": {Shape: []int{6}, Data: fill(6, 10)},
	}
	path := filepath.Join(t.TempDir(), "vae.safetensors")
	if err := safetensors.WriteFile(path, file, nil); err != nil {
		t.Fatal(err)
	}
	mapping, err := LoadWeights(m, path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"fc1.weight": "encoder.0.weight", "fc21.weight": "mu.weight", "fc22.bias": "logvar.bias", "fc3.weight": "decoder.0.weight", "fc4.bias": "decoder.2.bias"}
	for k, v := range want {
		if mapping[k] != v {
			t.Errorf("%s went to %q, want %q", k, mapping[k], v)
		}
	}
	sd := m.StateDict()
	if got := sd["logvar.weight"].Data[3]; got != 5.03 {
		t.Errorf("logvar.weight[3] = %v, want 5.03", got)
	}
	// A misfit says which tensor and which shape.
	file["fc3.weight"] = safetensors.Tensor{Shape: []int{4, 3}, Data: fill(12, 7)}
	safetensors.WriteFile(path, file, nil)
	m2, _ := trainer.Build(c)
	if _, err := LoadWeights(m2, path); err == nil || !strings.Contains(err.Error(), "decoder.0.weight [4 2]: the file's next tensor fc3.weight is [4 3]") {
		t.Errorf("got %v", err)
	}
}

func TestSaveWeightsRoundTrip(t *testing.T) {
	c, _ := trainer.ConvNet{Variant: "conv", Input: []int{1, 8, 8}, Channels: []int{2}, Kernel: 3, Decoder: "transposed", BatchNorm: true}.Config()
	m := randomModel(t, c)
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := SaveWeights(m, path); err != nil {
		t.Fatal(err)
	}
	back, _ := trainer.Build(c)
	mapping, err := LoadWeights(back, path)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range mapping {
		if k != v {
			t.Errorf("%s mapped to %s", k, v)
		}
	}
	a, b := m.StateDict(), back.StateDict()
	for name, w := range a {
		for i := range w.Data {
			if b[name].Data[i] != w.Data[i] {
				t.Fatalf("%s[%d] differs", name, i)
			}
		}
	}
}

// randomModel builds c with weights away from their initial values.
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
