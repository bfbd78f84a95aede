package main

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/trainer"
)

func TestNewCmdCalibrate(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    calibrateOptions
		wantErr string
	}{
		{name: "contamination", args: []string{"dir", "-i", "n.npy", "--contamination", "0.05"},
			want: calibrateOptions{Dir: "dir", Input: "n.npy", Metric: "mse", Contamination: 0.05, Class: -1}},
		{name: "fpr, l2", args: []string{"dir", "-i", "n.npy", "--fpr", "0.01", "--metric", "l2"},
			want: calibrateOptions{Dir: "dir", Input: "n.npy", Metric: "l2", FPR: 0.01, Class: -1}},
		{name: "neither", args: []string{"dir", "-i", "n.npy"}, wantErr: "give one of --contamination and --fpr"},
		{name: "both", args: []string{"dir", "-i", "n.npy", "--contamination", "0.1", "--fpr", "0.1"}, wantErr: "give one of --contamination and --fpr"},
		{name: "contamination 1", args: []string{"dir", "-i", "n.npy", "--contamination", "1"}, wantErr: "--contamination 1: want a fraction in (0, 1)"},
		{name: "contamination -0.1", args: []string{"dir", "-i", "n.npy", "--contamination", "-0.1"}, wantErr: "--contamination -0.1: want a fraction in (0, 1)"},
		{name: "no input", args: []string{"dir", "--fpr", "0.1"}, wantErr: "--input is required"},
		{name: "bad metric", args: []string{"dir", "-i", "n.npy", "--fpr", "0.1", "--metric", "x"}, wantErr: `--metric "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseArgs(t, newCmdCalibrate, tt.args, tt.wantErr)
			if got == nil {
				return
			}
			got.IO, got.Now = nil, nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

var calibrationDate = time.Date(2026, 12, 1, 23, 30, 0, 0, time.UTC)

func calibrate(t *testing.T, opts calibrateOptions) string {
	t.Helper()
	f, stdout, _ := testFactory()
	opts.IO, opts.Now, opts.Class = f.IO, func() time.Time { return calibrationDate }, -1
	if opts.Metric == "" {
		opts.Metric = "mse"
	}
	if err := calibrateRun(&opts); err != nil {
		t.Fatal(err)
	}
	return stdout.String()
}

// TestCalibrateThenScore calibrates a model directory on normal data and
// checks the stored threshold (PyOD's percentile of the hand-computed
// scores), its provenance in calibration.json and in every ONNX file's
// metadata, and that score and runtime.Model.Detect then label by it.
func TestCalibrateThenScore(t *testing.T) {
	fx := newScoreFixture(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{6}, Latent: 2}), 6, 8)
	stdout := calibrate(t, calibrateOptions{Dir: fx.dir, Input: fx.x, Metric: "l2", Contamination: 0.3})
	hand := fx.handScores("l2")
	sorted := slices.Clone(hand)
	sort.Float64s(sorted)
	// numpy.percentile(scores, 70): position 5·0.7 = 3.5, between the 4th
	// and 5th smallest (numpy interpolates from the nearer end).
	want := sorted[4] - (sorted[4]-sorted[3])*0.5
	b, err := os.ReadFile(filepath.Join(fx.dir, "calibration.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := runtime.ParseCalibration(b, "calibration.json")
	if err != nil {
		t.Fatal(err)
	}
	if !(abs(c.Threshold-want) <= 1e-6*want) {
		t.Errorf("threshold: got %v, want %v", c.Threshold, want)
	}
	wantCal := runtime.Calibration{Threshold: c.Threshold, Metric: runtime.L2, Contamination: 0.3, Samples: 6, Input: "x.npy", Date: calibrationDate}
	if *c != wantCal {
		t.Errorf("calibration.json: got %+v, want %+v", *c, wantCal)
	}
	for _, file := range []string{"model.onnx", "encoder.onnx", "decoder.onnx"} {
		info, err := runtime.Inspect(filepath.Join(fx.dir, file))
		if err != nil {
			t.Fatal(err)
		}
		m, err := info.Calibration()
		if err != nil || m == nil || !sameCalibration(m, c) {
			t.Errorf("%s metadata: got %+v, %v; want %+v", file, m, err, *c)
		}
	}
	wantOut := "threshold " + formatFloat(c.Threshold) + " (l2, contamination 0.3 of 6 samples of x.npy, 2026-12-01T23:30:00Z): 2 of the 6 samples of " + fx.x + " score above it\n" +
		"wrote " + filepath.Join(fx.dir, "calibration.json") + " and the metadata of [model.onnx encoder.onnx decoder.onnx]\n"
	if stdout != wantOut {
		t.Errorf("stdout: got %q, want %q", stdout, wantOut)
	}

	// score uses the stored threshold and metric.
	f, out, _ := testFactory()
	scores := filepath.Join(t.TempDir(), "s.csv")
	if err := scoreRun(&scoreOptions{IO: f.IO, Model: fx.dir, Input: fx.x, Output: scores, Class: -1}); err != nil {
		t.Fatal(err)
	}
	got, labels := readScoresCSV(t, scores)
	closeScores(t, "scores", got, hand)
	var wantLabels []int
	for _, s := range got {
		wantLabels = append(wantLabels, label(s > c.Threshold))
	}
	if !slices.Equal(labels, wantLabels) || countTrue(labels[0] == 1, labels[1] == 1, labels[2] == 1, labels[3] == 1, labels[4] == 1, labels[5] == 1) != 2 {
		t.Errorf("labels: got %v, want %v (2 anomalies)", labels, wantLabels)
	}
	if !strings.Contains(out.String(), "by l2 -> ") || !strings.Contains(out.String(), "(calibrated: l2, contamination 0.3 of 6 samples of x.npy, 2026-12-01T23:30:00Z): 2 anomalies") {
		t.Errorf("stdout: got %q, want the calibrated threshold named", out.String())
	}

	// The Go API too.
	m, err := runtime.Open(filepath.Join(fx.dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	a := readNPY(t, fx.x)
	_, detected, err := m.Detect(runtime.Tensor{Shape: []int64{6, 8}, Data: a.Data})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range detected {
		if label(d) != wantLabels[i] {
			t.Errorf("Detect sample %d: got %v, want %d", i, d, wantLabels[i])
		}
	}

	// Another metric without a threshold of its own is refused.
	f, _, _ = testFactory()
	err = scoreRun(&scoreOptions{IO: f.IO, Model: fx.dir, Input: fx.x, Output: scores, Metric: "mae", Class: -1})
	if err == nil || !strings.Contains(err.Error(), "--metric mae: "+filepath.Join(fx.dir, "model.onnx")+" is calibrated for l2") {
		t.Errorf("another metric: got %v", err)
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// TestCalibrationFileMustAgree checks what score does when
// calibration.json and the model's metadata differ: an edited file is an
// error; a file left beside a model exported again (no calibration in its
// metadata) is ignored with a warning, and no labels are written.
func TestCalibrationFileMustAgree(t *testing.T) {
	fx := newScoreFixture(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{6}, Latent: 2}), 6, 8)
	calibrate(t, calibrateOptions{Dir: fx.dir, Input: fx.x, FPR: 0.2})
	path := filepath.Join(fx.dir, "calibration.json")
	b, _ := os.ReadFile(path)
	edited := strings.Replace(string(b), `"threshold": `, `"threshold": 1`, 1)
	os.WriteFile(path, []byte(edited), 0o644)
	f, _, _ := testFactory()
	out := filepath.Join(t.TempDir(), "s.npy")
	err := scoreRun(&scoreOptions{IO: f.IO, Model: fx.dir, Input: fx.x, Output: out, Class: -1})
	if err == nil || !strings.Contains(err.Error(), "disagrees with the calibration in "+filepath.Join(fx.dir, "model.onnx")) {
		t.Errorf("edited calibration.json: got %v", err)
	}
	// Export again: the metadata loses the calibration.
	fresh := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{6}, Latent: 2}))
	os.WriteFile(filepath.Join(fresh, "calibration.json"), b, 0o644)
	f, stdout, stderr := testFactory()
	if err := scoreRun(&scoreOptions{IO: f.IO, Model: fresh, Input: fx.x, Output: out, Class: -1}); err != nil {
		t.Fatal(err)
	}
	if want := "warning: ignoring " + filepath.Join(fresh, "calibration.json") + ": " + filepath.Join(fresh, "model.onnx") + " records no calibration"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr: got %q, want %q", stderr.String(), want)
	}
	if !strings.Contains(stdout.String(), "no threshold") {
		t.Errorf("stdout: got %q, want no threshold", stdout.String())
	}
	if a, err := npy.ReadFile(out); err != nil || !slices.Equal(a.Shape, []int{6}) {
		t.Errorf("scores: got %v, %v; want shape [6], no labels", a, err)
	}
}

func TestCalibrateErrors(t *testing.T) {
	fx := newScoreFixture(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{6}, Latent: 2}), 6, 8)
	tmp := t.TempDir()
	nan := filepath.Join(tmp, "nan.npy")
	v := make([]float32, 16)
	v[3] = float32(math.Inf(1))
	writeNPYArray(t, nan, []int{2, 8}, v)
	tests := []struct {
		name    string
		opts    calibrateOptions
		wantErr string
	}{
		{"a file, not a directory", calibrateOptions{Dir: filepath.Join(fx.dir, "model.onnx"), Input: fx.x, Contamination: 0.1}, "is not a model directory"},
		{"Inf input", calibrateOptions{Dir: fx.dir, Input: nan, Contamination: 0.1}, "--input " + nan + ": sample 0, element 3 is +Inf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := testFactory()
			tt.opts.IO, tt.opts.Now, tt.opts.Metric, tt.opts.Class = f.IO, time.Now, "mse", -1
			err := calibrateRun(&tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(fx.dir, "calibration.json")); err == nil {
		t.Error("a failed calibration wrote calibration.json")
	}
}
