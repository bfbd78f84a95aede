package main

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/trainer"
)

func convConfig(t *testing.T, o trainer.ConvNet, variant string) trainer.Config {
	t.Helper()
	c, err := o.Config()
	if err != nil {
		t.Fatal(err)
	}
	if variant != "" {
		c.Variant = variant // as train names a convolutional VAE
	}
	return c
}

// TestInterpolateRunEveryVariantKind interpolates between two flat samples
// with models of each kind aebridge trains and checks the codes against
// the closed form (1 − t)·E(a) + t·E(b), t = s/(steps − 1), with E the
// encoder run on its own, and the decoded points against the decoder run
// on those codes.
func TestInterpolateRunEveryVariantKind(t *testing.T) {
	tests := []struct {
		name        string
		cfg         trainer.Config
		class       int
		sampleShape []int // of a.npy and b.npy
	}{
		{"mlp", mlpConfig(t, trainer.MLP{Variant: "ae", Input: 16, Hidden: []int{8}, Latent: 3}), -1, []int{16}},
		{"conv", convConfig(t, trainer.ConvNet{Variant: "conv", Input: []int{1, 8, 8}, Channels: []int{2}, Kernel: 3, Pool: "max", Decoder: "upsample"}, ""), -1, []int{64}},
		{"conv, one row of 64", convConfig(t, trainer.ConvNet{Variant: "conv", Input: []int{1, 8, 8}, Channels: []int{2, 3}, Kernel: 3, Pool: "avg", Decoder: "transposed", Latent: 4}, ""), -1, []int{1, 64}},
		{"conv1d", convConfig(t, trainer.ConvNet{Variant: "conv1d", Input: []int{1, 16}, Channels: []int{2}, Kernel: 3, Pool: "max", Decoder: "upsample"}, ""), -1, []int{16}},
		{"vae", mlpConfig(t, trainer.MLP{Variant: "vae", Input: 16, Hidden: []int{8}, Latent: 3, Loss: trainer.BCE}), -1, []int{16}},
		{"conv vae", convConfig(t, trainer.ConvNet{Variant: "conv", Input: []int{1, 8, 8}, Channels: []int{2}, Kernel: 3, Pool: "max", Decoder: "transposed", Latent: 3, Variational: true, Loss: trainer.BCE}, "vae"), -1, []int{64}},
		{"cvae", mlpConfig(t, trainer.MLP{Variant: "cvae", Input: 16, Hidden: []int{8}, Latent: 3, Condition: 4, Loss: trainer.BCE}), 2, []int{16}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newModelDir(t, tt.cfg)
			tmp := t.TempDir()
			n := 1
			for _, d := range tt.sampleShape {
				n *= d
			}
			av, bv := make([]float32, n), make([]float32, n)
			for i := range av {
				av[i], bv[i] = float32(i%7)/7, float32((i*5)%11)/11
			}
			a, b := filepath.Join(tmp, "a.npy"), filepath.Join(tmp, "b.npy")
			writeNPYArray(t, a, tt.sampleShape, av)
			writeNPYArray(t, b, tt.sampleShape, bv)
			codes, points, strip := filepath.Join(tmp, "z.npy"), filepath.Join(tmp, "x.npy"), filepath.Join(tmp, "strip.png")
			const steps = 5
			f, _, _ := testFactory()
			err := interpolateRun(&interpolateOptions{IO: f.IO, Model: dir, From: a, To: b, Steps: steps, Class: tt.class, Codes: codes, NPY: points, Out: strip})
			if err != nil {
				t.Fatal(err)
			}

			enc, err := runtime.Open(filepath.Join(dir, "encoder.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			dec, err := runtime.Open(filepath.Join(dir, "decoder.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			one := append([]int64{1}, toInt64(tt.cfg.Input)...)
			cond := func(rows int) []runtime.Tensor {
				if tt.class < 0 {
					return nil
				}
				c := runtime.Tensor{Shape: []int64{int64(rows), 4}, Data: make([]float32, rows*4)}
				for i := 0; i < rows; i++ {
					c.Data[i*4+tt.class] = 1
				}
				return []runtime.Tensor{c}
			}
			encode := func(v []float32) runtime.Tensor {
				out, err := enc.Run(append([]runtime.Tensor{{Shape: one, Data: v}}, cond(1)...)...)
				if err != nil {
					t.Fatal(err)
				}
				return out[0] // z, or mu
			}
			za, zb := encode(av), encode(bv)
			k := len(za.Data)
			want := runtime.Tensor{Shape: append([]int64{steps}, za.Shape[1:]...), Data: make([]float32, steps*k)}
			for s := 0; s < steps; s++ {
				tf := float32(s) / float32(steps-1)
				for j := 0; j < k; j++ {
					want.Data[s*k+j] = (1-tf)*za.Data[j] + tf*zb.Data[j]
				}
			}
			gotZ := readNPY(t, codes)
			if !reflect.DeepEqual(toInt64(gotZ.Shape), want.Shape) || maxAbsDiff(gotZ.Data, want.Data) > 1e-6 {
				t.Errorf("codes: got %v %v, want %v %v", gotZ.Shape, gotZ.Data, want.Shape, want.Data)
			}
			x, err := dec.Run(append([]runtime.Tensor{want}, cond(steps)...)...)
			if err != nil {
				t.Fatal(err)
			}
			gotX := readNPY(t, points)
			if !reflect.DeepEqual(toInt64(gotX.Shape), x[0].Shape) || maxAbsDiff(gotX.Data, x[0].Data) > 1e-6 {
				t.Errorf("decoded points: got shape %v, want %v; max |Δ| %g", gotX.Shape, x[0].Shape, maxAbsDiff(gotX.Data, x[0].Data))
			}
			if w, _ := pngSize(t, strip); w < steps {
				t.Errorf("strip %d pixels wide for %d points", w, steps)
			}
		})
	}
}

func toInt64(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

// TestInterpolateRunRefusesUnpoolingDecoder checks the error for a decoder
// that needs the encoder's pooling indices besides the code.
func TestInterpolateRunRefusesUnpoolingDecoder(t *testing.T) {
	dir := newModelDir(t, convConfig(t, trainer.ConvNet{Variant: "conv", Input: []int{1, 8, 8}, Channels: []int{2}, Kernel: 3, Pool: "max", Decoder: "unpool"}, ""))
	a := filepath.Join(t.TempDir(), "a.npy")
	writeNPY(t, a, []int{64}, 0.5)
	f, _, _ := testFactory()
	err := interpolateRun(&interpolateOptions{IO: f.IO, Model: dir, From: a, To: a, Steps: 3, Class: -1, NPY: filepath.Join(t.TempDir(), "x.npy")})
	want := "runtime: " + filepath.Join(dir, "decoder.onnx") + `: the second input "indices_encoder.2" [batch 2 4 4] is not a (batch, classes) condition: the decoder needs more than a code (an unpooling decoder, the encoder's pooling indices) and cannot decode codes alone`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestNewCmdInterpolate(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    interpolateOptions
		wantErr string
	}{
		{name: "defaults", args: []string{"d", "--from", "a.npy", "--to", "b.npy", "--out", "s.png"},
			want: interpolateOptions{Model: "d", From: "a.npy", To: "b.npy", Steps: 10, Class: -1, Out: "s.png"}},
		{name: "codes and raw input", args: []string{"d", "--from", "a.npy", "--to", "b.npy", "--npy", "x.npy", "--codes", "z.npy", "--raw-input", "--class", "3"},
			want: interpolateOptions{Model: "d", From: "a.npy", To: "b.npy", Steps: 10, Class: 3, NPY: "x.npy", Codes: "z.npy", RawInput: true}},
		{name: "one step", args: []string{"d", "--from", "a.npy", "--to", "b.npy", "--out", "s.png", "--steps", "1"}, wantErr: "--steps 1: want at least 2"},
		{name: "no output", args: []string{"d", "--from", "a.npy", "--to", "b.npy"}, wantErr: "give --out strip.png, --npy out.npy or both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseArgs(t, newCmdInterpolate, tt.args, tt.wantErr)
			if got == nil {
				return
			}
			got.IO = nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}
