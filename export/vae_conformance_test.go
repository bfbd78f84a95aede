package export_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/trainer"
)

// TestVAEExportsMatchONNXRuntime exports variational models — MLP and
// conv, plain and conditional — and compares ONNX Runtime with the Go
// passes: model.onnx (x, c → x̂ through μ), encoder.onnx (→ μ, log σ²) and
// decoder.onnx (z, c → x̂), at opsets 11, 13 and 17.
func TestVAEExportsMatchONNXRuntime(t *testing.T) {
	configs := map[string]func() (trainer.Config, error){
		"mlp-vae":   trainer.MLP{Variant: "vae", Input: 20, Hidden: []int{12}, Latent: 3, Loss: trainer.BCE}.Config,
		"mlp-cvae":  trainer.MLP{Variant: "cvae", Input: 20, Hidden: []int{12, 8}, Latent: 3, Condition: 4, Loss: trainer.BCE}.Config,
		"conv-vae":  trainer.ConvNet{Variant: "conv", Input: []int{1, 12, 12}, Channels: []int{3, 2}, Kernel: 3, Decoder: "transposed", Latent: 4, Variational: true}.Config,
		"conv-cvae": trainer.ConvNet{Variant: "conv", Input: []int{1, 10, 10}, Channels: []int{3}, Kernel: 3, Decoder: "upsample", Latent: 3, Variational: true, Condition: 5, BatchNorm: true}.Config,
	}
	dir := t.TempDir()
	var files []string
	for name, config := range configs {
		c, err := config()
		if err != nil {
			t.Fatal(err)
		}
		m, err := trainer.Build(c)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(3)
		const n = 4
		x := input(n, product(c.Input), 5)
		var cond *trainer.Tensor
		if c.Condition > 0 {
			cond = trainer.NewTensor(n, c.Condition)
			for r := 0; r < n; r++ {
				cond.Data[r*c.Condition+(r*3)%c.Condition] = 1
			}
			m.SetCondition(cond)
		}
		wantFull := m.Forward(x).Clone()
		mu, lv := m.EncodeDist(x)
		wantMu, wantLv := mu.Clone(), lv.Clone()
		z := input(n, c.Variational.Latent, 6)
		for i := range z.Data {
			z.Data[i] = 2*z.Data[i] - 1
		}
		wantDec := m.Decode(z).Clone()
		xs := tensorOf(append([]int{n}, c.Input...), x.Data)
		extra := []runtime.Tensor{}
		if cond != nil {
			extra = append(extra, tensorOf(cond.Shape, cond.Data))
		}
		for _, opset := range opsets {
			paths := map[export.Part]string{}
			for _, part := range []export.Part{export.Full, export.Encoder, export.Decoder} {
				paths[part] = filepath.Join(dir, fmt.Sprintf("%s.%s.opset%d.onnx", name, part, opset))
				if err := (export.Writer{Opset: opset}).WriteFile(paths[part], m, part); err != nil {
					t.Fatal(err)
				}
				files = append(files, paths[part])
			}
			t.Run(fmt.Sprintf("%s/opset%d", name, opset), func(t *testing.T) {
				full := runAll(t, paths[export.Full], append([]runtime.Tensor{xs}, extra...)...)
				closeEnough(t, "x_hat", full[0].Data, wantFull.Data)
				enc := runAll(t, paths[export.Encoder], append([]runtime.Tensor{xs}, extra...)...)
				if len(enc) != 2 {
					t.Fatalf("encoder gave %d outputs, want μ and log σ²", len(enc))
				}
				closeEnough(t, "mu", enc[0].Data, wantMu.Data)
				closeEnough(t, "logvar", enc[1].Data, wantLv.Data)
				dec := runAll(t, paths[export.Decoder], append([]runtime.Tensor{tensorOf(z.Shape, z.Data)}, extra...)...)
				closeEnough(t, "decoded", dec[0].Data, wantDec.Data)
			})
		}
	}
	checkWithONNX(t, files)
}
