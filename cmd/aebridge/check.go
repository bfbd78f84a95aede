package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/backend"
	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/runtime"
)

// defaultBackends are the backends check runs when --backends is not given.
var defaultBackends = []string{"ort", "go"}

type checkOptions struct {
	IO       *iostreams
	Library  string
	Model    string // a model directory or an ONNX file
	Inputs   []string
	Expect   []string
	Backends []string
	// BackendsGiven is whether --backends named the backends: then one
	// that cannot run fails the check, unless AllowSkip.
	BackendsGiven  bool
	AllowSkip      bool
	AllowNonFinite bool
	Atol           float64
	Rtol           float64
	RawInput       bool
}

func newCmdCheck(f *factory, runF func(*checkOptions) error) *cobra.Command {
	opts := &checkOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "check DIR|MODEL.onnx --input FILE.npy... [--expect FILE.npy...] [--backends ort,go]",
		Short: "Run the same inputs on several backends and compare the outputs",
		Long: `Run the same inputs through each backend and compare every pair, and each
backend with the expected outputs given by --expect (in the model's output
order). Backends: "ort" is ONNX Runtime, "go" the trainer's forward pass
(for an ONNX file, after convert imports it), "onnx-go" the pure-Go
interpreter onnx-go (which runs only some graphs, and says so; only in
binaries built with -tags onnxgo, which releases are not). For a
trained model directory, "ort" and "onnx-go" run its model.onnx.

For each output it prints the largest and mean absolute error, the largest
relative error, the worst element and pass or fail. An element fails only
when its error exceeds both --atol and --rtol × |reference| (Polygraphy's
rule); the reference is the second backend of a pair, or the expected
output. A NaN or an infinity in any output or expected value fails, and each
output's NaN, +Inf and -Inf are counted per backend; --allow-nonfinite lets
NaN match NaN, +Inf match +Inf and -Inf match -Inf at the same positions.
Outputs that are empty, missing from a backend or of different shapes fail.

A backend that cannot open or run the model is reported as SKIPPED with its
reason, and the other comparisons still run. With the default backends
(ort,go) a skipped backend does not fail the check by itself; a backend
named in --backends that cannot run fails it, unless --allow-skip is given.
If nothing at all could be compared (fewer than two backends ran and no
--expect), the check fails. The exit status is 0 only if every comparison
passes.

Inputs follow run's input-scaling rule (see aebridge run --help): a uint8
.npy is divided by 255 for a model trained here, unless --raw-input. They
follow run's element-type and shape rules too: each input is fed in the
type the model declares (an int64 .npy for int64 class labels), and
samples take the model's per-sample shape when they hold as many values,
(N, 28, 28) for (batch, 784).

Outputs are compared in their own element types: float16, float32 and
float64 under --atol and --rtol, integers and bools exactly (any
difference fails, whatever the tolerances). Two backends that give one
output in different element types fail, as do an integer or bool output
and an --expect file of another type; an --expect file for a floating-point
output may be of any floating-point type, converted to the output's.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			opts.Library = f.Library
			opts.BackendsGiven = cmd.Flags().Changed("backends")
			if len(opts.Inputs) == 0 {
				return &flagError{errors.New("at least one --input is required")}
			}
			if !(opts.Atol >= 0 && opts.Rtol >= 0) || math.IsInf(opts.Atol, 0) || math.IsInf(opts.Rtol, 0) {
				return &flagError{fmt.Errorf("--atol %v and --rtol %v must be finite and not negative", opts.Atol, opts.Rtol)}
			}
			seen := map[string]bool{}
			for _, b := range opts.Backends {
				if !backend.Known(b) {
					return &flagError{fmt.Errorf("--backends: unknown backend %q (want ort, go or onnx-go)", b)}
				}
				if seen[b] {
					return &flagError{fmt.Errorf("--backends: %q given twice", b)}
				}
				seen[b] = true
			}
			if len(opts.Backends) < 2 && len(opts.Expect) == 0 {
				return &flagError{errors.New("nothing to compare: give two backends or --expect")}
			}
			if runF != nil {
				return runF(opts)
			}
			return checkRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&opts.Inputs, "input", "i", nil, "input `FILE.npy`, in the model's input order (repeat)")
	fl.StringArrayVar(&opts.Expect, "expect", nil, "expected output `FILE.npy`, in the model's output order (repeat)")
	fl.StringSliceVar(&opts.Backends, "backends", defaultBackends, "backends to run: ort, go, onnx-go; one named here that cannot run fails the check")
	fl.BoolVar(&opts.AllowSkip, "allow-skip", false, "let backends named in --backends that cannot run be skipped")
	fl.BoolVar(&opts.AllowNonFinite, "allow-nonfinite", false, "let NaN, +Inf and -Inf match the same value at the same position")
	fl.Float64Var(&opts.Atol, "atol", 1e-5, "absolute tolerance")
	fl.Float64Var(&opts.Rtol, "rtol", 1e-5, "relative tolerance")
	fl.BoolVar(&opts.RawInput, "raw-input", false, "feed uint8 input unscaled, even to a model that divides it by 255")
	return cmd
}

// checkResult is what one backend gave.
type checkResult struct {
	backend string
	names   []string // its outputs, in the model's order
	outputs map[string]runtime.Value
}

func checkRun(opts *checkOptions) error {
	noteStandardized(opts.IO, opts.Model)
	st, err := os.Stat(opts.Model)
	if err != nil {
		return err
	}
	rule, err := checkInputRule(opts)
	if err != nil {
		return err
	}
	inputs := make([]runtime.Value, len(opts.Inputs))
	for i, path := range opts.Inputs {
		if inputs[i], err = readInputValue(rule, path, i); err != nil {
			return err
		}
		if i < len(rule.inputs) {
			inputs[i] = rule.inputs[i].FitValue(inputs[i])
		}
	}
	expect := make([]runtime.Value, len(opts.Expect))
	for i, path := range opts.Expect {
		if expect[i], err = readValue(path); err != nil {
			return err
		}
	}
	out := opts.IO.Out
	var results []checkResult
	var skipped []string
	for _, name := range opts.Backends {
		r, err := runCheckBackend(opts, st.IsDir(), name, inputs)
		if err != nil {
			fmt.Fprintf(out, "backend %s SKIPPED: %s\n", name, printable(strings.TrimPrefix(err.Error(), "backend: ")))
			skipped = append(skipped, name)
			continue
		}
		results = append(results, r)
	}
	return checkReport(opts, results, skipped, expect)
}

// checkReport compares what the backends that ran gave with each other
// and with expect, writes the report, and returns the check's verdict.
// skipped lists the backends that could not run.
func checkReport(opts *checkOptions, results []checkResult, skipped []string, expect []runtime.Value) error {
	out := opts.IO.Out
	// The outputs: the first backend's, then any other backend names.
	var names []string
	listed := map[string]bool{}
	for _, r := range results {
		for _, n := range r.names {
			if !listed[n] {
				listed[n] = true
				names = append(names, n)
			}
		}
	}
	if len(results) > 0 && len(expect) > len(names) {
		return fmt.Errorf("%d --expect files for a model with %d outputs (%s)", len(expect), len(names), quotedList(names))
	}

	// Labels are padded to the longest, "onnx-go vs expect" at most.
	width := 14
	for i, a := range results {
		for _, b := range results[i+1:] {
			width = max(width, len(a.backend+" vs "+b.backend))
		}
		if len(expect) > 0 {
			width = max(width, len(a.backend+" vs expect"))
		}
	}
	tol := backend.Tolerance{Atol: opts.Atol, Rtol: opts.Rtol, AllowNonFinite: opts.AllowNonFinite}
	compared, failed := 0, 0
	var notCompared []string // outputs only one backend gave, with no --expect
	fail := func(label, why string) {
		compared++
		failed++
		fmt.Fprintf(out, "  %-*s FAIL: %s\n", width, label, why)
	}
	compare := func(label string, got, want runtime.Value) {
		s, err := tol.CompareValues(got, want)
		if err != nil {
			fail(label, strings.TrimPrefix(err.Error(), "backend: "))
			return
		}
		compared++
		verdict := "PASS"
		if s.Exact {
			verdict = "PASS (exact)"
		}
		if !s.Pass {
			verdict = fmt.Sprintf("FAIL (%d of %d elements)", s.Failed, s.Elements)
			if s.NonFinite > 0 {
				verdict = fmt.Sprintf("FAIL (%d of %d elements, %d with NaN or Inf)", s.Failed, s.Elements, s.NonFinite)
			}
			failed++
		}
		fmt.Fprintf(out, "  %-*s max abs %.3e  mean abs %.3e  max rel %.3e  worst %v: %.7g vs %.7g  %s\n",
			width, label, s.MaxAbs, s.MeanAbs, s.MaxRel, unravel(s.Worst, got.Shape), s.Got, s.Want, verdict)
	}
	countNonFinite := func(label string, v runtime.Value) {
		if n := backend.CountNonFiniteValue(v); n.Total() > 0 {
			fmt.Fprintf(out, "  %-*s %d NaN, %d +Inf, %d -Inf in %d elements\n", width, label, n.NaN, n.PosInf, n.NegInf, v.Len())
		}
	}
	for j, name := range names {
		header := "output " + printable(name)
		for _, r := range results {
			if t, ok := r.outputs[name]; ok {
				header += fmt.Sprintf(" %v", t.Shape)
				if dt := t.DType(); dt != runtime.Float32 {
					header += " " + string(dt)
				}
				break
			}
		}
		fmt.Fprintln(out, header)
		before := compared
		for _, r := range results {
			if t, ok := r.outputs[name]; ok {
				countNonFinite(r.backend, t)
			}
		}
		if j < len(expect) {
			countNonFinite("expect", expect[j])
		}
		for a := 0; a < len(results); a++ {
			for b := a + 1; b < len(results); b++ {
				label := results[a].backend + " vs " + results[b].backend
				got, ok := results[a].outputs[name]
				want, ok2 := results[b].outputs[name]
				switch {
				case !ok:
					fail(label, "no output from "+results[a].backend)
				case !ok2:
					fail(label, "no output from "+results[b].backend)
				default:
					compare(label, got, want)
				}
			}
		}
		if j < len(expect) {
			for _, r := range results {
				label := r.backend + " vs expect"
				if got, ok := r.outputs[name]; ok {
					compare(label, got, expectAs(expect[j], got.DType()))
				} else {
					fail(label, "no output from "+r.backend)
				}
			}
		}
		if compared == before {
			fmt.Fprintf(out, "  not compared: one backend ran and no --expect for this output\n")
			notCompared = append(notCompared, printable(name))
		}
	}

	settings := fmt.Sprintf("atol %g, rtol %g", opts.Atol, opts.Rtol)
	if opts.AllowNonFinite {
		settings += ", matching NaN and Inf allowed"
	}
	var problems []string
	if failed > 0 {
		problems = append(problems, fmt.Sprintf("%d comparison(s) failed", failed))
	}
	if opts.BackendsGiven && !opts.AllowSkip && len(skipped) > 0 {
		problems = append(problems, fmt.Sprintf("%s named in --backends could not run, and --allow-skip was not given", strings.Join(skipped, ", ")))
	}
	if compared == 0 {
		switch {
		case len(results) == 0:
			problems = append(problems, "nothing was compared: no backend ran")
		case len(names) == 0:
			problems = append(problems, "nothing was compared: the backends gave no outputs")
		case len(results) == 1 && len(expect) == 0:
			problems = append(problems, fmt.Sprintf("nothing was compared: only %s ran, and no --expect was given", results[0].backend))
		default:
			problems = append(problems, "nothing was compared")
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("check: %s (%s)", strings.Join(problems, "; "), settings)
	}
	summary := fmt.Sprintf("all comparisons pass (%s)", settings)
	if len(skipped) > 0 {
		summary += "; skipped: " + strings.Join(skipped, ", ")
	}
	if len(notCompared) > 0 {
		summary += "; not compared: " + strings.Join(notCompared, ", ")
	}
	fmt.Fprintln(out, summary)
	return nil
}

// runCheckBackend opens the backend name on the model and runs it on inputs.
func runCheckBackend(opts *checkOptions, dir bool, name string, inputs []runtime.Value) (checkResult, error) {
	open := backend.OpenFile
	if dir {
		open = backend.OpenDir
	}
	bs, err := open(opts.Model, []string{name}, runtime.WithLibrary(opts.Library))
	if err != nil {
		return checkResult{}, err
	}
	b := bs[0]
	defer b.Close()
	outputs, err := backend.RunValues(b, inputs)
	if err != nil {
		return checkResult{}, err
	}
	return checkResult{backend: b.Name(), names: b.OutputNames(), outputs: outputs}, nil
}

// quotedList quotes each name and joins them with commas.
func quotedList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// checkInputRule is the input-scaling rule of the model checked: that of
// its ONNX file (a directory's model.onnx; none when a directory has none).
func checkInputRule(opts *checkOptions) (*inputRule, error) {
	path := modelFile(opts.Model, "model.onnx")
	if path != opts.Model && !fileExists(path) {
		return newInputRule(opts.Model, nil, opts.RawInput, opts.IO)
	}
	info, err := runtime.Inspect(path)
	if err != nil {
		return nil, err
	}
	return newInputRule(path, info, opts.RawInput, opts.IO)
}

// readValue reads an --expect file in its own element type (float16 as
// runtime.Half; the runtime's other types as they are, any other dtype as
// float32).
func readValue(path string) (runtime.Value, error) {
	a, err := npy.ReadFileTyped(path)
	if err != nil {
		return runtime.Value{}, err
	}
	shape := make([]int64, len(a.Shape))
	for i, d := range a.Shape {
		shape[i] = int64(d)
	}
	v := runtime.Value{Shape: shape, Data: a.Data}
	switch {
	case a.DType == "float16":
		bits := a.Data.([]uint16)
		h := make([]runtime.Half, len(bits))
		for i, b := range bits {
			h[i] = runtime.Half(b)
		}
		v.Data = h
	case string(v.DType()) != a.DType:
		v.Data = a.Float32s()
	}
	return v, nil
}

// expectAs is an --expect value converted to the floating-point type of the
// output it is compared with when both are floating-point; any other pair
// stays as it is, for CompareValues to refuse when the types differ.
func expectAs(v runtime.Value, dt runtime.DType) runtime.Value {
	isFloat := func(t runtime.DType) bool {
		return t == runtime.Float16 || t == runtime.Float32 || t == runtime.Float64
	}
	if v.DType() == dt || !isFloat(v.DType()) || !isFloat(dt) {
		return v
	}
	f := v.Float64s()
	out := runtime.Value{Shape: v.Shape}
	switch dt {
	case runtime.Float64:
		out.Data = f
	case runtime.Float32:
		d := make([]float32, len(f))
		for i, x := range f {
			d[i] = float32(x)
		}
		out.Data = d
	case runtime.Float16:
		d := make([]runtime.Half, len(f))
		for i, x := range f {
			d[i] = runtime.HalfOf(float32(x))
		}
		out.Data = d
	}
	return out
}

// unravel turns a flat index into coordinates of shape.
func unravel(i int, shape []int64) []int64 {
	idx := make([]int64, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			idx[d] = int64(i) % shape[d]
			i /= int(shape[d])
		}
	}
	return idx
}
