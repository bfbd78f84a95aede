package backend

import (
	"fmt"
	"testing"

	"github.com/aebridge/aebridge/runtime"
)

// BenchmarkRNNBackends compares the inference throughput of ONNX Runtime
// and the Go graph backend on the sequence autoencoder fixtures (PyTorch's
// LSTM and GRU autoencoders, 6 steps of 3 features) at batch 64. The Go
// backend runs first (see BenchmarkBackends).
func BenchmarkRNNBackends(b *testing.B) {
	for _, name := range []string{"lstm_ae", "gru_ae", "bilstm2_ae"} {
		path := "../testdata/rnn/" + name + ".opset14.onnx"
		goB, err := OpenGraph(path)
		if err != nil {
			b.Fatal(err)
		}
		benchSeq(b, name, goB)
		ort, err := OpenORT(path, runtime.WithThreads(2))
		if err != nil {
			b.Fatal(err)
		}
		benchSeq(b, name, ort)
		ort.Close()
	}
}

func benchSeq(b *testing.B, model string, backend Backend) {
	const n, steps, features = 64, 6, 3
	x := runtime.Tensor{Shape: []int64{n, steps, features}, Data: make([]float32, n*steps*features)}
	for i := range x.Data {
		x.Data[i] = float32(i%97) / 97
	}
	b.Run(fmt.Sprintf("%s/%s/batch%d", model, backend.Name(), n), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := backend.Run([]runtime.Tensor{x}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	})
}
