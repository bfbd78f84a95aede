package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// CalibrationKey is the metadata key under which `aebridge calibrate`
// stores a model's anomaly threshold and its provenance, as the JSON
// object Calibration describes. The same JSON is written to
// CalibrationFile in the model's directory.
const CalibrationKey = "aebridge.calibration"

// CalibrationFile is the file in a model directory that holds the
// calibration, beside the ONNX files.
const CalibrationFile = "calibration.json"

// ErrNotCalibrated is returned by Detect on a model that records no
// calibration.
var ErrNotCalibrated = errors.New("records no anomaly threshold (run aebridge calibrate)")

// maxCalibration bounds the calibration JSON (it is a few hundred bytes).
const maxCalibration = 1 << 16

// Calibration is an anomaly threshold and how it was chosen: scores by
// Metric of Samples samples of normal data (Input), with the threshold at
// their (1 − Contamination) quantile, PyOD's convention, or where at most a
// fraction FPR of them lie above it (see package anomaly). A score above
// Threshold is an anomaly.
type Calibration struct {
	Threshold     float64   `json:"threshold"`
	Metric        Metric    `json:"metric"`
	Contamination float64   `json:"contamination,omitempty"` // p, or 0 when fitted by FPR
	FPR           float64   `json:"fpr,omitempty"`           // f, or 0 when fitted by contamination
	Samples       int       `json:"samples"`                 // scores the threshold was fitted on
	Input         string    `json:"input"`                   // the file they came from (its base name)
	Date          time.Time `json:"date"`                    // when, RFC 3339
}

// CalibrationError reports a malformed calibration.
type CalibrationError struct {
	Source string // the file, or "model.onnx metadata aebridge.calibration"
	Field  string // the JSON field, or "" for the whole value
	Reason string
}

func (e *CalibrationError) Error() string {
	s := "runtime: calibration " + e.Source
	if e.Field != "" {
		s += ": field " + e.Field
	}
	return s + ": " + e.Reason
}

// ParseCalibration reads a calibration, one JSON object, and checks it: a
// finite threshold, a known metric, exactly one of contamination and fpr
// in (0, 1), at least one sample, a date. source names where the bytes
// came from, for errors, which are *CalibrationError.
func ParseCalibration(b []byte, source string) (*Calibration, error) {
	fail := func(field, format string, args ...any) error {
		return &CalibrationError{Source: source, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if len(b) > maxCalibration {
		return nil, fail("", "%d bytes, more than a calibration's %d", len(b), maxCalibration)
	}
	// The fields as raw JSON first, so that a missing one is told from a
	// zero, and a number that does not fit is named.
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil {
		return nil, fail("", "not a JSON object: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail("", "data after the JSON object")
	}
	if raw == nil {
		return nil, fail("", "not a JSON object: null")
	}
	var c Calibration
	for _, f := range []struct {
		name     string
		dst      any
		required bool
	}{
		{"threshold", &c.Threshold, true}, {"metric", &c.Metric, true}, {"contamination", &c.Contamination, false},
		{"fpr", &c.FPR, false}, {"samples", &c.Samples, true}, {"input", &c.Input, false}, {"date", &c.Date, true},
	} {
		v, ok := raw[f.name]
		if !ok {
			if f.required {
				return nil, fail(f.name, "missing")
			}
			continue
		}
		if err := json.Unmarshal(v, f.dst); err != nil {
			return nil, fail(f.name, "%s: %v", clipJSON(v), err)
		}
	}
	if math.IsNaN(c.Threshold) || math.IsInf(c.Threshold, 0) {
		return nil, fail("threshold", "%v is not finite", c.Threshold)
	}
	if _, err := ParseMetric(string(c.Metric)); err != nil {
		return nil, fail("metric", "%q: want mse, mae, bce or l2", c.Metric)
	}
	_, hasP := raw["contamination"]
	_, hasF := raw["fpr"]
	switch {
	case hasP == hasF:
		return nil, fail("contamination", "give exactly one of contamination and fpr")
	case hasP && !(c.Contamination > 0 && c.Contamination < 1):
		return nil, fail("contamination", "%v is outside (0, 1)", c.Contamination)
	case hasF && !(c.FPR > 0 && c.FPR < 1):
		return nil, fail("fpr", "%v is outside (0, 1)", c.FPR)
	}
	if c.Samples < 1 {
		return nil, fail("samples", "%d: want at least 1", c.Samples)
	}
	if c.Date.IsZero() {
		return nil, fail("date", "zero")
	}
	return &c, nil
}

func clipJSON(v json.RawMessage) string {
	if len(v) > 40 {
		return string(v[:40]) + "…"
	}
	return string(v)
}

// Marshal returns the calibration as the JSON that ParseCalibration reads,
// indented, with a final newline.
func (c *Calibration) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("runtime: calibration: %w", err)
	}
	return append(b, '\n'), nil
}

// Calibration returns the calibration the model's metadata records under
// CalibrationKey, or nil when there is none.
func (info *Info) Calibration() (*Calibration, error) {
	v, ok := info.Metadata[CalibrationKey]
	if !ok {
		return nil, nil
	}
	return ParseCalibration([]byte(v), info.Path+" metadata "+CalibrationKey)
}

// Detect scores x by the metric of the model's calibration (see
// Info.Calibration) and labels each sample: true, an anomaly, when its
// score is above the calibrated threshold. cond is the condition of a
// conditional model. It returns an error wrapping ErrNotCalibrated when
// the model records no calibration.
func (m *Model) Detect(x Tensor, cond ...Tensor) (scores []float32, anomalous []bool, err error) {
	c, err := m.info.Calibration()
	if err != nil {
		return nil, nil, err
	}
	if c == nil {
		return nil, nil, fmt.Errorf("runtime: %s %w", m.info.Path, ErrNotCalibrated)
	}
	scores, err = m.Score(x, c.Metric, cond...)
	if err != nil {
		return nil, nil, err
	}
	anomalous = make([]bool, len(scores))
	for i, s := range scores {
		if math.IsNaN(float64(s)) {
			return nil, nil, fmt.Errorf("runtime: %s: sample %d scores NaN", m.info.Path, i)
		}
		anomalous[i] = float64(s) > c.Threshold
	}
	return scores, anomalous, nil
}
