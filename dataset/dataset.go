// Package dataset loads training data for the trainer and the command line:
// MNIST and Fashion-MNIST from the cache `make setup` fills, and files in
// NumPy (.npy), CSV and IDX (the original MNIST format, optionally gzipped)
// form.
//
// Every loader returns float32 samples; 8-bit image data (uint8 .npy, ubyte
// IDX, the MNIST caches) is scaled to [0, 1] by dividing by 255, and other
// data is kept as stored. Loaders refuse NaN and ±Inf, naming the file, the
// sample and the position, and refuse arrays of rank below 2 (there must be
// a sample dimension and at least one more). Sizes claimed by a file are
// checked against the bytes it holds before anything is allocated; the
// internal/limits package doc lists the limits each loader applies.
package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aebridge/aebridge/internal/npy"
)

// Set is N samples of one shape, row after row.
type Set struct {
	Name   string    // where it came from
	Shape  []int     // per-sample shape, such as [784] or [1 28 28]
	X      []float32 // N × Dim values
	Labels []int     // N class labels, or nil
	// Bytes says X holds 8-bit data (uint8 .npy, ubyte IDX, PNG images, the
	// built-in data sets) divided by 255: a model's own input-scaling rule
	// may ask for another divisor.
	Bytes bool
}

// Len is the number of samples.
func (s *Set) Len() int {
	if d := s.Dim(); d > 0 {
		return len(s.X) / d
	}
	return 0
}

// Dim is the number of values per sample.
func (s *Set) Dim() int {
	n := 1
	for _, d := range s.Shape {
		n *= d
	}
	return n
}

// Sample returns sample i's values, sharing s's storage.
func (s *Set) Sample(i int) []float32 {
	d := s.Dim()
	return s.X[i*d : (i+1)*d]
}

// Head returns the first n samples (all if n ≤ 0 or n ≥ Len), sharing s's
// storage.
func (s *Set) Head(n int) *Set {
	if n <= 0 || n >= s.Len() {
		return s
	}
	h := &Set{Name: s.Name, Shape: s.Shape, X: s.X[:n*s.Dim()], Bytes: s.Bytes}
	if s.Labels != nil {
		h.Labels = s.Labels[:n]
	}
	return h
}

// Subset returns the samples at idx, in that order, in new storage.
func (s *Set) Subset(idx []int) *Set {
	d := s.Dim()
	out := &Set{Name: s.Name, Shape: s.Shape, X: make([]float32, 0, len(idx)*d), Bytes: s.Bytes}
	for _, i := range idx {
		out.X = append(out.X, s.Sample(i)...)
	}
	if s.Labels != nil {
		out.Labels = make([]int, len(idx))
		for j, i := range idx {
			out.Labels[j] = s.Labels[i]
		}
	}
	return out
}

// Builtin names the data sets Load knows by name.
var Builtin = []string{"mnist", "fashion-mnist"}

// DataEnv is the environment variable naming the data cache folder.
const DataEnv = "AEBRIDGE_DATA"

// setupPath is where `make setup` puts the cache, relative to the
// repository root.
const setupPath = ".deps/data"

// CacheDir returns the data cache: $AEBRIDGE_DATA if set, else .deps/data in
// the working directory or a folder above it, or above the executable.
func CacheDir() (string, error) {
	if d := os.Getenv(DataEnv); d != "" {
		return d, nil
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	var tried []string
	for _, s := range starts {
		for dir := s; ; dir = filepath.Dir(dir) {
			p := filepath.Join(dir, setupPath)
			tried = append(tried, p)
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				return p, nil
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return "", fmt.Errorf("dataset: no data cache found (set $%s, or run `make setup` in the aebridge repository); looked in %s", DataEnv, strings.Join(tried, ", "))
}

// Load reads a data set for training: a built-in name alone ("mnist",
// "fashion-mnist") gives its training and test splits; a reference to a
// built-in training split ("fashion-mnist:train[:1000]") gives those
// samples and the whole test split; any other reference (see ParseRef: a
// split, a .npy, .csv or IDX file, a folder of PNG images, each optionally
// sliced) gives one set and a nil test set.
func Load(spec string) (train, test *Set, err error) {
	r, err := ParseRef(spec)
	if err != nil {
		return nil, nil, err
	}
	if r.Name != "" && (r.Split == "" || r.Split == "train") {
		if r.Split == "" {
			r.Split = "train"
		}
		if train, err = r.Open(); err != nil {
			return nil, nil, err
		}
		if test, err = loadBuiltin(r.Name, "test"); err != nil {
			return nil, nil, err
		}
		if !r.Sliced {
			train.Name = spec + ":train"
			if strings.Contains(spec, ":") {
				train.Name = spec
			}
		}
		return train, test, nil
	}
	train, err = r.Open()
	return train, nil, err
}

// LoadLabels reads class labels for n samples from a .npy file: N integer
// values, or an N×K one-hot (or score) array whose largest column is the
// class. NaN and ±Inf are refused.
func LoadLabels(path string, n int) ([]int, error) {
	a, err := npy.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if len(a.Shape) == 0 || a.Shape[0] != n || len(a.Shape) > 2 {
		return nil, fmt.Errorf("dataset: %s: labels of shape %v for %d samples (want (%d) or (%d, classes))", path, a.Shape, n, n, n)
	}
	labels := make([]int, n)
	if len(a.Shape) == 1 {
		for i, v := range a.Data {
			if v < 0 || v != float32(int(v)) {
				return nil, fmt.Errorf("dataset: %s: label %d is %v, not a class number", path, i, v)
			}
			labels[i] = int(v)
		}
		return labels, nil
	}
	k := a.Shape[1]
	if k == 0 {
		return nil, fmt.Errorf("dataset: %s: labels of shape %v have no columns to pick a class from", path, a.Shape)
	}
	if err := checkFinite(path, a.Shape[1:], a.Data); err != nil {
		return nil, err
	}
	for i := range labels {
		row := a.Data[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		labels[i] = best
	}
	return labels, nil
}
