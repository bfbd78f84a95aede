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
.npy is divided by 255 for a model trained here, unless --raw-input.`,
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
	outputs map[string]runtime.Tensor
}

func checkRun(opts *checkOptions) error {
	st, err := os.Stat(opts.Model)
	if err != nil {
		return err
	}
	rule, err := checkInputRule(opts)
	if err != nil {
		return err
	}
	inputs := make([]runtime.Tensor, len(opts.Inputs))
	for i, path := range opts.Inputs {
		if inputs[i], err = rule.read(path, i); err != nil {
			return err
		}
	}
	expect := make([]runtime.Tensor, len(opts.Expect))
	for i, path := range opts.Expect {
		if expect[i], err = readTensor(path); err != nil {
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
func checkReport(opts *checkOptions, results []checkResult, skipped []string, expect []runtime.Tensor) error {
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
	compare := func(label string, got, want runtime.Tensor) {
		s, err := tol.Compare(got, want)
		if err != nil {
			fail(label, strings.TrimPrefix(err.Error(), "backend: "))
			return
		}
		compared++
		verdict := "PASS"
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
	countNonFinite := func(label string, t runtime.Tensor) {
		if n := backend.CountNonFinite(t.Data); n.Total() > 0 {
			fmt.Fprintf(out, "  %-*s %d NaN, %d +Inf, %d -Inf in %d elements\n", width, label, n.NaN, n.PosInf, n.NegInf, len(t.Data))
		}
	}
	for j, name := range names {
		header := "output " + printable(name)
		for _, r := range results {
			if t, ok := r.outputs[name]; ok {
				header += fmt.Sprintf(" %v", t.Shape)
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
					compare(label, got, expect[j])
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
func runCheckBackend(opts *checkOptions, dir bool, name string, inputs []runtime.Tensor) (checkResult, error) {
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
	outputs, err := b.Run(inputs)
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

func readTensor(path string) (runtime.Tensor, error) {
	a, err := npy.ReadFile(path)
	if err != nil {
		return runtime.Tensor{}, err
	}
	shape := make([]int64, len(a.Shape))
	for i, d := range a.Shape {
		shape[i] = int64(d)
	}
	return runtime.Tensor{Shape: shape, Data: a.Data}, nil
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
