package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/trainer"
)

// TestTrainSequence trains the sequence autoencoders from the command
// line — an LSTM with a bidirectional two-layer encoder on a .npy of
// (N, T, F), a GRU on a CSV series cut into windows, exported at opset
// 11 — and checks that config.json records the recipe and the
// standardisation, that ONNX Runtime runs the exported model as the Go
// forward pass does, and that a run resumed after its first epoch ends
// with the weights of an uninterrupted one, byte for byte.
func TestTrainSequence(t *testing.T) {
	tmp := t.TempDir()
	npy := filepath.Join(tmp, "x.npy")
	const n, steps = 48, 10
	x := make([]float32, n*steps*2)
	for i := range n {
		for j := range steps {
			x[(i*steps+j)*2] = float32(3 + 2*math.Sin(float64(i)+0.6*float64(j)))
			x[(i*steps+j)*2+1] = float32(math.Cos(float64(i) + 0.4*float64(j)))
		}
	}
	writeNPYArray(t, npy, []int{n, steps, 2}, x)
	var csv strings.Builder
	for i := range 200 {
		fmt.Fprintf(&csv, "%g\n", 10+5*math.Sin(0.3*float64(i)))
	}
	series := filepath.Join(tmp, "series.csv")
	if err := os.WriteFile(series, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		input   []int // per-sample shape of the check's input
		want    trainer.Sequence
		printed string
	}{
		{"lstm", []string{"--variant", "lstm", "--data", npy, "--hidden", "6", "--layers", "2", "--bidirectional", "--latent", "4"}, []int{steps, 2},
			trainer.Sequence{Steps: steps, Features: 2, Hidden: 6, Layers: 2, Bidirectional: true, Latent: 4}, `lstm autoencoder, input \[10 2\], code \[4\], loss mse\n  encoder  lstm 2→6, 2 layers, bidirectional\n  project  dense 12→4\n  repeat  ×10 steps\n  decoder  lstm 4→6, 2 layers\n  output  dense 6→2 per step\n`},
		{"gru windows", []string{"--variant", "gru", "--data", series, "--window", "16", "--stride", "4", "--hidden", "5", "--opset", "11"}, []int{16, 1},
			trainer.Sequence{Steps: 16, Features: 1, Hidden: 5, Layers: 1, Stride: 4}, `gru autoencoder, input \[16 1\], code \[5\], loss mse`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			whole, part := filepath.Join(t.TempDir(), "whole"), filepath.Join(t.TempDir(), "part")
			common := append(append([]string{"train"}, tc.args...), "--epochs", "3", "--batch", "8", "--seed", "2")
			code, out, errOut := runMain(append(common, "--out", whole)...)
			if code != 0 {
				t.Fatalf("train: %s%s", out, errOut)
			}
			if !regexp.MustCompile(tc.printed).MatchString(out) {
				t.Errorf("train printed %q, want %s", out, tc.printed)
			}
			cf, err := trainer.ReadConfig(whole)
			if err != nil {
				t.Fatal(err)
			}
			s := cf.Model.Sequence
			if s == nil || len(s.Mean) != tc.want.Features || len(s.Std) != tc.want.Features {
				t.Fatalf("config.json model.sequence: got %+v, want a mean and std per feature", s)
			}
			got := *s
			got.Mean, got.Std = nil, nil
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("config.json model.sequence: got %+v, want %+v", got, tc.want)
			}
			if code, out, errOut := runMain(append(common, "--out", part, "--epochs", "1")...); code != 0 {
				t.Fatalf("train 1 epoch: %s%s", out, errOut)
			}
			if code, out, errOut := runMain("train", "--resume", "--epochs", "3", "--out", part); code != 0 {
				t.Fatalf("resume: %s%s", out, errOut)
			}
			a, err := os.ReadFile(filepath.Join(whole, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(part, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Error("the resumed run's model.safetensors differs from the uninterrupted run's")
			}
			in := filepath.Join(t.TempDir(), "in.npy")
			vals := make([]float32, 5*tc.input[0]*tc.input[1])
			for i := range vals {
				vals[i] = float32(math.Sin(float64(i)))
			}
			writeNPYArray(t, in, append([]int{5}, tc.input...), vals)
			f, cout, _ := testFactory()
			if err := checkRun(&checkOptions{IO: f.IO, Model: whole, Inputs: []string{in}, Backends: []string{"ort", "go"}, Atol: 1e-5, Rtol: 1e-5}); err != nil {
				t.Fatalf("%v\n%s", err, cout.String())
			}
			if !strings.Contains(cout.String(), "ort vs go") || !strings.Contains(cout.String(), "all comparisons pass") {
				t.Errorf("check output:\n%s", cout.String())
			}
		})
	}
}

func TestTrainSequenceFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--variant", "lstm", "--hidden", "8,4"}, "--hidden [8 4]: --variant lstm takes one size"},
		{[]string{"--variant", "ae", "--window", "8"}, "--window applies to --variant [lstm gru]"},
		{[]string{"--variant", "gru", "--stride", "2"}, "--stride applies to a series cut into windows: give --window too"},
		{[]string{"--variant", "gru", "--layers", "0"}, "--layers must be at least 1, got 0"},
		{[]string{"--variant", "lstm", "--tied"}, "--tied does not apply to --variant lstm"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, errOut := runMain(append([]string{"train", "--data", "x.npy", "--out", t.TempDir()}, tc.args...)...)
			if code == 0 || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("got exit %d, %q; want an error containing %q", code, errOut, tc.wantErr)
			}
		})
	}
}

// TestSequenceStandardisationIsNoted: run, check, score and calibrate on a
// sequence model trained with standardisation say that its inputs must be
// standardised with the recorded mean and std (they feed the .npy as it
// is); a model trained without it gets no note.
func TestSequenceStandardisationIsNoted(t *testing.T) {
	tmp := t.TempDir()
	const n, steps = 24, 6
	x := make([]float32, n*steps)
	for i := range x {
		x[i] = float32(5 + 2*math.Sin(0.7*float64(i)))
	}
	data := filepath.Join(tmp, "x.npy")
	writeNPYArray(t, data, []int{n, steps, 1}, x)
	for _, standardize := range []bool{true, false} {
		dir := filepath.Join(tmp, fmt.Sprint(standardize))
		code, out, errOut := runMain("train", "--variant", "lstm", "--data", data, "--hidden", "3", "--epochs", "1", "--batch", "8",
			fmt.Sprintf("--standardize=%v", standardize), "--out", dir)
		if code != 0 {
			t.Fatalf("train: %s%s", out, errOut)
		}
		for _, args := range [][]string{
			{"run", filepath.Join(dir, "model.onnx"), "--input", data, "--output", filepath.Join(tmp, "y.npy")},
			{"check", dir, "--input", data},
			{"score", dir, "--input", data, "--output", filepath.Join(tmp, "s.npy")},
			{"calibrate", dir, "--input", data, "--contamination", "0.1"},
		} {
			code, out, errOut := runMain(args...)
			if code != 0 {
				t.Fatalf("%v: %s%s", args, out, errOut)
			}
			if got := strings.Contains(errOut, "takes inputs standardised per feature"); got != standardize {
				t.Errorf("%s, standardised %v: note printed %v:\n%s", args[0], standardize, got, errOut)
			}
		}
	}
}
