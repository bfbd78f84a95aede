package serve

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/aebridge/aebridge/runtime"
)

// Model is one model the service serves: an ONNX model opened in ONNX
// Runtime under a name, with the calibration it records.
type Model struct {
	Name string
	// Path is the ONNX file run: a model directory's model.onnx, or the
	// file given.
	Path        string
	Calibration *runtime.Calibration // nil when the model records none
	Scaling     runtime.InputScaling

	model runner
}

// Backends are what may run a served model: "ort" (ONNX Runtime) and
// "go" (the pure-Go graph backend, see LoadGo).
var Backends = []string{"ort", "go"}

// validName is what a model name may hold: it appears in URL paths.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Load opens a model to serve. spec is PATH or NAME=PATH, where PATH is a
// model directory (its model.onnx is served, with encoder.onnx and
// decoder.onnx beside it for encode and decode) or an ONNX file. The name
// is NAME, else the directory's name, else the file's name without
// ".onnx". The calibration is the one the model's metadata records
// (aebridge.calibration); a calibration.json beside it must agree with it.
func Load(spec string, opts ...runtime.Option) (*Model, error) {
	return load(spec, func(file string, _ *runtime.Info) (runner, error) { return runtime.Open(file, opts...) })
}

// LoadGo opens a model to serve, as Load does, with the pure-Go graph
// backend (backend.OpenGraph) instead of ONNX Runtime: the ONNX file is
// read into a graph and run by the graph's executor. A full model encodes
// and decodes with encoder.onnx and decoder.onnx beside it, read into
// graphs on first use; without them encode and decode answer 422
// (ErrNoPart).
func LoadGo(spec string) (*Model, error) {
	return load(spec, func(file string, info *runtime.Info) (runner, error) { return openGo(file, info) })
}

func load(spec string, open func(file string, info *runtime.Info) (runner, error)) (*Model, error) {
	name, path, named := strings.Cut(spec, "=")
	if !named {
		path = spec
	}
	file := path
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		file = filepath.Join(path, runtime.FullFile)
	}
	if !named {
		base := filepath.Base(filepath.Clean(path))
		if file == path {
			base = strings.TrimSuffix(base, filepath.Ext(base))
		}
		name = base
	}
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("serve: %s: model name %q: want letters, digits, '.', '_' or '-' (at most 128), starting with a letter or digit; give NAME=%s", spec, name, path)
	}
	info, err := runtime.Inspect(file)
	if err != nil {
		return nil, err
	}
	cal, err := calibration(info)
	if err != nil {
		return nil, err
	}
	scaling, err := info.InputScaling()
	if err != nil {
		return nil, err
	}
	m, err := open(file, info)
	if err != nil {
		return nil, err
	}
	return &Model{Name: name, Path: file, Calibration: cal, Scaling: scaling, model: m}, nil
}

// NewModel serves an opened model under name; the Model takes it over
// (Server.Close closes it).
func NewModel(name string, m *runtime.Model) (*Model, error) {
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("serve: model name %q: want letters, digits, '.', '_' or '-' (at most 128), starting with a letter or digit", name)
	}
	cal, err := calibration(m.Info())
	if err != nil {
		return nil, err
	}
	scaling, err := m.Info().InputScaling()
	if err != nil {
		return nil, err
	}
	return &Model{Name: name, Path: m.Info().Path, Calibration: cal, Scaling: scaling, model: m}, nil
}

// Info describes the model's ONNX file.
func (m *Model) Info() *runtime.Info { return m.model.Info() }

// Close closes the model's ONNX Runtime sessions or graphs.
func (m *Model) Close() error { return m.model.Close() }

// Backend is "ort" or "go".
func (m *Model) Backend() string {
	if _, ok := m.model.(*goModel); ok {
		return "go"
	}
	return "ort"
}

// calibration returns the calibration info's metadata records, checked
// against calibration.json in its directory when the model is one of an
// aebridge model directory's graphs and that file exists.
func calibration(info *runtime.Info) (*runtime.Calibration, error) {
	meta, err := info.Calibration()
	if err != nil {
		return nil, err
	}
	if info.Part() == "" {
		return meta, nil
	}
	path := filepath.Join(filepath.Dir(info.Path), runtime.CalibrationFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return meta, nil
	}
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("serve: %s: %w", path, err)
	}
	file, err := runtime.ParseCalibration(b, path)
	if err != nil {
		return nil, err
	}
	if meta == nil {
		return nil, fmt.Errorf("serve: %s holds a calibration, but %s's metadata records none (exported again since?); run aebridge calibrate again", path, info.Path)
	}
	if file.Threshold != meta.Threshold || file.Metric != meta.Metric || file.Contamination != meta.Contamination ||
		file.FPR != meta.FPR || file.Samples != meta.Samples || file.Input != meta.Input || !file.Date.Equal(meta.Date) {
		return nil, fmt.Errorf("serve: %s (threshold %v) disagrees with the calibration in %s's metadata (threshold %v); run aebridge calibrate again", path, file.Threshold, info.Path, meta.Threshold)
	}
	return meta, nil
}
