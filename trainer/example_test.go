package trainer_test

import (
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/aebridge/aebridge/trainer"
)

// Train a small tied autoencoder on data of 16 features that lie near a
// 2-dimensional plane, and compare its loss before and after.
func Example() {
	cfg, err := trainer.MLP{Variant: "tied", Input: 16, Hidden: []int{8}, Latent: 2, OutputActivation: "identity"}.Config()
	if err != nil {
		log.Fatal(err)
	}
	m, err := trainer.Build(cfg)
	if err != nil {
		log.Fatal(err)
	}
	m.Init(1)
	fmt.Print(m)

	rng := rand.New(rand.NewPCG(1, 2))
	data := trainer.NewTensor(512, 16)
	for i := 0; i < 512; i++ {
		a, b := rng.NormFloat64(), rng.NormFloat64()
		for j := 0; j < 16; j++ {
			data.Data[i*16+j] = float32(a*float64(j%4) + b*float64(j%3) + 0.01*rng.NormFloat64())
		}
	}
	before, _ := trainer.Evaluate(m, data, 512)
	train := trainer.TrainConfig{Optimizer: trainer.OptimizerConfig{Name: "adam", LR: 1e-2}, Epochs: 30, Batch: 32, Seed: 1}
	if _, err := trainer.Fit(m, data, train, trainer.FitOptions{}); err != nil {
		log.Fatal(err)
	}
	after, _ := trainer.Evaluate(m, data, 512)
	fmt.Println("loss fell more than tenfold:", after < before/10)
	// Output:
	// tied autoencoder, input [16], code [2], loss mse
	//   encoder.0  dense 16→8
	//   encoder.1  relu
	//   encoder.2  dense 8→2
	//   encoder.3  identity
	//   decoder.0  dense 2→8 (weight tied to encoder.2)
	//   decoder.1  relu
	//   decoder.2  dense 8→16 (weight tied to encoder.0)
	//   decoder.3  identity
	// loss fell more than tenfold: true
}
