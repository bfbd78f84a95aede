// Command aebridge-pipeline scores data sets larger than one machine holds
// with an Apache Beam pipeline (package pipeline) on Beam's local runners
// (direct, prism) or on Flink or Dataflow:
//
//	aebridge-pipeline score --model DIR --input 'shards/*.npy' --output out/scores \
//	    --runner direct|prism|flink|dataflow [--batch N] [--shards N] [--format jsonl|csv] \
//	    [--metric mse|mae|bce|l2] [--threshold T | --contamination p | --fpr f]
//
// Run without the score command, as Beam's worker harness starts it
// (--worker and the harness's endpoints), it is a Beam worker.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/exec/optimized"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/direct"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/flink"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/aebridge/aebridge/pipeline"
)

const usage = `usage: aebridge-pipeline score --model DIR --input GLOB --output PREFIX --runner direct|prism|flink|dataflow [flags]

Reconstruct every row (sample) of the .npy and .csv shards GLOB matches with
the autoencoder DIR/model.onnx (or an .onnx file), on the pure-Go backend, and
write its reconstruction error, the anomaly score, with a label (1: above the
threshold, an anomaly) to PREFIX-SSSSS-of-NNNNN.jsonl, one line a row:
{"file":F,"row":i,"score":s,"label":l}, row i of shard F counted from 0
(--format csv: file,row,score,label). Metrics and thresholds are aebridge
score's: --threshold T, --contamination p or --fpr f on all the scores, else
the threshold aebridge calibrate stored in the model (its metric the
default); without any, scores only.

Flags (with Beam's: --endpoint, --environment_type, --environment_config,
--project, --region, --temp_location, --staging_location,
--sdk_container_image, …; see README.md):
`

type scoreFlags struct {
	opts    pipeline.Options
	runner  *string
	pending []string
}

// newScoreFlags registers the score flags on flag.CommandLine, where Beam's
// runners keep theirs.
func newScoreFlags() *scoreFlags {
	f := &scoreFlags{runner: runners.Runner}
	fl := flag.CommandLine
	o := &f.opts
	fl.StringVar(&o.Model, "model", "", "model directory (its model.onnx) or ONNX `file`; local, gs:// or any Beam file system")
	fl.StringVar(&o.Input, "input", "", "`glob` of .npy and .csv shards, (N, …) samples each")
	fl.StringVar(&o.Output, "output", "", "output `prefix`: PREFIX-SSSSS-of-NNNNN.jsonl")
	fl.StringVar(&o.Format, "format", "jsonl", "output format: jsonl or csv")
	fl.IntVar(&o.Batch, "batch", 256, "rows per batch fed to the model")
	fl.IntVar(&o.Shards, "shards", 4, "output shards")
	fl.StringVar(&o.Metric, "metric", "", "mse, mae, bce or l2 (default: the calibration's, else mse)")
	fl.Float64Var(&o.Threshold, "threshold", 0, "label scores above `T` as anomalies")
	fl.Float64Var(&o.Contamination, "contamination", 0, "threshold at the (1 − `p`) quantile of all the scores")
	fl.Float64Var(&o.FPR, "fpr", 0, "threshold letting at most a fraction `f` of all the scores through")
	return f
}

var flags = newScoreFlags()

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "aebridge-pipeline:", cause(err))
		os.Exit(1)
	}
}

// errUsage is a usage error; the usage has been printed.
var errUsage = errors.New("see the usage above")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "score" {
		// A Beam worker (--worker=true …), started by the harness.
		if err := flag.CommandLine.Parse(args); err != nil {
			return err
		}
		beam.Init() // runs the worker and exits when --worker is set
		fmt.Fprint(stderr, usage)
		flag.CommandLine.SetOutput(stderr)
		flag.CommandLine.PrintDefaults()
		return errUsage
	}
	set := map[string]bool{}
	fl := flag.CommandLine
	fl.SetOutput(stderr)
	fl.Usage = func() { fmt.Fprint(stderr, usage); fl.PrintDefaults() }
	if err := fl.Parse(args[1:]); err != nil {
		return err
	}
	fl.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	o := flags.opts
	if err := check(o, set, *flags.runner); err != nil {
		return err
	}
	o.HasThreshold = set["threshold"]
	beam.Init()
	p, s := beam.NewPipelineWithRoot()
	plan, err := pipeline.Score(ctx, s, o, func(w string) { fmt.Fprintln(stderr, w) })
	if err != nil {
		return err
	}
	if _, err := beam.Run(ctx, *flags.runner, p); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "scored %s by %s with %s -> %s\n", o.Input, plan.Metric, plan.Model, pipeline.ShardName(o.Output, 0, o.Shards, o.Format)+" …")
	switch {
	case plan.Fitted:
		fmt.Fprintf(stdout, "threshold fitted (%s)\n", plan.Source)
	case plan.Labels:
		fmt.Fprintf(stdout, "threshold %v (%s)\n", plan.Thresh, plan.Source)
	default:
		fmt.Fprintf(stdout, "no threshold (give --threshold, --contamination or --fpr, or run aebridge calibrate): scores only\n")
	}
	return nil
}

// check checks the flags as aebridge score checks its own.
func check(o pipeline.Options, set map[string]bool, runner string) error {
	switch {
	case o.Model == "" || o.Input == "" || o.Output == "":
		return errors.New("--model, --input and --output are required")
	case !set["runner"]:
		return errors.New("--runner is required: direct, prism, flink or dataflow")
	}
	switch runner {
	case "direct", "prism", "flink", "dataflow":
	default:
		return fmt.Errorf("--runner %q: want direct, prism, flink or dataflow", runner)
	}
	if o.Metric != "" {
		if _, err := pipeline.ParseMetric(o.Metric); err != nil {
			return fmt.Errorf("--metric %q: want mse, mae, bce or l2", o.Metric)
		}
	}
	n := 0
	for _, k := range []string{"threshold", "contamination", "fpr"} {
		if set[k] {
			n++
		}
	}
	if n > 1 {
		return errors.New("give at most one of --threshold, --contamination and --fpr")
	}
	if set["threshold"] && (math.IsNaN(o.Threshold) || math.IsInf(o.Threshold, 0)) {
		return fmt.Errorf("--threshold %v: want a finite number", o.Threshold)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"contamination", o.Contamination}, {"fpr", o.FPR}} {
		if set[f.name] && !(f.v > 0 && f.v < 1) {
			return fmt.Errorf("--%s %v: want a fraction in (0, 1)", f.name, f.v)
		}
	}
	if o.Format != "jsonl" && o.Format != "csv" {
		return fmt.Errorf("--format %q: want jsonl or csv", o.Format)
	}
	if o.Batch < 1 || o.Shards < 1 {
		return fmt.Errorf("--batch %d, --shards %d: want at least 1 each", o.Batch, o.Shards)
	}
	if strings.TrimSpace(o.Input) == "" {
		return errors.New("--input: empty glob")
	}
	return nil
}

// cause is the message of err without what Beam's runners wrap around a
// failed DoFn (the execution plan): from the last line that begins with
// "pipeline: ", this module's own error, else all of it.
func cause(err error) string {
	msg := err.Error()
	lines := strings.Split(msg, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(strings.TrimSpace(lines[i]), "pipeline: ") {
			return strings.TrimSpace(strings.Join(lines[i:], "\n"))
		}
	}
	return msg
}
