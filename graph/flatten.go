package graph

import "slices"

func init() {
	register(map[string]operator{
		"Flatten": single([2]int{1, 1}, map[string]AttrType{"axis": AttrInt},
			func(n *Node, in [][]int) ([]int, error) {
				s, ok := FlattenShape(in[0], axisAttr(n, 1))
				if !ok {
					return nil, attrError("axis", n.Int("axis", 1), "outside [−r, r] for the input of shape %v", in[0])
				}
				return s, nil
			},
			func(n *Node, y *Tensor, in []*Tensor) { FlattenForward(y, in[0], axisAttr(n, 1)) },
			func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) {
				FlattenBackward(din[0], dy, axisAttr(n, 1))
			}),
		"Identity": unaryOp(nil, func(n *Node, y, x *Tensor) { IdentityForward(y, x) },
			func(n *Node, dx, dy, x, y *Tensor) { IdentityBackward(dx, dy) }),
	})
}

// Flatten and Identity: ONNX's reshapes that need no shape tensor. Flatten
// makes a tensor a matrix: the dimensions before axis (default 1; negative
// counts from the end; 0 gives a single row) become the rows, the rest the
// columns. Identity copies its input.

// FlattenShape returns x's shape flattened at axis, or false if axis is
// outside [−r, r].
func FlattenShape(x []int, axis int) ([]int, bool) {
	r := len(x)
	if axis < -r || axis > r {
		return nil, false
	}
	if axis < 0 {
		axis += r
	}
	return []int{elements(x[:axis]), elements(x[axis:])}, true
}

// FlattenForward writes y = x flattened at axis; y takes the flattened
// shape. It panics with ErrShape if axis is outside [−r, r].
func FlattenForward(y, x *Tensor, axis int) {
	checkLen(x)
	shape, ok := FlattenShape(x.Shape, axis)
	if !ok {
		panic(ErrShape)
	}
	y.Resize(shape...)
	copy(y.Data, x.Data)
}

// FlattenBackward adds dy, unflattened, into dx (may be nil). It panics
// with ErrShape if axis is outside [−r, r] for dx or dy does not have dx
// flattened's shape.
func FlattenBackward(dx, dy *Tensor, axis int) {
	if dx == nil {
		return
	}
	checkLen(dx, dy)
	shape, ok := FlattenShape(dx.Shape, axis)
	if !ok || !slices.Equal(shape, dy.Shape) {
		panic(ErrShape)
	}
	for i, v := range dy.Data {
		dx.Data[i] += v
	}
}

// IdentityForward writes y = x; y takes x's shape.
func IdentityForward(y, x *Tensor) {
	unary(y, x)
	copy(y.Data, x.Data)
}

// IdentityBackward adds dy into dx. It panics with ErrShape unless dx and
// dy have one shape.
func IdentityBackward(dx, dy *Tensor) {
	unaryBack(dx, dy)
	for i, v := range dy.Data {
		dx.Data[i] += v
	}
}
