package main

import (
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/trainer"
)

func TestNewCmdDecode(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    decodeOptions
		wantErr string
	}{
		{name: "npy", args: []string{"dir", "-i", "z.npy", "-o", "x.npy"}, want: decodeOptions{Model: "dir", Input: "z.npy", Output: "x.npy", Class: -1}},
		{name: "csv codes", args: []string{"dir", "-i", "z.csv", "-o", "x.csv", "--condition", "c.npy"}, want: decodeOptions{Model: "dir", Input: "z.csv", Output: "x.csv", Class: -1, Condition: "c.npy"}},
		{name: "bad input", args: []string{"dir", "-i", "z.txt", "-o", "x.npy"}, wantErr: "--input z.txt: want a .npy, .csv file"},
		{name: "no input", args: []string{"dir", "-o", "x.npy"}, wantErr: "--input and --output are required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseArgs(t, newCmdDecode, tt.args, tt.wantErr)
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

// TestEncodeDecodeRoundTrip encodes with encode, decodes with decode (from
// the .npy and from the CSV encode writes), and checks the result against
// aebridge run's reconstruction with model.onnx: the full model is the
// decoder on the encoder's code. For a CVAE, with the condition.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		c     trainer.MLP
		class int
	}{
		{"ae", trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{6}, Latent: 3}, -1},
		{"cvae", trainer.MLP{Variant: "cvae", Condition: 3, Input: 8, Hidden: []int{6}, Latent: 3, Loss: trainer.BCE}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newModelDir(t, mlpConfig(t, tt.c))
			tmp := t.TempDir()
			xs := make([]float32, 4*8)
			for i := range xs {
				xs[i] = float32(math.Mod(float64(i)*0.37, 1))
			}
			x := filepath.Join(tmp, "x.npy")
			writeNPYArray(t, x, []int{4, 8}, xs)
			inputs := []string{x}
			if tt.class >= 0 {
				c := filepath.Join(tmp, "c.npy")
				onehot := make([]float32, 4*3)
				for i := 0; i < 4; i++ {
					onehot[i*3+tt.class] = 1
				}
				writeNPYArray(t, c, []int{4, 3}, onehot)
				inputs = append(inputs, "c="+c)
			}
			want, _ := runOutput(t, filepath.Join(dir, "model.onnx"), false, inputs...)
			for _, ext := range []string{".npy", ".csv"} {
				f, _, _ := testFactory()
				codes := filepath.Join(tmp, "codes"+ext)
				if err := encodeRun(&encodeOptions{IO: f.IO, Model: dir, Input: x, Output: codes, Class: tt.class}); err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(tmp, "x_hat"+ext)
				f, stdout, stderr := testFactory()
				if err := decodeRun(&decodeOptions{IO: f.IO, Model: filepath.Join(dir, "model.onnx"), Input: codes, Output: out, Class: tt.class}); err != nil {
					t.Fatal(err)
				}
				var got []float32
				if ext == ".npy" {
					a := readNPY(t, out)
					if !slices.Equal(a.Shape, []int{4, 8}) {
						t.Errorf("shape: got %v, want [4 8]", a.Shape)
					}
					got = a.Data
				} else {
					got = readCSVRows(t, out)
				}
				// The CSV holds float32s in the fewest digits that read back
				// to them: the same values.
				if d := maxAbsDiff(got, want.Data); !(d <= 1e-6) {
					t.Errorf("%s: max |Δ| against run's reconstruction = %g, want ≤ 1e-6", ext, d)
				}
				if stderr.Len() != 0 {
					t.Errorf("stderr: got %q, want nothing (codes follow no input rule)", stderr.String())
				}
				if w := "decoded 4 codes of " + codes + " -> " + out + " [4 8]\n"; stdout.String() != w {
					t.Errorf("stdout: got %q, want %q", stdout.String(), w)
				}
			}
		})
	}
}

func TestDecodeRunErrors(t *testing.T) {
	dir := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "cvae", Condition: 3, Input: 8, Hidden: []int{6}, Latent: 3, Loss: trainer.BCE}))
	tmp := t.TempDir()
	z, wrong, nan := filepath.Join(tmp, "z.npy"), filepath.Join(tmp, "wrong.npy"), filepath.Join(tmp, "nan.npy")
	writeNPYArray(t, z, []int{2, 3}, make([]float32, 6))
	writeNPYArray(t, wrong, []int{2, 4}, make([]float32, 8))
	writeNPYArray(t, nan, []int{2, 3}, []float32{0, 0, 0, 0, float32(math.NaN()), 0})
	tests := []struct {
		name    string
		opts    decodeOptions
		wantErr string
	}{
		{"no condition", decodeOptions{Model: dir, Input: z, Class: -1}, "is conditional"},
		{"wrong shape", decodeOptions{Model: dir, Input: wrong, Class: 0}, "--input " + wrong + `: runtime: input "z": dimension 1 is 4, want 3`},
		{"NaN code", decodeOptions{Model: dir, Input: nan, Class: 0}, "--input " + nan + ": sample 1, element 1 is NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := testFactory()
			tt.opts.IO, tt.opts.Output = f.IO, filepath.Join(tmp, "x.npy")
			err := decodeRun(&tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestConvCodes encodes with a convolutional autoencoder whose code is an
// image, (C, h, w): the CSV holds it flattened and decode reshapes it back
// to the decoder's code shape. With an unpooling decoder, which needs the
// encoder's pooling indices, score on encoder.onnx passes them from the
// encoder to the decoder and gives model.onnx's scores; decode refuses
// codes alone.
func TestConvCodes(t *testing.T) {
	tmp := t.TempDir()
	xs := make([]float32, 3*1*8*8)
	for i := range xs {
		xs[i] = float32(math.Mod(float64(i)*0.61, 1))
	}
	x := filepath.Join(tmp, "x.npy")
	writeNPYArray(t, x, []int{3, 1, 8, 8}, xs)
	conv := func(decoder string) string {
		c, err := trainer.ConvNet{Variant: "conv", Input: []int{1, 8, 8}, Channels: []int{2}, Kernel: 3, Pool: "max", Decoder: decoder, Loss: trainer.BCE}.Config()
		if err != nil {
			t.Fatal(err)
		}
		return newModelDir(t, c)
	}
	t.Run("upsample", func(t *testing.T) {
		dir := conv("upsample")
		want, _ := runOutput(t, filepath.Join(dir, "model.onnx"), false, x)
		f, _, _ := testFactory()
		codes := filepath.Join(tmp, "codes.csv")
		if err := encodeRun(&encodeOptions{IO: f.IO, Model: dir, Input: x, Output: codes, Class: -1}); err != nil {
			t.Fatal(err)
		}
		f, stdout, _ := testFactory()
		out := filepath.Join(tmp, "x_hat.npy")
		if err := decodeRun(&decodeOptions{IO: f.IO, Model: dir, Input: codes, Output: out, Class: -1}); err != nil {
			t.Fatal(err)
		}
		got := readNPY(t, out)
		if !slices.Equal(got.Shape, []int{3, 1, 8, 8}) {
			t.Errorf("shape: got %v, want [3 1 8 8]", got.Shape)
		}
		if d := maxAbsDiff(got.Data, want.Data); !(d <= 1e-6) {
			t.Errorf("max |Δ| against run's reconstruction = %g (stdout %q)", d, stdout.String())
		}
	})
	t.Run("unpool", func(t *testing.T) {
		dir := conv("unpool")
		var scores [2][]float64
		for i, model := range []string{filepath.Join(dir, "model.onnx"), filepath.Join(dir, "encoder.onnx")} {
			f, _, _ := testFactory()
			out := filepath.Join(tmp, "s.csv")
			if err := scoreRun(&scoreOptions{IO: f.IO, Model: model, Input: x, Output: out, Class: -1}); err != nil {
				t.Fatal(err)
			}
			scores[i], _ = readScoresCSV(t, out)
		}
		closeScores(t, "encoder.onnx with its decoder", scores[1], scores[0])
		z := filepath.Join(tmp, "z.npy")
		writeNPYArray(t, z, []int{3, 2, 4, 4}, make([]float32, 3*2*4*4))
		f, _, _ := testFactory()
		err := decodeRun(&decodeOptions{IO: f.IO, Model: dir, Input: z, Output: filepath.Join(tmp, "x.npy"), Class: -1})
		if err == nil || !strings.Contains(err.Error(), "cannot decode codes alone") {
			t.Errorf("unpooling decoder on codes alone: got %v", err)
		}
	})
}

// TestDecodeRunCodesFollowNoInputRule decodes codes far outside [0, 1]
// through model.onnx, which records the data's range: no warning, since the
// rule is for the data input, not codes.
func TestDecodeRunCodesFollowNoInputRule(t *testing.T) {
	dir := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{6}, Latent: 3}))
	z := filepath.Join(t.TempDir(), "z.npy")
	writeNPYArray(t, z, []int{2, 3}, []float32{5, -5, 5, 5, 5, -5})
	f, _, stderr := testFactory()
	if err := decodeRun(&decodeOptions{IO: f.IO, Model: filepath.Join(dir, "model.onnx"), Input: z, Output: filepath.Join(t.TempDir(), "x.npy"), Class: -1}); err != nil {
		t.Fatal(err)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: got %q, want nothing", stderr.String())
	}
}
