package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/aebridge/aebridge/codes"
	"github.com/aebridge/aebridge/dataset"
	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/internal/atomicfile"
	"github.com/aebridge/aebridge/plots"
	"github.com/aebridge/aebridge/trainer"
)

type trainOptions struct {
	IO       *iostreams
	Progress bool // draw a progress bar on IO.ErrOut

	Model    trainer.MLP     // the MLP family, and the settings conv models share
	Conv     trainer.ConvNet // variants conv and conv1d
	Seq      sequenceOptions // variants lstm and gru
	Training trainer.TrainConfig
	Out      string
	Opset    int
	// GMMComponents is how many Gaussians an rae's ex-post code density
	// (prior.json, which sample draws from) has.
	GMMComponents int
	Threads       int
	Resume        bool
	Arch          string // variational variants: mlp or conv
	Init          string // the weight initialisation scheme (trainer.InitSchemes)
	From          string // a model directory to start from (fine-tuning)
	lossSet       bool   // --loss was given

	// epochsSet: --epochs was given (a resumed run keeps its target
	// otherwise).
	epochsSet bool

	Quiet      bool // --quiet: no progress lines
	Plots      bool // --plots: loss.png, reconstructions.png and codes.png
	Scale      int  // --scale: pixels per value in reconstructions.png
	PlotImages int  // --plot-images: images in reconstructions.png

	// args are the flags given, as `--name=value`, for the commands that
	// continue an interrupted run.
	args []string
	// For tests: signals replaces the process's interrupt signal, afterStep
	// runs after every optimizer step's progress event (before the signals
	// are looked at), and plotted receives the numbers each picture is
	// drawn from.
	signals   chan os.Signal
	afterStep func(trainer.Progress)
	plotted   func(file string, data any)
}

// trainModelFlags are the flags that describe the model or how it trains;
// --resume takes them from the checkpoint and refuses them on the command
// line.
var trainModelFlags = []string{"variant", "tied", "data", "hidden", "latent", "activation", "code-activation", "output-activation",
	"loss", "optimizer", "lr", "momentum", "nesterov", "weight-decay", "batch", "seed", "val-split", "patience", "limit",
	"l1", "rho", "sparsity-weight", "noise", "noise-level", "noise-clip", "alpha", "contractive", "contractive-samples",
	"pretrain-epochs", "samples", "mmd", "bandwidth", "info-alpha", "info-lambda", "embedding", "decoder-decay", "channels", "kernel", "stride", "pool", "decoder", "batchnorm", "dropout", "beta", "arch", "labels", "init",
	"layers", "bidirectional", "window", "standardize"}

// trainingFlags are the flags of trainModelFlags that --from accepts: how
// to train, on what, not what the model is.
var trainingFlags = []string{"data", "loss", "optimizer", "lr", "momentum", "nesterov", "weight-decay", "batch", "seed", "val-split", "patience", "limit", "labels"}

// vaeVariant reports whether the variant is variational.
func vaeVariant(v string) bool {
	return v == "vae" || v == "beta-vae" || v == "cvae" || v == "iwae" || v == "infovae"
}

// convVariants are the variants trainer.ConvNet builds. (trainer lists
// only its MLP variants, in trainer.MLPVariants.)
var convVariants = []string{"conv", "conv1d"}

// trainVariants are the variants train accepts: the MLP family, then the
// convolutional ones.
func trainVariants() []string {
	return append(append(slices.Clone(trainer.MLPVariants), convVariants...), trainer.SequenceVariants...)
}

// convVariant reports whether the variant is convolutional.
func convVariant(v string) bool { return slices.Contains(convVariants, v) }

// usesConv reports whether the options describe a convolutional network.
func (o *trainOptions) usesConv() bool {
	return convVariant(o.Model.Variant) || (vaeVariant(o.Model.Variant) && o.Arch == "conv")
}

func newCmdTrain(f *factory, runF func(*trainOptions) error) *cobra.Command {
	opts := &trainOptions{IO: f.IO}
	var hidden, loss string
	var optimizer string
	var lr, momentum, decay float64
	var nesterov bool
	var alpha float64
	var channels string
	cmd := &cobra.Command{
		Use:   "train --data mnist|fashion-mnist|FILE --out DIR [flags]",
		Short: "Train an autoencoder and export it to ONNX",
		Long: `Train an autoencoder in Go and write, in DIR: config.json and
model.safetensors (the model), model.onnx, encoder.onnx and decoder.onnx
(its ONNX graphs), metrics.jsonl (one JSON line per epoch) and
train_state.safetensors (what --resume needs). A checkpoint is written after
every epoch; --resume continues one to the number of epochs it was started
with, or to --epochs, giving the weights an uninterrupted run would have
given (only --epochs may change). A run killed before its first checkpoint
leaves none: start it again without --resume. The weights start as PyTorch
initialises its layers (--init pytorch, the default; config.json records
the scheme and the seed), or from a trained model (--from DIR, fine-tuning).

Variants: ae (deep under- or over-complete), tied (decoder weights are the
transposed encoder weights; --tied ties any variant), linear (identity
activations), and the regularised ones, whose penalties are added to the
mean reconstruction loss as averages over a batch's samples:
  sparse-l1    λ·Σⱼ|hⱼ| on the code h                       --l1 λ
  sparse-kl    β·Σⱼ KL(ρ‖ρ̂ⱼ), ρ̂ⱼ the batch mean of unit j    --rho ρ --sparsity-weight β
               (needs a sigmoid code, the default for this variant)
  denoising    corrupt the input, compare with the clean one  --noise mask|gaussian|salt-pepper
               --noise-level q|σ [--noise-clip] [--alpha α: loss weight α on corrupted inputs, 1−α on the rest]
  contractive  λ·‖∂h/∂x‖²_F of the encoder                   --contractive λ
               (closed form for one layer; deeper encoders use --contractive-samples k random
               directions, an unbiased estimate, or 0 for the exact value)
Exported graphs are the plain encoder and decoder: corruption and penalties
are training only.

Convolutional variants: conv (images, N×C×H×W) and conv1d (sequences, N×C×L
or N×L as one channel). Encoder stages of --channels convolutions (kernel
--kernel, stride --stride, "same" padding), optional --batchnorm and
--dropout, then 2× --pool max|avg|none; an optional dense bottleneck of
--latent units; a --decoder upsample (convolution + nearest upsampling, as
in the Keras example), transposed (transposed convolutions) or unpool
(max-unpooling with the encoder's indices). The sparse and denoising
settings apply to them too.

Sequence variants: lstm and gru (N×T×F or N×T data, or a CSV series, a
row per step, cut by --window W --stride S). A recurrent encoder of
--layers layers of --hidden units (--bidirectional optional), its last
hidden state as the code (or a dense projection to --latent units), the
code repeated over the steps, a recurrent decoder and a time-distributed
dense output. Each feature is standardised by the training data's mean and
std, recorded in config.json (model.sequence); run, score and check take
inputs standardised so.`,
		Example: `  aebridge train --data fashion-mnist --hidden 512,256 --latent 32 --epochs 10 --out runs/fmnist
  aebridge train --variant tied --data x.npy --hidden 64 --latent 8 --loss bce --out runs/tied
  aebridge train --variant lstm --data series.csv --window 40 --stride 2 --hidden 32 --out runs/lstm
  aebridge train --resume --epochs 20 --out runs/fmnist`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Out == "" {
				return &flagError{errors.New("--out DIR is required")}
			}
			if !slices.Contains(trainer.InitSchemes, opts.Init) {
				if st, err := os.Stat(opts.Init); err == nil && st.IsDir() {
					return &flagError{fmt.Errorf("--init %q is a directory: --init names the weight initialisation (%s); to fine-tune the model in a directory, use --from DIR", opts.Init, strings.Join(trainer.InitSchemes, ", "))}
				}
				return &flagError{fmt.Errorf("--init %q: want one of %s", opts.Init, strings.Join(trainer.InitSchemes, ", "))}
			}
			if opts.From != "" {
				if opts.Resume {
					return &flagError{errors.New("--from and --resume do not go together")}
				}
				for _, name := range trainModelFlags {
					if cmd.Flags().Changed(name) && !slices.Contains(trainingFlags, name) {
						return &flagError{fmt.Errorf("--%s cannot be changed with --from: the model comes from %s", name, opts.From)}
					}
				}
			}
			if opts.Resume {
				opts.epochsSet = cmd.Flags().Changed("epochs")
				for _, name := range trainModelFlags {
					if cmd.Flags().Changed(name) {
						return &flagError{fmt.Errorf("--%s cannot be changed on --resume: the checkpoint's configuration is used (only --epochs may change)", name)}
					}
				}
			} else if opts.Training.Data == "" {
				return &flagError{errors.New("--data is required (mnist, fashion-mnist, a reference such as fashion-mnist:train[:1000], a .npy, .csv or IDX file, or a folder of PNG images)")}
			}
			if !slices.Contains(trainVariants(), opts.Model.Variant) {
				return &flagError{fmt.Errorf("--variant: unknown variant %q (want one of %s)", opts.Model.Variant, strings.Join(trainVariants(), ", "))}
			}
			if opts.Training.Limit < 0 {
				return &flagError{fmt.Errorf("--limit must not be negative, got %d (0: all samples)", opts.Training.Limit)}
			}
			opts.lossSet = cmd.Flags().Changed("loss")
			sizes, err := parseSizes(hidden)
			if err != nil {
				return &flagError{fmt.Errorf("--hidden %q: %w", hidden, err)}
			}
			opts.Model.Hidden = sizes
			if err := opts.checkSequenceFlags(cmd, sizes); err != nil {
				return &flagError{err}
			}
			if vaeVariant(opts.Model.Variant) {
				if opts.Arch != "mlp" && opts.Arch != "conv" {
					return &flagError{fmt.Errorf("--arch %q: want mlp or conv", opts.Arch)}
				}
				if !cmd.Flags().Changed("loss") {
					loss = string(trainer.BCE) // the VAE's reconstruction term for [0, 1] data
				}
			} else if cmd.Flags().Changed("arch") || cmd.Flags().Changed("labels") {
				return &flagError{fmt.Errorf("--arch and --labels apply to --variant vae, beta-vae, cvae, iwae and infovae")}
			}
			if opts.usesConv() {
				for _, name := range []string{"hidden", "tied", "contractive", "contractive-samples"} {
					if cmd.Flags().Changed(name) {
						return &flagError{fmt.Errorf("--%s does not apply to --variant %s", name, opts.Model.Variant)}
					}
				}
				ch, err := parseSizes(channels)
				if err != nil || len(ch) == 0 {
					return &flagError{fmt.Errorf("--channels %q: want one or more positive sizes", channels)}
				}
				opts.Conv.Channels = ch
				if !cmd.Flags().Changed("latent") && !vaeVariant(opts.Model.Variant) {
					opts.Model.Latent = 0 // no dense bottleneck unless asked for
				}
			} else {
				for _, name := range []string{"channels", "kernel", "stride", "pool", "decoder", "batchnorm", "dropout"} {
					if cmd.Flags().Changed(name) && !(name == "stride" && sequenceVariant(opts.Model.Variant)) {
						return &flagError{fmt.Errorf("--%s applies to --variant conv and conv1d", name)}
					}
				}
			}
			switch {
			case opts.usesConv() && !vaeVariant(opts.Model.Variant) && opts.Model.Latent < 0:
				return &flagError{fmt.Errorf("--latent must not be negative, got %d (0: no dense bottleneck)", opts.Model.Latent)}
			case (!opts.usesConv() || vaeVariant(opts.Model.Variant)) && !sequenceVariant(opts.Model.Variant) && opts.Model.Latent < 1:
				return &flagError{fmt.Errorf("--latent must be at least 1, got %d", opts.Model.Latent)}
			}
			if opts.Model.Variant != "contractive" && !cmd.Flags().Changed("contractive-samples") {
				opts.Training.Reg.ContractiveSamples = 0 // the default applies to contractive only
			}
			if opts.Model.Variant != "rae" && cmd.Flags().Changed("gmm-components") {
				return &flagError{fmt.Errorf("--gmm-components applies to --variant rae")}
			}
			if opts.GMMComponents < 1 {
				return &flagError{fmt.Errorf("--gmm-components %d must be at least 1", opts.GMMComponents)}
			}
			if opts.Model.Variant != "iwae" && !cmd.Flags().Changed("samples") {
				opts.Training.Reg.Samples = 0 // the default applies to iwae only
			}
			if cmd.Flags().Changed("alpha") {
				a := alpha
				opts.Training.Reg.Alpha = &a
			}
			opts.Model.Loss = trainer.Loss(loss)
			opts.Training.Optimizer = trainer.OptimizerConfig{Name: optimizer, LR: lr, Momentum: momentum, Nesterov: nesterov, WeightDecay: decay}
			if opts.Threads < 0 {
				return &flagError{fmt.Errorf("--threads %d must not be negative", opts.Threads)}
			}
			if !opts.Resume && opts.From == "" {
				// The data gives the real sizes; a probe shape checks the rest.
				probe := []int{1}
				switch {
				case opts.Model.Variant == "conv1d":
					probe = []int{1, 4096}
				case opts.usesConv():
					probe = []int{1, 64, 64}
				}
				saved := opts.Model.Condition
				if opts.Model.Variant == "cvae" {
					opts.Model.Condition = 1
				}
				_, err := opts.modelConfig(probe)
				opts.Model.Condition = saved
				if err != nil {
					return &flagError{err}
				}
				if err := opts.Training.Check(); err != nil {
					return &flagError{err}
				}
				if err := trainer.CheckVariant(opts.Model.Variant, opts.Training.Reg); err != nil {
					return &flagError{err}
				}
			}
			if opts.Scale < 1 || opts.Scale > 32 {
				return &flagError{fmt.Errorf("--scale %d: want 1 to 32", opts.Scale)}
			}
			if opts.PlotImages < 1 || opts.PlotImages > 64 {
				return &flagError{fmt.Errorf("--plot-images %d: want 1 to 64", opts.PlotImages)}
			}
			opts.Progress = isTerminal(f.IO.ErrOut) && !opts.Quiet
			cmd.Flags().Visit(func(fl *pflag.Flag) {
				opts.args = append(opts.args, "--"+fl.Name+"="+fl.Value.String())
			})
			if runF != nil {
				return runF(opts)
			}
			return trainRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Model.Variant, "variant", "ae", strings.Join(trainVariants(), ", "))
	fl.StringVar(&opts.Arch, "arch", "mlp", "vae, beta-vae, cvae: mlp or conv encoder and decoder")
	fl.Float64Var(&opts.Training.Reg.Beta, "beta", 0, "beta-vae (and cvae): weight β of the KL term (the VAE has β = 1)")
	fl.StringVar(&opts.Training.Labels, "labels", "", "cvae: class labels for --data FILE, a .npy of N integers (mnist and fashion-mnist bring theirs)")
	fl.StringVar(&channels, "channels", "16,8,8", "conv: output channels of the encoder stages")
	fl.IntVar(&opts.Conv.Kernel, "kernel", 3, "conv: kernel size")
	fl.IntVar(&opts.Conv.Stride, "stride", 1, "conv: stride of the encoder convolutions")
	fl.StringVar(&opts.Conv.Pool, "pool", "max", "conv: pooling after each stage: max, avg or none")
	fl.StringVar(&opts.Conv.Decoder, "decoder", "upsample", "conv: "+strings.Join(trainer.ConvDecoders, ", "))
	fl.BoolVar(&opts.Conv.BatchNorm, "batchnorm", false, "conv: batch normalisation after each convolution")
	fl.Float64Var(&opts.Conv.Dropout, "dropout", 0, "conv: dropout probability after the activations (training only)")
	fl.BoolVar(&opts.Model.Tied, "tied", false, "tie the decoder's weights to the encoder's (W′ = Wᵀ)")
	reg := &opts.Training.Reg
	fl.Float64Var(&reg.L1, "l1", 0, "sparse-l1: weight λ of the L1 penalty on the code")
	fl.Float64Var(&reg.Rho, "rho", 0, "sparse-kl: target mean activation ρ of the code units, in (0, 1)")
	fl.Float64Var(&reg.SparsityWeight, "sparsity-weight", 0, "sparse-kl: weight β of the KL penalty")
	fl.StringVar(&reg.Noise, "noise", "", "denoising: mask, gaussian or salt-pepper")
	fl.Float64Var(&reg.NoiseLevel, "noise-level", 0, "denoising: corruption probability q (mask, salt-pepper) or σ (gaussian)")
	fl.BoolVar(&reg.NoiseClip, "noise-clip", false, "denoising: clip Gaussian-corrupted inputs to [0, 1]")
	fl.Float64Var(&alpha, "alpha", 0, "denoising: loss weight α on corrupted inputs (1 − α on the others); unset: unweighted")
	fl.Float64Var(&reg.Contractive, "contractive", 0, "contractive: weight λ of ‖∂h/∂x‖²_F")
	fl.IntVar(&reg.ContractiveSamples, "contractive-samples", 1, "contractive, deep encoders: random directions per sample (0: exact)")
	fl.IntVar(&reg.Samples, "samples", 5, "iwae: importance samples K per input")
	fl.IntVar(&opts.Training.PretrainEpochs, "pretrain-epochs", 0, "MLP autoencoders: first train each encoder layer for N epochs as a shallow (denoising) autoencoder on the codes below it, then --epochs end to end")
	fl.Float64Var(&reg.MMD, "mmd", 0, "wae: weight λ of the MMD between the codes and the prior N(0, I) (pythae uses 3e-2 with summed MSE)")
	fl.Float64Var(&reg.Bandwidth, "bandwidth", 0, "wae, infovae: bandwidth σ of the inverse multiquadric kernel (0: 1)")
	fl.Float64Var(&reg.InfoAlpha, "info-alpha", 0, "infovae: α; the KL weighs 1 − α")
	fl.Float64Var(&reg.Embedding, "embedding", 0, "rae: weight β of ½‖z‖² on the code (pythae: 1e-4)")
	fl.Float64Var(&reg.DecoderDecay, "decoder-decay", 0, "rae: weight decay λ of the decoder's parameters (pythae: 1e-7)")
	fl.IntVar(&opts.GMMComponents, "gmm-components", 10, "rae: Gaussians of the ex-post density of the codes that sample draws from")
	fl.Float64Var(&reg.InfoLambda, "info-lambda", 0, "infovae: λ; the MMD between z and the prior weighs α + λ − 1")
	fl.StringVar(&opts.Training.Data, "data", "", "mnist, fashion-mnist (both splits), a reference such as fashion-mnist:train[:1000], a .npy (N×D or N×C×H×W), .csv or IDX file, or a folder of PNG images")
	fl.IntVar(&opts.Training.Limit, "limit", 0, "use the first `N` training samples (0: all)")
	fl.StringVar(&hidden, "hidden", "512,256", "hidden layer sizes of the encoder, comma-separated (the decoder mirrors them; \"\" for none)")
	fl.IntVar(&opts.Model.Latent, "latent", 32, "code size (conv: a dense bottleneck of this size, none by default)")
	fl.StringVar(&opts.Model.Activation, "activation", "", "hidden activation: "+strings.Join(trainer.ActivationKinds, ", ")+" (default relu; identity for linear)")
	fl.StringVar(&opts.Model.CodeActivation, "code-activation", "", "activation of the code layer (default identity)")
	fl.StringVar(&opts.Model.OutputActivation, "output-activation", "", "output activation (default sigmoid; identity for linear)")
	fl.StringVar(&loss, "loss", "mse", "mse or bce (BCE with a sigmoid output is computed on the logits; the VAEs default to bce)")
	fl.StringVar(&optimizer, "optimizer", "adam", "adam, adamw or sgd")
	fl.Float64Var(&lr, "lr", 1e-3, "learning rate")
	fl.Float64Var(&momentum, "momentum", 0, "SGD momentum")
	fl.BoolVar(&nesterov, "nesterov", false, "SGD with Nesterov momentum")
	fl.Float64Var(&decay, "weight-decay", 0, "weight decay λ: the L2 term λ‖W‖² on the weights (sgd, adam; PyTorch's weight_decay 2λ without the biases), or AdamW's decoupled decay (adamw)")
	fl.IntVar(&opts.Training.Epochs, "epochs", 10, "epochs")
	fl.IntVar(&opts.Training.Batch, "batch", 128, "mini-batch size")
	fl.Uint64Var(&opts.Training.Seed, "seed", 1, "seed for initialisation, validation split and shuffling")
	fl.Float64Var(&opts.Training.ValSplit, "val-split", 0.1, "fraction of the training data held out for validation")
	fl.IntVar(&opts.Training.Patience, "patience", 0, "stop after `N` epochs without a lower validation loss (0: never)")
	fl.IntVar(&opts.Opset, "opset", export.DefaultOpset, "ONNX opset of the exported graphs")
	fl.IntVar(&opts.Threads, "threads", 0, "threads for training: matrix products and every parallel loop (0: all cores)")
	fl.StringVar(&opts.Out, "out", "", "output `DIR`")
	fl.BoolVar(&opts.Resume, "resume", false, "continue the checkpoint in --out to its epochs (or to --epochs)")
	fl.StringVar(&opts.Init, "init", trainer.InitPyTorch, "weight initialisation `SCHEME`, seeded by --seed: "+strings.Join(trainer.InitSchemes, ", ")+
		" (pytorch: PyTorch's defaults, U(±1/√fan_in) for weights and biases; xavier: Glorot uniform; he: Kaiming normal, N(0, 2/fan_in); by-activation: He uniform before ReLUs, Glorot uniform otherwise)")
	addSequenceFlags(cmd, &opts.Seq)
	fl.StringVar(&opts.From, "from", "", "start from the model in `DIR` (from train or convert) and fine-tune it")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "print no progress (no bar on a terminal, no line per epoch elsewhere)")
	fl.BoolVar(&opts.Plots, "plots", true, "write loss.png (after every epoch), reconstructions.png and codes.png (at the end); --plots=false for none")
	fl.IntVar(&opts.Scale, "scale", 2, "reconstructions.png: draw each pixel as an `S`×S block")
	fl.IntVar(&opts.PlotImages, "plot-images", 10, "reconstructions.png: the first `N` test samples (training samples without a test split)")
	return cmd
}

func parseSizes(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive size", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// loadData reads the training (and, where the data set has one, test) data
// as (N, features) tensors.
// as (N, features) tensors, the per-sample shape the data set gives, and,
// for conditional models, one-hot conditions from the data set's labels or
// cfg.Labels.
type trainData struct {
	train, test             *trainer.Tensor
	shape                   []int
	trainCond, testCond     *trainer.Tensor
	classes                 int
	trainLabels, testLabels []int // the data set's classes, where it has them
}

func loadData(cfg trainer.TrainConfig, conditional bool) (*trainData, error) {
	tr, te, err := dataset.Load(cfg.Data)
	if err != nil {
		return nil, err
	}
	if conditional && cfg.Labels != "" {
		labels, err := dataset.LoadLabels(cfg.Labels, tr.Len())
		if err != nil {
			return nil, err
		}
		tr.Labels, te = labels, nil
	}
	if conditional && tr.Labels == nil {
		return nil, fmt.Errorf("variant cvae needs class labels: %s has none; give --labels FILE.npy", cfg.Data)
	}
	tr = tr.Head(cfg.Limit)
	toTensor := func(s *dataset.Set) *trainer.Tensor {
		if s == nil {
			return nil
		}
		return &trainer.Tensor{Shape: []int{s.Len(), s.Dim()}, Data: s.X}
	}
	d := &trainData{train: toTensor(tr), test: toTensor(te), shape: tr.Shape, trainLabels: tr.Labels}
	if te != nil {
		d.testLabels = te.Labels
	}
	if conditional {
		for _, l := range tr.Labels {
			d.classes = max(d.classes, l+1)
		}
		d.trainCond = oneHot(tr.Labels, d.classes)
		if te != nil {
			d.testCond = oneHot(te.Labels, d.classes)
		}
	}
	return d, nil
}

// oneHot encodes labels as rows of k values, 1 at the label.
func oneHot(labels []int, k int) *trainer.Tensor {
	t := trainer.NewTensor(len(labels), k)
	for i, l := range labels {
		if l >= 0 && l < k {
			t.Data[i*k+l] = 1
		}
	}
	return t
}

// convNet is the convolutional model the options describe, for inputs of
// the given per-sample shape.
func (o *trainOptions) convNet(input []int) trainer.ConvNet {
	c := o.Conv
	c.Variant = o.Model.Variant
	c.Input = input
	c.Latent = o.Model.Latent
	c.Activation, c.CodeActivation, c.OutputActivation = o.Model.Activation, o.Model.CodeActivation, o.Model.OutputActivation
	c.Loss = o.Model.Loss
	return c
}

// modelConfig builds the model description for data of the given
// per-sample shape.
func (o *trainOptions) modelConfig(shape []int) (trainer.Config, error) {
	if vaeVariant(o.Model.Variant) && o.Arch == "conv" {
		if len(shape) != 3 {
			return trainer.Config{}, fmt.Errorf("--arch conv needs images (N×C×H×W data); %s has samples of shape %v", o.Training.Data, shape)
		}
		c := o.convNet(shape)
		c.Variant = "conv"
		c.Variational, c.Condition = true, o.Model.Condition
		cfg, err := c.Config()
		cfg.Variant = o.Model.Variant
		return cfg, err
	}
	switch o.Model.Variant {
	case "conv":
		if len(shape) != 3 {
			return trainer.Config{}, fmt.Errorf("variant conv needs images (N×C×H×W data); %s has samples of shape %v", o.Training.Data, shape)
		}
		return o.convNet(shape).Config()
	case "lstm", "gru":
		return o.sequenceConfig(shape)
	case "conv1d":
		switch len(shape) {
		case 1:
			shape = []int{1, shape[0]} // one channel
		case 2:
		default:
			return trainer.Config{}, fmt.Errorf("variant conv1d needs sequences (N×C×L or N×L data); %s has samples of shape %v", o.Training.Data, shape)
		}
		return o.convNet(shape).Config()
	}
	m := o.Model
	m.Input = 1
	for _, d := range shape {
		m.Input *= d
	}
	return m.Config()
}

func trainRun(opts *trainOptions) error {
	if opts.Threads > 0 {
		trainer.SetThreads(opts.Threads)
	}
	out := opts.IO.Out
	var m *trainer.Model
	cfg := opts.Training
	if opts.Resume {
		return resume(opts)
	}
	if opts.From != "" {
		return fineTune(opts, cfg)
	}
	data, err := loadData(cfg, opts.Model.Variant == "cvae")
	if err != nil {
		return err
	}
	opts.Model.Condition = data.classes
	var c trainer.Config
	if sequenceVariant(opts.Model.Variant) {
		c, err = newSequenceModel(opts, data)
	} else {
		c, err = opts.modelConfig(data.shape)
	}
	if err != nil {
		return err
	}
	c.Init, c.InitSeed = cmp.Or(opts.Init, trainer.InitPyTorch), cfg.Seed
	if m, err = trainer.Build(c); err != nil {
		return err
	}
	fmt.Fprint(out, m)
	return fit(opts, m, cfg, data, nil)
}

// resume continues the checkpoint in opts.Out to its recorded target, or
// to --epochs.
func resume(opts *trainOptions) error {
	ck, err := trainer.ReadCheckpoint(opts.Out)
	if errors.Is(err, trainer.ErrNoCheckpoint) {
		return fmt.Errorf("no checkpoint yet in %s: start without --resume", opts.Out)
	}
	if err != nil {
		return err
	}
	if ck.File.Training == nil {
		return fmt.Errorf("the checkpoint in %s has no training configuration to resume", opts.Out)
	}
	cfg := *ck.File.Training
	if opts.epochsSet {
		if opts.Training.Epochs < ck.Epoch {
			return fmt.Errorf("--epochs %d is below the %d epochs the checkpoint in %s holds", opts.Training.Epochs, ck.Epoch, opts.Out)
		}
		if opts.Training.Epochs > ck.Epoch {
			cfg.Epochs = opts.Training.Epochs
		}
	}
	m, err := trainer.Build(ck.File.Model)
	if err != nil {
		return fmt.Errorf("%w (in the checkpoint in %s)", err, opts.Out)
	}
	data, err := loadData(cfg, m.Config.Condition > 0)
	if err != nil {
		return err
	}
	if s := m.Config.Sequence; s != nil {
		if err := sequenceData(data, cfg.Data, s); err != nil {
			return err
		}
	}
	if cfg.Epochs <= ck.Epoch || ck.Stopped {
		// Nothing to train: the recorded configuration stands.
		return fit(opts, m, *ck.File.Training, data, ck)
	}
	return fit(opts, m, cfg, data, nil)
}

// fineTune trains the model of opts.From further, as a new run in opts.Out.
func fineTune(opts *trainOptions, cfg trainer.TrainConfig) error {
	m, _, err := trainer.Load(opts.From)
	if err != nil {
		return err
	}
	if m.Config.Part != "" {
		return fmt.Errorf("%s holds only the %s of an autoencoder; fine-tuning needs a whole one", opts.From, m.Config.Part)
	}
	if opts.lossSet && opts.Model.Loss != m.Config.Loss {
		// The loss is part of the description (BCE on a sigmoid output is
		// computed on the logits): rebuild with it and keep the weights.
		c := m.Config
		c.Loss = opts.Model.Loss
		nm, err := trainer.Build(c)
		if err != nil {
			return err
		}
		if err := nm.LoadStateDict(m.StateDict(), opts.From); err != nil {
			return err
		}
		m = nm
	}
	data, err := loadData(cfg, m.Config.Condition > 0)
	if err != nil {
		return err
	}
	if s := m.Config.Sequence; s != nil {
		if err := sequenceData(data, cfg.Data, s); err != nil {
			return err
		}
	}
	if data.train.Cols() != featuresOf(m) {
		return fmt.Errorf("data %s has %d features per sample, the model in %s takes %d", cfg.Data, data.train.Cols(), opts.From, featuresOf(m))
	}
	fmt.Fprintf(opts.IO.Out, "fine-tuning %s\n%s", opts.From, m)
	if data.test != nil && m.Config.Variational == nil {
		pe, _ := trainer.Evaluate(m, data.test, 256)
		fmt.Fprintf(opts.IO.Out, "test loss before (%s): %.6f per element\n", m.Config.Loss, pe)
	}
	return fit(opts, m, cfg, data, nil)
}

// outputFiles are the files of a run that the command writes itself
// (the trainer writes config.json, model.safetensors and the state file).
var outputFiles = []string{"metrics.jsonl", "model.onnx", "encoder.onnx", "decoder.onnx", priorFile, lossFile, gridFile, codesFile}

// fit trains m and writes the run's files. done, if set, is the checkpoint
// of a resumed run that has no epoch left to train: fit then only writes
// the final files that a kill after the last checkpoint left missing or
// stale, and says there is nothing to do when none is.
func fit(opts *trainOptions, m *trainer.Model, cfg trainer.TrainConfig, data *trainData, done *trainer.Checkpoint) error {
	out := opts.IO.Out
	train, test := data.train, data.test
	if data.trainCond != nil && data.classes != m.Config.Condition {
		return fmt.Errorf("the labels give %d classes, the model's condition has %d", data.classes, m.Config.Condition)
	}
	if train.Cols() != featuresOf(m) {
		return fmt.Errorf("data %s has %d features per sample, the model takes %d", cfg.Data, train.Cols(), featuresOf(m))
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	if err := atomicfile.RemoveStale(opts.Out, outputFiles...); err != nil {
		return err
	}
	fo := trainer.FitOptions{Dir: opts.Out, Resume: opts.Resume, Condition: data.trainCond}
	var stop *interrupt
	var curve []plots.Epoch
	variational := m.Config.Variational != nil
	if done == nil {
		if !opts.Resume {
			// Before metrics.jsonl is cut: a kill in between must not
			// leave an earlier run's checkpoint beside the new metrics.
			if err := os.Remove(filepath.Join(opts.Out, trainer.StateFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		metrics, err := openMetrics(filepath.Join(opts.Out, "metrics.jsonl"), opts.Resume)
		if err != nil {
			return err
		}
		defer metrics.Close()
		if opts.Resume { // the loss curve starts with the epochs run before
			if curve, err = readCurve(filepath.Join(opts.Out, "metrics.jsonl"), variational, cfg.ValSplit > 0); err != nil {
				return err
			}
		}
		fo.Metrics = metrics
		bar := &progressBar{w: opts.IO.ErrOut, terminal: opts.Progress, val: cfg.ValSplit > 0, batch: cfg.Batch, rows: train.Rows() - int(math.Round(float64(train.Rows())*cfg.ValSplit))}
		stop = newInterrupt(opts)
		defer stop.release()
		fo.Context = stop.ctx
		fo.OnProgress = func(p trainer.Progress) {
			if !opts.Quiet {
				bar.draw(p)
			}
			if opts.afterStep != nil && p.Metrics == nil {
				opts.afterStep(p)
			}
			stop.poll()
		}
		fo.OnEpoch = func(em trainer.EpochMetrics) error {
			curve = append(curve, curvePoint(em, variational, cfg.ValSplit > 0))
			if opts.Plots {
				if err := writeLossCurve(opts, curve, m); err != nil {
					return err
				}
			}
			if stop.afterEpoch && em.Epoch < cfg.Epochs {
				return errStopAfterEpoch
			}
			return nil
		}
		fmt.Fprintf(out, "training on %s: %d samples of %d features (%d held out for validation), %d epochs, batch %d\n",
			cfg.Data, train.Rows(), train.Cols(), int(math.Round(float64(train.Rows())*cfg.ValSplit)), cfg.Epochs, cfg.Batch)
	}
	res, err := trainer.Fit(m, train, cfg, fo)
	stop.release()
	if errors.Is(err, errStopAfterEpoch) || errors.Is(err, trainer.ErrInterrupted) {
		return interrupted(opts, cfg, res, err)
	}
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(opts.IO.ErrOut, "warning: %s\n", w)
	}
	for _, p := range res.Pretrain {
		fmt.Fprintf(out, "pre-trained %s (%d→%d) for %d epochs: train loss %.6f\n", p.Layer, p.In, p.Out, cfg.PretrainEpochs, p.Loss)
	}
	w := export.Writer{Opset: opts.Opset, Training: &cfg, InputRange: valueRange(train.Data)}
	if done != nil {
		current, err := outputsCurrent(opts.Out, m, &cfg, w)
		if err != nil {
			return err
		}
		if current {
			if done.Stopped {
				fmt.Fprintf(out, "nothing to do: the run in %s stopped early after epoch %d, keeping epoch %d\n", opts.Out, res.Epochs, res.BestEpoch)
			} else {
				fmt.Fprintf(out, "nothing to do: %s holds all %d epochs\n", opts.Out, res.Epochs)
			}
			return nil
		}
		fmt.Fprintf(out, "finishing %s: its run was interrupted after the checkpoint of its last epoch, %d\n", opts.Out, res.Epochs)
	}
	if res.Stopped && done == nil {
		fmt.Fprintf(out, "stopped early after epoch %d; keeping epoch %d\n", res.Epochs, res.BestEpoch)
	}
	if n := len(res.History); n > 0 {
		last := res.History[n-1]
		fmt.Fprintf(out, "epoch %d: train loss %.6f", last.Epoch, last.TrainLoss)
		if cfg.ValSplit > 0 {
			fmt.Fprintf(out, ", best validation loss %.6f (epoch %d)", res.BestVal, res.BestEpoch)
		}
		fmt.Fprintln(out)
	}
	if err := trainer.Save(opts.Out, m, &cfg); err != nil {
		return err
	}
	if m.Config.Variant == "rae" {
		if err := fitPrior(opts, m, train); err != nil {
			return err
		}
	}
	switch {
	case test != nil && m.Config.Variational != nil:
		recon, kl := trainer.EvaluateVAE(m, test, data.testCond, 256, rand.New(rand.NewPCG(cfg.Seed, 0x74657374)))
		fmt.Fprintf(out, "test ELBO per sample: %.4f (reconstruction %s %.4f, KL %.4f; %d samples)\n", -(recon + kl), m.Config.Loss, recon, kl, test.Rows())
		if k := cfg.Reg.Samples; m.Config.Variant == "iwae" {
			bound := trainer.EvaluateIWAE(m, test, k, 256, rand.New(rand.NewPCG(cfg.Seed, 0x69776165)))
			fmt.Fprintf(out, "test IWAE bound per sample: %.4f (K = %d)\n", bound, k)
		}
	case test != nil:
		pe, ps := trainer.Evaluate(m, test, 256)
		fmt.Fprintf(out, "test loss (%s): %.6f per element, %.4f per sample (%d samples)\n", m.Config.Loss, pe, ps, test.Rows())
	}
	for _, p := range graphFiles {
		if err := w.WriteFile(filepath.Join(opts.Out, p.file), m, p.part); err != nil {
			return err
		}
	}
	written := "config.json model.safetensors model.onnx encoder.onnx decoder.onnx metrics.jsonl"
	if opts.Plots {
		files, err := writePictures(opts, m, data, curve, cfg)
		if err != nil {
			return err
		}
		written += files
	}
	fmt.Fprintf(out, "wrote %s: %s\n", opts.Out, written)
	return nil
}

// graphFiles are the ONNX graphs a run exports.
var graphFiles = []struct {
	part export.Part
	file string
}{{export.Full, "model.onnx"}, {export.Encoder, "encoder.onnx"}, {export.Decoder, "decoder.onnx"}}

// outputsCurrent reports whether dir already holds the final files of the
// run of m: the configuration, m's weights and its ONNX graphs.
func outputsCurrent(dir string, m *trainer.Model, cfg *trainer.TrainConfig, w export.Writer) (bool, error) {
	saved, f, err := trainer.Load(dir)
	if err != nil {
		return false, nil // missing or unreadable: written anew
	}
	want, err := json.Marshal(trainer.File{Version: trainer.Version, Model: m.Config, Training: cfg})
	if err != nil {
		return false, err
	}
	got, err := json.Marshal(f)
	if err != nil || !bytes.Equal(got, want) {
		return false, err
	}
	a, b := m.StateDict(), saved.StateDict()
	for name, t := range a {
		for i, v := range t.Data {
			if math.Float32bits(v) != math.Float32bits(b[name].Data[i]) {
				return false, nil
			}
		}
	}
	for _, p := range graphFiles {
		want, err := w.Marshal(m, p.part)
		if err != nil {
			return false, err
		}
		got, err := os.ReadFile(filepath.Join(dir, p.file))
		if err != nil || !bytes.Equal(got, want) {
			return false, nil
		}
	}
	return true, nil
}

// progressBar shows training progress on w: on a terminal, a bar with the
// loss and the throughput, redrawn after every step, and a line per epoch;
// elsewhere, the lines alone.
type progressBar struct {
	w             io.Writer
	terminal, val bool
	batch, rows   int // the batch size and the training rows of an epoch
	epoch         int
	start         time.Time
	now           func() time.Time // time.Now; replaced in tests
}

func (b *progressBar) draw(p trainer.Progress) {
	now := time.Now
	if b.now != nil {
		now = b.now
	}
	if p.Epoch != b.epoch {
		b.epoch, b.start = p.Epoch, now()
	}
	if p.Metrics == nil {
		if b.terminal {
			const width = 30
			fill := width * p.Step / p.Steps
			samples := min(p.Step*b.batch, b.rows) - min(b.batch, b.rows) // since the first step's end
			rate := ""
			if s := now().Sub(b.start).Seconds(); s > 0 {
				rate = fmt.Sprintf("  %.0f samples/s", float64(samples)/s)
			}
			fmt.Fprintf(b.w, "\r\033[Kepoch %d/%d [%s%s] %3d%%  loss %.5f%s", p.Epoch, p.Epochs,
				strings.Repeat("=", fill), strings.Repeat(" ", width-fill), 100*p.Step/p.Steps, p.Loss, rate)
		}
		return
	}
	if b.terminal {
		fmt.Fprint(b.w, "\r\033[K")
	}
	fmt.Fprintf(b.w, "epoch %d/%d  train loss %.5f", p.Epoch, p.Epochs, p.Metrics.TrainLoss)
	if b.val {
		fmt.Fprintf(b.w, "  val loss %.5f", p.Metrics.ValLoss)
	}
	fmt.Fprintf(b.w, "  %.1fs\n", p.Metrics.Seconds)
}

func featuresOf(m *trainer.Model) int {
	n := 1
	for _, d := range m.Config.Input {
		n *= d
	}
	return n
}

// openMetrics opens metrics.jsonl: truncated for a new run; for a resumed
// one, cut back to the lines of the epochs the checkpoint holds, so that a
// run interrupted after its last checkpoint leaves no duplicate lines.
func openMetrics(path string, resume bool) (*os.File, error) {
	if resume {
		st, err := trainer.CheckpointEpoch(filepath.Dir(path))
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		var keep []string
		for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			if line != "" && i < st {
				keep = append(keep, line)
			}
		}
		body := strings.Join(keep, "\n")
		if body != "" {
			body += "\n"
		}
		if err := atomicfile.WriteBytes(path, []byte(body)); err != nil {
			return nil, err
		}
		return os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	}
	return os.Create(path)
}

// fitPrior fits the ex-post density of an rae's codes — a Gaussian mixture
// of opts.GMMComponents components (fewer for few samples) on the codes of
// the training data — and writes it to DIR/prior.json for sample.
func fitPrior(opts *trainOptions, m *trainer.Model, train *trainer.Tensor) error {
	d := train.Cols()
	var z []float32
	k := 0
	for lo := 0; lo < train.Rows(); lo += 256 {
		hi := min(lo+256, train.Rows())
		c := m.Encode(&trainer.Tensor{Shape: []int{hi - lo, d}, Data: train.Data[lo*d : hi*d]})
		z, k = append(z, c.Data...), c.Cols()
	}
	g, ll, err := codes.FitGaussianMixture(z, k, min(opts.GMMComponents, train.Rows()), 100, opts.Training.Seed)
	if err != nil {
		return err
	}
	b, err := json.Marshal(g)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(opts.Out, priorFile), append(b, '\n')); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "fitted the codes' density (%s): %d Gaussians, mean log-likelihood %.3f\n", priorFile, len(g.Weights), ll)
	return nil
}
