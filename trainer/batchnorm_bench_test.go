package trainer

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkConvBatchNormTrainStep measures one training step of the
// convolutional autoencoder of BenchmarkConvTrainStep with batch
// normalisation after each convolution, dropout and a dense bottleneck
// (flatten and unflatten): the layers whose kernels are graph's
// BatchNormalization, Dropout and Reshape.
func BenchmarkConvBatchNormTrainStep(b *testing.B) {
	c, err := ConvNet{Variant: "conv", Input: []int{1, 28, 28}, Channels: []int{16, 8, 8}, Kernel: 3, Loss: BCE, BatchNorm: true, Dropout: 0.2, Latent: 32}.Config()
	if err != nil {
		b.Fatal(err)
	}
	m, err := Build(c)
	if err != nil {
		b.Fatal(err)
	}
	m.Init(1)
	rng := rand.New(rand.NewPCG(3, 4))
	opt, _ := NewOptimizer(OptimizerConfig{Name: "adam", LR: 1e-3})
	x := randTensor(rand.New(rand.NewPCG(1, 2)), 0, 1, 128, 784)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.ZeroGrad()
		m.TrainStep(Batch{X: x, Target: x}, nil, rng)
		opt.Step(m.Params())
	}
}

// BenchmarkLayers measures a training Forward and Backward of each layer
// whose kernel is graph's, alone, on a (128, 16, 28, 28) batch.
func BenchmarkLayers(b *testing.B) {
	bn, _ := NewBatchNorm("bn", 16, 0.1, 1e-5)
	drop, _ := NewDropout("d", 0.2)
	rng := rand.New(rand.NewPCG(5, 6))
	x := randTensor(rng, -1, 1, 128, 16, 28, 28)
	for _, l := range []struct {
		name  string
		layer Layer
	}{{"BatchNorm", bn}, {"Dropout", drop}, {"Flatten", &Reshape{Kind: "flatten"}}} {
		if md, ok := l.layer.(modal); ok {
			md.setTraining(true, rng)
		}
		y, dx := &Tensor{}, &Tensor{}
		b.Run(l.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				l.layer.Forward(y, x)
				l.layer.Backward(dx, y)
			}
		})
	}
}

// TestGraphKernelLayersDoNotAllocate checks that a training step of the
// model of BenchmarkConvBatchNormTrainStep — batch norm, dropout, flatten
// and unflatten on graph's kernels — allocates nothing once its buffers
// exist.
func TestGraphKernelLayersDoNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a conv model")
	}
	c, err := ConvNet{Variant: "conv", Input: []int{1, 28, 28}, Channels: []int{8, 8}, Kernel: 3, Loss: BCE, BatchNorm: true, Dropout: 0.2, Latent: 16}.Config()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	opt, _ := NewOptimizer(OptimizerConfig{Name: "adam", LR: 1e-3})
	rng := rand.New(rand.NewPCG(1, 2))
	x := randTensor(rng, 0, 1, 32, 784)
	step := func() {
		m.ZeroGrad()
		m.TrainStep(Batch{X: x, Target: x}, nil, rng)
		opt.Step(m.Params())
	}
	step()
	if a := testing.AllocsPerRun(3, step); a != 0 {
		t.Errorf("a training step allocates %v times", a)
	}
}
