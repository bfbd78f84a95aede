package graph

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

var rnnBenchCases = []rnnCase{
	{name: "LSTM", seq: 32, batch: 64, input: 32, hid: 64, direction: "forward", bias: true},
	{name: "LSTM_bidirectional", seq: 32, batch: 64, input: 32, hid: 64, direction: "bidirectional", bias: true},
	{name: "GRU", gru: true, lbr: true, seq: 32, batch: 64, input: 32, hid: 64, direction: "forward", bias: true},
}

// BenchmarkLSTMForward runs a planned LSTM layer (and a GRU one) of 64
// hidden units on 32 steps of 32 features at batch 64: Forward, and
// Forward with Backward (a training step's share).
func BenchmarkLSTMForward(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range rnnBenchCases {
		in := c.inputs(rng)
		g := rnnGraph(c, in)
		g.Outputs = g.Outputs[:1]
		g.Nodes[0].Outputs = g.Nodes[0].Outputs[:1]
		p, err := g.Plan(map[string][]int{"x": in[0].Shape}, PlanOptions{})
		if err != nil {
			b.Fatal(err)
		}
		seed := randTensor(rng, p.Shape("y")...)
		for _, back := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/backward=%v", c.name, back), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if err := p.Forward(in[0]); err != nil {
						b.Fatal(err)
					}
					if back {
						p.Backward(seed)
					}
				}
				b.ReportMetric(float64(c.batch)*float64(b.N)/b.Elapsed().Seconds(), "sequences/s")
			})
		}
	}
}
