package main

import (
	"encoding/json"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/trainer"
)

func TestNewCmdSample(t *testing.T) {
	tests := []struct {
		args    []string
		class   int
		wantErr string
	}{
		{[]string{"d", "--out", "g.png"}, -1, ""},
		{[]string{"d", "--out", "g.png", "--class", "0"}, 0, ""},
		{[]string{"d"}, 0, "give --out grid.png, --npy out.npy or both"},
		{[]string{"d", "--out", "g.png", "--n", "0"}, 0, "--n 0 must be positive"},
		{[]string{"d", "--out", "g.png", "--class", "-2"}, 0, "--class -2 must not be negative"},
	}
	for _, tt := range tests {
		got := parseArgs(t, newCmdSample, tt.args, tt.wantErr)
		if got != nil && (got.Class != tt.class || got.N != 64) {
			t.Errorf("%v: got %+v", tt.args, got)
		}
	}
}

func pngSize(t *testing.T, path string) (int, int) {
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
	return img.Bounds().Dx(), img.Bounds().Dy()
}

// TestSampleAndInterpolateRunOnPyTorchExports draws from PyTorch's
// conditional decoder and interpolates between two inputs through PyTorch's
// VAE encoder and that decoder.
func TestSampleAndInterpolateRunOnPyTorchExports(t *testing.T) {
	dir := t.TempDir()
	grid, arr := filepath.Join(dir, "g.png"), filepath.Join(dir, "s.npy")
	f, out, _ := testFactory()
	err := sampleRun(&sampleOptions{IO: f.IO, Model: filepath.Join(fixtures, "cvae_decoder.opset17.onnx"), N: 10, Class: 7, Seed: 1, Out: grid, NPY: arr, Cols: 5})
	if err != nil {
		t.Fatal(err)
	}
	if want := "wrote " + arr + " [10 64]\nwrote " + grid + " (10 images of 8×8)\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	// 5 columns and 2 rows of 8×8 images with 1-pixel borders.
	if w, h := pngSize(t, grid); w != 5*9+1 || h != 2*9+1 {
		t.Errorf("grid %d×%d, want 46×19", w, h)
	}
	samples := readNPY(t, arr)
	for _, v := range samples.Data {
		if !(v >= 0 && v <= 1) {
			t.Fatalf("sample value %v outside the sigmoid's range", v)
		}
	}

	in := readNPY(t, filepath.Join(fixtures, "vae_encoder.in0.npy"))
	a, b := filepath.Join(dir, "a.npy"), filepath.Join(dir, "b.npy")
	writeNPYArray(t, a, []int{64}, in.Data[:64])
	writeNPYArray(t, b, []int{64}, in.Data[64:128])
	strip := filepath.Join(dir, "strip.png")
	f, out, _ = testFactory()
	err = interpolateRun(&interpolateOptions{IO: f.IO, Model: filepath.Join(fixtures, "vae_encoder.opset17.onnx"), Decoder: filepath.Join(fixtures, "cvae_decoder.opset17.onnx"),
		From: a, To: b, Steps: 6, Class: 2, Out: strip})
	if err != nil {
		t.Fatal(err)
	}
	if w, h := pngSize(t, strip); w != 6*9+1 || h != 10 {
		t.Errorf("strip %d×%d, want 55×10", w, h)
	}
	f, _, _ = testFactory()
	err = interpolateRun(&interpolateOptions{IO: f.IO, Model: filepath.Join(fixtures, "vae_encoder.opset17.onnx"), From: a, To: b, Steps: 3, Class: -1, Out: strip})
	if err == nil || !strings.Contains(err.Error(), "--decoder is required with an encoder file") {
		t.Errorf("encoder file without a decoder: got %v", err)
	}
}

// TestVAEMatchesPyTorchExample trains the PyTorch examples' VAE (784-400-20,
// BCE, Adam 1e-3, batch 128) in PyTorch and in aebridge on the same
// Fashion-MNIST images (20,000, 3 epochs: the short CI run; the full run is
// scripts/compare-vae.sh) and asks that the test ELBOs agree within 2 %.
func TestVAEMatchesPyTorchExample(t *testing.T) {
	py := os.Getenv("AEBRIDGE_PYTHON")
	data := os.Getenv("AEBRIDGE_DATA")
	if py == "" || data == "" {
		t.Skip("AEBRIDGE_PYTHON and AEBRIDGE_DATA not set (make test sets them)")
	}
	b, err := exec.Command(py, "../../testdata/pytorch/vae_example.py", data, "--epochs", "3", "--limit", "20000").Output()
	if err != nil {
		t.Fatalf("vae_example.py: %v", err)
	}
	var ref struct {
		TestELBO float64 `json:"test_elbo"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	f, out, _ := testFactory()
	opts := &trainOptions{IO: f.IO, Out: t.TempDir(), Opset: 13, Arch: "mlp",
		Model:    trainer.MLP{Variant: "vae", Hidden: []int{400}, Latent: 20, Loss: trainer.BCE},
		Training: trainer.TrainConfig{Optimizer: trainer.OptimizerConfig{Name: "adam", LR: 1e-3}, Epochs: 3, Batch: 128, Seed: 1, Data: "fashion-mnist", Limit: 20000},
	}
	if err := trainRun(opts); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`test ELBO per sample: (-?[0-9.]+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no test ELBO in:\n%s", out.String())
	}
	ours, _ := strconv.ParseFloat(m[1], 64)
	t.Logf("test ELBO per sample: PyTorch %.3f, aebridge %.3f (%.2f %%)", ref.TestELBO, ours, 100*(ours-ref.TestELBO)/math.Abs(ref.TestELBO))
	if !(math.Abs(ours-ref.TestELBO) <= 0.02*math.Abs(ref.TestELBO)) {
		t.Errorf("test ELBO %.3f is not within 2 %% of PyTorch's %.3f", ours, ref.TestELBO)
	}
}

// TestSampleRunNeedsAGenerativeDecoder checks that sample refuses, with a
// message saying what it needs, what is not the decoder of a VAE or CVAE.
func TestSampleRunNeedsAGenerativeDecoder(t *testing.T) {
	ae := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 16, Hidden: []int{8}, Latent: 3}))
	vae := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "vae", Input: 16, Hidden: []int{8}, Latent: 3, Loss: trainer.BCE}))
	tests := []struct {
		name    string
		model   string
		wantErr string // "" for success
	}{
		{"plain autoencoder directory", ae, "sample needs the decoder of a model with a prior (vae, beta-vae, cvae, iwae, infovae, wae): " + ae + " is variant ae"},
		{"plain autoencoder decoder file", filepath.Join(ae, "decoder.onnx"), "sample needs the decoder of a model with a prior (vae, beta-vae, cvae, iwae, infovae, wae): " + filepath.Join(ae, "decoder.onnx") + " is variant ae"},
		{"VAE encoder", filepath.Join(vae, "encoder.onnx"), filepath.Join(vae, "encoder.onnx") + " takes 16 values and gives 3: that is an encoder, give the decoder"},
		{"VAE full model", filepath.Join(vae, "model.onnx"), filepath.Join(vae, "model.onnx") + " takes 16 values and gives 16: that is a whole autoencoder, give its decoder"},
		{"PyTorch encoder", filepath.Join(fixtures, "vae_encoder.opset13.onnx"), filepath.Join(fixtures, "vae_encoder.opset13.onnx") + " takes 64 values and gives 4: that is an encoder, give the decoder"},
		{"PyTorch autoencoder", filepath.Join(fixtures, "mlp_ae.opset13.onnx"), filepath.Join(fixtures, "mlp_ae.opset13.onnx") + " takes 64 values and gives 64: that is a whole autoencoder, give its decoder"},
		{"VAE directory", vae, ""},
		{"VAE decoder file", filepath.Join(vae, "decoder.onnx"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := testFactory()
			arr := filepath.Join(t.TempDir(), "s.npy")
			err := sampleRun(&sampleOptions{IO: f.IO, Model: tt.model, N: 4, Class: -1, Seed: 1, NPY: arr, Cols: 2})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s := readNPY(t, arr); !reflect.DeepEqual(s.Shape, []int{4, 16}) {
					t.Errorf("samples: got shape %v, want [4 16]", s.Shape)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("got %v, want %q", err, tt.wantErr)
			}
			if _, err := os.Stat(arr); err == nil {
				t.Errorf("a refused sample wrote %s", arr)
			}
		})
	}
}

// TestRAESamplesFromItsCodeDensity trains an rae, which writes the
// Gaussian mixture of its training codes beside the model, and checks that
// sample decodes draws from that mixture (the same draws decoded by the
// decoder directly), and that a broken prior.json is refused by name.
func TestRAESamplesFromItsCodeDensity(t *testing.T) {
	tmp := t.TempDir()
	values := make([]float32, 64*12)
	for i := range values {
		values[i] = float32(0.5 + 0.4*math.Sin(float64(i%12)*0.9+float64(i/12%5)))
	}
	data := filepath.Join(tmp, "x.npy")
	writeNPYArray(t, data, []int{64, 12}, values)
	dir := filepath.Join(tmp, "rae")
	f, out, _ := testFactory()
	opts := &trainOptions{IO: f.IO, Out: dir, Opset: 17, Arch: "mlp", GMMComponents: 3,
		Model:    trainer.MLP{Variant: "rae", Hidden: []int{8}, Latent: 2, Loss: trainer.MSE, Activation: "tanh"},
		Training: trainer.TrainConfig{Optimizer: trainer.OptimizerConfig{Name: "adam", LR: 1e-2}, Epochs: 3, Batch: 16, Seed: 1, Data: data, Reg: trainer.Regularization{Embedding: 1e-3, DecoderDecay: 1e-5}}}
	if err := trainRun(opts); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	prior, ok, err := readPrior(dir)
	if err != nil || !ok || len(prior.Weights) != 3 || prior.D != 2 {
		t.Fatalf("prior.json: %+v, %v, %v", prior, ok, err)
	}
	got := filepath.Join(tmp, "s.npy")
	f, out, _ = testFactory()
	if err := sampleRun(&sampleOptions{IO: f.IO, Model: dir, N: 5, Class: -1, Seed: 9, NPY: got}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	dec, err := runtime.Open(filepath.Join(dir, "decoder.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	z := prior.Sample(5, rand.New(rand.NewPCG(9, 0x7261)))
	want, err := dec.Decode(runtime.Tensor{Shape: []int64{5, 2}, Data: z})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(readNPY(t, got).Data, want.Data); d != 0 {
		t.Errorf("sample differs from the decoded mixture draws by %g", d)
	}
	if err := os.WriteFile(filepath.Join(dir, priorFile), []byte(`{"d":2,"weights":[0.5,0.4],"means":[[0,0],[1,1]],"covs":[[1,0,0,1],[1,0,0,1]]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f, _, _ = testFactory()
	err = sampleRun(&sampleOptions{IO: f.IO, Model: dir, N: 5, Class: -1, Seed: 9, NPY: got})
	if err == nil || !strings.Contains(err.Error(), "prior.json: codes: gaussian mixture: weights sum to 0.9") {
		t.Errorf("broken prior.json: got %v", err)
	}
}
