package graph

import (
	"fmt"
	"slices"
)

func init() {
	register(map[string]operator{
		"Pad": {inputs: [2]int{2, 4}, outputs: [2]int{1, 1}, fixed: []int{1, 2, 3}, attrs: map[string]AttrType{"mode": AttrString},
			infer: func(n *Node, in []arg) ([]arg, error) {
				mode, ok := padModeOf(n)
				if !ok {
					return nil, attrError("mode", fmt.Sprintf("%q", n.Attrs["mode"].String), "want constant, reflect, edge or wrap")
				}
				pads, err := knownInts(n, in, 1)
				if err != nil {
					return nil, err
				}
				if len(in[1].shape) != 1 {
					return nil, inputError(n, 1, pads, "of shape %v, want 1-D", in[1].shape)
				}
				var axes []int64
				if at(n.Inputs, 3) != "" {
					if axes, err = knownInts(n, in, 3); err != nil {
						return nil, err
					}
					if len(in[3].shape) != 1 {
						return nil, inputError(n, 3, axes, "of shape %v, want 1-D", in[3].shape)
					}
				}
				if at(n.Inputs, 2) != "" {
					if v := in[2]; v.typ != in[0].typ || elements(v.shape) != 1 || len(v.shape) > 1 {
						return nil, fmt.Errorf("input 2 (%q) is %v of shape %v, want one %v value (the data's type)", n.Inputs[2], v.typ, v.shape, in[0].typ)
					}
				}
				s, k, err := PadShape(in[0].shape, pads, axes, mode)
				if err != nil {
					if k == 3 {
						return nil, inputError(n, 3, axes, "%v", err)
					}
					return nil, inputError(n, 1, pads, "%v", err)
				}
				if c, _ := checkedElements(s); in[0].typ == Int64 && c > maxRange {
					// int64 data (shapes, indices) known before the graph runs
					// is padded by shape inference itself: bound what it
					// allocates, as Range's.
					return nil, inputError(n, 1, pads, "int64 data padded to shape %v: more than %d elements", s, maxRange)
				}
				return []arg{{shape: s, typ: in[0].typ}}, nil
			},
			forward: func(_ *state, n *Node, out, in []*Tensor) {
				mode, _ := padModeOf(n)
				PadForward(out[0], in[0], in[1].Int64, ints64(at(in, 3)), at(in, 2), mode)
			},
			backward: func(_ *state, n *Node, din, dout, out, in []*Tensor) {
				if din[0] != nil && dout[0] != nil {
					mode, _ := padModeOf(n)
					PadBackward(din[0], dout[0], in[1].Int64, ints64(at(in, 3)), mode)
				}
			}},
	})
}

// Pad: ONNX's padding (opset 18's form; wrap is opset 19's mode) of
// float32 or int64 data by int64 pads, known before the graph runs: for
// the axes (input 3; default every axis, negative count from the end)
// the amounts before, then the amounts after, each axis. A negative pad
// removes that many elements from its side. The new elements are
// constant (input 2, default 0), edge (the nearest element repeated),
// reflect (mirrored about the edge element, which is not repeated) or
// wrap (from the other end, as if the axis were a ring). As in ONNX
// Runtime, the negative pads crop first and the padding is over what is
// left: reflect needs each pad below that size, edge and wrap an axis
// of at least one element where they pad, and wrap pads at most that
// size (ONNX Runtime 1.30 writes zeros where a wrap before an axis goes
// round it more than once).

// PadMode is the way Pad fills its new elements.
type PadMode uint8

// The modes of Pad.
const (
	PadConstant PadMode = iota
	PadReflect
	PadEdge
	PadWrap
)

func (m PadMode) String() string {
	return [...]string{"constant", "reflect", "edge", "wrap"}[m]
}

// padModeOf is the node's mode attribute (constant without one), or false
// for a mode that is not Pad's.
func padModeOf(n *Node) (PadMode, bool) {
	a, ok := n.Attrs["mode"]
	if !ok {
		return PadConstant, true
	}
	for m := PadConstant; m <= PadWrap; m++ {
		if a.String == m.String() {
			return m, true
		}
	}
	return 0, false
}

// padDim is one axis of a padding: before new elements at the start, the
// input's elements kept from crop on, size of them.
type padDim struct{ before, crop, size int }

// padDims writes the padding of each axis of x into pd and returns the
// padded shape in shape, or the input at fault (1 pads, 3 axes) and an
// error naming the value.
func padDims(pd []padDim, shape, x []int, pads, axes []int64, mode PadMode) (int, error) {
	r := len(x)
	if axes == nil {
		if len(pads) != 2*r {
			return 1, fmt.Errorf("%d pads for the data of shape %v, want %d", len(pads), x, 2*r)
		}
	} else if len(pads) != 2*len(axes) {
		return 1, fmt.Errorf("%d pads for the %d axes %v, want %d", len(pads), len(axes), axes, 2*len(axes))
	}
	for d := range pd {
		pd[d] = padDim{0, 0, x[d]}
	}
	var buf [8]int
	seen := ints(&buf, r)
	n := r
	if axes != nil {
		n = len(axes)
	}
	for i := 0; i < n; i++ {
		d := i
		if axes != nil {
			var ok bool
			if d, ok = normAxis(toInt(axes[i]), r); !ok {
				return 3, fmt.Errorf("axis %d outside [−%d, %d] for the data of shape %v", axes[i], r, r-1, x)
			}
		}
		if seen[d] != 0 {
			return 3, fmt.Errorf("axis %d given twice", d)
		}
		seen[d] = 1
		lo, hi := pads[i], pads[i+n]
		dim := int64(x[d])
		if lo < -dim || hi < -dim || lo > maxElements || hi > maxElements {
			return 1, fmt.Errorf("pads %d and %d for axis %d of size %d: outside [−%d, %d]", lo, hi, d, dim, dim, maxElements)
		}
		size := dim + min(lo, 0) + min(hi, 0)
		if size < 0 {
			return 1, fmt.Errorf("pads %d and %d for axis %d of size %d remove more than it has", lo, hi, d, dim)
		}
		before, after := max(lo, 0), max(hi, 0)
		switch {
		case mode == PadReflect && (before > size-1 || after > size-1) && before+after > 0:
			return 1, fmt.Errorf("pads %d and %d for axis %d: reflect pads at most %d, one less than the %d elements left", lo, hi, d, max(size-1, 0), size)
		case mode == PadWrap && (before > size || after > size):
			return 1, fmt.Errorf("pads %d and %d for axis %d: wrap pads at most the %d elements left (ONNX Runtime fills further pads before an axis with zeros)", lo, hi, d, size)
		case (mode == PadEdge || mode == PadWrap) && size == 0 && before+after > 0:
			return 1, fmt.Errorf("pads %d and %d for axis %d: %s padding of an axis with no elements left", lo, hi, d, mode)
		}
		pd[d] = padDim{int(before), int(-min(lo, 0)), int(size)}
		shape[d] = int(size + before + after)
	}
	for d := range pd {
		if seen[d] == 0 {
			shape[d] = x[d]
		}
	}
	if _, ok := checkedElements(shape); !ok {
		return 1, fmt.Errorf("padded shape %v: more than %d elements", slices.Clone(shape), maxElements)
	}
	return 0, nil
}

// PadShape returns the shape of x padded by pads over axes (nil: every
// axis) in the mode, or the input at fault (1 pads, 3 axes) and an error
// naming the value.
func PadShape(x []int, pads, axes []int64, mode PadMode) ([]int, int, error) {
	pd, shape := make([]padDim, len(x)), make([]int, len(x))
	if k, err := padDims(pd, shape, x, pads, axes, mode); err != nil {
		return nil, k, err
	}
	return shape, 0, nil
}

// source is the index along the axis that output index o reads, or false
// for a constant.
func (p padDim) source(o int, mode PadMode) (int, bool) {
	j := o - p.before
	if j < 0 || j >= p.size {
		switch mode {
		case PadConstant:
			return 0, false
		case PadEdge:
			j = min(max(j, 0), p.size-1)
		case PadReflect:
			if j < 0 {
				j = -j
			} else {
				j = 2*(p.size-1) - j
			}
		case PadWrap:
			j %= p.size
			if j < 0 {
				j += p.size
			}
		}
	}
	return p.crop + j, true
}

// padView fills pd and shape for x, or panics with ErrShape.
func padView(pd []padDim, shape, x []int, pads, axes []int64, mode PadMode) {
	if _, err := padDims(pd, shape, x, pads, axes, mode); err != nil {
		panic(ErrShape)
	}
}

// padWalk calls row(i, base, ok) for each row (last axis) of the padded
// tensor: i its first element, base the offset in x of the row it reads
// from (the outer axes mapped back), ok false where the row is all
// constant.
func padWalk(pd []padDim, shape, x []int, mode PadMode, row func(i, base int, ok bool)) {
	r := len(shape)
	total := elements(shape)
	if total == 0 {
		return
	}
	if r == 0 {
		row(0, 0, true)
		return
	}
	var b1, b2 [8]int
	idx, st := ints(&b1, r), rowStrides(ints(&b2, r), x)
	last := shape[r-1]
	for i := 0; i < total; i += last {
		base, ok := 0, true
		for d := 0; d < r-1 && ok; d++ {
			var s int
			s, ok = pd[d].source(idx[d], mode)
			base += s * st[d]
		}
		row(i, base, ok)
		for d := r - 2; d >= 0; d-- {
			if idx[d]++; idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
}

// padRow writes one padded row y from the input row x.
func padRow[T float32 | int64](y, x []T, p padDim, mode PadMode, value T) {
	copy(y[p.before:p.before+p.size], x[p.crop:p.crop+p.size])
	for o := 0; o < p.before; o++ {
		y[o] = padElement(x, p, mode, value, o)
	}
	for o := p.before + p.size; o < len(y); o++ {
		y[o] = padElement(x, p, mode, value, o)
	}
}

func padElement[T float32 | int64](x []T, p padDim, mode PadMode, value T, o int) T {
	if s, ok := p.source(o, mode); ok {
		return x[s]
	}
	return value
}

// PadForward writes y = x padded by pads over axes (nil: every axis) in
// the mode; value (nil: 0), a tensor of one element of x's type, is the
// constant. y takes x's element type and PadShape's shape. It panics with
// ErrShape if PadShape refuses the lists.
func PadForward(y, x *Tensor, pads, axes []int64, value *Tensor, mode PadMode) {
	checkAny(x, value)
	r := len(x.Shape)
	var bp [8]padDim
	var bs [8]int
	pd := bp[:0]
	if r <= len(bp) {
		pd = bp[:r]
	} else {
		pd = make([]padDim, r)
	}
	shape := ints(&bs, r)
	padView(pd, shape, x.Shape, pads, axes, mode)
	if value != nil && (value.Type != x.Type || value.Len() != 1) {
		panic(ErrShape)
	}
	resizeAs(y, x.Type, shape...)
	if x.Type == Int64 {
		var v int64
		if value != nil {
			v = value.Int64[0]
		}
		padRows(y.Int64, x.Int64, pd, shape, x.Shape, mode, v)
	} else {
		var v float32
		if value != nil {
			v = value.Data[0]
		}
		padRows(y.Data, x.Data, pd, shape, x.Shape, mode, v)
	}
}

func padRows[T float32 | int64](y, x []T, pd []padDim, shape, xs []int, mode PadMode, v T) {
	r := len(shape)
	if r == 0 {
		copy(y, x)
		return
	}
	last, in := shape[r-1], xs[r-1]
	padWalk(pd, shape, xs, mode, func(i, base int, ok bool) {
		row := y[i : i+last]
		if !ok {
			fill(row, v)
			return
		}
		padRow(row, x[base:base+in], pd[r-1], mode, v)
	})
}

// PadBackward adds dy into the elements of dx (of x's shape) that
// PadForward read: each element collects the gradients of every output
// element it was copied to (an edge element, its repeats). It panics with
// ErrShape if PadShape refuses the lists or dy does not have the padded
// shape.
func PadBackward(dx, dy *Tensor, pads, axes []int64, mode PadMode) {
	checkLen(dx, dy)
	r := len(dx.Shape)
	var bp [8]padDim
	var bs [8]int
	pd := bp[:0]
	if r <= len(bp) {
		pd = bp[:r]
	} else {
		pd = make([]padDim, r)
	}
	shape := ints(&bs, r)
	padView(pd, shape, dx.Shape, pads, axes, mode)
	if !slices.Equal(shape, dy.Shape) {
		panic(ErrShape)
	}
	if r == 0 {
		dx.Data[0] += dy.Data[0]
		return
	}
	last, in, p := shape[r-1], dx.Shape[r-1], pd[r-1]
	padWalk(pd, shape, dx.Shape, mode, func(i, base int, ok bool) {
		if !ok {
			return
		}
		row, x := dy.Data[i:i+last], dx.Data[base:base+in]
		Axpy(x[p.crop:p.crop+p.size], row[p.before:p.before+p.size], 1)
		add := func(o int) {
			if s, ok := p.source(o, mode); ok {
				x[s] += row[o]
			}
		}
		for o := 0; o < p.before; o++ {
			add(o)
		}
		for o := p.before + p.size; o < len(row); o++ {
			add(o)
		}
	})
}
