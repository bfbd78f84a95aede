package pipeline

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/runtime"
)

// The metric, the calibration and the input-scaling rule are repeated from
// package runtime (which needs cgo); these tests hold the copies to it.

func TestScoresAsRuntime(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, d = 7, 13
	x, xhat := make([]float32, n*d), make([]float32, n*d)
	for i := range x {
		x[i], xhat[i] = rng.Float32(), rng.Float32()
	}
	xhat[0], xhat[1] = 0, 1 // BCE's clamped logarithms
	for _, m := range []string{MSE, MAE, BCE, L2} {
		t.Run(m, func(t *testing.T) {
			got, err := scores(x, xhat, n, m)
			if err != nil {
				t.Fatal(err)
			}
			want, err := runtime.Scores(runtime.Tensor{Shape: []int64{n, d}, Data: x}, runtime.Tensor{Shape: []int64{n, d}, Data: xhat}, runtime.Metric(m))
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Errorf("sample %d: got %v, want %v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestCalibrationAsRuntime(t *testing.T) {
	for _, s := range []string{
		`{"threshold": 0.5, "metric": "mse", "contamination": 0.1, "samples": 10, "input": "x.npy", "date": "2026-12-01T00:00:00Z"}`,
		`{"threshold": 0.5, "metric": "l2", "fpr": 0.01, "samples": 1, "date": "2026-12-01T00:00:00Z"}`,
		`{"threshold": 0.5, "metric": "rmse", "contamination": 0.1, "samples": 10, "date": "2026-12-01T00:00:00Z"}`,
		`{"threshold": 0.5, "metric": "mse", "contamination": 0.1, "fpr": 0.1, "samples": 10, "date": "2026-12-01T00:00:00Z"}`,
		`{"threshold": 0.5, "metric": "mse", "contamination": 1, "samples": 10, "date": "2026-12-01T00:00:00Z"}`,
		`{"threshold": 0.5, "metric": "mse", "fpr": 0, "samples": 10, "date": "2026-12-01T00:00:00Z"}`,
		`{"threshold": 0.5, "metric": "mse", "contamination": 0.1, "samples": 0, "date": "2026-12-01T00:00:00Z"}`,
		`{"threshold": 0.5, "metric": "mse", "contamination": 0.1, "samples": 10}`,
		`{"threshold": "high", "metric": "mse", "contamination": 0.1, "samples": 10, "date": "2026-12-01T00:00:00Z"}`,
		`{"metric": "mse", "contamination": 0.1, "samples": 10, "date": "2026-12-01T00:00:00Z"}`,
		`{"threshold": 1e999, "metric": "mse", "contamination": 0.1, "samples": 10, "date": "2026-12-01T00:00:00Z"}`,
		`{"threshold": 0.5, "metric": "mse", "contamination": 0.1, "samples": 10, "date": "0001-01-01T00:00:00Z"}`,
		`{"threshold": 0.5, "metric": "mse", "contamination": 0.1, "samples": 10, "date": "2026-12-01T00:00:00Z"} {}`,
		`null`, `[1]`, ``, strings.Repeat(" ", maxCalibration+1),
	} {
		got, gerr := parseCalibration([]byte(s), "src")
		want, werr := runtime.ParseCalibration([]byte(s), "src")
		switch {
		case (gerr == nil) != (werr == nil):
			t.Errorf("%.60s: got error %v, want %v", s, gerr, werr)
		case gerr != nil && strings.TrimPrefix(gerr.Error(), "pipeline: ") != strings.TrimPrefix(werr.Error(), "runtime: "):
			t.Errorf("%.60s: got error %q, want %q", s, gerr, werr)
		case gerr == nil && (got.Threshold != want.Threshold || got.Metric != string(want.Metric) || got.Contamination != want.Contamination ||
			got.FPR != want.FPR || got.Samples != want.Samples || got.Input != want.Input || !got.Date.Equal(want.Date)):
			t.Errorf("%.60s: got %+v, want %+v", s, got, want)
		}
	}
}

func TestDivisorAsRuntime(t *testing.T) {
	tests := []struct {
		producer, input string
		meta            map[string]string
	}{
		{"aebridge", "x", map[string]string{}},
		{"aebridge", "x", map[string]string{"part": "decoder"}},
		{"aebridge", "input", map[string]string{}},
		{"pytorch", "x", map[string]string{}},
		{"pytorch", "x", map[string]string{inputScaleKey: "1/255"}},
		{"aebridge", "x", map[string]string{inputScaleKey: "none"}},
		{"aebridge", "x", map[string]string{inputScaleKey: "1/2.5"}},
		{"aebridge", "x", map[string]string{inputScaleKey: "1/0"}},
		{"aebridge", "x", map[string]string{inputScaleKey: "255"}},
		{"aebridge", "x", map[string]string{inputScaleKey: "1/inf"}},
	}
	for _, tt := range tests {
		m := &Model{Path: "m.onnx", Producer: tt.producer, Metadata: tt.meta, Input: tt.input, Inputs: 1}
		info := &runtime.Info{Path: "m.onnx", Producer: tt.producer, Metadata: tt.meta, Inputs: []runtime.IO{{Name: tt.input}}}
		got, gerr := m.Divisor()
		want, werr := info.InputScaling()
		switch {
		case (gerr == nil) != (werr == nil):
			t.Errorf("%+v: got error %v, want %v", tt, gerr, werr)
		case gerr == nil && got != want.Divisor:
			t.Errorf("%+v: got %v, want %v", tt, got, want.Divisor)
		}
	}
}
