package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/trainer"
)

func TestNewCmdConvert(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"m.onnx", "--out", "d"}, ""},
		{[]string{"m.onnx", "--out", "d", "--split", "--code", "h"}, ""},
		{[]string{"--from-safetensors", "w.safetensors", "--config", "c.json", "--out", "d"}, ""},
		{[]string{"d", "--to-safetensors", "w.safetensors"}, ""},
		{[]string{"m.onnx"}, "give MODEL.onnx and --out DIR"},
		{[]string{"m.onnx", "--out", "d", "--code", "h"}, "--code goes with --split"},
		{[]string{"--from-safetensors", "w.safetensors", "--out", "d"}, "--from-safetensors takes --config and --out"},
		{[]string{"--to-safetensors", "w.safetensors"}, "--to-safetensors takes a model directory or ONNX file"},
	}
	for _, tt := range tests {
		parseArgs(t, newCmdConvert, tt.args, tt.wantErr)
	}
}

// TestConvertSplitsMLPConvAndVAEMeanGraphs imports PyTorch exports and
// checks, through ONNX Runtime, that decoder(encoder(x)) = model(x).
func TestConvertSplitsMLPConvAndVAEMeanGraphs(t *testing.T) {
	tests := []struct {
		file, code string
	}{
		{"mlp_ae.opset9.onnx", "[8]"},
		{"conv_transposed_ae.opset13.onnx", "[8 4 4]"},
		{"conv_dense_ae.opset17.onnx", "[16]"},
		{"vae_mean.opset13.onnx", "[4]"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "split")
			f, out, _ := testFactory()
			err := convertRun(&convertOptions{IO: f.IO, Source: filepath.Join(fixtures, tt.file), Out: dir, Split: true, Opset: 13})
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			re := regexp.MustCompile(`cut at code \Q` + tt.code + `\E; decoder\(encoder\(x\)\) against the model: max \|Δ\| (0|\d\.\d+e-0[6-9])\n$`)
			if !re.MatchString(out.String()) {
				t.Errorf("output:\n%s", out)
			}
			for _, name := range []string{"config.json", "model.safetensors", "encoder.onnx", "decoder.onnx"} {
				if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestConvertWritesNothingOnFailure: a conversion that fails — a split of
// a graph that is not a full autoencoder (the Keras-style conv fixture,
// whose output is smaller than its input), or a --code that is no cut
// point — leaves no output directory and no staging folder behind.
func TestConvertWritesNothingOnFailure(t *testing.T) {
	tests := []struct {
		name, file, code, wantSub string
	}{
		{"split of an encoder graph", "conv_keras_ae.opset13.onnx", "", "--split needs a full autoencoder; ../../testdata/pytorch/conv_keras_ae.opset13.onnx gives [1 8 8] from [1 12 12], not its input's size (an encoder or a decoder?); nothing written"},
		{"code that is no tensor", "mlp_ae.opset13.onnx", "h", `convert: ../../testdata/pytorch/mlp_ae.opset13.onnx: code "h" names no tensor of the graph`},
		{"code at the output", "mlp_ae.opset13.onnx", "y", `--split at "y": export: graph: tensor "y": cut: every graph output is computed before it; nothing written`},
		{"code at the input", "mlp_ae.opset13.onnx", "x", `--split at "x": export: graph: tensor "x": cut: a graph input, not a tensor a node computes; nothing written`},
		{"code in an encoder graph", "vae_encoder.opset13.onnx", "h", `convert: ../../testdata/pytorch/vae_encoder.opset13.onnx: code "h" names no tensor of the graph`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "model")
			f, _, _ := testFactory()
			err := convertRun(&convertOptions{IO: f.IO, Source: filepath.Join(fixtures, tt.file), Out: dir, Split: true, Code: tt.code, Opset: 13})
			if err == nil || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("got %v, want an error containing %q", err, tt.wantSub)
			}
			if entries, _ := os.ReadDir(parent); len(entries) != 0 {
				t.Errorf("got %v in the output's folder, want nothing", entries)
			}
		})
	}
}

// TestConvertIntoExistingDirectory: converting into a directory that
// exists adds the model's files beside what is there, and leaves no
// staging folder.
func TestConvertIntoExistingDirectory(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "model")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, out, _ := testFactory()
	if err := convertRun(&convertOptions{IO: f.IO, Source: filepath.Join(fixtures, "mlp_ae.opset13.onnx"), Out: dir, Split: true, Opset: 13}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var got []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if want := []string{"config.json", "decoder.onnx", "encoder.onnx", "model.safetensors", "notes.txt"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", got, want)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 1 {
		t.Errorf("got %v in the output's folder, want only model", entries)
	}
	if !strings.Contains(out.String(), "wrote "+filepath.Join(dir, "encoder.onnx")+" and "+filepath.Join(dir, "decoder.onnx")) {
		t.Errorf("output names the staging folder, not %s:\n%s", dir, out)
	}
}

// TestFineTuneImportedPyTorchModel imports PyTorch's MLP autoencoder, trains
// it on new data (8×8 crops of Fashion-MNIST images) and checks that the
// loss falls and that the re-exported model runs in ONNX Runtime as it does
// in Go.
func TestFineTuneImportedPyTorchModel(t *testing.T) {
	imported := filepath.Join(t.TempDir(), "imported")
	f, _, _ := testFactory()
	if err := convertRun(&convertOptions{IO: f.IO, Source: filepath.Join(fixtures, "mlp_ae.opset13.onnx"), Out: imported}); err != nil {
		t.Fatal(err)
	}
	tr, err := loadData(trainer.TrainConfig{Data: "fashion-mnist", Limit: 600}, false)
	if err != nil {
		t.Fatal(err)
	}
	crops := make([]float32, 0, 600*64)
	for i := 0; i < 600; i++ {
		img := tr.train.Data[i*784 : (i+1)*784]
		for r := 10; r < 18; r++ {
			crops = append(crops, img[r*28+10:r*28+18]...)
		}
	}
	data := filepath.Join(t.TempDir(), "crops.npy")
	writeNPYArray(t, data, []int{600, 64}, crops)

	tuned := filepath.Join(t.TempDir(), "tuned")
	f, out, _ := testFactory()
	opts := &trainOptions{IO: f.IO, Out: tuned, Opset: 17, From: imported,
		Training: trainer.TrainConfig{Optimizer: trainer.OptimizerConfig{Name: "adam", LR: 3e-3}, Epochs: 5, Batch: 32, Seed: 1, ValSplit: 0.2, Data: data}}
	if err := trainRun(opts); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	before, _, _ := trainer.Load(imported)
	after, _, _ := trainer.Load(tuned)
	x := &trainer.Tensor{Shape: []int{600, 64}, Data: crops}
	lb, _ := trainer.Evaluate(before, x, 600)
	la, _ := trainer.Evaluate(after, x, 600)
	t.Logf("loss on the new data: %.5f before, %.5f after fine-tuning", lb, la)
	if la > 0.8*lb {
		t.Errorf("fine-tuning did not lower the loss clearly: %.5f → %.5f", lb, la)
	}
	f, out, _ = testFactory()
	if err := checkRun(&checkOptions{IO: f.IO, Model: tuned, Inputs: []string{data}, Backends: []string{"ort", "go"}, Atol: 1e-5, Rtol: 1e-5}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestConvertFromPyTorchSafetensors loads the state_dict PyTorch's VAE-mean
// fixture was saved with (names fc1, fc21, fc22, fc3, fc4) into the
// trainer's VAE of that shape and checks the Go forward pass (through μ)
// against PyTorch's output.
func TestConvertFromPyTorchSafetensors(t *testing.T) {
	c, err := trainer.MLP{Variant: "vae", Input: 64, Hidden: []int{32}, Latent: 4, Loss: trainer.BCE}.Config()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(trainer.File{Version: trainer.Version, Model: c})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vae.json")
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "model")
	f, stdout, _ := testFactory()
	if err := convertRun(&convertOptions{IO: f.IO, FromSafetensors: filepath.Join(fixtures, "vae_mean.safetensors"), Config: cfg, Out: out}); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"fc1.weight -> encoder.0.weight\n", "fc21.bias -> mu.bias\n", "fc22.weight -> logvar.weight\n", "fc4.bias -> decoder.2.bias\n"} {
		if !strings.Contains(stdout.String(), line) {
			t.Errorf("output lacks %q:\n%s", line, stdout)
		}
	}
	m, _, err := trainer.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	x := readNPY(t, filepath.Join(fixtures, "vae_mean.in0.npy"))
	y := m.Forward(&trainer.Tensor{Shape: x.Shape, Data: x.Data})
	ref := readNPY(t, filepath.Join(fixtures, "vae_mean.out0.npy"))
	if d := maxAbsDiff(y.Data, ref.Data); d > 1e-5 {
		t.Errorf("max |Δ| against PyTorch = %g", d)
	}
}
