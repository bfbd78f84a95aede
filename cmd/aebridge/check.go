package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/internal/check"
	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/runtime"
)

type checkOptions struct {
	IO       *iostreams
	Library  string
	Model    string // a model directory or an ONNX file
	Inputs   []string
	Expect   []string
	Backends []string
	Atol     float64
	Rtol     float64
	RawInput bool
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
interpreter onnx-go (which runs only some graphs, and says so). For a
trained model directory, "ort" and "onnx-go" run its model.onnx.

For each output it prints the largest and mean absolute error, the largest
relative error, the worst element and pass or fail. An element fails only
when its error exceeds both --atol and --rtol × |reference| (Polygraphy's
rule); the reference is the second backend of a pair, or the expected
output. The exit status is 0 only if every comparison passes.

Inputs follow run's input-scaling rule (see aebridge run --help): a uint8
.npy is divided by 255 for a model trained here, unless --raw-input.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			opts.Library = f.Library
			if len(opts.Inputs) == 0 {
				return &flagError{errors.New("at least one --input is required")}
			}
			if opts.Atol < 0 || opts.Rtol < 0 {
				return &flagError{fmt.Errorf("--atol %v and --rtol %v must not be negative", opts.Atol, opts.Rtol)}
			}
			seen := map[string]bool{}
			for _, b := range opts.Backends {
				if b != "ort" && b != "go" && b != "onnx-go" {
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
	fl.StringSliceVar(&opts.Backends, "backends", []string{"ort", "go"}, "backends to run: ort, go, onnx-go")
	fl.Float64Var(&opts.Atol, "atol", 1e-5, "absolute tolerance")
	fl.Float64Var(&opts.Rtol, "rtol", 1e-5, "relative tolerance")
	fl.BoolVar(&opts.RawInput, "raw-input", false, "feed uint8 input unscaled, even to a model that divides it by 255")
	return cmd
}

func checkRun(opts *checkOptions) error {
	backends, err := openBackends(opts)
	if err != nil {
		return err
	}
	defer func() {
		for _, b := range backends {
			b.Close()
		}
	}()
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
	names := backends[0].OutputNames()
	if len(opts.Expect) > len(names) {
		return fmt.Errorf("%d --expect files for a model with %d outputs (%s)", len(opts.Expect), len(names), strings.Join(names, ", "))
	}
	results := make([]map[string]runtime.Tensor, len(backends))
	for i, b := range backends {
		if results[i], err = b.Run(inputs); err != nil {
			return fmt.Errorf("backend %s: %w", b.Name(), err)
		}
	}
	out := opts.IO.Out
	failed := 0
	report := func(label string, got, want runtime.Tensor) error {
		s, err := check.Compare(got, want, opts.Atol, opts.Rtol)
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		verdict := "PASS"
		if !s.Pass {
			verdict = fmt.Sprintf("FAIL (%d of %d elements)", s.Failed, len(got.Data))
			failed++
		}
		fmt.Fprintf(out, "  %-14s max abs %.3e  mean abs %.3e  max rel %.3e  worst %v: %.7g vs %.7g  %s\n",
			label, s.MaxAbs, s.MeanAbs, s.MaxRel, unravel(s.Worst, got.Shape), s.Got, s.Want, verdict)
		return nil
	}
	for j, name := range names {
		ref, ok := results[0][name]
		if !ok {
			return fmt.Errorf("backend %s gave no output %q", backends[0].Name(), name)
		}
		fmt.Fprintf(out, "output %s %v\n", name, ref.Shape)
		for a := 0; a < len(backends); a++ {
			for b := a + 1; b < len(backends); b++ {
				got, ok := results[a][name]
				want, ok2 := results[b][name]
				if !ok || !ok2 {
					return fmt.Errorf("output %q is missing from backend %s or %s", name, backends[a].Name(), backends[b].Name())
				}
				if err := report(backends[a].Name()+" vs "+backends[b].Name(), got, want); err != nil {
					return err
				}
			}
		}
		if j < len(opts.Expect) {
			want, err := readTensor(opts.Expect[j])
			if err != nil {
				return err
			}
			for i, b := range backends {
				if err := report(b.Name()+" vs expect", results[i][name], want); err != nil {
					return err
				}
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("check: %d comparison(s) failed (atol %g, rtol %g)", failed, opts.Atol, opts.Rtol)
	}
	fmt.Fprintf(out, "all comparisons pass (atol %g, rtol %g)\n", opts.Atol, opts.Rtol)
	return nil
}

func openBackends(opts *checkOptions) ([]check.Backend, error) {
	st, err := os.Stat(opts.Model)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return check.OpenDir(opts.Model, opts.Backends, runtime.WithLibrary(opts.Library))
	}
	return check.OpenFile(opts.Model, opts.Backends, runtime.WithLibrary(opts.Library))
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
