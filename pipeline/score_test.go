package pipeline

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/direct"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/aebridge/aebridge/anomaly"
	"github.com/aebridge/aebridge/backend"
	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/trainer"
)

func TestMain(m *testing.M) {
	flag.Parse()
	beam.Init()
	code := m.Run()
	if bin.dir != "" {
		os.RemoveAll(bin.dir)
	}
	os.Exit(code)
}

// bin is the aebridge binary of this checkout, built on first use.
var bin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// aebridge runs the aebridge command of this checkout (ONNX Runtime's
// scoring, the single process the pipeline is compared with), skipping the
// test when ONNX Runtime is not installed.
func aebridge(t *testing.T, args ...string) string {
	t.Helper()
	lib := os.Getenv("ONNXRUNTIME_SHARED_LIBRARY_PATH")
	if lib == "" {
		lib = "../.deps/onnxruntime/libonnxruntime.so.1"
	}
	if _, err := os.Stat(lib); err != nil {
		t.Skipf("ONNX Runtime not installed (%v): run make setup", err)
	}
	bin.once.Do(func() {
		if bin.dir, bin.err = os.MkdirTemp("", "aebridge-bin-"); bin.err != nil {
			return
		}
		bin.path = filepath.Join(bin.dir, "aebridge")
		cmd := exec.Command("go", "build", "-o", bin.path, "./cmd/aebridge")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			bin.err = &exec.Error{Name: "go build ./cmd/aebridge: " + string(out), Err: err}
		}
	})
	if bin.err != nil {
		t.Fatal(bin.err)
	}
	abs, err := filepath.Abs(lib)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin.path, append([]string{"--onnxruntime", abs}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aebridge %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// newModelDir writes a model directory with random weights: an MLP
// autoencoder of d inputs.
func newModelDir(t *testing.T, d int) string {
	t.Helper()
	dir := t.TempDir()
	writeMLPModel(t, dir, d, []int{12}, 3)
	return dir
}

// writeMLPModel writes an MLP autoencoder with random weights to the model
// directory dir, as aebridge train does: config.json, weights, model.onnx.
func writeMLPModel(tb testing.TB, dir string, d int, hidden []int, latent int) {
	tb.Helper()
	c, err := trainer.MLP{Variant: "ae", Input: d, Hidden: hidden, Latent: latent}.Config()
	if err != nil {
		tb.Fatal(err)
	}
	m, err := trainer.Build(c)
	if err != nil {
		tb.Fatal(err)
	}
	m.Init(7)
	tc := &trainer.TrainConfig{Optimizer: trainer.OptimizerConfig{Name: "adam", LR: 1e-3}, Epochs: 1, Batch: 8, Seed: 1, Data: "mnist"}
	if err := trainer.Save(dir, m, tc); err != nil {
		tb.Fatal(err)
	}
	w := export.Writer{Training: tc, InputRange: []float64{0, 1}}
	if err := w.WriteFile(filepath.Join(dir, "model.onnx"), m, export.Full); err != nil {
		tb.Fatal(err)
	}
}

// shard is one input file and its rows, as float32 values fed to the
// model (uint8 ones already divided by 255).
type shard struct {
	path string
	rows int
	x    []float32
}

// writeShards writes shards of the given row counts, d values a row in
// [0, 1], with a far-off row (all 1) here and there, as .npy (float32 or,
// for uint8, bytes) or .csv files by ext.
func writeShards(t *testing.T, dir string, d int, exts []string, rows []int, seed uint64) []shard {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 9))
	var out []shard
	for k, n := range rows {
		ext := exts[k%len(exts)]
		x := make([]float32, n*d)
		for i := range x {
			switch ext {
			case "u8.npy":
				x[i] = float32(rng.IntN(256))
			default:
				x[i] = rng.Float32()
			}
		}
		for i := 3; i < n; i += 17 { // anomalies: rows of 1s
			for j := 0; j < d; j++ {
				x[i*d+j] = 1
				if ext == "u8.npy" {
					x[i*d+j] = 255
				}
			}
		}
		p := filepath.Join(dir, "part-"+strconv.Itoa(k)+"."+strings.TrimPrefix(ext, "u8."))
		switch ext {
		case "npy":
			if err := npy.WriteFile(p, []int{n, d}, x); err != nil {
				t.Fatal(err)
			}
		case "u8.npy":
			writeUint8NPY(t, p, n, d, x)
			for i := range x {
				x[i] /= 255
			}
		case "csv":
			var b strings.Builder
			for j := 0; j < d; j++ {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString("f" + strconv.Itoa(j))
			}
			b.WriteByte('\n')
			for i, v := range x {
				b.WriteString(formatFloat32(v))
				if (i+1)%d == 0 {
					b.WriteByte('\n')
				} else {
					b.WriteByte(',')
				}
			}
			if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, shard{path: p, rows: n, x: x})
	}
	return out
}

// writeUint8NPY writes (n, d) bytes as a version 1.0 .npy file.
func writeUint8NPY(t *testing.T, p string, n, d int, x []float32) {
	t.Helper()
	header := "{'descr': '|u1', 'fortran_order': False, 'shape': (" + strconv.Itoa(n) + ", " + strconv.Itoa(d) + "), }"
	for (10+len(header)+1)%64 != 0 {
		header += " "
	}
	header += "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = append(b, byte(len(header)), byte(len(header)>>8))
	b = append(b, header...)
	for _, v := range x {
		b = append(b, byte(v))
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// result is one output line.
type result struct {
	score float32
	label int // −1 when there is none
}

// key names a row: its shard and its index there.
type key struct {
	file string
	row  int
}

// readOutput reads the shards of prefix, checking that there are shards
// of them and that no row appears twice.
func readOutput(t *testing.T, prefix string, shards int, format string) map[key]result {
	t.Helper()
	names, err := filepath.Glob(prefix + "-*")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != shards {
		t.Fatalf("output files %v: got %d, want %d shards", names, len(names), shards)
	}
	out := map[key]result{}
	add := func(k key, r result) {
		if _, dup := out[k]; dup {
			t.Fatalf("row %v written twice", k)
		}
		out[k] = r
	}
	for k := range shards {
		name := ShardName(prefix, k, shards, format)
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if format == "csv" {
			recs, err := csv.NewReader(f).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if h := strings.Join(recs[0], ","); h != "file,row,score,label" && h != "file,row,score" {
				t.Fatalf("%s: header %q", name, h)
			}
			for _, rec := range recs[1:] {
				row, err1 := strconv.Atoi(rec[1])
				s, err2 := strconv.ParseFloat(rec[2], 32)
				r := result{score: float32(s), label: -1}
				var err3 error
				if len(rec) == 4 {
					r.label, err3 = strconv.Atoi(rec[3])
				}
				if err1 != nil || err2 != nil || err3 != nil {
					t.Fatalf("%s: record %q", name, rec)
				}
				add(key{rec[0], row}, r)
			}
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var v struct {
				File  string      `json:"file"`
				Row   *int        `json:"row"`
				Score json.Number `json:"score"`
				Label *int        `json:"label"`
			}
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil || v.Row == nil {
				t.Fatalf("%s: line %q: %v", name, sc.Text(), err)
			}
			s, err := strconv.ParseFloat(string(v.Score), 32)
			if err != nil {
				t.Fatalf("%s: line %q: %v", name, sc.Text(), err)
			}
			r := result{score: float32(s), label: -1}
			if v.Label != nil {
				r.label = *v.Label
			}
			add(key{v.File, *v.Row}, r)
		}
	}
	return out
}

// reference scores all the shards' rows in one process on the pure-Go
// backend (backend.Graph, one batch of all the rows, or, in the openblas
// build, the pipeline's batches of batch rows; and runtime.Scores)
// and fits or applies the threshold as aebridge score does: what the
// pipeline must give bit for bit.
func reference(t *testing.T, model string, shards []shard, batch int, metric string, threshold float64, d anomaly.Detector) []result {
	t.Helper()
	var x []float32
	n := 0
	for _, s := range shards {
		x = append(x, s.x...)
		n += s.rows
	}
	g, err := backend.OpenGraph(model)
	if err != nil {
		t.Fatal(err)
	}
	m, err := OpenModel(context.Background(), model)
	if err != nil {
		t.Fatal(err)
	}
	per := len(x) / n
	run := func(x []float32) []float32 {
		shape := m.fitShape([]int{len(x) / per, per})
		in := runtime.Tensor{Data: x}
		for _, v := range shape {
			in.Shape = append(in.Shape, int64(v))
		}
		out, err := g.Run([]runtime.Tensor{in})
		if err != nil {
			t.Fatal(err)
		}
		sc, err := runtime.Scores(in, out[g.OutputNames()[0]], runtime.Metric(metric))
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	var sc []float32
	if batchedReference {
		// OpenBLAS rounds a matrix product by its shape: run the
		// pipeline's batches, so that the bits are comparable.
		for _, s := range shards {
			for start := 0; start < s.rows; start += batch {
				end := min(start+batch, s.rows)
				sc = append(sc, run(s.x[start*per:end*per])...)
			}
		}
	} else {
		sc = run(x)
	}
	if d.Contamination > 0 || d.FPR > 0 {
		if err := d.Fit(sc); err != nil {
			t.Fatal(err)
		}
		threshold = d.Threshold()
	}
	res := make([]result, n)
	for i, s := range sc {
		res[i] = result{score: s, label: -1}
		if !math.IsNaN(threshold) {
			res[i].label = 0
			if float64(s) > threshold {
				res[i].label = 1
			}
		}
	}
	return res
}

// ortScores runs aebridge score (ONNX Runtime) on all the shards' rows
// concatenated into one .npy file, with flags, and returns its rows.
func ortScores(t *testing.T, model string, shards []shard, flags ...string) []result {
	t.Helper()
	var x []float32
	n := 0
	for _, s := range shards {
		x = append(x, s.x...)
		n += s.rows
	}
	dir := t.TempDir()
	all, out := filepath.Join(dir, "all.npy"), filepath.Join(dir, "ref.csv")
	if err := npy.WriteFile(all, []int{n, len(x) / n}, x); err != nil {
		t.Fatal(err)
	}
	aebridge(t, append([]string{"score", model, "--input", all, "--output", out}, flags...)...)
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var res []result
	for _, rec := range recs[1:] {
		s, err := strconv.ParseFloat(rec[0], 32)
		if err != nil {
			t.Fatal(err)
		}
		r := result{score: float32(s), label: -1}
		if len(rec) == 2 {
			r.label, _ = strconv.Atoi(rec[1])
		}
		res = append(res, r)
	}
	if len(res) != n {
		t.Fatalf("aebridge score: got %d rows, want %d", len(res), n)
	}
	return res
}

// compare checks the pipeline's rows against want (in the shards' order,
// row by row): exactly, or within tol relative (labels then compared where
// the score is not within tol of the threshold).
func compare(t *testing.T, got map[key]result, shards []shard, want []result, tol, threshold float64) {
	t.Helper()
	i, bad := 0, 0
	for _, s := range shards {
		for r := 0; r < s.rows; r, i = r+1, i+1 {
			g, ok := got[key{s.path, r}]
			w := want[i]
			switch {
			case !ok:
				t.Errorf("%s row %d: missing", s.path, r)
			case tol == 0 && (math.Float32bits(g.score) != math.Float32bits(w.score) || g.label != w.label):
				t.Errorf("%s row %d: got %v, want %v", s.path, r, g, w)
			case tol > 0 && math.Abs(float64(g.score-w.score)) > tol*math.Abs(float64(w.score)):
				t.Errorf("%s row %d: score got %v, want %v (ONNX Runtime) within %g relative", s.path, r, g.score, w.score, tol)
			case tol > 0 && g.label != w.label && math.Abs(float64(w.score)-threshold) > tol*math.Abs(threshold):
				t.Errorf("%s row %d: label got %d, want %d (score %v, threshold %v)", s.path, r, g.label, w.label, g.score, threshold)
			default:
				continue
			}
			if bad++; bad > 10 {
				t.Fatal("more than 10 rows differ")
			}
		}
	}
	if len(got) != i {
		t.Errorf("got %d rows, want %d", len(got), i)
	}
}

// runPipeline runs the pipeline on runner.
func runPipeline(t *testing.T, runner string, o Options) *Plan {
	t.Helper()
	ctx := context.Background()
	p, s := beam.NewPipelineWithRoot()
	plan, err := Score(ctx, s, o, func(w string) { t.Log(w) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := beam.Run(ctx, runner, p); err != nil {
		t.Fatalf("%s runner: %v", runner, err)
	}
	return plan
}

// TestScoreEqualsSingleProcess runs the pipeline on Beam's local runners
// over several shards (batches cut across them, several output shards)
// and checks every row against single-process scoring: bit for bit
// against the pure-Go backend on all the rows at once, and within 1e-5
// relative against aebridge score (ONNX Runtime) on the shards
// concatenated, labels included.
func TestScoreEqualsSingleProcess(t *testing.T) {
	const d = 10
	dir := newModelDir(t, d)
	calibrated := t.TempDir()
	for _, f := range []string{"model.onnx"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(calibrated, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		runner    string
		model     string // dir or calibrated
		exts      []string
		rows      []int
		opts      Options
		flags     []string // aebridge score's, for the same
		threshold float64  // NaN: fitted or none
		fit       anomaly.Detector
	}{
		{name: "stored calibration", runner: "direct", model: "calibrated", exts: []string{"npy"}, rows: []int{37, 50, 13},
			opts: Options{Batch: 8, Shards: 3}},
		{name: "l2 contamination, prism", runner: "prism", exts: []string{"npy", "csv"}, rows: []int{40, 25, 31, 9},
			opts: Options{Metric: "l2", Contamination: 0.1, Batch: 16, Shards: 4}, flags: []string{"--metric", "l2", "--contamination", "0.1"},
			fit: anomaly.Detector{Contamination: 0.1}},
		{name: "bce fpr, csv output", runner: "direct", exts: []string{"csv", "npy"}, rows: []int{30, 30},
			opts: Options{Metric: "bce", FPR: 0.2, Batch: 7, Shards: 2, Format: "csv"}, flags: []string{"--metric", "bce", "--fpr", "0.2"},
			fit: anomaly.Detector{FPR: 0.2}},
		{name: "mae threshold, uint8", runner: "direct", exts: []string{"u8.npy", "npy"}, rows: []int{20, 11},
			opts: Options{Metric: "mae", Threshold: 0.3, HasThreshold: true, Batch: 5, Shards: 1}, flags: []string{"--metric", "mae", "--threshold", "0.3"}},
		{name: "scores only", runner: "direct", exts: []string{"npy"}, rows: []int{12},
			opts: Options{Batch: 100, Shards: 2}},
	}
	var calibrateOnce sync.Once
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dirFor := dir
			if tt.model == "calibrated" {
				calibrateOnce.Do(func() {
					normal := writeShards(t, t.TempDir(), d, []string{"npy"}, []int{60}, 3)
					aebridge(t, "calibrate", calibrated, "--input", normal[0].path, "--metric", "mse", "--contamination", "0.2")
				})
				dirFor = calibrated
			}
			data := t.TempDir()
			shards := writeShards(t, data, d, tt.exts, tt.rows, 11)
			o := tt.opts
			o.Model, o.Input, o.Output = dirFor, filepath.Join(data, "part-*"), filepath.Join(t.TempDir(), "out", "scores")
			plan := runPipeline(t, tt.runner, o)
			format := o.Format
			if format == "" {
				format = "jsonl"
			}
			got := readOutput(t, o.Output, o.Shards, format)

			threshold := math.NaN()
			if plan.Labels && !plan.Fitted {
				threshold = plan.Thresh
			}
			want := reference(t, filepath.Join(dirFor, "model.onnx"), shards, o.Batch, plan.Metric, threshold, tt.fit)
			compare(t, got, shards, want, 0, threshold)

			ort := ortScores(t, dirFor, shards, tt.flags...)
			if plan.Fitted {
				ortScores := make([]float32, len(ort))
				for i, r := range ort {
					ortScores[i] = r.score
				}
				fit := tt.fit
				if err := fit.Fit(ortScores); err != nil {
					t.Fatal(err)
				}
				threshold = fit.Threshold()
			}
			compare(t, got, shards, ort, 1e-5, threshold)
		})
	}
}

// TestScoreRemote runs the pipeline with the model and the shards on a
// Beam file system other than the local one (memfs://, as gs:// would be
// read), on the direct runner.
func TestScoreRemote(t *testing.T) {
	const d = 6
	dir := newModelDir(t, d)
	local := writeShards(t, t.TempDir(), d, []string{"npy", "csv"}, []int{9, 14}, 5)
	ctx := context.Background()
	put := func(name, file string) string {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		p := "memfs://" + t.Name() + "/" + name
		memfs.Write(p, b)
		return p
	}
	put("model/model.onnx", filepath.Join(dir, "model.onnx"))
	var shards []shard
	for _, s := range local {
		shards = append(shards, shard{path: put("in/"+filepath.Base(s.path), s.path), rows: s.rows, x: s.x})
	}
	o := Options{Model: "memfs://" + t.Name() + "/model", Input: "memfs://" + t.Name() + "/in/*", Output: "memfs://" + t.Name() + "/out/s", Batch: 4, Shards: 2, Threshold: 0.05, HasThreshold: true}
	runPipeline(t, "direct", o)
	out := t.TempDir()
	for k := range o.Shards {
		name := ShardName(o.Output, k, o.Shards, "jsonl")
		b, err := readRemote(ctx, name, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(ShardName(filepath.Join(out, "s"), k, o.Shards, "jsonl"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := readOutput(t, filepath.Join(out, "s"), o.Shards, "jsonl")
	want := reference(t, filepath.Join(dir, "model.onnx"), shards, o.Batch, "mse", 0.05, anomaly.Detector{})
	compare(t, got, shards, want, 0, 0.05)
}

// TestScoreConvModel scores flat (N, 256) rows with a PyTorch convolutional
// autoencoder of input (batch, 1, 16, 16): the rows take the model's
// sample shape, as aebridge score gives them.
func TestScoreConvModel(t *testing.T) {
	model := "../testdata/pytorch/conv_dense_ae.opset17.onnx"
	data := t.TempDir()
	shards := writeShards(t, data, 256, []string{"npy"}, []int{7, 6}, 2)
	o := Options{Model: model, Input: filepath.Join(data, "*.npy"), Output: filepath.Join(t.TempDir(), "s"), Batch: 4, Shards: 2, Metric: "l2"}
	runPipeline(t, "direct", o)
	got := readOutput(t, o.Output, o.Shards, "jsonl")
	compare(t, got, shards, reference(t, model, shards, o.Batch, "l2", math.NaN(), anomaly.Detector{}), 0, 0)
	compare(t, got, shards, ortScores(t, model, shards, "--metric", "l2"), 1e-5, 0)
}

// TestScoreErrors checks that what aebridge score refuses, the pipeline
// refuses, naming the file, the field and the value.
func TestScoreErrors(t *testing.T) {
	const d = 4
	dir := newModelDir(t, d)
	data := t.TempDir()
	nan := filepath.Join(data, "nan.npy")
	x := make([]float32, 3*d)
	x[6] = float32(math.Inf(1))
	if err := npy.WriteFile(nan, []int{3, d}, x); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(data, "bad.csv")
	if err := os.WriteFile(bad, []byte("1,2,3,4\n1,2,x,4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wide := filepath.Join(data, "wide.npy")
	if err := npy.WriteFile(wide, []int{2, d + 1}, make([]float32, 2*(d+1))); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(data, "big.npy")
	if err := npy.WriteFile(big, []int{1, d}, []float32{0, 0.5, 2, 1}); err != nil {
		t.Fatal(err)
	}
	calib := t.TempDir()
	b, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(calib, "model.onnx"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(calib, "calibration.json"), []byte(`{"threshold": 1, "metric": "mse", "contamination": 0.1, "samples": 3, "input": "x.npy", "date": "2026-12-01T00:00:00Z"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		opts     Options
		wantErr  string
		atLaunch bool // refused while the pipeline is built
	}{
		{"Inf input", Options{Model: dir, Input: nan}, "--input " + nan + ": sample 1, element 2 is +Inf", false},
		{"bad CSV", Options{Model: dir, Input: bad}, bad + `: line 2, column 3: "x" is not a number`, false},
		{"wrong width", Options{Model: dir, Input: wide}, "--input " + wide, false},
		{"bce on values above 1", Options{Model: dir, Input: big, Metric: "bce"}, "--input " + big + ", rows from 0: pipeline: BCE score needs inputs in [0, 1]; sample 0, element 2 is 2", false},
		{"bad format", Options{Model: filepath.Join(dir, "model.onnx"), Input: wide, Format: "xml"}, `format "xml": want jsonl or csv`, true},
		{"no model", Options{Model: data, Input: wide}, filepath.Join(data, "model.onnx"), true},
		{"no shards", Options{Model: dir, Input: filepath.Join(data, "none", "*.npy")}, "pipeline: --input " + filepath.Join(data, "none", "*.npy") + " matches no files", true},
		{"metric against calibration", Options{Model: withCalibration(t, dir, `{"threshold": 1, "metric": "mse", "contamination": 0.1, "samples": 3, "input": "x.npy", "date": "2026-12-01T00:00:00Z"}`), Input: wide, Metric: "l2"}, "--metric l2: ", true},
		{"calibration.json without metadata", Options{Model: calib, Input: wide}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.Output = filepath.Join(t.TempDir(), "s")
			var warned []string
			p, s := beam.NewPipelineWithRoot()
			_, err := Score(context.Background(), s, o, func(w string) { warned = append(warned, w) })
			if tt.wantErr == "" {
				if err != nil || len(warned) != 1 || !strings.Contains(warned[0], "ignoring "+filepath.Join(calib, "calibration.json")) {
					t.Fatalf("got error %v, warnings %q; want a warning that calibration.json is ignored", err, warned)
				}
				return
			}
			if !tt.atLaunch {
				if err != nil {
					t.Fatal(err)
				}
				_, err = beam.Run(context.Background(), "direct", p)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// withCalibration copies the model directory's model.onnx to a new
// directory with the calibration c (JSON) in its metadata, as aebridge
// calibrate stores it.
func withCalibration(t *testing.T, dir, c string) string {
	t.Helper()
	mp, err := onnxfile.LoadStructure(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	key, value := calibrationKey, c
	mp.MetadataProps = append(mp.MetadataProps, &onnxpb.StringStringEntryProto{Key: &key, Value: &value})
	out := t.TempDir()
	if err := onnxfile.Save(filepath.Join(out, "model.onnx"), mp); err != nil {
		t.Fatal(err)
	}
	return out
}
