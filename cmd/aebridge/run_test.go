package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/backend"
	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/trainer"
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
		{name: "raw input", args: []string{"m.onnx", "-i", "x.npy", "-o", "y.npy", "--raw-input"},
			want: runOptions{Model: "m.onnx", Inputs: []string{"x.npy"}, Output: "y.npy", Provider: "cpu", Backend: "ort", RawInput: true}},
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
	for _, name := range []string{"go", "onnx-go"} {
		t.Run(name, func(t *testing.T) {
			if name == "onnx-go" && !backend.OnnxGoBuilt {
				t.Skip("onnx-go is not built in (the onnxgo tag)")
			}
			dir := t.TempDir()
			f, _, _ := testFactory()
			opts := &runOptions{IO: f.IO, Model: filepath.Join(fixtures, "mlp_ae.opset13.onnx"), Provider: "cpu", Backend: name,
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

// writeUint8NPY writes a uint8 .npy file of the given shape.
func writeUint8NPY(t *testing.T, path string, shape []int, data []uint8) {
	t.Helper()
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	header := fmt.Sprintf("{'descr': '|u1', 'fortran_order': False, 'shape': (%s), }", tuple)
	pad := 64 - (10+len(header)+1)%64
	header += strings.Repeat(" ", pad%64) + "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(header)), byte(len(header)>>8))
	b = append(append(b, header...), data...)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// newModelDir builds the model c describes with random weights and writes
// it as train does: config.json, model.safetensors and the three graphs,
// recording a training configuration and the input range [0, 1].
func newModelDir(t *testing.T, c trainer.Config) string {
	t.Helper()
	m, err := trainer.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(7)
	dir := t.TempDir()
	tc := &trainer.TrainConfig{Optimizer: trainer.OptimizerConfig{Name: "adam", LR: 1e-3}, Epochs: 1, Batch: 8, Seed: 1, Data: "mnist"}
	if err := trainer.Save(dir, m, tc); err != nil {
		t.Fatal(err)
	}
	w := export.Writer{Training: tc, InputRange: []float64{0, 1}}
	for part, file := range map[export.Part]string{export.Full: "model.onnx", export.Encoder: "encoder.onnx", export.Decoder: "decoder.onnx"} {
		if err := w.WriteFile(filepath.Join(dir, file), m, part); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mlpConfig(t *testing.T, o trainer.MLP) trainer.Config {
	t.Helper()
	c, err := o.Config()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runOutput runs model, with one output, on the inputs and returns the
// output and what went to stderr.
func runOutput(t *testing.T, model string, raw bool, inputs ...string) (*npy.Array, string) {
	t.Helper()
	dir := t.TempDir()
	f, _, errOut := testFactory()
	out := filepath.Join(dir, "out.npy")
	opts := &runOptions{IO: f.IO, Model: model, Inputs: inputs, Output: out, Provider: "cpu", Backend: "ort", RawInput: raw}
	if err := runRun(opts); err != nil {
		t.Fatal(err)
	}
	return readNPY(t, out), errOut.String()
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestRunScalesUint8Input checks the input-scaling rule: a uint8 .npy fed
// to an aebridge model is divided by 255 as train divides its data (the
// output is bit for bit that of the same values divided by 255 in float32),
// and fed unchanged to a PyTorch export, with the stderr lines that say so.
func TestRunScalesUint8Input(t *testing.T) {
	dir := t.TempDir()
	const n, d = 3, 64
	raw := make([]uint8, n*d)
	asFloat, scaled := make([]float32, n*d), make([]float32, n*d)
	for i := range raw {
		raw[i] = uint8(i * 37 % 256)
		if i == 5 {
			raw[i] = 255
		}
		asFloat[i] = float32(raw[i])
		scaled[i] = float32(raw[i]) / 255
	}
	u8, f32, f32raw := filepath.Join(dir, "u8.npy"), filepath.Join(dir, "scaled.npy"), filepath.Join(dir, "raw.npy")
	writeUint8NPY(t, u8, []int{n, d}, raw)
	writeNPYArray(t, f32, []int{n, d}, scaled)
	writeNPYArray(t, f32raw, []int{n, d}, asFloat)

	ours := filepath.Join(newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: d, Hidden: []int{16}, Latent: 4})), "model.onnx")
	pytorch := filepath.Join(fixtures, "mlp_ae.opset13.onnx")
	rangeWarning := "warning: %s: input \"x\" gets values from 0 to 255, far outside [0, 1], the range " + ours + " was trained on: is it unscaled?\n"
	tests := []struct {
		name    string
		model   string
		input   string
		raw     bool
		same    string // the float32 input that must give the same output
		wantErr string // stderr
	}{
		{"aebridge model, uint8", ours, u8, false, f32,
			u8 + ": uint8 values divided by 255 for input \"x\", as " + ours + " asks (--raw-input feeds them unscaled)\n"},
		{"aebridge model, scaled float", ours, f32, false, f32, ""},
		{"aebridge model, unscaled float", ours, f32raw, false, f32raw, fmt.Sprintf(rangeWarning, f32raw)},
		{"aebridge model, uint8 with --raw-input", ours, u8, true, f32raw, fmt.Sprintf(rangeWarning, u8)},
		{"pytorch model, uint8", pytorch, u8, false, f32raw,
			"warning: " + u8 + ": uint8 values fed unchanged (0 to 255) to input \"x\": " + pytorch + " records no input scaling for it; divide by 255 first if it was trained on [0, 1]\n"},
		{"pytorch model, float", pytorch, f32raw, false, f32raw, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, stderr := runOutput(t, tt.model, tt.raw, tt.input)
			if stderr != tt.wantErr {
				t.Errorf("stderr: got %q, want %q", stderr, tt.wantErr)
			}
			want, _ := runOutput(t, tt.model, false, tt.same)
			if !sameBits(got.Data, want.Data) {
				t.Errorf("output: got %v, want %v (the output for %s), bit for bit", got.Data[:4], want.Data[:4], tt.same)
			}
		})
	}
}

const dtypesDir = "../../testdata/dtypes"

// readTyped reads a .npy file in its own element type.
func readTyped(t *testing.T, path string) *npy.Typed {
	t.Helper()
	a, err := npy.ReadFileTyped(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestRunPassesElementTypesThrough runs the hand-made dtype models: an
// int64 label in, float32 and uint8 out (ONNX Runtime); int64 in and out
// (the Go backend too); and one input and output of each other type. Each
// output file has its own dtype and NumPy's reference values, exactly.
func TestRunPassesElementTypesThrough(t *testing.T) {
	d := func(name string) string { return filepath.Join(dtypesDir, name) }
	tests := []struct {
		name    string
		model   string
		backend string
		inputs  []string
		outputs map[string]string // output file → reference
	}{
		{"label in, uint8 image out", "dtypes.onnx", "ort", []string{d("label.npy")}, map[string]string{"emb.npy": "emb.npy", "img.npy": "img.npy"}},
		{"int64 in and out, ort", "labels.onnx", "ort", []string{"x=" + d("x.npy"), d("label.npy")}, map[string]string{"y.npy": "y.npy", "code.npy": "code.npy"}},
		{"int64 in and out, go", "labels.onnx", "go", []string{d("label.npy"), d("x.npy")}, map[string]string{"y.npy": "y.npy", "code.npy": "code.npy"}},
		{"every type", "passthrough.onnx", "ort",
			[]string{d("f64.npy"), d("f16.npy"), d("i64.npy"), d("i32.npy"), d("u8.npy"), d("b.npy")},
			map[string]string{"f64_out.npy": "f64_out.npy", "f16_out.npy": "f16_out.npy", "i64_out.npy": "i64_out.npy", "i32_out.npy": "i32_out.npy", "u8_out.npy": "u8_out.npy", "b_out.npy": "b_out.npy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			f, out, _ := testFactory()
			opts := &runOptions{IO: f.IO, Model: d(tt.model), Provider: "cpu", Backend: tt.backend, Inputs: tt.inputs, OutDir: dir}
			if err := runRun(opts); err != nil {
				t.Fatal(err)
			}
			for file, ref := range tt.outputs {
				got, want := readTyped(t, filepath.Join(dir, file)), readTyped(t, d(ref))
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: got %s %v %v, want %s %v %v", file, got.DType, got.Shape, got.Data, want.DType, want.Shape, want.Data)
				}
			}
			for file, ref := range tt.outputs {
				a := readTyped(t, d(ref))
				dtype := ""
				if a.DType != "float32" {
					dtype = " " + a.DType
				}
				if line := fmt.Sprintf("%s %v%s -> %s\n", strings.TrimSuffix(file, ".npy"), a.Shape, dtype, filepath.Join(dir, file)); !strings.Contains(out.String(), line) {
					t.Errorf("stdout: got %q, want a line %q", out, line)
				}
			}
		})
	}
}

// writeTyped writes a .npy file of any dtype into dir.
func writeTyped(t *testing.T, dir, name string, a *npy.Typed) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := npy.WriteFileTyped(path, a); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRunElementTypeConversions checks the conversions run makes (only
// those that change no value: int32 and uint8 labels for an int64 input)
// and the errors for the others, naming the file, the input and both
// types; nothing is written on error.
func TestRunElementTypeConversions(t *testing.T) {
	in := t.TempDir()
	i32 := writeTyped(t, in, "i32.npy", &npy.Typed{Shape: []int{5}, DType: "int32", Data: []int32{3, 0, 9, 3, 7}})
	u8 := writeTyped(t, in, "u8.npy", &npy.Typed{Shape: []int{5}, DType: "uint8", Data: []uint8{3, 0, 9, 3, 7}})
	f32 := writeTyped(t, in, "f32.npy", &npy.Typed{Shape: []int{5}, DType: "float32", Data: []float32{3, 0, 9, 3, 7}})
	i64 := writeTyped(t, in, "i64.npy", &npy.Typed{Shape: []int{2, 3}, DType: "int64", Data: []int64{1, 2, 3, 4, 5, 6}})
	f32x6 := writeTyped(t, in, "f32x6.npy", &npy.Typed{Shape: []int{2, 3}, DType: "float32", Data: make([]float32, 6)})
	d := func(name string) string { return filepath.Join(dtypesDir, name) }
	for _, labels := range []string{i32, u8} {
		dir := t.TempDir()
		f, _, _ := testFactory()
		if err := runRun(&runOptions{IO: f.IO, Model: d("dtypes.onnx"), Provider: "cpu", Inputs: []string{labels}, OutDir: dir}); err != nil {
			t.Fatalf("%s: %v", labels, err)
		}
		if got, want := readTyped(t, filepath.Join(dir, "img.npy")), readTyped(t, d("img.npy")); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: img: got %v, want %v", labels, got.Data, want.Data)
		}
	}
	every := func(i int, file string) []string {
		in := []string{d("f64.npy"), d("f16.npy"), d("i64.npy"), d("i32.npy"), d("u8.npy"), d("b.npy")}
		in[i] = file
		return in
	}
	tests := []struct {
		name    string
		model   string
		inputs  []string
		wantErr string
	}{
		{"float32 labels", "dtypes.onnx", []string{f32}, f32 + `: a float32 array for input "label", which is int64: give an int64 array (in NumPy, a.astype(np.int64)); run converts only int64, int32, int16, int8, uint32, uint16, uint8 to int64`},
		{"int64 for int32", "passthrough.onnx", every(3, i64), i64 + `: an int64 array for input "i32", which is int32`},
		{"float32 for float16", "passthrough.onnx", every(1, f32x6), f32x6 + `: a float32 array for input "f16", which is float16`},
		{"float32 for uint8", "passthrough.onnx", every(4, f32x6), `a float32 array for input "u8", which is uint8`},
		{"int64 for bool", "passthrough.onnx", every(5, i64), `an int64 array for input "b", which is bool`},
		{"int64 for float64", "passthrough.onnx", every(0, i64), `an int64 array for input "f64", which is float64: give a float64 array (in NumPy, a.astype(np.float64)); run converts only float64, float32, float16 to float64`},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := testFactory()
			err := runRun(&runOptions{IO: f.IO, Model: d(tt.model), Provider: "cpu", Inputs: tt.inputs, OutDir: dir})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed runs left files behind: %v", entries)
	}
	// float32 for float64 changes no value: it is fed.
	out := t.TempDir()
	f, _, _ := testFactory()
	f64 := writeTyped(t, in, "f64as32.npy", &npy.Typed{Shape: []int{2, 3}, DType: "float32", Data: []float32{0.5, -2, 3, 1e30, 0, 7}})
	if err := runRun(&runOptions{IO: f.IO, Model: d("passthrough.onnx"), Provider: "cpu", Inputs: every(0, f64), OutDir: out}); err != nil {
		t.Fatal(err)
	}
	if got := readTyped(t, filepath.Join(out, "f64_out.npy")); !reflect.DeepEqual(got.Data, []float64{1, -4, 6, 2 * float64(float32(1e30)), 0, 14}) {
		t.Errorf("float32 for float64: got %v", got.Data)
	}
}

// TestRunFitsSamplesToTheModelShape feeds (N, 8, 8) samples to a
// (batch, 64) model, as score and serve accept them (runtime.IO.FitShape),
// through ONNX Runtime and the Go backend.
func TestRunFitsSamplesToTheModelShape(t *testing.T) {
	x := readNPY(t, filepath.Join(fixtures, "mlp_ae.in0.npy"))
	n := x.Shape[0]
	img := filepath.Join(t.TempDir(), "img.npy")
	if err := npy.WriteFile(img, []int{n, 8, 8}, x.Data); err != nil {
		t.Fatal(err)
	}
	ref := readNPY(t, filepath.Join(fixtures, "mlp_ae.out0.npy"))
	for _, b := range []string{"ort", "go"} {
		t.Run(b, func(t *testing.T) {
			dir := t.TempDir()
			f, _, _ := testFactory()
			opts := &runOptions{IO: f.IO, Model: filepath.Join(fixtures, "mlp_ae.opset13.onnx"), Provider: "cpu", Backend: b, Inputs: []string{img}, OutDir: dir}
			if err := runRun(opts); err != nil {
				t.Fatal(err)
			}
			got := readNPY(t, filepath.Join(dir, "y.npy"))
			if !reflect.DeepEqual(got.Shape, ref.Shape) || maxAbsDiff(got.Data, ref.Data) > 1e-5 {
				t.Errorf("got %v, max |Δ| %g against PyTorch; want %v within 1e-5", got.Shape, maxAbsDiff(got.Data, ref.Data), ref.Shape)
			}
		})
	}
}
