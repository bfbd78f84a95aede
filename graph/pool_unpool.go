package graph

import (
	"fmt"
	"slices"
)

func init() {
	register(map[string]operator{
		"MaxUnpool": {inputs: [2]int{2, 3}, outputs: [2]int{1, 1}, fixed: []int{1, 2}, attrs: map[string]AttrType{"kernel_shape": AttrInts, "pads": AttrInts, "strides": AttrInts},
			infer: func(n *Node, in []arg) ([]arg, error) {
				s, err := maxUnpoolShape(n, in, nil)
				return []arg{{shape: s}}, err
			},
			forward: func(s *state, n *Node, out, in []*Tensor) {
				ps, _ := s.scratch.(*poolState)
				if ps == nil {
					ps = new(poolState)
					s.scratch = ps
				}
				if v := at(in, 2); v != nil { // output_shape, which the shape rule checked
					ps.shape = ps.shape[:0]
					for _, d := range v.Int64 {
						ps.shape = append(ps.shape, int(d))
					}
				} else if ps.x == nil || !slices.Equal(ps.x, in[0].Shape) {
					shape, err := maxUnpoolShape(n, []arg{{shape: in[0].Shape}, {shape: in[1].Shape, typ: Int64}}[:len(n.Inputs)], ps.shape[:0])
					if err != nil {
						panic(ErrShape) // the shape rule refused it
					}
					ps.x, ps.shape = append(ps.x[:0], in[0].Shape...), shape
				}
				MaxUnpoolForward(out[0], in[0], in[1], ps.shape)
			},
			backward: func(s *state, n *Node, din, dout, out, in []*Tensor) {
				if din[0] != nil && dout[0] != nil {
					MaxUnpoolBackward(din[0], dout[0], in[1])
				}
			}},
	})
}

// maxUnpoolShape is MaxUnpool's shape rule, appending the output shape to
// dst: output_shape's value where the node has that input, else each
// spatial axis of X unpooled, (in − 1)·strides + kernel_shape − pads.
func maxUnpoolShape(n *Node, in []arg, dst []int) ([]int, error) {
	x := in[0].shape
	if in[0].typ != Float32 {
		return nil, fmt.Errorf("input 0 (%q) is %v, want float32", n.Inputs[0], in[0].typ)
	}
	if in[1].typ != Int64 || !slices.Equal(in[1].shape, x) {
		return nil, fmt.Errorf("input 1 (%q): %v of shape %v, want int64 indices of X's shape %v", n.Inputs[1], in[1].typ, in[1].shape, x)
	}
	if len(x) != 3 && len(x) != 4 {
		return nil, fmt.Errorf("input 0 (%q) of shape %v: MaxUnpool runs over 1 or 2 spatial axes here (rank 3 or 4)", n.Inputs[0], x)
	}
	var p Pool
	if _, _, err := readWindow(n, len(x)-2, &p); err != nil {
		return nil, err
	}
	if len(in) > 2 && n.Inputs[2] != "" {
		v := in[2].value
		if v == nil {
			return nil, fmt.Errorf("input 2 (%q): output_shape not known before the graph runs", n.Inputs[2])
		}
		if v.Type != Int64 || len(v.Int64) != len(x) || v.Int64[0] != int64(x[0]) || v.Int64[1] != int64(x[1]) || slices.Min(v.Int64[2:]) < 1 {
			return nil, fmt.Errorf("input 2 (%q): output_shape %v, want %d positive sizes starting %v", n.Inputs[2], v.Int64, len(x), x[:2])
		}
		total := int64(1)
		for _, d := range v.Int64 {
			if total *= d; d > maxUnpoolOutput || total > maxUnpoolOutput { // no overflow: both below 2³¹ before
				return nil, fmt.Errorf("input 2 (%q): output_shape %v: more than 2³¹ values", n.Inputs[2], v.Int64)
			}
			dst = append(dst, int(d))
		}
		return dst, nil
	}
	dst = append(dst, x[:2]...)
	for ax := 4 - len(x); ax < 2; ax++ {
		d := (x[ax+len(x)-2]-1)*p.Strides[ax] + p.Kernel[ax] - p.PadBegin[ax] - p.PadEnd[ax]
		if d < 1 {
			return nil, attrError("pads", n.Attrs["pads"].Ints, "leave no output along spatial axis %d for the input of shape %v", ax+len(x)-4, x)
		}
		dst = append(dst, d)
	}
	if !atMost(dst, maxUnpoolOutput) {
		return nil, fmt.Errorf("output of shape %v: more than 2³¹ values", dst)
	}
	return dst, nil
}

// atMost reports whether the shape holds at most limit (≤ 2³¹) values,
// multiplying without overflow.
func atMost(shape []int, limit int) bool {
	n := 1
	for _, d := range shape {
		if d > limit {
			return false
		}
		if n *= d; n > limit {
			return false
		}
	}
	return true
}

// maxUnpoolOutput is the most values a MaxUnpool output may hold (a larger
// one is refused rather than allocated).
const maxUnpoolOutput = 1 << 31

// MaxUnpoolForward writes y, of the shape, 0 but at the flat indices
// (int64, x's shape), where it takes x's values, the later of two at one
// index (ONNX MaxUnpool, the inverse of MaxPool with its indices). An
// index outside y is dropped (ONNX Runtime refuses the tensor). It panics
// with ErrShape if indices do not have x's shape.
func MaxUnpoolForward(y, x, indices *Tensor, shape []int) {
	checkLen(x)
	if indices.Type != Int64 || !slices.Equal(indices.Shape, x.Shape) || len(indices.Int64) != x.Len() {
		panic(ErrShape)
	}
	y.Resize(shape...)
	clear(y.Data)
	n := int64(len(y.Data))
	for k, at := range indices.Int64 {
		if uint64(at) < uint64(n) {
			y.Data[at] = x.Data[k]
		}
	}
}

// MaxUnpoolBackward adds into dx (may be nil) the gradient dy at each
// index, as PyTorch does (also where two indices are the same). It panics
// with ErrShape if the shapes do not fit.
func MaxUnpoolBackward(dx, dy, indices *Tensor) {
	if dx == nil {
		return
	}
	checkLen(dx, dy)
	if indices.Type != Int64 || !slices.Equal(indices.Shape, dx.Shape) || len(indices.Int64) != dx.Len() {
		panic(ErrShape)
	}
	n := int64(len(dy.Data))
	for k, at := range indices.Int64 {
		if uint64(at) < uint64(n) {
			dx.Data[k] += dy.Data[at]
		}
	}
}
