package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/trainer"
)

// writeNPY writes a float32 array filled with v.
func writeNPY(t *testing.T, path string, shape []int, v float32) {
	t.Helper()
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = v
	}
	writeNPYArray(t, path, shape, data)
}

func writeNPYArray(t *testing.T, path string, shape []int, data []float32) {
	t.Helper()
	if err := npy.WriteFile(path, shape, data); err != nil {
		t.Fatal(err)
	}
}

func TestNewCmdCheck(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    checkOptions
		wantErr string
	}{
		{name: "defaults", args: []string{"d", "-i", "x.npy"}, want: checkOptions{Model: "d", Inputs: []string{"x.npy"}, Backends: []string{"ort", "go"}, Atol: 1e-5, Rtol: 1e-5}},
		{name: "expect with one backend", args: []string{"m.onnx", "-i", "x.npy", "--expect", "y.npy", "--backends", "ort", "--atol", "0.001", "--rtol", "0"},
			want: checkOptions{Model: "m.onnx", Inputs: []string{"x.npy"}, Expect: []string{"y.npy"}, Backends: []string{"ort"}, Atol: 1e-3}},
		{name: "nothing to compare", args: []string{"m.onnx", "-i", "x.npy", "--backends", "ort"}, wantErr: "nothing to compare"},
		{name: "unknown backend", args: []string{"m.onnx", "-i", "x.npy", "--backends", "ort,tvm"}, wantErr: `unknown backend "tvm"`},
		{name: "three backends", args: []string{"m.onnx", "-i", "x.npy", "--backends", "ort,go,onnx-go"}, want: checkOptions{Model: "m.onnx", Inputs: []string{"x.npy"}, Backends: []string{"ort", "go", "onnx-go"}, Atol: 1e-5, Rtol: 1e-5}},
		{name: "no input", args: []string{"m.onnx"}, wantErr: "at least one --input is required"},
		{name: "raw input", args: []string{"d", "-i", "x.npy", "--raw-input"}, want: checkOptions{Model: "d", Inputs: []string{"x.npy"}, Backends: []string{"ort", "go"}, Atol: 1e-5, Rtol: 1e-5, RawInput: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseArgs(t, newCmdCheck, tt.args, tt.wantErr)
			if got == nil {
				return
			}
			got.IO = nil
			if strings.Join(got.Backends, ",") != strings.Join(tt.want.Backends, ",") || got.Model != tt.want.Model || got.Atol != tt.want.Atol || got.Rtol != tt.want.Rtol ||
				strings.Join(got.Inputs, ",") != strings.Join(tt.want.Inputs, ",") || strings.Join(got.Expect, ",") != strings.Join(tt.want.Expect, ",") || got.RawInput != tt.want.RawInput {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

// TestCheckRunAgainstPyTorchOutputs checks a PyTorch export against
// PyTorch's saved outputs: it passes at the default tolerance and fails,
// naming the failures, at a tolerance no float32 pipeline meets.
func TestCheckRunAgainstPyTorchOutputs(t *testing.T) {
	model := filepath.Join(fixtures, "vae_encoder.opset13.onnx")
	in := filepath.Join(fixtures, "vae_encoder.in0.npy")
	mu, logvar := filepath.Join(fixtures, "vae_encoder.out0.npy"), filepath.Join(fixtures, "vae_encoder.out1.npy")

	f, out, _ := testFactory()
	opts := &checkOptions{IO: f.IO, Model: model, Inputs: []string{in}, Expect: []string{mu, logvar}, Backends: []string{"ort"}, Atol: 1e-5, Rtol: 1e-5}
	if err := checkRun(opts); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 || lines[0] != "output mu [5 4]" || lines[2] != "output logvar [5 4]" || !strings.HasSuffix(lines[1], "PASS") || !strings.HasSuffix(lines[3], "PASS") ||
		lines[4] != "all comparisons pass (atol 1e-05, rtol 1e-05)" {
		t.Errorf("got:\n%s", out)
	}

	// Swapped expectations must fail, and say where.
	f, out, _ = testFactory()
	opts = &checkOptions{IO: f.IO, Model: model, Inputs: []string{in}, Expect: []string{logvar, mu}, Backends: []string{"ort"}, Atol: 1e-5, Rtol: 1e-5}
	err := checkRun(opts)
	if err == nil || err.Error() != "check: 2 comparison(s) failed (atol 1e-05, rtol 1e-05)" {
		t.Errorf("got %v", err)
	}
	if !strings.Contains(out.String(), "FAIL (20 of 20 elements)") {
		t.Errorf("got:\n%s", out)
	}

	// All three backends agree on it, and with PyTorch.
	f, out, _ = testFactory()
	opts = &checkOptions{IO: f.IO, Model: model, Inputs: []string{in}, Expect: []string{mu, logvar}, Backends: []string{"ort", "go", "onnx-go"}, Atol: 1e-5, Rtol: 1e-5}
	if err := checkRun(opts); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := strings.Count(out.String(), "PASS"); n != 12 {
		t.Errorf("got %d passing comparisons, want 12 (3 pairs and 3 against PyTorch, for 2 outputs):\n%s", n, out)
	}
	// onnx-go says plainly what it cannot run.
	f, _, _ = testFactory()
	opts = &checkOptions{IO: f.IO, Model: filepath.Join(fixtures, "conv_transposed_ae.opset13.onnx"), Inputs: []string{filepath.Join(fixtures, "conv_transposed_ae.in0.npy")}, Backends: []string{"ort", "onnx-go"}, Atol: 1e-5, Rtol: 1e-5}
	if err := checkRun(opts); err == nil || !strings.Contains(err.Error(), "onnx-go") {
		t.Errorf("onnx-go on ConvTranspose: got %v", err)
	}
}

// TestCheckRunScalesUint8Input checks that check feeds a uint8 input to a
// model trained here divided by 255, as run does: both backends match the
// output run gives for the input divided by 255 in float32 (unscaled, the
// check fails).
func TestCheckRunScalesUint8Input(t *testing.T) {
	dir := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 16, Hidden: []int{8}, Latent: 3}))
	tmp := t.TempDir()
	raw, scaled := make([]uint8, 2*16), make([]float32, 2*16)
	for i := range raw {
		raw[i] = uint8(250 - 17*i)
		scaled[i] = float32(raw[i]) / 255
	}
	u8, f32 := filepath.Join(tmp, "u8.npy"), filepath.Join(tmp, "f32.npy")
	writeUint8NPY(t, u8, []int{2, 16}, raw)
	writeNPYArray(t, f32, []int{2, 16}, scaled)
	want, _ := runOutput(t, filepath.Join(dir, "model.onnx"), false, f32)
	expect := filepath.Join(tmp, "expect.npy")
	writeNPYArray(t, expect, want.Shape, want.Data)

	f, out, errOut := testFactory()
	opts := &checkOptions{IO: f.IO, Model: dir, Inputs: []string{u8}, Expect: []string{expect}, Backends: []string{"ort", "go"}, Atol: 1e-5, Rtol: 1e-5}
	if err := checkRun(opts); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got, want := errOut.String(), u8+": uint8 values divided by 255 for input \"x\", as "+filepath.Join(dir, "model.onnx")+" asks (--raw-input feeds them unscaled)\n"; got != want {
		t.Errorf("stderr: got %q, want %q", got, want)
	}
}
