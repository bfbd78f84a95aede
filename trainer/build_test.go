package trainer

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBuildInitialises checks that Build returns a model initialised from
// Config.Init and Config.InitSeed: no weight matrix is all zeros, the
// weights are those Init(InitSeed) gives, and Fit on the built model trains
// as on a model initialised explicitly, step for step (a zero model's
// hidden layers would get no gradient).
func TestBuildInitialises(t *testing.T) {
	c, err := MLP{Input: 12, Hidden: []int{8}, Latent: 3}.Config()
	if err != nil {
		t.Fatal(err)
	}
	c.InitSeed = 5
	built, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range built.Params() {
		if p.Decay && !slices.ContainsFunc(p.Value.Data, func(v float32) bool { return v != 0 }) {
			t.Errorf("%s: all zeros after Build", p.Name)
		}
	}
	explicit, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	explicit.Init(5)
	if got, want := weights(built), weights(explicit); !slices.Equal(got, want) {
		t.Fatalf("Build's weights differ from Init(InitSeed)'s")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	data := randTensor(rng, 0, 1, 64, 12)
	cfg := TrainConfig{Optimizer: OptimizerConfig{Name: "sgd", LR: 0.5}, Epochs: 3, Batch: 16, Seed: 1}
	fresh, _ := Build(c) // a third copy, trained without Init
	a, err := Fit(fresh, data, cfg, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Fit(explicit, data, cfg, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.History {
		if a.History[i].TrainLoss != b.History[i].TrainLoss {
			t.Errorf("epoch %d: train loss %v after Build, %v after Build and Init", i+1, a.History[i].TrainLoss, b.History[i].TrainLoss)
		}
	}
	if !(a.History[2].TrainLoss < a.History[0].TrainLoss) {
		t.Errorf("train loss %v → %v: want it lower", a.History[0].TrainLoss, a.History[2].TrainLoss)
	}
}
