package main

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/trainer"
)

func TestNewCmdEncode(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    encodeOptions
		wantErr string
	}{
		{name: "npy", args: []string{"dir", "-i", "x.npy", "-o", "z.npy"}, want: encodeOptions{Model: "dir", Input: "x.npy", Output: "z.npy", Class: -1}},
		{name: "csv, class", args: []string{"dir", "-i", "x.npy", "-o", "z.csv", "--class", "2"}, want: encodeOptions{Model: "dir", Input: "x.npy", Output: "z.csv", Class: 2}},
		{name: "no output", args: []string{"dir", "-i", "x.npy"}, wantErr: "--input and --output are required"},
		{name: "jsonl", args: []string{"dir", "-i", "x.npy", "-o", "z.jsonl"}, wantErr: "--output z.jsonl: want a .npy, .csv file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseArgs(t, newCmdEncode, tt.args, tt.wantErr)
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

// readCSVRows reads a CSV with a header into rows of floats.
func readCSVRows(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []float32
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		for _, f := range strings.Split(l, ",") {
			v, err := strconv.ParseFloat(f, 32)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, float32(v))
		}
	}
	return out
}

// TestEncodeRunMatchesTheEncoder checks the codes of a directory, of its
// full model (which reaches encoder.onnx beside it) and of a VAE (μ)
// against aebridge run on encoder.onnx, bit for bit, as .npy and CSV.
func TestEncodeRunMatchesTheEncoder(t *testing.T) {
	tests := []struct {
		name   string
		c      trainer.MLP
		output string // the encoder output that holds the code
	}{
		{"ae", trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{6}, Latent: 3}, "z"},
		{"vae", trainer.MLP{Variant: "vae", Input: 8, Hidden: []int{6}, Latent: 3, Loss: trainer.BCE}, "mu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newScoreFixture(t, mlpConfig(t, tt.c), 5, 8)
			ref := t.TempDir()
			f, _, _ := testFactory()
			if err := runRun(&runOptions{IO: f.IO, Model: filepath.Join(fx.dir, "encoder.onnx"), Inputs: []string{fx.x}, OutDir: ref, Provider: "cpu", Backend: "ort"}); err != nil {
				t.Fatal(err)
			}
			want := readNPY(t, filepath.Join(ref, tt.output+".npy"))
			for _, model := range []string{fx.dir, filepath.Join(fx.dir, "model.onnx")} {
				for _, ext := range []string{".npy", ".csv"} {
					f, stdout, _ := testFactory()
					out := filepath.Join(t.TempDir(), "codes"+ext)
					if err := encodeRun(&encodeOptions{IO: f.IO, Model: model, Input: fx.x, Output: out, Class: -1}); err != nil {
						t.Fatal(err)
					}
					var got []float32
					if ext == ".npy" {
						a := readNPY(t, out)
						if !slices.Equal(a.Shape, []int{5, 3}) {
							t.Errorf("shape: got %v, want [5 3]", a.Shape)
						}
						got = a.Data
					} else {
						got = readCSVRows(t, out)
					}
					if !sameBits(got, want.Data) {
						t.Errorf("%s %s: got %v, want %v", model, ext, got, want.Data)
					}
					if w := "encoded 5 samples of " + fx.x + " -> " + out + " [5 3]\n"; stdout.String() != w {
						t.Errorf("stdout: got %q, want %q", stdout.String(), w)
					}
				}
			}
		})
	}
}

func TestEncodeRunErrors(t *testing.T) {
	fx := newScoreFixture(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{6}, Latent: 3}), 5, 8)
	other := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{4}, Latent: 3}))
	// A full model beside another model's encoder.
	mixed := t.TempDir()
	for from, name := range map[string]string{filepath.Join(fx.dir, "model.onnx"): "model.onnx", filepath.Join(other, "encoder.onnx"): "encoder.onnx"} {
		b, _ := os.ReadFile(from)
		os.WriteFile(filepath.Join(mixed, name), b, 0o644)
	}
	wrong := filepath.Join(t.TempDir(), "wrong.npy")
	writeNPYArray(t, wrong, []int{2, 7}, make([]float32, 14))
	tests := []struct {
		name    string
		opts    encodeOptions
		wantErr string
	}{
		{"wrong shape", encodeOptions{Model: fx.dir, Input: wrong}, "--input " + wrong + `: runtime: input "x": dimension 1 is 7, want 8`},
		{"another model's encoder", encodeOptions{Model: filepath.Join(mixed, "model.onnx"), Input: fx.x}, filepath.Join(mixed, "encoder.onnx") + " is not the encoder of"},
		{"a decoder", encodeOptions{Model: filepath.Join(fx.dir, "decoder.onnx"), Input: fx.x}, "decoder.onnx is a decoder; Encode needs the encoder or the full model"},
		{"a PyTorch autoencoder", encodeOptions{Model: filepath.Join(fixtures, "mlp_ae.opset13.onnx"), Input: filepath.Join(fixtures, "mlp_ae.in0.npy")}, "looks like a whole autoencoder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := testFactory()
			tt.opts.IO, tt.opts.Output, tt.opts.Class = f.IO, filepath.Join(t.TempDir(), "z.npy"), -1
			err := encodeRun(&tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestEveryVariantsPartsAgree checks, for every MLP variant and each
// convolutional decoder, that the three files train writes are taken as
// parts of one model (their metadata and weights agree): encode on
// model.onnx gives encoder.onnx's codes, and score on encoder.onnx and on
// decoder.onnx gives model.onnx's scores.
func TestEveryVariantsPartsAgree(t *testing.T) {
	configs := map[string]trainer.Config{}
	for _, v := range trainer.MLPVariants {
		o := trainer.MLP{Variant: v, Input: 8, Hidden: []int{6}, Latent: 3, Loss: trainer.BCE}
		if v == "cvae" {
			o.Condition = 2
		}
		configs[v] = mlpConfig(t, o)
	}
	for _, dec := range []string{"upsample", "transposed", "unpool"} {
		c, err := trainer.ConvNet{Variant: "conv", Input: []int{1, 4, 2}, Channels: []int{2}, Kernel: 3, Pool: "max", Decoder: dec, Loss: trainer.BCE}.Config()
		if err != nil {
			t.Fatal(err)
		}
		configs["conv-"+dec] = c
	}
	for name, c := range configs {
		t.Run(name, func(t *testing.T) {
			fx := newScoreFixtureClass(t, c, 4, 8, name == "cvae")
			class := -1
			if name == "cvae" {
				class = 1
			}
			var codes [2][]float32
			for i, model := range []string{"model.onnx", "encoder.onnx"} {
				f, _, _ := testFactory()
				out := filepath.Join(t.TempDir(), "z.npy")
				if err := encodeRun(&encodeOptions{IO: f.IO, Model: filepath.Join(fx.dir, model), Input: fx.x, Output: out, Class: class}); err != nil {
					t.Fatal(err)
				}
				codes[i] = readNPY(t, out).Data
			}
			if !sameBits(codes[0], codes[1]) {
				t.Errorf("codes through model.onnx: got %v, want encoder.onnx's %v", codes[0], codes[1])
			}
			var scores [3][]float64
			for i, model := range []string{"model.onnx", "encoder.onnx", "decoder.onnx"} {
				f, _, _ := testFactory()
				out := filepath.Join(t.TempDir(), "s.csv")
				if err := scoreRun(&scoreOptions{IO: f.IO, Model: filepath.Join(fx.dir, model), Input: fx.x, Output: out, Class: class}); err != nil {
					t.Fatal(err)
				}
				scores[i], _ = readScoresCSV(t, out)
			}
			closeScores(t, "encoder.onnx", scores[1], scores[0])
			closeScores(t, "decoder.onnx", scores[2], scores[0])
		})
	}
}

// newScoreFixtureClass writes inputs for the model c describes, of its
// input shape, and, for a conditional one, the one-hot rows of class 1,
// with run's reconstruction.
func newScoreFixtureClass(t *testing.T, c trainer.Config, n, d int, conditional bool) scoreFixture {
	t.Helper()
	dir := newModelDir(t, c)
	xs := make([]float32, n*d)
	for i := range xs {
		xs[i] = float32(i%5) / 5
	}
	tmp := t.TempDir()
	x, onehot := filepath.Join(tmp, "x.npy"), filepath.Join(tmp, "c.npy")
	writeNPYArray(t, x, append([]int{n}, c.Input...), xs)
	inputs := []string{x}
	if conditional {
		oh := make([]float32, n*2)
		for i := 0; i < n; i++ {
			oh[i*2+1] = 1
		}
		writeNPYArray(t, onehot, []int{n, 2}, oh)
		inputs = append(inputs, "c="+onehot)
	}
	y, _ := runOutput(t, filepath.Join(dir, "model.onnx"), false, inputs...)
	return scoreFixture{dir: dir, x: x, xs: xs, y: y.Data, n: n, d: d}
}
