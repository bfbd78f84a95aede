package graph

import (
	"fmt"
	"math"
	"slices"
)

// The attributes of MaxPool and AveragePool (opset 18).
var (
	maxPoolAttrs = map[string]AttrType{"auto_pad": AttrString, "ceil_mode": AttrInt, "dilations": AttrInts, "kernel_shape": AttrInts,
		"pads": AttrInts, "storage_order": AttrInt, "strides": AttrInts}
	avgPoolAttrs = map[string]AttrType{"auto_pad": AttrString, "ceil_mode": AttrInt, "count_include_pad": AttrInt, "kernel_shape": AttrInts,
		"pads": AttrInts, "strides": AttrInts}
)

// poolState is what a pooling node keeps between calls: its window, read
// for the input shape x, MaxPool's indices where the node does not output
// them (fresh once a Forward wrote them), and scratch.
type poolState struct {
	x     []int
	p     Pool
	idx   Tensor
	fresh bool
	y     Tensor
	shape []int // MaxUnpool's output shape
}

// poolOf returns n's pooling state, its window read for the input shape x
// (again only when x changes). It panics with ErrShape if n's attributes do
// not fit x, which its shape rule has refused.
func poolOf(s *state, n *Node, x []int) *poolState {
	ps, _ := s.scratch.(*poolState)
	if ps == nil {
		ps = new(poolState)
		s.scratch = ps
	}
	if ps.x == nil || !slices.Equal(ps.x, x) {
		if err := readPool(n, x, &ps.p); err != nil {
			panic(ErrShape)
		}
		ps.x = append(ps.x[:0], x...)
		ps.fresh = false
	}
	return ps
}

// poolInfer is MaxPool's and AveragePool's shape rule: the output shape,
// or an error naming the attribute or input at fault.
func poolInfer(n *Node, in []arg) ([]int, error) {
	shapes, err := floatShapes(n, in)
	if err != nil {
		return nil, err
	}
	var p Pool
	if err := readPool(n, shapes[0], &p); err != nil {
		return nil, err
	}
	s, _ := PoolShape(shapes[0], &p)
	return s, nil
}

// readPool reads n's window attributes (kernel_shape, strides, dilations,
// pads, auto_pad, ceil_mode, count_include_pad, storage_order) for the
// input shape x into p, or returns an error naming the attribute and its
// value.
func readPool(n *Node, x []int, p *Pool) error {
	if len(x) != 3 && len(x) != 4 {
		return fmt.Errorf("input 0 (%q) of shape %v: %s runs over 1 or 2 spatial axes here (rank 3 or 4)", n.Inputs[0], x, n.Op)
	}
	dims := len(x) - 2
	pads, hasPads, err := readWindow(n, dims, p)
	if err != nil {
		return err
	}
	ks := n.Attrs["kernel_shape"]
	for _, name := range []string{"ceil_mode", "count_include_pad"} {
		if v := n.Int(name, 0); v != 0 && v != 1 {
			return attrError(name, v, "want 0 or 1")
		}
	}
	p.CeilMode, p.CountIncludePad = n.Int("ceil_mode", 0) == 1, n.Int("count_include_pad", 0) == 1
	if v := n.Int("storage_order", 0); v != 0 {
		return attrError("storage_order", v, "only 0 (indices in row-major order) runs here")
	}
	switch ap := n.Attrs["auto_pad"].String; ap {
	case "", "NOTSET":
	case "VALID", "SAME_UPPER", "SAME_LOWER":
		if hasPads && slices.ContainsFunc(pads.Ints, func(v int64) bool { return v != 0 }) {
			return attrError("auto_pad", ap, "pads %v given too", pads.Ints)
		}
		if ap == "VALID" {
			break
		}
		in := [2]int{1, x[len(x)-1]}
		if dims == 2 {
			in[0] = x[2]
		}
		for ax := 2 - dims; ax < 2; ax++ {
			if p.Dilations[ax] != 1 {
				// The specification pads for the dilated window (output
				// ⌈in/stride⌉); ONNX Runtime pads for the undilated one.
				return attrError("auto_pad", ap, "with dilations %v: not run here", n.Attrs["dilations"].Ints)
			}
			s := p.Strides[ax]
			out := (in[ax] + s - 1) / s
			total := (out-1)*s + p.Kernel[ax] - in[ax]
			if total < 0 {
				return attrError("auto_pad", ap, "kernel_shape %v and strides %v give a negative padding for the input of shape %v", ks.Ints, n.Attrs["strides"].Ints, x)
			}
			p.PadBegin[ax] = total / 2
			if ap == "SAME_LOWER" {
				p.PadBegin[ax] = (total + 1) / 2
			}
			p.PadEnd[ax] = total - p.PadBegin[ax]
		}
		p.CeilMode = false
	default:
		return attrError("auto_pad", ap, "want NOTSET, SAME_UPPER, SAME_LOWER or VALID")
	}
	if _, ok := PoolShape(x, p); !ok {
		_, _, _, oh, ow := p.planesSizes(x)
		switch {
		case oh < 1 || ow < 1:
			return attrError("kernel_shape", ks.Ints, "the window (dilations %v) is larger than the input of shape %v padded by %v", p.Dilations[2-dims:], x, slices.Concat(p.PadBegin[2-dims:], p.PadEnd[2-dims:]))
		case oh*ow > maxPoolPlane || oh > maxPoolPlane || ow > maxPoolPlane:
			return attrError("pads", pads.Ints, "%d×%d outputs a plane for the input of shape %v: more than 2²⁸", oh, ow, x)
		}
		return attrError("pads", pads.Ints, "a window of kernel_shape %v lies in the padding only, for the input of shape %v", ks.Ints, x)
	}
	return nil
}

// planesSizes is planes without the check that every window holds an
// input: its output sizes are 0 where the window does not fit.
func (p *Pool) planesSizes(x []int) (n, h, w, oh, ow int) {
	h, w = 1, x[len(x)-1]
	if len(x) == 4 {
		h = x[2]
	}
	oh = poolSize(h, p.Kernel[0], p.Strides[0], p.Dilations[0], p.PadBegin[0], p.PadEnd[0], p.CeilMode)
	ow = poolSize(w, p.Kernel[1], p.Strides[1], p.Dilations[1], p.PadBegin[1], p.PadEnd[1], p.CeilMode)
	return x[0] * x[1], h, w, oh, ow
}

// windowInts reads the dims values v of attribute name, each in [least,
// 2³¹), into the last dims entries of dst.
func windowInts(dst *[2]int, name string, v []int64, dims int, least int64) error {
	if len(v) != dims {
		return attrError(name, v, "%d values for %d spatial axes", len(v), dims)
	}
	for i, d := range v {
		if d < least || d > math.MaxInt32 {
			return attrError(name, v, "values must be in [%d, 2³¹)", least)
		}
		dst[2-dims+i] = int(d)
	}
	return nil
}

// readWindow reads n's kernel_shape, strides, dilations and pads for dims
// spatial axes into p (cleared first), and returns the pads attribute and
// whether n has it, or an error naming the attribute and its value.
func readWindow(n *Node, dims int, p *Pool) (Attribute, bool, error) {
	*p = Pool{Kernel: [2]int{1, 1}, Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}}
	ks, ok := n.Attrs["kernel_shape"]
	if !ok {
		return ks, false, fmt.Errorf("attribute kernel_shape: missing (%s requires it)", n.Op)
	}
	if err := windowInts(&p.Kernel, "kernel_shape", ks.Ints, dims, 1); err != nil {
		return ks, false, err
	}
	for _, a := range [...]struct {
		name string
		dst  *[2]int
	}{{"strides", &p.Strides}, {"dilations", &p.Dilations}} {
		if v, ok := n.Attrs[a.name]; ok {
			if err := windowInts(a.dst, a.name, v.Ints, dims, 1); err != nil {
				return ks, false, err
			}
		}
	}
	pads, hasPads := n.Attrs["pads"]
	if hasPads {
		if len(pads.Ints) != 2*dims {
			return pads, true, attrError("pads", pads.Ints, "%d values for %d spatial axes, want %d", len(pads.Ints), dims, 2*dims)
		}
		var pb, pe [2]int
		if windowInts(&pb, "pads", pads.Ints[:dims], dims, 0) != nil || windowInts(&pe, "pads", pads.Ints[dims:], dims, 0) != nil {
			return pads, true, attrError("pads", pads.Ints, "values must be in [0, 2³¹)")
		}
		p.PadBegin, p.PadEnd = pb, pe
	}
	return pads, hasPads, nil
}
