package trainer

import (
	"math/rand/v2"
	"testing"
)

// TestTrainingStepsDoNotAllocate checks that a training step (forward,
// loss, backward, Adam) allocates nothing once its buffers exist, for the
// three workloads of the benchmarks and the other conv decoders, at a batch large enough for the
// parallel loops and the split matrix products to run on the worker pool.
func TestTrainingStepsDoNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three models")
	}
	mlp, _ := MLP{Variant: "ae", Input: 784, Hidden: []int{512, 256}, Latent: 32}.Config()
	vae, _ := MLP{Variant: "vae", Input: 784, Hidden: []int{400}, Latent: 20, Loss: BCE}.Config()
	conv, _ := ConvNet{Variant: "conv", Input: []int{1, 28, 28}, Channels: []int{16, 8, 8}, Kernel: 3, Loss: BCE}.Config()
	transposed, _ := ConvNet{Variant: "conv", Input: []int{1, 28, 28}, Channels: []int{16, 8}, Kernel: 3, Decoder: "transposed", Loss: BCE}.Config()
	unpool, _ := ConvNet{Variant: "conv", Input: []int{1, 28, 28}, Channels: []int{8, 8}, Kernel: 3, Decoder: "unpool"}.Config()
	for name, c := range map[string]Config{"mlp": mlp, "vae": vae, "conv": conv, "transposed": transposed, "unpool": unpool} {
		t.Run(name, func(t *testing.T) {
			m, err := Build(c)
			if err != nil {
				t.Fatal(err)
			}
			m.Init(1)
			opt, _ := NewOptimizer(OptimizerConfig{Name: "adam", LR: 1e-3})
			rng := rand.New(rand.NewPCG(1, 2))
			x := randTensor(rng, 0, 1, 64, 784)
			step := func() {
				m.ZeroGrad()
				m.TrainStep(Batch{X: x, Target: x}, nil, rng)
				opt.Step(m.Params())
			}
			step()
			if a := testing.AllocsPerRun(3, step); a != 0 {
				t.Errorf("a training step allocates %v times", a)
			}
		})
	}
}
