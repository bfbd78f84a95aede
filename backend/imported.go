package backend

import (
	"fmt"
	"strings"

	"github.com/aebridge/aebridge/convert"
	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/trainer"
)

// Imported runs an ONNX file through aebridge's own Go forward pass, after
// convert has turned it into a trainer model.
type Imported struct {
	model *convert.Model
}

// OpenImported converts the ONNX file at path.
func OpenImported(path string) (*Imported, error) {
	m, err := convert.ReadFile(path, convert.Options{})
	if err != nil {
		return nil, err
	}
	return NewImported(m), nil
}

// NewImported wraps a model convert has imported.
func NewImported(m *convert.Model) *Imported { return &Imported{model: m} }

// Name is "go".
func (b *Imported) Name() string { return "go" }

// OutputNames are the graph's outputs.
func (b *Imported) OutputNames() []string { return b.model.Outputs }

// Run runs the Go forward pass.
func (b *Imported) Run(inputs []runtime.Tensor) (map[string]runtime.Tensor, error) {
	ts := make([]*trainer.Tensor, len(inputs))
	for i, in := range inputs {
		shape := make([]int, len(in.Shape))
		for j, d := range in.Shape {
			shape[j] = int(d)
		}
		ts[i] = &trainer.Tensor{Shape: shape, Data: in.Data}
	}
	outs, err := b.model.Run(ts...)
	if err != nil {
		return nil, err
	}
	res := map[string]runtime.Tensor{}
	for i, o := range outs {
		shape := make([]int64, len(o.Shape))
		for j, d := range o.Shape {
			shape[j] = int64(d)
		}
		res[b.model.Outputs[i]] = runtime.Tensor{Shape: shape, Data: o.Data}
	}
	return res, nil
}

// Close does nothing.
func (b *Imported) Close() error { return nil }

// OpenFile opens the backends named in names for an ONNX file: "ort" (ONNX
// Runtime), "go" (the file read into a graph and run by its executor,
// Graph), "onnx-go".
func OpenFile(path string, names []string, opts ...runtime.Option) ([]Backend, error) {
	var out []Backend
	for _, n := range names {
		var b Backend
		var err error
		switch n {
		case "ort":
			b, err = OpenORT(path, opts...)
		case "go":
			b, err = OpenGraph(path)
		case "onnx-go":
			b, err = OpenOnnxGo(path)
		default:
			err = fmt.Errorf("backend: unknown backend %q (want one of %s)", n, strings.Join(Names, ", "))
		}
		if err != nil {
			closeAll(out)
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
