package backend

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/runtime"
)

// TestGraphBackendRunsGraphsThatAreNotChains runs PyTorch exports through
// the go backend — the residual autoencoder, whose Add of an earlier
// tensor no chain holds, and the MLP — at every opset, against PyTorch's
// outputs, at the fixture's batch and at a batch of one (a second plan).
func TestGraphBackendRunsGraphsThatAreNotChains(t *testing.T) {
	dir := "../testdata/pytorch"
	for _, name := range []string{"residual_ae", "mlp_ae"} {
		in, err := npy.ReadFile(filepath.Join(dir, name+".in0.npy"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := npy.ReadFile(filepath.Join(dir, name+".out0.npy"))
		if err != nil {
			t.Fatal(err)
		}
		for _, opset := range []int{9, 11, 13, 17} {
			t.Run(fmt.Sprintf("%s_opset%d", name, opset), func(t *testing.T) {
				b, err := OpenGraph(filepath.Join(dir, fmt.Sprintf("%s.opset%d.onnx", name, opset)))
				if err != nil {
					t.Fatal(err)
				}
				x := runtime.Tensor{Shape: int64s(in.Shape), Data: in.Data}
				for _, batch := range []int64{x.Shape[0], 1} {
					cols := len(in.Data) / int(x.Shape[0])
					xb := runtime.Tensor{Shape: append([]int64{batch}, x.Shape[1:]...), Data: in.Data[:int(batch)*cols]}
					out, err := b.Run([]runtime.Tensor{xb})
					if err != nil {
						t.Fatal(err)
					}
					got := out[b.OutputNames()[0]]
					wcols := len(want.Data) / want.Shape[0]
					ref := runtime.Tensor{Shape: append([]int64{batch}, int64s(want.Shape[1:])...), Data: want.Data[:int(batch)*wcols]}
					s, err := Compare(got, ref, 1e-5, 1e-5)
					if err != nil || !s.Pass {
						t.Errorf("batch %d: against PyTorch: %+v, %v", batch, s, err)
					}
				}
			})
		}
	}
}

func int64s(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}
