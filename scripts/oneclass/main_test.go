package main

import (
	"bytes"
	"math"
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
	labels := []int{3, 1, 3, 0, 3, 1}
	cases := []struct {
		name     string
		class, n int
		want     []int
	}{
		{"all of a class", 3, 0, []int{0, 2, 4}},
		{"the first n", 3, 2, []int{0, 2}},
		{"n above the count", 1, 10, []int{1, 5}},
		{"absent class", 7, 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Split(labels, c.class, c.n); !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestAnomalous(t *testing.T) {
	got := Anomalous([]int{3, 1, 3, 0}, 3)
	want := []bool{false, true, false, true}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestBCEAndEntropy(t *testing.T) {
	cases := []struct {
		name string
		x, p []float32
		want float64
	}{
		// −(log 0.8 + log 0.5): x = 1 against 0.8, x = 0 against 0.5.
		{"binary", []float32{1, 0}, []float32{0.8, 0.5}, -math.Log(0.8) - math.Log(0.5)},
		// x = 0.5 against itself: log 2 per pixel, the entropy of a fair coin.
		{"grey against itself", []float32{0.5, 0.5}, []float32{0.5, 0.5}, 2 * math.Log(2)},
		// p = 0 clamps to 1e-7: −log 1e-7.
		{"clamped", []float32{1}, []float32{0}, -math.Log(1e-7)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := BCE(c.x, c.p); math.Abs(got-c.want) > 1e-6 {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
	if got, want := Entropy([]float32{0.5, 1, 0}), math.Log(2); math.Abs(got-want) > 1e-6 {
		t.Errorf("entropy: got %v, want %v", got, want)
	}
}

func TestWriteTable(t *testing.T) {
	opts := &options{Models: []string{"pca", "vae"}, Classes: []int{0, 1}}
	table := map[string][]float64{"pca": {0.9, 0.8}, "vae elbo": {0.5, 0.7}, "vae elbo−H": {1, 0.75}}
	var b bytes.Buffer
	writeTable(&b, opts, table)
	want := "| class | pca | vae elbo | vae elbo−H |\n|---|---|---|---|\n| 0 | 0.900 | 0.500 | 1.000 |\n| 1 | 0.800 | 0.700 | 0.750 |\n| mean | **0.850** | **0.600** | **0.875** |\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
