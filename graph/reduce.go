package graph

import (
	"fmt"
	"math"
	"slices"
)

// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceSumSquare, ReduceL1,
// ReduceL2 and ReduceLogSumExp: ONNX's (opset 18) reductions. Input 1, the
// axes (int64, optional, each in [−r, r), none twice), must be known
// before the graph runs; no axes reduce over every axis, or, with
// noop_with_empty_axes = 1, reduce over none: each element alone, which
// leaves it as it is but for the elementwise part (ReduceSumSquare gives
// x², ReduceL1 and ReduceL2 |x|, as ONNX's reference and ONNX Runtime
// do). keepdims (default 1)
// keeps the reduced axes as dimensions of 1.
//
// ReduceMax and ReduceMin pass the gradient to the elements equal to the
// result, split equally between ties (PyTorch's amax and amin); ReduceL2's
// gradient x/‖x‖ is 0 where the norm is 0 (PyTorch's norm backward).

// A Reduction is one of the reductions.
type Reduction int

const (
	RSum Reduction = iota
	RMean
	RMax
	RMin
	RSumSquare
	RL1
	RL2
	RLogSumExp
)

var reductionOps = map[string]Reduction{
	"ReduceSum": RSum, "ReduceMean": RMean, "ReduceMax": RMax, "ReduceMin": RMin,
	"ReduceSumSquare": RSumSquare, "ReduceL1": RL1, "ReduceL2": RL2, "ReduceLogSumExp": RLogSumExp,
}

func init() {
	ops := map[string]operator{}
	for name, r := range reductionOps {
		ops[name] = reduceOp(r)
	}
	register(ops)
}

// reduceArgs are a reduction node's axes (nil where left out), keepdims
// and noop_with_empty_axes.
func reduceArgs(n *Node, in []*Tensor) ([]int64, bool, bool) {
	var axes []int64
	if t := at(in, 1); t != nil {
		axes = t.Int64
	}
	return axes, n.Int("keepdims", 1) != 0, n.Int("noop_with_empty_axes", 0) != 0
}

// reduceState is a reduction node's scratch.
type reduceState struct{ scratch Tensor }

func reduceOp(r Reduction) operator {
	return operator{inputs: [2]int{1, 2}, outputs: [2]int{1, 1}, fixed: []int{1},
		attrs: map[string]AttrType{"keepdims": AttrInt, "noop_with_empty_axes": AttrInt},
		infer: func(n *Node, in []arg) ([]arg, error) {
			if in[0].typ != Float32 {
				return nil, fmt.Errorf("input 0 (%q) is %v, want float32", n.Inputs[0], in[0].typ)
			}
			var axes []int64
			if len(in) > 1 && n.Inputs[1] != "" {
				a := in[1]
				switch {
				case a.typ != Int64:
					return nil, fmt.Errorf("input 1 (axes, %q) is %v, want int64", n.Inputs[1], a.typ)
				case len(a.shape) != 1:
					return nil, fmt.Errorf("input 1 (axes, %q) of shape %v, want 1-D", n.Inputs[1], a.shape)
				case a.value == nil:
					return nil, fmt.Errorf("input 1 (axes, %q) is computed as the graph runs; the graph needs it known before", n.Inputs[1])
				}
				axes = a.value.Int64
			}
			s, err := ReduceShape(in[0].shape, axes, n.Int("keepdims", 1) != 0, n.Int("noop_with_empty_axes", 0) != 0)
			if err != nil {
				return nil, fmt.Errorf("input 1 (axes) = %v: %w", axes, err)
			}
			return []arg{{shape: s}}, nil
		},
		forward: func(s *state, n *Node, out, in []*Tensor) {
			axes, keep, noop := reduceArgs(n, in)
			ReduceForward(out[0], in[0], r, axes, keep, noop, scratchOf(s))
		},
		backward: func(s *state, n *Node, din, dout, out, in []*Tensor) {
			if din[0] == nil || dout[0] == nil {
				return
			}
			axes, keep, noop := reduceArgs(n, in)
			ReduceBackward(din[0], dout[0], in[0], out[0], r, axes, keep, noop, scratchOf(s))
		}}
}

// scratchOf is the node's scratch tensor, made on first use.
func scratchOf(s *state) *Tensor {
	rs, ok := s.scratch.(*reduceState)
	if !ok {
		rs = &reduceState{}
		s.scratch = rs
	}
	return &rs.scratch
}

// ReduceShape returns the shape of a reduction of x over axes, or an error
// saying which axis is outside [−r, r) or given twice.
func ReduceShape(x []int, axes []int64, keepdims, noop bool) ([]int, error) {
	var buf [maxStackRank]int
	ks, identity, err := reduceDims(scratchInts(buf[:], len(x)), x, axes, noop)
	if err != nil {
		return nil, err
	}
	if identity {
		return slices.Clone(x), nil
	}
	return reduceOutShape(nil, ks, x, axes, keepdims), nil
}

// reduceDims writes into ks (of x's length) x's shape with the reduced
// dimensions set to 1; identity is a reduction over no axes (none given,
// and noop), ks then x's shape.
func reduceDims(ks, x []int, axes []int64, noop bool) (_ []int, identity bool, err error) {
	if len(axes) == 0 && noop {
		copy(ks, x)
		return ks, true, nil
	}
	if len(axes) == 0 {
		for i := range ks {
			ks[i] = 1
		}
		return ks, false, nil
	}
	copy(ks, x)
	var seen [maxStackRank]bool
	for _, a := range axes {
		d, ok := normAxis(toInt(a), len(x))
		if a != int64(toInt(a)) || !ok {
			return nil, false, fmt.Errorf("axis %d outside [−%d, %d) for the input of shape %v", a, len(x), len(x), x)
		}
		if d < maxStackRank && seen[d] || ks[d] == 1 && x[d] != 1 {
			return nil, false, fmt.Errorf("axis %d given twice", a)
		}
		if d < maxStackRank {
			seen[d] = true
		}
		ks[d] = 1
	}
	return ks, false, nil
}

// ReduceForward writes the reduction r of x over axes into y (keepdims
// and noop_with_empty_axes as ONNX's attributes); scratch (may be nil) is
// a buffer ReduceLogSumExp uses, kept by the caller so that nothing is
// allocated in steady state. It panics with ErrShape if an axis is
// outside x's rank or given twice.
func ReduceForward(y, x *Tensor, r Reduction, axes []int64, keepdims, noop bool, scratch *Tensor) {
	checkLen(x)
	var kbuf, sbuf, obuf [maxStackRank]int
	ks, identity, err := reduceDims(scratchInts(kbuf[:], len(x.Shape)), x.Shape, axes, noop)
	if err != nil {
		panic(ErrShape)
	}
	if identity { // a reduction over no axes: each element alone
		y.Resize(x.Shape...)
	} else {
		y.Resize(reduceOutShape(scratchInts(obuf[:], len(ks))[:0], ks, x.Shape, axes, keepdims)...)
	}
	st := stridesInto(scratchInts(sbuf[:], len(ks)), ks, x.Shape)
	yd, xd := y.Data, x.Data
	switch r {
	case RMax:
		fill32(yd, float32(math.Inf(-1)))
		walkBroadcast(x.Shape, st, st, func(i, iy, _ int) { yd[iy] = max(yd[iy], xd[i]) })
		return
	case RMin:
		fill32(yd, float32(math.Inf(1)))
		walkBroadcast(x.Shape, st, st, func(i, iy, _ int) { yd[iy] = min(yd[iy], xd[i]) })
		return
	case RLogSumExp:
		if scratch == nil {
			scratch = new(Tensor)
		}
		scratch.Resize(len(yd))
		m := scratch.Data
		fill32(m, float32(math.Inf(-1)))
		walkBroadcast(x.Shape, st, st, func(i, iy, _ int) { m[iy] = max(m[iy], xd[i]) })
		clear(yd)
		walkBroadcast(x.Shape, st, st, func(i, iy, _ int) {
			if !math.IsInf(float64(m[iy]), 0) {
				yd[iy] += float32(math.Exp(float64(xd[i] - m[iy])))
			}
		})
		for i, s := range yd {
			if math.IsInf(float64(m[i]), 0) {
				yd[i] = m[i] // every element −∞ (or one +∞)
			} else {
				yd[i] = m[i] + float32(math.Log(float64(s)))
			}
		}
		return
	}
	clear(yd)
	switch r {
	case RSum, RMean:
		walkBroadcast(x.Shape, st, st, func(i, iy, _ int) { yd[iy] += xd[i] })
	case RSumSquare, RL2:
		walkBroadcast(x.Shape, st, st, func(i, iy, _ int) { yd[iy] += xd[i] * xd[i] })
	case RL1:
		walkBroadcast(x.Shape, st, st, func(i, iy, _ int) { yd[iy] += float32(math.Abs(float64(xd[i]))) })
	default:
		panic(ErrShape)
	}
	switch r {
	case RMean:
		c := float32(reduceCount(x, yd))
		for i := range yd {
			yd[i] /= c
		}
	case RL2:
		for i, v := range yd {
			yd[i] = float32(math.Sqrt(float64(v)))
		}
	}
}

// reduceCount is the number of x's elements each of y's sums.
func reduceCount(x *Tensor, yd []float32) int {
	if len(yd) == 0 {
		return 1
	}
	return len(x.Data) / len(yd)
}

func fill32(d []float32, v float32) {
	for i := range d {
		d[i] = v
	}
}

// reduceOutShape appends to out the reduction's output shape: ks with keepdims,
// else x's shape without the axes reduced (every axis where axes is
// empty).
func reduceOutShape(out, ks, x []int, axes []int64, keepdims bool) []int {
	if keepdims {
		return append(out, ks...)
	}
	if len(axes) == 0 {
		return out
	}
	for i, d := range x {
		reduced := false
		for _, a := range axes {
			if k, _ := normAxis(toInt(a), len(x)); k == i {
				reduced = true
			}
		}
		if !reduced {
			out = append(out, d)
		}
	}
	return out
}

// ReduceBackward adds the gradient of the reduction r of x into dx, from
// dy and y, the reduction's output (of either keepdims shape); scratch
// (may be nil) is a buffer ReduceMax and ReduceMin count ties in. It
// panics with ErrShape unless dx has x's shape and dy y's.
func ReduceBackward(dx, dy, x, y *Tensor, r Reduction, axes []int64, keepdims, noop bool, scratch *Tensor) {
	checkLen(dx, dy, x, y)
	var kbuf, sbuf [maxStackRank]int
	ks, _, err := reduceDims(scratchInts(kbuf[:], len(x.Shape)), x.Shape, axes, noop)
	if err != nil || !slices.Equal(dx.Shape, x.Shape) || !slices.Equal(dy.Shape, y.Shape) || len(y.Data) != elements(ks) {
		panic(ErrShape)
	}
	st := stridesInto(scratchInts(sbuf[:], len(ks)), ks, x.Shape)
	xd, yd, gd, d := x.Data, y.Data, dy.Data, dx.Data
	switch r {
	case RSum:
		walkBroadcast(x.Shape, st, st, func(i, iy, _ int) { d[i] += gd[iy] })
	case RMean:
		c := float32(reduceCount(x, yd))
		walkBroadcast(x.Shape, st, st, func(i, iy, _ int) { d[i] += gd[iy] / c })
	case RSumSquare:
		walkBroadcast(x.Shape, st, st, func(i, iy, _ int) { d[i] += 2 * xd[i] * gd[iy] })
	case RL1:
		walkBroadcast(x.Shape, st, st, func(i, iy, _ int) { d[i] += sign32(xd[i]) * gd[iy] })
	case RL2:
		walkBroadcast(x.Shape, st, st, func(i, iy, _ int) {
			if yd[iy] != 0 {
				d[i] += xd[i] / yd[iy] * gd[iy]
			}
		})
	case RLogSumExp:
		walkBroadcast(x.Shape, st, st, func(i, iy, _ int) {
			d[i] += float32(math.Exp(float64(xd[i]-yd[iy]))) * gd[iy]
		})
	case RMax, RMin:
		if scratch == nil {
			scratch = new(Tensor)
		}
		scratch.Resize(len(yd))
		c := scratch.Data
		clear(c)
		walkBroadcast(x.Shape, st, st, func(i, iy, _ int) {
			if xd[i] == yd[iy] {
				c[iy]++
			}
		})
		walkBroadcast(x.Shape, st, st, func(i, iy, _ int) {
			if xd[i] == yd[iy] {
				d[i] += gd[iy] / c[iy]
			}
		})
	default:
		panic(ErrShape)
	}
}
