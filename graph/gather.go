package graph

import (
	"fmt"
	"slices"
)

func init() {
	register(map[string]operator{
		"Gather": {inputs: [2]int{2, 2}, outputs: [2]int{1, 1}, fixed: []int{1}, attrs: map[string]AttrType{"axis": AttrInt},
			infer: func(n *Node, in []arg) ([]arg, error) {
				if in[1].typ != Int64 {
					return nil, fmt.Errorf("input 1 (%q) is %v, want int64", n.Inputs[1], in[1].typ)
				}
				s, ok := GatherShape(in[0].shape, in[1].shape, axisAttr(n, 0))
				if !ok {
					return nil, attrError("axis", n.Int("axis", 0), "outside [−r, r−1] for the data of shape %v", in[0].shape)
				}
				if v := in[1].value; v != nil {
					if err := gatherCheck(n, in[0].shape, v.Int64); err != nil {
						return nil, err
					}
				}
				return []arg{{shape: s, typ: in[0].typ}}, nil
			},
			check: func(n *Node, in []*Tensor) error { return gatherCheck(n, in[0].Shape, in[1].Int64) },
			forward: func(_ *state, n *Node, out, in []*Tensor) {
				GatherForward(out[0], in[0], in[1], axisAttr(n, 0))
			},
			backward: func(_ *state, n *Node, din, dout, out, in []*Tensor) {
				if din[0] != nil && dout[0] != nil {
					GatherBackward(din[0], dout[0], in[1], axisAttr(n, 0))
				}
			}},
	})
}

// Gather: ONNX's indexing along one axis, of float32 or int64 data by
// int64 indices (negative count from the end of the axis): with data
// (outer…, s, inner…) along axis and indices of shape q, the output is
// (outer…, q…, inner…), each index picking a slice of the data. Gathering
// rows of a float matrix is an embedding, and its Backward adds each
// output row's gradient into the row it came from (scatter-add), so that
// an index given twice collects both.
//
// Indices known before the graph runs are checked by Shapes; those from a
// graph input (class labels) are checked by Forward each run, which
// returns a *NodeError naming the input, the index and the range, as ONNX
// Runtime refuses them too. The kernels panic with ErrShape on an index
// out of range: their callers check first (GatherCheck).

// gatherCheck is GatherCheck's error for n's input 1.
func gatherCheck(n *Node, data []int, indices []int64) error {
	a, ok := normAxis(axisAttr(n, 0), len(data))
	if !ok {
		return nil // Shapes refuses the axis
	}
	if i, ok := GatherCheck(indices, data[a]); !ok {
		return fmt.Errorf("input 1 (%q): element %d = %d: index outside [−%d, %d] for axis %d of the data of shape %v", n.Inputs[1], i, indices[i], data[a], data[a]-1, a, data)
	}
	return nil
}

// GatherCheck returns the position of the first index outside [−size,
// size−1] and false, or true if there is none.
func GatherCheck(indices []int64, size int) (int, bool) {
	s := int64(size)
	for i, v := range indices {
		if v < -s || v >= s {
			return i, false
		}
	}
	return 0, true
}

// GatherShape returns the shape of data gathered along axis (negative
// counts from the end) by indices of the shape q: data's dimensions before
// axis, q, and data's after it. It returns false if axis is outside
// [−r, r−1].
func GatherShape(data, q []int, axis int) ([]int, bool) {
	a, ok := normAxis(axis, len(data))
	if !ok {
		return nil, false
	}
	return slices.Concat(data[:a], q, data[a+1:]), true
}

// gatherDims are outer (the product of data's dimensions before axis), the
// size s of the axis and inner (the product after it). They panic with
// ErrShape if axis is outside [−r, r−1].
func gatherDims(data []int, axis int) (outer, s, inner int) {
	a, ok := normAxis(axis, len(data))
	if !ok {
		panic(ErrShape)
	}
	return elements(data[:a]), data[a], elements(data[a+1:])
}

// GatherForward writes y = data gathered along axis by indices (int64);
// y takes data's element type and GatherShape's shape. It panics with
// ErrShape if axis is out of range, indices are not int64 or one is
// outside [−s, s−1].
func GatherForward(y, data, indices *Tensor, axis int) {
	checkAny(data, indices)
	if indices.Type != Int64 {
		panic(ErrShape)
	}
	outer, s, inner := gatherDims(data.Shape, axis)
	if _, ok := GatherCheck(indices.Int64, s); !ok {
		panic(ErrShape)
	}
	a, _ := normAxis(axis, len(data.Shape))
	var buf [8]int
	shape := append(append(append(ints(&buf, 0), data.Shape[:a]...), indices.Shape...), data.Shape[a+1:]...)
	resizeAs(y, data.Type, shape...)
	if data.Type == Int64 {
		gather(y.Int64, data.Int64, indices.Int64, outer, s, inner)
	} else {
		gather(y.Data, data.Data, indices.Int64, outer, s, inner)
	}
}

func gather[T float32 | int64](y, x []T, idx []int64, outer, s, inner int) {
	off := 0
	for o := 0; o < outer; o++ {
		for _, v := range idx {
			if v < 0 {
				v += int64(s)
			}
			src := (o*s + int(v)) * inner
			off += copy(y[off:off+inner], x[src:src+inner])
		}
	}
}

// GatherBackward adds each slice of dy into the slice of ddata (of the
// data's shape) it was gathered from: a slice gathered k times collects k
// gradients. It panics with ErrShape where GatherForward would, or if dy
// does not have the gathered shape.
func GatherBackward(ddata, dy, indices *Tensor, axis int) {
	checkLen(ddata, dy)
	checkAny(indices)
	if indices.Type != Int64 {
		panic(ErrShape)
	}
	outer, s, inner := gatherDims(ddata.Shape, axis)
	if _, ok := GatherCheck(indices.Int64, s); !ok || len(dy.Data) != outer*len(indices.Int64)*inner {
		panic(ErrShape)
	}
	off := 0
	for o := 0; o < outer; o++ {
		for _, v := range indices.Int64 {
			if v < 0 {
				v += int64(s)
			}
			dst := (o*s + int(v)) * inner
			Axpy(ddata.Data[dst:dst+inner], dy.Data[off:off+inner], 1)
			off += inner
		}
	}
}
