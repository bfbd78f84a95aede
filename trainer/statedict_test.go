package trainer_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/trainer"
)

// TestStateDictFromOutside moves weights between two models through the
// public state-dict API alone (package trainer_test: map[string]
// trainer.Tensor, no internal type), and checks LoadStateDict's refusals.
func TestStateDictFromOutside(t *testing.T) {
	c, err := trainer.MLP{Input: 6, Hidden: []int{4}, Latent: 2}.Config()
	if err != nil {
		t.Fatal(err)
	}
	build := func(seed uint64) *trainer.Model {
		m, err := trainer.Build(c)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(seed)
		return m
	}
	a, b := build(1), build(2)
	x := trainer.NewTensor(3, 6)
	for i := range x.Data {
		x.Data[i] = float32(i%5) / 5
	}
	want := slices.Clone(a.Forward(x).Data)
	if slices.Equal(b.Forward(x).Data, want) {
		t.Fatal("two seeds gave the same model")
	}
	sd := map[string]trainer.Tensor{}
	for name, w := range a.StateDict() {
		sd[name] = trainer.Tensor{Shape: w.Shape, Data: slices.Clone(w.Data)}
	}
	if err := b.LoadStateDict(sd, "a"); err != nil {
		t.Fatal(err)
	}
	if got := b.Forward(x).Data; !slices.Equal(got, want) {
		t.Errorf("after LoadStateDict: got %v, want %v", got, want)
	}
	tests := []struct {
		name   string
		change func(sd map[string]trainer.Tensor)
		want   string
	}{
		{"missing", func(sd map[string]trainer.Tensor) { delete(sd, "encoder.0.bias") }, `trainer: a: missing tensor "encoder.0.bias" (shape [4])`},
		{"shape", func(sd map[string]trainer.Tensor) {
			sd["encoder.0.bias"] = trainer.Tensor{Shape: []int{5}, Data: make([]float32, 5)}
		}, `trainer: a: tensor "encoder.0.bias" has shape [5] (5 values), the model needs [4]`},
		{"values", func(sd map[string]trainer.Tensor) {
			sd["encoder.0.bias"] = trainer.Tensor{Shape: []int{4}, Data: make([]float32, 2)}
		}, `trainer: a: tensor "encoder.0.bias" has shape [4] (2 values), the model needs [4]`},
		{"extra", func(sd map[string]trainer.Tensor) {
			sd["encoder.9.weight"] = trainer.Tensor{Shape: []int{1}, Data: []float32{0}}
		}, "trainer: a: tensors the model does not have: encoder.9.weight"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := map[string]trainer.Tensor{}
			for k, v := range sd {
				bad[k] = v
			}
			tt.change(bad)
			if err := b.LoadStateDict(bad, "a"); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}
