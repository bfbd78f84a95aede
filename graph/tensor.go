package graph

import (
	"fmt"

	"gonum.org/v1/gonum/blas/blas32"
)

// Tensor is a tensor of float32 or int64 values: a shape, and its values
// in row-major order in Data (Float32) or Int64 (Int64), the other field
// nil. A shape of no dimensions is a scalar of one value. Int64 tensors
// hold what ONNX keeps as integers: shapes, axes and indices.
type Tensor struct {
	Shape []int
	Type  DType
	Data  []float32
	Int64 []int64
}

// DType is a tensor's element type.
type DType uint8

// The element types.
const (
	Float32 DType = iota
	Int64
)

func (t DType) String() string {
	switch t {
	case Float32:
		return "float32"
	case Int64:
		return "int64"
	}
	return fmt.Sprintf("DType(%d)", uint8(t))
}

// NewInt64Tensor returns an int64 tensor of the shape holding the values;
// it panics with ErrShape if their number is not the shape's.
func NewInt64Tensor(values []int64, shape ...int) *Tensor {
	if len(values) != elements(shape) {
		panic(ErrShape)
	}
	return &Tensor{Shape: append([]int(nil), shape...), Type: Int64, Int64: append([]int64{}, values...)}
}

// Len is the number of elements, the product of the shape.
func (t *Tensor) Len() int {
	if t.Type == Int64 {
		return len(t.Int64)
	}
	return len(t.Data)
}

// NewTensor returns a zero tensor of the given shape.
func NewTensor(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, elements(shape))}
}

// Resize gives t the shape, reusing its data where it is large enough (the
// values are then not cleared) and allocating otherwise.
func (t *Tensor) Resize(shape ...int) {
	n := elements(shape)
	if cap(t.Data) < n {
		t.Data = make([]float32, n)
	}
	t.Data = t.Data[:n]
	t.Shape = append(t.Shape[:0], shape...)
}

// elements is the product of the shape (1 for a scalar).
func elements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// checkLen panics with ErrShape unless each t is a float32 tensor holding
// as many values as its shape says.
func checkLen(ts ...*Tensor) {
	for _, t := range ts {
		if t != nil && (t.Type != Float32 || len(t.Data) != elements(t.Shape)) {
			panic(ErrShape)
		}
	}
}

// Rows is the first dimension (the batch).
func (t *Tensor) Rows() int { return t.Shape[0] }

// Cols is the number of elements per row: the product of the dimensions
// after the first.
func (t *Tensor) Cols() int { return elements(t.Shape[1:]) }

// Matrix views a float32 t as a (Rows, Cols) matrix for blas32, sharing
// its data.
func (t *Tensor) Matrix() blas32.General {
	r, c := t.Rows(), t.Cols()
	return blas32.General{Rows: r, Cols: c, Stride: max(c, 1), Data: t.Data}
}

// Zero sets every element to 0.
func (t *Tensor) Zero() {
	clear(t.Data)
	clear(t.Int64)
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{Shape: append([]int(nil), t.Shape...), Type: t.Type}
	if t.Data != nil {
		c.Data = append([]float32(nil), t.Data...)
	}
	if t.Int64 != nil {
		c.Int64 = append([]int64(nil), t.Int64...)
	}
	return c
}

func (t *Tensor) String() string {
	if t.Type != Float32 {
		return fmt.Sprintf("Tensor%v(%v)", t.Shape, t.Type)
	}
	return fmt.Sprintf("Tensor%v", t.Shape)
}
