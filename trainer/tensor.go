package trainer

import (
	"fmt"
	"slices"

	"gonum.org/v1/gonum/blas/blas32"
)

// ErrShape is the value of the panics trainer functions raise when the
// shapes of their arguments do not fit: a bug in the calling code, not bad
// input (input from files is checked and returned as errors before it gets
// here).
var ErrShape = shapeError("trainer: dimension mismatch")

type shapeError string

func (e shapeError) Error() string { return string(e) }

// Tensor is a float32 array in row-major order. Layers see it as a matrix of
// (batch, features) where features is the product of the dimensions after
// the first.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewTensor returns a zero tensor of the given shape.
func NewTensor(shape ...int) *Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// Len is the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Rows is the first dimension (the batch).
func (t *Tensor) Rows() int { return t.Shape[0] }

// Cols is the number of elements per row: the product of the dimensions
// after the first.
func (t *Tensor) Cols() int {
	n := 1
	for _, d := range t.Shape[1:] {
		n *= d
	}
	return n
}

// Resize sets t's shape, reusing its storage when it is large enough. The
// contents are unspecified afterwards.
func (t *Tensor) Resize(shape ...int) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	t.Shape = append(t.Shape[:0], shape...)
	if cap(t.Data) >= n {
		t.Data = t.Data[:n]
	} else {
		t.Data = make([]float32, n)
	}
}

// Zero sets every element to 0.
func (t *Tensor) Zero() { clear(t.Data) }

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// matrix views t as a (Rows, Cols) matrix for blas32.
func (t *Tensor) matrix() blas32.General {
	r, c := t.Rows(), t.Cols()
	return blas32.General{Rows: r, Cols: c, Stride: c, Data: t.Data}
}

// sameShape panics with ErrShape unless a and b have the same shape.
func sameShape(a, b *Tensor) {
	if len(a.Shape) != len(b.Shape) {
		panic(ErrShape)
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			panic(ErrShape)
		}
	}
}

func (t *Tensor) String() string { return fmt.Sprintf("Tensor%v", t.Shape) }

// shapeCache remembers a layer's batch output shape, (N, per-sample
// shape), for the last input shape, so that a training loop in steady state
// allocates no shapes.
type shapeCache struct{ in, out []int }

// get returns the batch output shape for input shape in, with outShape
// giving the per-sample output shape of a per-sample input shape.
func (s *shapeCache) get(in []int, outShape func([]int) []int) []int {
	if !slices.Equal(s.in, in) || len(s.out) == 0 {
		s.in = append(s.in[:0], in...)
		s.out = append(append(s.out[:0], in[0]), outShape(in[1:])...)
	}
	return s.out
}
