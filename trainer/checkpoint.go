package trainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/aebridge/aebridge/internal/atomicfile"
	"github.com/aebridge/aebridge/internal/safetensors"
)

// Version is aebridge's version, recorded in configurations and exports.
// Builds may set it with -ldflags "-X github.com/aebridge/aebridge/trainer.Version=…".
var Version = "0.1.0-dev"

// The files of a model directory.
const (
	ConfigFile  = "config.json"
	WeightsFile = "model.safetensors"
	StateFile   = "train_state.safetensors" // optimizer and progress, for resuming
)

// File is the content of config.json: the model description, and the
// training configuration when the model was trained here.
type File struct {
	Version  string       `json:"aebridge"`
	Model    Config       `json:"model"`
	Training *TrainConfig `json:"training,omitempty"`
}

// StateDict returns the model's weights and buffers by state-dict name
// ("encoder.0.weight"), as PyTorch's state_dict names them. The tensors
// share the model's storage.
func (m *Model) StateDict() map[string]Tensor {
	sd := make(map[string]Tensor, len(m.params)+len(m.buffers))
	for _, p := range m.state() {
		sd[p.Name] = Tensor{Shape: p.Value.Shape, Data: p.Value.Data}
	}
	return sd
}

// LoadStateDict copies weights into the model. Every parameter and buffer
// must be present with its shape and as many values, and no other tensor;
// file names the source in errors.
func (m *Model) LoadStateDict(sd map[string]Tensor, file string) error {
	all := m.state()
	for _, p := range all {
		t, ok := sd[p.Name]
		if !ok {
			return fmt.Errorf("trainer: %s: missing tensor %q (shape %v)", file, p.Name, p.Value.Shape)
		}
		if !slices.Equal(t.Shape, p.Value.Shape) || len(t.Data) != len(p.Value.Data) {
			return fmt.Errorf("trainer: %s: tensor %q has shape %v (%d values), the model needs %v", file, p.Name, t.Shape, len(t.Data), p.Value.Shape)
		}
	}
	if len(sd) != len(all) {
		var extra []string
		for name := range sd {
			if m.param(name) == nil {
				extra = append(extra, name)
			}
		}
		sort.Strings(extra)
		return fmt.Errorf("trainer: %s: tensors the model does not have: %s", file, strings.Join(extra, ", "))
	}
	for _, p := range all {
		copy(p.Value.Data, sd[p.Name].Data)
	}
	return nil
}

// tensors is StateDict for a safetensors file.
func (m *Model) tensors() map[string]safetensors.Tensor {
	sd := make(map[string]safetensors.Tensor, len(m.params)+len(m.buffers))
	for _, p := range m.state() {
		sd[p.Name] = safetensors.Tensor{Shape: p.Value.Shape, Data: p.Value.Data}
	}
	return sd
}

// loadTensors is LoadStateDict for the tensors of a safetensors file.
func (m *Model) loadTensors(ts map[string]safetensors.Tensor, file string) error {
	sd := make(map[string]Tensor, len(ts))
	for k, t := range ts {
		sd[k] = Tensor{Shape: t.Shape, Data: t.Data}
	}
	return m.LoadStateDict(sd, file)
}

func (m *Model) param(name string) *Param {
	for _, p := range m.state() {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Save writes dir/config.json and dir/model.safetensors, each atomically,
// creating dir if needed. tc may be nil.
func Save(dir string, m *Model, tc *TrainConfig) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("trainer: %w", err)
	}
	f := File{Version: Version, Model: m.Config, Training: tc}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("trainer: %w", err)
	}
	if err := safetensors.WriteFile(filepath.Join(dir, WeightsFile), m.tensors(), map[string]string{"format": "pt", "aebridge": Version}); err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, ConfigFile), append(b, '\n'))
}

// ReadConfig reads dir/config.json.
func ReadConfig(dir string) (*File, error) {
	f, err := ReadConfigFile(filepath.Join(dir, ConfigFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("trainer: %s is not a model directory: %w", dir, err)
	}
	return f, err
}

// maxConfigBytes bounds the size of a config.json file: a description of
// thousands of layers takes a few hundred kilobytes.
const maxConfigBytes = 16 << 20

// Variants lists the variants a config.json may name: MLPVariants, the
// convolutional ones, "imported" (a chain convert made from a graph) and
// "graph" (a graph, Config.Graph), and the sequence autoencoders.
var Variants = append(append(slices.Clip(MLPVariants), "conv", "conv1d", "imported", GraphVariant), SequenceVariants...)

// ReadConfigFile reads a config.json file at path, refusing unknown fields
// and checking the description as Build does (Config.Check: sizes, layer
// chaining, the parameter count against limits.MaxParams) without
// allocating the model, and the training configuration if there is one.
func ReadConfigFile(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	if len(b) > maxConfigBytes {
		return nil, fmt.Errorf("trainer: %s: more than %d bytes, too large for a model description", path, maxConfigBytes)
	}
	return parseConfig(b, path)
}

// parseConfig is ReadConfigFile on the bytes b of the file path.
func parseConfig(b []byte, path string) (*File, error) {
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("trainer: %s: %w", path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trainer: %s: data after the JSON object at offset %d", path, dec.InputOffset())
	}
	if !slices.Contains(Variants, f.Model.Variant) {
		return nil, fmt.Errorf("trainer: %s: model.variant %q (want one of %v)", path, f.Model.Variant, Variants)
	}
	if err := f.Model.Check(); err != nil {
		return nil, fmt.Errorf("%w (in %s, model)", err, path)
	}
	if f.Training != nil {
		if err := f.Training.Check(); err != nil {
			return nil, fmt.Errorf("%w (in %s, training)", err, path)
		}
	}
	return &f, nil
}

// Load reads a model directory written by Save: it builds the model from
// config.json and loads model.safetensors into it.
func Load(dir string) (*Model, *File, error) {
	f, err := ReadConfig(dir)
	if err != nil {
		return nil, nil, err
	}
	m, err := Build(f.Model)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (in %s)", err, filepath.Join(dir, ConfigFile))
	}
	path := filepath.Join(dir, WeightsFile)
	sd, _, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if err := m.loadTensors(sd, path); err != nil {
		return nil, nil, err
	}
	return m, f, nil
}

// ErrNoCheckpoint reports a directory that holds no complete checkpoint:
// training never finished its first epoch there (or never started).
var ErrNoCheckpoint = errors.New("no checkpoint")

// Checkpoint is what a checkpoint directory records about its run.
type Checkpoint struct {
	Epoch   int  // the last epoch the checkpoint holds
	Stopped bool // early stopping ended the run at Epoch
	// File is the model and the training configuration the checkpoint was
	// written with (Training.Epochs is the run's target).
	File *File
}

// ReadCheckpoint reads the checkpoint in dir. Its train_state.safetensors
// is written last, atomically, and records the configuration itself, so a
// directory either holds a complete checkpoint or none: then the error
// wraps ErrNoCheckpoint.
func ReadCheckpoint(dir string) (*Checkpoint, error) {
	path := filepath.Join(dir, StateFile)
	_, meta, err := safetensors.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("trainer: %w yet in %s (no %s)", ErrNoCheckpoint, dir, StateFile)
	}
	if err != nil {
		return nil, err
	}
	var st fitState
	if err := st.parseMeta(path, meta); err != nil {
		return nil, err
	}
	f, err := checkpointConfig(dir, path, meta)
	if err != nil {
		return nil, err
	}
	return &Checkpoint{Epoch: st.epoch, Stopped: st.stopped, File: f}, nil
}

// checkpointConfig returns the configuration a state file records, or, for
// checkpoints of earlier versions that did not record it, dir's
// config.json.
func checkpointConfig(dir, path string, meta map[string]string) (*File, error) {
	s, ok := meta[metaConfig]
	if !ok {
		return ReadConfig(dir)
	}
	var f File
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("trainer: %s: metadata %q: %w", path, metaConfig, err)
	}
	return &f, nil
}

// metaConfig is the state file's metadata key holding config.json's content.
const metaConfig = "config"

// writeCheckpoint writes the checkpoint of an epoch into dir: config.json
// and model.safetensors first, train_state.safetensors, the file that
// makes the checkpoint, last. Each is written atomically, so a kill at any
// moment leaves either the previous checkpoint (with possibly newer model
// files beside it, which resuming does not read) or the new one.
func writeCheckpoint(dir string, m *Model, cfg *TrainConfig, st *fitState, opt Optimizer, best map[string][]float32) error {
	if err := Save(dir, m, cfg); err != nil {
		return err
	}
	checkpointHook(ConfigFile)
	b, err := json.Marshal(File{Version: Version, Model: m.Config, Training: cfg})
	if err != nil {
		return fmt.Errorf("trainer: %w", err)
	}
	if err := st.save(filepath.Join(dir, StateFile), m, opt, best, string(b)); err != nil {
		return err
	}
	checkpointHook(StateFile)
	return nil
}

// checkpointHook is called after each file of a checkpoint; the kill tests
// set it to end the process there.
var checkpointHook = func(file string) {}
