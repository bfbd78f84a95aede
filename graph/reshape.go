package graph

import (
	"fmt"
	"slices"
)

func init() {
	register(map[string]operator{
		"Reshape": moveOp(map[string]AttrType{"allowzero": AttrInt}, 2, func(n *Node, x []int, in []arg) ([]int, error) {
			shape, err := knownInts(n, in, 1)
			if err != nil {
				return nil, err
			}
			if len(in[1].shape) != 1 {
				return nil, inputError(n, 1, shape, "of shape %v, want 1-D", in[1].shape)
			}
			s, err := ReshapeShape(x, shape, n.Int("allowzero", 0) != 0)
			if err != nil {
				return nil, inputError(n, 1, shape, "%v", err)
			}
			return s, nil
		}),
		"Squeeze": moveOp(nil, 1, func(n *Node, x []int, in []arg) ([]int, error) {
			var axes []int64
			if len(in) > 1 && n.Inputs[1] != "" {
				var err error
				if axes, err = knownInts(n, in, 1); err != nil {
					return nil, err
				}
			}
			s, err := SqueezeShape(x, axes)
			if err != nil {
				return nil, inputError(n, 1, axes, "%v", err)
			}
			return s, nil
		}),
		"Unsqueeze": moveOp(nil, 2, func(n *Node, x []int, in []arg) ([]int, error) {
			axes, err := knownInts(n, in, 1)
			if err != nil {
				return nil, err
			}
			s, err := UnsqueezeShape(x, axes)
			if err != nil {
				return nil, inputError(n, 1, axes, "%v", err)
			}
			return s, nil
		}),
	})
}

// moveOp is the operator of an op type that only gives its first input,
// float32 or int64, a new shape: shape computes it from the input's shape
// and the other inputs, whose values it needs before the graph runs (it
// reads at least inputs, at most 2).
func moveOp(attrs map[string]AttrType, inputs int, shape func(n *Node, x []int, in []arg) ([]int, error)) operator {
	return operator{inputs: [2]int{inputs, 2}, outputs: [2]int{1, 1}, attrs: attrs, fixed: []int{1},
		infer: func(n *Node, in []arg) ([]arg, error) {
			s, err := shape(n, in[0].shape, in)
			if err != nil {
				return nil, err
			}
			return []arg{{shape: s, typ: in[0].typ}}, nil
		},
		forward: func(_ *state, n *Node, out, in []*Tensor) {
			var v []int64
			if t := at(in, 1); t != nil {
				v = t.Int64
			}
			switch n.Op {
			case "Reshape":
				ReshapeForward(out[0], in[0], v, n.Int("allowzero", 0) != 0)
			case "Squeeze":
				SqueezeForward(out[0], in[0], v)
			default:
				UnsqueezeForward(out[0], in[0], v)
			}
		},
		backward: func(_ *state, n *Node, din, dout, out, in []*Tensor) {
			if din[0] != nil && dout[0] != nil {
				ReshapeBackward(din[0], dout[0])
			}
		}}
}

// Reshape, Squeeze and Unsqueeze: ONNX's changes of shape that keep the
// values in order, for float32 and int64 tensors. Their shape and axes
// inputs are int64 and must be known before the graph runs (parameters,
// constants or computed from shapes). The kernels take them as the int64
// values ONNX has, so that a step costs no conversion.

// ReshapeShape returns the shape x takes under ONNX Reshape's shape
// input: a dimension −1 (at most one) is what the others leave, 0 copies
// x's dimension at that index (with allowZero, 0 is an empty dimension and
// no −1 may go with it). It returns an error naming the offending value if
// the element counts do not match.
func ReshapeShape(x []int, shape []int64, allowZero bool) ([]int, error) {
	return reshapeInto(make([]int, len(shape)), x, shape, allowZero)
}

// reshapeInto is ReshapeShape writing into out (of len(shape)).
func reshapeInto(out []int, x []int, shape []int64, allowZero bool) ([]int, error) {
	infer, known := -1, 1
	for i, d := range shape {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("dimensions %d and %d are both −1", infer, i)
			}
			infer = i
			continue
		case d < -1:
			return nil, fmt.Errorf("dimension %d is %d", i, d)
		case d == 0 && !allowZero:
			if i >= len(x) {
				return nil, fmt.Errorf("dimension %d is 0 (copy the input's), but the input of shape %v has no dimension %d", i, x, i)
			}
			out[i] = x[i]
		default:
			out[i] = toInt(d)
			if out[i] < 0 {
				return nil, fmt.Errorf("dimension %d is %d", i, d)
			}
		}
		c, ok := checkedElements([]int{known, out[i]})
		if !ok {
			return nil, fmt.Errorf("more than %d elements", maxElements)
		}
		known = c
	}
	total := elements(x)
	if infer >= 0 {
		if allowZero && slices.Contains(shape, 0) {
			return nil, fmt.Errorf("dimension %d is −1 and another 0, with allowzero = 1", infer)
		}
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("dimension %d is −1, but the others (%d elements) do not divide the input's %d (shape %v)", infer, known, total, x)
		}
		out[infer] = total / known
		known = total
	}
	if known != total {
		return nil, fmt.Errorf("%d elements, but the input of shape %v has %d", known, x, total)
	}
	return out, nil
}

// SqueezeShape returns x without the dimensions at axes (negative count
// from the end), each of which must be 1; without axes (or with none, as
// ONNX Runtime reads an empty axes tensor), x without every dimension 1. It returns an error naming the axis if one is out of range,
// repeated or not of size 1.
func SqueezeShape(x []int, axes []int64) ([]int, error) {
	return squeezeInto(make([]int, 0, len(x)), x, axes)
}

func squeezeInto(out []int, x []int, axes []int64) ([]int, error) {
	var buf [8]int
	drop := ints(&buf, len(x))
	for _, a := range axes {
		d, ok := normAxis(toInt(a), len(x))
		switch {
		case !ok:
			return nil, fmt.Errorf("axis %d outside [−%d, %d] for the input of shape %v", a, len(x), len(x)-1, x)
		case drop[d] != 0:
			return nil, fmt.Errorf("axis %d given twice", a)
		case x[d] != 1:
			return nil, fmt.Errorf("axis %d has size %d, want 1 (input of shape %v)", a, x[d], x)
		}
		drop[d] = 1
	}
	for d, v := range x {
		if len(axes) == 0 && v != 1 || len(axes) > 0 && drop[d] == 0 {
			out = append(out, v)
		}
	}
	return out, nil
}

// UnsqueezeShape returns x with dimensions 1 inserted at axes, which index
// the output (negative count from its end). It returns an error naming the
// axis if one is out of range or repeated.
func UnsqueezeShape(x []int, axes []int64) ([]int, error) {
	return unsqueezeInto(make([]int, len(x)+len(axes)), x, axes)
}

func unsqueezeInto(out []int, x []int, axes []int64) ([]int, error) {
	r := len(x) + len(axes)
	for i := range out {
		out[i] = -1
	}
	for _, a := range axes {
		d, ok := normAxis(toInt(a), r)
		switch {
		case !ok:
			return nil, fmt.Errorf("axis %d outside [−%d, %d] for the output of rank %d", a, r, r-1, r)
		case out[d] == 1:
			return nil, fmt.Errorf("axis %d given twice", a)
		}
		out[d] = 1
	}
	k := 0
	for i := range out {
		if out[i] == -1 {
			out[i] = x[k]
			k++
		}
	}
	return out, nil
}

// moveForward writes y = x's values in the shape s (of as many elements),
// of x's element type.
func moveForward(y, x *Tensor, s []int) {
	checkAny(x)
	if elements(s) != x.Len() {
		panic(ErrShape)
	}
	resizeAs(y, x.Type, s...)
	copy(y.Data, x.Data)
	copy(y.Int64, x.Int64)
}

// ReshapeForward writes y = x in the shape that ReshapeShape gives for
// the shape values; y takes x's element type. It panics with ErrShape if
// ReshapeShape refuses them.
func ReshapeForward(y, x *Tensor, shape []int64, allowZero bool) {
	var buf [8]int
	s, err := reshapeInto(ints(&buf, len(shape)), x.Shape, shape, allowZero)
	if err != nil {
		panic(ErrShape)
	}
	moveForward(y, x, s)
}

// ReshapeBackward adds dy into dx, in dx's shape: the backward of
// Reshape, Squeeze, Unsqueeze (and Flatten). It panics with ErrShape if
// they do not hold the same number of values.
func ReshapeBackward(dx, dy *Tensor) {
	checkLen(dx, dy)
	if len(dx.Data) != len(dy.Data) {
		panic(ErrShape)
	}
	Axpy(dx.Data, dy.Data, 1)
}

// SqueezeForward writes y = x without the dimensions SqueezeShape drops
// for axes. It panics with ErrShape if SqueezeShape refuses them.
func SqueezeForward(y, x *Tensor, axes []int64) {
	var buf [8]int
	s, err := squeezeInto(buf[:0], x.Shape, axes)
	if err != nil {
		panic(ErrShape)
	}
	moveForward(y, x, s)
}

// UnsqueezeForward writes y = x with the dimensions 1 UnsqueezeShape
// inserts for axes. It panics with ErrShape if UnsqueezeShape refuses them.
func UnsqueezeForward(y, x *Tensor, axes []int64) {
	var buf [8]int
	s, err := unsqueezeInto(ints(&buf, len(x.Shape)+len(axes)), x.Shape, axes)
	if err != nil {
		panic(ErrShape)
	}
	moveForward(y, x, s)
}
