package trainer

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkTrainStep measures one training step (forward, loss, backward,
// Adam update) of the 784-512-256-32 mirrored MLP autoencoder at batch 128,
// the workload of the PyTorch comparison (scripts/bench.sh).
// The "layers" case runs the step on the layers instead of the graph, the
// path the graph replaces, for the comparison.
func BenchmarkTrainStep(b *testing.B) {
	b.Run("graph", func(b *testing.B) { benchmarkTrainStep(b, true) })
	b.Run("layers", func(b *testing.B) { benchmarkTrainStep(b, false) })
}

func benchmarkTrainStep(b *testing.B, onGraph bool) {
	c, err := MLP{Variant: "ae", Input: 784, Hidden: []int{512, 256}, Latent: 32}.Config()
	if err != nil {
		b.Fatal(err)
	}
	m, err := Build(c)
	if err != nil {
		b.Fatal(err)
	}
	m.Init(1)
	m.onGraph = m.onGraph && onGraph
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

// BenchmarkKernels measures the hot loops outside the matrix products on
// the benchmark workloads' sizes: the Adam update of the MLP's 1.08 M
// parameters, its output sigmoid (128 × 784), ReLU forward and backward,
// the conv autoencoder's first 2×2 max pooling and last upsampling (128 ×
// 16 × 28 × 28 inputs, outputs) and the BCE loss from logits.
func BenchmarkKernels(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	b.Run("adam", func(b *testing.B) {
		p := newParam("w", true, 1024, 1056)
		copy(p.Grad.Data, randTensor(rng, -1, 1, p.Grad.Len()).Data)
		opt, _ := NewOptimizer(OptimizerConfig{Name: "adam", LR: 1e-3})
		b.SetBytes(int64(28 * p.Value.Len())) // w, g, m, v read; w, m, v written
		for i := 0; i < b.N; i++ {
			opt.Step([]*Param{p})
		}
	})
	x := randTensor(rng, -4, 4, 128, 784)
	var y, dx Tensor
	for _, kind := range []string{"sigmoid", "relu"} {
		a, _ := NewActivation(kind)
		b.Run(kind, func(b *testing.B) {
			b.SetBytes(int64(8 * x.Len()))
			for i := 0; i < b.N; i++ {
				a.Forward(&y, x)
			}
		})
		b.Run(kind+"-backward", func(b *testing.B) {
			a.Forward(&y, x)
			b.SetBytes(int64(12 * x.Len()))
			for i := 0; i < b.N; i++ {
				a.Backward(&dx, x)
			}
		})
	}
	b.Run("bce-logits", func(b *testing.B) {
		target := randTensor(rng, 0, 1, 128, 784)
		var g Tensor
		b.SetBytes(int64(12 * x.Len()))
		for i := 0; i < b.N; i++ {
			BCEWithLogitsLoss(&g, x, target, nil)
		}
	})
	maps := randTensor(rng, -1, 1, 128, 16, 28, 28)
	b.Run("maxpool2x2", func(b *testing.B) {
		p, _ := NewMaxPool("p", 2, []int{2, 2}, []int{2, 2}, []int{0, 0, 0, 0})
		b.SetBytes(int64(4 * maps.Len()))
		for i := 0; i < b.N; i++ {
			p.Forward(&y, maps)
		}
	})
	b.Run("upsample2x2-backward", func(b *testing.B) {
		u, _ := NewUpsample("u", 2, []int{2, 2})
		half := randTensor(rng, -1, 1, 128, 16, 14, 14)
		u.Forward(&y, half)
		b.SetBytes(int64(4 * maps.Len()))
		for i := 0; i < b.N; i++ {
			u.Backward(&dx, maps)
		}
	})
}
