package runtime

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/aebridge/aebridge/internal/limits"
	ort "github.com/yalue/onnxruntime_go"
)

// Provider names an execution provider.
type Provider string

// The execution providers Open knows.
const (
	CPU  Provider = "cpu"
	CUDA Provider = "cuda"
)

// Optimization is ONNX Runtime's graph optimisation level.
type Optimization int

// The graph optimisation levels, from none to all (the default).
const (
	OptimizeAll Optimization = iota
	OptimizeNone
	OptimizeBasic
	OptimizeExtended
)

type options struct {
	library     string
	threads     int
	opt         Optimization
	provider    Provider
	device      int
	fallback    bool
	batch       int
	checkFinite bool
}

// Option configures Open.
type Option func(*options)

// WithLibrary names the ONNX Runtime shared library to load (see
// FindLibrary for where it is looked for otherwise). The library is loaded
// once per process.
func WithLibrary(path string) Option { return func(o *options) { o.library = path } }

// WithThreads sets the number of threads ONNX Runtime uses inside one
// operator; 0 leaves ONNX Runtime's default (one per core).
func WithThreads(n int) Option { return func(o *options) { o.threads = n } }

// WithOptimization sets the graph optimisation level (default OptimizeAll).
func WithOptimization(level Optimization) Option { return func(o *options) { o.opt = level } }

// WithProvider picks the execution provider (default CPU).
func WithProvider(p Provider) Option { return func(o *options) { o.provider = p } }

// WithCUDA asks for the CUDA execution provider on the given device.
func WithCUDA(device int) Option {
	return func(o *options) { o.provider, o.device = CUDA, device }
}

// WithCPUFallback lets Open fall back to the CPU when the requested provider
// is unavailable; Model.Fallback then says why.
func WithCPUFallback() Option { return func(o *options) { o.fallback = true } }

// WithBatchSize makes Run split inputs whose batch (first) dimension exceeds
// n into runs of at most n samples and join the outputs; the result is the
// same as one run. 0 means no limit.
func WithBatchSize(n int) Option { return func(o *options) { o.batch = n } }

// WithFiniteCheck makes Run refuse inputs holding NaN or ±Inf.
func WithFiniteCheck() Option { return func(o *options) { o.checkFinite = true } }

// Model is an ONNX model opened in ONNX Runtime. Its methods may be called
// from many goroutines at once.
type Model struct {
	info     *Info
	opts     options
	provider Provider
	fallback error

	mu      sync.RWMutex // held for reading by runs, for writing by Close
	session *ort.DynamicAdvancedSession
	scratch sync.Pool // *[]float32 outputs that Score reads and drops

	partsMu sync.Mutex
	parts   map[string]*Model // companion encoder and decoder, opened on first use (see Encode)
}

// Open loads the ONNX model at path (with any external data beside it) into
// ONNX Runtime.
func Open(path string, opts ...Option) (*Model, error) {
	o := options{provider: CPU}
	for _, fn := range opts {
		fn(&o)
	}
	return openModel(path, o)
}

func openModel(path string, o options) (*Model, error) {
	if o.provider != CPU && o.provider != CUDA {
		return nil, fmt.Errorf("runtime: unknown execution provider %q (want cpu or cuda)", o.provider)
	}
	if o.threads < 0 || o.batch < 0 {
		return nil, fmt.Errorf("runtime: threads (%d) and batch size (%d) must not be negative", o.threads, o.batch)
	}
	info, err := Inspect(path)
	if err != nil {
		return nil, err
	}
	if len(info.Inputs) == 0 || len(info.Outputs) == 0 {
		return nil, fmt.Errorf("runtime: %s: model has %d inputs and %d outputs; need at least one of each", path, len(info.Inputs), len(info.Outputs))
	}
	lib, err := start(o.library)
	if err != nil {
		return nil, err
	}
	m := &Model{info: info, opts: o, provider: o.provider}
	if o.provider == CUDA {
		m.session, err = newSession(path, info, o, lib, true)
		if err != nil && o.fallback {
			m.fallback = err
			m.provider = CPU
			m.session, err = newSession(path, info, o, lib, false)
		}
	} else {
		m.session, err = newSession(path, info, o, lib, false)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

func newSession(path string, info *Info, o options, lib string, cuda bool) (*ort.DynamicAdvancedSession, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("runtime: session options: %w", err)
	}
	defer so.Destroy()
	if o.threads > 0 {
		if err := so.SetIntraOpNumThreads(o.threads); err != nil {
			return nil, fmt.Errorf("runtime: set %d threads: %w", o.threads, err)
		}
		if err := so.SetInterOpNumThreads(1); err != nil {
			return nil, fmt.Errorf("runtime: set inter-op threads: %w", err)
		}
	}
	level := map[Optimization]ort.GraphOptimizationLevel{
		OptimizeAll: ort.GraphOptimizationLevelEnableAll, OptimizeNone: ort.GraphOptimizationLevelDisableAll,
		OptimizeBasic: ort.GraphOptimizationLevelEnableBasic, OptimizeExtended: ort.GraphOptimizationLevelEnableExtended,
	}[o.opt]
	if err := so.SetGraphOptimizationLevel(level); err != nil {
		return nil, fmt.Errorf("runtime: set optimisation level: %w", err)
	}
	if cuda {
		if err := appendCUDA(so, lib, o.device); err != nil {
			return nil, err
		}
	}
	in := make([]string, len(info.Inputs))
	for i, io := range info.Inputs {
		in[i] = io.Name
	}
	out := make([]string, len(info.Outputs))
	for i, io := range info.Outputs {
		out[i] = io.Name
	}
	s, err := ort.NewDynamicAdvancedSession(path, in, out, so)
	if err != nil {
		if cuda {
			return nil, fmt.Errorf("runtime: %s: start a CUDA session on device %d: %w: %v", path, o.device, ErrNoCUDA, err)
		}
		return nil, fmt.Errorf("runtime: %s: ONNX Runtime cannot load the model: %w", path, err)
	}
	return s, nil
}

// Info describes the model, as Inspect does.
func (m *Model) Info() *Info { return m.info }

// Provider is the execution provider the model runs on.
func (m *Model) Provider() Provider { return m.provider }

// Fallback is non-nil when another provider was requested, could not be
// used, and the model fell back to the CPU: it says why.
func (m *Model) Fallback() error { return m.fallback }

// Close releases the ONNX Runtime session, and those of the companion
// encoder and decoder it opened. Runs in progress finish first; later runs
// return an error.
func (m *Model) Close() error {
	m.partsMu.Lock()
	var errs []error
	for _, p := range m.parts {
		errs = append(errs, p.Close())
	}
	m.parts = nil
	m.partsMu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.session == nil {
		return errors.Join(errs...)
	}
	err := m.session.Destroy()
	m.session = nil
	if err != nil {
		errs = append(errs, fmt.Errorf("runtime: close %s: %w", m.info.Path, err))
	}
	return errors.Join(errs...)
}

// errClosed is returned by runs on a closed model.
var errClosed = errors.New("model is closed")

// Run runs the model on inputs given in the model's input order and returns
// its outputs in the model's output order. Inputs are checked against the
// model's description first (count, element type, rank, fixed dimensions,
// element count; NaN and ±Inf with WithFiniteCheck); a mismatch gives an
// *InputError. Input data is not modified, nor retained after Run returns.
func (m *Model) Run(inputs ...Tensor) ([]Tensor, error) {
	if len(inputs) != len(m.info.Inputs) {
		return nil, fmt.Errorf("runtime: %s takes %d inputs (%s), given %d", m.info.Path, len(m.info.Inputs), ioNames(m.info.Inputs), len(inputs))
	}
	for i, t := range inputs {
		if err := check(m.info.Inputs[i], t, m.opts.checkFinite); err != nil {
			return nil, err
		}
	}
	n := batchOf(inputs)
	if m.opts.batch == 0 || n <= int64(m.opts.batch) {
		return m.run(inputs, false)
	}
	for i, io := range m.info.Inputs {
		if io.HasShape && io.Shape[0].Size >= 0 {
			return nil, fmt.Errorf("runtime: cannot run in batches of %d: input %q has a fixed first dimension %d", m.opts.batch, io.Name, io.Shape[0].Size)
		}
		if len(inputs[i].Shape) == 0 || inputs[i].Shape[0] != n {
			return nil, fmt.Errorf("runtime: cannot run in batches of %d: input %q has shape %s, not a batch of %d", m.opts.batch, io.Name, shapeString(inputs[i].Shape), n)
		}
	}
	var parts [][]Tensor
	for lo := int64(0); lo < n; lo += int64(m.opts.batch) {
		hi := min(lo+int64(m.opts.batch), n)
		chunk := make([]Tensor, len(inputs))
		for i, t := range inputs {
			chunk[i] = sliceBatch(t, lo, hi)
		}
		out, err := m.run(chunk, false)
		if err != nil {
			return nil, err
		}
		parts = append(parts, out)
	}
	return m.join(parts)
}

// RunNamed runs the model on inputs given by name and returns its outputs by
// name. Every input must be given, and no other.
func (m *Model) RunNamed(inputs map[string]Tensor) (map[string]Tensor, error) {
	ordered := make([]Tensor, len(m.info.Inputs))
	for i, io := range m.info.Inputs {
		t, ok := inputs[io.Name]
		if !ok {
			return nil, &InputError{Input: io.Name, Reason: fmt.Sprintf("missing; the model's inputs are %s", ioNames(m.info.Inputs))}
		}
		ordered[i] = t
	}
	if len(inputs) != len(ordered) {
		for name := range inputs {
			if !hasIO(m.info.Inputs, name) {
				return nil, &InputError{Input: name, Reason: fmt.Sprintf("the model has no such input; its inputs are %s", ioNames(m.info.Inputs))}
			}
		}
	}
	out, err := m.Run(ordered...)
	if err != nil {
		return nil, err
	}
	named := make(map[string]Tensor, len(out))
	for i, t := range out {
		named[m.info.Outputs[i].Name] = t
	}
	return named, nil
}

func hasIO(ios []IO, name string) bool {
	for _, io := range ios {
		if io.Name == name {
			return true
		}
	}
	return false
}

func ioNames(ios []IO) string {
	s := ""
	for i, io := range ios {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q %s", io.Name, io.ShapeString())
	}
	return s
}

func batchOf(inputs []Tensor) int64 {
	var n int64
	for _, t := range inputs {
		if len(t.Shape) > 0 && t.Shape[0] > n {
			n = t.Shape[0]
		}
	}
	return n
}

// sliceBatch returns samples [lo, hi) of t, sharing t's data.
func sliceBatch(t Tensor, lo, hi int64) Tensor {
	per := int64(len(t.Data)) / t.Shape[0]
	shape := append([]int64{hi - lo}, t.Shape[1:]...)
	return Tensor{Shape: shape, Data: t.Data[lo*per : hi*per]}
}

// join concatenates per-batch outputs along the first dimension.
func (m *Model) join(parts [][]Tensor) ([]Tensor, error) {
	out := make([]Tensor, len(parts[0]))
	for j := range out {
		first := parts[0][j]
		if len(first.Shape) == 0 {
			return nil, fmt.Errorf("runtime: output %q is a scalar; it cannot be joined across batches", m.info.Outputs[j].Name)
		}
		var n int64
		total := 0
		for _, p := range parts {
			t := p[j]
			if len(t.Shape) != len(first.Shape) || !slices.Equal(t.Shape[1:], first.Shape[1:]) {
				return nil, fmt.Errorf("runtime: output %q has shape %s in one batch and %s in another; it cannot be joined", m.info.Outputs[j].Name, shapeString(first.Shape), shapeString(t.Shape))
			}
			n += t.Shape[0]
			total += len(t.Data)
		}
		data := make([]float32, 0, total)
		for _, p := range parts {
			data = append(data, p[j].Data...)
		}
		out[j] = Tensor{Shape: append([]int64{n}, first.Shape[1:]...), Data: data}
	}
	return out, nil
}

// run makes one ONNX Runtime call. Each call has its own tensors, so calls
// may run concurrently on the shared session. With scratch, the outputs'
// memory comes from the model's pool, for a caller that gives it back
// (release) once it has read them.
func (m *Model) run(inputs []Tensor, scratch bool) ([]Tensor, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.session == nil {
		return nil, fmt.Errorf("runtime: %s: %w", m.info.Path, errClosed)
	}
	in := make([]ort.Value, len(inputs))
	defer func() {
		for _, v := range in {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, t := range inputs {
		v, err := ort.NewTensor(ort.Shape(t.Shape), t.Data)
		if err != nil {
			return nil, fmt.Errorf("runtime: input %q: %w", m.info.Inputs[i].Name, err)
		}
		in[i] = v
	}
	out := make([]ort.Value, len(m.info.Outputs))
	defer func() {
		for _, v := range out {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	// Outputs whose shape the inputs determine are written by ONNX Runtime
	// straight into Go memory that the result then owns; the others are
	// allocated by ONNX Runtime and copied.
	res := make([]Tensor, len(out))
	for j := range out {
		shape, ok := m.outputShape(j, inputs)
		if !ok {
			continue
		}
		n, _ := elements(shape)
		var data []float32
		if scratch {
			data = m.buffer(int(n))
		} else {
			data = make([]float32, n)
		}
		v, err := ort.NewTensor(ort.Shape(shape), data)
		if err != nil {
			return nil, fmt.Errorf("runtime: output %q: %w", m.info.Outputs[j].Name, err)
		}
		out[j] = v
		res[j] = Tensor{Shape: shape, Data: data}
	}
	if err := m.session.Run(in, out); err != nil {
		// A graph whose outputs do not have the shapes its description
		// promises: let ONNX Runtime allocate them.
		retry := false
		for j, v := range out {
			if v != nil {
				v.Destroy()
				out[j], res[j], retry = nil, Tensor{}, true
			}
		}
		if !retry {
			return nil, fmt.Errorf("runtime: %s: run: %w", m.info.Path, err)
		}
		if err := m.session.Run(in, out); err != nil {
			return nil, fmt.Errorf("runtime: %s: run: %w", m.info.Path, err)
		}
	}
	for j, v := range out {
		if res[j].Data != nil {
			continue
		}
		t, ok := v.(*ort.Tensor[float32])
		if !ok {
			return nil, fmt.Errorf("runtime: output %q has element type %s; this runtime returns float32 tensors only", m.info.Outputs[j].Name, m.info.Outputs[j].Type)
		}
		res[j] = Tensor{Shape: append([]int64(nil), t.GetShape()...), Data: append([]float32(nil), t.GetData()...)}
	}
	return res, nil
}

// buffer returns n float32s from the model's pool, or new ones.
func (m *Model) buffer(n int) []float32 {
	if p, ok := m.scratch.Get().(*[]float32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float32, n)
}

// release gives the outputs of a scratch run back to the pool.
func (m *Model) release(out []Tensor) {
	for _, t := range out {
		if cap(t.Data) > 0 {
			d := t.Data
			m.scratch.Put(&d)
		}
	}
}

// maxPrealloc is the most elements run allocates for an output from the
// shape the file declares for it (64 MiB of float32), unless the inputs
// hold as many: a declared shape is a claim that nothing in the file backs,
// so past this ONNX Runtime allocates the output it actually computes.
const maxPrealloc = 1 << 24

// outputShape returns output j's shape when the inputs determine it: a
// float32 output whose dimensions are fixed, except perhaps a first one
// named like the first input's first dimension ("batch"), which takes that
// input's size; and whose element count is at most maxPrealloc or the
// inputs' element count, whichever is larger. Otherwise ONNX Runtime is left
// to allocate the output, so that a declared shape such as [10¹²] costs
// nothing.
func (m *Model) outputShape(j int, inputs []Tensor) ([]int64, bool) {
	o := m.info.Outputs[j]
	if o.Type != "float32" || !o.HasShape || len(o.Shape) == 0 || len(inputs) == 0 || len(inputs[0].Shape) == 0 {
		return nil, false
	}
	in := m.info.Inputs[0]
	shape := make([]int64, len(o.Shape))
	for i, d := range o.Shape {
		switch {
		case d.Size > 0:
			shape[i] = d.Size
		case i == 0 && d.Name != "" && in.HasShape && len(in.Shape) > 0 && in.Shape[0].Size < 0 && in.Shape[0].Name == d.Name:
			shape[i] = inputs[0].Shape[0]
		default:
			return nil, false
		}
	}
	n, err := limits.Elements(shape)
	if err != nil {
		return nil, false
	}
	var given int64
	for _, t := range inputs {
		given += int64(len(t.Data))
	}
	if n > max(maxPrealloc, given) {
		return nil, false
	}
	return shape, true
}
