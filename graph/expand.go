package graph

import (
	"fmt"
	"slices"
)

func init() {
	register(map[string]operator{
		"Expand": {inputs: [2]int{2, 2}, outputs: [2]int{1, 1}, fixed: []int{1},
			infer: func(n *Node, in []arg) ([]arg, error) {
				v, err := knownInts(n, in, 1)
				if err != nil {
					return nil, err
				}
				s, err := ExpandShape(in[0].shape, v)
				if err != nil {
					return nil, inputError(n, 1, v, "%v", err)
				}
				return []arg{{shape: s, typ: in[0].typ}}, nil
			},
			forward: func(_ *state, n *Node, out, in []*Tensor) { ExpandForward(out[0], in[0], in[1].Int64) },
			backward: func(_ *state, n *Node, din, dout, out, in []*Tensor) {
				if din[0] != nil && dout[0] != nil {
					ExpandBackward(din[0], dout[0])
				}
			}},
		"Tile": {inputs: [2]int{2, 2}, outputs: [2]int{1, 1}, fixed: []int{1},
			infer: func(n *Node, in []arg) ([]arg, error) {
				v, err := knownInts(n, in, 1)
				if err != nil {
					return nil, err
				}
				s, err := TileShape(in[0].shape, v)
				if err != nil {
					return nil, inputError(n, 1, v, "%v", err)
				}
				return []arg{{shape: s, typ: in[0].typ}}, nil
			},
			forward: func(_ *state, n *Node, out, in []*Tensor) { TileForward(out[0], in[0], in[1].Int64) },
			backward: func(_ *state, n *Node, din, dout, out, in []*Tensor) {
				if din[0] != nil && dout[0] != nil {
					TileBackward(din[0], dout[0], in[1].Int64)
				}
			}},
	})
}

// Expand and Tile: ONNX's repetitions of float32 or int64 data. Expand
// broadcasts x and its int64 shape input against each other (numpy's
// rules, both ways: a 1 in the shape keeps x's dimension); Tile repeats x
// repeats[d] times along each dimension d. Both shape inputs must be known
// before the graph runs. Backward sums the gradient of every copy into the
// element it came from.

// ExpandShape returns the shape x broadcasts to with shape, or an error
// naming the dimension if one is negative or they do not broadcast.
func ExpandShape(x []int, shape []int64) ([]int, error) {
	s := make([]int, len(shape))
	for i, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("dimension %d is %d", i, d)
		}
		s[i] = toInt(d)
	}
	out, ok := BroadcastShape(x, s)
	if !ok {
		return nil, fmt.Errorf("does not broadcast with the input of shape %v", x)
	}
	if _, ok := checkedElements(out); !ok {
		return nil, fmt.Errorf("shape %v: more than %d elements", out, maxElements)
	}
	return out, nil
}

// expandView writes into out the shape x expands to with shape, and into
// st how far a step along each of its dimensions moves in x (0 where x is
// broadcast); it returns them, and panics with ErrShape if they do not
// broadcast.
func expandView[S int | int64](out, st []int, x []int, shape []S) ([]int, []int) {
	r := max(len(x), len(shape))
	out, st = out[:r], st[:r]
	step := 1
	for k := 0; k < r; k++ {
		dx, ds := dimFromEnd(x, k), 1
		if k < len(shape) {
			ds = toInt(int64(shape[len(shape)-1-k]))
		}
		i := r - 1 - k
		switch {
		case ds < 0:
			panic(ErrShape)
		case dx == ds || ds == 1:
			out[i] = dx
		case dx == 1:
			out[i] = ds
		default:
			panic(ErrShape)
		}
		st[i] = 0
		if dx != 1 {
			st[i] = step
		}
		step *= dx
	}
	return out, st
}

// ExpandForward writes y = x broadcast with shape; y takes x's element
// type and ExpandShape's shape. It panics with ErrShape if they do not
// broadcast.
func ExpandForward(y, x *Tensor, shape []int64) {
	checkAny(x)
	var b1, b2 [8]int
	r := max(len(x.Shape), len(shape))
	out, st := expandView(ints(&b1, r), ints(&b2, r), x.Shape, shape)
	resizeAs(y, x.Type, out...)
	if x.Type == Int64 {
		strided(y.Int64, x.Int64, out, st, 0)
	} else {
		strided(y.Data, x.Data, out, st, 0)
	}
}

// ExpandBackward adds into dx (of x's shape) dy summed over the copies of
// each element of x. It panics with ErrShape unless dy's shape is one that
// dx's expands to.
func ExpandBackward(dx, dy *Tensor) {
	checkLen(dx, dy)
	if len(dx.Shape) > len(dy.Shape) {
		panic(ErrShape)
	}
	var b1, b2 [8]int
	r := len(dy.Shape)
	out, st := expandView(ints(&b1, r), ints(&b2, r), dx.Shape, dy.Shape)
	if !slices.Equal(out, dy.Shape) {
		panic(ErrShape)
	}
	stridedAdd(dx.Data, dy.Data, out, st, 0)
}

// TileShape returns the shape of x tiled repeats[d] times along each
// dimension d, or an error naming the repeats if there is not one a
// dimension or one is negative.
func TileShape(x []int, repeats []int64) ([]int, error) {
	if len(repeats) != len(x) {
		return nil, fmt.Errorf("%d repeats for the input of shape %v", len(repeats), x)
	}
	out := make([]int, len(x))
	for d, k := range repeats {
		if k < 0 {
			return nil, fmt.Errorf("repeat %d is %d", d, k)
		}
		c, ok := checkedElements([]int{x[d], toInt(k)})
		if !ok {
			return nil, fmt.Errorf("more than %d elements", maxElements)
		}
		out[d] = c
	}
	if _, ok := checkedElements(out); !ok {
		return nil, fmt.Errorf("shape %v: more than %d elements", out, maxElements)
	}
	return out, nil
}

// tileView writes into shape and st the tiled tensor seen as one of twice
// the rank, (repeats[0], x[0], repeats[1], x[1], …) in row-major order,
// with the strides at which it reads x (0 along the repeats); it panics
// with ErrShape if there is not one repeat a dimension or one is negative.
func tileView(shape, st []int, x []int, repeats []int64) {
	if len(repeats) != len(x) {
		panic(ErrShape)
	}
	step := 1
	for d := len(x) - 1; d >= 0; d-- {
		if repeats[d] < 0 {
			panic(ErrShape)
		}
		shape[2*d], shape[2*d+1] = toInt(repeats[d]), x[d]
		st[2*d], st[2*d+1] = 0, step
		step *= x[d]
	}
}

// TileForward writes y = x tiled by repeats; y takes x's element type and
// TileShape's shape. It panics with ErrShape if TileShape refuses them.
func TileForward(y, x *Tensor, repeats []int64) {
	checkAny(x)
	r := len(x.Shape)
	var b1, b2, b3 [8]int
	shape, st := ints(&b1, 2*r), ints(&b2, 2*r)
	tileView(shape, st, x.Shape, repeats)
	out := ints(&b3, r)
	for d := range out {
		out[d] = shape[2*d] * shape[2*d+1]
	}
	resizeAs(y, x.Type, out...)
	if x.Type == Int64 {
		strided(y.Int64, x.Int64, shape, st, 0)
	} else {
		strided(y.Data, x.Data, shape, st, 0)
	}
}

// TileBackward adds into dx (of x's shape) dy summed over the tiles. It
// panics with ErrShape if dy does not have the tiled shape.
func TileBackward(dx, dy *Tensor, repeats []int64) {
	checkLen(dx, dy)
	r := len(dx.Shape)
	var b1, b2 [8]int
	shape, st := ints(&b1, 2*r), ints(&b2, 2*r)
	tileView(shape, st, dx.Shape, repeats)
	if len(dy.Shape) != r {
		panic(ErrShape)
	}
	for d := range dy.Shape {
		if dy.Shape[d] != shape[2*d]*shape[2*d+1] {
			panic(ErrShape)
		}
	}
	stridedAdd(dx.Data, dy.Data, shape, st, 0)
}
