package main

import (
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/trainer"
)

// decodePNG reads a PNG file.
func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// gray is the red level of img at (x, y), which is the grey level of a
// one-channel grid.
func gray(img image.Image, x, y int) uint8 {
	r, _, _, _ := img.At(x, y).RGBA()
	return uint8(r >> 8)
}

// saveModel saves m into a new directory.
func saveModel(t *testing.T, m *trainer.Model) string {
	t.Helper()
	dir := t.TempDir()
	if err := trainer.Save(dir, m, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// handSetModel is a model 4 → 3 whose first dense layer has hand-set
// weights.
func handSetModel(t *testing.T) *trainer.Model {
	t.Helper()
	m, err := trainer.Build(mlpConfig(t, trainer.MLP{Variant: "ae", Input: 4, Latent: 3}))
	if err != nil {
		t.Fatal(err)
	}
	var w *trainer.Tensor
	for _, p := range m.Params() {
		if p.Name == "encoder.0.weight" {
			w = p.Value
		}
	}
	if w == nil || len(w.Shape) != 2 || w.Shape[0] != 3 || w.Shape[1] != 4 {
		t.Fatalf("encoder.0.weight: got %v, want a (3, 4) weight", w)
	}
	copy(w.Data, []float32{
		3, 0, -4, 0, // ‖W₀‖ = 5: x₀ = (0.6, 0, −0.8, 0), min −0.8, max 0.6
		1, 1, 1, 1, // constant after normalisation: mid grey
		0, 2, 0, 1, // ‖W₂‖ = √5: x₂ = (0, 2, 0, 1)/√5
	})
	return m
}

func TestFiltersHandSetWeights(t *testing.T) {
	mlp := saveModel(t, handSetModel(t))
	// The same model exported to ONNX and imported as a graph model: its
	// first Gemm holds the weights.
	onnxPath := filepath.Join(t.TempDir(), "model.onnx")
	if err := (export.Writer{}).WriteFile(onnxPath, handSetModel(t), export.Full); err != nil {
		t.Fatal(err)
	}
	g, err := importGraph(onnxPath, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if g.Config.Variant != trainer.GraphVariant {
		t.Fatalf("imported variant: got %q, want %q", g.Config.Variant, trainer.GraphVariant)
	}
	for name, dir := range map[string]string{"mlp": mlp, "graph": saveModel(t, g), "onnx": onnxPath} {
		t.Run(name, func(t *testing.T) { checkHandSetFilters(t, dir) })
	}
}

func checkHandSetFilters(t *testing.T, dir string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "filters.png")
	f, stdout, _ := testFactory()
	if err := filtersRun(&filtersOptions{IO: f.IO, Model: dir, Output: out, Scale: 2}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "3 filters of 2×2") {
		t.Errorf("stdout: got %q, want it to say 3 filters of 2×2", stdout)
	}
	img := decodePNG(t, out)
	// ceil(√3) = 2 columns, 2 rows of 4×4 images (2×2 scaled by 2) with a
	// one-pixel border.
	if b := img.Bounds(); b.Dx() != 2*5+1 || b.Dy() != 2*5+1 {
		t.Fatalf("size: got %dx%d, want 11x11", b.Dx(), b.Dy())
	}
	level := func(v float64) uint8 { return uint8(math.Round(v * 255)) }
	s5 := math.Sqrt(5)
	want := map[int][4]float64{ // filter → its four values, min–max scaled
		0: {(0.6 + 0.8) / 1.4, 0.8 / 1.4, 0, 0.8 / 1.4},
		1: {0.5, 0.5, 0.5, 0.5},
		2: {0, 1, 0, (1 / s5) / (2 / s5)},
	}
	for k, vals := range want {
		x0, y0 := (k%2)*5+1, (k/2)*5+1
		for i, v := range vals {
			// value i at row i/2, column i%2, a 2×2 block.
			for dy := range 2 {
				for dx := range 2 {
					x, y := x0+(i%2)*2+dx, y0+(i/2)*2+dy
					if got := gray(img, x, y); got != level(v) {
						t.Errorf("filter %d value %d at (%d, %d): got %d, want %d", k, i, x, y, got, level(v))
					}
				}
			}
		}
	}
}

func TestFiltersNotDense(t *testing.T) {
	build := func(c trainer.Config) *trainer.Model {
		m, err := trainer.Build(c)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	reluFirst := mlpConfig(t, trainer.MLP{Variant: "ae", Input: 4, Latent: 3})
	reluFirst.Encoder = append([]trainer.LayerSpec{{Type: "relu"}}, reluFirst.Encoder...)
	conv := convConfig(t, trainer.ConvNet{Variant: "conv", Input: []int{1, 8, 8}, Channels: []int{2}, Kernel: 3, Pool: "max", Decoder: "upsample", Latent: 4}, "")
	onnxPath := filepath.Join(t.TempDir(), "conv.onnx")
	if err := (export.Writer{}).WriteFile(onnxPath, build(conv), export.Full); err != nil {
		t.Fatal(err)
	}
	convGraph, err := importGraph(onnxPath, "", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		m    *trainer.Model
		want string
	}{
		{"activation first", build(reluFirst), "the first layer is relu, not dense"},
		{"conv", build(conv), "the first layer is conv2d, not dense"},
		{"conv graph", convGraph, "the first layer is the Conv node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := saveModel(t, tc.m)
			f, _, _ := testFactory()
			err := filtersRun(&filtersOptions{IO: f.IO, Model: dir, Output: filepath.Join(t.TempDir(), "f.png"), Scale: 1})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestFiltersFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"dir"}, "--output is required"},
		{[]string{"dir", "--output", "f.jpg"}, "--output f.jpg: want a .png file"},
		{[]string{"dir", "--output", "f.png", "--scale", "0"}, "--scale 0"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			parseArgs(t, newCmdFilters, tc.args, tc.wantErr)
		})
	}
	if o := parseArgs(t, newCmdFilters, []string{"dir", "-o", "f.png", "--scale", "3"}, ""); o != nil && (o.Scale != 3 || o.Output != "f.png") {
		t.Errorf("got scale %d output %q, want 3 and f.png", o.Scale, o.Output)
	}
}
