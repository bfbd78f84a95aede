package graph

import (
	"fmt"
	"slices"
)

// maxResizeOutput is the most values a Resize output may hold (a larger
// one is refused rather than allocated).
const maxResizeOutput = 1 << 31

// The coordinate transformations and nearest modes that run.
var (
	resizeCoords  = []string{"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn"}
	resizeNearest = []string{"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}
)

// readResize reads n's attributes and its scales or sizes input (in[2] or
// in[3], which must be known before the graph runs) for the input in[0]
// into r, or returns an error naming the attribute or input and its value.
func readResize(n *Node, in []arg, r *Resize) error {
	x := in[0].shape
	if in[0].typ != Float32 {
		return fmt.Errorf("input 0 (%q) is %v, want float32", n.Inputs[0], in[0].typ)
	}
	if len(x) == 0 || slices.Min(x) < 1 {
		return fmt.Errorf("input 0 (%q) of shape %v: Resize runs on tensors of one or more axes, none empty", n.Inputs[0], x)
	}
	*r = Resize{Mode: "nearest", Coord: "half_pixel", NearestMode: "round_prefer_floor"}
	if a, ok := n.Attrs["mode"]; ok {
		r.Mode = a.String
	}
	if a, ok := n.Attrs["coordinate_transformation_mode"]; ok {
		r.Coord = a.String
	}
	if a, ok := n.Attrs["nearest_mode"]; ok {
		r.NearestMode = a.String
	}
	switch {
	case r.Mode != "nearest" && r.Mode != "linear" && r.Mode != "cubic":
		return attrError("mode", r.Mode, "want nearest, linear or cubic")
	case r.Coord == "tf_crop_and_resize":
		return attrError("coordinate_transformation_mode", r.Coord, "not run here (%v are)", resizeCoords)
	case !slices.Contains(resizeCoords, r.Coord):
		return attrError("coordinate_transformation_mode", r.Coord, "want one of %v", resizeCoords)
	case !slices.Contains(resizeNearest, r.NearestMode):
		return attrError("nearest_mode", r.NearestMode, "want one of %v", resizeNearest)
	case n.Int("antialias", 0) != 0:
		return attrError("antialias", n.Int("antialias", 0), "only 0 runs here")
	case n.Int("exclude_outside", 0) != 0 && (r.Mode != "cubic" || n.Int("exclude_outside", 0) != 1):
		return attrError("exclude_outside", n.Int("exclude_outside", 0), "only 0, or 1 with mode cubic, runs here")
	}
	r.CubicA, r.ExcludeOutside = n.Float("cubic_coeff_a", -0.75), n.Int("exclude_outside", 0) == 1
	if a, ok := n.Attrs["keep_aspect_ratio_policy"]; ok && a.String != "stretch" {
		return attrError("keep_aspect_ratio_policy", a.String, "only stretch runs here")
	}
	axes := make([]int, len(x))
	for i := range axes {
		axes[i] = i
	}
	if a, ok := n.Attrs["axes"]; ok {
		axes = axes[:0]
		for _, v := range a.Ints {
			ax, ok := normAxis(toInt(v), len(x))
			if !ok || slices.Contains(axes, ax) {
				return attrError("axes", a.Ints, "not distinct axes of the input of shape %v", x)
			}
			axes = append(axes, ax)
		}
	}
	r.Scales, r.Sizes = make([]float32, len(x)), slices.Clone(x)
	for i := range r.Scales {
		r.Scales[i] = 1
	}
	scales, sizes := at(in, 2), at(in, 3)
	given := func(a arg, k int) (bool, error) {
		if k >= len(n.Inputs) || n.Inputs[k] == "" {
			return false, nil
		}
		if a.value == nil {
			return false, fmt.Errorf("input %d (%q): not known before the graph runs", k, n.Inputs[k])
		}
		return a.value.Len() > 0, nil
	}
	hasScales, err := given(scales, 2)
	if err != nil {
		return err
	}
	hasSizes, err := given(sizes, 3)
	if err != nil {
		return err
	}
	switch {
	case hasScales == hasSizes:
		return fmt.Errorf("inputs 2 and 3 (scales, sizes): exactly one must be given (not empty)")
	case hasScales:
		v := scales.value
		if v.Type != Float32 || len(v.Data) != len(axes) {
			return fmt.Errorf("input 2 (%q): scales %v (%v), want %d float32 values", n.Inputs[2], v.Data, v.Type, len(axes))
		}
		for k, ax := range axes {
			s := v.Data[k]
			size := float32(x[ax]) * s
			if !(s > 0) || !(size >= 1) || !(size < 1<<31) {
				return fmt.Errorf("input 2 (%q): scales %v: scale %v of axis %d gives a size outside [1, 2³¹) for the input of shape %v", n.Inputs[2], v.Data, s, ax, x)
			}
			r.Scales[ax], r.Sizes[ax] = s, int(size)
		}
	default:
		v := sizes.value
		if v.Type != Int64 || len(v.Int64) != len(axes) {
			return fmt.Errorf("input 3 (%q): sizes %v (%v), want %d int64 values", n.Inputs[3], v.Int64, v.Type, len(axes))
		}
		for k, ax := range axes {
			d := v.Int64[k]
			if d < 1 || d >= 1<<31 {
				return fmt.Errorf("input 3 (%q): sizes %v: size %d of axis %d outside [1, 2³¹)", n.Inputs[3], v.Int64, d, ax)
			}
			r.Sizes[ax] = int(d)
			r.Scales[ax] = float32(d) / float32(x[ax])
		}
	}
	if !atMost(r.Sizes, maxResizeOutput) {
		return fmt.Errorf("output of shape %v: more than 2³¹ values", r.Sizes)
	}
	if r.Mode != "nearest" {
		for ax := 0; ax < len(x)-2; ax++ {
			if r.Sizes[ax] != x[ax] || r.Scales[ax] != 1 {
				return attrError("mode", r.Mode, "over axis %d (scale %v, coordinate_transformation_mode %s): %s runs over the last two axes only here", ax, r.Scales[ax], r.Coord, r.Mode)
			}
		}
	}
	return nil
}

// resizeState is a Resize node's state: the kernel's Resize, for the input
// shape and the scales or sizes it was read for.
type resizeState struct {
	r      Resize
	x      []int
	scales []float32
	sizes  []int64
}

// resizeOf returns n's Resize for the inputs, read again only when they
// change. It panics with ErrShape if they do not fit, which the shape rule
// has refused.
func resizeOf(s *state, n *Node, in []*Tensor) *Resize {
	rs, _ := s.scratch.(*resizeState)
	if rs == nil {
		rs = new(resizeState)
		s.scratch = rs
	}
	var scales []float32
	var sizes []int64
	if t := at(in, 2); t != nil {
		scales = t.Data
	}
	if t := at(in, 3); t != nil {
		sizes = t.Int64
	}
	if rs.x != nil && slices.Equal(rs.x, in[0].Shape) && slices.Equal(rs.scales, scales) && slices.Equal(rs.sizes, sizes) {
		return &rs.r
	}
	args := make([]arg, len(in))
	for k, t := range in {
		if t != nil {
			args[k] = arg{shape: t.Shape, typ: t.Type, value: t}
		}
	}
	if err := readResize(n, args, &rs.r); err != nil {
		panic(ErrShape)
	}
	rs.x, rs.scales, rs.sizes = slices.Clone(in[0].Shape), slices.Clone(scales), slices.Clone(sizes)
	return &rs.r
}
