package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/backend"
	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/runtime"
)

type runOptions struct {
	IO            *iostreams
	Library       string
	Model         string
	Inputs        []string // FILE.npy or NAME=FILE.npy
	Output        string
	OutDir        string
	Provider      string
	Device        int
	AllowFallback bool
	Threads       int
	Batch         int
	Backend       string
	RawInput      bool
}

func newCmdRun(f *factory, runF func(*runOptions) error) *cobra.Command {
	opts := &runOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "run MODEL --input FILE.npy [--input NAME=FILE.npy ...] (--output FILE.npy | --out-dir DIR)",
		Short: "Run an ONNX model on .npy inputs through ONNX Runtime",
		Long: `Run an ONNX model on inputs read from .npy files and write each output as
a .npy file of its own element type (float32, float64, float16, int64,
int32, uint8 or bool: an int64 class label in, a uint8 image out).

Element types: each input is fed in the type the model declares for it.
A float32 input takes any .npy (float64, float16, integers and bool are
converted to float32, as before, under the input-scaling rule below). An
input of another type takes a .npy of that type, or of one that converts
to it without changing any value: float32 or float16 for float64; int32,
int16, int8, uint32, uint16 or uint8 for int64; int16, int8, uint16 or
uint8 for int32. Anything else (a float32 .npy for an int64 input, int64
for int32, float64 for float16) is an error naming the file, the input and
both types: convert it first (in NumPy, a.astype(np.int64)).
Samples are given the model's per-sample shape when it is fixed and they
hold as many values, as score and serve do: (N, 28, 28) for (batch, 784).

Input scaling, one rule for train, run, check and interpolate: train
divides uint8 data by 255, to [0, 1], and records that in the model.onnx and
encoder.onnx it writes (metadata aebridge.input_scale = "1/255", and
aebridge.input_range, the range of the values it trained on). A uint8 .npy
fed to the data input of such a model (or of an aebridge export older than
the key) is divided by 255 in float32, as train does, and a line on stderr
says so; --raw-input feeds it unscaled. A model that records no rule (a
PyTorch export; aebridge.input_scale = "none" for one converted) gets uint8
values unchanged, as floats from 0 to 255, with a warning. Float input is
never scaled, but gets a warning when it lies far outside the recorded range
(beyond half its width: above 1.5 for [0, 1]).

Inputs given as FILE.npy bind to the model's inputs in order; NAME=FILE.npy
binds to the input NAME. --output names the file for a model with one output;
--out-dir writes one <output-name>.npy per output.

--backend picks what runs the model: ort (ONNX Runtime, the default), go
(aebridge's own forward pass, after importing the graph as convert does:
no ONNX Runtime library needed) or onnx-go (the pure-Go interpreter, for
the graphs it supports, in binaries built with -tags onnxgo).`,
		Example: `  aebridge run model.onnx --input x.npy --output y.npy
  aebridge run cvae_decoder.onnx --input z=z.npy --input c=c.npy --out-dir out/`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			opts.Library = f.Library
			if len(opts.Inputs) == 0 {
				return &flagError{errors.New("at least one --input is required")}
			}
			if (opts.Output == "") == (opts.OutDir == "") {
				return &flagError{errors.New("give exactly one of --output and --out-dir")}
			}
			if !backend.Known(opts.Backend) {
				return &flagError{fmt.Errorf("--backend %q: want ort, go or onnx-go", opts.Backend)}
			}
			if opts.Backend != "ort" && (cmd.Flags().Changed("provider") || cmd.Flags().Changed("allow-cpu-fallback") || cmd.Flags().Changed("threads") || cmd.Flags().Changed("batch")) {
				return &flagError{fmt.Errorf("--provider, --allow-cpu-fallback, --threads and --batch apply to --backend ort")}
			}
			if opts.Provider != "cpu" && opts.Provider != "cuda" {
				return &flagError{fmt.Errorf("--provider %q: want cpu or cuda", opts.Provider)}
			}
			if opts.Threads < 0 || opts.Batch < 0 || opts.Device < 0 {
				return &flagError{fmt.Errorf("--threads (%d), --batch (%d) and --device (%d) must not be negative", opts.Threads, opts.Batch, opts.Device)}
			}
			if runF != nil {
				return runF(opts)
			}
			return runRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&opts.Inputs, "input", "i", nil, "input `FILE.npy` or NAME=FILE.npy (repeat for several inputs)")
	fl.StringVarP(&opts.Output, "output", "o", "", "write the single output to `FILE.npy`")
	fl.StringVar(&opts.OutDir, "out-dir", "", "write each output to `DIR`/<output-name>.npy")
	fl.StringVar(&opts.Provider, "provider", "cpu", "execution provider: cpu or cuda")
	fl.IntVar(&opts.Device, "device", 0, "CUDA device id")
	fl.BoolVar(&opts.AllowFallback, "allow-cpu-fallback", false, "run on the CPU when CUDA is unavailable")
	fl.IntVar(&opts.Threads, "threads", 0, "ONNX Runtime intra-op threads (0: one per core)")
	fl.IntVar(&opts.Batch, "batch", 0, "run at most `N` samples per ONNX Runtime call (0: all at once)")
	fl.StringVar(&opts.Backend, "backend", "ort", "ort, go or onnx-go")
	fl.BoolVar(&opts.RawInput, "raw-input", false, "feed uint8 input unscaled, even to a model that divides it by 255")
	return cmd
}

func runRun(opts *runOptions) error {
	noteStandardized(opts.IO, opts.Model)
	info, err := runtime.Inspect(opts.Model)
	if err != nil {
		return err
	}
	if opts.Output != "" && len(info.Outputs) != 1 {
		return fmt.Errorf("%s has %d outputs (%s); use --out-dir", opts.Model, len(info.Outputs), ioList(info.Outputs))
	}
	files, err := bindInputs(info.Inputs, opts.Inputs)
	if err != nil {
		return err
	}
	rule, err := newInputRule(opts.Model, info, opts.RawInput, opts.IO)
	if err != nil {
		return err
	}
	inputs := make([]runtime.Value, len(info.Inputs))
	for i, io := range info.Inputs {
		if inputs[i], err = readInputValue(rule, files[io.Name], i); err != nil {
			return err
		}
		inputs[i] = io.FitValue(inputs[i])
	}
	var outputs map[string]runtime.Value
	if opts.Backend == "ort" || opts.Backend == "" { // the zero value runs ONNX Runtime
		outputs, err = runORT(opts, inputs)
	} else {
		var bs []backend.Backend
		if bs, err = backend.OpenFile(opts.Model, []string{opts.Backend}); err != nil {
			return err
		}
		defer bs[0].Close()
		outputs, err = backend.RunValues(bs[0], inputs)
	}
	if err != nil {
		return err
	}
	paths, err := outputPaths(info.Outputs, opts.Output, opts.OutDir)
	if err != nil {
		return err
	}
	if opts.OutDir != "" {
		if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
			return err
		}
	}
	for _, io := range info.Outputs {
		t, ok := outputs[io.Name]
		if !ok {
			return fmt.Errorf("backend %s gave no output %q", opts.Backend, io.Name)
		}
		a, err := npyOf(t)
		if err != nil {
			return fmt.Errorf("output %q: %w", io.Name, err)
		}
		if err := npy.WriteFileTyped(paths[io.Name], a); err != nil {
			return err
		}
		dtype := ""
		if dt := t.DType(); dt != runtime.Float32 {
			dtype = " " + string(dt)
		}
		fmt.Fprintf(opts.IO.Out, "%s %v%s -> %s\n", printable(io.Name), t.Shape, dtype, paths[io.Name])
	}
	return nil
}

// runORT runs the model through ONNX Runtime with the command's options.
func runORT(opts *runOptions, inputs []runtime.Value) (map[string]runtime.Value, error) {
	ropts := []runtime.Option{
		runtime.WithLibrary(opts.Library), runtime.WithThreads(opts.Threads), runtime.WithBatchSize(opts.Batch),
	}
	if opts.Provider == "cuda" {
		ropts = append(ropts, runtime.WithCUDA(opts.Device))
	}
	if opts.AllowFallback {
		ropts = append(ropts, runtime.WithCPUFallback())
	}
	model, err := runtime.Open(opts.Model, ropts...)
	if err != nil {
		return nil, err
	}
	defer model.Close()
	if fb := model.Fallback(); fb != nil {
		fmt.Fprintf(opts.IO.ErrOut, "warning: running on the CPU: %v\n", fb)
	}
	out, err := model.RunValues(inputs...)
	if err != nil {
		return nil, err
	}
	named := map[string]runtime.Value{}
	for i, io := range model.Info().Outputs {
		named[io.Name] = out[i]
	}
	return named, nil
}

// bindInputs maps the model's input names to files. Arguments NAME=FILE
// bind by name when NAME is an input; the others fill the remaining inputs in
// the model's order.
func bindInputs(ios []runtime.IO, args []string) (map[string]string, error) {
	files := map[string]string{}
	var positional []string
	for _, a := range args {
		name, file, ok := strings.Cut(a, "=")
		if ok && hasInput(ios, name) {
			if _, dup := files[name]; dup {
				return nil, &flagError{fmt.Errorf("--input %s: input %q given twice", a, name)}
			}
			files[name] = file
			continue
		}
		if ok && !fileExists(a) {
			return nil, &flagError{fmt.Errorf("--input %s: the model has no input %q (its inputs: %s)", a, name, ioList(ios))}
		}
		positional = append(positional, a)
	}
	for _, io := range ios {
		if _, ok := files[io.Name]; ok {
			continue
		}
		if len(positional) == 0 {
			return nil, &flagError{fmt.Errorf("no --input for the model's input %q %s (its inputs: %s)", io.Name, shapeText(io), ioList(ios))}
		}
		files[io.Name], positional = positional[0], positional[1:]
	}
	if len(positional) > 0 {
		return nil, &flagError{fmt.Errorf("%d --input given for a model with %d inputs (%s): %s left over", len(args), len(ios), ioList(ios), strings.Join(positional, ", "))}
	}
	return files, nil
}

func hasInput(ios []runtime.IO, name string) bool {
	for _, io := range ios {
		if io.Name == name {
			return true
		}
	}
	return false
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func ioList(ios []runtime.IO) string {
	names := make([]string, len(ios))
	for i, io := range ios {
		names[i] = fmt.Sprintf("%q", io.Name)
	}
	return strings.Join(names, ", ")
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// outputPaths gives each output its file: output for a one-output model,
// else dir/<name>.npy with characters that are not safe in file names (as in
// PyTorch's "onnx::Gemm_12") replaced by "_".
func outputPaths(ios []runtime.IO, output, dir string) (map[string]string, error) {
	paths := map[string]string{}
	if output != "" {
		paths[ios[0].Name] = output
		return paths, nil
	}
	used := map[string]string{}
	for _, io := range ios {
		base := unsafeChars.ReplaceAllString(io.Name, "_")
		if base == "" || base == "." || base == ".." {
			base = "output"
		}
		if prev, dup := used[base]; dup {
			return nil, fmt.Errorf("outputs %q and %q would both be written to %s.npy", prev, io.Name, base)
		}
		used[base] = io.Name
		paths[io.Name] = filepath.Join(dir, base+".npy")
	}
	return paths, nil
}

// inputRule feeds .npy files to a model by its input-scaling rule
// (runtime.InputScaling), the one aebridge's trainer applies to its data:
// uint8 values are divided by 255 for the data input of a model that asks
// for it (aebridge's own), and fed unchanged, with a warning, to a model
// that records no rule (a PyTorch export); input outside the range the
// model records it was trained on gets a warning. Every line goes to
// stderr.
type inputRule struct {
	model   string
	inputs  []runtime.IO // the model's inputs, or nil when unknown
	scaling runtime.InputScaling
	raw     bool // --raw-input: feed uint8 values unscaled
	io      *iostreams
}

// newInputRule reads the rule of the model info describes; info may be nil
// (a model directory without model.onnx), which gives no rule.
func newInputRule(model string, info *runtime.Info, raw bool, io *iostreams) (*inputRule, error) {
	r := &inputRule{model: model, raw: raw, io: io}
	if info == nil {
		return r, nil
	}
	s, err := info.InputScaling()
	if err != nil {
		return nil, err
	}
	r.inputs, r.scaling = info.Inputs, s
	return r, nil
}

// read reads the .npy file at path as the model's input k (its position),
// as float32 whatever the model declares, for the commands that feed
// float32 only.
func (r *inputRule) read(path string, k int) (runtime.Tensor, error) {
	v, err := r.readAs(path, k, runtime.Float32)
	if err != nil {
		return runtime.Tensor{}, err
	}
	return v.Tensor()
}

// readValue reads the .npy file at path as the model's input k, in the
// element type the model declares for it (float32 when the model is not
// known, or declares a type the runtime does not hold: it says so).
func (r *inputRule) readValue(path string, k int) (runtime.Value, error) {
	want := runtime.Float32
	if k < len(r.inputs) && slices.Contains(runtime.DTypes, runtime.DType(r.inputs[k].Type)) {
		want = runtime.DType(r.inputs[k].Type)
	}
	return r.readAs(path, k, want)
}

// widens lists, for each element type but float32, the .npy dtypes that
// convert to it without changing any value.
var widens = map[runtime.DType][]string{
	runtime.Float64: {"float64", "float32", "float16"},
	runtime.Float16: {"float16"},
	runtime.Int64:   {"int64", "int32", "int16", "int8", "uint32", "uint16", "uint8"},
	runtime.Int32:   {"int32", "int16", "int8", "uint16", "uint8"},
	runtime.Uint8:   {"uint8"},
	runtime.Bool:    {"bool"},
}

// readAs reads the .npy file at path as the model's input k, of element
// type want: a float32 input under the input-scaling rule, any other from
// a .npy of that type or one in widens.
func (r *inputRule) readAs(path string, k int, want runtime.DType) (runtime.Value, error) {
	a, err := npy.ReadFileTyped(path)
	if err != nil {
		return runtime.Value{}, err
	}
	name := fmt.Sprintf("#%d", k)
	if k < len(r.inputs) {
		name = fmt.Sprintf("%q", r.inputs[k].Name)
	}
	shape := make([]int64, len(a.Shape))
	for i, d := range a.Shape {
		shape[i] = int64(d)
	}
	if want != runtime.Float32 {
		if !slices.Contains(widens[want], a.DType) {
			return runtime.Value{}, fmt.Errorf("%s: %s %s array for input %s, which is %s: give %s %s array (in NumPy, a.astype(np.%s)); run converts only %s to %s", path, article(a.DType), a.DType, name, want, article(string(want)), want, want, strings.Join(widens[want], ", "), want)
		}
		v := runtime.Value{Shape: shape}
		switch want {
		case runtime.Float64:
			v.Data = a.Float64s()
		case runtime.Float16:
			bits := a.Data.([]uint16)
			h := make([]runtime.Half, len(bits))
			for i, b := range bits {
				h[i] = runtime.Half(b)
			}
			v.Data = h
		case runtime.Int64:
			v.Data = a.Int64s()
		case runtime.Int32:
			ints := a.Int64s()
			d := make([]int32, len(ints))
			for i, x := range ints {
				d[i] = int32(x) // every dtype widens allows fits
			}
			v.Data = d
		case runtime.Uint8:
			v.Data = a.Data.([]uint8)
		case runtime.Bool:
			v.Data = a.Data.([]bool)
		}
		return v, nil
	}
	values := a.Float32s()
	data := r.scaling.Input != "" && k < len(r.inputs) && r.inputs[k].Name == r.scaling.Input // the input the rule is for
	if a.DType == "uint8" && !r.raw {
		if data && r.scaling.Divisor > 0 {
			for i := range values {
				values[i] /= r.scaling.Divisor
			}
			fmt.Fprintf(r.io.ErrOut, "%s: uint8 values divided by %g for input %s, as %s asks (--raw-input feeds them unscaled)\n", path, r.scaling.Divisor, name, r.model)
		} else {
			fmt.Fprintf(r.io.ErrOut, "warning: %s: uint8 values fed unchanged (0 to 255) to input %s: %s records no input scaling for it; divide by 255 first if it was trained on [0, 1]\n", path, name, r.model)
		}
	}
	if vr := valueRange(values); data && r.scaling.Range != nil && vr != nil {
		lo, hi := r.scaling.Range[0], r.scaling.Range[1]
		w := hi - lo
		if w == 0 {
			w = 1
		}
		if vr[0] < lo-w/2 || vr[1] > hi+w/2 {
			fmt.Fprintf(r.io.ErrOut, "warning: %s: input %s gets values from %g to %g, far outside [%g, %g], the range %s was trained on: is it unscaled?\n", path, name, vr[0], vr[1], lo, hi, r.model)
		}
	}
	return runtime.Value{Shape: shape, Data: values}, nil
}

// article is the indefinite article for a dtype's name: "an int64", "a uint8".
func article(dtype string) string {
	if strings.HasPrefix(dtype, "i") {
		return "an"
	}
	return "a"
}

// npyOf is v as an array to write in its own element type.
func npyOf(v runtime.Value) (*npy.Typed, error) {
	shape := make([]int, len(v.Shape))
	for i, d := range v.Shape {
		shape[i] = int(d)
	}
	a := &npy.Typed{Shape: shape, DType: string(v.DType()), Data: v.Data}
	switch d := v.Data.(type) {
	case []runtime.Half:
		bits := make([]uint16, len(d))
		for i, h := range d {
			bits[i] = uint16(h)
		}
		a.Data = bits
	case nil:
		return nil, fmt.Errorf("no values")
	}
	if a.DType == "" {
		return nil, fmt.Errorf("values of Go type %T", v.Data)
	}
	return a, nil
}

// valueRange is [min, max] of data (NaNs left out), the range export
// records for the input-scaling rule, or nil when data has no finite bounds.
func valueRange(data []float32) []float64 {
	if len(data) == 0 {
		return nil
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range data {
		f := float64(v)
		if f < lo {
			lo = f
		}
		if f > hi {
			hi = f
		}
	}
	if lo > hi || math.IsInf(lo, 0) || math.IsInf(hi, 0) { // all NaN, or infinite
		return nil
	}
	return []float64{lo, hi}
}
