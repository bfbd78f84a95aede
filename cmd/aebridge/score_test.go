package main

import (
	"bufio"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/trainer"
)

func TestNewCmdScore(t *testing.T) {
	base := []string{"dir", "-i", "x.npy", "-o", "s.csv"}
	tests := []struct {
		name    string
		args    []string
		want    scoreOptions
		wantErr string
	}{
		{name: "defaults", args: base, want: scoreOptions{Model: "dir", Input: "x.npy", Output: "s.csv", Class: -1}},
		{name: "threshold and labels", args: append(base, "--threshold", "0.25", "--labels", "y.npy", "--metric", "l2", "--features", "f.npy", "--class", "3"),
			want: scoreOptions{Model: "dir", Input: "x.npy", Output: "s.csv", Threshold: 0.25, HasThreshold: true, Labels: "y.npy", Metric: "l2", Features: "f.npy", Class: 3}},
		{name: "contamination", args: append(base, "--contamination", "0.05"), want: scoreOptions{Model: "dir", Input: "x.npy", Output: "s.csv", Contamination: 0.05, Class: -1}},
		{name: "no output", args: []string{"dir", "-i", "x.npy"}, wantErr: "--input and --output are required"},
		{name: "bad output", args: []string{"dir", "-i", "x.npy", "-o", "s.txt"}, wantErr: "--output s.txt: want a .npy, .csv, .jsonl file"},
		{name: "contamination 1.5", args: append(base, "--contamination", "1.5"), wantErr: "--contamination 1.5: want a fraction in (0, 1)"},
		{name: "contamination 0", args: append(base, "--contamination", "0"), wantErr: "--contamination 0: want a fraction in (0, 1)"},
		{name: "fpr 1", args: append(base, "--fpr", "1"), wantErr: "--fpr 1: want a fraction in (0, 1)"},
		{name: "two thresholds", args: append(base, "--threshold", "1", "--fpr", "0.1"), wantErr: "give at most one of --threshold, --contamination and --fpr"},
		{name: "NaN threshold", args: append(base, "--threshold", "NaN"), wantErr: "--threshold NaN: want a finite number"},
		{name: "bad metric", args: append(base, "--metric", "rmse"), wantErr: `--metric "rmse": want mse, mae, bce or l2`},
		{name: "negative class", args: append(base, "--class", "-1"), wantErr: "--class -1 must not be negative"},
		{name: "class and condition", args: append(base, "--class", "1", "--condition", "c.npy"), wantErr: "give --class or --condition, not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseArgs(t, newCmdScore, tt.args, tt.wantErr)
			if got == nil {
				return
			}
			got.IO = nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

// scoreFixture is a model directory with random weights and inputs for it,
// with the reconstruction aebridge run gives for them.
type scoreFixture struct {
	dir, x string
	xs, y  []float32 // the input and run's reconstruction
	n, d   int
}

func newScoreFixture(t *testing.T, c trainer.Config, n, d int) scoreFixture {
	t.Helper()
	dir := newModelDir(t, c)
	rng := rand.New(rand.NewPCG(5, 6))
	xs := make([]float32, n*d)
	for i := range xs {
		xs[i] = rng.Float32()
	}
	for j := 0; j < d; j++ { // sample 1 is all 1s: far from the others
		xs[d+j] = 1
	}
	x := filepath.Join(t.TempDir(), "x.npy")
	writeNPYArray(t, x, []int{n, d}, xs)
	y, _ := runOutput(t, filepath.Join(dir, "model.onnx"), false, x)
	return scoreFixture{dir: dir, x: x, xs: xs, y: y.Data, n: n, d: d}
}

// handScores computes the scores from run's reconstruction, in float64.
func (f scoreFixture) handScores(metric string) []float64 {
	out := make([]float64, f.n)
	for s := 0; s < f.n; s++ {
		var sum float64
		for j := 0; j < f.d; j++ {
			d := float64(f.xs[s*f.d+j]) - float64(f.y[s*f.d+j])
			if metric == "mae" {
				sum += math.Abs(d)
			} else {
				sum += d * d
			}
		}
		switch metric {
		case "l2":
			out[s] = math.Sqrt(sum)
		default:
			out[s] = sum / float64(f.d)
		}
	}
	return out
}

// readScoresCSV reads a score,label CSV.
func readScoresCSV(t *testing.T, path string) (scores []float64, labels []int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != "score,label" && lines[0] != "score" {
		t.Fatalf("header: got %q, want score,label", lines[0])
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		s, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			t.Fatal(err)
		}
		scores = append(scores, s)
		if len(f) > 1 {
			v, _ := strconv.Atoi(f[1])
			labels = append(labels, v)
		}
	}
	return scores, labels
}

func closeScores(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d scores, want %d", what, len(got), len(want))
	}
	for i := range want {
		if !(math.Abs(got[i]-want[i]) <= 1e-6*(1+math.Abs(want[i]))) {
			t.Errorf("%s: sample %d: got %v, want %v", what, i, got[i], want[i])
		}
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// TestScoreRunMatchesRunReconstruction checks the scores against a hand
// computation from aebridge run's reconstruction, for each metric and
// output format, and the labels against the threshold.
func TestScoreRunMatchesRunReconstruction(t *testing.T) {
	fx := newScoreFixture(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{6}, Latent: 2}), 6, 8)
	for _, metric := range []string{"mse", "mae", "l2", "bce"} {
		for _, ext := range []string{".csv", ".npy", ".jsonl"} {
			t.Run(metric+ext, func(t *testing.T) {
				var want []float64
				if metric == "bce" {
					for s := 0; s < fx.n; s++ {
						var sum float64
						for j := 0; j < fx.d; j++ {
							x, p := float64(fx.xs[s*fx.d+j]), float64(fx.y[s*fx.d+j])
							sum -= x*math.Log(p) + (1-x)*math.Log(1-p)
						}
						want = append(want, sum/float64(fx.d))
					}
				} else {
					want = fx.handScores(metric)
				}
				threshold := median(want)
				f, stdout, _ := testFactory()
				out := filepath.Join(t.TempDir(), "s"+ext)
				opts := &scoreOptions{IO: f.IO, Model: fx.dir, Input: fx.x, Output: out, Metric: metric, Threshold: threshold, HasThreshold: true, Class: -1}
				if err := scoreRun(opts); err != nil {
					t.Fatal(err)
				}
				var got []float64
				var labels []int
				switch ext {
				case ".csv":
					got, labels = readScoresCSV(t, out)
				case ".npy":
					a := readNPY(t, out)
					if !slices.Equal(a.Shape, []int{fx.n, 2}) {
						t.Fatalf("shape: got %v, want [%d 2]", a.Shape, fx.n)
					}
					for i := 0; i < fx.n; i++ {
						got, labels = append(got, float64(a.Data[2*i])), append(labels, int(a.Data[2*i+1]))
					}
				case ".jsonl":
					file, err := os.Open(out)
					if err != nil {
						t.Fatal(err)
					}
					defer file.Close()
					sc := bufio.NewScanner(file)
					for i := 0; sc.Scan(); i++ {
						var r struct {
							Index int     `json:"index"`
							Score float64 `json:"score"`
							Label int     `json:"label"`
						}
						if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Index != i {
							t.Fatalf("line %d: %q: %v", i, sc.Text(), err)
						}
						got, labels = append(got, r.Score), append(labels, r.Label)
					}
				}
				closeScores(t, "scores", got, want)
				anomalies := 0
				for i, s := range want {
					if l := label(s > threshold); labels[i] != l {
						t.Errorf("sample %d: score %v, threshold %v: got label %d, want %d", i, s, threshold, labels[i], l)
					}
					anomalies += label(s > threshold)
				}
				wantOut := "scored 6 samples of " + fx.x + " by " + metric + " -> " + out + "\n" +
					"threshold " + formatFloat(threshold) + " (--threshold): " + strconv.Itoa(anomalies) + " anomalies\n"
				if stdout.String() != wantOut {
					t.Errorf("stdout: got %q, want %q", stdout.String(), wantOut)
				}
			})
		}
	}
}

// bruteAUC is the Mann–Whitney probability over all (anomaly, normal)
// pairs, ties counting ½.
func bruteAUC(s []float64, y []bool) float64 {
	var sum, pairs float64
	for i := range s {
		for j := range s {
			if y[i] && !y[j] {
				pairs++
				if s[i] > s[j] {
					sum++
				} else if s[i] == s[j] {
					sum += 0.5
				}
			}
		}
	}
	return sum / pairs
}

// bruteAP is the mean over anomalies of the precision among the samples
// scoring at least as high.
func bruteAP(s []float64, y []bool) float64 {
	var sum, pos float64
	for i := range s {
		if !y[i] {
			continue
		}
		pos++
		var tp, all float64
		for j := range s {
			if s[j] >= s[i] {
				all++
				if y[j] {
					tp++
				}
			}
		}
		sum += tp / all
	}
	return sum / pos
}

// TestScoreRunLabels checks ROC-AUC and PR-AUC against brute force over
// the hand-computed scores, and the confusion matrix at a threshold fitted
// by --contamination, from a text and a .npy labels file.
func TestScoreRunLabels(t *testing.T) {
	fx := newScoreFixture(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{6}, Latent: 2}), 6, 8)
	want := fx.handScores("mse")
	truth := []bool{false, true, false, true, false, false}
	dir := t.TempDir()
	text := filepath.Join(dir, "y.csv")
	if err := os.WriteFile(text, []byte("label\n0\n1\n0\n1\n0\n0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "y.npy")
	writeNPYArray(t, bin, []int{6}, []float32{0, 1, 0, 1, 0, 0})
	// --contamination 0.2: numpy.percentile(scores, 80), worked here by
	// hand: position 5·0.8 = 4 of the sorted scores.
	sorted := slices.Clone(want)
	sort.Float64s(sorted)
	threshold := sorted[4]
	var c [2][2]int // [truth][predicted]
	for i, s := range want {
		c[label(truth[i])][label(s > threshold)]++
	}
	for _, labels := range []string{text, bin} {
		t.Run(filepath.Ext(labels), func(t *testing.T) {
			f, stdout, _ := testFactory()
			out := filepath.Join(t.TempDir(), "s.csv")
			opts := &scoreOptions{IO: f.IO, Model: fx.dir, Input: fx.x, Output: out, Contamination: 0.2, Labels: labels, Class: -1}
			if err := scoreRun(opts); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(stdout.String(), "\n")
			var auc, ap float64
			for _, l := range lines {
				if v, ok := strings.CutPrefix(l, "ROC-AUC "); ok {
					auc, _ = strconv.ParseFloat(v, 64)
				}
				if v, ok := strings.CutPrefix(l, "PR-AUC "); ok {
					ap, _ = strconv.ParseFloat(strings.Fields(v)[0], 64)
				}
			}
			if w := bruteAUC(want, truth); !(math.Abs(auc-w) <= 1e-6) {
				t.Errorf("ROC-AUC: got %v, want %v", auc, w)
			}
			if w := bruteAP(want, truth); !(math.Abs(ap-w) <= 1e-6) {
				t.Errorf("PR-AUC: got %v, want %v", ap, w)
			}
			wantMatrix := "confusion matrix at threshold " + formatFloat(float64(float32(threshold))) + " (score > threshold is an anomaly):\n" +
				"            predicted normal  predicted anomaly\n" +
				"normal     " + pad(c[0][0], 17) + " " + pad(c[0][1], 18) + "\n" +
				"anomaly    " + pad(c[1][0], 17) + " " + pad(c[1][1], 18) + "\n"
			if !strings.Contains(stdout.String(), wantMatrix) {
				t.Errorf("stdout: got %q, want it to hold %q", stdout.String(), wantMatrix)
			}
		})
	}
}

func pad(n, w int) string {
	s := strconv.Itoa(n)
	return strings.Repeat(" ", w-len(s)) + s
}

// TestScoreRunFeatures checks the feature-level scores against (x − x̂)²
// from run's reconstruction.
func TestScoreRunFeatures(t *testing.T) {
	fx := newScoreFixture(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{6}, Latent: 2}), 6, 8)
	f, _, _ := testFactory()
	dir := t.TempDir()
	feat := filepath.Join(dir, "f.npy")
	opts := &scoreOptions{IO: f.IO, Model: fx.dir, Input: fx.x, Output: filepath.Join(dir, "s.npy"), Features: feat, Class: -1}
	if err := scoreRun(opts); err != nil {
		t.Fatal(err)
	}
	got := readNPY(t, feat)
	if !slices.Equal(got.Shape, []int{6, 8}) {
		t.Fatalf("shape: got %v, want [6 8]", got.Shape)
	}
	for i, x := range fx.xs {
		d := float64(x) - float64(fx.y[i])
		if w := d * d; !(math.Abs(float64(got.Data[i])-w) <= 1e-6) {
			t.Fatalf("element %d: got %v, want %v", i, got.Data[i], w)
		}
	}
	// Without a threshold, the .npy holds the scores alone.
	if s := readNPY(t, filepath.Join(dir, "s.npy")); !slices.Equal(s.Shape, []int{6}) {
		t.Errorf("scores without a threshold: got shape %v, want [6]", s.Shape)
	}
}

func TestScoreRunErrors(t *testing.T) {
	fx := newScoreFixture(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{6}, Latent: 2}), 6, 8)
	cvae := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "cvae", Condition: 3, Input: 8, Hidden: []int{6}, Latent: 2}))
	dir := t.TempDir()
	wrong := filepath.Join(dir, "wrong.npy")
	writeNPYArray(t, wrong, []int{2, 5}, make([]float32, 10))
	nan := filepath.Join(dir, "nan.npy")
	v := make([]float32, 16)
	v[10] = float32(math.NaN())
	writeNPYArray(t, nan, []int{2, 8}, v)
	short := filepath.Join(dir, "short.csv")
	os.WriteFile(short, []byte("0\n1\n1\n"), 0o644)
	two := filepath.Join(dir, "two.csv")
	os.WriteFile(two, []byte("0\n1\n2\n0\n0\n0\n"), 0o644)
	normal := filepath.Join(dir, "normal.csv")
	os.WriteFile(normal, []byte("0\n0\n0\n0\n0\n0\n"), 0o644)
	half := filepath.Join(dir, "half.npy")
	writeNPYArray(t, half, []int{6}, []float32{0, 1, 0.5, 0, 0, 0})
	out := filepath.Join(dir, "s.csv")
	tests := []struct {
		name    string
		opts    scoreOptions
		wantErr string
	}{
		{"wrong shape", scoreOptions{Model: fx.dir, Input: wrong}, "--input " + wrong + `: runtime: input "x": dimension 1 is 5, want 8`},
		{"NaN input", scoreOptions{Model: fx.dir, Input: nan}, "--input " + nan + ": sample 1, element 2 is NaN"},
		{"labels too few", scoreOptions{Model: fx.dir, Input: fx.x, Labels: short}, "--labels " + short + ": 3 labels for the 6 samples of --input " + fx.x},
		{"labels 2", scoreOptions{Model: fx.dir, Input: fx.x, Labels: two}, "--labels: anomaly: labels " + two + `: line 3: "2": want 0 (normal) or 1 (anomaly)`},
		{"labels 0.5", scoreOptions{Model: fx.dir, Input: fx.x, Labels: half}, "--labels: anomaly: labels " + half + `: label 2: "0.5"`},
		{"labels of one class", scoreOptions{Model: fx.dir, Input: fx.x, Labels: normal, Threshold: 1, HasThreshold: true}, "--labels: anomaly: the labels hold 0 anomalies and 6 normal samples; the measure needs both"},
		{"labels missing", scoreOptions{Model: fx.dir, Input: fx.x, Labels: filepath.Join(dir, "none.csv")}, "--labels: open " + filepath.Join(dir, "none.csv")},
		{"conditional without class", scoreOptions{Model: cvae, Input: fx.x}, "is conditional (inputs \"x\", \"c\"): give --class k or --condition FILE.npy"},
		{"class out of range", scoreOptions{Model: cvae, Input: fx.x, Class: 3}, "--class 3: " + filepath.Join(cvae, "model.onnx") + " has 3 classes, 0 to 2"},
		{"class for a plain model", scoreOptions{Model: fx.dir, Input: fx.x, Class: 1}, "--class and --condition are for conditional models"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := testFactory()
			tt.opts.IO, tt.opts.Output = f.IO, out
			if tt.opts.Class == 0 && tt.name != "class for a plain model" {
				tt.opts.Class = -1
			}
			err := scoreRun(&tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("failed runs wrote %s", out)
	}
}

// TestScoreRunConditional scores a conditional model with the class of
// each sample, against run's reconstruction with the same one-hot rows.
func TestScoreRunConditional(t *testing.T) {
	dir := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "cvae", Condition: 3, Input: 8, Hidden: []int{6}, Latent: 2}))
	tmp := t.TempDir()
	xs := make([]float32, 4*8)
	for i := range xs {
		xs[i] = float32(i%7) / 7
	}
	x, cls, onehot := filepath.Join(tmp, "x.npy"), filepath.Join(tmp, "c.npy"), filepath.Join(tmp, "onehot.npy")
	writeNPYArray(t, x, []int{4, 8}, xs)
	writeNPYArray(t, cls, []int{4}, []float32{2, 0, 1, 2})
	writeNPYArray(t, onehot, []int{4, 3}, []float32{0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1})
	y, _ := runOutput(t, filepath.Join(dir, "model.onnx"), false, x, "c="+onehot)
	fx := scoreFixture{xs: xs, y: y.Data, n: 4, d: 8}
	f, _, _ := testFactory()
	out := filepath.Join(tmp, "s.csv")
	if err := scoreRun(&scoreOptions{IO: f.IO, Model: dir, Input: x, Output: out, Condition: cls, Class: -1}); err != nil {
		t.Fatal(err)
	}
	got, _ := readScoresCSV(t, out)
	closeScores(t, "conditional scores", got, fx.handScores("mse"))
}

// TestScoreRunFlattensImages feeds samples of shape (2, 4) to a model of
// input (batch, 8), as train flattens images: the scores are those of the
// flat samples.
func TestScoreRunFlattensImages(t *testing.T) {
	fx := newScoreFixture(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{6}, Latent: 2}), 6, 8)
	images := filepath.Join(t.TempDir(), "images.npy")
	writeNPYArray(t, images, []int{6, 2, 4}, fx.xs)
	f, _, _ := testFactory()
	out := filepath.Join(t.TempDir(), "s.csv")
	if err := scoreRun(&scoreOptions{IO: f.IO, Model: fx.dir, Input: images, Output: out, Class: -1}); err != nil {
		t.Fatal(err)
	}
	got, _ := readScoresCSV(t, out)
	closeScores(t, "scores of (6, 2, 4) samples", got, fx.handScores("mse"))
}

// TestScoreRunDecoderFile scores uint8 samples with a directory's
// decoder.onnx, which runs after the encoder beside it: the samples follow
// the data input's rule (divided by 255), as with model.onnx.
func TestScoreRunDecoderFile(t *testing.T) {
	dir := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{6}, Latent: 2}))
	u8 := filepath.Join(t.TempDir(), "u8.npy")
	raw := make([]uint8, 3*8)
	for i := range raw {
		raw[i] = uint8(i * 41 % 256)
	}
	writeUint8NPY(t, u8, []int{3, 8}, raw)
	var scores [2][]float64
	for i, model := range []string{"model.onnx", "decoder.onnx"} {
		f, _, stderr := testFactory()
		out := filepath.Join(t.TempDir(), "s.csv")
		if err := scoreRun(&scoreOptions{IO: f.IO, Model: filepath.Join(dir, model), Input: u8, Output: out, Class: -1}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stderr.String(), "uint8 values divided by 255") {
			t.Errorf("%s: stderr %q, want the input scaled", model, stderr.String())
		}
		scores[i], _ = readScoresCSV(t, out)
	}
	closeScores(t, "decoder.onnx", scores[1], scores[0])
}

// TestScoreRunRefusesNonFiniteScores scores with a model whose output is
// NaN (√−x): an error naming the sample, no file, never a label.
func TestScoreRunRefusesNonFiniteScores(t *testing.T) {
	dir := t.TempDir()
	vi := func(name string) *onnxpb.ValueInfoProto {
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			Shape: &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{
				{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}}, {Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 2}}}},
		}}}}
	}
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{Name: proto.String("nan"),
			Node:  []*onnxpb.NodeProto{{OpType: proto.String("Neg"), Input: []string{"x"}, Output: []string{"n"}}, {OpType: proto.String("Sqrt"), Input: []string{"n"}, Output: []string{"y"}}},
			Input: []*onnxpb.ValueInfoProto{vi("x")}, Output: []*onnxpb.ValueInfoProto{vi("y")}},
	}
	model := filepath.Join(dir, "nan.onnx")
	if err := onnxfile.Save(model, m); err != nil {
		t.Fatal(err)
	}
	x := filepath.Join(dir, "x.npy")
	writeNPYArray(t, x, []int{2, 2}, []float32{0, 0, 1, 2})
	out := filepath.Join(dir, "s.jsonl")
	f, _, _ := testFactory()
	err := scoreRun(&scoreOptions{IO: f.IO, Model: model, Input: x, Output: out, Class: -1})
	if want := model + ": sample 1 of " + x + " scores NaN"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want an error containing %q", err, want)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("wrote %s", out)
	}
}
