package trainer

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// BenchmarkSGEMM measures the trainer's matrix product (gemm: split over
// the worker pool, into OpenBLAS or gonum's kernels) on square 1024
// matrices and on the MLP benchmark's largest product, x·Wᵀ for a batch of
// 128 from 784 to 512 features: the machine's rate that scripts/bench.sh
// sets the training workloads' GFLOP/s against.
func BenchmarkSGEMM(b *testing.B) {
	for _, s := range []struct{ m, n, k int }{{1024, 1024, 1024}, {128, 512, 784}} {
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.k, s.n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			x := randTensor(rng, -1, 1, s.m, s.k)
			w := randTensor(rng, -1, 1, s.n, s.k)
			y := NewTensor(s.m, s.n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				gemm(blas.NoTrans, blas.Trans, 1, x.matrix(), w.matrix(), 0, y.matrix())
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

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
