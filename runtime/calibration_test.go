package runtime

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

const goodCalibration = `{"threshold": 0.5, "metric": "mse", "contamination": 0.1, "samples": 20, "input": "normal.npy", "date": "2026-12-01T23:00:00Z"}`

func TestParseCalibration(t *testing.T) {
	c, err := ParseCalibration([]byte(goodCalibration), "c.json")
	if err != nil {
		t.Fatal(err)
	}
	want := Calibration{Threshold: 0.5, Metric: MSE, Contamination: 0.1, Samples: 20, Input: "normal.npy", Date: time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC)}
	if *c != want {
		t.Errorf("got %+v, want %+v", *c, want)
	}
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseCalibration(b, "again")
	if err != nil || *again != want {
		t.Errorf("round trip: got %+v, %v; want %+v", again, err, want)
	}
	tests := []struct {
		name, json, wantErr string
	}{
		{"not JSON", `{`, "runtime: calibration c.json: not a JSON object"},
		{"null", `null`, "not a JSON object: null"},
		{"trailing", goodCalibration + ` {}`, "data after the JSON object"},
		{"no threshold", `{"metric": "mse", "contamination": 0.1, "samples": 2, "date": "2026-12-01T23:00:00Z"}`, "field threshold: missing"},
		{"threshold a string", strings.Replace(goodCalibration, `0.5`, `"0.5"`, 1), `field threshold: "0.5": json: cannot unmarshal string`},
		{"unknown metric", strings.Replace(goodCalibration, `"mse"`, `"rmse"`, 1), `field metric: "rmse": want mse, mae, bce or l2`},
		{"contamination 1", strings.Replace(goodCalibration, `0.1`, `1`, 1), "field contamination: 1 is outside (0, 1)"},
		{"both", strings.Replace(goodCalibration, `"samples"`, `"fpr": 0.2, "samples"`, 1), "give exactly one of contamination and fpr"},
		{"no samples", strings.Replace(goodCalibration, `20`, `0`, 1), "field samples: 0: want at least 1"},
		{"bad date", strings.Replace(goodCalibration, `2026-12-01T23:00:00Z`, `yesterday`, 1), "field date"},
		{"huge", `{"input": "` + strings.Repeat("a", 70000) + `"}`, "more than a calibration's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCalibration([]byte(tt.json), "c.json")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// FuzzParseCalibration parses arbitrary bytes: an error is a
// *CalibrationError; a calibration passes its own checks and survives
// Marshal and ParseCalibration unchanged.
func FuzzParseCalibration(f *testing.F) {
	f.Add([]byte(goodCalibration))
	f.Add([]byte(`{"threshold": -1e300, "metric": "l2", "fpr": 0.999, "samples": 1, "date": "2026-01-01T00:00:00+05:00"}`))
	f.Add([]byte(`{"threshold": 1, "metric": "bce", "contamination": 0, "samples": 1, "date": "2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`[1, 2]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCalibration(b, "fuzz")
		if err != nil {
			var ce *CalibrationError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not a *CalibrationError", err, err)
			}
			return
		}
		out, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseCalibration(out, "again")
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if again.Threshold != c.Threshold || again.Metric != c.Metric || again.Contamination != c.Contamination || again.FPR != c.FPR ||
			again.Samples != c.Samples || again.Input != c.Input || !again.Date.Equal(c.Date) {
			t.Fatalf("round trip: got %+v, want %+v", again, c)
		}
	})
}

// TestDetectUsesTheStoredCalibration stores a calibration in a linear
// autoencoder's metadata and checks that Detect labels by it.
func TestDetectUsesTheStoredCalibration(t *testing.T) {
	dir := linearDir(t, false, false)
	path := filepath.Join(dir, FullFile)
	x := Tensor{Shape: []int64{3, 3}, Data: []float32{0, 0, 0, 1, 2, 3, 0.5, -1, 0}}
	m := open(t, path)
	if _, _, err := m.Detect(x); !errors.Is(err, ErrNotCalibrated) {
		t.Fatalf("uncalibrated: got %v, want ErrNotCalibrated", err)
	}
	scores, err := m.Score(x, L2)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := onnxfile.LoadStructure(path)
	if err != nil {
		t.Fatal(err)
	}
	cal := strings.Replace(strings.Replace(goodCalibration, `"mse"`, `"l2"`, 1), "0.5", "1e-3", 1)
	mp.MetadataProps = append(mp.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(CalibrationKey), Value: proto.String(cal)})
	if err := onnxfile.Save(path, mp); err != nil {
		t.Fatal(err)
	}
	m = open(t, path)
	got, labels, err := m.Detect(x)
	if err != nil {
		t.Fatal(err)
	}
	// Sample 0 (all 0) reconstructs exactly, the others do not.
	if !slices.Equal(got, scores) || scores[0] != 0 || !slices.Equal(labels, []bool{false, true, true}) {
		t.Errorf("got scores %v labels %v, want scores %v labelled by > 1e-3", got, labels, scores)
	}
}
