package pipeline

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/fileio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/aebridge/aebridge/anomaly"
	"github.com/aebridge/aebridge/graph"
)

func init() {
	register.DoFn3x1[context.Context, fileio.FileMetadata, func(Batch), error](&readFn{})
	register.Emitter1[Batch]()
	register.DoFn3x1[context.Context, Batch, func(Scored), error](&scoreFn{})
	register.Emitter1[Scored]()
	register.Combiner3[[]float32, Scored, float64](&fitFn{})
	register.DoFn3x1[Scored, float64, func(int, string), error](&formatFn{})
	register.Emitter2[int, string]()
	register.DoFn2x0[int, func(int, string)](&emptyShardFn{})
	register.DoFn3x1[context.Context, int, func(*string) bool, error](&writeFn{})
	register.Iter1[string]()
}

// Options are the flags of aebridge-pipeline score, with aebridge score's
// meanings for the metric and the threshold.
type Options struct {
	Model  string // a model directory or an ONNX file, local or gs://, s3://…
	Input  string // a glob of .npy and .csv shards
	Output string // the prefix of the output shards
	Format string // "jsonl" (default) or "csv"
	Batch  int    // rows per batch (default 256)
	Shards int    // output shards (default 4)

	Metric        string  // "" for the calibration's, else mse
	Threshold     float64 // with HasThreshold
	HasThreshold  bool
	Contamination float64 // threshold at the (1 − p) quantile of all the scores
	FPR           float64 // threshold letting at most a fraction f of all the scores through
}

// Plan is what Score decided, for the command to report.
type Plan struct {
	Model  string  // the ONNX file
	Metric string  // the metric the scores use
	Labels bool    // whether labels are written
	Fitted bool    // the threshold is fitted on all the scores (--contamination, --fpr)
	Thresh float64 // the threshold when not fitted and Labels
	Source string  // where the threshold comes from
}

// Score adds to s the pipeline that scores the shards o.Input matches
// with o.Model and writes o.Output's shards. The model is read here, on
// the launcher, to choose the metric and the threshold as aebridge score
// does; warn receives its warnings.
func Score(ctx context.Context, s beam.Scope, o Options, warn func(string)) (*Plan, error) {
	if o.Format == "" {
		o.Format = "jsonl"
	}
	if o.Format != "jsonl" && o.Format != "csv" {
		return nil, fmt.Errorf("pipeline: format %q: want jsonl or csv", o.Format)
	}
	if o.Batch == 0 {
		o.Batch = 256
	}
	if o.Shards == 0 {
		o.Shards = 4
	}
	if o.Batch < 1 || o.Shards < 1 {
		return nil, fmt.Errorf("pipeline: batch %d, shards %d: want at least 1 each", o.Batch, o.Shards)
	}
	m, err := OpenModel(ctx, o.Model)
	if err != nil {
		return nil, err
	}
	stored, err := m.StoredCalibration(ctx, warn)
	if err != nil {
		return nil, err
	}
	divisor, err := m.Divisor()
	if err != nil {
		return nil, err
	}
	explicit := o.HasThreshold || o.Contamination > 0 || o.FPR > 0
	metric := o.Metric
	switch {
	case metric == "" && stored != nil && !explicit:
		metric = stored.Metric
	case metric == "":
		metric = MSE
	case stored != nil && !explicit && metric != stored.Metric:
		return nil, fmt.Errorf("pipeline: --metric %s: %s is calibrated for %s; give --threshold, --contamination or --fpr for %s, or calibrate it again", metric, m.Path, stored.Metric, metric)
	}
	if _, err := ParseMetric(metric); err != nil {
		return nil, err
	}
	plan := &Plan{Model: m.Path, Metric: metric, Thresh: math.NaN()}
	switch {
	case o.HasThreshold:
		plan.Labels, plan.Thresh, plan.Source = true, o.Threshold, "--threshold"
	case o.FPR > 0:
		plan.Labels, plan.Fitted, plan.Source = true, true, fmt.Sprintf("--fpr %v on all the scores", o.FPR)
	case o.Contamination > 0:
		plan.Labels, plan.Fitted, plan.Source = true, true, fmt.Sprintf("--contamination %v on all the scores", o.Contamination)
	case stored != nil:
		plan.Labels, plan.Thresh, plan.Source = true, stored.Threshold, fmt.Sprintf("calibrated: %s of %d samples of %s", stored.Metric, stored.Samples, stored.Input)
	}
	if plan.Labels && !plan.Fitted {
		if err := (&anomaly.Detector{}).SetThreshold(plan.Thresh); err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
	}
	if o.Contamination > 0 && o.FPR > 0 {
		return nil, fmt.Errorf("pipeline: give --contamination or --fpr, not both")
	}

	if err := checkMatches(ctx, o.Input); err != nil {
		return nil, err
	}
	files := fileio.MatchFiles(s.Scope("match"), o.Input, fileio.MatchEmptyDisallow())
	batches := beam.ParDo(s.Scope("read"), &readFn{Batch: o.Batch, Divisor: divisor}, files)
	batches = beam.Reshuffle(s.Scope("spread"), batches)
	scored := beam.ParDo(s.Scope("score"), &scoreFn{Model: m.Path, Metric: metric, InputShape: m.Shape}, batches)
	var threshold beam.PCollection
	if plan.Fitted {
		threshold = beam.Combine(s.Scope("fit"), &fitFn{Contamination: o.Contamination, FPR: o.FPR}, scored)
	} else {
		threshold = beam.Create(s.Scope("threshold"), plan.Thresh) // NaN: no labels
	}
	lines := beam.ParDo(s.Scope("format"), &formatFn{Format: o.Format, Shards: o.Shards}, scored, beam.SideInput{Input: threshold})
	keys := make([]int, o.Shards)
	for i := range keys {
		keys[i] = i
	}
	empty := beam.ParDo(s.Scope("shards"), &emptyShardFn{}, beam.CreateList(s.Scope("keys"), keys))
	grouped := beam.GroupByKey(s.Scope("group"), beam.Flatten(s.Scope("all"), lines, empty))
	beam.ParDo0(s.Scope("write"), &writeFn{Prefix: o.Output, Shards: o.Shards, Format: o.Format, Labels: plan.Labels}, grouped)
	return plan, nil
}

// checkMatches checks, on the launcher, that glob matches at least one
// file, as aebridge score refuses a missing input.
func checkMatches(ctx context.Context, glob string) error {
	fs, err := filesystem.New(ctx, glob)
	if err != nil {
		return fmt.Errorf("pipeline: --input %s: %w", glob, err)
	}
	defer fs.Close()
	names, err := fs.List(ctx, glob)
	if err != nil {
		return fmt.Errorf("pipeline: --input %s: %w", glob, err)
	}
	if len(names) == 0 {
		return fmt.Errorf("pipeline: --input %s matches no files", glob)
	}
	return nil
}

// Scored is the scores of one batch's rows.
type Scored struct {
	File   string
	Start  int64
	Scores []float32
}

// scoreFn reconstructs batches with the pure-Go graph executor and scores
// them by Metric. The graph is read in Setup; a plan is kept per batch
// shape (the last batch of a shard is shorter).
type scoreFn struct {
	Model      string
	Metric     string
	InputShape []int64

	g     *graph.Graph
	m     *Model
	mu    sync.Mutex
	plans map[string]*graph.Plan
}

// maxPlans bounds the plans a scoreFn keeps.
const maxPlans = 8

func (fn *scoreFn) Setup(ctx context.Context) error {
	g, err := loadGraph(ctx, fn.Model)
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	if len(g.Inputs) != 1 || len(g.Outputs) == 0 {
		return fmt.Errorf("pipeline: %s: %d inputs and %d outputs; want one input and its reconstruction", fn.Model, len(g.Inputs), len(g.Outputs))
	}
	fn.g, fn.m, fn.plans = g, &Model{Path: fn.Model, Shape: fn.InputShape}, map[string]*graph.Plan{}
	return nil
}

func (fn *scoreFn) ProcessElement(ctx context.Context, b Batch, emit func(Scored)) error {
	n := int(b.Rows)
	shape := []int{n}
	for _, d := range b.Shape {
		shape = append(shape, int(d))
	}
	shape = fn.m.fitShape(shape)
	fn.mu.Lock()
	defer fn.mu.Unlock()
	key := fmt.Sprint(shape)
	p, ok := fn.plans[key]
	if !ok {
		var err error
		if p, err = fn.g.Plan(map[string][]int{fn.g.Inputs[0].Name: shape}, graph.PlanOptions{Grads: []string{}}); err != nil {
			return fmt.Errorf("pipeline: --input %s, rows %d to %d (shape %v) for %s: %w", b.File, b.Start, b.Start+b.Rows-1, shape, fn.Model, err)
		}
		if len(fn.plans) == maxPlans {
			clear(fn.plans)
		}
		fn.plans[key] = p
	}
	if err := p.Forward(&graph.Tensor{Shape: shape, Data: b.Data}); err != nil {
		return fmt.Errorf("pipeline: --input %s, rows %d to %d: %w", b.File, b.Start, b.Start+b.Rows-1, err)
	}
	out := p.Value(fn.g.Outputs[0])
	if out == nil || !slices.Equal(out.Shape, shape) {
		var got []int
		if out != nil {
			got = out.Shape
		}
		return fmt.Errorf("pipeline: %s: output %q has shape %v, input %q has %v; not an autoencoder's reconstruction", fn.Model, fn.g.Outputs[0], got, fn.g.Inputs[0].Name, shape)
	}
	sc, err := scores(b.Data, out.Data, n, fn.Metric)
	if err != nil {
		return fmt.Errorf("pipeline: --input %s, rows from %d: %w", b.File, b.Start, err)
	}
	for i, v := range sc {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("pipeline: %s: sample %d of %s scores %v: the reconstruction holds NaN or ±Inf", fn.Model, b.Start+int64(i), b.File, v)
		}
	}
	emit(Scored{File: b.File, Start: b.Start, Scores: sc})
	return nil
}

// fitFn gathers all the scores and fits the threshold as aebridge score's
// --contamination and --fpr do (anomaly.Detector.Fit). It holds every
// score (4 bytes a row) on one worker at the end.
type fitFn struct {
	Contamination float64
	FPR           float64
}

func (fn *fitFn) CreateAccumulator() []float32 { return nil }

func (fn *fitFn) AddInput(a []float32, s Scored) []float32 { return append(a, s.Scores...) }

func (fn *fitFn) MergeAccumulators(a, b []float32) []float32 { return append(a, b...) }

func (fn *fitFn) ExtractOutput(a []float32) (float64, error) {
	d := anomaly.Detector{Contamination: fn.Contamination, FPR: fn.FPR}
	if err := d.Fit(a); err != nil {
		return 0, fmt.Errorf("pipeline: %w", err)
	}
	return d.Threshold(), nil
}

// formatFn writes a batch's rows as lines, labelled when the threshold is
// not NaN (a score above it is an anomaly, 1), keyed by the output shard
// they go to.
type formatFn struct {
	Format string
	Shards int
}

func (fn *formatFn) ProcessElement(s Scored, threshold float64, emit func(int, string)) error {
	labels := !math.IsNaN(threshold)
	var buf bytes.Buffer
	file, err := json.Marshal(s.File)
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	cw := csv.NewWriter(&buf)
	for i, v := range s.Scores {
		row := s.Start + int64(i)
		label := 0
		if float64(v) > threshold {
			label = 1
		}
		switch fn.Format {
		case "csv":
			rec := []string{s.File, strconv.FormatInt(row, 10), formatFloat32(v)}
			if labels {
				rec = append(rec, strconv.Itoa(label))
			}
			if err := cw.Write(rec); err != nil {
				return fmt.Errorf("pipeline: %w", err)
			}
		default:
			fmt.Fprintf(&buf, `{"file":%s,"row":%d,"score":%s`, file, row, formatFloat32(v))
			if labels {
				fmt.Fprintf(&buf, `,"label":%d`, label)
			}
			buf.WriteString("}\n")
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	h := fnv.New32a()
	h.Write([]byte(s.File))
	h.Write([]byte(strconv.FormatInt(s.Start, 10)))
	emit(int(h.Sum32()%uint32(fn.Shards)), buf.String())
	return nil
}

// emptyShardFn gives every output shard an element, so that each is
// written, empty or not.
type emptyShardFn struct{}

func (*emptyShardFn) ProcessElement(k int, emit func(int, string)) { emit(k, "") }
