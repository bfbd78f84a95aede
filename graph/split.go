package graph

import (
	"fmt"
	"math"
)

func init() {
	register(map[string]operator{
		"Split": {inputs: [2]int{1, 2}, outputs: [2]int{1, math.MaxInt}, fixed: []int{1}, attrs: map[string]AttrType{"axis": AttrInt, "num_outputs": AttrInt},
			infer: func(n *Node, in []arg) ([]arg, error) {
				var split []int64
				if at(n.Inputs, 1) != "" {
					var err error
					if split, err = knownInts(n, in, 1); err != nil {
						return nil, err
					}
					if len(in[1].shape) != 1 {
						return nil, inputError(n, 1, split, "of shape %v, want 1-D", in[1].shape)
					}
				}
				parts, err := splitParts(n, in[0].shape, split)
				if err != nil {
					return nil, err
				}
				a, _ := normAxis(axisAttr(n, 0), len(in[0].shape))
				out := make([]arg, len(n.Outputs))
				for k := range out {
					s := append([]int(nil), in[0].shape...)
					s[a] = parts[k]
					out[k] = arg{shape: s, typ: in[0].typ}
				}
				return out, nil
			},
			forward: func(s *state, n *Node, out, in []*Tensor) {
				parts := splitScratch(s, n, in)
				SplitForward(out, in[0], parts, axisAttr(n, 0))
			},
			backward: func(s *state, n *Node, din, dout, out, in []*Tensor) {
				if din[0] != nil {
					SplitBackward(din[0], dout, splitScratch(s, n, in), axisAttr(n, 0))
				}
			}},
	})
}

// Split: ONNX's (opset 18) split of float32 or int64 data along axis
// (default 0) into its outputs: by the sizes of the split input (known
// before the graph runs, one per output, summing to the axis's size), or
// without it into num_outputs parts of ⌈d/num_outputs⌉ each, the last
// smaller but not empty (num_outputs, where given, is the number of outputs; without it
// and without split, the older opsets' equal parts, which must divide
// the axis). Backward writes each output's gradient into its part of the
// input's; an output no gradient reaches adds nothing.

// splitParts returns the sizes of n's parts of data along its axis, or an
// error naming the attribute or the split input and the value.
func splitParts(n *Node, data []int, split []int64) ([]int, error) {
	axis := n.Int("axis", 0)
	a, ok := normAxis(toInt(axis), len(data))
	if !ok {
		return nil, attrError("axis", axis, "outside [−%d, %d] for the data of shape %v", len(data), len(data)-1, data)
	}
	d, k := data[a], len(n.Outputs)
	parts := make([]int, k)
	num, hasNum := n.Attrs["num_outputs"]
	switch {
	case split != nil && hasNum:
		return nil, attrError("num_outputs", num.Int, "given with the split input %q", n.Inputs[1])
	case split != nil:
		if len(split) != k {
			return nil, inputError(n, 1, split, "%d sizes for %d outputs", len(split), k)
		}
		sum := int64(0)
		for i, s := range split {
			if s < 0 || s > int64(d) {
				return nil, inputError(n, 1, split, "size %d outside [0, %d], the size of axis %d", s, d, a)
			}
			sum += s
			parts[i] = int(s)
		}
		if sum != int64(d) {
			return nil, inputError(n, 1, split, "sizes sum to %d, not %d, the size of axis %d of the data of shape %v", sum, d, a, data)
		}
	case hasNum:
		if num.Int != int64(k) {
			return nil, attrError("num_outputs", num.Int, "the node has %d outputs", k)
		}
		part := (d + k - 1) / k
		if last := d - part*(k-1); last < 1 {
			// ONNX Runtime refuses an empty last part too.
			return nil, attrError("num_outputs", num.Int, "axis %d of size %d does not split into %d parts of %d and a last one of at least 1", a, d, k, part)
		}
		for i := range parts {
			parts[i] = min(part, d-part*i)
		}
	default:
		if d%k != 0 {
			return nil, fmt.Errorf("%d outputs without num_outputs or the split input: axis %d of size %d does not split into %d equal parts", k, a, d, k)
		}
		for i := range parts {
			parts[i] = d / k
		}
	}
	return parts, nil
}

// splitScratch is the node's part sizes, computed on the first call and
// kept in its state.
func splitScratch(s *state, n *Node, in []*Tensor) []int {
	if parts, ok := s.scratch.([]int); ok {
		return parts
	}
	parts, err := splitParts(n, in[0].Shape, ints64(at(in, 1)))
	if err != nil {
		panic(ErrShape) // Shapes refused the node
	}
	s.scratch = parts
	return parts
}

// SplitForward writes ys[k] = part k of x along axis, of parts[k]
// elements (ys[k] nil: left out); each takes x's element type. It panics
// with ErrShape if the parts do not sum to the axis's size or axis is out
// of range.
func SplitForward(ys []*Tensor, x *Tensor, parts []int, axis int) {
	checkAny(x)
	outer, d, inner := splitDims(x.Shape, parts, axis)
	a, _ := normAxis(axis, len(x.Shape))
	var buf [8]int
	shape := append(ints(&buf, 0), x.Shape...)
	off := 0
	for k, y := range ys {
		p := parts[k]
		if y != nil {
			shape[a] = p
			resizeAs(y, x.Type, shape...)
			if x.Type == Int64 {
				splitCopy(y.Int64, x.Int64, outer, d, inner, off, p)
			} else {
				splitCopy(y.Data, x.Data, outer, d, inner, off, p)
			}
		}
		off += p
	}
}

func splitCopy[T float32 | int64](y, x []T, outer, d, inner, off, p int) {
	for o := 0; o < outer; o++ {
		copy(y[o*p*inner:(o+1)*p*inner], x[(o*d+off)*inner:(o*d+off+p)*inner])
	}
}

// SplitBackward adds each dys[k] (nil: no gradient) into its part of dx.
// It panics with ErrShape where SplitForward would, or if a dys[k] does
// not have its part's size.
func SplitBackward(dx *Tensor, dys []*Tensor, parts []int, axis int) {
	checkLen(dx)
	outer, d, inner := splitDims(dx.Shape, parts, axis)
	off := 0
	for k, dy := range dys {
		p := parts[k]
		if dy != nil {
			checkLen(dy)
			if len(dy.Data) != outer*p*inner {
				panic(ErrShape)
			}
			for o := 0; o < outer; o++ {
				Axpy(dx.Data[(o*d+off)*inner:(o*d+off+p)*inner], dy.Data[o*p*inner:(o+1)*p*inner], 1)
			}
		}
		off += p
	}
}

// splitDims are the product of x's dimensions before axis, the axis's
// size and the product after it; it panics with ErrShape unless the parts
// sum to the axis's size.
func splitDims(x, parts []int, axis int) (outer, d, inner int) {
	a, ok := normAxis(axis, len(x))
	if !ok {
		panic(ErrShape)
	}
	sum := 0
	for _, p := range parts {
		if p < 0 {
			panic(ErrShape)
		}
		sum += p
	}
	if sum != x[a] {
		panic(ErrShape)
	}
	return elements(x[:a]), x[a], elements(x[a+1:])
}
