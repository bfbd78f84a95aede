package backend

import (
	"fmt"
	"testing"

	"github.com/aebridge/aebridge/runtime"
)

// BenchmarkBackends compares inference throughput of ONNX Runtime and
// aebridge's Go forward pass (on the imported graph) on PyTorch's conv
// autoencoder with a dense bottleneck, at batch 1 and 256. The Go backend
// runs first: ONNX Runtime's pool threads keep spinning for a while after
// its runs, and would take the cores from whatever runs next.
func BenchmarkBackends(b *testing.B) {
	path := "../testdata/pytorch/conv_dense_ae.opset13.onnx"
	goB, err := OpenGraph(path)
	if err != nil {
		b.Fatal(err)
	}
	bench(b, goB)
	ort, err := OpenORT(path, runtime.WithThreads(2))
	if err != nil {
		b.Fatal(err)
	}
	defer ort.Close()
	bench(b, ort)
}

func bench(b *testing.B, backend Backend) {
	for _, n := range []int{1, 256} {
		x := runtime.Tensor{Shape: []int64{int64(n), 1, 16, 16}, Data: make([]float32, n*256)}
		for i := range x.Data {
			x.Data[i] = float32(i%97) / 97
		}
		b.Run(fmt.Sprintf("%s/batch%d", backend.Name(), n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := backend.Run([]runtime.Tensor{x}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
