package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/anomaly"
	"github.com/aebridge/aebridge/internal/atomicfile"
	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/runtime"
)

type calibrateOptions struct {
	IO            *iostreams
	Library       string
	Dir           string
	Input         string
	Metric        string
	Contamination float64
	FPR           float64
	Class         int // −1 for none
	Condition     string
	RawInput      bool
	Now           func() time.Time
}

func newCmdCalibrate(f *factory, runF func(*calibrateOptions) error) *cobra.Command {
	opts := &calibrateOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "calibrate DIR --input NORMAL.npy (--contamination p | --fpr f) [--metric mse|mae|bce|l2]",
		Short: "Fit an anomaly threshold on normal data and store it in the model",
		Long: `Score the samples of --input (normal data) with the model directory's
model.onnx, as aebridge score does, and fit a threshold: with
--contamination p, the (1 − p) quantile of the scores (PyOD's rule, for data
taken to hold a fraction p of anomalies); with --fpr f, the smallest score
that at most a fraction f of them exceed (data taken to be normal, f the
false-positive rate allowed on it).

The threshold and its provenance — metric, p or f, the number of samples,
the input's file name, the date — are stored in DIR/calibration.json and in
the metadata of DIR's model.onnx, encoder.onnx and decoder.onnx (key
aebridge.calibration, the same JSON; each file is rewritten atomically), so
that aebridge score and the Go API (runtime.Model.Detect) use it by default.
Calibrating again replaces it.`,
		Example: `  aebridge calibrate out/ --input normal.npy --contamination 0.01`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			opts.Library = f.Library
			if opts.Now == nil {
				opts.Now = time.Now
			}
			if opts.Input == "" {
				return &flagError{errors.New("--input is required")}
			}
			fl := cmd.Flags()
			if fl.Changed("contamination") == fl.Changed("fpr") {
				return &flagError{errors.New("give one of --contamination and --fpr")}
			}
			if err := checkFraction(fl.Changed("contamination"), "--contamination", opts.Contamination); err != nil {
				return err
			}
			if err := checkFraction(fl.Changed("fpr"), "--fpr", opts.FPR); err != nil {
				return err
			}
			if _, err := runtime.ParseMetric(opts.Metric); err != nil {
				return &flagError{fmt.Errorf("--metric %q: want mse, mae, bce or l2", opts.Metric)}
			}
			if err := checkClass(cmd, &opts.Class, opts.Condition); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return calibrateRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Input, "input", "i", "", "normal samples, `NORMAL.npy` or a data set reference")
	fl.StringVar(&opts.Metric, "metric", "mse", "mse, mae, bce or l2")
	fl.Float64Var(&opts.Contamination, "contamination", 0, "threshold at the (1 − `p`) quantile of the scores")
	fl.Float64Var(&opts.FPR, "fpr", 0, "threshold letting at most a fraction `f` of the scores through")
	fl.IntVar(&opts.Class, "class", 0, "class `k` of every sample, for a conditional model")
	fl.StringVar(&opts.Condition, "condition", "", "class of each sample, for a conditional model: `FILE.npy`")
	fl.BoolVar(&opts.RawInput, "raw-input", false, "feed uint8 input unscaled, even to a model that divides it by 255")
	return cmd
}

// calibratedFiles are the files of a model directory whose metadata gets
// the calibration, when present.
var calibratedFiles = []string{runtime.FullFile, runtime.EncoderFile, runtime.DecoderFile}

func calibrateRun(opts *calibrateOptions) error {
	if st, err := os.Stat(opts.Dir); err != nil || !st.IsDir() {
		return &flagError{fmt.Errorf("%s is not a model directory; calibrate stores the threshold in one (DIR/model.onnx and DIR/%s)", opts.Dir, runtime.CalibrationFile)}
	}
	noteStandardized(opts.IO, opts.Dir)
	path := filepath.Join(opts.Dir, runtime.FullFile)
	model, err := runtime.Open(path, runtime.WithLibrary(opts.Library))
	if err != nil {
		return err
	}
	defer model.Close()
	x, cond, _, err := readModelInput(opts.IO, model, "--input", opts.Input, opts.RawInput, opts.Class, opts.Condition)
	if err != nil {
		return err
	}
	metric := runtime.Metric(opts.Metric)
	scores, err := model.Score(x, metric, cond...)
	if err != nil {
		return inputFlagError("--input", opts.Input, err)
	}
	d := anomaly.Detector{Contamination: opts.Contamination, FPR: opts.FPR}
	if err := d.Fit(scores); err != nil {
		return err
	}
	c := &runtime.Calibration{
		Threshold: d.Threshold(), Metric: metric, Contamination: opts.Contamination, FPR: opts.FPR,
		Samples: len(scores), Input: filepath.Base(opts.Input), Date: opts.Now().UTC().Truncate(time.Second),
	}
	b, err := c.Marshal()
	if err != nil {
		return err
	}
	if _, err := runtime.ParseCalibration(b, "the new calibration"); err != nil {
		return err // our own bug: never store what score would refuse
	}
	var written []string
	for _, name := range calibratedFiles {
		p := filepath.Join(opts.Dir, name)
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := setMetadata(p, runtime.CalibrationKey, string(b[:len(b)-1])); err != nil {
			return err
		}
		written = append(written, name)
	}
	jsonPath := filepath.Join(opts.Dir, runtime.CalibrationFile)
	if err := atomicfile.WriteBytes(jsonPath, b); err != nil {
		return err
	}
	above := 0
	for _, s := range scores {
		if float64(s) > c.Threshold {
			above++
		}
	}
	fmt.Fprintf(opts.IO.Out, "threshold %s (%s): %d of the %d samples of %s score above it\n", formatFloat(c.Threshold), describeCalibration(c), above, len(scores), opts.Input)
	fmt.Fprintf(opts.IO.Out, "wrote %s and the metadata of %v\n", jsonPath, written)
	return nil
}

// setMetadata sets key to value in the metadata_props of the ONNX file at
// path, replacing any earlier value, and rewrites the file atomically. The
// file is read without its external data, whose references stay as they
// are (the side files are not touched).
func setMetadata(path, key, value string) error {
	m, err := onnxfile.LoadStructure(path)
	if err != nil {
		return err
	}
	props := m.MetadataProps[:0]
	for _, kv := range m.MetadataProps {
		if kv.GetKey() != key {
			props = append(props, kv)
		}
	}
	m.MetadataProps = append(props, &onnxpb.StringStringEntryProto{Key: proto.String(key), Value: proto.String(value)})
	return onnxfile.Save(path, m)
}
