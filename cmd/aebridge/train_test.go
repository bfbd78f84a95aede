package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/trainer"
)

func TestNewCmdTrain(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, o *trainOptions)
		wantErr string
	}{
		{name: "defaults", args: []string{"--data", "fashion-mnist", "--out", "d"}, check: func(t *testing.T, o *trainOptions) {
			want := trainer.TrainConfig{Optimizer: trainer.OptimizerConfig{Name: "adam", LR: 1e-3}, Epochs: 10, Batch: 128, Seed: 1, ValSplit: 0.1, Data: "fashion-mnist"}
			if !reflect.DeepEqual(o.Training, want) {
				t.Errorf("training: got %+v, want %+v", o.Training, want)
			}
			if o.Model.Variant != "ae" || !reflect.DeepEqual(o.Model.Hidden, []int{512, 256}) || o.Model.Latent != 32 || o.Model.Loss != "mse" || o.Opset != 13 {
				t.Errorf("model: got %+v opset %d", o.Model, o.Opset)
			}
		}},
		{name: "adamw decay is decoupled", args: []string{"--data", "x.npy", "--out", "d", "--optimizer", "adamw", "--weight-decay", "0.01", "--hidden", "", "--variant", "tied"}, check: func(t *testing.T, o *trainOptions) {
			if o.Training.Optimizer.WeightDecay != 0.01 || o.Model.Hidden != nil || o.Model.Variant != "tied" {
				t.Errorf("got %+v / %+v", o.Training, o.Model)
			}
		}},
		{name: "sgd decay is L2", args: []string{"--data", "x.npy", "--out", "d", "--optimizer", "sgd", "--momentum", "0.9", "--nesterov", "--weight-decay", "0.001"}, check: func(t *testing.T, o *trainOptions) {
			want := trainer.OptimizerConfig{Name: "sgd", LR: 1e-3, Momentum: 0.9, Nesterov: true, WeightDecay: 0.001}
			if o.Training.Optimizer != want {
				t.Errorf("got %+v, want %+v", o.Training.Optimizer, want)
			}
		}},
		{name: "init defaults to pytorch", args: []string{"--data", "x.npy", "--out", "d"}, check: func(t *testing.T, o *trainOptions) {
			if o.Init != trainer.InitPyTorch || o.From != "" {
				t.Errorf("got init %q, from %q; want init %q", o.Init, o.From, trainer.InitPyTorch)
			}
		}},
		{name: "init xavier", args: []string{"--data", "x.npy", "--out", "d", "--init", "xavier"}, check: func(t *testing.T, o *trainOptions) {
			if o.Init != trainer.InitXavier {
				t.Errorf("got init %q, want %q", o.Init, trainer.InitXavier)
			}
		}},
		{name: "unknown init", args: []string{"--data", "x.npy", "--out", "d", "--init", "orthogonal"}, wantErr: `--init "orthogonal": want one of pytorch, xavier, he, by-activation`},
		{name: "init given a directory", args: []string{"--data", "x.npy", "--out", "d", "--init", "."}, wantErr: `--init "." is a directory: --init names the weight initialisation (pytorch, xavier, he, by-activation); to fine-tune the model in a directory, use --from DIR`},
		{name: "from", args: []string{"--from", "run", "--data", "x.npy", "--out", "d", "--lr", "0.01"}, check: func(t *testing.T, o *trainOptions) {
			if o.From != "run" || o.Training.Optimizer.LR != 0.01 {
				t.Errorf("got from %q, lr %v", o.From, o.Training.Optimizer.LR)
			}
		}},
		{name: "from with init", args: []string{"--from", "run", "--data", "x.npy", "--out", "d", "--init", "he"}, wantErr: "--init cannot be changed with --from: the model comes from run"},
		{name: "from with model flags", args: []string{"--from", "run", "--data", "x.npy", "--out", "d", "--latent", "8"}, wantErr: "--latent cannot be changed with --from"},
		{name: "from with resume", args: []string{"--from", "run", "--resume", "--out", "d"}, wantErr: "--from and --resume do not go together"},
		{name: "resume with init", args: []string{"--resume", "--out", "d", "--init", "he"}, wantErr: "--init cannot be changed on --resume"},
		{name: "no out", args: []string{"--data", "mnist"}, wantErr: "--out DIR is required"},
		{name: "no data", args: []string{"--out", "d"}, wantErr: "--data is required"},
		{name: "bad hidden", args: []string{"--data", "mnist", "--out", "d", "--hidden", "64,x"}, wantErr: `--hidden "64,x": "x" is not a positive size`},
		{name: "bad activation", args: []string{"--data", "mnist", "--out", "d", "--activation", "swish"}, wantErr: `unknown activation "swish"`},
		{name: "linear with relu", args: []string{"--data", "mnist", "--out", "d", "--variant", "linear", "--activation", "relu"}, wantErr: "variant linear uses identity activations"},
		{name: "bad variant", args: []string{"--data", "mnist", "--out", "d", "--variant", "gan"}, wantErr: `unknown variant "gan"`},
		{name: "bad variant lists them all", args: []string{"--data", "mnist", "--out", "d", "--variant", "foo"},
			wantErr: `--variant: unknown variant "foo" (want one of ae, tied, linear, sparse-l1, sparse-kl, denoising, contractive, vae, beta-vae, cvae, iwae, infovae, wae, rae, conv, conv1d, lstm, gru)`},
		{name: "negative limit", args: []string{"--data", "mnist", "--out", "d", "--limit", "-3"}, wantErr: "--limit must not be negative, got -3 (0: all samples)"},
		{name: "latent 0", args: []string{"--data", "mnist", "--out", "d", "--latent", "0"}, wantErr: "--latent must be at least 1, got 0"},
		{name: "latent 0 on a VAE", args: []string{"--data", "mnist", "--out", "d", "--variant", "vae", "--latent", "0"}, wantErr: "--latent must be at least 1, got 0"},
		{name: "latent 0 on a conv VAE", args: []string{"--data", "mnist", "--out", "d", "--variant", "vae", "--arch", "conv", "--latent", "0"}, wantErr: "--latent must be at least 1, got 0"},
		{name: "negative latent on conv", args: []string{"--data", "mnist", "--out", "d", "--variant", "conv", "--latent", "-2"}, wantErr: "--latent must not be negative, got -2 (0: no dense bottleneck)"},
		{name: "latent 0 on conv", args: []string{"--data", "x.npy", "--out", "d", "--variant", "conv", "--latent", "0"}, check: func(t *testing.T, o *trainOptions) {
			if o.Model.Latent != 0 {
				t.Errorf("latent: got %d, want 0", o.Model.Latent)
			}
		}},
		{name: "bad loss", args: []string{"--data", "mnist", "--out", "d", "--loss", "l1"}, wantErr: `unknown loss "l1"`},
		{name: "bad lr", args: []string{"--data", "mnist", "--out", "d", "--lr", "-1"}, wantErr: "learning rate -1 must be positive"},
		{name: "patience without validation", args: []string{"--data", "mnist", "--out", "d", "--patience", "3", "--val-split", "0"}, wantErr: "early stopping (patience 3) needs a validation split"},
		{name: "resume with model flags", args: []string{"--resume", "--out", "d", "--latent", "8"}, wantErr: "--latent cannot be changed on --resume"},
		{name: "sparse-l1 tied", args: []string{"--data", "x.npy", "--out", "d", "--variant", "sparse-l1", "--l1", "0.001", "--tied"}, check: func(t *testing.T, o *trainOptions) {
			if o.Training.Reg.L1 != 0.001 || !o.Model.Tied {
				t.Errorf("got %+v, tied %v", o.Training.Reg, o.Model.Tied)
			}
		}},
		{name: "denoising with alpha", args: []string{"--data", "x.npy", "--out", "d", "--variant", "denoising", "--noise", "gaussian", "--noise-level", "0.2", "--noise-clip", "--alpha", "0"}, check: func(t *testing.T, o *trainOptions) {
			r := o.Training.Reg
			if r.Noise != "gaussian" || r.NoiseLevel != 0.2 || !r.NoiseClip || r.Alpha == nil || *r.Alpha != 0 {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "denoising without alpha", args: []string{"--data", "x.npy", "--out", "d", "--variant", "denoising", "--noise", "mask", "--noise-level", "0.3"}, check: func(t *testing.T, o *trainOptions) {
			if o.Training.Reg.Alpha != nil {
				t.Errorf("alpha set without --alpha: %v", *o.Training.Reg.Alpha)
			}
		}},
		{name: "sparse-kl defaults to a sigmoid code", args: []string{"--data", "x.npy", "--out", "d", "--variant", "sparse-kl", "--rho", "0.05", "--sparsity-weight", "0.1"}, check: func(t *testing.T, o *trainOptions) {
			o.Model.Input = 4
			c, err := o.Model.Config()
			if err != nil || c.Encoder[len(c.Encoder)-1].Type != "sigmoid" {
				t.Errorf("code layer: %+v, %v", c.Encoder, err)
			}
		}},
		{name: "sparse-l1 without l1", args: []string{"--data", "x.npy", "--out", "d", "--variant", "sparse-l1"}, wantErr: "variant sparse-l1 needs an L1 weight λ > 0 (--l1)"},
		{name: "l1 on another variant", args: []string{"--data", "x.npy", "--out", "d", "--l1", "0.1"}, wantErr: "an L1 weight (--l1) applies to variant sparse-l1, not ae"},
		{name: "kl with relu code", args: []string{"--data", "x.npy", "--out", "d", "--variant", "sparse-kl", "--rho", "0.05", "--sparsity-weight", "0.1", "--code-activation", "relu"}, wantErr: `sparse-kl needs code activations in (0, 1), a sigmoid code layer; got code activation "relu"`},
		{name: "rho out of range", args: []string{"--data", "x.npy", "--out", "d", "--variant", "sparse-kl", "--rho", "1.5", "--sparsity-weight", "0.1"}, wantErr: "target rate ρ = 1.5 must be in (0, 1)"},
		{name: "mask level out of range", args: []string{"--data", "x.npy", "--out", "d", "--variant", "denoising", "--noise", "mask", "--noise-level", "1"}, wantErr: "mask noise level (probability) 1 must be in (0, 1)"},
		{name: "alpha out of range", args: []string{"--data", "x.npy", "--out", "d", "--variant", "denoising", "--noise", "mask", "--noise-level", "0.2", "--alpha", "2"}, wantErr: "α = 2 must be in [0, 1]"},
		{name: "contractive weight negative", args: []string{"--data", "x.npy", "--out", "d", "--variant", "contractive", "--contractive", "-1"}, wantErr: "contractive weight -1 must not be negative"},
		{name: "noise on contractive", args: []string{"--data", "x.npy", "--out", "d", "--variant", "contractive", "--contractive", "0.1", "--noise", "mask", "--noise-level", "0.1"}, wantErr: "applies to variant denoising, not contractive"},
		{name: "conv defaults", args: []string{"--data", "fashion-mnist", "--out", "d", "--variant", "conv"}, check: func(t *testing.T, o *trainOptions) {
			want := trainer.ConvNet{Channels: []int{16, 8, 8}, Kernel: 3, Stride: 1, Pool: "max", Decoder: "upsample"}
			if !reflect.DeepEqual(o.Conv, want) || o.Model.Latent != 0 {
				t.Errorf("got %+v, latent %d; want %+v, latent 0", o.Conv, o.Model.Latent, want)
			}
		}},
		{name: "conv1d keras time series", args: []string{"--data", "x.npy", "--out", "d", "--variant", "conv1d", "--channels", "32,16", "--kernel", "7", "--stride", "2", "--pool", "none", "--decoder", "transposed", "--dropout", "0.2", "--latent", "12"}, check: func(t *testing.T, o *trainOptions) {
			want := trainer.ConvNet{Channels: []int{32, 16}, Kernel: 7, Stride: 2, Pool: "none", Decoder: "transposed", Dropout: 0.2}
			if !reflect.DeepEqual(o.Conv, want) || o.Model.Latent != 12 {
				t.Errorf("got %+v, latent %d", o.Conv, o.Model.Latent)
			}
		}},
		{name: "conv with hidden", args: []string{"--data", "x.npy", "--out", "d", "--variant", "conv", "--hidden", "64"}, wantErr: "--hidden does not apply to --variant conv"},
		{name: "channels on an MLP", args: []string{"--data", "x.npy", "--out", "d", "--channels", "8"}, wantErr: "--channels applies to --variant conv and conv1d"},
		{name: "unpool without max pooling", args: []string{"--data", "x.npy", "--out", "d", "--variant", "conv", "--decoder", "unpool", "--pool", "avg"}, wantErr: "the unpool decoder needs --pool max and stride 1"},
		{name: "conv contractive", args: []string{"--data", "x.npy", "--out", "d", "--variant", "conv", "--contractive", "0.1"}, wantErr: "--contractive does not apply to --variant conv"},
		{name: "vae defaults to bce", args: []string{"--data", "x.npy", "--out", "d", "--variant", "vae", "--hidden", "400", "--latent", "20"}, check: func(t *testing.T, o *trainOptions) {
			if o.Model.Loss != trainer.BCE || o.Arch != "mlp" || o.Training.Reg.Beta != 0 {
				t.Errorf("got loss %s arch %s beta %v", o.Model.Loss, o.Arch, o.Training.Reg.Beta)
			}
		}},
		{name: "beta-vae conv", args: []string{"--data", "x.npy", "--out", "d", "--variant", "beta-vae", "--beta", "4", "--arch", "conv", "--channels", "8,16", "--decoder", "transposed", "--latent", "10"}, check: func(t *testing.T, o *trainOptions) {
			if o.Training.Reg.Beta != 4 || o.Arch != "conv" || o.Model.Latent != 10 {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "vae with beta", args: []string{"--data", "x.npy", "--out", "d", "--variant", "vae", "--beta", "2"}, wantErr: "variant vae has β = 1; for β = 2 use --variant beta-vae"},
		{name: "beta-vae without beta", args: []string{"--data", "x.npy", "--out", "d", "--variant", "beta-vae"}, wantErr: "variant beta-vae needs a KL weight β > 0 (--beta)"},
		{name: "beta on ae", args: []string{"--data", "x.npy", "--out", "d", "--beta", "2"}, wantErr: "applies to variants beta-vae and cvae, not ae"},
		{name: "labels on ae", args: []string{"--data", "x.npy", "--out", "d", "--labels", "y.npy"}, wantErr: "--arch and --labels apply to --variant vae, beta-vae, cvae, iwae and infovae"},
		{name: "conv vae with unpool", args: []string{"--data", "x.npy", "--out", "d", "--variant", "vae", "--arch", "conv", "--decoder", "unpool"}, wantErr: "a convolutional VAE needs --latent > 0 and a decoder that starts from z alone"},
		{name: "resume", args: []string{"--resume", "--out", "d", "--epochs", "30"}, check: func(t *testing.T, o *trainOptions) {
			if !o.Resume || o.Training.Epochs != 30 || !o.epochsSet {
				t.Errorf("got resume %v epochs %d (given %v)", o.Resume, o.Training.Epochs, o.epochsSet)
			}
		}},
		{name: "resume to the recorded epochs", args: []string{"--resume", "--out", "d"}, check: func(t *testing.T, o *trainOptions) {
			if !o.Resume || o.epochsSet {
				t.Errorf("got resume %v, epochs given %v; want true, false", o.Resume, o.epochsSet)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseArgs(t, newCmdTrain, tt.args, tt.wantErr)
			if got == nil {
				return
			}
			tt.check(t, got)
		})
	}
}

// TestTrainRunThenExportAndCheck trains a small model on Fashion-MNIST,
// then exports it and checks ONNX Runtime against the Go forward pass.
func TestTrainRunThenExportAndCheck(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	f, out, _ := testFactory()
	opts := &trainOptions{IO: f.IO, Out: dir, Opset: 13,
		Model:    trainer.MLP{Variant: "tied", Hidden: []int{32}, Latent: 4, Loss: trainer.BCE},
		Training: trainer.TrainConfig{Optimizer: trainer.OptimizerConfig{Name: "adam", LR: 1e-3}, Epochs: 2, Batch: 64, Seed: 1, ValSplit: 0.2, Data: "fashion-mnist", Limit: 400},
	}
	if err := trainRun(opts); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, re := range []string{
		`(?m)^tied autoencoder, input \[784\], code \[4\], loss bce$`,
		`(?m)^  decoder.0  dense 4→32 \(weight tied to encoder.2\)$`,
		`(?m)^training on fashion-mnist: 400 samples of 784 features \(80 held out for validation\), 2 epochs, batch 64$`,
		`(?m)^epoch 2: train loss 0\.\d+, best validation loss 0\.\d+ \(epoch 2\)$`,
		`(?m)^test loss \(bce\): 0\.\d+ per element, \d+\.\d+ per sample \(10000 samples\)$`,
	} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("output lacks %s:\n%s", re, text)
		}
	}
	for _, name := range []string{"config.json", "model.safetensors", "model.onnx", "encoder.onnx", "decoder.onnx", "train_state.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	// config.json records the initialisation: the default scheme, --seed.
	if cf, err := trainer.ReadConfig(dir); err != nil {
		t.Error(err)
	} else if cf.Model.Init != trainer.InitPyTorch || cf.Model.InitSeed != 1 {
		t.Errorf("config.json: got init %q seed %d, want %q seed 1", cf.Model.Init, cf.Model.InitSeed, trainer.InitPyTorch)
	}
	mf, err := os.Open(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	lines := 0
	for sc := bufio.NewScanner(mf); sc.Scan(); lines++ {
	}
	if lines != 2 {
		t.Errorf("metrics.jsonl: got %d lines, want 2", lines)
	}

	// Export at another opset and check the trained directory both ways.
	f, out, _ = testFactory()
	enc := filepath.Join(t.TempDir(), "enc.onnx")
	if err := exportRun(&exportOptions{IO: f.IO, Dir: dir, Out: enc, Part: "encoder", Opset: 17}); err != nil {
		t.Fatal(err)
	}
	if want := "wrote " + enc + " (encoder graph, opset 17)\n"; out.String() != want {
		t.Errorf("export: got %q, want %q", out.String(), want)
	}
	x := filepath.Join(t.TempDir(), "x.npy")
	writeNPY(t, x, []int{3, 784}, 0.25)
	f, out, _ = testFactory()
	if err := checkRun(&checkOptions{IO: f.IO, Model: dir, Inputs: []string{x}, Backends: []string{"ort", "go"}, Atol: 1e-5, Rtol: 1e-5}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !regexp.MustCompile(`(?s)^output x_hat \[3 784\]\n  ort vs go +max abs \d\.\d{3}e-0[6-9] .* PASS\nall comparisons pass`).MatchString(out.String()) {
		t.Errorf("check output:\n%s", out.String())
	}
}

// TestTrainRunConvolutional trains a small convolutional autoencoder with
// a max-unpooling decoder on Fashion-MNIST images and checks ONNX Runtime
// against the Go forward pass on the exported model.
func TestTrainRunConvolutional(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "conv")
	f, out, _ := testFactory()
	opts := &trainOptions{IO: f.IO, Out: dir, Opset: 13,
		Model:    trainer.MLP{Variant: "conv", Loss: trainer.BCE},
		Conv:     trainer.ConvNet{Channels: []int{4, 4}, Kernel: 3, Stride: 1, Pool: "max", Decoder: "unpool", BatchNorm: true},
		Training: trainer.TrainConfig{Optimizer: trainer.OptimizerConfig{Name: "adam", LR: 1e-3}, Epochs: 1, Batch: 32, Seed: 1, ValSplit: 0.1, Data: "fashion-mnist", Limit: 200},
	}
	if err := trainRun(opts); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^conv autoencoder, input \[1 28 28\], code \[4 7 7\], loss bce$`).MatchString(out.String()) {
		t.Errorf("output:\n%s", out.String())
	}
	x := filepath.Join(t.TempDir(), "x.npy")
	writeNPY(t, x, []int{2, 1, 28, 28}, 0.5)
	f, out, _ = testFactory()
	if err := checkRun(&checkOptions{IO: f.IO, Model: dir, Inputs: []string{x}, Backends: []string{"ort", "go"}, Atol: 1e-5, Rtol: 1e-5}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
}

// TestTrainRecordsInputScaling trains on a uint8 .npy (scaled by 1/255 on
// loading) and checks that the exported graphs record the rule and the
// range of the values trained on.
func TestTrainRecordsInputScaling(t *testing.T) {
	tmp := t.TempDir()
	data := make([]uint8, 40*16)
	for i := range data {
		data[i] = uint8(51 + i%103) // 51 to 153: [0.2, 0.6] once scaled
	}
	x := filepath.Join(tmp, "x.npy")
	writeUint8NPY(t, x, []int{40, 16}, data)
	dir := filepath.Join(tmp, "run")
	f, _, _ := testFactory()
	opts := &trainOptions{IO: f.IO, Out: dir, Opset: 13,
		Model:    trainer.MLP{Variant: "ae", Hidden: []int{8}, Latent: 2},
		Training: trainer.TrainConfig{Optimizer: trainer.OptimizerConfig{Name: "adam", LR: 1e-3}, Epochs: 1, Batch: 8, Seed: 1, Data: x},
	}
	if err := trainRun(opts); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"model.onnx": "[0.2,0.6]", "encoder.onnx": "[0.2,0.6]", "decoder.onnx": ""}
	for file, wantRange := range want {
		info, err := runtime.Inspect(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		wantScale := "1/255"
		if wantRange == "" {
			wantScale = ""
		}
		if got := info.Metadata[runtime.InputScaleKey]; got != wantScale {
			t.Errorf("%s: %s: got %q, want %q", file, runtime.InputScaleKey, got, wantScale)
		}
		if got := info.Metadata[runtime.InputRangeKey]; got != wantRange {
			t.Errorf("%s: %s: got %q, want %q", file, runtime.InputRangeKey, got, wantRange)
		}
	}
}

// TestTrainVariantsAreBuilt checks that every variant --variant lists is
// one the trainer builds: the MLP ones through trainer.MLP, the others
// through trainer.ConvNet.
func TestTrainVariantsAreBuilt(t *testing.T) {
	for _, v := range trainVariants() {
		t.Run(v, func(t *testing.T) {
			var err error
			if sequenceVariant(v) {
				_, err = trainer.Build(trainer.Config{Variant: v, Input: []int{4, 1}, Loss: trainer.MSE, Sequence: &trainer.Sequence{Steps: 4, Features: 1, Hidden: 2, Layers: 1}})
			} else if convVariant(v) {
				input := []int{1, 8, 8}
				if v == "conv1d" {
					input = []int{1, 16}
				}
				_, err = trainer.ConvNet{Variant: v, Input: input, Channels: []int{2}, Kernel: 3}.Config()
			} else {
				o := trainer.MLP{Variant: v, Input: 8, Latent: 2}
				if v == "cvae" {
					o.Condition = 2
				}
				_, err = o.Config()
			}
			if err != nil {
				t.Errorf("got %v, want the trainer to build variant %s", err, v)
			}
		})
	}
}

// tinyRun writes 200 random rows of 16 features to a .npy file and returns
// the command line of a fast 3-epoch run on them into dir.
func tinyRun(t *testing.T, dir string) []string {
	t.Helper()
	x := filepath.Join(t.TempDir(), "x.npy")
	rng := rand.New(rand.NewPCG(5, 6))
	data := make([]float32, 200*16)
	for i := range data {
		data[i] = rng.Float32()
	}
	writeNPYArray(t, x, []int{200, 16}, data)
	return []string{"train", "--data", x, "--out", dir, "--hidden", "8", "--latent", "2", "--epochs", "3", "--batch", "16", "--val-split", "0.25", "--seed", "3"}
}

// runMain runs the command line in this process and returns its exit
// status, standard output and standard error.
func runMain(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := mainRun(args, &bytes.Buffer{}, &out, &errOut)
	return code, out.String(), errOut.String()
}

// dirFiles returns the content and modification time of every file in dir.
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = info.ModTime().String() + "\n" + string(b)
	}
	return files
}

// matchOutput checks text against the patterns, one a line; a pattern is
// literal text where "#" stands for a number.
func matchOutput(t *testing.T, what, text string, patterns ...string) {
	t.Helper()
	var re []string
	for _, p := range patterns {
		re = append(re, strings.ReplaceAll(regexp.QuoteMeta(p), "#", `[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?`))
	}
	want := "^" + strings.Join(re, "\n") + "\n$"
	if len(patterns) == 0 {
		want = "^$"
	}
	if !regexp.MustCompile(want).MatchString(text) {
		t.Errorf("%s: got\n%s\nwant lines matching\n%s", what, text, strings.Join(patterns, "\n"))
	}
}

// TestTrainResumeTargets: --resume continues to the recorded number of
// epochs unless --epochs says otherwise; a target below what is done is an
// error and one equal to it leaves the directory untouched.
func TestTrainResumeTargets(t *testing.T) {
	// A complete 3-epoch run, one stopped early at epoch 3 of 8, and one
	// stopped by the library after its first checkpoint.
	complete, stopped := filepath.Join(t.TempDir(), "run"), filepath.Join(t.TempDir(), "stopped")
	args := tinyRun(t, complete)
	if code, _, errOut := runMain(args...); code != 0 {
		t.Fatal(errOut)
	}
	// The old default initialisation, under which this run stops at epoch 3.
	if code, out, errOut := runMain(append(args[:len(args):len(args)], "--out", stopped, "--epochs", "8", "--lr", "0.3", "--patience", "1", "--init", "by-activation")...); code != 0 || !strings.Contains(out, "stopped early after epoch 3; keeping epoch 2\n") {
		t.Fatalf("the early-stopped run: %s%s", out, errOut)
	}
	data := args[2]
	tests := []struct {
		name    string
		partial bool   // start from the checkpoint of epoch 1 of 3
		from    string // else a copy of this run
		remove  string // a file to remove from the copy, as a kill would leave it missing
		args    []string
		code    int
		out     []string // want, "#" for a number
		errOut  []string
		epochs  int // epochs the checkpoint holds afterwards; 0: the directory must be unchanged
	}{
		{name: "to the recorded target", partial: true, args: []string{"--resume"}, epochs: 3, out: []string{
			"training on " + data + ": 200 samples of 16 features (50 held out for validation), 3 epochs, batch 16",
			"epoch 3: train loss #, best validation loss # (epoch #)",
			"wrote DIR: config.json model.safetensors model.onnx encoder.onnx decoder.onnx metrics.jsonl loss.png reconstructions.png codes.png"},
			errOut: []string{"epoch 2/3  train loss #  val loss #  #s", "epoch 3/3  train loss #  val loss #  #s"}},
		{name: "past the recorded target", args: []string{"--resume", "--epochs", "5"}, epochs: 5, out: []string{
			"training on " + data + ": 200 samples of 16 features (50 held out for validation), 5 epochs, batch 16",
			"epoch 5: train loss #, best validation loss # (epoch #)",
			"wrote DIR: config.json model.safetensors model.onnx encoder.onnx decoder.onnx metrics.jsonl loss.png reconstructions.png codes.png"},
			errOut: []string{"epoch 4/5  train loss #  val loss #  #s", "epoch 5/5  train loss #  val loss #  #s"}},
		{name: "nothing left", args: []string{"--resume"}, out: []string{"nothing to do: DIR holds all 3 epochs"}},
		{name: "stopped early", from: stopped, args: []string{"--resume", "--epochs", "20"}, out: []string{"nothing to do: the run in DIR stopped early after epoch 3, keeping epoch 2"}},
		{name: "killed before the final files", remove: "encoder.onnx", args: []string{"--resume"}, epochs: 3, out: []string{
			"finishing DIR: its run was interrupted after the checkpoint of its last epoch, 3",
			"wrote DIR: config.json model.safetensors model.onnx encoder.onnx decoder.onnx metrics.jsonl loss.png reconstructions.png codes.png"}},
		{name: "target reached", args: []string{"--resume", "--epochs", "3"}, out: []string{"nothing to do: DIR holds all 3 epochs"}},
		{name: "target below what is done", args: []string{"--resume", "--epochs", "2"}, code: 1,
			errOut: []string{"aebridge: --epochs 2 is below the 3 epochs the checkpoint in DIR holds"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			switch {
			case tt.partial:
				stopAfterFirstEpoch(t, args, dir)
			case tt.from != "":
				if err := os.CopyFS(dir, os.DirFS(tt.from)); err != nil {
					t.Fatal(err)
				}
			default:
				if err := os.CopyFS(dir, os.DirFS(complete)); err != nil {
					t.Fatal(err)
				}
			}
			if tt.remove != "" {
				if err := os.Remove(filepath.Join(dir, tt.remove)); err != nil {
					t.Fatal(err)
				}
			}
			before := dirFiles(t, dir)
			code, out, errOut := runMain(append([]string{"train", "--out", dir}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit status: got %d, want %d\n%s", code, tt.code, errOut)
			}
			fill := func(p []string) []string {
				var r []string
				for _, s := range p {
					r = append(r, strings.ReplaceAll(s, "DIR", dir))
				}
				return r
			}
			matchOutput(t, "output", out, fill(tt.out)...)
			matchOutput(t, "errors", errOut, fill(tt.errOut)...)
			if tt.epochs == 0 {
				if after := dirFiles(t, dir); !reflect.DeepEqual(after, before) {
					t.Errorf("the directory changed")
				}
				return
			}
			ck, err := trainer.ReadCheckpoint(dir)
			if err != nil || ck.Epoch != tt.epochs || ck.File.Training.Epochs != tt.epochs {
				t.Errorf("checkpoint: got %+v, %v; want %d epochs of %d", ck, err, tt.epochs, tt.epochs)
			}
			b, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
			if n := strings.Count(string(b), "\n"); err != nil || n != tt.epochs {
				t.Errorf("metrics.jsonl: got %d lines (%v), want %d", n, err, tt.epochs)
			}
			if tt.remove != "" {
				after := dirFiles(t, dir)
				for name, content := range dirFiles(t, complete) {
					_, got, _ := strings.Cut(after[name], "\n")
					if _, want, _ := strings.Cut(content, "\n"); got != want {
						t.Errorf("%s differs from the uninterrupted run's", name)
					}
				}
			}
		})
	}
}

// stopAfterFirstEpoch leaves in dir the checkpoint of epoch 1 of the run
// of args, as an interruption after it would: it trains the model the
// command builds, with the command's configuration, through the library.
func stopAfterFirstEpoch(t *testing.T, args []string, dir string) {
	t.Helper()
	opts := parseArgs(t, newCmdTrain, append(args[1:len(args):len(args)], "--out", dir), "")
	data, err := loadData(opts.Training, false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := opts.modelConfig(data.shape)
	if err != nil {
		t.Fatal(err)
	}
	m, err := trainer.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(opts.Training.Seed)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	metrics, err := os.Create(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer metrics.Close()
	stop := errors.New("stop")
	_, err = trainer.Fit(m, data.train, opts.Training, trainer.FitOptions{Dir: dir, Metrics: metrics, OnEpoch: func(trainer.EpochMetrics) error { return stop }})
	if !errors.Is(err, stop) {
		t.Fatal(err)
	}
}

func TestTrainResumeWithoutCheckpoint(t *testing.T) {
	for _, files := range [][]string{nil, {"config.json"}, {"config.json", "model.safetensors", ".train_state.safetensors.tmp123"}} {
		t.Run(fmt.Sprintf("%d files", len(files)), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if err := os.WriteFile(filepath.Join(dir, f), []byte("{}"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errOut := runMain("train", "--resume", "--out", dir)
			want := "aebridge: no checkpoint yet in " + dir + ": start without --resume\n"
			if code != 1 || out != "" || errOut != want {
				t.Errorf("got status %d, output %q, errors %q; want 1, none, %q", code, out, errOut, want)
			}
		})
	}
}

// TestTrainProgress: without a terminal, the command prints one plain line
// per epoch; on one, a bar redrawn in place.
func TestTrainProgress(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	code, _, errOut := runMain(tinyRun(t, dir)...)
	if code != 0 {
		t.Fatal(errOut)
	}
	if strings.ContainsAny(errOut, "\r\033") {
		t.Errorf("escape sequences in %q", errOut)
	}
	matchOutput(t, "errors", errOut, "epoch 1/3  train loss #  val loss #  #s", "epoch 2/3  train loss #  val loss #  #s", "epoch 3/3  train loss #  val loss #  #s")

	code, _, errOut = runMain(append(tinyRun(t, filepath.Join(t.TempDir(), "quiet")), "--quiet")...)
	if code != 0 || errOut != "" {
		t.Errorf("--quiet: status %d, errors %q; want 0 and nothing", code, errOut)
	}

	var b strings.Builder
	clock := time.Unix(0, 0)
	bar := &progressBar{w: &b, terminal: true, val: true, batch: 10, rows: 55, now: func() time.Time { return clock }}
	bar.draw(trainer.Progress{Epoch: 1, Epochs: 2, Step: 1, Steps: 6, Loss: 0.5})
	clock = clock.Add(2 * time.Second)
	bar.draw(trainer.Progress{Epoch: 1, Epochs: 2, Step: 3, Steps: 6, Loss: 0.25})
	bar.draw(trainer.Progress{Epoch: 1, Epochs: 2, Step: 6, Steps: 6, Loss: 0.2, Metrics: &trainer.EpochMetrics{TrainLoss: 0.2, ValLoss: 0.3, Seconds: 1.25}})
	want := "\r\033[Kepoch 1/2 [=====                         ]  16%  loss 0.50000" +
		"\r\033[Kepoch 1/2 [===============               ]  50%  loss 0.25000  10 samples/s" +
		"\r\033[Kepoch 1/2  train loss 0.20000  val loss 0.30000  1.2s\n"
	if b.String() != want {
		t.Errorf("terminal: got %q, want %q", b.String(), want)
	}
}

// TestTrainWarnsOfDivergence: a run whose loss ends above where it began
// finishes, with a warning on standard error.
func TestTrainWarnsOfDivergence(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	code, out, errOut := runMain(append(tinyRun(t, dir), "--optimizer", "sgd", "--lr", "1e6")...)
	if code != 0 {
		t.Fatalf("status %d: %s", code, errOut)
	}
	matchOutput(t, "errors", errOut, "epoch 1/3  train loss #  val loss #  #s", "epoch 2/3  train loss #  val loss #  #s", "epoch 3/3  train loss #  val loss #  #s",
		"warning: the loss on the training data ended above where it began (# per element before training, # with the final weights): the run diverged; try a lower learning rate")
	if !strings.Contains(out, "wrote "+dir) {
		t.Errorf("output: %s", out)
	}
}

// TestTrainKilledThenResumed kills a training process (this test binary,
// re-executed as the command) with SIGKILL at several moments, then runs
// --resume: it finishes with the files of an uninterrupted run, or says
// that there is no checkpoint yet.
func TestTrainKilledThenResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ref := filepath.Join(t.TempDir(), "run")
	args := tinyRun(t, ref)
	if code, _, errOut := runMain(args...); code != 0 {
		t.Fatal(errOut)
	}
	final := []string{"config.json", "model.safetensors", "model.onnx", "encoder.onnx", "decoder.onnx"}
	// Kill after the child has printed this many epoch lines (3: during
	// the final writes), or after a delay from its start.
	moments := []string{"lines 0", "lines 1", "lines 2", "lines 3", "5ms", "30ms", "80ms"}
	for _, at := range moments {
		t.Run(at, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			child := exec.Command(os.Args[0], "-test.run=^TestTrainChild$", "-test.count=1")
			child.Env = append(os.Environ(), "AEBRIDGE_TRAIN_CHILD="+strings.Join(append(args[:len(args):len(args)], "--out", dir), "\x1f"))
			stderr, err := child.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			var n int
			if _, err := fmt.Sscanf(at, "lines %d", &n); err == nil {
				sc := bufio.NewScanner(stderr)
				for i := 0; i < n && sc.Scan(); i++ {
				}
			} else {
				d, err := time.ParseDuration(at)
				if err != nil {
					t.Fatal(err)
				}
				time.Sleep(d)
			}
			child.Process.Signal(syscall.SIGKILL)
			go io.Copy(io.Discard, stderr)
			child.Wait()

			code, out, errOut := runMain("train", "--resume", "--out", dir)
			if code != 0 {
				if want := "aebridge: no checkpoint yet in " + dir + ": start without --resume\n"; errOut != want {
					t.Fatalf("resume: status %d, errors %q; want 0 or %q", code, errOut, want)
				}
				t.Logf("killed before the first checkpoint")
				return
			}
			t.Logf("resumed: %s", strings.SplitN(out, "\n", 2)[0])
			for _, name := range final {
				want, err := os.ReadFile(filepath.Join(ref, name))
				if err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s differs from the uninterrupted run's (%v)", name, err)
				}
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("stale temporary file %s", e.Name())
				}
			}
			b, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
			if n := strings.Count(string(b), "\n"); err != nil || n != 3 {
				t.Errorf("metrics.jsonl: %d lines (%v), want 3", n, err)
			}
		})
	}
}

// TestTrainChild is the process TestTrainKilledThenResumed kills.
func TestTrainChild(t *testing.T) {
	env := os.Getenv("AEBRIDGE_TRAIN_CHILD")
	if env == "" {
		t.Skip("run by TestTrainKilledThenResumed")
	}
	os.Exit(mainRun(strings.Split(env, "\x1f"), os.Stdin, os.Stdout, os.Stderr))
}

// TestTrainRemovesStaleTemps: a run removes the temporary files that
// killed atomic writes of its files left, and nothing else.
func TestTrainRemovesStaleTemps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stale := []string{".metrics.jsonl.tmp1", ".model.onnx.tmp22", ".encoder.onnx.tmp333", ".decoder.onnx.tmp4444",
		".config.json.tmp5", ".model.safetensors.tmp66", ".train_state.safetensors.tmp777"}
	kept := []string{".keep", ".model.onnx.tmpx", "notes.txt"}
	for _, name := range append(stale, kept...) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, errOut := runMain(tinyRun(t, dir)...); code != 0 {
		t.Fatal(errOut)
	}
	for _, name := range stale {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: got %v, want it removed", name, err)
		}
	}
	for _, name := range kept {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: got %v, want it kept", name, err)
		}
	}
}

// TestTrainKeepsTheEpochItNames: an early-stopped run says which epoch it
// keeps, and its model holds that epoch's weights: those a run of exactly
// that many epochs ends with (the epochs do not depend on the target).
func TestTrainKeepsTheEpochItNames(t *testing.T) {
	stopped, short := filepath.Join(t.TempDir(), "stopped"), filepath.Join(t.TempDir(), "short")
	args := tinyRun(t, stopped)
	code, out, errOut := runMain(append(args, "--epochs", "8", "--lr", "0.3", "--patience", "1")...)
	if code != 0 || !strings.Contains(out, "stopped early after epoch 4; keeping epoch 3\n") {
		t.Fatalf("got %s%s, want a stop after epoch 4 keeping epoch 3", out, errOut)
	}
	if code, _, errOut := runMain(append(args, "--out", short, "--epochs", "3", "--lr", "0.3")...); code != 0 {
		t.Fatal(errOut)
	}
	a, err := os.ReadFile(filepath.Join(stopped, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(short, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("the weights kept are not those of epoch 3")
	}
}
