package main

import (
	"errors"
	"fmt"
	"math"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/codes"
	"github.com/aebridge/aebridge/dataset"
	"github.com/aebridge/aebridge/runtime"
)

type probeOptions struct {
	IO          *iostreams
	Library     string
	Model       string // a model directory or an encoder ONNX file
	Train       string
	TrainLabels string
	Test        string
	TestLabels  string
	K           int
	Metric      string
	L2          float64
	MaxIter     int
	RawInput    bool
}

func newCmdProbe(f *factory, runF func(*probeOptions) error) *cobra.Command {
	opts := &probeOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "probe MODEL|DIR --train X.npy --train-labels Y.npy --test X.npy --test-labels Y.npy [-k 5] [--metric l2|cosine] [--l2 λ]",
		Short: "Measure how well codes classify: a linear probe and k-NN beside pixels and PCA",
		Long: `Encode the labelled --train and --test samples (as aebridge encode does: the
encoder of DIR, or an encoder ONNX file; μ for a VAE) and measure how much
of the labelling the codes carry, beside the raw inputs and PCA codes of
the same size fitted on --train:

  logistic  a multinomial logistic regression (softmax regression) fitted
            on the training features standardised to zero mean and unit
            variance, minimising the mean cross-entropy + (λ/2)‖W‖² by
            L-BFGS; its accuracy on the test split
  k-NN      the majority class of the k nearest training samples (--metric
            l2 or cosine, on the features as they are; a tie goes to the
            nearest of the tied classes); its accuracy on the test split

Samples are references: .npy files, data set splits such as
fashion-mnist:train[:2000], CSV or IDX files, folders of PNG images.
Labels are .npy files of one class number per sample (or one-hot rows);
a data set split (or a folder of class subfolders) brings its own, and
then --train-labels and --test-labels may be left out.
Exact k-NN compares every test sample with every training sample: keep
the splits to a few thousand samples each on raw 784-pixel inputs.`,
		Example: `  aebridge probe out/ --train x.npy --train-labels y.npy --test xt.npy --test-labels yt.npy
  aebridge probe out/ --train fashion-mnist:train[:2000] --test fashion-mnist:test[:1000]`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			opts.Library = f.Library
			if opts.Train == "" || opts.Test == "" {
				return &flagError{errors.New("--train and --test are required")}
			}
			if opts.K < 1 {
				return &flagError{fmt.Errorf("-k %d: want at least 1", opts.K)}
			}
			if _, err := codes.ParseMetric(opts.Metric); err != nil {
				return &flagError{fmt.Errorf("--metric %q: want l2 or cosine", opts.Metric)}
			}
			if opts.L2 < 0 || math.IsNaN(opts.L2) || math.IsInf(opts.L2, 0) {
				return &flagError{fmt.Errorf("--l2 %v: want a finite number ≥ 0", opts.L2)}
			}
			if opts.MaxIter < 1 {
				return &flagError{fmt.Errorf("--max-iter %d: want at least 1", opts.MaxIter)}
			}
			if runF != nil {
				return runF(opts)
			}
			return probeRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Train, "train", "", "training samples, `X.npy` or a data set reference (fashion-mnist:train[:2000])")
	fl.StringVar(&opts.TrainLabels, "train-labels", "", "their classes, `Y.npy`")
	fl.StringVar(&opts.Test, "test", "", "test samples, `X.npy` or a data set reference")
	fl.StringVar(&opts.TestLabels, "test-labels", "", "their classes, `Y.npy`")
	fl.IntVarP(&opts.K, "k", "k", 5, "neighbours of k-NN")
	fl.StringVar(&opts.Metric, "metric", "l2", "k-NN's distance: l2 or cosine")
	fl.Float64Var(&opts.L2, "l2", 1e-3, "the logistic regression's L2 weight `λ`")
	fl.IntVar(&opts.MaxIter, "max-iter", 300, "L-BFGS iterations of the logistic regression at most")
	fl.BoolVar(&opts.RawInput, "raw-input", false, "feed uint8 input unscaled, even to a model that divides it by 255")
	return cmd
}

// probeFeatures is one row of probe's table: features of the train and
// test splits, (n, Dim) row after row.
type probeFeatures struct {
	Name        string
	Dim         int
	Train, Test []float32
}

// probeResult is one row's accuracies.
type probeResult struct {
	Logistic, KNN float64
}

func probeRun(opts *probeOptions) error {
	path := modelFile(opts.Model, runtime.EncoderFile)
	model, err := runtime.Open(path, runtime.WithLibrary(opts.Library))
	if err != nil {
		return err
	}
	defer model.Close()
	split := func(flag, file, labelFlag, labelFile string) (runtime.Tensor, runtime.Tensor, []int, error) {
		x, cond, labels, err := readModelInput(opts.IO, model, flag, file, opts.RawInput, -1, "")
		if err != nil {
			return runtime.Tensor{}, runtime.Tensor{}, nil, err
		}
		switch {
		case labelFile != "":
			if labels, err = dataset.LoadLabels(labelFile, int(x.Shape[0])); err != nil {
				return runtime.Tensor{}, runtime.Tensor{}, nil, fmt.Errorf("%s %s: %w", labelFlag, labelFile, err)
			}
		case labels == nil:
			return runtime.Tensor{}, runtime.Tensor{}, nil, &flagError{fmt.Errorf("%s is required: %s %s brings no labels", labelFlag, flag, file)}
		}
		z, err := model.Encode(x, cond...)
		if err != nil {
			return runtime.Tensor{}, runtime.Tensor{}, nil, inputFlagError(flag, file, err)
		}
		return x, z, labels, nil
	}
	xTrain, zTrain, yTrain, err := split("--train", opts.Train, "--train-labels", opts.TrainLabels)
	if err != nil {
		return err
	}
	xTest, zTest, yTest, err := split("--test", opts.Test, "--test-labels", opts.TestLabels)
	if err != nil {
		return err
	}
	d := len(xTrain.Data) / int(xTrain.Shape[0])
	if len(xTest.Data)/int(xTest.Shape[0]) != d {
		return fmt.Errorf("--test %s: samples of %v; --train %s has %v", opts.Test, xTest.Shape[1:], opts.Train, xTrain.Shape[1:])
	}
	code := len(zTrain.Data) / int(zTrain.Shape[0])
	if k := min(int(xTrain.Shape[0]), d); code > k {
		return fmt.Errorf("%s: codes of %d values, but PCA of %d training samples of %d values has at most %d components", path, code, xTrain.Shape[0], d, k)
	}
	pca, err := codes.FitPCA(xTrain.Data, d, code)
	if err != nil {
		return fmt.Errorf("--train %s: %w", opts.Train, err)
	}
	pTrain, err := pca.Encode(xTrain.Data)
	if err != nil {
		return err
	}
	pTest, err := pca.Encode(xTest.Data)
	if err != nil {
		return err
	}
	rows := []probeFeatures{
		{"pixels", d, xTrain.Data, xTest.Data},
		{"pca", code, pTrain, pTest},
		{"codes", code, zTrain.Data, zTest.Data},
	}
	fmt.Fprintf(opts.IO.Out, "probe: %d training and %d test samples, logistic regression (λ = %g) and %d-NN (%s)\n", len(yTrain), len(yTest), opts.L2, opts.K, opts.Metric)
	fmt.Fprintf(opts.IO.Out, "%-8s %5s %9s %9s\n", "features", "dim", "logistic", "k-NN")
	for _, r := range rows {
		res, err := probe(r, yTrain, yTest, opts)
		if err != nil {
			return fmt.Errorf("probe: %s: %w", r.Name, err)
		}
		fmt.Fprintf(opts.IO.Out, "%-8s %5d %9.4f %9.4f\n", r.Name, r.Dim, res.Logistic, res.KNN)
	}
	return nil
}

// probe fits the two classifiers on one row's training features and
// returns their test accuracies.
func probe(f probeFeatures, yTrain, yTest []int, opts *probeOptions) (probeResult, error) {
	std, err := codes.FitStandardizer(f.Train, f.Dim)
	if err != nil {
		return probeResult{}, err
	}
	classes := 0
	for _, ys := range [][]int{yTrain, yTest} {
		for _, l := range ys {
			classes = max(classes, l+1)
		}
	}
	lr, err := codes.FitLogistic(std.Apply(f.Train), f.Dim, yTrain, classes, codes.LogisticOptions{L2: opts.L2, MaxIter: opts.MaxIter})
	if err != nil {
		return probeResult{}, err
	}
	pred, err := lr.Predict(std.Apply(f.Test))
	if err != nil {
		return probeResult{}, err
	}
	var res probeResult
	res.Logistic = codes.Accuracy(pred, yTest)
	ix, err := codes.NewIndex(f.Train, f.Dim, codes.Metric(opts.Metric))
	if err != nil {
		return probeResult{}, err
	}
	if pred, err = codes.KNN(ix, yTrain, f.Test, opts.K); err != nil {
		return probeResult{}, err
	}
	res.KNN = codes.Accuracy(pred, yTest)
	return res, nil
}
