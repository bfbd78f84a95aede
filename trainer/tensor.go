package trainer

import (
	"slices"

	"github.com/aebridge/aebridge/graph"
)

// ErrShape is the value of the panics trainer functions raise when the
// shapes of their arguments do not fit: a bug in the calling code, not bad
// input (input from files is checked and returned as errors before it gets
// here).
var ErrShape = shapeError("trainer: dimension mismatch")

type shapeError string

func (e shapeError) Error() string { return string(e) }

// Tensor is the graph's tensor: a float32 array in row-major order. Layers
// see it as a matrix of (batch, features) where features is the product of
// the dimensions after the first (Rows, Cols).
type Tensor = graph.Tensor

// NewTensor returns a zero tensor of the given shape.
func NewTensor(shape ...int) *Tensor { return graph.NewTensor(shape...) }

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
