package graph

import (
	"math"
	"slices"
)

func init() {
	register(map[string]operator{
		"Softmax": single([2]int{1, 1}, map[string]AttrType{"axis": AttrInt},
			func(n *Node, in [][]int) ([]int, error) {
				s, ok := SoftmaxShape(in[0], axisAttr(n, -1))
				if !ok {
					return nil, attrError("axis", n.Int("axis", -1), "outside [−r, r) for the input of shape %v", in[0])
				}
				return s, nil
			},
			func(n *Node, y *Tensor, in []*Tensor) { SoftmaxForward(y, in[0], axisAttr(n, -1)) },
			func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) {
				SoftmaxBackward(din[0], dy, y, axisAttr(n, -1))
			}),
	})
}

// Softmax: ONNX's (opset 13) normalised exponential along one axis (default
// −1, negative counting from the end): y = eˣ / Σ eˣ over each line of x
// along axis.

// SoftmaxShape returns x's shape, or false if axis is outside [−r, r−1].
func SoftmaxShape(x []int, axis int) ([]int, bool) {
	if _, ok := normAxis(axis, len(x)); !ok {
		return nil, false
	}
	return slices.Clone(x), true
}

// softmaxLines returns the number of blocks before axis, the length of
// axis and the stride of its elements (the size of the dimensions after
// it). It panics with ErrShape if axis is outside [−r, r−1].
func softmaxLines(shape []int, axis int) (outer, n, inner int) {
	a, ok := normAxis(axis, len(shape))
	if !ok {
		panic(ErrShape)
	}
	return elements(shape[:a]), shape[a], elements(shape[a+1:])
}

// SoftmaxForward writes y = softmax(x) along axis; y takes x's shape. Each
// line has its maximum taken away before the exponential (so that none
// overflows) and is summed in float64. It panics with ErrShape if axis is
// outside [−r, r−1].
func SoftmaxForward(y, x *Tensor, axis int) {
	checkLen(x)
	outer, n, inner := softmaxLines(x.Shape, axis)
	y.Resize(x.Shape...)
	for o := 0; o < outer; o++ {
		for j := 0; j < inner; j++ {
			base := o*n*inner + j
			m := float32(math.Inf(-1))
			for k := 0; k < n; k++ {
				m = max(m, x.Data[base+k*inner])
			}
			var s float64
			for k := 0; k < n; k++ {
				e := math.Exp(float64(x.Data[base+k*inner] - m))
				y.Data[base+k*inner] = float32(e)
				s += e
			}
			for k := 0; k < n; k++ {
				y.Data[base+k*inner] = float32(float64(y.Data[base+k*inner]) / s)
			}
		}
	}
}

// SoftmaxBackward adds y·(dy − Σ dy·y) into dx (may be nil), the sum along
// each line, y being Softmax's output. It panics with ErrShape if axis is
// outside [−r, r−1] or dx, dy and y do not have one shape.
func SoftmaxBackward(dx, dy, y *Tensor, axis int) {
	if dx == nil {
		return
	}
	unaryBack(dx, dy, y)
	outer, n, inner := softmaxLines(y.Shape, axis)
	for o := 0; o < outer; o++ {
		for j := 0; j < inner; j++ {
			base := o*n*inner + j
			var s float64
			for k := 0; k < n; k++ {
				s += float64(dy.Data[base+k*inner]) * float64(y.Data[base+k*inner])
			}
			for k := 0; k < n; k++ {
				i := base + k*inner
				dx.Data[i] += float32(float64(y.Data[i]) * (float64(dy.Data[i]) - s))
			}
		}
	}
}

// softmaxRef is the textbook softmax: each element's index, decoded by
// division, and eˣ over the sum of eˣ along axis at that index, in float64
// without taking the maximum away.
func softmaxRef[T float32 | float64](x []T, shape []int, axis int) []T {
	a, ok := normAxis(axis, len(shape))
	if !ok {
		panic(ErrShape)
	}
	y := make([]T, len(x))
	idx := make([]int, len(shape))
	for i := range y {
		indexOf(idx, i, shape)
		at := idx[a]
		var s float64
		for k := 0; k < shape[a]; k++ {
			idx[a] = k
			s += math.Exp(float64(x[offsetOf(idx, shape)]))
		}
		idx[a] = at
		y[i] = T(math.Exp(float64(x[i])) / s)
	}
	return y
}
