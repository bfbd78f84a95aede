package main

import (
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/dataset"
	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/trainer"
)

// fakeMNIST points $AEBRIDGE_DATA at a cache holding "mnist" with n random
// 28×28 training and test images (labels i%10) and returns the test
// split's bytes.
func fakeMNIST(t *testing.T, n int) []uint8 {
	t.Helper()
	dir := t.TempDir()
	t.Setenv(dataset.DataEnv, dir)
	d := filepath.Join(dir, "mnist")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var test []uint8
	for _, split := range []string{"train", "test"} {
		px := make([]uint8, n*784)
		for i := range px {
			px[i] = uint8(rng.IntN(256))
		}
		labels := make([]float32, n)
		for i := range labels {
			labels[i] = float32(i % 10)
		}
		writeUint8NPY(t, filepath.Join(d, split+"-images.npy"), []int{n, 28, 28}, px)
		writeNPYArray(t, filepath.Join(d, split+"-labels.npy"), []int{n}, labels)
		test = px
	}
	return test
}

// TestEncodeReferencesMatchUint8NPY encodes samples given as a data set
// reference and as a folder of PNG images: the codes must be those of the
// same bytes as a uint8 .npy, bit for bit (one scaling rule for all).
func TestEncodeReferencesMatchUint8NPY(t *testing.T) {
	px := fakeMNIST(t, 10)
	dir := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 784, Hidden: []int{8}, Latent: 3}))
	tmp := t.TempDir()
	x := filepath.Join(tmp, "x.npy")
	writeUint8NPY(t, x, []int{4, 28, 28}, px[2*784:6*784])
	pngs := filepath.Join(tmp, "pngs")
	os.MkdirAll(pngs, 0o755)
	for i := 2; i < 6; i++ {
		g := image.NewGray(image.Rect(0, 0, 28, 28))
		copy(g.Pix, px[i*784:(i+1)*784])
		f, err := os.Create(filepath.Join(pngs, string(rune('a'+i))+".png"))
		if err != nil {
			t.Fatal(err)
		}
		png.Encode(f, g)
		f.Close()
	}
	encode := func(input string) []float32 {
		t.Helper()
		f, _, _ := testFactory()
		out := filepath.Join(t.TempDir(), "z.npy")
		if err := encodeRun(&encodeOptions{IO: f.IO, Model: dir, Input: input, Output: out, Class: -1}); err != nil {
			t.Fatal(err)
		}
		return readNPY(t, out).Data
	}
	want := encode(x)
	for _, ref := range []string{"mnist:test[2:6]", pngs} {
		if got := encode(ref); !sameBits(got, want) {
			t.Errorf("%s: got %v, want %v", ref, got, want)
		}
	}
}

// TestReferenceErrorsNameTheFlag: a bad reference is named with the flag
// it came from and the part that is wrong.
func TestReferenceErrorsNameTheFlag(t *testing.T) {
	fakeMNIST(t, 10)
	dir := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 784, Hidden: []int{8}, Latent: 3}))
	f, _, _ := testFactory()
	err := encodeRun(&encodeOptions{IO: f.IO, Model: dir, Input: "mnist:tset", Output: filepath.Join(t.TempDir(), "z.npy"), Class: -1})
	if want := `--input: dataset: mnist:tset: unknown split "tset", want train or test`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	err = probeRun(&probeOptions{IO: f.IO, Model: dir, Train: "mnist:train", Test: "mnist:test[:20]", K: 1, Metric: "l2", MaxIter: 1})
	if want := `--test: dataset: mnist:test[:20]: slice [0:20] is past the 10 samples of mnist:test`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

// TestProbeTakesLabelsFromReferences: data set splits bring their labels;
// a .npy brings none, and then the labels flag is required.
func TestProbeTakesLabelsFromReferences(t *testing.T) {
	px := fakeMNIST(t, 20)
	dir := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 784, Hidden: []int{8}, Latent: 3}))
	f, out, _ := testFactory()
	if err := probeRun(&probeOptions{IO: f.IO, Model: dir, Train: "mnist:train", Test: "mnist:test[:10]", K: 1, Metric: "l2", L2: 1e-3, MaxIter: 5}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "probe: 20 training and 10 test samples") {
		t.Errorf("got %q", out.String())
	}
	x := filepath.Join(t.TempDir(), "x.npy")
	writeUint8NPY(t, x, []int{20, 28, 28}, px)
	err := probeRun(&probeOptions{IO: f.IO, Model: dir, Train: "mnist:train", Test: x, K: 1, Metric: "l2", L2: 1e-3, MaxIter: 5})
	if want := "--test-labels is required: --test " + x + " brings no labels"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

// TestReadRefScaling: a reference's 8-bit values are divided by the
// model's divisor, by 255 for a model that records none (with a note), and
// fed as 0 to 255 with --raw-input.
func TestReadRefScaling(t *testing.T) {
	px := fakeMNIST(t, 10)
	tests := []struct {
		name    string
		scaling runtime.InputScaling
		raw     bool
		div     float32
		note    string
	}{
		{"aebridge's rule", runtime.InputScaling{Input: "x", Divisor: 255}, false, 255, ""},
		{"another divisor", runtime.InputScaling{Input: "x", Divisor: 2}, false, 2, "8-bit values divided by 2 for input \"x\", as m asks"},
		{"no rule", runtime.InputScaling{}, false, 255, "note: mnist:test[:2]: 8-bit values divided by 255 for input \"x\": m records no input scaling for it"},
		{"raw", runtime.InputScaling{Input: "x", Divisor: 255}, true, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, errOut := testFactory()
			rule := &inputRule{model: "m", inputs: ios("x"), scaling: tt.scaling, raw: tt.raw, io: f.IO}
			x, labels, err := readRef(rule, "--input", "mnist:test[:2]")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(x.Shape, []int64{2, 1, 28, 28}) || !reflect.DeepEqual(labels, []int{0, 1}) {
				t.Errorf("got shape %v, labels %v; want [2 1 28 28], [0 1]", x.Shape, labels)
			}
			for i, v := range x.Data {
				if want := float32(px[i]) / 255 * (255 / tt.div); v != want {
					t.Fatalf("value %d: got %v, want %v", i, v, want)
				}
			}
			if (tt.note == "") != (errOut.String() == "") || !strings.Contains(errOut.String(), tt.note) {
				t.Errorf("stderr: got %q, want %q", errOut.String(), tt.note)
			}
		})
	}
}

// TestRunAndCheckTakeReferences: run's and check's data input may be a
// data set reference, read as encode reads it: run gives what it gives on
// the same images as a uint8 .npy, and check passes on it.
func TestRunAndCheckTakeReferences(t *testing.T) {
	px := fakeMNIST(t, 10)
	dir := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 784, Hidden: []int{8}, Latent: 3}))
	x := filepath.Join(t.TempDir(), "x.npy")
	writeUint8NPY(t, x, []int{4, 28, 28}, px[2*784:6*784])
	run := func(input string) []float32 {
		t.Helper()
		f, out, _ := testFactory()
		y := filepath.Join(t.TempDir(), "y.npy")
		if err := runRun(&runOptions{IO: f.IO, Model: filepath.Join(dir, "model.onnx"), Inputs: []string{input}, Output: y}); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return readNPY(t, y).Data
	}
	if got, want := run("mnist:test[2:6]"), run(x); !sameBits(got, want) {
		t.Errorf("run on the reference: got %v, want %v", got, want)
	}
	f, out, _ := testFactory()
	if err := checkRun(&checkOptions{IO: f.IO, Model: dir, Inputs: []string{"mnist:test[2:6]"}, Backends: []string{"ort", "go"}, BackendsGiven: true, Atol: 1e-5, Rtol: 1e-5}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	f, _, _ = testFactory()
	err := runRun(&runOptions{IO: f.IO, Model: filepath.Join(dir, "model.onnx"), Inputs: []string{"mnist:tset"}, Output: filepath.Join(t.TempDir(), "y.npy")})
	if err == nil || !strings.Contains(err.Error(), `--input: dataset: mnist:tset: unknown split "tset"`) {
		t.Errorf("bad reference: got %v", err)
	}
}
