package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aebridge/aebridge/dataset"
	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/trainer"
)

// isNPYFile reports whether ref names an existing .npy file, which the
// commands read as they always have (run's input-scaling rule on its
// dtype); any other reference goes through dataset.Open.
func isNPYFile(ref string) bool {
	if !strings.EqualFold(fileExt(ref), ".npy") {
		return false
	}
	st, err := os.Stat(ref)
	return err == nil && st.Mode().IsRegular()
}

func fileExt(p string) string {
	if i := strings.LastIndexByte(p, '.'); i >= 0 && !strings.ContainsAny(p[i:], `/\`) {
		return p[i:]
	}
	return ""
}

// readRef reads the samples a reference names (a .npy file, a data set
// split such as fashion-mnist:test[:256], a CSV or IDX file, a folder of
// PNG images) as the model's data input, by the rule's scaling: 8-bit
// data is divided by the model's recorded divisor, as a uint8 .npy is
// (by 255 when the model records none; not at all with --raw-input). It
// returns the labels the reference brings, or nil. flag names the option
// the reference came from, in errors.
func readRef(rule *inputRule, flag, ref string) (runtime.Tensor, []int, error) {
	if isNPYFile(ref) {
		x, err := rule.read(ref, 0)
		if err != nil {
			return runtime.Tensor{}, nil, fmt.Errorf("%s %s: %w", flag, ref, err)
		}
		return x, nil, nil
	}
	s, err := dataset.Open(ref)
	if err != nil {
		return runtime.Tensor{}, nil, fmt.Errorf("%s: %w", flag, err)
	}
	data := len(rule.inputs) > 0 && rule.scaling.Input != "" && rule.inputs[0].Name == rule.scaling.Input
	name := "#0"
	if len(rule.inputs) > 0 {
		name = fmt.Sprintf("%q", rule.inputs[0].Name)
	}
	if s.Bytes {
		// The values are the 8-bit levels over 255: by the model's rule
		// they are divided by its divisor instead; with --raw-input, fed
		// as 0 to 255; for a model that records no rule, kept in [0, 1]
		// (a reference's values have no dtype to keep), with a note.
		scale := float32(1)
		switch {
		case rule.raw:
			scale = 255
		case data && rule.scaling.Divisor > 0:
			scale = float32(255 / rule.scaling.Divisor)
			if rule.scaling.Divisor != 255 {
				fmt.Fprintf(rule.io.ErrOut, "%s: 8-bit values divided by %g for input %s, as %s asks (--raw-input feeds them unscaled)\n", ref, rule.scaling.Divisor, name, rule.model)
			}
		default:
			fmt.Fprintf(rule.io.ErrOut, "note: %s: 8-bit values divided by 255 for input %s: %s records no input scaling for it (--raw-input feeds them as 0 to 255)\n", ref, name, rule.model)
		}
		if scale != 1 {
			for i := range s.X {
				s.X[i] *= scale
			}
		}
	}
	if vr := valueRange(s.X); data && rule.scaling.Range != nil && vr != nil {
		lo, hi := rule.scaling.Range[0], rule.scaling.Range[1]
		w := hi - lo
		if w == 0 {
			w = 1
		}
		if vr[0] < lo-w/2 || vr[1] > hi+w/2 {
			fmt.Fprintf(rule.io.ErrOut, "warning: %s: input %s gets values from %g to %g, far outside [%g, %g], the range %s was trained on: is it unscaled?\n", ref, name, vr[0], vr[1], lo, hi, rule.model)
		}
	}
	return setTensor(s), s.Labels, nil
}

// setTensor is s as a batch, (N, per-sample shape…), sharing its values.
func setTensor(s *dataset.Set) runtime.Tensor {
	shape := []int64{int64(s.Len())}
	for _, d := range s.Shape {
		shape = append(shape, int64(d))
	}
	return runtime.Tensor{Shape: shape, Data: s.X}
}

// readArray reads the samples a reference names as an array of values as
// stored (a uint8 .npy keeps its dtype; 8-bit data of other references is
// already divided by 255 and marked float32), with the labels the
// reference brings.
func readArray(flag, ref string) (*npy.Array, []int, error) {
	if isNPYFile(ref) {
		a, err := npy.ReadFile(ref)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", flag, ref, err)
		}
		return a, nil, nil
	}
	s, err := dataset.Open(ref)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", flag, err)
	}
	return &npy.Array{Shape: append([]int{s.Len()}, s.Shape...), Data: s.X, DType: "float32"}, s.Labels, nil
}

// readInputValue reads the model's input k from path: a .npy file by the
// input rule (any element type), or, for the data input (k = 0), a data
// set reference or image folder too (readRef).
func readInputValue(rule *inputRule, path string, k int) (runtime.Value, error) {
	if k > 0 || isNPYFile(path) {
		return rule.readValue(path, k)
	}
	x, _, err := readRef(rule, "--input", path)
	if err != nil {
		return runtime.Value{}, err
	}
	return runtime.ValueOf(x), nil
}

// noteStandardized says, on the error stream, that model — a directory,
// or a file in one, of a sequence autoencoder trained on standardised
// inputs (config.json's model.sequence mean and std) — takes its inputs
// standardised the same way, and gives its outputs in those units: the
// commands feed the .npy as it is, and raw values would give reconstruction
// errors of another scale without any error.
func noteStandardized(io *iostreams, model string) {
	dir := model
	if st, err := os.Stat(model); err != nil {
		return
	} else if !st.IsDir() {
		dir = filepath.Dir(model)
	}
	if _, err := os.Stat(filepath.Join(dir, trainer.ConfigFile)); err != nil {
		return
	}
	f, err := trainer.ReadConfig(dir)
	if err != nil || f.Model.Sequence == nil || len(f.Model.Sequence.Mean) == 0 {
		return
	}
	s := f.Model.Sequence
	fmt.Fprintf(io.ErrOut, "note: %s takes inputs standardised per feature, (x − mean)/std with config.json's model.sequence mean %.4g and std %.4g; it does not standardise them itself, and its outputs are in those units\n", dir, s.Mean, s.Std)
}
