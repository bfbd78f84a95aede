package runtime

import (
	"fmt"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// The cost of the high-level API over the binding, on the same session:
// BenchmarkRun calls Model.Run (input checks, tensors, output copies),
// BenchmarkRawBinding makes the binding calls Run makes, with nothing
// else. Compare their ns/op at each batch size.

func benchModel(b *testing.B) *Model {
	m, err := Open(filepath.Join(fixtures, "mlp_ae.opset13.onnx"), WithThreads(1))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

func BenchmarkRun(b *testing.B) {
	m := benchModel(b)
	for _, n := range []int{1, 256} {
		x := Tensor{Shape: []int64{int64(n), 64}, Data: make([]float32, n*64)}
		b.Run(fmt.Sprintf("batch%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := m.Run(x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkScore(b *testing.B) {
	m := benchModel(b)
	for _, n := range []int{1, 256} {
		x := Tensor{Shape: []int64{int64(n), 64}, Data: make([]float32, n*64)}
		b.Run(fmt.Sprintf("batch%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := m.Score(x, MSE); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRawBinding(b *testing.B) {
	m := benchModel(b)
	for _, n := range []int{1, 256} {
		data := make([]float32, n*64)
		b.Run(fmt.Sprintf("batch%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				in, err := ort.NewTensor(ort.NewShape(int64(n), 64), data)
				if err != nil {
					b.Fatal(err)
				}
				out := []ort.Value{nil}
				if err := m.session.Run([]ort.Value{in}, out); err != nil {
					b.Fatal(err)
				}
				_ = out[0].(*ort.Tensor[float32]).GetData()
				out[0].Destroy()
				in.Destroy()
			}
		})
	}
}
