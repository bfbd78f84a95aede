package graph

// Tensor is a float32 tensor: a shape and its values in row-major order.
// A shape of no dimensions is a scalar of one value.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewTensor returns a zero tensor of the given shape.
func NewTensor(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, elements(shape))}
}

// Len is the number of elements, the product of the shape.
func (t *Tensor) Len() int { return len(t.Data) }

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

// checkLen panics with ErrShape unless t holds as many values as its shape
// says.
func checkLen(ts ...*Tensor) {
	for _, t := range ts {
		if t != nil && len(t.Data) != elements(t.Shape) {
			panic(ErrShape)
		}
	}
}
