package runtime

import (
	"fmt"
	"math"
	"slices"
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

// check validates t against the model's description of input io, for Run:
// an input of another element type than float32 is for RunValues.
func check(io IO, t Tensor, finite bool) error {
	if io.Type != string(Float32) {
		return &InputError{Input: io.Name, Reason: fmt.Sprintf("element type is %s; Run feeds float32 tensors only: use RunValues", io.Type)}
	}
	return checkValue(io, ValueOf(t), finite)
}

// checkValue validates v against the model's description of input io.
func checkValue(io IO, v Value, finite bool) error {
	fail := func(format string, args ...any) error {
		return &InputError{Input: io.Name, Want: io.ShapeString(), Given: v.Shape, Reason: fmt.Sprintf(format, args...)}
	}
	if !slices.Contains(DTypes, DType(io.Type)) {
		return &InputError{Input: io.Name, Reason: fmt.Sprintf("element type is %s; the runtime feeds %v only", io.Type, DTypes)}
	}
	if got := v.DType(); got != DType(io.Type) {
		return fail("element type %s given, the model wants %s", v.typeName(), io.Type)
	}
	n, err := elements(v.Shape)
	if err != nil {
		return fail("%v", err)
	}
	if n != int64(v.Len()) {
		return fail("shape %s holds %d elements, but %d values were given", shapeString(v.Shape), n, v.Len())
	}
	if len(v.Shape) > 0 && v.Shape[0] == 0 {
		return fail("empty batch")
	}
	if io.HasShape {
		if len(v.Shape) != len(io.Shape) {
			return fail("rank %d, want %d", len(v.Shape), len(io.Shape))
		}
		for i, d := range io.Shape {
			if d.Size >= 0 && v.Shape[i] != d.Size {
				return fail("dimension %d is %d, want %d", i, v.Shape[i], d.Size)
			}
		}
	}
	if finite {
		if i, x, ok := firstNonFinite(v); ok {
			return fail("element %d is %v", i, x)
		}
	}
	return nil
}

// firstNonFinite finds the first NaN or ±Inf of a floating-point value.
func firstNonFinite(v Value) (int, float64, bool) {
	bad := func(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }
	switch d := v.Data.(type) {
	case []float32:
		for i, x := range d {
			if bad(float64(x)) {
				return i, float64(x), true
			}
		}
	case []float64:
		for i, x := range d {
			if bad(x) {
				return i, x, true
			}
		}
	case []Half:
		for i, x := range d {
			if x&0x7c00 == 0x7c00 {
				return i, float64(x.Float32()), true
			}
		}
	}
	return 0, 0, false
}
