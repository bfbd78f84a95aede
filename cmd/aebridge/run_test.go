package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestNewCmdRun(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    runOptions
		wantErr string
	}{
		{name: "one input", args: []string{"m.onnx", "-i", "x.npy", "-o", "y.npy"},
			want: runOptions{Model: "m.onnx", Inputs: []string{"x.npy"}, Output: "y.npy", Provider: "cpu", Backend: "ort"}},
		{name: "go backend", args: []string{"m.onnx", "-i", "x.npy", "-o", "y.npy", "--backend", "go"},
			want: runOptions{Model: "m.onnx", Inputs: []string{"x.npy"}, Output: "y.npy", Provider: "cpu", Backend: "go"}},
		{name: "threads with go", args: []string{"m.onnx", "-i", "x.npy", "-o", "y.npy", "--backend", "go", "--threads", "2"}, wantErr: "apply to --backend ort"},
		{name: "bad backend", args: []string{"m.onnx", "-i", "x.npy", "-o", "y.npy", "--backend", "tvm"}, wantErr: `--backend "tvm": want ort, go or onnx-go`},
		{name: "named inputs and options", args: []string{"m.onnx", "--input", "z=z.npy", "--input", "c=c.npy", "--out-dir", "out", "--provider", "cuda", "--device", "1", "--allow-cpu-fallback", "--threads", "2", "--batch", "64"},
			want: runOptions{Model: "m.onnx", Inputs: []string{"z=z.npy", "c=c.npy"}, OutDir: "out", Provider: "cuda", Device: 1, AllowFallback: true, Threads: 2, Batch: 64, Backend: "ort"}},
		{name: "no input", args: []string{"m.onnx", "-o", "y.npy"}, wantErr: "at least one --input is required"},
		{name: "both outputs", args: []string{"m.onnx", "-i", "x.npy", "-o", "y.npy", "--out-dir", "d"}, wantErr: "give exactly one of --output and --out-dir"},
		{name: "no output", args: []string{"m.onnx", "-i", "x.npy"}, wantErr: "give exactly one of --output and --out-dir"},
		{name: "bad provider", args: []string{"m.onnx", "-i", "x.npy", "-o", "y", "--provider", "tpu"}, wantErr: `--provider "tpu": want cpu or cuda`},
		{name: "negative batch", args: []string{"m.onnx", "-i", "x.npy", "-o", "y", "--batch", "-1"}, wantErr: "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseArgs(t, newCmdRun, tt.args, tt.wantErr)
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

func TestRunRunWritesOutputsMatchingPyTorch(t *testing.T) {
	dir := t.TempDir()
	f, out, _ := testFactory()
	opts := &runOptions{
		IO: f.IO, Model: filepath.Join(fixtures, "cvae_decoder.opset17.onnx"), Provider: "cpu", OutDir: dir, Batch: 2,
		// c by name first, z by position: binding must follow names, then order.
		Inputs: []string{"c=" + filepath.Join(fixtures, "cvae_decoder.in1.npy"), filepath.Join(fixtures, "cvae_decoder.in0.npy")},
	}
	if err := runRun(opts); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "y.npy")
	if got, want := out.String(), "y [5 64] -> "+path+"\n"; got != want {
		t.Errorf("stdout: got %q, want %q", got, want)
	}
	got := readNPY(t, path)
	ref := readNPY(t, filepath.Join(fixtures, "cvae_decoder.out0.npy"))
	if !reflect.DeepEqual(got.Shape, ref.Shape) {
		t.Fatalf("shape: got %v, want %v", got.Shape, ref.Shape)
	}
	if d := maxAbsDiff(got.Data, ref.Data); d > 1e-5 {
		t.Errorf("max |Δ| against PyTorch = %g, want ≤ 1e-5", d)
	}
}

// TestRunRunGoBackends runs a PyTorch export with the Go backends, which
// need no ONNX Runtime, and compares with PyTorch's outputs.
func TestRunRunGoBackends(t *testing.T) {
	for _, backend := range []string{"go", "onnx-go"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			f, _, _ := testFactory()
			opts := &runOptions{IO: f.IO, Model: filepath.Join(fixtures, "mlp_ae.opset13.onnx"), Provider: "cpu", Backend: backend,
				Inputs: []string{filepath.Join(fixtures, "mlp_ae.in0.npy")}, OutDir: dir}
			if err := runRun(opts); err != nil {
				t.Fatal(err)
			}
			got := readNPY(t, filepath.Join(dir, "y.npy"))
			ref := readNPY(t, filepath.Join(fixtures, "mlp_ae.out0.npy"))
			if d := maxAbsDiff(got.Data, ref.Data); d > 1e-5 {
				t.Errorf("max |Δ| against PyTorch = %g", d)
			}
		})
	}
}

func TestRunRunErrors(t *testing.T) {
	dir := t.TempDir()
	x := filepath.Join(fixtures, "vae_encoder.in0.npy")
	wrong := filepath.Join(fixtures, "cvae_decoder.in0.npy")
	tests := []struct {
		name    string
		opts    runOptions
		wantErr string
	}{
		{"--output with two outputs", runOptions{Model: filepath.Join(fixtures, "vae_encoder.opset13.onnx"), Inputs: []string{x}, Output: filepath.Join(dir, "y.npy")},
			`has 2 outputs ("mu", "logvar"); use --out-dir`},
		{"too many inputs", runOptions{Model: filepath.Join(fixtures, "vae_encoder.opset13.onnx"), Inputs: []string{x, x}, OutDir: dir},
			`2 --input given for a model with 1 inputs ("x")`},
		{"missing input", runOptions{Model: filepath.Join(fixtures, "cvae_decoder.opset13.onnx"), Inputs: []string{"z=" + wrong}, OutDir: dir},
			`no --input for the model's input "c" [batch 10]`},
		{"wrong shape", runOptions{Model: filepath.Join(fixtures, "vae_encoder.opset13.onnx"), Inputs: []string{wrong}, OutDir: dir},
			`input "x": dimension 1 is 4, want 64 (model expects [batch 64], given [5 4])`},
		{"unknown name", runOptions{Model: filepath.Join(fixtures, "vae_encoder.opset13.onnx"), Inputs: []string{"label=l.npy"}, OutDir: dir},
			`--input label=l.npy: the model has no input "label"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := testFactory()
			tt.opts.IO = f.IO
			tt.opts.Provider = "cpu"
			err := runRun(&tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed runs left files behind: %v", entries)
	}
}

func TestOutputPathsSanitiseNames(t *testing.T) {
	paths, err := outputPaths(ios("onnx::Gemm_12", "y"), "", "d")
	if err != nil {
		t.Fatal(err)
	}
	if paths["onnx::Gemm_12"] != filepath.Join("d", "onnx_Gemm_12.npy") || paths["y"] != filepath.Join("d", "y.npy") {
		t.Errorf("got %v", paths)
	}
	if _, err := outputPaths(ios("a:b", "a/b"), "", "d"); err == nil || !strings.Contains(err.Error(), "would both be written to a_b.npy") {
		t.Errorf("collision: got %v", err)
	}
}
