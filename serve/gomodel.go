package serve

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/aebridge/aebridge/backend"
	"github.com/aebridge/aebridge/runtime"
)

// runner is what the service calls on a model: *runtime.Model (ONNX
// Runtime) or goModel (the pure-Go graph backend).
type runner interface {
	Info() *runtime.Info
	Run(inputs ...runtime.Tensor) ([]runtime.Tensor, error)
	Reconstruct(x runtime.Tensor, cond ...runtime.Tensor) (runtime.Tensor, error)
	Encode(x runtime.Tensor, cond ...runtime.Tensor) (runtime.Tensor, error)
	Decode(z runtime.Tensor, cond ...runtime.Tensor) (runtime.Tensor, error)
	Close() error
}

// goModel runs an ONNX file with the pure-Go graph backend
// (backend.Graph), described by runtime.Inspect. Encode and Decode of a
// full model run encoder.onnx and decoder.onnx beside it, opened with the
// graph backend on first use; without them they are errors.
type goModel struct {
	info *runtime.Info
	g    *backend.Graph

	mu    sync.Mutex
	parts map[string]*goModel // "encoder", "decoder": opened companions
}

// openGo reads the ONNX file at path into a graph.
func openGo(path string, info *runtime.Info) (*goModel, error) {
	g, err := backend.OpenGraph(path)
	if err != nil {
		return nil, err
	}
	return &goModel{info: info, g: g}, nil
}

func (m *goModel) Info() *runtime.Info { return m.info }

func (m *goModel) Close() error { return m.g.Close() }

// Run checks the inputs against the model's description, as runtime's Run
// does (an *runtime.InputError for a mismatch), and runs the graph; the
// outputs come in the model's output order.
func (m *goModel) Run(inputs ...runtime.Tensor) ([]runtime.Tensor, error) {
	if len(inputs) != len(m.info.Inputs) {
		return nil, fmt.Errorf("serve: %s takes %d inputs (%s), given %d", m.info.Path, len(m.info.Inputs), ioList(m.info.Inputs), len(inputs))
	}
	for i, t := range inputs {
		if err := checkTensor(m.info.Inputs[i], t); err != nil {
			return nil, err
		}
	}
	named, err := m.g.Run(inputs)
	if err != nil {
		return nil, err
	}
	out := make([]runtime.Tensor, len(m.info.Outputs))
	for j, o := range m.info.Outputs {
		t, ok := named[o.Name]
		if !ok {
			return nil, fmt.Errorf("serve: %s: the go backend gave no output %q", m.info.Path, o.Name)
		}
		out[j] = t
	}
	return out, nil
}

// checkTensor checks t against input io as runtime's Run does.
func checkTensor(io runtime.IO, t runtime.Tensor) error {
	fail := func(format string, args ...any) error {
		return &runtime.InputError{Input: io.Name, Want: io.ShapeString(), Given: t.Shape, Reason: fmt.Sprintf(format, args...)}
	}
	if io.Type != "float32" {
		return &runtime.InputError{Input: io.Name, Reason: fmt.Sprintf("element type is %s; this service feeds float32 tensors only", io.Type)}
	}
	n := int64(1)
	for _, d := range t.Shape {
		if d < 0 || (d > 0 && n > math.MaxInt64/d) {
			return fail("shape %v: negative or too many elements", t.Shape)
		}
		n *= d
	}
	if n != int64(len(t.Data)) {
		return fail("shape %v holds %d elements, but %d values were given", t.Shape, n, len(t.Data))
	}
	if len(t.Shape) > 0 && t.Shape[0] == 0 {
		return fail("empty batch")
	}
	if io.HasShape {
		if len(t.Shape) != len(io.Shape) {
			return fail("rank %d, want %d", len(t.Shape), len(io.Shape))
		}
		for i, d := range io.Shape {
			if d.Size >= 0 && t.Shape[i] != d.Size {
				return fail("dimension %d is %d, want %d", i, t.Shape[i], d.Size)
			}
		}
	}
	return nil
}

// feed returns x and the conditions, which must fill the model's inputs.
func (m *goModel) feed(x runtime.Tensor, cond []runtime.Tensor) ([]runtime.Tensor, error) {
	if want := len(m.info.Inputs) - 1; len(cond) != want {
		return nil, fmt.Errorf("serve: %s takes %d inputs (%s); given %d", m.info.Path, len(m.info.Inputs), ioList(m.info.Inputs), 1+len(cond))
	}
	return append([]runtime.Tensor{x}, cond...), nil
}

// Reconstruct runs a full model (or one that records no part): its first
// output, which must have x's shape. The go backend does not chain an
// encoder and a decoder.
func (m *goModel) Reconstruct(x runtime.Tensor, cond ...runtime.Tensor) (runtime.Tensor, error) {
	if p := m.info.Part(); p == "encoder" || p == "decoder" {
		return runtime.Tensor{}, fmt.Errorf("serve: %s is the %s graph; the go backend reconstructs with the full model only: serve the model directory or its %s", m.info.Path, p, runtime.FullFile)
	}
	in, err := m.feed(x, cond)
	if err != nil {
		return runtime.Tensor{}, err
	}
	out, err := m.Run(in...)
	if err != nil {
		return runtime.Tensor{}, err
	}
	if !slices.Equal(out[0].Shape, x.Shape) {
		return runtime.Tensor{}, fmt.Errorf("serve: %s: output %q has shape %v, input %q has %v; not an autoencoder's reconstruction", m.info.Path, m.info.Outputs[0].Name, out[0].Shape, m.info.Inputs[0].Name, x.Shape)
	}
	return out[0], nil
}

// codeOutput is the output that carries the code, as runtime's Encode
// picks it: "mu", else "z"; -1 when there is neither.
func codeOutput(info *runtime.Info) int {
	for _, name := range []string{"mu", "z"} {
		if k := slices.IndexFunc(info.Outputs, func(o runtime.IO) bool { return o.Name == name }); k >= 0 {
			return k
		}
	}
	return -1
}

// Encode returns the codes of x as runtime's Encode does: a full model
// without a code output runs encoder.onnx beside it.
func (m *goModel) Encode(x runtime.Tensor, cond ...runtime.Tensor) (runtime.Tensor, error) {
	k := codeOutput(m.info)
	switch m.info.Part() {
	case "decoder":
		return runtime.Tensor{}, fmt.Errorf("serve: %s is a decoder; encode needs the encoder or the full model", m.info.Path)
	case "full":
		if k < 0 {
			enc, err := m.companion("encoder")
			if err != nil {
				return runtime.Tensor{}, err
			}
			return enc.Encode(x, cond...)
		}
	}
	in, err := m.feed(x, cond)
	if err != nil {
		return runtime.Tensor{}, err
	}
	out, err := m.Run(in...)
	if err != nil {
		return runtime.Tensor{}, err
	}
	if k < 0 {
		if m.info.Part() == "" && slices.Equal(out[0].Shape, x.Shape) {
			return runtime.Tensor{}, fmt.Errorf("serve: %s gives output %q of the input's shape %v and no output \"mu\" or \"z\": it looks like a whole autoencoder, not an encoder; serve its encoder", m.info.Path, m.info.Outputs[0].Name, x.Shape)
		}
		k = 0
	}
	return out[k], nil
}

// Decode returns the decoder's first output for codes z as runtime's
// Decode does: a full model or an encoder runs decoder.onnx beside it.
func (m *goModel) Decode(z runtime.Tensor, cond ...runtime.Tensor) (runtime.Tensor, error) {
	if p := m.info.Part(); p == "full" || p == "encoder" {
		dec, err := m.companion("decoder")
		if err != nil {
			return runtime.Tensor{}, err
		}
		return dec.Decode(z, cond...)
	}
	if io := m.info.Inputs[0]; io.HasShape && len(io.Shape) > 2 && len(z.Shape) == 2 {
		// A flat code (batch, n) for a decoder whose code input has a
		// fixed shape of n elements per sample.
		dims, n := []int64{}, int64(1)
		for _, d := range io.Shape[1:] {
			if d.Size <= 0 {
				n = -1
				break
			}
			dims, n = append(dims, d.Size), n*d.Size
		}
		if n > 0 && z.Shape[1] == n {
			z = runtime.Tensor{Shape: append([]int64{z.Shape[0]}, dims...), Data: z.Data}
		}
	}
	in, err := m.feed(z, cond)
	if err != nil {
		return runtime.Tensor{}, err
	}
	out, err := m.Run(in...)
	if err != nil {
		return runtime.Tensor{}, err
	}
	return out[0], nil
}

// ErrNoPart is returned by encode and decode of a full model served by
// the go backend whose directory lacks encoder.onnx or decoder.onnx: the
// go backend runs the graphs exported beside model.onnx and cannot cut
// the full model itself.
var ErrNoPart = fmt.Errorf("serve: the go backend needs %s and %s beside %s to encode and decode", runtime.EncoderFile, runtime.DecoderFile, runtime.FullFile)

// companion returns the model's other part, the file beside it, read
// into a graph on first use. It must record that part and the same model
// configuration, and its weights must be the full model's, by name and
// bit for bit, as runtime checks its companions.
func (m *goModel) companion(part string) (*goModel, error) {
	file := map[string]string{"encoder": runtime.EncoderFile, "decoder": runtime.DecoderFile}[part]
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.parts[part]; ok {
		return p, nil
	}
	path := filepath.Join(filepath.Dir(m.info.Path), file)
	if !fileExists(path) {
		return nil, fmt.Errorf("%w: %s is missing", ErrNoPart, path)
	}
	info, err := runtime.Inspect(path)
	if err != nil {
		return nil, err
	}
	if info.Part() != part || info.Metadata[runtime.ModelKey] == "" || info.Metadata[runtime.ModelKey] != m.info.Metadata[runtime.ModelKey] {
		return nil, fmt.Errorf("serve: %s is not the %s of %s: it records part %q and another model configuration; export them together", path, part, m.info.Path, info.Metadata[runtime.PartKey])
	}
	full := m.info.Path
	if m.info.Part() != "full" {
		full = filepath.Join(filepath.Dir(m.info.Path), runtime.FullFile)
	}
	if fileExists(full) {
		if err := runtime.SameWeights(full, path); err != nil {
			return nil, err
		}
	}
	p, err := openGo(path, info)
	if err != nil {
		return nil, err
	}
	if m.parts == nil {
		m.parts = map[string]*goModel{}
	}
	m.parts[part] = p
	return p, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func equalBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
