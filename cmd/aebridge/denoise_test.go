package main

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/trainer"
)

func TestPSNR(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b []float32
		want float64
	}{
		// MSE = (0.1² + 0) / 2 = 0.005: 10·log10(200).
		{"one off", []float32{0, 0.5}, []float32{0.1, 0.5}, 10 * math.Log10(200)},
		// MSE = 1: 0 dB.
		{"all wrong", []float32{0, 1}, []float32{1, 0}, 0},
		{"equal", []float32{0.3}, []float32{0.3}, math.Inf(1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := psnr(tc.a, tc.b); math.Abs(got-tc.want) > 1e-6 && got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// printedPSNR reads the PSNR that denoise printed for what ("noisy" or
// "reconstructed") and the gain.
func printedPSNR(t *testing.T, out, what string) float64 {
	t.Helper()
	re := regexp.MustCompile(`PSNR\(` + what + `, clean\)\s+(\S+) dB`)
	if what == "gain" {
		re = regexp.MustCompile(`gain\s+(\S+) dB`)
	}
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output %q: no %s PSNR", out, what)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDenoiseGrid masks a constant 0.6 image: PSNR(noisy, clean) is then
// 10·log10(1/(q·0.36)) for the fraction q of masked values, which the noisy
// row of the PNG shows (black pixels); the reconstructed row is the model's
// output on that noisy row, the clean row the input.
func TestDenoiseGrid(t *testing.T) {
	m, err := trainer.Build(mlpConfig(t, trainer.MLP{Variant: "ae", Input: 9, Hidden: []int{5}, Latent: 2}))
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	dir := saveModel(t, m)
	const n, d = 4, 9
	clean := make([]float32, n*d)
	for i := range clean {
		clean[i] = 0.6 // 153/255 exactly
	}
	input := filepath.Join(t.TempDir(), "x.npy")
	if err := npy.WriteFile(input, []int{n, 3, 3}, clean); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "grid.png")
	f, stdout, _ := testFactory()
	if err := denoiseRun(&denoiseOptions{IO: f.IO, Model: dir, Input: input, Noise: "masking:0.4", Seed: 5, Output: out, N: n}); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, out)
	if b := img.Bounds(); b.Dx() != n*4+1 || b.Dy() != 3*4+1 {
		t.Fatalf("size: got %dx%d, want %dx%d", b.Dx(), b.Dy(), n*4+1, 3*4+1)
	}
	pixels := func(row, k int) []uint8 { // image k of a grid row
		p := make([]uint8, d)
		for i := range d {
			p[i] = gray(img, k*4+1+i%3, row*4+1+i/3)
		}
		return p
	}
	noisy := make([]float32, n*d)
	masked := 0
	for k := range n {
		for i, g := range pixels(0, k) {
			switch g {
			case 0:
				masked++
			case 153:
				noisy[k*d+i] = 0.6
			default:
				t.Fatalf("noisy image %d value %d: got level %d, want 0 (masked) or 153", k, i, g)
			}
		}
		for i, g := range pixels(2, k) {
			if g != 153 {
				t.Errorf("clean image %d value %d: got level %d, want 153", k, i, g)
			}
		}
	}
	if masked == 0 || masked == n*d {
		t.Fatalf("masked %d of %d values: want some, not all, at p = 0.4", masked, n*d)
	}
	want := 10 * math.Log10(1/(float64(masked)/float64(n*d)*0.36))
	if got := printedPSNR(t, stdout.String(), "noisy"); math.Abs(got-want) > 0.006 {
		t.Errorf("PSNR(noisy, clean): got %v, want %v (%d of %d masked)", got, want, masked, n*d)
	}
	// The reconstructed row: the model on the noisy row.
	back, _, err := trainer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	recon := back.Forward(&trainer.Tensor{Shape: []int{n, d}, Data: noisy}).Data
	var ss float64
	for k := range n {
		for i, g := range pixels(1, k) {
			v := float64(recon[k*d+i])
			ss += (v - 0.6) * (v - 0.6)
			if w := uint8(math.Round(min(max(v, 0), 1) * 255)); g != w {
				t.Errorf("reconstructed image %d value %d: got level %d, want %d", k, i, g, w)
			}
		}
	}
	wantRecon := 10 * math.Log10(1/(ss/float64(n*d)))
	if got := printedPSNR(t, stdout.String(), "reconstructed"); math.Abs(got-wantRecon) > 0.006 {
		t.Errorf("PSNR(reconstructed, clean): got %v, want %v", got, wantRecon)
	}
}

// TestDenoiseGain trains a denoising autoencoder on noisy copies of four
// 4×4 patterns and checks that it removes noise: a positive gain.
func TestDenoiseGain(t *testing.T) {
	const n, d = 512, 16
	rng := rand.New(rand.NewPCG(1, 2))
	data := trainer.NewTensor(n, d)
	for k := range n {
		p := k % 4
		for i := range d {
			// Pattern p: rows (p = 0, 1) or columns (p = 2, 3) alternately
			// bright, with a little jitter.
			on := (i/4)%2 == p%2
			if p >= 2 {
				on = (i%4)%2 == p%2
			}
			v := 0.1 + 0.05*rng.Float64()
			if on {
				v = 0.85 + 0.05*rng.Float64()
			}
			data.Data[k*d+i] = float32(v)
		}
	}
	m, err := trainer.Build(mlpConfig(t, trainer.MLP{Variant: "denoising", Input: d, Hidden: []int{32}, Latent: 4}))
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	tc := trainer.TrainConfig{
		Optimizer: trainer.OptimizerConfig{Name: "adam", LR: 1e-2}, Epochs: 15, Batch: 32, Seed: 1,
		Reg: trainer.Regularization{Noise: "gaussian", NoiseLevel: 0.3},
	}
	if _, err := trainer.Fit(m, data, tc, trainer.FitOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := trainer.Save(dir, m, &tc); err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(t.TempDir(), "x.npy")
	if err := npy.WriteFile(input, []int{64, 4, 4}, data.Data[:64*d]); err != nil {
		t.Fatal(err)
	}
	f, stdout, _ := testFactory()
	// No --noise: the model's training noise, gaussian:0.3.
	if err := denoiseRun(&denoiseOptions{IO: f.IO, Model: dir, Input: input, Seed: 9, Output: filepath.Join(t.TempDir(), "g.png"), N: 8}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "noise gaussian:0.3") {
		t.Errorf("output %q: want the training noise gaussian:0.3", stdout)
	}
	noisy, recon, gain := printedPSNR(t, stdout.String(), "noisy"), printedPSNR(t, stdout.String(), "reconstructed"), printedPSNR(t, stdout.String(), "gain")
	t.Logf("%s", stdout)
	// Unclipped N(0, 0.3²) noise: PSNR ≈ 10·log10(1/0.09) ≈ 10.46 dB.
	if math.Abs(noisy-10*math.Log10(1/0.09)) > 0.5 {
		t.Errorf("PSNR(noisy, clean): got %v, want about %v", noisy, 10*math.Log10(1/0.09))
	}
	if !(gain > 0) || math.Abs(gain-(recon-noisy)) > 0.011 {
		t.Errorf("gain: got %v (noisy %v, reconstructed %v), want positive and their difference", gain, noisy, recon)
	}
}

func TestDenoiseErrors(t *testing.T) {
	m, err := trainer.Build(mlpConfig(t, trainer.MLP{Variant: "ae", Input: 4, Latent: 2}))
	if err != nil {
		t.Fatal(err)
	}
	dir := saveModel(t, m)
	tmp := t.TempDir()
	write := func(name string, shape []int, data []float32) string {
		p := filepath.Join(tmp, name)
		if err := npy.WriteFile(p, shape, data); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.npy", []int{1, 4}, []float32{0, 0.2, 0.4, 1})
	for _, tc := range []struct {
		name, input, noise, want string
	}{
		{"no noise", good, "", "was not trained with noise: give --noise"},
		{"wrong size", write("wide.npy", []int{1, 5}, make([]float32, 5)), "gaussian:0.1", "samples of shape [5], the model"},
		{"out of range", write("big.npy", []int{1, 4}, []float32{0, 2, 0, 0}), "gaussian:0.1", "value 2 at index 1 is outside [0, 1]"},
		{"no samples", write("empty.npy", []int{0, 4}, nil), "gaussian:0.1", "holds no samples"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _, _ := testFactory()
			err := denoiseRun(&denoiseOptions{IO: f.IO, Model: dir, Input: tc.input, Noise: tc.noise, Seed: 1, Output: filepath.Join(tmp, "g.png"), N: 8})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestDenoiseFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"dir", "--input", "x.npy"}, "--input and --output are required"},
		{[]string{"dir", "--input", "x.npy", "-o", "g.jpg"}, "--output g.jpg: want a .png file"},
		{[]string{"dir", "--input", "x.npy", "-o", "g.png", "--noise", "gaussian"}, `--noise "gaussian": no level`},
		{[]string{"dir", "--input", "x.npy", "-o", "g.png", "--noise", "gaussian:-1"}, `--noise "gaussian:-1": σ must be positive`},
		{[]string{"dir", "--input", "x.npy", "-o", "g.png", "--noise", "masking:1.5"}, `--noise "masking:1.5": the probability must be in (0, 1)`},
		{[]string{"dir", "--input", "x.npy", "-o", "g.png", "--noise", "blur:2"}, `unknown kind "blur"`},
		{[]string{"dir", "--input", "x.npy", "-o", "g.png", "--noise", "mask:x"}, `level "x" is not a number`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			parseArgs(t, newCmdDenoise, tc.args, tc.wantErr)
		})
	}
	if o := parseArgs(t, newCmdDenoise, []string{"dir", "-i", "x.npy", "-o", "g.png", "--noise", "masking:0.25", "--seed", "4"}, ""); o != nil && (o.Noise != "masking:0.25" || o.Seed != 4) {
		t.Errorf("got noise %q seed %d, want masking:0.25 and 4", o.Noise, o.Seed)
	}
}

func TestNotAnImage(t *testing.T) {
	m, err := trainer.Build(mlpConfig(t, trainer.MLP{Variant: "ae", Input: 5, Latent: 2}))
	if err != nil {
		t.Fatal(err)
	}
	dir := saveModel(t, m)
	tmp := t.TempDir()
	input := filepath.Join(tmp, "x.npy")
	if err := npy.WriteFile(input, []int{2, 5}, make([]float32, 10)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		run  func(*factory) error
		want string
	}{
		{"denoise", func(f *factory) error {
			return denoiseRun(&denoiseOptions{IO: f.IO, Model: dir, Input: input, Noise: "mask:0.5", Seed: 1, Output: filepath.Join(tmp, "d.png"), N: 2})
		}, "denoise: " + dir + ": 5 values (model input [5]) are not an image"},
		{"filters", func(f *factory) error {
			return filtersRun(&filtersOptions{IO: f.IO, Model: dir, Output: filepath.Join(tmp, "f.png"), Scale: 1})
		}, "filters: " + dir + ": 5 values (model input [5]) are not an image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _, _ := testFactory()
			if err := tc.run(f); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
