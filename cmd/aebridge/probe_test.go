package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/trainer"
)

func TestNewCmdProbe(t *testing.T) {
	base := []string{"dir", "--train", "x.npy", "--train-labels", "y.npy", "--test", "xt.npy", "--test-labels", "yt.npy"}
	def := probeOptions{Model: "dir", Train: "x.npy", TrainLabels: "y.npy", Test: "xt.npy", TestLabels: "yt.npy", K: 5, Metric: "l2", L2: 1e-3, MaxIter: 300}
	with := func(f func(*probeOptions)) probeOptions { o := def; f(&o); return o }
	tests := []struct {
		name    string
		args    []string
		want    probeOptions
		wantErr string
	}{
		{name: "defaults", args: base, want: def},
		{name: "k, cosine, λ", args: append(base[:len(base):len(base)], "-k", "3", "--metric", "cosine", "--l2", "0.1"),
			want: with(func(o *probeOptions) { o.K, o.Metric, o.L2 = 3, "cosine", 0.1 })},
		{name: "no test", args: base[:5], wantErr: "--train and --test are required"},
		{name: "labels from the references", args: []string{"dir", "--train", "mnist:train", "--test", "mnist:test"}, want: probeOptions{Model: "dir", Train: "mnist:train", Test: "mnist:test", K: 5, Metric: "l2", L2: 1e-3, MaxIter: 300}},
		{name: "k 0", args: append(base[:len(base):len(base)], "-k", "0"), wantErr: "-k 0: want at least 1"},
		{name: "metric", args: append(base[:len(base):len(base)], "--metric", "l1"), wantErr: `--metric "l1": want l2 or cosine`},
		{name: "negative λ", args: append(base[:len(base):len(base)], "--l2", "-1"), wantErr: "--l2 -1: want a finite number ≥ 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseArgs(t, newCmdProbe, tt.args, tt.wantErr)
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

// probeData writes n samples of d features in two classes far apart —
// class 0 in [0, 0.3], class 1 in [0.7, 1] — and their labels.
func probeData(t *testing.T, dir, name string, n, d int, seed uint64) (x, y string, xs []float32, ys []float32) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < n; i++ {
		c := i % 2
		for j := 0; j < d; j++ {
			xs = append(xs, 0.7*float32(c)+0.3*rng.Float32())
		}
		ys = append(ys, float32(c))
	}
	x, y = filepath.Join(dir, name+"-x.npy"), filepath.Join(dir, name+"-y.npy")
	writeNPYArray(t, x, []int{n, d}, xs)
	writeNPYArray(t, y, []int{n}, ys)
	return x, y, xs, ys
}

// TestProbeRun checks the table on two well-separated classes: pixels and
// PCA classify every test sample right by both classifiers, and the codes
// row is what the library gives on the codes aebridge encode writes.
func TestProbeRun(t *testing.T) {
	const d, latent = 8, 3
	dir := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: d, Hidden: []int{6}, Latent: latent}))
	tmp := t.TempDir()
	x, y, _, ys := probeData(t, tmp, "train", 40, d, 1)
	xt, yt, _, yts := probeData(t, tmp, "test", 20, d, 2)

	// The codes row by hand: aebridge encode, then the library.
	f, out, _ := testFactory()
	z, zt := filepath.Join(tmp, "z.npy"), filepath.Join(tmp, "zt.npy")
	for _, p := range [][2]string{{x, z}, {xt, zt}} {
		if err := encodeRun(&encodeOptions{IO: f.IO, Model: dir, Input: p[0], Output: p[1], Class: -1}); err != nil {
			t.Fatal(err)
		}
	}
	za, err := npy.ReadFile(z)
	if err != nil {
		t.Fatal(err)
	}
	zta, err := npy.ReadFile(zt)
	if err != nil {
		t.Fatal(err)
	}
	ints := func(v []float32) []int {
		out := make([]int, len(v))
		for i, x := range v {
			out[i] = int(x)
		}
		return out
	}
	opts := &probeOptions{K: 3, Metric: "l2", L2: 1e-3, MaxIter: 300}
	res, err := probe(probeFeatures{"codes", latent, za.Data, zta.Data}, ints(ys), ints(yts), opts)
	if err != nil {
		t.Fatal(err)
	}

	out.Reset()
	opts.IO, opts.Model, opts.Train, opts.TrainLabels, opts.Test, opts.TestLabels = f.IO, dir, x, y, xt, yt
	if err := probeRun(opts); err != nil {
		t.Fatal(err)
	}
	want := "probe: 40 training and 20 test samples, logistic regression (λ = 0.001) and 3-NN (l2)\n" +
		"features   dim  logistic      k-NN\n" +
		"pixels       8    1.0000    1.0000\n" +
		"pca          3    1.0000    1.0000\n" +
		fmt.Sprintf("codes        3 %9.4f %9.4f\n", res.Logistic, res.KNN)
	if got := out.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestProbeRunRefuses(t *testing.T) {
	const d = 8
	dir := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: d, Hidden: []int{6}, Latent: 3}))
	tmp := t.TempDir()
	x, y, _, _ := probeData(t, tmp, "train", 10, d, 1)
	xt, yt, _, _ := probeData(t, tmp, "test", 6, d, 2)
	empty := filepath.Join(tmp, "empty.npy")
	writeNPYArray(t, empty, []int{0, d}, nil)
	nan := filepath.Join(tmp, "nan.npy")
	nanData := make([]float32, 6*d)
	nanData[d+2] = float32(math.NaN())
	writeNPYArray(t, nan, []int{6, d}, nanData)
	tests := []struct {
		name                       string
		train, trainY, test, testY string
		want                       string
	}{
		{"labels of another count", x, y, xt, y, "--test-labels " + y + ": dataset: " + y + ": labels of shape [10] for 6 samples"},
		{"no test samples", x, y, empty, yt, "--test " + empty + ": shape [0 8]: want a batch of samples"},
		{"no training samples", empty, y, xt, yt, "--train " + empty + ": shape [0 8]: want a batch of samples"},
		{"NaN in the test samples", x, y, nan, yt, "--test " + nan + ": sample 1, element 2 is NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := testFactory()
			opts := &probeOptions{IO: f.IO, Model: dir, Train: tt.train, TrainLabels: tt.trainY, Test: tt.test, TestLabels: tt.testY, K: 3, Metric: "l2", L2: 1e-3, MaxIter: 10}
			err := probeRun(opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
