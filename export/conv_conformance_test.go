package export_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/trainer"
)

var convNets = []struct {
	name string
	net  trainer.ConvNet
}{
	{"keras-upsample", trainer.ConvNet{Variant: "conv", Input: []int{1, 28, 28}, Channels: []int{4, 3, 3}, Kernel: 3, Decoder: "upsample"}},
	{"transposed-batchnorm", trainer.ConvNet{Variant: "conv", Input: []int{2, 9, 7}, Channels: []int{3, 4}, Kernel: 3, Decoder: "transposed", BatchNorm: true, Dropout: 0.1}},
	{"unpool-dense", trainer.ConvNet{Variant: "conv", Input: []int{1, 10, 10}, Channels: []int{3, 2}, Kernel: 3, Decoder: "unpool", Latent: 5}},
	{"avgpool-strided", trainer.ConvNet{Variant: "conv", Input: []int{1, 12, 12}, Channels: []int{3}, Kernel: 5, Stride: 2, Pool: "avg", Decoder: "transposed"}},
	{"conv1d-transposed", trainer.ConvNet{Variant: "conv1d", Input: []int{1, 40}, Channels: []int{4, 3}, Kernel: 7, Stride: 2, Pool: "none", Decoder: "transposed", Dropout: 0.2}},
	{"conv1d-unpool", trainer.ConvNet{Variant: "conv1d", Input: []int{2, 17}, Channels: []int{3}, Kernel: 3, Decoder: "unpool"}},
	{"conv1d-upsample", trainer.ConvNet{Variant: "conv1d", Input: []int{1, 20}, Channels: []int{3, 2}, Kernel: 5, Decoder: "upsample", BatchNorm: true}},
}

// buildConv returns the network with random weights and random running
// statistics, so that the exported batch normalisation is exercised.
func buildConv(t *testing.T, o trainer.ConvNet) *trainer.Model {
	t.Helper()
	c, err := o.Config()
	if err != nil {
		t.Fatal(err)
	}
	m, err := trainer.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(7)
	rng := rand.New(rand.NewPCG(8, 9))
	sd := m.StateDict()
	for name, tensor := range sd {
		for i := range tensor.Data {
			switch {
			case len(name) > 12 && name[len(name)-12:] == ".running_var":
				tensor.Data[i] = float32(0.5 + rng.Float64())
			case len(name) > 20 && name[len(name)-20:] == ".num_batches_tracked":
			default:
				tensor.Data[i] += float32(0.2 * (rng.Float64() - 0.5))
			}
		}
	}
	return m
}

func runAll(t *testing.T, path string, inputs ...runtime.Tensor) []runtime.Tensor {
	t.Helper()
	m, err := runtime.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out, err := m.Run(inputs...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func tensorOf(shape []int, data []float32) runtime.Tensor {
	s := make([]int64, len(shape))
	for i, d := range shape {
		s[i] = int64(d)
	}
	return runtime.Tensor{Shape: s, Data: append([]float32(nil), data...)}
}

// TestConvExportsMatchONNXRuntime exports every decoder style and the 1-D
// models at opsets 11, 13 and 17 and compares ONNX Runtime with the Go
// forward pass: the full graph, the encoder (code and, for unpooling
// decoders, the pooling indices), and the decoder fed with them.
func TestConvExportsMatchONNXRuntime(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for _, v := range convNets {
		m := buildConv(t, v.net)
		n := 3
		x := input(n, product(v.net.Input), 11)
		shape := append([]int{n}, v.net.Input...)
		wantFull := m.Forward(x).Clone()
		wantCode := m.Encode(x).Clone()
		wantDec := m.Decode(wantCode).Clone() // after Encode, so unpooling has its indices
		for _, opset := range opsets {
			w := export.Writer{Opset: opset}
			paths := map[export.Part]string{}
			for _, part := range []export.Part{export.Full, export.Encoder, export.Decoder} {
				paths[part] = filepath.Join(dir, fmt.Sprintf("%s.%s.opset%d.onnx", v.name, part, opset))
				if err := w.WriteFile(paths[part], m, part); err != nil {
					t.Fatal(err)
				}
				files = append(files, paths[part])
			}
			t.Run(fmt.Sprintf("%s/opset%d", v.name, opset), func(t *testing.T) {
				full := runAll(t, paths[export.Full], tensorOf(shape, x.Data))
				closeEnough(t, "full", full[0].Data, wantFull.Data)
				enc := runAll(t, paths[export.Encoder], tensorOf(shape, x.Data))
				closeEnough(t, "encoder", enc[0].Data, wantCode.Data)
				dec := runAll(t, paths[export.Decoder], enc...)
				closeEnough(t, "decoder", dec[0].Data, wantDec.Data)
			})
		}
	}
	checkWithONNX(t, files)
}

func product(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}
