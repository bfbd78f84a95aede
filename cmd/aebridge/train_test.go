package main

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"

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
		{name: "labels on ae", args: []string{"--data", "x.npy", "--out", "d", "--labels", "y.npy"}, wantErr: "--arch and --labels apply to --variant vae, beta-vae and cvae"},
		{name: "conv vae with unpool", args: []string{"--data", "x.npy", "--out", "d", "--variant", "vae", "--arch", "conv", "--decoder", "unpool"}, wantErr: "a convolutional VAE needs --latent > 0 and a decoder that starts from z alone"},
		{name: "resume", args: []string{"--resume", "--out", "d", "--epochs", "30"}, check: func(t *testing.T, o *trainOptions) {
			if !o.Resume || o.Training.Epochs != 30 {
				t.Errorf("got resume %v epochs %d", o.Resume, o.Training.Epochs)
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
