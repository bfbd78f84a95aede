package graph

import (
	"math"
	"slices"
)

func init() {
	register(map[string]operator{
		"Resize": {inputs: [2]int{1, 4}, outputs: [2]int{1, 1}, fixed: []int{1, 2, 3}, attrs: map[string]AttrType{
			"antialias": AttrInt, "axes": AttrInts, "coordinate_transformation_mode": AttrString, "cubic_coeff_a": AttrFloat,
			"exclude_outside": AttrInt, "extrapolation_value": AttrFloat, "keep_aspect_ratio_policy": AttrString,
			"mode": AttrString, "nearest_mode": AttrString},
			infer: func(n *Node, in []arg) ([]arg, error) {
				var r Resize
				if err := readResize(n, in, &r); err != nil {
					return nil, err
				}
				return []arg{{shape: slices.Clone(r.Sizes)}}, nil
			},
			forward: func(s *state, n *Node, out, in []*Tensor) {
				ResizeForward(out[0], in[0], resizeOf(s, n, in))
			},
			backward: func(s *state, n *Node, din, dout, out, in []*Tensor) {
				if din[0] != nil && dout[0] != nil {
					ResizeBackward(din[0], dout[0], resizeOf(s, n, in))
				}
			}},
	})
}

// Resize: ONNX's (opset 18) resampling of a tensor to new sizes, by
// nearest neighbour, or (bi)linear or (bi)cubic interpolation over the
// last two axes.
// Each output coordinate is mapped to an input coordinate by the
// coordinate_transformation_mode, in float32 as ONNX Runtime computes it;
// nearest then rounds it by nearest_mode and linear interpolates between
// the two inputs around it, both clamped to the input. As in ONNX Runtime,
// nearest copies an axis of scale 1 as it is (tf_half_pixel_for_nn would
// shift it by half an element, which ceil rounds up).

// Resize is what Resize's kernels read: the mode ("nearest", "linear" or
// "cubic"),
// the coordinate transformation and nearest_mode (ONNX's names), and per
// axis the scale and the output size. Scales[i] is the given scale, or
// Sizes[i] over the input's size where sizes were given. The kernels keep
// their index tables in it, made again when the input shape changes (set
// the fields only on a fresh Resize, or with a new input shape): one
// Resize serves one node or layer at a time.
//
// With Overwrite, ResizeBackward writes the input gradient instead of
// adding into it (for callers that would clear it first; the operator
// adds).
type Resize struct {
	Mode, Coord, NearestMode string
	Scales                   []float32
	Sizes                    []int
	Overwrite                bool
	CubicA                   float32 // cubic's coefficient (ONNX's cubic_coeff_a)
	ExcludeOutside           bool    // cubic: taps outside the input weigh 0, the rest renormalised

	in     []int   // the input shape the tables are for
	tabs   [][]int // nearest: the input index of each output index, per axis
	lin    [2]linearAxis
	cub    [2]cubicAxis
	planes [2]int // the input's and the output's planes: all but the last two axes
	ident  bool   // whether the planes map onto themselves
	job    resizeJob
}

// linearAxis is linear interpolation along one axis: output o reads
// inputs lo[o] and hi[o] with weights wlo[o] and whi[o].
type linearAxis struct {
	lo, hi   []int
	wlo, whi []float32
}

// coordinate maps output index o along an axis of lenOut outputs and
// lenIn inputs, scaled by scale, to an input coordinate, in float32 (each
// operation rounded: conversions keep the compiler from fusing them).
func (r *Resize) coordinate(o int, scale float32, lenOut, lenIn int) float32 {
	x := float32(o)
	switch r.Coord {
	case "pytorch_half_pixel":
		if lenOut <= 1 {
			return 0
		}
		return float32((x+0.5)/scale) - 0.5
	case "align_corners":
		if lenOut == 1 {
			return 0
		}
		return float32(x*float32(lenIn-1)) / float32(lenOut-1)
	case "asymmetric":
		return x / scale
	case "tf_half_pixel_for_nn": // times 1/scale, as ONNX Runtime has it
		return float32(x+0.5) * float32(1/scale)
	}
	return float32(float32(x+0.5)/scale) - 0.5 // half_pixel
}

// nearest rounds coordinate c by the nearest mode, clamped to [0, n).
func (r *Resize) nearest(c float32, n int) int {
	var i float64
	switch r.NearestMode {
	case "round_prefer_ceil":
		i = math.Round(float64(c))
	case "floor":
		i = math.Floor(float64(c))
	case "ceil":
		i = math.Ceil(float64(c))
	default: // round_prefer_floor
		i = math.Round(float64(c))
		if c == float32(int64(c))+0.5 {
			i = math.Floor(float64(c))
		}
	}
	return int(max(0, min(i, float64(n-1))))
}

// plan makes the index tables for the input shape x. It panics with
// ErrShape if r does not fit x.
func (r *Resize) plan(x []int) {
	if len(r.Scales) != len(x) || len(r.Sizes) != len(x) {
		panic(ErrShape)
	}
	if slices.Equal(r.in, x) {
		return
	}
	r.in = append(r.in[:0], x...)
	rank := len(x)
	r.tabs = make([][]int, rank)
	r.ident = true
	for ax := range x {
		tab := make([]int, r.Sizes[ax])
		for o := range tab {
			if r.Mode == "nearest" && r.Scales[ax] != 1 {
				tab[o] = r.nearest(r.coordinate(o, r.Scales[ax], r.Sizes[ax], x[ax]), x[ax])
			} else {
				tab[o] = o
			}
			if ax < rank-2 && tab[o] != o {
				r.ident = false
			}
		}
		if ax < rank-2 && r.Sizes[ax] != x[ax] {
			r.ident = false
		}
		r.tabs[ax] = tab
	}
	r.planes = [2]int{elements(x[:max(0, rank-2)]), elements(r.Sizes[:max(0, rank-2)])}
	if r.Mode == "cubic" {
		r.planCubic(x)
	}
	if r.Mode != "linear" {
		return
	}
	for k := range r.lin {
		ax := rank - 2 + k
		if ax < 0 {
			r.lin[k] = linearAxis{lo: []int{0}, hi: []int{0}, wlo: []float32{1}, whi: []float32{0}}
			continue
		}
		n, l := r.Sizes[ax], x[ax]
		la := linearAxis{lo: make([]int, n), hi: make([]int, n), wlo: make([]float32, n), whi: make([]float32, n)}
		for o := 0; o < n; o++ {
			c := max(0, min(r.coordinate(o, r.Scales[ax], n, l), float32(l-1)))
			lo := min(int(c), l-1)
			hi := min(lo+1, l-1)
			la.lo[o], la.hi[o] = lo, hi
			la.wlo[o], la.whi[o] = float32(math.Abs(float64(c-float32(hi)))), float32(math.Abs(float64(c-float32(lo))))
			if lo == hi {
				la.wlo[o], la.whi[o] = 0.5, 0.5
			}
		}
		r.lin[k] = la
	}
}

// resizeHW is the height and width of a shape: its last two axes (height 1
// for one axis).
func resizeHW(s []int) (int, int) {
	if len(s) == 1 {
		return 1, s[0]
	}
	return s[len(s)-2], s[len(s)-1]
}

// resizeJob runs a Resize kernel over a range of output planes (forward)
// or input planes (backward); the Resize holds it, so that passing it to
// ParallelFor allocates nothing.
type resizeJob struct {
	r        *Resize
	backward bool
	x, y     []float32 // the input and the output, or their gradients
}

// ResizeForward writes y, x resized to r.Sizes (ONNX Resize). It panics
// with ErrShape if r does not fit x.
func ResizeForward(y, x *Tensor, r *Resize) {
	checkLen(x)
	r.plan(x.Shape)
	y.Resize(r.Sizes...)
	r.job = resizeJob{r: r, x: x.Data, y: y.Data}
	h, w := resizeHW(r.Sizes)
	ParallelFor(r.planes[1], max(1, Grain/max(1, h*w)), &r.job)
	r.job = resizeJob{}
}

// ResizeBackward adds into dx (may be nil) the gradient of ResizeForward's
// input for the output gradient dy: each output's gradient goes to the
// input it copied (nearest) or is shared among the inputs it interpolates
// by their weights (linear), summed in the order of the outputs. It panics
// with ErrShape if the shapes do not fit.
func ResizeBackward(dx, dy *Tensor, r *Resize) {
	if dx == nil {
		return
	}
	checkLen(dx, dy)
	r.plan(dx.Shape)
	if !slices.Equal(dy.Shape, r.Sizes) {
		panic(ErrShape)
	}
	r.job = resizeJob{r: r, backward: true, x: dx.Data, y: dy.Data}
	if r.Overwrite && !r.ident {
		clear(dx.Data)
	}
	if r.ident {
		h, w := resizeHW(r.Sizes)
		ParallelFor(r.planes[0], max(1, Grain/max(1, h*w)), &r.job)
	} else { // several output planes may read one input plane
		r.job.Run(0, r.planes[1])
	}
	r.job = resizeJob{}
}

func (j *resizeJob) Run(lo, hi int) {
	r := j.r
	h, w := resizeHW(r.in)
	oh, ow := resizeHW(r.Sizes)
	for po := lo; po < hi; po++ {
		pi := r.inputPlane(po)
		in, out := j.x[pi*h*w:(pi+1)*h*w], j.y[po*oh*ow:(po+1)*oh*ow]
		switch {
		case r.Mode == "cubic" && j.backward:
			if r.Overwrite && r.ident {
				clear(in)
			}
			r.cubicBackward(in, out, w, oh, ow)
		case r.Mode == "cubic":
			r.cubicForward(out, in, w, oh, ow)
		case r.Mode == "linear" && j.backward:
			if r.Overwrite && r.ident {
				clear(in)
			}
			r.linearBackward(in, out, h, w, oh, ow)
		case r.Mode == "linear":
			r.linearForward(out, in, h, w, oh, ow)
		case j.backward:
			if r.Overwrite && r.ident {
				clear(in)
			}
			r.nearestBackward(in, out, w, oh, ow)
		default:
			r.nearestForward(out, in, w, oh, ow)
		}
	}
}

// inputPlane is the input plane that output plane po reads: an index over
// the axes before the last two, each mapped by its table.
func (r *Resize) inputPlane(po int) int {
	if r.ident {
		return po
	}
	pi, stride := 0, 1
	for ax := len(r.in) - 3; ax >= 0; ax-- {
		o := po % r.Sizes[ax]
		po /= r.Sizes[ax]
		pi += r.tabs[ax][o] * stride
		stride *= r.in[ax]
	}
	return pi
}

// rowTabs are the tables of the last two axes (a table of one 0 for the
// height of a tensor of one axis).
func (r *Resize) rowTabs() (ty, tx []int) {
	rank := len(r.in)
	if rank == 1 {
		return zeroTab[:], r.tabs[0]
	}
	return r.tabs[rank-2], r.tabs[rank-1]
}

var zeroTab = [1]int{}

// nearestForward copies the plane: each output row from its input row, or
// from the output row before it where both read the same input row.
func (r *Resize) nearestForward(out, in []float32, w, oh, ow int) {
	ty, tx := r.rowTabs()
	factor := ow / w
	whole := factor*w == ow && tx[ow-1] == w-1 && isFactor(tx, factor)
	for oy := 0; oy < oh; oy++ {
		row := out[oy*ow : (oy+1)*ow]
		if oy > 0 && ty[oy] == ty[oy-1] {
			copy(row, out[(oy-1)*ow:oy*ow])
			continue
		}
		src := in[ty[oy]*w : (ty[oy]+1)*w]
		switch {
		case whole && factor == 2:
			for x, v := range src {
				row[2*x], row[2*x+1] = v, v
			}
		case whole:
			for x, v := range src {
				for k := x * factor; k < (x+1)*factor; k++ {
					row[k] = v
				}
			}
		default:
			for ox, ix := range tx[:ow] {
				row[ox] = src[ix]
			}
		}
	}
}

// isFactor reports whether tab[o] is o/factor throughout.
func isFactor(tab []int, factor int) bool {
	if factor < 1 {
		return false
	}
	for o, i := range tab {
		if i != o/factor {
			return false
		}
	}
	return true
}

// nearestBackward adds each output's gradient into the input it copied:
// for an input row that whole-number factors repeat, the outputs that
// copied each input are summed (row by row, left to right) and the sum
// added; otherwise output by output.
func (r *Resize) nearestBackward(in, out []float32, w, oh, ow int) {
	ty, tx := r.rowTabs()
	factor := ow / w
	whole := factor*w == ow && isFactor(tx, factor)
	for oy := 0; oy < oh; {
		end := oy + 1
		for end < oh && ty[end] == ty[oy] {
			end++
		}
		dst := in[ty[oy]*w : (ty[oy]+1)*w]
		switch {
		case whole && factor == 2 && end-oy == 2:
			g0, g1 := out[oy*ow:(oy+1)*ow], out[(oy+1)*ow:(oy+2)*ow]
			for x := range dst {
				dst[x] += g0[2*x] + g0[2*x+1] + g1[2*x] + g1[2*x+1]
			}
		case whole:
			for x := range dst {
				var s float32
				for k := oy; k < end; k++ {
					for _, v := range out[k*ow+x*factor : k*ow+(x+1)*factor] {
						s += v
					}
				}
				dst[x] += s
			}
		default:
			for k := oy; k < end; k++ {
				for ox, ix := range tx[:ow] {
					dst[ix] += out[k*ow+ox]
				}
			}
		}
		oy = end
	}
}

// linearForward interpolates the plane.
func (r *Resize) linearForward(out, in []float32, h, w, oh, ow int) {
	ly, lx := &r.lin[0], &r.lin[1]
	for oy := 0; oy < oh; oy++ {
		r0, r1 := in[ly.lo[oy]*w:(ly.lo[oy]+1)*w], in[ly.hi[oy]*w:(ly.hi[oy]+1)*w]
		wy0, wy1 := ly.wlo[oy], ly.whi[oy]
		row := out[oy*ow : (oy+1)*ow]
		for ox := range row {
			x0, x1, wx0, wx1 := lx.lo[ox], lx.hi[ox], lx.wlo[ox], lx.whi[ox]
			row[ox] = wx0*wy0*r0[x0] + wx1*wy0*r0[x1] + wx0*wy1*r1[x0] + wx1*wy1*r1[x1]
		}
	}
}

// linearBackward shares each output's gradient among the four inputs it
// interpolates.
func (r *Resize) linearBackward(in, out []float32, h, w, oh, ow int) {
	ly, lx := &r.lin[0], &r.lin[1]
	for oy := 0; oy < oh; oy++ {
		r0, r1 := in[ly.lo[oy]*w:(ly.lo[oy]+1)*w], in[ly.hi[oy]*w:(ly.hi[oy]+1)*w]
		wy0, wy1 := ly.wlo[oy], ly.whi[oy]
		for ox, g := range out[oy*ow : (oy+1)*ow] {
			x0, x1, wx0, wx1 := lx.lo[ox], lx.hi[ox], lx.wlo[ox], lx.whi[ox]
			r0[x0] += wx0 * wy0 * g
			r0[x1] += wx1 * wy0 * g
			r1[x0] += wx0 * wy1 * g
			r1[x1] += wx1 * wy1 * g
		}
	}
}
