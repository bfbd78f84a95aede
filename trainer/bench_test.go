package trainer

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkTrainStep measures one training step (forward, loss, backward,
// Adam update) of the 784-512-256-32 mirrored MLP autoencoder at batch 128,
// the workload of the PyTorch comparison (scripts/bench.sh).
func BenchmarkTrainStep(b *testing.B) {
	c, err := MLP{Variant: "ae", Input: 784, Hidden: []int{512, 256}, Latent: 32}.Config()
	if err != nil {
		b.Fatal(err)
	}
	m, err := Build(c)
	if err != nil {
		b.Fatal(err)
	}
	m.Init(1)
	opt, _ := NewOptimizer(OptimizerConfig{Name: "adam", LR: 1e-3})
	x := randTensor(rand.New(rand.NewPCG(1, 2)), 0, 1, 128, 784)
	// 2·(784·512 + 512·256 + 256·32)·2 multiply-adds forward, twice that backward.
	flops := 3 * 2 * 128 * 2 * (784*512 + 512*256 + 256*32)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.ZeroGrad()
		m.TrainStep(Batch{X: x, Target: x}, nil, nil)
		opt.Step(m.Params())
	}
	b.ReportMetric(float64(flops)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkForward measures inference at batch 256 on the same model.
func BenchmarkForward(b *testing.B) {
	c, _ := MLP{Variant: "ae", Input: 784, Hidden: []int{512, 256}, Latent: 32}.Config()
	m, _ := Build(c)
	m.Init(1)
	x := randTensor(rand.New(rand.NewPCG(1, 2)), 0, 1, 256, 784)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Forward(x)
	}
}

// BenchmarkConvTrainStep measures one training step of the Keras-style
// convolutional autoencoder (Conv 16-8-8, kernel 3, max pooling, nearest
// upsampling, BCE, Adam) at batch 128 on 28×28 images: the conv workload of
// scripts/bench.sh.
func BenchmarkConvTrainStep(b *testing.B) {
	c, err := ConvNet{Variant: "conv", Input: []int{1, 28, 28}, Channels: []int{16, 8, 8}, Kernel: 3, Loss: BCE}.Config()
	if err != nil {
		b.Fatal(err)
	}
	m, _ := Build(c)
	m.Init(1)
	opt, _ := NewOptimizer(OptimizerConfig{Name: "adam", LR: 1e-3})
	x := randTensor(rand.New(rand.NewPCG(1, 2)), 0, 1, 128, 784)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.ZeroGrad()
		m.TrainStep(Batch{X: x, Target: x}, nil, nil)
		opt.Step(m.Params())
	}
}

// BenchmarkVAETrainStep measures one training step of the PyTorch examples'
// VAE (784-400-20, BCE + KL, Adam) at batch 128.
func BenchmarkVAETrainStep(b *testing.B) {
	c, err := MLP{Variant: "vae", Input: 784, Hidden: []int{400}, Latent: 20, Loss: BCE}.Config()
	if err != nil {
		b.Fatal(err)
	}
	m, _ := Build(c)
	m.Init(1)
	opt, _ := NewOptimizer(OptimizerConfig{Name: "adam", LR: 1e-3})
	rng := rand.New(rand.NewPCG(3, 4))
	x := randTensor(rng, 0, 1, 128, 784)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.ZeroGrad()
		m.TrainStep(Batch{X: x, Target: x}, nil, rng)
		opt.Step(m.Params())
	}
}
