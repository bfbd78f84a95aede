package graph

import "slices"

func init() {
	register(map[string]operator{
		// Not single: int64 data (a shape subgraph's pads) moves too.
		"Transpose": {inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, attrs: map[string]AttrType{"perm": AttrInts},
			infer: func(n *Node, in []arg) ([]arg, error) {
				s, ok := TransposeShape(in[0].shape, intsAttr(n, "perm"))
				if !ok {
					return nil, attrError("perm", intsAttr(n, "perm"), "not a permutation of the axes of the input, of shape %v", in[0].shape)
				}
				return []arg{{shape: s, typ: in[0].typ}}, nil
			},
			forward: func(_ *state, n *Node, out, in []*Tensor) { TransposeForward(out[0], in[0], intsAttr(n, "perm")) },
			backward: func(_ *state, n *Node, din, dout, out, in []*Tensor) {
				if dout[0] != nil {
					TransposeBackward(din[0], dout[0], intsAttr(n, "perm"))
				}
			}},
	})
}

// Transpose: ONNX's permutation of a tensor's axes. Output dimension i is
// input dimension perm[i]; perm defaults to the axes reversed.

// TransposeShape returns the shape of x transposed by perm (nil: the axes
// reversed), or false if perm is not a permutation of x's axes.
func TransposeShape(x []int, perm []int) ([]int, bool) {
	if perm == nil {
		perm = reversedAxes(len(x))
	}
	if len(perm) != len(x) {
		return nil, false
	}
	seen := make([]bool, len(x))
	out := make([]int, len(x))
	for i, p := range perm {
		if p < 0 || p >= len(x) || seen[p] {
			return nil, false
		}
		seen[p] = true
		out[i] = x[p]
	}
	return out, true
}

// reversedAxes is n−1, …, 1, 0.
func reversedAxes(n int) []int {
	perm := make([]int, n)
	for i := range perm {
		perm[i] = n - 1 - i
	}
	return perm
}

// intsAttr returns the integer list attribute name as ints, nil if the
// node has none.
func intsAttr(n *Node, name string) []int {
	a, ok := n.Attrs[name]
	if !ok {
		return nil
	}
	s := make([]int, len(a.Ints))
	for i, v := range a.Ints {
		s[i] = toInt(v)
	}
	return s
}

// transposeStrides returns y's shape and, for each of its dimensions, how
// far a step in it moves in x. It panics with ErrShape if perm is not a
// permutation of x's axes.
func transposeStrides(x []int, perm []int) (shape, strides []int) {
	shape, ok := TransposeShape(x, perm)
	if !ok {
		panic(ErrShape)
	}
	if perm == nil {
		perm = reversedAxes(len(x))
	}
	xs := make([]int, len(x))
	step := 1
	for d := len(x) - 1; d >= 0; d-- {
		xs[d] = step
		step *= x[d]
	}
	strides = make([]int, len(x))
	for i, p := range perm {
		strides[i] = xs[p]
	}
	return shape, strides
}

// TransposeForward writes y = x with its axes permuted by perm (nil: the
// axes reversed); y takes the permuted shape and x's element type (float32
// or int64). It panics with ErrShape if perm is not a permutation of x's
// axes.
func TransposeForward(y, x *Tensor, perm []int) {
	checkAny(x)
	shape, st := transposeStrides(x.Shape, perm)
	resizeAs(y, x.Type, shape...)
	if x.Type == Int64 {
		walkBroadcast(shape, st, make([]int, len(shape)), func(i, ix, _ int) {
			y.Int64[i] = x.Int64[ix]
		})
		return
	}
	walkBroadcast(shape, st, make([]int, len(shape)), func(i, ix, _ int) {
		y.Data[i] = x.Data[ix]
	})
}

// TransposeBackward adds dy, transposed back by the inverse of perm, into
// dx (may be nil). It panics with ErrShape if perm is not a permutation of
// dx's axes or dy does not have dx transposed's shape.
func TransposeBackward(dx, dy *Tensor, perm []int) {
	if dx == nil {
		return
	}
	checkLen(dx, dy)
	shape, st := transposeStrides(dx.Shape, perm)
	if !slices.Equal(shape, dy.Shape) {
		panic(ErrShape)
	}
	walkBroadcast(shape, st, make([]int, len(shape)), func(i, ix, _ int) {
		dx.Data[ix] += dy.Data[i]
	})
}

// transposeRef is the textbook transpose: each output element's index,
// decoded by division, read from x at the index with its axes put back.
func transposeRef[T float32 | float64](x []T, shape, perm []int) ([]T, []int) {
	if perm == nil {
		perm = reversedAxes(len(shape))
	}
	out := make([]int, len(shape))
	for i, p := range perm {
		out[i] = shape[p]
	}
	y := make([]T, len(x))
	idx, xi := make([]int, len(out)), make([]int, len(out))
	for i := range y {
		indexOf(idx, i, out)
		for d, p := range perm {
			xi[p] = idx[d]
		}
		y[i] = x[offsetOf(xi, shape)]
	}
	return y, out
}

// offsetOf is the row-major offset of the element at idx in a tensor of the
// shape.
func offsetOf(idx, shape []int) int {
	off := 0
	for d, n := range shape {
		off = off*n + idx[d]
	}
	return off
}

// indexOf decodes the row-major offset i in a tensor of the shape into idx.
func indexOf(idx []int, i int, shape []int) {
	for d := len(shape) - 1; d >= 0; d-- {
		idx[d] = i % shape[d]
		i /= shape[d]
	}
}
