package graph

import (
	"fmt"
	"math"
)

func init() {
	register(map[string]operator{
		"Range": {inputs: [2]int{3, 3}, outputs: [2]int{1, 1}, fixed: []int{0, 1, 2},
			infer: func(n *Node, in []arg) ([]arg, error) {
				typ := in[0].typ
				for k := range in {
					a := in[k]
					if a.typ != typ {
						return nil, fmt.Errorf("input %d (%q) is %v, input 0 (%q) %v", k, n.Inputs[k], a.typ, n.Inputs[0], typ)
					}
					if len(a.shape) > 1 || elements(a.shape) != 1 {
						return nil, fmt.Errorf("input %d (%q) of shape %v, want a scalar", k, n.Inputs[k], a.shape)
					}
					if a.value == nil {
						return nil, fmt.Errorf("input %d (%q) is not known before the graph runs (want a parameter, a constant or a value computed from shapes): the output's size depends on it", k, n.Inputs[k])
					}
				}
				count, err := RangeCount(in[0].value, in[1].value, in[2].value)
				if err != nil {
					return nil, fmt.Errorf("inputs start, limit, delta (%q, %q, %q) = %v: %v", n.Inputs[0], n.Inputs[1], n.Inputs[2], rangeValues(in), err)
				}
				v := &Tensor{Type: typ}
				RangeForward(v, in[0].value, in[1].value, in[2].value)
				if len(v.Shape) != 1 || v.Shape[0] != count {
					panic("graph: Range's count and forward disagree")
				}
				return []arg{{shape: []int{count}, typ: typ, value: v}}, nil
			},
			forward: func(_ *state, n *Node, out, in []*Tensor) {
				RangeForward(out[0], in[0], in[1], in[2])
			},
			backward: noBackward},
	})
}

// Range: ONNX's 1-D sequence start, start + delta, … up to limit (not
// included), of max(⌈(limit − start)/delta⌉, 0) elements, in float32 or
// int64 (all three inputs scalars of one type). Its size is known only
// from the values, so the inputs must be known before the graph runs
// (constants, or computed from shapes); shape inference computes the
// output then, and the graph never runs the node. As ONNX Runtime does,
// float32 values are accumulated (each the one before plus delta, in
// float32) and the count is ⌈(limit − start)/delta⌉ with the difference
// in float32 and the division in float64; int64 counts are exact.

func rangeValues(in []arg) [3]any {
	var v [3]any
	for k := range v {
		if t := in[k].value; t.Type == Int64 {
			v[k] = t.Int64[0]
		} else {
			v[k] = t.Data[0]
		}
	}
	return v
}

// maxRange bounds Range's count: shape inference computes the values
// (a Range's size is its values'), so a hostile start, limit or delta
// must give an error before it allocates — 2²² elements, 32 MiB of int64,
// far more than the indices of any shape subgraph.
const maxRange = 1 << 22

// RangeCount returns the number of elements of the range from start to
// limit by delta (scalars of one type), or an error naming the values if
// delta is 0 or there are more than maxRange.
func RangeCount(start, limit, delta *Tensor) (int, error) {
	checkAny(start, limit, delta)
	if start.Len() != 1 || limit.Len() != 1 || delta.Len() != 1 || start.Type != limit.Type || start.Type != delta.Type {
		panic(ErrShape)
	}
	if start.Type == Int64 {
		s, l, d := start.Int64[0], limit.Int64[0], delta.Int64[0]
		if d == 0 {
			return 0, fmt.Errorf("delta is 0")
		}
		var diff, step uint64 // the distance to cover and the step, both positive
		switch {
		case d > 0 && l > s:
			diff, step = uint64(l)-uint64(s), uint64(d)
		case d < 0 && s > l:
			diff, step = uint64(s)-uint64(l), -uint64(d)
		default:
			return 0, nil
		}
		c := (diff-1)/step + 1
		if c > maxRange {
			return 0, fmt.Errorf("start %d, limit %d, delta %d: %d elements, more than %d", s, l, d, c, maxRange)
		}
		return int(c), nil
	}
	s, l, d := start.Data[0], limit.Data[0], delta.Data[0]
	if d == 0 {
		return 0, fmt.Errorf("delta is 0")
	}
	c := math.Ceil(float64(l-s) / float64(d))
	if math.IsNaN(c) || c > maxRange {
		return 0, fmt.Errorf("start %v, limit %v, delta %v: %v elements, more than %d", s, l, d, c, maxRange)
	}
	return int(max(c, 0)), nil
}

// RangeForward writes y = the range from start to limit by delta; y takes
// their element type. It panics with ErrShape if RangeCount refuses them.
func RangeForward(y, start, limit, delta *Tensor) {
	c, err := RangeCount(start, limit, delta)
	if err != nil {
		panic(ErrShape)
	}
	resizeAs(y, start.Type, c)
	if start.Type == Int64 {
		v, d := uint64(start.Int64[0]), uint64(delta.Int64[0])
		for i := range y.Int64 {
			y.Int64[i] = int64(v) // two's complement: exact wherever the result fits
			v += d
		}
		return
	}
	v, d := start.Data[0], delta.Data[0]
	for i := range y.Data {
		y.Data[i] = v
		v += d
	}
}
