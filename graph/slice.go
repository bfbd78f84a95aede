package graph

import (
	"fmt"
	"math"
	"slices"
)

func init() {
	register(map[string]operator{
		"Slice": {inputs: [2]int{3, 5}, outputs: [2]int{1, 1}, fixed: []int{1, 2, 3, 4},
			infer: func(n *Node, in []arg) ([]arg, error) {
				var v [4][]int64
				for k := 1; k < len(in); k++ {
					if n.Inputs[k] == "" {
						continue
					}
					var err error
					if v[k-1], err = knownInts(n, in, k); err != nil {
						return nil, err
					}
					if len(in[k].shape) != 1 {
						return nil, inputError(n, k, v[k-1], "of shape %v, want 1-D", in[k].shape)
					}
				}
				s, k, err := SliceShape(in[0].shape, v[0], v[1], v[2], v[3])
				if err != nil {
					return nil, inputError(n, k, v[k-1], "%v", err)
				}
				return []arg{{shape: s, typ: in[0].typ}}, nil
			},
			forward: func(_ *state, n *Node, out, in []*Tensor) {
				SliceForward(out[0], in[0], in[1].Int64, in[2].Int64, ints64(at(in, 3)), ints64(at(in, 4)))
			},
			backward: func(_ *state, n *Node, din, dout, out, in []*Tensor) {
				if din[0] != nil && dout[0] != nil {
					SliceBackward(din[0], dout[0], in[1].Int64, in[2].Int64, ints64(at(in, 3)), ints64(at(in, 4)))
				}
			}},
	})
}

// ints64 is t's int64 values, nil for no tensor.
func ints64(t *Tensor) []int64 {
	if t == nil {
		return nil
	}
	return t.Int64
}

// Slice: ONNX's (opset 13+) slicing of float32 or int64 data by int64
// starts, ends, axes (default 0, 1, …; negative count from the end) and
// steps (default 1; negative walk backwards), all known before the graph
// runs. As in numpy, a negative start or end counts from the end of its
// axis and both are clamped into it: to [0, d] for a positive step, to
// [0, d−1] (start) and [−1, d−1] (end) for a negative one, so ends such as
// INT64_MAX (to the end) and INT64_MIN (back past the start) work.

// sliceDims writes, for each dimension of x, the first index, the step and
// the count of indices that the slice takes (the whole dimension where no
// axis names it). It returns the input (1 starts … 4 steps) at fault and
// an error naming the value if the lists differ in length, an axis is out
// of range or repeated, or a step is 0.
func sliceDims(first, step, count []int, x []int, starts, ends, axes, steps []int64) (int, error) {
	switch {
	case len(ends) != len(starts):
		return 2, fmt.Errorf("%d ends for %d starts", len(ends), len(starts))
	case axes != nil && len(axes) != len(starts):
		return 3, fmt.Errorf("%d axes for %d starts", len(axes), len(starts))
	case steps != nil && len(steps) != len(starts):
		return 4, fmt.Errorf("%d steps for %d starts", len(steps), len(starts))
	}
	for d, v := range x {
		first[d], step[d], count[d] = 0, 1, v
	}
	var buf [8]int
	seen := ints(&buf, len(x))
	for i := range starts {
		a := int64(i)
		if axes != nil {
			a = axes[i]
		}
		d, ok := normAxis(toInt(a), len(x))
		if !ok && axes == nil {
			return 1, fmt.Errorf("%d starts for the data of shape %v", len(starts), x)
		}
		if !ok {
			return 3, fmt.Errorf("axis %d outside [−%d, %d] for the data of shape %v", a, len(x), len(x)-1, x)
		}
		if seen[d] != 0 {
			return 3, fmt.Errorf("axis %d given twice", a)
		}
		seen[d] = 1
		st := int64(1)
		if steps != nil {
			st = steps[i]
		}
		if st == 0 {
			return 4, fmt.Errorf("step %d is 0", i)
		}
		dim := int64(x[d])
		lo, hi := starts[i], ends[i]
		if lo < 0 {
			lo += dim
		}
		if hi < 0 {
			hi += dim
		}
		if st > 0 {
			lo, hi = min(max(lo, 0), dim), min(max(hi, 0), dim)
		} else {
			lo, hi = min(max(lo, 0), dim-1), min(max(hi, -1), dim-1)
		}
		var c int64
		switch {
		case st > 0 && hi > lo:
			c = (hi-lo-1)/st + 1
		case st < 0 && lo > hi && st == math.MinInt64: // −st overflows
			c = 1
		case st < 0 && lo > hi:
			c = (lo-hi-1)/-st + 1
		}
		if c <= 1 { // any step reads one index: keep the strides small
			st = 1
		}
		first[d], step[d], count[d] = int(lo), toInt(st), int(c)
	}
	return 0, nil
}

// SliceShape returns the shape of x sliced by starts, ends, axes and steps
// (axes and steps may be nil), or the input at fault (1 to 4) and an error
// naming the value.
func SliceShape(x []int, starts, ends, axes, steps []int64) ([]int, int, error) {
	r := len(x)
	first, step, count := make([]int, r), make([]int, r), make([]int, r)
	if k, err := sliceDims(first, step, count, x, starts, ends, axes, steps); err != nil {
		return nil, k, err
	}
	return count, 0, nil
}

// sliceView returns the sliced shape, and the strides and the first offset
// at which it reads x, in the buffers given. It panics with ErrShape if
// sliceDims refuses the lists.
func sliceView(shape, st []int, x []int, starts, ends, axes, steps []int64) (base int) {
	var buf [8]int
	first := ints(&buf, len(x))
	if _, err := sliceDims(first, st, shape, x, starts, ends, axes, steps); err != nil {
		panic(ErrShape)
	}
	stride := 1
	for d := len(x) - 1; d >= 0; d-- {
		base += first[d] * stride
		st[d] *= stride
		stride *= x[d]
	}
	return base
}

// SliceForward writes y = x sliced by starts, ends, axes and steps (axes
// and steps may be nil); y takes x's element type and SliceShape's shape.
// It panics with ErrShape if SliceShape refuses the lists.
func SliceForward(y, x *Tensor, starts, ends, axes, steps []int64) {
	checkAny(x)
	var b1, b2 [8]int
	shape, st := ints(&b1, len(x.Shape)), ints(&b2, len(x.Shape))
	base := sliceView(shape, st, x.Shape, starts, ends, axes, steps)
	resizeAs(y, x.Type, shape...)
	if x.Type == Int64 {
		strided(y.Int64, x.Int64, shape, st, base)
	} else {
		strided(y.Data, x.Data, shape, st, base)
	}
}

// SliceBackward adds dy into the elements of dx (of x's shape) that
// SliceForward read. It panics with ErrShape if SliceShape refuses the
// lists or dy does not have the sliced shape.
func SliceBackward(dx, dy *Tensor, starts, ends, axes, steps []int64) {
	checkLen(dx, dy)
	var b1, b2 [8]int
	shape, st := ints(&b1, len(dx.Shape)), ints(&b2, len(dx.Shape))
	base := sliceView(shape, st, dx.Shape, starts, ends, axes, steps)
	if !slices.Equal(shape, dy.Shape) {
		panic(ErrShape)
	}
	stridedAdd(dx.Data, dy.Data, shape, st, base)
}
