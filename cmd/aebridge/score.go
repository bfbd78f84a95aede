package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/anomaly"
	"github.com/aebridge/aebridge/dataset"
	"github.com/aebridge/aebridge/internal/atomicfile"
	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/runtime"
)

type scoreOptions struct {
	IO            *iostreams
	Library       string
	Model         string // a model directory or an ONNX file
	Input         string
	Output        string
	Metric        string // "" for the calibration's metric, else mse
	Threshold     float64
	HasThreshold  bool
	Contamination float64
	FPR           float64
	Labels        string
	Features      string
	Class         int // −1 for none
	Condition     string
	RawInput      bool
}

func newCmdScore(f *factory, runF func(*scoreOptions) error) *cobra.Command {
	opts := &scoreOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "score MODEL|DIR --input X.npy --output OUT.npy|csv|jsonl [--metric mse|mae|bce|l2] [--threshold T | --contamination p | --fpr f] [--labels Y]",
		Short: "Score samples by reconstruction error and label anomalies",
		Long: `Reconstruct each sample of --input with an autoencoder (DIR/model.onnx of a
model directory, or any ONNX autoencoder; an encoder or decoder file of a
directory runs with the other part beside it) and write its reconstruction
error, the anomaly score, with a label: 1 (an anomaly) when the score is
above the threshold, else 0.

Metrics, per sample: mse and mae, the mean squared or absolute error; bce,
the mean binary cross-entropy (inputs in [0, 1]); l2, the Euclidean
distance ‖x − x̂‖, PyOD's AutoEncoder score.

The threshold is, in this order: --threshold T; --contamination p, the
(1 − p) quantile of these scores (PyOD's rule: the input is taken to hold a
fraction p of anomalies); --fpr f, the smallest of these scores that at
most a fraction f of them exceed; else the threshold that aebridge
calibrate stored in the model (its metric is then the default). Without
any, scores are written without labels.

--output by extension: .npy, the scores (N) or, with a threshold, (N, 2)
columns score and label; .csv with a header "score,label"; .jsonl, one
{"index":i,"score":s,"label":l} a line. --features FILE (.npy or .csv)
writes each input's share of the error ((x − x̂)² for mse and l2, |x − x̂|
for mae, the cross-entropy for bce), of the input's shape.

--labels Y (.npy of 0/1, or text, one 0 or 1 a line; 1 is an anomaly)
prints ROC-AUC (ties as half), PR-AUC (average precision, as scikit-learn
computes it) and the confusion matrix at the threshold.

A conditional model takes --class k for every sample or --condition FILE
(a .npy of one class per sample, or one-hot rows). --input follows run's
input-scaling rule (see aebridge run --help).`,
		Example: `  aebridge score out/ --input test.npy --output scores.csv --labels test_labels.npy
  aebridge score model.onnx --input x.npy --metric l2 --contamination 0.05 --output s.jsonl`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			opts.Library = f.Library
			if opts.Input == "" || opts.Output == "" {
				return &flagError{errors.New("--input and --output are required")}
			}
			if err := checkExt("--output", opts.Output, ".npy", ".csv", ".jsonl"); err != nil {
				return err
			}
			if opts.Features != "" {
				if err := checkExt("--features", opts.Features, ".npy", ".csv"); err != nil {
					return err
				}
			}
			if opts.Metric != "" {
				if _, err := runtime.ParseMetric(opts.Metric); err != nil {
					return &flagError{fmt.Errorf("--metric %q: want mse, mae, bce or l2", opts.Metric)}
				}
			}
			fl := cmd.Flags()
			opts.HasThreshold = fl.Changed("threshold")
			if n := countTrue(opts.HasThreshold, fl.Changed("contamination"), fl.Changed("fpr")); n > 1 {
				return &flagError{errors.New("give at most one of --threshold, --contamination and --fpr")}
			}
			if opts.HasThreshold && (math.IsNaN(opts.Threshold) || math.IsInf(opts.Threshold, 0)) {
				return &flagError{fmt.Errorf("--threshold %v: want a finite number", opts.Threshold)}
			}
			if err := checkFraction(fl.Changed("contamination"), "--contamination", opts.Contamination); err != nil {
				return err
			}
			if err := checkFraction(fl.Changed("fpr"), "--fpr", opts.FPR); err != nil {
				return err
			}
			if err := checkClass(cmd, &opts.Class, opts.Condition); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return scoreRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Input, "input", "i", "", "samples to score, `X.npy` or a data set reference (fashion-mnist:test[:256], a CSV or IDX file, a folder of PNG images)")
	fl.StringVarP(&opts.Output, "output", "o", "", "write scores and labels to `OUT` (.npy, .csv or .jsonl)")
	fl.StringVar(&opts.Metric, "metric", "", "mse, mae, bce or l2 (default: the calibration's, else mse)")
	fl.Float64Var(&opts.Threshold, "threshold", 0, "label scores above `T` as anomalies")
	fl.Float64Var(&opts.Contamination, "contamination", 0, "threshold at the (1 − `p`) quantile of the scores")
	fl.Float64Var(&opts.FPR, "fpr", 0, "threshold letting at most a fraction `f` of the scores through")
	fl.StringVar(&opts.Labels, "labels", "", "true labels `Y` (1 anomaly, 0 normal): print ROC-AUC, PR-AUC and the confusion matrix")
	fl.StringVar(&opts.Features, "features", "", "write feature-level scores to `FILE` (.npy or .csv)")
	fl.IntVar(&opts.Class, "class", 0, "class `k` of every sample, for a conditional model")
	fl.StringVar(&opts.Condition, "condition", "", "class of each sample, for a conditional model: `FILE.npy`")
	fl.BoolVar(&opts.RawInput, "raw-input", false, "feed uint8 input unscaled, even to a model that divides it by 255")
	return cmd
}

func scoreRun(opts *scoreOptions) error {
	noteStandardized(opts.IO, opts.Model)
	path := modelFile(opts.Model, runtime.FullFile)
	model, err := runtime.Open(path, runtime.WithLibrary(opts.Library))
	if err != nil {
		return err
	}
	defer model.Close()
	info := model.Info()
	stored, err := storedCalibration(opts.IO, info)
	if err != nil {
		return err
	}
	explicit := opts.HasThreshold || opts.Contamination > 0 || opts.FPR > 0
	metric := runtime.Metric(opts.Metric)
	switch {
	case metric == "" && stored != nil && !explicit:
		metric = stored.Metric
	case metric == "":
		metric = runtime.MSE
	case stored != nil && !explicit && metric != stored.Metric:
		return &flagError{fmt.Errorf("--metric %s: %s is calibrated for %s; give --threshold, --contamination or --fpr for %s, or calibrate it again", metric, path, stored.Metric, metric)}
	}
	x, cond, _, err := readModelInput(opts.IO, model, "--input", opts.Input, opts.RawInput, opts.Class, opts.Condition)
	if err != nil {
		return err
	}
	xhat, err := model.Reconstruct(x, cond...)
	if err != nil {
		return inputFlagError("--input", opts.Input, err)
	}
	scores, err := runtime.Scores(x, xhat, metric)
	if err != nil {
		return inputFlagError("--input", opts.Input, err)
	}
	for i, s := range scores {
		if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
			return fmt.Errorf("%s: sample %d of %s scores %v: the reconstruction holds NaN or ±Inf", path, i, opts.Input, s)
		}
	}
	var labels []bool
	var truth []bool
	if opts.Labels != "" {
		if truth, err = readLabels(opts.Labels, len(scores), opts.Input); err != nil {
			return err
		}
	}
	threshold, source := math.NaN(), ""
	switch {
	case opts.HasThreshold:
		threshold, source = opts.Threshold, "--threshold"
	case opts.Contamination > 0 || opts.FPR > 0:
		d := anomaly.Detector{Contamination: opts.Contamination, FPR: opts.FPR}
		if err := d.Fit(scores); err != nil {
			return err
		}
		threshold = d.Threshold()
		if opts.FPR > 0 {
			source = fmt.Sprintf("--fpr %v on these scores", opts.FPR)
		} else {
			source = fmt.Sprintf("--contamination %v on these scores", opts.Contamination)
		}
	case stored != nil:
		threshold, source = stored.Threshold, "calibrated: "+describeCalibration(stored)
	}
	if !math.IsNaN(threshold) {
		d := anomaly.Detector{}
		if err := d.SetThreshold(threshold); err != nil {
			return err
		}
		if labels, err = d.Predict(scores); err != nil {
			return err
		}
	}
	var evaluation string
	if truth != nil {
		if evaluation, err = evaluate(scores, truth, labels, threshold); err != nil {
			return err
		}
	}
	if opts.Features != "" {
		fs, err := runtime.FeatureScores(x, xhat, metric)
		if err != nil {
			return err
		}
		if err := writeArray(opts.Features, fs); err != nil {
			return err
		}
	}
	if err := writeScores(opts.Output, scores, labels); err != nil {
		return err
	}
	out := opts.IO.Out
	fmt.Fprintf(out, "scored %d samples of %s by %s -> %s\n", len(scores), opts.Input, metric, opts.Output)
	if opts.Features != "" {
		fmt.Fprintf(out, "feature scores %v -> %s\n", x.Shape, opts.Features)
	}
	if labels != nil {
		fmt.Fprintf(out, "threshold %s (%s): %d anomalies\n", formatFloat(threshold), source, countTrue(labels...))
	} else {
		fmt.Fprintf(out, "no threshold (give --threshold, --contamination or --fpr, or run aebridge calibrate): scores only\n")
	}
	fmt.Fprint(out, evaluation)
	return nil
}

// evaluate returns ROC-AUC, PR-AUC and, with a threshold, the confusion
// matrix of scores against the true labels, as score prints them.
func evaluate(scores []float32, truth, labels []bool, threshold float64) (string, error) {
	auc, err := anomaly.ROCAUC(scores, truth)
	if err != nil {
		return "", fmt.Errorf("--labels: %w", err)
	}
	ap, err := anomaly.AveragePrecision(scores, truth)
	if err != nil {
		return "", fmt.Errorf("--labels: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ROC-AUC %.6f\nPR-AUC %.6f (average precision)\n", auc, ap)
	if labels == nil {
		return b.String(), nil
	}
	c, err := anomaly.ConfusionAt(scores, truth, threshold)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "confusion matrix at threshold %s (score > threshold is an anomaly):\n", formatFloat(threshold))
	fmt.Fprintf(&b, "%-10s %17s %18s\n", "", "predicted normal", "predicted anomaly")
	fmt.Fprintf(&b, "%-10s %17d %18d\n", "normal", c.TN, c.FP)
	fmt.Fprintf(&b, "%-10s %17d %18d\n", "anomaly", c.FN, c.TP)
	fmt.Fprintf(&b, "precision %s, recall %s, false-positive rate %s\n", formatRatio(c.Precision()), formatRatio(c.Recall()), formatRatio(c.FPR()))
	return b.String(), nil
}

func formatRatio(v float64) string {
	if math.IsNaN(v) {
		return "undefined"
	}
	return fmt.Sprintf("%.4f", v)
}

// formatFloat writes v in the fewest digits that read back to it.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func countTrue(v ...bool) int {
	n := 0
	for _, b := range v {
		if b {
			n++
		}
	}
	return n
}

// checkExt checks that path ends in one of exts.
func checkExt(flag, path string, exts ...string) error {
	ext := strings.ToLower(filepath.Ext(path))
	for _, e := range exts {
		if ext == e {
			return nil
		}
	}
	return &flagError{fmt.Errorf("%s %s: want a %s file", flag, path, strings.Join(exts, ", "))}
}

// checkFraction checks a contamination or false-positive rate flag.
func checkFraction(changed bool, flag string, v float64) error {
	if changed && !(v > 0 && v < 1) {
		return &flagError{fmt.Errorf("%s %v: want a fraction in (0, 1)", flag, v)}
	}
	return nil
}

// checkClass sets *class to −1 when --class is not given, and refuses a
// negative class or both --class and --condition.
func checkClass(cmd *cobra.Command, class *int, condition string) error {
	if !cmd.Flags().Changed("class") {
		*class = -1
		return nil
	}
	if *class < 0 {
		return &flagError{fmt.Errorf("--class %d must not be negative", *class)}
	}
	if condition != "" {
		return &flagError{errors.New("give --class or --condition, not both")}
	}
	return nil
}

// readModelInput reads the samples a reference names (readRef: a .npy
// file, a data set such as fashion-mnist:test[:256], a CSV or IDX file, a
// folder of PNG images) for the model's data input, by run's input-scaling
// rule, refusing NaN and ±Inf, and the condition of a conditional model
// from --class or --condition. flag names the option the reference came
// from, in errors. It returns the labels the reference brings, or nil.
func readModelInput(ios *iostreams, model *runtime.Model, flag, ref string, raw bool, class int, condition string) (runtime.Tensor, []runtime.Tensor, []int, error) {
	info, err := dataInfo(model.Info())
	if err != nil {
		return runtime.Tensor{}, nil, nil, err
	}
	rule, err := newInputRule(info.Path, info, raw, ios)
	if err != nil {
		return runtime.Tensor{}, nil, nil, err
	}
	x, labels, err := readRef(rule, flag, ref)
	if err != nil {
		return runtime.Tensor{}, nil, nil, err
	}
	if err := checkFiniteInput(flag, ref, x); err != nil {
		return runtime.Tensor{}, nil, nil, err
	}
	x = info.Inputs[0].FitShape(x)
	cond, err := conditionFor(info, x, class, condition)
	return x, cond, labels, err
}

// dataInfo describes the graph whose first input is the data: info
// itself, or, for an aebridge decoder (which Score runs after the encoder
// beside it), the model.onnx or encoder.onnx in its directory, whose input
// rule and shape apply to the samples.
func dataInfo(info *runtime.Info) (*runtime.Info, error) {
	if info.Part() != "decoder" {
		return info, nil
	}
	dir := filepath.Dir(info.Path)
	path := filepath.Join(dir, runtime.FullFile)
	if !fileExists(path) {
		path = filepath.Join(dir, runtime.EncoderFile)
	}
	return runtime.Inspect(path)
}

// checkFiniteInput refuses NaN and ±Inf, naming the flag, the file, the
// sample and the element.
func checkFiniteInput(flag, path string, x runtime.Tensor) error {
	if len(x.Shape) == 0 || x.Shape[0] == 0 {
		return fmt.Errorf("%s %s: shape %v: want a batch of samples, (N, …)", flag, path, x.Shape)
	}
	per := len(x.Data) / int(x.Shape[0])
	for i, v := range x.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%s %s: sample %d, element %d is %v", flag, path, i/per, i%per, v)
		}
	}
	return nil
}

// conditionFor returns the one-hot condition of a conditional model for
// the n samples of x: --class for all, or --condition's class per sample.
func conditionFor(info *runtime.Info, x runtime.Tensor, class int, condition string) ([]runtime.Tensor, error) {
	k := info.Classes()
	if k == 0 {
		if class >= 0 || condition != "" {
			return nil, &flagError{fmt.Errorf("--class and --condition are for conditional models; %s takes no condition (inputs %s)", info.Path, ioList(info.Inputs))}
		}
		return nil, nil
	}
	n := int(x.Shape[0])
	classes := make([]int, n)
	switch {
	case condition != "":
		var err error
		if classes, err = dataset.LoadLabels(condition, n); err != nil {
			return nil, fmt.Errorf("--condition %s: %w", condition, err)
		}
	case class >= 0:
		for i := range classes {
			classes[i] = class
		}
	default:
		return nil, &flagError{fmt.Errorf("%s is conditional (inputs %s): give --class k or --condition FILE.npy", info.Path, ioList(info.Inputs))}
	}
	c, err := runtime.OneHot(classes, k)
	if err != nil {
		if condition != "" {
			return nil, fmt.Errorf("--condition %s: %w", condition, err)
		}
		return nil, &flagError{fmt.Errorf("--class %d: %s has %d classes, 0 to %d", class, info.Path, k, k-1)}
	}
	return []runtime.Tensor{c}, nil
}

// inputFlagError names the flag and file in an error about the input that
// the model reports.
func inputFlagError(flag, path string, err error) error {
	var ie *runtime.InputError
	if errors.As(err, &ie) {
		return fmt.Errorf("%s %s: %w", flag, path, err)
	}
	return err
}

// readLabels reads n anomaly labels from a .npy file (0/1 values, shape
// (n)) or a text file (one 0 or 1 a line).
func readLabels(path string, n int, input string) ([]bool, error) {
	var labels []bool
	if strings.EqualFold(filepath.Ext(path), ".npy") {
		a, err := npy.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--labels %s: %w", path, err)
		}
		if len(a.Shape) != 1 && !(len(a.Shape) == 2 && a.Shape[1] == 1) {
			return nil, fmt.Errorf("--labels %s: shape %v: want (%d) labels, 0 or 1", path, a.Shape, n)
		}
		if labels, err = anomaly.Labels(a.Data, path); err != nil {
			return nil, fmt.Errorf("--labels: %w", err)
		}
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("--labels: %w", err)
		}
		defer f.Close()
		if labels, err = anomaly.ReadLabels(f, path); err != nil {
			return nil, fmt.Errorf("--labels: %w", err)
		}
	}
	if len(labels) != n {
		return nil, fmt.Errorf("--labels %s: %d labels for the %d samples of --input %s", path, len(labels), n, input)
	}
	return labels, nil
}

// storedCalibration returns the calibration the model's metadata records,
// checked against calibration.json in its directory when that exists: the
// two must agree. A calibration.json beside a model whose metadata records
// none (exported again since) is ignored, with a warning.
func storedCalibration(ios *iostreams, info *runtime.Info) (*runtime.Calibration, error) {
	meta, err := info.Calibration()
	if err != nil {
		return nil, err
	}
	if info.Part() == "" {
		return meta, nil
	}
	jsonPath := filepath.Join(filepath.Dir(info.Path), runtime.CalibrationFile)
	b, err := readSmall(jsonPath)
	if errors.Is(err, os.ErrNotExist) {
		return meta, nil
	}
	if err != nil {
		return nil, err
	}
	file, err := runtime.ParseCalibration(b, jsonPath)
	if err != nil {
		return nil, err
	}
	switch {
	case meta == nil:
		fmt.Fprintf(ios.ErrOut, "warning: ignoring %s: %s records no calibration (exported again since?); run aebridge calibrate again\n", jsonPath, info.Path)
		return nil, nil
	case !sameCalibration(file, meta):
		return nil, fmt.Errorf("%s (threshold %s, %s) disagrees with the calibration in %s's metadata (threshold %s, %s); run aebridge calibrate again",
			jsonPath, formatFloat(file.Threshold), file.Date.Format("2006-01-02T15:04:05Z07:00"), info.Path, formatFloat(meta.Threshold), meta.Date.Format("2006-01-02T15:04:05Z07:00"))
	}
	return meta, nil
}

func sameCalibration(a, b *runtime.Calibration) bool {
	return a.Threshold == b.Threshold && a.Metric == b.Metric && a.Contamination == b.Contamination && a.FPR == b.FPR &&
		a.Samples == b.Samples && a.Input == b.Input && a.Date.Equal(b.Date)
}

// readSmall reads a file of at most 1 MiB.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return nil, err
	}
	if len(b) > 1<<20 {
		return nil, fmt.Errorf("%s: larger than 1 MiB", path)
	}
	return b, nil
}

// describeCalibration says how a stored threshold was chosen.
func describeCalibration(c *runtime.Calibration) string {
	rule := fmt.Sprintf("contamination %v", c.Contamination)
	if c.FPR > 0 {
		rule = fmt.Sprintf("fpr %v", c.FPR)
	}
	return fmt.Sprintf("%s, %s of %d samples of %s, %s", c.Metric, rule, c.Samples, printable(c.Input), c.Date.Format("2006-01-02T15:04:05Z07:00"))
}

// writeScores writes scores, and labels when not nil, to path by its
// extension: .npy (N) or (N, 2), .csv, or .jsonl. It writes atomically.
func writeScores(path string, scores []float32, labels []bool) error {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".npy":
		if labels == nil {
			return npy.WriteFile(path, []int{len(scores)}, scores)
		}
		data := make([]float32, 0, 2*len(scores))
		for i, s := range scores {
			data = append(data, s, float32(label(labels[i])))
		}
		return npy.WriteFile(path, []int{len(scores), 2}, data)
	case ".csv":
		return atomicfile.Write(path, func(w io.Writer) error {
			bw := bufio.NewWriter(w)
			if labels == nil {
				fmt.Fprintln(bw, "score")
			} else {
				fmt.Fprintln(bw, "score,label")
			}
			for i, s := range scores {
				if labels == nil {
					fmt.Fprintln(bw, formatFloat32(s))
				} else {
					fmt.Fprintf(bw, "%s,%d\n", formatFloat32(s), label(labels[i]))
				}
			}
			return bw.Flush()
		})
	case ".jsonl":
		return atomicfile.Write(path, func(w io.Writer) error {
			bw := bufio.NewWriter(w)
			for i, s := range scores {
				if labels == nil {
					fmt.Fprintf(bw, "{\"index\":%d,\"score\":%s}\n", i, formatFloat32(s))
				} else {
					fmt.Fprintf(bw, "{\"index\":%d,\"score\":%s,\"label\":%d}\n", i, formatFloat32(s), label(labels[i]))
				}
			}
			return bw.Flush()
		})
	}
	return fmt.Errorf("--output %s: want a .npy, .csv or .jsonl file", path)
}

func label(b bool) int {
	if b {
		return 1
	}
	return 0
}

// formatFloat32 writes v in the fewest digits that read back to the same
// float32.
func formatFloat32(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }

// writeArray writes t to path atomically: a .npy of t's shape, or a CSV of
// one sample a row (flattened), with a header c0,c1,….
func writeArray(path string, t runtime.Tensor) error {
	dims := make([]int, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = int(d)
	}
	if !strings.EqualFold(filepath.Ext(path), ".csv") {
		return npy.WriteFile(path, dims, t.Data)
	}
	if len(t.Shape) == 0 || t.Shape[0] == 0 {
		return fmt.Errorf("%s: cannot write shape %v as rows", path, t.Shape)
	}
	per := len(t.Data) / int(t.Shape[0])
	return atomicfile.Write(path, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		for j := 0; j < per; j++ {
			if j > 0 {
				bw.WriteByte(',')
			}
			fmt.Fprintf(bw, "c%d", j)
		}
		bw.WriteByte('\n')
		for i, v := range t.Data {
			bw.WriteString(formatFloat32(v))
			if (i+1)%per == 0 {
				bw.WriteByte('\n')
			} else {
				bw.WriteByte(',')
			}
		}
		return bw.Flush()
	})
}
