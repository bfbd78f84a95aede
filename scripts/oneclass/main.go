// Command oneclass runs the one-class anomaly benchmark: for each class of
// a labelled data set (Fashion-MNIST by default), it trains autoencoders on
// that class alone, scores the whole test set by reconstruction error (the
// class normal, the others anomalous) and prints the ROC-AUC of each model
// beside PCA's reconstruction error with the same code size, as a Markdown
// table. `make oneclass` runs it; its variables set the epochs and sample
// counts.
//
// The models, all with a code of -latent units:
//
//	pca        the squared distance to the first -latent principal directions
//	ae         a dense autoencoder 784 → -hidden → latent, MSE loss, score MSE
//	denoising  the same trained on Gaussian-corrupted inputs (σ -noise, clipped)
//	conv       a convolutional autoencoder (-channels, 3×3, max pooling, a
//	           dense bottleneck, upsampling decoder), score MSE
//	vae        a dense VAE with a Bernoulli decoder (BCE), scored by the
//	           negative ELBO, −E_q[log p(x|z)] + KL(q(z|x) ‖ p(z)), the
//	           expectation over -vae-samples draws of z (column "vae elbo");
//	           and by the same less the entropy H(x) = −Σⱼ xⱼ log xⱼ +
//	           (1 − xⱼ) log(1 − xⱼ) of the sample's pixels (column
//	           "vae elbo−H"): for grey-level x the Bernoulli likelihood's
//	           best value is exp(−H(x)), not 1, so the raw ELBO also ranks
//	           samples by how many grey pixels they have (the offset that
//	           the continuous Bernoulli of Loaiza-Ganem and Cunningham, 2019,
//	           corrects); the difference is Σⱼ KL(Bern(xⱼ) ‖ Bern(x̂ⱼ)),
//	           0 for a perfect reconstruction
//
// Progress goes to stderr, the table to stdout.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aebridge/aebridge/anomaly"
	"github.com/aebridge/aebridge/codes"
	"github.com/aebridge/aebridge/dataset"
	"github.com/aebridge/aebridge/trainer"
)

type options struct {
	Data       string
	Epochs     int
	Train      int // training samples per class, 0 for all
	Test       int // test samples, 0 for all
	Latent     int
	Hidden     []int
	Channels   []int
	Noise      float64
	VAESamples int
	Batch      int
	LR         float64
	Seed       uint64
	Threads    int
	Models     []string
	Classes    []int
}

// allModels are the models the benchmark knows, in the table's order.
var allModels = []string{"pca", "ae", "denoising", "conv", "vae"}

// columns returns the table's columns of a model: its scores' names.
func columns(model string) []string {
	if model == "vae" {
		return []string{"vae elbo", "vae elbo−H"}
	}
	return []string{model}
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "oneclass:", err)
		os.Exit(1)
	}
}

func run(args []string, out, log io.Writer) error {
	opts, err := parseFlags(args, log)
	if err != nil {
		return err
	}
	if opts.Threads > 0 {
		trainer.SetThreads(opts.Threads)
	}
	train, test, err := dataset.Load(opts.Data)
	if err != nil {
		return err
	}
	if test == nil || train.Labels == nil || test.Labels == nil {
		return fmt.Errorf("%s: the benchmark needs a labelled data set with a test split (mnist, fashion-mnist)", opts.Data)
	}
	test = test.Head(opts.Test)
	fmt.Fprintf(log, "oneclass: %s, %d training samples per class (0: all), %d test samples, %d epochs, code size %d\n",
		opts.Data, opts.Train, test.Len(), opts.Epochs, opts.Latent)
	table := make(map[string][]float64)
	for _, c := range opts.Classes {
		normal := Split(train.Labels, c, opts.Train)
		if len(normal) < 2 {
			return fmt.Errorf("%s: class %d has %d training samples; want at least 2", opts.Data, c, len(normal))
		}
		anomalous := Anomalous(test.Labels, c)
		xs := train.Subset(normal)
		for _, name := range opts.Models {
			start := time.Now()
			scores, err := scoreModel(name, opts, xs, test)
			if err != nil {
				return fmt.Errorf("class %d, %s: %w", c, name, err)
			}
			for i, col := range columns(name) {
				auc, err := anomaly.ROCAUC(scores[i], anomalous)
				if err != nil {
					return fmt.Errorf("class %d, %s: %w", c, col, err)
				}
				table[col] = append(table[col], auc)
				fmt.Fprintf(log, "class %d %-10s ROC-AUC %.4f (%s)\n", c, col, auc, time.Since(start).Round(time.Second))
			}
		}
	}
	writeTable(out, opts, table)
	return nil
}

func parseFlags(args []string, log io.Writer) (*options, error) {
	opts := &options{}
	fs := flag.NewFlagSet("oneclass", flag.ContinueOnError)
	fs.SetOutput(log)
	fs.StringVar(&opts.Data, "data", "fashion-mnist", "labelled data set with a test split")
	fs.IntVar(&opts.Epochs, "epochs", 10, "training epochs of each autoencoder")
	fs.IntVar(&opts.Train, "train", 0, "training samples per class (0: all)")
	fs.IntVar(&opts.Test, "test", 0, "test samples scored, from the start of the test split (0: all)")
	fs.IntVar(&opts.Latent, "latent", 32, "code size of every model, PCA's components included")
	hidden := fs.String("hidden", "256", "hidden sizes of the dense models")
	channels := fs.String("channels", "16,32", "channels of the conv model's stages")
	fs.Float64Var(&opts.Noise, "noise", 0.2, "σ of the denoising model's Gaussian corruption")
	fs.IntVar(&opts.VAESamples, "vae-samples", 8, "draws of z for the VAE's ELBO")
	fs.IntVar(&opts.Batch, "batch", 64, "batch size")
	fs.Float64Var(&opts.LR, "lr", 1e-3, "Adam's learning rate")
	fs.Uint64Var(&opts.Seed, "seed", 1, "seed of the weights, the batches and the noise")
	fs.IntVar(&opts.Threads, "threads", 0, "trainer threads (0: GOMAXPROCS)")
	models := fs.String("models", strings.Join(allModels, ","), "models to run")
	classes := fs.String("classes", "0,1,2,3,4,5,6,7,8,9", "normal classes to run")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if opts.Hidden, err = ints("-hidden", *hidden); err != nil {
		return nil, err
	}
	if opts.Channels, err = ints("-channels", *channels); err != nil {
		return nil, err
	}
	if opts.Classes, err = ints("-classes", *classes); err != nil {
		return nil, err
	}
	for _, m := range strings.Split(*models, ",") {
		if !slices.Contains(allModels, m) {
			return nil, fmt.Errorf("-models: unknown model %q (want some of %s)", m, strings.Join(allModels, ","))
		}
		opts.Models = append(opts.Models, m)
	}
	if opts.Epochs <= 0 || opts.Latent <= 0 || opts.Batch <= 0 || opts.VAESamples <= 0 || opts.Train < 0 || opts.Test < 0 {
		return nil, errors.New("-epochs, -latent, -batch and -vae-samples must be positive, -train and -test not negative")
	}
	return opts, nil
}

func ints(flag, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%s %q: want a comma-separated list of non-negative integers", flag, s)
		}
		out = append(out, v)
	}
	return out, nil
}

// Split returns the indices of the samples labelled class, in order, at
// most n of them (all for n ≤ 0): the one-class training set.
func Split(labels []int, class, n int) []int {
	var idx []int
	for i, l := range labels {
		if l == class {
			idx = append(idx, i)
			if len(idx) == n {
				break
			}
		}
	}
	return idx
}

// Anomalous returns, for each test label, whether it is an anomaly: any
// class but the normal one.
func Anomalous(labels []int, normal int) []bool {
	out := make([]bool, len(labels))
	for i, l := range labels {
		out[i] = l != normal
	}
	return out
}

// scoreModel trains the model on train and returns its scores of test, one
// list per column.
func scoreModel(name string, opts *options, train, test *dataset.Set) ([][]float32, error) {
	if name == "pca" {
		p, err := codes.FitPCA(train.X, train.Dim(), opts.Latent)
		if err != nil {
			return nil, err
		}
		s, err := p.ReconstructionError(test.X)
		return [][]float32{s}, err
	}
	var cfg trainer.Config
	var err error
	tc := trainer.TrainConfig{
		Optimizer: trainer.OptimizerConfig{Name: "adam", LR: opts.LR},
		Epochs:    opts.Epochs, Batch: opts.Batch, Seed: opts.Seed,
	}
	d := train.Dim()
	switch name {
	case "ae", "denoising":
		cfg, err = trainer.MLP{Variant: name, Input: d, Hidden: opts.Hidden, Latent: opts.Latent}.Config()
		if name == "denoising" {
			tc.Reg = trainer.Regularization{Noise: "gaussian", NoiseLevel: opts.Noise, NoiseClip: true}
		}
	case "conv":
		cfg, err = trainer.ConvNet{Variant: "conv", Input: train.Shape, Channels: opts.Channels, Kernel: 3, Pool: "max", Decoder: "upsample", Latent: opts.Latent}.Config()
	case "vae":
		cfg, err = trainer.MLP{Variant: "vae", Input: d, Hidden: opts.Hidden, Latent: opts.Latent, Loss: trainer.BCE}.Config()
	}
	if err != nil {
		return nil, err
	}
	m, err := trainer.Build(cfg)
	if err != nil {
		return nil, err
	}
	m.Init(opts.Seed)
	data := &trainer.Tensor{Shape: []int{train.Len(), d}, Data: train.X}
	if _, err := trainer.Fit(m, data, tc, trainer.FitOptions{}); err != nil {
		return nil, err
	}
	if name == "vae" {
		elbo, excess := negativeELBO(m, test, opts.VAESamples, opts.Seed)
		return [][]float32{elbo, excess}, nil
	}
	return [][]float32{mse(m, test)}, nil
}

const scoreBatch = 500

// mse returns each test sample's mean squared reconstruction error.
func mse(m *trainer.Model, test *dataset.Set) []float32 {
	d := test.Dim()
	scores := make([]float32, 0, test.Len())
	for lo := 0; lo < test.Len(); lo += scoreBatch {
		hi := min(lo+scoreBatch, test.Len())
		x := &trainer.Tensor{Shape: []int{hi - lo, d}, Data: test.X[lo*d : hi*d]}
		y := m.Forward(x)
		for i := 0; i < hi-lo; i++ {
			var s float64
			for j := 0; j < d; j++ {
				e := float64(y.Data[i*d+j]) - float64(x.Data[i*d+j])
				s += e * e
			}
			scores = append(scores, float32(s/float64(d)))
		}
	}
	return scores
}

// negativeELBO returns each test sample's negative ELBO under a VAE with a
// Bernoulli decoder — the binary cross-entropy of x against the decoded
// means, summed over features and averaged over draws z ~ q(z|x), plus
// KL(q(z|x) ‖ N(0, I)) — and the same less the entropy H(x) of x's pixels.
func negativeELBO(m *trainer.Model, test *dataset.Set, draws int, seed uint64) (elbo, excess []float32) {
	rng := rand.New(rand.NewPCG(seed, 0x656c626f)) // "elbo"
	d := test.Dim()
	for lo := 0; lo < test.Len(); lo += scoreBatch {
		hi := min(lo+scoreBatch, test.Len())
		x := &trainer.Tensor{Shape: []int{hi - lo, d}, Data: test.X[lo*d : hi*d]}
		mu, lv := m.EncodeDist(x)
		k := mu.Shape[1]
		mu, lv = &trainer.Tensor{Shape: mu.Shape, Data: slices.Clone(mu.Data)}, &trainer.Tensor{Shape: lv.Shape, Data: slices.Clone(lv.Data)}
		neg := make([]float64, hi-lo)
		for i := range neg {
			for c := 0; c < k; c++ {
				m, l := float64(mu.Data[i*k+c]), float64(lv.Data[i*k+c])
				neg[i] += 0.5 * (math.Exp(l) + m*m - 1 - l)
			}
		}
		z := trainer.NewTensor(hi-lo, k)
		for s := 0; s < draws; s++ {
			for i, v := range mu.Data {
				z.Data[i] = v + float32(rng.NormFloat64()*math.Exp(0.5*float64(lv.Data[i])))
			}
			p := m.Decode(z)
			for i := range neg {
				neg[i] += BCE(x.Data[i*d:(i+1)*d], p.Data[i*d:(i+1)*d]) / float64(draws)
			}
		}
		for i, v := range neg {
			elbo = append(elbo, float32(v))
			excess = append(excess, float32(v-Entropy(x.Data[i*d:(i+1)*d])))
		}
	}
	return elbo, excess
}

// clampP keeps probabilities inside [1e-7, 1 − 1e-7], as the logs need.
func clampP(p float64) float64 { return min(max(p, 1e-7), 1-1e-7) }

// BCE returns −Σⱼ xⱼ log pⱼ + (1 − xⱼ) log(1 − pⱼ), the negative
// log-likelihood of x under independent Bernoulli means p (clamped to
// [1e-7, 1 − 1e-7]).
func BCE(x, p []float32) float64 {
	var b float64
	for j, v := range x {
		t, q := float64(v), clampP(float64(p[j]))
		b -= t*math.Log(q) + (1-t)*math.Log(1-q)
	}
	return b
}

// Entropy returns H(x) = BCE(x, x), the smallest value BCE(x, ·) takes.
func Entropy(x []float32) float64 { return BCE(x, x) }

func writeTable(w io.Writer, opts *options, table map[string][]float64) {
	fmt.Fprintf(w, "| class |")
	var cols []string
	for _, m := range opts.Models {
		cols = append(cols, columns(m)...)
	}
	for _, m := range cols {
		fmt.Fprintf(w, " %s |", m)
	}
	fmt.Fprintf(w, "\n|---|")
	for range cols {
		fmt.Fprintf(w, "---|")
	}
	fmt.Fprintln(w)
	for i, c := range opts.Classes {
		fmt.Fprintf(w, "| %d |", c)
		for _, m := range cols {
			fmt.Fprintf(w, " %.3f |", table[m][i])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "| mean |")
	for _, m := range cols {
		var s float64
		for _, v := range table[m] {
			s += v
		}
		fmt.Fprintf(w, " **%.3f** |", s/float64(len(table[m])))
	}
	fmt.Fprintln(w)
}
