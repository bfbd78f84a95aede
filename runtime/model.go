package runtime

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"unsafe"

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

	slot    []slot // where each output is in the session's fetches (shapeless.go)
	fetches int
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
	m.slot, m.fetches = slots(info)
	if o.provider == CUDA {
		m.session, err = m.newSession(path, lib, true)
		if err != nil && o.fallback {
			m.fallback = err
			m.provider = CPU
			m.session, err = m.newSession(path, lib, false)
		}
	} else {
		m.session, err = m.newSession(path, lib, false)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Model) newSession(path string, lib string, cuda bool) (*ort.DynamicAdvancedSession, error) {
	info, o := m.info, m.opts
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
	if shapeFetched(m.slot) {
		// ONNX Runtime's optimiser folds an added Shape node from the shape
		// its inference gives, which can differ from what the kernel
		// computes (Squeeze with an empty axes input: inferred unchanged,
		// run with every 1 removed); unoptimised, Shape reads the tensor.
		level = ort.GraphOptimizationLevelDisableAll
	}
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
	out := fetchNames(info, m.slot, m.fetches)
	var s *ort.DynamicAdvancedSession
	if wrapped(m.slot) {
		var data []byte
		if data, err = wrapOutputs(path, info, m.slot); err != nil {
			return nil, err
		}
		s, err = ort.NewDynamicAdvancedSessionWithONNXData(data, in, out, so)
	} else {
		s, err = ort.NewDynamicAdvancedSession(path, in, out, so)
	}
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
// Run feeds and returns float32 tensors only: a model with inputs or
// outputs of other element types runs with RunValues.
func (m *Model) Run(inputs ...Tensor) ([]Tensor, error) {
	if len(inputs) != len(m.info.Inputs) {
		return nil, fmt.Errorf("runtime: %s takes %d inputs (%s), given %d", m.info.Path, len(m.info.Inputs), ioNames(m.info.Inputs), len(inputs))
	}
	for i, t := range inputs {
		if err := check(m.info.Inputs[i], t, m.opts.checkFinite); err != nil {
			return nil, err
		}
	}
	for _, o := range m.info.Outputs {
		if o.Type != string(Float32) && o.Type != "unknown" { // an untyped one is checked once run
			return nil, fmt.Errorf("runtime: %s: output %q has element type %s; Run returns float32 tensors only: use RunValues", m.info.Path, o.Name, o.Type)
		}
	}
	values := make([]Value, len(inputs))
	for i, t := range inputs {
		values[i] = ValueOf(t)
	}
	out, err := m.runValues(values)
	if err != nil {
		return nil, err
	}
	return m.tensors(out)
}

// tensors is out as float32 tensors, for Run.
func (m *Model) tensors(out []Value) ([]Tensor, error) {
	res := make([]Tensor, len(out))
	for j, v := range out {
		t, err := v.Tensor()
		if err != nil { // the file declares float32, ONNX Runtime gave another type
			return nil, fmt.Errorf("runtime: %s: output %q: %w", m.info.Path, m.info.Outputs[j].Name, err)
		}
		res[j] = t
	}
	return res, nil
}

// RunValues runs the model as Run does, on inputs of any of the element
// types in DTypes, and returns its outputs in their own element types. Each
// input must have the element type the model declares for it: a float32
// value for an int64 input is an *InputError naming the input and both
// types, not a conversion. An output whose shape the file does not give
// (a scalar of rank 0 among them) comes back with the shape ONNX Runtime
// computed.
func (m *Model) RunValues(inputs ...Value) ([]Value, error) {
	if len(inputs) != len(m.info.Inputs) {
		return nil, fmt.Errorf("runtime: %s takes %d inputs (%s), given %d", m.info.Path, len(m.info.Inputs), ioNames(m.info.Inputs), len(inputs))
	}
	for i, v := range inputs {
		if err := checkValue(m.info.Inputs[i], v, m.opts.checkFinite); err != nil {
			return nil, err
		}
	}
	return m.runValues(inputs)
}

// runValues runs checked inputs, in batches of the WithBatchSize option.
func (m *Model) runValues(inputs []Value) ([]Value, error) {
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
	var parts [][]Value
	for lo := int64(0); lo < n; lo += int64(m.opts.batch) {
		hi := min(lo+int64(m.opts.batch), n)
		chunk := make([]Value, len(inputs))
		for i, v := range inputs {
			chunk[i] = sliceValue(v, lo, hi)
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
	ordered, err := m.ordered(slices.Collect(maps.Keys(inputs)))
	if err != nil {
		return nil, err
	}
	in := make([]Tensor, len(ordered))
	for i, name := range ordered {
		in[i] = inputs[name]
	}
	out, err := m.Run(in...)
	if err != nil {
		return nil, err
	}
	named := make(map[string]Tensor, len(out))
	for i, t := range out {
		named[m.info.Outputs[i].Name] = t
	}
	return named, nil
}

// RunNamedValues is RunValues with inputs and outputs by name, as RunNamed.
func (m *Model) RunNamedValues(inputs map[string]Value) (map[string]Value, error) {
	ordered, err := m.ordered(slices.Collect(maps.Keys(inputs)))
	if err != nil {
		return nil, err
	}
	in := make([]Value, len(ordered))
	for i, name := range ordered {
		in[i] = inputs[name]
	}
	out, err := m.RunValues(in...)
	if err != nil {
		return nil, err
	}
	named := make(map[string]Value, len(out))
	for i, v := range out {
		named[m.info.Outputs[i].Name] = v
	}
	return named, nil
}

// ordered checks that the inputs given by name are the model's, every one
// and no other, and returns the model's input names in order.
func (m *Model) ordered(given []string) ([]string, error) {
	names := make([]string, len(m.info.Inputs))
	for i, io := range m.info.Inputs {
		if !slices.Contains(given, io.Name) {
			return nil, &InputError{Input: io.Name, Reason: fmt.Sprintf("missing; the model's inputs are %s", ioNames(m.info.Inputs))}
		}
		names[i] = io.Name
	}
	slices.Sort(given)
	for _, name := range given {
		if !hasIO(m.info.Inputs, name) {
			return nil, &InputError{Input: name, Reason: fmt.Sprintf("the model has no such input; its inputs are %s", ioNames(m.info.Inputs))}
		}
	}
	return names, nil
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

func batchOf(inputs []Value) int64 {
	var n int64
	for _, v := range inputs {
		if len(v.Shape) > 0 && v.Shape[0] > n {
			n = v.Shape[0]
		}
	}
	return n
}

// join concatenates per-batch outputs along the first dimension.
func (m *Model) join(parts [][]Value) ([]Value, error) {
	out := make([]Value, len(parts[0]))
	for j := range out {
		first := parts[0][j]
		if len(first.Shape) == 0 {
			return nil, fmt.Errorf("runtime: output %q is a scalar; it cannot be joined across batches", m.info.Outputs[j].Name)
		}
		var n int64
		column := make([]Value, len(parts))
		for k, p := range parts {
			v := p[j]
			if len(v.Shape) != len(first.Shape) || !slices.Equal(v.Shape[1:], first.Shape[1:]) {
				return nil, fmt.Errorf("runtime: output %q has shape %s in one batch and %s in another; it cannot be joined", m.info.Outputs[j].Name, shapeString(first.Shape), shapeString(v.Shape))
			}
			n += v.Shape[0]
			column[k] = v
		}
		out[j] = Value{Shape: append([]int64{n}, first.Shape[1:]...), Data: concatValues(column)}
	}
	return out, nil
}

// destroy releases the ONNX Runtime values in vs. A failed run can leave a
// typed nil pointer in an output slot (onnxruntime_go's conversion of an
// output it cannot represent): that is skipped, not called.
func destroy(vs []ort.Value) {
	for _, v := range vs {
		if v != nil && !reflect.ValueOf(v).IsNil() {
			v.Destroy()
		}
	}
}

// newOrtValue wraps v's data, without copying, in an ONNX Runtime tensor.
func newOrtValue(v Value) (ort.Value, error) {
	shape := ort.Shape(v.Shape)
	if len(shape) == 0 {
		return nil, fmt.Errorf("a scalar (rank 0) cannot be fed: onnxruntime_go makes tensors of rank 1 or more; give shape [1] if the model accepts it")
	}
	switch d := v.Data.(type) {
	case []float32:
		return ort.NewTensor(shape, d)
	case []float64:
		return ort.NewTensor(shape, d)
	case []int64:
		return ort.NewTensor(shape, d)
	case []int32:
		return ort.NewTensor(shape, d)
	case []uint8:
		return ort.NewTensor(shape, d)
	case []bool:
		return ort.NewTensor(shape, d)
	case []Half:
		if len(d) == 0 {
			return nil, fmt.Errorf("an empty float16 tensor cannot be fed")
		}
		return ort.NewCustomDataTensor(shape, unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), 2*len(d)), ort.TensorElementDataTypeFloat16)
	}
	return nil, fmt.Errorf("element type %s", v.typeName())
}

// preallocate makes output storage of dtype for ONNX Runtime to write
// into, or false for a type it allocates itself (float16).
func preallocate(dtype string, shape []int64, n int64, scratch []float32) (ort.Value, Value, error) {
	var v ort.Value
	var data any
	var err error
	s := ort.Shape(shape)
	switch DType(dtype) {
	case Float32:
		d := scratch
		if d == nil {
			d = make([]float32, n)
		}
		data = d
		v, err = ort.NewTensor(s, d)
	case Float64:
		d := make([]float64, n)
		data = d
		v, err = ort.NewTensor(s, d)
	case Int64:
		d := make([]int64, n)
		data = d
		v, err = ort.NewTensor(s, d)
	case Int32:
		d := make([]int32, n)
		data = d
		v, err = ort.NewTensor(s, d)
	case Uint8:
		d := make([]uint8, n)
		data = d
		v, err = ort.NewTensor(s, d)
	case Bool:
		d := make([]bool, n)
		data = d
		v, err = ort.NewTensor(s, d)
	default:
		return nil, Value{}, nil
	}
	if err != nil {
		return nil, Value{}, err
	}
	return v, Value{Shape: shape, Data: data}, nil
}

// fromOrt copies an output ONNX Runtime allocated into a Value.
func fromOrt(v ort.Value) (Value, bool) {
	switch t := v.(type) {
	case *ort.Tensor[float32]:
		return Value{slices.Clone(t.GetShape()), slices.Clone(t.GetData())}, true
	case *ort.Tensor[float64]:
		return Value{slices.Clone(t.GetShape()), slices.Clone(t.GetData())}, true
	case *ort.Tensor[int64]:
		return Value{slices.Clone(t.GetShape()), slices.Clone(t.GetData())}, true
	case *ort.Tensor[int32]:
		return Value{slices.Clone(t.GetShape()), slices.Clone(t.GetData())}, true
	case *ort.Tensor[uint8]:
		return Value{slices.Clone(t.GetShape()), slices.Clone(t.GetData())}, true
	case *ort.Tensor[bool]:
		return Value{slices.Clone(t.GetShape()), slices.Clone(t.GetData())}, true
	case *ort.CustomDataTensor:
		if t.DataType() != ort.TensorElementDataTypeFloat16 {
			return Value{}, false
		}
		b := t.GetData()
		d := make([]Half, len(b)/2)
		for i := range d {
			d[i] = Half(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
		}
		return Value{slices.Clone(t.GetShape()), d}, true
	}
	return Value{}, false
}

// run makes one ONNX Runtime call. Each call has its own tensors, so calls
// may run concurrently on the shared session. With scratch, float32
// outputs' memory comes from the model's pool, for a caller that gives it
// back (release) once it has read them.
func (m *Model) run(inputs []Value, scratch bool) ([]Value, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.session == nil {
		return nil, fmt.Errorf("runtime: %s: %w", m.info.Path, errClosed)
	}
	in := make([]ort.Value, len(inputs))
	defer destroy(in)
	for i, v := range inputs {
		t, err := newOrtValue(v)
		if err != nil {
			return nil, fmt.Errorf("runtime: input %q: %w", m.info.Inputs[i].Name, err)
		}
		in[i] = t
	}
	out := make([]ort.Value, m.fetches)
	defer destroy(out)
	// Outputs whose shape the inputs determine are written by ONNX Runtime
	// straight into Go memory that the result then owns; the others are
	// allocated by ONNX Runtime and copied. An output the file gives no
	// shape is fetched flattened, with its shape beside it (see wrapOutputs).
	res := make([]Value, len(m.info.Outputs))
	for j := range m.info.Outputs {
		shape, ok := m.outputShape(j, inputs)
		if !ok || m.slot[j].shape >= 0 {
			continue
		}
		n, _ := elements(shape)
		typ := m.info.Outputs[j].Type
		if m.slot[j].half {
			typ = string(Float32)
		}
		var buf []float32
		if scratch && typ == string(Float32) {
			buf = m.buffer(int(n))
		}
		v, r, err := preallocate(typ, shape, n, buf)
		if err != nil {
			return nil, fmt.Errorf("runtime: output %q: %w", m.info.Outputs[j].Name, err)
		}
		out[m.slot[j].data], res[j] = v, r
	}
	if err := m.session.Run(in, out); err != nil {
		// A graph whose outputs do not have the shapes its description
		// promises: let ONNX Runtime allocate them.
		retry := false
		for j := range res {
			if k := m.slot[j].data; res[j].Data != nil {
				destroy(out[k : k+1])
				out[k], res[j], retry = nil, Value{}, true
			}
		}
		if !retry {
			return nil, fmt.Errorf("runtime: %s: run: %w", m.info.Path, err)
		}
		destroy(out) // what a failed run may have left in the other slots
		clear(out)
		if err := m.session.Run(in, out); err != nil {
			return nil, fmt.Errorf("runtime: %s: run: %w", m.info.Path, err)
		}
	}
	for j, o := range m.info.Outputs {
		if res[j].Data != nil {
			if m.slot[j].half {
				res[j].Data = convert(res[j].Data.([]float32), HalfOf)
			}
			continue
		}
		v, ok := fromOrt(out[m.slot[j].data])
		if ok && m.slot[j].half {
			f, isFloat := v.Data.([]float32)
			v.Data, ok = convert(f, HalfOf), isFloat
		}
		if !ok {
			return nil, fmt.Errorf("runtime: %s: output %q has element type %s; the runtime returns %v only", m.info.Path, o.Name, o.Type, DTypes)
		}
		if k := m.slot[j].shape; k >= 0 {
			s, ok := out[k].(*ort.Tensor[int64])
			if !ok || len(v.Shape) != 1 {
				return nil, fmt.Errorf("runtime: %s: output %q: ONNX Runtime gave no shape for it", m.info.Path, o.Name)
			}
			v.Shape = slices.Clone(s.GetData())
			if n, err := elements(v.Shape); err != nil || n != int64(v.Len()) {
				return nil, fmt.Errorf("runtime: %s: output %q: shape %s for %d values", m.info.Path, o.Name, shapeString(v.Shape), v.Len())
			}
		}
		res[j] = v
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

// release gives the float32 outputs of a scratch run back to the pool.
func (m *Model) release(out []Value) {
	for _, v := range out {
		if d, ok := v.Data.([]float32); ok && cap(d) > 0 {
			m.scratch.Put(&d)
		}
	}
}

// maxPrealloc is the most elements run allocates for an output from the
// shape the file declares for it (64 MiB of float32), unless the inputs
// hold as many: a declared shape is a claim that nothing in the file backs,
// so past this ONNX Runtime allocates the output it actually computes.
const maxPrealloc = 1 << 24

// outputShape returns output j's shape when the inputs determine it: an
// output of one of DTypes (float16 fetched as float32), whose dimensions are fixed, except perhaps a first one
// named like the first input's first dimension ("batch"), which takes that
// input's size; and whose element count is at most maxPrealloc or the
// inputs' element count, whichever is larger. Otherwise ONNX Runtime is left
// to allocate the output, so that a declared shape such as [10¹²] costs
// nothing.
func (m *Model) outputShape(j int, inputs []Value) ([]int64, bool) {
	o := m.info.Outputs[j]
	if !slices.Contains(DTypes, DType(o.Type)) || o.Type == string(Float16) && !m.slot[j].half || !o.HasShape || len(o.Shape) == 0 || len(inputs) == 0 || len(inputs[0].Shape) == 0 {
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
	for _, v := range inputs {
		given += int64(v.Len())
	}
	if n > max(maxPrealloc, given) {
		return nil, false
	}
	return shape, true
}
