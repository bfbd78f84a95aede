package runtime

import (
	"fmt"
	"math"
	"strings"
)

// Tensor is a float32 tensor: a shape and its values in row-major order.
type Tensor struct {
	Shape []int64
	Data  []float32
}

// NewTensor returns a tensor of the given shape backed by data. It returns
// an error if the shape's element count is not len(data).
func NewTensor(data []float32, shape ...int64) (Tensor, error) {
	n, err := elements(shape)
	if err != nil {
		return Tensor{}, err
	}
	if n != int64(len(data)) {
		return Tensor{}, fmt.Errorf("runtime: shape %v holds %d elements, data has %d", shape, n, len(data))
	}
	return Tensor{Shape: shape, Data: data}, nil
}

func elements(shape []int64) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("runtime: negative dimension %d in shape %v", d, shape)
		}
		if d > 0 && n > math.MaxInt64/d {
			return 0, fmt.Errorf("runtime: shape %v is too large", shape)
		}
		n *= d
	}
	return n, nil
}

// InputError reports an input that does not fit the model, found before
// ONNX Runtime is called.
type InputError struct {
	Input  string  // the model's input name
	Want   string  // the model's shape for it, such as "[batch 784]"
	Given  []int64 // the shape given
	Reason string
}

func (e *InputError) Error() string {
	s := fmt.Sprintf("runtime: input %q: %s", e.Input, e.Reason)
	if e.Want != "" {
		s += fmt.Sprintf(" (model expects %s, given %s)", e.Want, shapeString(e.Given))
	}
	return s
}

func shapeString(s []int64) string {
	p := make([]string, len(s))
	for i, d := range s {
		p[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(p, " ") + "]"
}

// check validates t against the model's description of input io.
func check(io IO, t Tensor, finite bool) error {
	fail := func(format string, args ...any) error {
		return &InputError{Input: io.Name, Want: io.ShapeString(), Given: t.Shape, Reason: fmt.Sprintf(format, args...)}
	}
	if io.Type != "float32" {
		return &InputError{Input: io.Name, Reason: fmt.Sprintf("element type is %s; this runtime feeds float32 tensors only", io.Type)}
	}
	n, err := elements(t.Shape)
	if err != nil {
		return fail("%v", err)
	}
	if n != int64(len(t.Data)) {
		return fail("shape %s holds %d elements, but %d values were given", shapeString(t.Shape), n, len(t.Data))
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
	if finite {
		for i, v := range t.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fail("element %d is %v", i, v)
			}
		}
	}
	return nil
}
