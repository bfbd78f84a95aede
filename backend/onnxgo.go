//go:build onnxgo

package backend

import (
	"fmt"
	"os"

	"github.com/owulveryck/onnx-go"
	"github.com/owulveryck/onnx-go/backend/x/gorgonnx"
	"gorgonia.org/tensor"

	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/runtime"
)

// OnnxGoBuilt reports whether this binary has the onnx-go backend (the
// onnxgo build tag).
const OnnxGoBuilt = true

// OnnxGo runs an ONNX file through onnx-go, the pure-Go interpreter
// (github.com/owulveryck/onnx-go with its gorgonia backend). It runs a
// subset of the operators: MLP graphs and simple conv graphs, not
// ConvTranspose, Resize or Upsample.
type OnnxGo struct {
	data    []byte
	path    string
	outputs []string
}

// OpenOnnxGo reads the ONNX file at path and checks that onnx-go can load
// it.
func OpenOnnxGo(path string) (*OnnxGo, error) {
	// onnx-go allocates every tensor from its dims: check them against the
	// bytes present first (LoadStructure also refuses a model that is not
	// a regular file, which would block os.ReadFile).
	mp, err := onnxfile.LoadStructure(path)
	if err != nil {
		return nil, err
	}
	var terr error
	onnxfile.Tensors(mp, func(t *onnxpb.TensorProto) {
		if terr == nil && t.GetDataLocation() != onnxpb.TensorProto_EXTERNAL {
			if err := onnxfile.Check(t); err != nil {
				terr = fmt.Errorf("backend: onnx-go cannot read %s: %w", path, err)
			}
		}
	})
	if terr != nil {
		return nil, terr
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	info, err := runtime.Inspect(path)
	if err != nil {
		return nil, err
	}
	if len(info.ExternalData) > 0 {
		return nil, fmt.Errorf("backend: onnx-go cannot read %s: its weights are in external data files", path)
	}
	b := &OnnxGo{data: data, path: path}
	for _, o := range info.Outputs {
		b.outputs = append(b.outputs, o.Name)
	}
	if _, _, err := b.load(); err != nil {
		return nil, err
	}
	return b, nil
}

// load builds a fresh onnx-go graph: onnx-go's Gemm changes its bias in
// place between runs (its issue #202), so every run gets its own.
func (b *OnnxGo) load() (m *onnx.Model, g *gorgonnx.Graph, err error) {
	defer func() {
		if r := recover(); r != nil { // onnx-go panics on some graphs it cannot read
			m, g, err = nil, nil, fmt.Errorf("backend: onnx-go cannot read %s: %v", b.path, r)
		}
	}()
	backend := gorgonnx.NewGraph()
	m = onnx.NewModel(backend)
	if err := m.UnmarshalBinary(b.data); err != nil {
		return nil, nil, fmt.Errorf("backend: onnx-go cannot run %s: %v", b.path, err)
	}
	return m, backend, nil
}

// Name is "onnx-go".
func (b *OnnxGo) Name() string { return "onnx-go" }

// OutputNames are the graph's outputs.
func (b *OnnxGo) OutputNames() []string { return b.outputs }

// Run runs the graph on the inputs, in the graph's input order.
func (b *OnnxGo) Run(inputs []runtime.Tensor) (out map[string]runtime.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil { // onnx-go panics on some unsupported graphs
			err = fmt.Errorf("backend: onnx-go failed on %s: %v", b.path, r)
		}
	}()
	m, backend, err := b.load()
	if err != nil {
		return nil, err
	}
	for i, in := range inputs {
		shape := make([]int, len(in.Shape))
		for j, d := range in.Shape {
			shape[j] = int(d)
		}
		if err := m.SetInput(i, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), in.Data...)))); err != nil {
			return nil, fmt.Errorf("backend: onnx-go input %d: %v", i, err)
		}
	}
	if err := backend.Run(); err != nil {
		return nil, fmt.Errorf("backend: onnx-go cannot run %s: %v", b.path, err)
	}
	outs, err := m.GetOutputTensors()
	if err != nil {
		return nil, fmt.Errorf("backend: onnx-go outputs: %v", err)
	}
	out = map[string]runtime.Tensor{}
	for i, o := range outs {
		data, ok := o.Data().([]float32)
		if !ok {
			return nil, fmt.Errorf("backend: onnx-go output %d is %T, not float32", i, o.Data())
		}
		shape := make([]int64, len(o.Shape()))
		for j, d := range o.Shape() {
			shape[j] = int64(d)
		}
		if i < len(b.outputs) {
			out[b.outputs[i]] = runtime.Tensor{Shape: shape, Data: append([]float32(nil), data...)}
		}
	}
	return out, nil
}

// Close does nothing.
func (b *OnnxGo) Close() error { return nil }
