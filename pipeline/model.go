package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"

	"github.com/aebridge/aebridge/convert"
	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/limits"
	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

// The files and metadata keys of an aebridge model directory, as package
// runtime names them (runtime.FullFile, runtime.CalibrationFile,
// runtime.CalibrationKey, runtime.PartKey, runtime.InputScaleKey). They are
// repeated here because runtime links ONNX Runtime through cgo, which a
// Beam worker built with CGO_ENABLED=0 cannot.
const (
	fullFile        = "model.onnx"
	calibrationFile = "calibration.json"
	calibrationKey  = "aebridge.calibration"
	partKey         = "part"
	inputScaleKey   = "aebridge.input_scale"
)

// Model is what the pipeline reads of a model: the ONNX file's description
// (read on the launcher, to choose the metric, the threshold and the input
// rule) and, on the workers, its graph.
type Model struct {
	Path     string            // the ONNX file
	Producer string            // producer_name
	Metadata map[string]string // metadata_props
	Input    string            // the first input's name
	// Shape is the first input's shape, −1 for a dynamic dimension, nil
	// when the file gives none.
	Shape []int64
	// Inputs is the number of graph inputs (initializers left out).
	Inputs int
}

// modelFile is the ONNX file that --model names: DIR/model.onnx for a
// directory, else the file itself. A path ending in .onnx is a file.
func modelFile(model string) string {
	if strings.EqualFold(path.Ext(model), ".onnx") {
		return model
	}
	if isLocal(model) {
		return filepath.Join(model, fullFile)
	}
	return strings.TrimSuffix(model, "/") + "/" + fullFile
}

// isLocal reports whether p is a path of the local file system (no
// scheme://), which the pipeline reads directly rather than through Beam's
// file systems.
func isLocal(p string) bool { return !strings.Contains(p, "://") }

// dirOf is the folder of a local or remote path.
func dirOf(p string) string {
	if isLocal(p) {
		return filepath.Dir(p)
	}
	return p[:strings.LastIndex(p, "/")]
}

// readRemote reads a whole file through Beam's file systems (gs://,
// s3://, memfs://), at most max bytes.
func readRemote(ctx context.Context, p string, max int64) ([]byte, error) {
	fs, err := filesystem.New(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %s: %w", p, err)
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %s: %w", p, err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("pipeline: %s: %w", p, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("pipeline: %s: more than %d bytes", p, max)
	}
	return b, nil
}

// OpenModel reads the description of the ONNX file that model names (a
// directory or an .onnx file, local or remote), checking that the
// pipeline can score it: a one-input model that is not an encoder or a
// decoder.
func OpenModel(ctx context.Context, model string) (*Model, error) {
	p := modelFile(model)
	var mp *onnxpb.ModelProto
	var err error
	if isLocal(p) {
		mp, err = onnxfile.LoadStructure(p)
	} else {
		var b []byte
		if b, err = readRemote(ctx, p, limits.MaxModelBytes); err == nil {
			mp, err = onnxfile.Decode(b, p)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	m := &Model{Path: p, Producer: mp.GetProducerName(), Metadata: map[string]string{}}
	for _, kv := range mp.MetadataProps {
		m.Metadata[kv.GetKey()] = kv.GetValue()
	}
	inits := map[string]bool{}
	for _, t := range mp.Graph.Initializer {
		inits[t.GetName()] = true
	}
	for _, vi := range mp.Graph.Input {
		if inits[vi.GetName()] {
			continue
		}
		m.Inputs++
		if m.Inputs > 1 {
			continue
		}
		m.Input = vi.GetName()
		if tt := vi.GetType().GetTensorType(); tt != nil && tt.Shape != nil {
			m.Shape = make([]int64, len(tt.Shape.Dim))
			for i, d := range tt.Shape.Dim {
				m.Shape[i] = -1
				if v, ok := d.Value.(*onnxpb.TensorShapeProto_Dimension_DimValue); ok {
					m.Shape[i] = v.DimValue
				}
			}
		}
	}
	switch part := m.Part(); {
	case part == "encoder" || part == "decoder":
		return nil, fmt.Errorf("pipeline: %s is the %s graph; the pipeline scores with the full model: give the model directory or its %s", p, part, fullFile)
	case m.Inputs != 1:
		return nil, fmt.Errorf("pipeline: %s takes %d inputs; the pipeline scores one-input autoencoders (a conditional model's --class or --condition is not supported)", p, m.Inputs)
	}
	return m, nil
}

// Part is the autoencoder part aebridge's metadata records ("full",
// "encoder", "decoder"), or "" (as runtime.Info.Part).
func (m *Model) Part() string {
	if m.Producer != "aebridge" {
		return ""
	}
	switch p := m.Metadata[partKey]; p {
	case "full", "encoder", "decoder":
		return p
	}
	return ""
}

// Divisor is what uint8 input is divided by before it is fed, by the
// model's input-scaling rule (runtime.Info.InputScaling): the
// aebridge.input_scale metadata ("1/255" or "none"), else 255 for a model
// aebridge exported before it recorded the rule; 0 feeds it unchanged.
func (m *Model) Divisor() (float32, error) {
	v, ok := m.Metadata[inputScaleKey]
	if !ok {
		if m.Producer == "aebridge" && m.Metadata[partKey] != "decoder" && m.Input == "x" {
			return 255, nil
		}
		return 0, nil
	}
	if v == "none" {
		return 0, nil
	}
	if num, ok := strings.CutPrefix(v, "1/"); ok {
		d, err := strconv.ParseFloat(num, 32)
		if err == nil && d > 0 && !math.IsInf(d, 0) {
			return float32(d), nil
		}
	}
	return 0, fmt.Errorf("pipeline: %s: metadata %s = %q: want \"1/255\" or \"none\"", m.Path, inputScaleKey, v)
}

// fitShape gives flat samples the model's per-sample input shape when
// that is fixed and holds as many values (runtime.IO.FitShape): (N, 784)
// for (batch, 1, 28, 28).
func (m *Model) fitShape(shape []int) []int {
	if len(m.Shape) < 2 || len(shape) < 2 {
		return shape
	}
	want, got := int64(1), int64(1)
	dims := []int{shape[0]}
	for _, d := range m.Shape[1:] {
		if d <= 0 {
			return shape
		}
		want *= d
		dims = append(dims, int(d))
	}
	for _, d := range shape[1:] {
		got *= int64(d)
	}
	if got != want {
		return shape
	}
	return dims
}

// loadGraph reads the model's graph: a local file with its external data,
// a remote one (its tensors inline) through Beam's file systems.
func loadGraph(ctx context.Context, p string) (*graph.Graph, error) {
	if isLocal(p) {
		g, _, err := convert.ReadGraph(p, convert.Options{})
		return g, err
	}
	b, err := readRemote(ctx, p, limits.MaxModelBytes)
	if err != nil {
		return nil, err
	}
	g, _, err := convert.DecodeGraph(bytes.NewReader(b), p, convert.Options{})
	return g, err
}

// Calibration is the anomaly threshold `aebridge calibrate` stores, as
// runtime.Calibration (repeated here: runtime needs cgo).
type Calibration struct {
	Threshold     float64   `json:"threshold"`
	Metric        string    `json:"metric"`
	Contamination float64   `json:"contamination,omitempty"`
	FPR           float64   `json:"fpr,omitempty"`
	Samples       int       `json:"samples"`
	Input         string    `json:"input"`
	Date          time.Time `json:"date"`
}

// maxCalibration bounds the calibration JSON, as runtime does.
const maxCalibration = 1 << 16

// parseCalibration reads and checks a calibration as
// runtime.ParseCalibration does, with the same rules and messages (under
// this package's prefix).
func parseCalibration(b []byte, source string) (*Calibration, error) {
	fail := func(field, format string, args ...any) error {
		s := "pipeline: calibration " + source
		if field != "" {
			s += ": field " + field
		}
		return errors.New(s + ": " + fmt.Sprintf(format, args...))
	}
	if len(b) > maxCalibration {
		return nil, fail("", "%d bytes, more than a calibration's %d", len(b), maxCalibration)
	}
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
			s := string(v)
			if len(s) > 40 {
				s = s[:40] + "…"
			}
			return nil, fail(f.name, "%s: %v", s, err)
		}
	}
	if math.IsNaN(c.Threshold) || math.IsInf(c.Threshold, 0) {
		return nil, fail("threshold", "%v is not finite", c.Threshold)
	}
	if _, err := ParseMetric(c.Metric); err != nil {
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

func (a *Calibration) same(b *Calibration) bool {
	return a.Threshold == b.Threshold && a.Metric == b.Metric && a.Contamination == b.Contamination && a.FPR == b.FPR &&
		a.Samples == b.Samples && a.Input == b.Input && a.Date.Equal(b.Date)
}

// StoredCalibration returns the calibration the model's metadata records,
// checked against calibration.json beside it when that exists, as
// aebridge score does: the two must agree. A calibration.json beside a
// model whose metadata records none is ignored; warn is told why.
func (m *Model) StoredCalibration(ctx context.Context, warn func(string)) (*Calibration, error) {
	var meta *Calibration
	if v, ok := m.Metadata[calibrationKey]; ok {
		var err error
		if meta, err = parseCalibration([]byte(v), m.Path+" metadata "+calibrationKey); err != nil {
			return nil, err
		}
	}
	if m.Part() == "" {
		return meta, nil
	}
	var b []byte
	var err error
	jsonPath := path.Join(dirOf(m.Path), calibrationFile)
	if isLocal(m.Path) {
		jsonPath = filepath.Join(dirOf(m.Path), calibrationFile)
		b, err = readLocalSmall(jsonPath)
		if errors.Is(err, os.ErrNotExist) {
			return meta, nil
		}
	} else {
		b, err = readRemoteIfExists(ctx, jsonPath)
		if b == nil && err == nil {
			return meta, nil
		}
	}
	if err != nil {
		return nil, err
	}
	file, err := parseCalibration(b, jsonPath)
	if err != nil {
		return nil, err
	}
	switch {
	case meta == nil:
		warn(fmt.Sprintf("warning: ignoring %s: %s records no calibration (exported again since?); run aebridge calibrate again", jsonPath, m.Path))
		return nil, nil
	case !file.same(meta):
		return nil, fmt.Errorf("pipeline: %s (threshold %s, %s) disagrees with the calibration in %s's metadata (threshold %s, %s); run aebridge calibrate again",
			jsonPath, formatFloat(file.Threshold), file.Date.Format(time.RFC3339), m.Path, formatFloat(meta.Threshold), meta.Date.Format(time.RFC3339))
	}
	return meta, nil
}

// readRemoteIfExists reads a small remote file, or returns nil, nil when
// no file of that name is listed.
func readRemoteIfExists(ctx context.Context, p string) ([]byte, error) {
	fs, err := filesystem.New(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %s: %w", p, err)
	}
	names, err := fs.List(ctx, p)
	fs.Close()
	if err != nil {
		return nil, fmt.Errorf("pipeline: %s: %w", p, err)
	}
	if len(names) == 0 {
		return nil, nil
	}
	return readRemote(ctx, p, 1<<20)
}

// formatFloat writes v in the fewest digits that read back to it.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// formatFloat32 writes v in the fewest digits that read back to the same
// float32, as aebridge score writes scores.
func formatFloat32(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }

// readLocalSmall reads a local file of at most 1 MiB.
func readLocalSmall(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	if len(b) > 1<<20 {
		return nil, fmt.Errorf("pipeline: %s: larger than 1 MiB", p)
	}
	return b, nil
}
