package graph

import (
	"fmt"
	"math"
	"slices"
)

func init() {
	register(map[string]operator{
		"Concat": {inputs: [2]int{1, math.MaxInt}, outputs: [2]int{1, 1}, attrs: map[string]AttrType{"axis": AttrInt},
			infer: func(n *Node, in []arg) ([]arg, error) {
				if _, ok := n.Attrs["axis"]; !ok {
					return nil, fmt.Errorf("attribute axis: missing (Concat requires it)")
				}
				shapes := make([][]int, len(in))
				for k, a := range in {
					if a.typ != in[0].typ {
						return nil, fmt.Errorf("input %d (%q) is %v, input 0 (%q) %v", k, n.Inputs[k], a.typ, n.Inputs[0], in[0].typ)
					}
					shapes[k] = a.shape
				}
				s, ok := ConcatShape(shapes, concatAxis(n))
				if !ok {
					return nil, attrError("axis", n.Int("axis", 0), "inputs of shapes %v do not concatenate along it", shapes)
				}
				return []arg{{shape: s, typ: in[0].typ}}, nil
			},
			forward: func(_ *state, n *Node, out, in []*Tensor) { ConcatForward(out[0], in, concatAxis(n)) },
			backward: func(_ *state, n *Node, din, dout, out, in []*Tensor) {
				if dout[0] != nil {
					ConcatBackward(din, dout[0], in, concatAxis(n))
				}
			}},
	})
}

// concatAxis is Concat's axis, which ONNX requires: math.MinInt if the
// node has none.
func concatAxis(n *Node) int {
	if _, ok := n.Attrs["axis"]; !ok {
		return math.MinInt
	}
	return axisAttr(n, 0)
}

// Concat: ONNX's joining of tensors along one axis. All inputs have one
// rank (at least 1) and agree on every dimension but axis (negative counts
// from the end).

// ConcatShape returns the shape of the inputs concatenated along axis, or
// false if there are none, their ranks differ, axis is outside [−r, r−1]
// or another dimension differs.
func ConcatShape(in [][]int, axis int) ([]int, bool) {
	if len(in) == 0 {
		return nil, false
	}
	r := len(in[0])
	a, ok := normAxis(axis, r)
	if !ok {
		return nil, false
	}
	out := slices.Clone(in[0])
	for _, s := range in[1:] {
		if len(s) != r {
			return nil, false
		}
		for d := range s {
			if d != a && s[d] != out[d] {
				return nil, false
			}
		}
		out[a] += s[a]
	}
	return out, true
}

// normAxis returns axis in [0, r), counting a negative one from the end, or
// false if it is outside [−r, r−1].
func normAxis(axis, r int) (int, bool) {
	if axis < -r || axis >= r {
		return 0, false
	}
	if axis < 0 {
		axis += r
	}
	return axis, true
}

// concatBlocks returns the output shape, the number of blocks along the
// axes before axis and each input's block length (its dimensions from axis
// on). It panics with ErrShape if the shapes do not concatenate.
func concatBlocks(shapes [][]int, axis int) (shape []int, outer int, blocks []int) {
	shape, ok := ConcatShape(shapes, axis)
	if !ok {
		panic(ErrShape)
	}
	a, _ := normAxis(axis, len(shape))
	outer = elements(shape[:a])
	blocks = make([]int, len(shapes))
	for k, s := range shapes {
		blocks[k] = elements(s[a:])
	}
	return shape, outer, blocks
}

// ConcatForward writes y = the xs concatenated along axis; y takes their
// element type (float32 or int64, the same for all: shape subgraphs join
// int64 shapes) and joint shape. It panics with ErrShape if the xs do not
// concatenate.
func ConcatForward(y *Tensor, xs []*Tensor, axis int) {
	shapes := make([][]int, len(xs))
	for k, x := range xs {
		if x == nil || x.Type != xs[0].Type {
			panic(ErrShape)
		}
		checkAny(x)
		shapes[k] = x.Shape
	}
	shape, outer, blocks := concatBlocks(shapes, axis)
	resizeAs(y, xs[0].Type, shape...)
	if y.Type == Int64 {
		concatCopy(y.Int64, xs, outer, blocks, func(t *Tensor) []int64 { return t.Int64 })
	} else {
		concatCopy(y.Data, xs, outer, blocks, func(t *Tensor) []float32 { return t.Data })
	}
}

// concatCopy copies the blocks of the xs' values (of one type, values
// reads them) into y in turn.
func concatCopy[T any](y []T, xs []*Tensor, outer int, blocks []int, values func(*Tensor) []T) {
	off := 0
	for o := 0; o < outer; o++ {
		for k, x := range xs {
			off += copy(y[off:off+blocks[k]], values(x)[o*blocks[k]:])
		}
	}
}

// ConcatBackward adds into each dxs[k] (any may be nil) its slice of dy
// along axis; xs are the inputs (for their shapes). It panics with
// ErrShape if the xs do not concatenate, a dxs[k] does not have xs[k]'s
// shape or dy not the joint one.
func ConcatBackward(dxs []*Tensor, dy *Tensor, xs []*Tensor, axis int) {
	if len(dxs) != len(xs) {
		panic(ErrShape)
	}
	shapes := make([][]int, len(xs))
	for k, x := range xs {
		if x == nil {
			panic(ErrShape)
		}
		shapes[k] = gradShape(dxs[k], x, dy)
	}
	checkLen(dy)
	shape, outer, blocks := concatBlocks(shapes, axis)
	if !slices.Equal(shape, dy.Shape) {
		panic(ErrShape)
	}
	off := 0
	for o := 0; o < outer; o++ {
		for k, dx := range dxs {
			if dx != nil {
				d := dx.Data[o*blocks[k] : (o+1)*blocks[k]]
				for i, v := range dy.Data[off : off+blocks[k]] {
					d[i] += v
				}
			}
			off += blocks[k]
		}
	}
}

// concatRef is the textbook concatenation: each output element's index,
// decoded by division, read from the input whose range along axis holds it.
func concatRef[T float32 | float64](xs [][]T, shapes [][]int, axis int) ([]T, []int) {
	out, ok := ConcatShape(shapes, axis)
	if !ok {
		panic(ErrShape)
	}
	a, _ := normAxis(axis, len(out))
	y := make([]T, elements(out))
	idx := make([]int, len(out))
	for i := range y {
		indexOf(idx, i, out)
		j := idx[a]
		k := 0
		for j >= shapes[k][a] {
			j -= shapes[k][a]
			k++
		}
		xi := slices.Clone(idx)
		xi[a] = j
		y[i] = xs[k][offsetOf(xi, shapes[k])]
	}
	return y, out
}
