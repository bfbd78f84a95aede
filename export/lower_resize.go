package export

import (
	"slices"

	"github.com/aebridge/aebridge/graph"
)

// The down-conversions that expand inputs given for some axes to every
// axis: Resize's and Pad's, whose axes came in opset 18.

// lowerResize writes Resize below 18, which has no antialias,
// keep_aspect_ratio_policy or axes (scales and sizes cover every axis),
// and below 13, where roi and scales must be given (empty where unused).
func lowerResize(l *lowering, n *graph.Node) ([]*graph.Node, error) {
	const roi, scales, sizes = 1, 2, 3
	if err := l.dropDefault(n, 18, "antialias", graph.Int(0)); err != nil {
		return nil, err
	}
	if input(n, sizes) == "" {
		delete(n.Attrs, "keep_aspect_ratio_policy") // it applies to sizes only
	}
	if err := l.dropDefault(n, 18, "keep_aspect_ratio_policy", graph.String("stretch")); err != nil {
		return nil, err
	}
	if a, ok := n.Attrs["axes"]; ok {
		delete(n.Attrs, "axes")
		shape := l.infos[input(n, 0)].Shape
		r := len(shape)
		axes, ok := normAxes(a.Ints, r)
		if !ok {
			return nil, l.errorf(n, "", "attribute axes = %v: outside the input's rank %d", a.Ints, r)
		}
		if !slices.Equal(axes, identity(r)) {
			if err := l.resizeAxes(n, a.Ints, axes, shape); err != nil {
				return nil, err
			}
		}
	}
	if l.opset < 13 {
		for _, k := range []int{roi, scales} {
			if input(n, k) == "" {
				if l.empty == "" {
					l.empty = l.initializer("resize_empty", graph.NewTensor(0))
				}
				setInput(n, k, l.empty)
			}
		}
	}
	return []*graph.Node{n}, nil
}

func identity(r int) []int {
	s := make([]int, r)
	for i := range s {
		s[i] = i
	}
	return s
}

// resizeAxes expands Resize's roi, scales and sizes, given for the axes,
// to every axis of the input's shape: roi [0, 1], scale 1 and the input's
// size on the others.
func (l *lowering) resizeAxes(n *graph.Node, attr []int64, axes, shape []int) error {
	const roi, scales, sizes = 1, 2, 3
	r := len(shape)
	pos := make([]int, r) // of each axis in the given values, −1 for none
	for d := range pos {
		pos[d] = slices.Index(axes, d)
	}
	given := func(k int, typ graph.DType, per int) (*graph.Tensor, error) {
		if input(n, k) == "" {
			return nil, nil
		}
		t, err := l.constant(n, k, typ)
		if err == nil && t.Len() != per*len(axes) {
			err = l.errorf(n, input(n, k), "%d values for the %d axes %v", t.Len(), len(axes), attr)
		}
		return t, err
	}
	t, err := given(roi, graph.Float32, 2)
	if err != nil {
		return err
	}
	if t != nil {
		full := make([]float32, 2*r)
		for d, j := range pos {
			full[r+d] = 1
			if j >= 0 {
				full[d], full[r+d] = t.Data[j], t.Data[len(axes)+j]
			}
		}
		n.Inputs[roi] = l.initializer(n.Name+"/roi", &graph.Tensor{Shape: []int{2 * r}, Data: full})
	}
	if t, err = given(scales, graph.Float32, 1); err != nil {
		return err
	}
	if t != nil {
		full := make([]float32, r)
		for d, j := range pos {
			full[d] = 1
			if j >= 0 {
				full[d] = t.Data[j]
			}
		}
		n.Inputs[scales] = l.initializer(n.Name+"/scales", &graph.Tensor{Shape: []int{r}, Data: full})
	}
	if t, err = given(sizes, graph.Int64, 1); err != nil {
		return err
	}
	if t != nil {
		full := make([]int64, r)
		for d, j := range pos {
			switch {
			case j >= 0:
				full[d] = t.Int64[j]
			case shape[d] < 0:
				return l.errorf(n, input(n, 0), "attribute axes = %v: opset %d needs sizes for every axis, and dimension %d depends on the batch size", attr, l.opset, d)
			default:
				full[d] = int64(shape[d])
			}
		}
		n.Inputs[sizes] = l.initializer(n.Name+"/sizes", int64s(full))
	}
	return nil
}

// lowerPad writes Pad below 18, which has no axes input: the pads are
// expanded to every axis, 0 on the others. Mode wrap came in opset 19,
// after every opset written.
func lowerPad(l *lowering, n *graph.Node) ([]*graph.Node, error) {
	if a, ok := n.Attrs["mode"]; ok && a.String == "wrap" {
		return nil, l.errorf(n, "", "attribute mode = \"wrap\": came in opset 19")
	}
	if l.opset >= 18 || input(n, 3) == "" {
		return []*graph.Node{n}, nil
	}
	axesT, err := l.constant(n, 3, graph.Int64)
	if err != nil {
		return nil, err
	}
	pads, err := l.constant(n, 1, graph.Int64)
	if err != nil {
		return nil, err
	}
	r := l.rank(n, 0)
	axes, ok := normAxes(axesT.Int64, r)
	if !ok || len(pads.Int64) != 2*len(axes) {
		return nil, l.errorf(n, input(n, 3), "axes %v and pads %v do not fit an input of rank %d", axesT.Int64, pads.Int64, r)
	}
	full := make([]int64, 2*r)
	for i, a := range axes {
		full[a], full[a+r] = pads.Int64[i], pads.Int64[i+len(axes)]
	}
	n.Inputs[1] = l.initializer(n.Name+"/pads", int64s(full))
	dropInputs(n, 3)
	for len(n.Inputs) > 1 && n.Inputs[len(n.Inputs)-1] == "" {
		n.Inputs = n.Inputs[:len(n.Inputs)-1]
	}
	return []*graph.Node{n}, nil
}
