package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// resizeCase is a Resize node's attributes and its scales or sizes over an
// input shape.
type resizeCase struct {
	name   string
	x      []int
	attrs  map[string]Attribute
	scales []float32
	sizes  []int64
}

func resizeAttrs(mode, coord, nearest string) map[string]Attribute {
	a := map[string]Attribute{"mode": String(mode), "coordinate_transformation_mode": String(coord)}
	if nearest != "" {
		a["nearest_mode"] = String(nearest)
	}
	return a
}

// resizeCases cover every coordinate transformation with nearest (every
// nearest mode) and linear, up and down, by scales and by sizes, over one
// and two axes.
var resizeCases = func() []resizeCase {
	var cs []resizeCase
	for _, coord := range resizeCoords {
		for _, nm := range resizeNearest {
			cs = append(cs,
				resizeCase{fmt.Sprintf("nearest %s %s up", coord, nm), []int{2, 2, 3, 4}, resizeAttrs("nearest", coord, nm), []float32{1, 1, 2, 1.5}, nil},
				resizeCase{fmt.Sprintf("nearest %s %s sizes", coord, nm), []int{1, 2, 5, 7}, resizeAttrs("nearest", coord, nm), nil, []int64{1, 2, 3, 10}},
				resizeCase{fmt.Sprintf("nearest %s %s 1d down", coord, nm), []int{2, 3, 9}, resizeAttrs("nearest", coord, nm), []float32{1, 1, 0.6}, nil})
		}
		if coord == "tf_half_pixel_for_nn" {
			continue
		}
		cs = append(cs,
			resizeCase{"linear " + coord + " up", []int{2, 2, 3, 4}, resizeAttrs("linear", coord, ""), []float32{1, 1, 2, 1.5}, nil},
			resizeCase{"linear " + coord + " down", []int{1, 2, 6, 9}, resizeAttrs("linear", coord, ""), []float32{1, 1, 0.5, 0.7}, nil},
			resizeCase{"linear " + coord + " sizes", []int{1, 1, 4, 5}, resizeAttrs("linear", coord, ""), nil, []int64{1, 1, 7, 3}},
			resizeCase{"linear " + coord + " 1d", []int{2, 3, 5}, resizeAttrs("linear", coord, ""), []float32{1, 1, 2.5}, nil})
	}
	return append(cs,
		resizeCase{"upsample (nearest asymmetric floor) 2x2", []int{2, 3, 4, 5}, resizeAttrs("nearest", "asymmetric", "floor"), []float32{1, 1, 2, 2}, nil},
		resizeCase{"upsample (nearest asymmetric floor) 3x1", []int{1, 2, 3, 4}, resizeAttrs("nearest", "asymmetric", "floor"), []float32{1, 1, 3, 1}, nil},
		resizeCase{"upsample (nearest asymmetric floor) 1.5x2.5", []int{1, 2, 4, 4}, resizeAttrs("nearest", "asymmetric", "floor"), []float32{1, 1, 1.5, 2.5}, nil},
		resizeCase{"nearest over channels", []int{2, 3, 2, 2}, resizeAttrs("nearest", "asymmetric", "floor"), []float32{1, 2, 1, 2}, nil},
		resizeCase{"nearest axes", []int{1, 2, 3, 4}, withAttr(resizeAttrs("nearest", "half_pixel", ""), "axes", Ints(3, -2)), []float32{2, 3}, nil},
		resizeCase{"linear axes sizes", []int{1, 2, 3, 4}, withAttr(resizeAttrs("linear", "align_corners", ""), "axes", Ints(2, 3)), nil, []int64{5, 2}},
		resizeCase{"defaults", []int{1, 1, 3, 3}, nil, []float32{1, 1, 2, 2}, nil},
		resizeCase{"cubic half_pixel up", []int{2, 2, 4, 5}, resizeAttrs("cubic", "half_pixel", ""), []float32{1, 1, 2, 1.5}, nil},
		resizeCase{"cubic pytorch_half_pixel a −0.5 down", []int{1, 2, 7, 9}, withAttr(resizeAttrs("cubic", "pytorch_half_pixel", ""), "cubic_coeff_a", Float(-0.5)), []float32{1, 1, 0.5, 0.7}, nil},
		resizeCase{"cubic align_corners sizes", []int{1, 1, 4, 5}, resizeAttrs("cubic", "align_corners", ""), nil, []int64{1, 1, 7, 3}},
		resizeCase{"cubic asymmetric exclude_outside", []int{1, 2, 4, 5}, withAttr(resizeAttrs("cubic", "asymmetric", ""), "exclude_outside", Int(1)), []float32{1, 1, 2, 2.5}, nil},
		resizeCase{"cubic half_pixel exclude_outside 1d", []int{2, 3, 6}, withAttr(resizeAttrs("cubic", "half_pixel", ""), "exclude_outside", Int(1)), []float32{1, 1, 1.5}, nil},
		// Coordinates that division by the scale and multiplication by its
		// reciprocal round to different sides of an integer (3/0.6 < 15,
		// 4.5/0.6 − 0.5 < 7, 4.5/0.6 < 7.5 in float32).
		resizeCase{"nearest asymmetric floor 1/0.6", []int{1, 1, 2, 17}, resizeAttrs("nearest", "asymmetric", "floor"), []float32{1, 1, 1, 0.6}, nil},
		resizeCase{"nearest half_pixel floor 1/0.6", []int{1, 1, 2, 9}, resizeAttrs("nearest", "half_pixel", "floor"), []float32{1, 1, 1, 0.6}, nil},
		resizeCase{"nearest tf_half_pixel_for_nn round_prefer_ceil 1/0.6", []int{1, 1, 2, 9}, resizeAttrs("nearest", "tf_half_pixel_for_nn", "round_prefer_ceil"), []float32{1, 1, 1, 0.6}, nil},
	)
}()

// inputs are the case's Resize inputs: x, an empty roi, and the scales or
// the sizes (nil for the one left out).
func (c resizeCase) inputs(x *Tensor) []*Tensor {
	in := []*Tensor{x, nil, nil, nil}
	if c.scales != nil {
		in[2] = &Tensor{Shape: []int{len(c.scales)}, Data: c.scales}
	} else {
		in[3] = NewInt64Tensor(c.sizes, len(c.sizes))
	}
	return in
}

// resize reads the case's Resize for the input shape, failing the test if
// it is refused.
func (c resizeCase) resize(t *testing.T, x *Tensor) *Resize {
	t.Helper()
	in := c.inputs(x)
	names := []string{"x", "", "", ""}
	args := make([]arg, 4)
	for k, v := range in {
		if v != nil {
			names[k], args[k] = fmt.Sprint("in", k), arg{shape: v.Shape, typ: v.Type, value: v}
		}
	}
	args[0].value = nil
	r := new(Resize)
	if err := readResize(&Node{Name: "n", Op: "Resize", Inputs: names, Attrs: c.attrs}, args, r); err != nil {
		t.Fatal(err)
	}
	return r
}

// resizeRef is the textbook Resize in float64 of x by r's scales and sizes:
// each output's coordinate along each axis by ONNX's formula (in float32,
// as ONNX Runtime computes it), then the nearest input by the nearest mode
// (the same index along an axis of scale 1, as ONNX Runtime has it),
// or the two around it (clamped to the input) weighted by the distance to
// each, along the last two axes for linear.
func resizeRef(x []float64, shape []int, r *Resize) []float64 {
	rank := len(shape)
	coord := func(o, ax int) float32 {
		xo, s, lo, li := float32(o), r.Scales[ax], float32(r.Sizes[ax]), float32(shape[ax])
		switch r.Coord {
		case "half_pixel":
			return float32((xo+0.5)/s) - 0.5
		case "pytorch_half_pixel":
			if lo > 1 {
				return float32((xo+0.5)/s) - 0.5
			}
			return 0
		case "align_corners":
			if lo == 1 {
				return 0
			}
			return float32(xo*(li-1)) / (lo - 1)
		case "asymmetric":
			return xo / s
		case "tf_half_pixel_for_nn": // times 1/scale, as ONNX Runtime has it
			return float32(xo+0.5) * float32(1/s)
		}
		panic(r.Coord)
	}
	round := func(c float32) int {
		f := math.Floor(float64(c))
		switch r.NearestMode {
		case "floor":
			return int(f)
		case "ceil":
			return int(math.Ceil(float64(c)))
		case "round_prefer_ceil":
			if float64(c)-f >= 0.5 {
				return int(f) + 1
			}
			return int(f)
		}
		if float64(c)-f > 0.5 {
			return int(f) + 1
		}
		return int(f)
	}
	clamp := func(i, n int) int { return max(0, min(i, n-1)) }
	y := make([]float64, elements(r.Sizes))
	idx := make([]int, rank)
	for i := range y {
		indexOf(idx, i, r.Sizes)
		src := make([]int, rank)
		for ax := range idx {
			src[ax] = clamp(round(coord(idx[ax], ax)), shape[ax])
			if r.Scales[ax] == 1 { // ONNX Runtime's nearest copies such an axis
				src[ax] = idx[ax]
			}
		}
		if r.Mode == "nearest" {
			y[i] = x[offsetOf(src, shape)]
			continue
		}
		if r.Mode == "cubic" {
			y[i] = cubicRef(x, shape, r, idx, coord)
			continue
		}
		// Linear: the corners around the coordinate of each of the last
		// two axes, and their weights.
		var corners [2][2]int
		var weights [2][2]float64
		for k := 0; k < 2; k++ {
			ax := rank - 2 + k
			if ax < 0 {
				corners[k], weights[k] = [2]int{0, 0}, [2]float64{1, 0}
				continue
			}
			c := float64(max(0, min(coord(idx[ax], ax), float32(shape[ax]-1))))
			lo := int(math.Floor(c))
			hi := min(lo+1, shape[ax]-1)
			corners[k], weights[k] = [2]int{lo, hi}, [2]float64{1 - (c - float64(lo)), c - float64(lo)}
		}
		copy(src, idx)
		for a := 0; a < 2; a++ {
			for b := 0; b < 2; b++ {
				if rank >= 2 {
					src[rank-2] = corners[0][a]
				}
				src[rank-1] = corners[1][b]
				y[i] += weights[0][a] * weights[1][b] * x[offsetOf(src, shape)]
			}
		}
	}
	return y
}

// TestResize checks Resize against resizeRef and its Backward against
// finite differences, adding into its gradient.
func TestResize(t *testing.T) {
	r := rand.New(rand.NewPCG(121, 122))
	for _, c := range resizeCases {
		t.Run(c.name, func(t *testing.T) {
			x := randTensor(r, c.x...)
			rs := c.resize(t, x)
			y := &Tensor{Data: make([]float32, 2)}
			ResizeForward(y, x, rs)
			if !slices.Equal(y.Shape, rs.Sizes) {
				t.Fatalf("shape: got %v, want %v", y.Shape, rs.Sizes)
			}
			checkClose(t, "output", y.Data, to32(resizeRef(to64(x.Data), c.x, rs)), 1e-6, 1e-5)
			dy := randTensor(r, y.Shape...)
			dx, start := filled(r, c.x)
			ResizeBackward(dx[0], dy, rs)
			added(dx, start)
			checkGradients(t, func(in [][]float64) []float64 { return resizeRef(in[0], c.x, rs) }, [][]float64{to64(x.Data)}, to64(dy.Data), dx)
		})
	}
}

// TestResizeUpsampleIsExact checks the Resize that convert makes of
// opset 9's Upsample (nearest, asymmetric, floor) against its definition,
// output (y, x) = input (⌊y/sh⌋, ⌊x/sw⌋), bit for bit, over integer and
// fractional scales.
func TestResizeUpsampleIsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(123, 124))
	for _, s := range [][2]float32{{2, 2}, {3, 1}, {1.5, 2.5}, {4, 3}, {0.5, 2}} {
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			c := resizeCase{x: []int{2, 3, 8, 7}, attrs: resizeAttrs("nearest", "asymmetric", "floor"), scales: []float32{1, 1, s[0], s[1]}}
			x := randTensor(r, c.x...)
			rs := c.resize(t, x)
			var y Tensor
			ResizeForward(&y, x, rs)
			oh, ow := int(float32(8)*s[0]), int(float32(7)*s[1])
			if want := []int{2, 3, oh, ow}; !slices.Equal(y.Shape, want) {
				t.Fatalf("shape: got %v, want %v", y.Shape, want)
			}
			for pl := 0; pl < 6; pl++ {
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						iy, ix := int(math.Floor(float64(oy)/float64(s[0]))), int(math.Floor(float64(ox)/float64(s[1])))
						if got, want := y.Data[(pl*oh+oy)*ow+ox], x.Data[(pl*8+iy)*7+ix]; got != want {
							t.Fatalf("plane %d output (%d, %d): got %v, want input (%d, %d) %v", pl, oy, ox, got, iy, ix, want)
						}
					}
				}
			}
		})
	}
}

// cubicRef is output idx of a cubic Resize of x: the sum over the 4×4
// inputs around its coordinates (along the last two axes; clamped to the
// input) of the products of their weights, by the cubic convolution
// kernel W(d) = (a+2)|d|³ − (a+3)|d|² + 1 for |d| ≤ 1, a|d|³ − 5a|d|² +
// 8a|d| − 4a for 1 < |d| < 2, and of their values; with exclude_outside
// the taps outside weigh 0 and the rest are renormalised.
func cubicRef(x []float64, shape []int, r *Resize, idx []int, coord func(o, ax int) float32) float64 {
	rank := len(shape)
	a := float64(r.CubicA)
	kernel := func(d float64) float64 {
		d = math.Abs(d)
		if d <= 1 {
			return (a+2)*d*d*d - (a+3)*d*d + 1
		}
		return a*d*d*d - 5*a*d*d + 8*a*d - 4*a
	}
	var taps [2][4]int
	var weights [2][4]float64
	for k := 0; k < 2; k++ {
		ax := rank - 2 + k
		if ax < 0 {
			taps[k], weights[k] = [4]int{}, [4]float64{1}
			continue
		}
		c := float64(coord(idx[ax], ax))
		base := int(math.Floor(c))
		var sum float64
		for i := 0; i < 4; i++ {
			at := base - 1 + i
			weights[k][i] = kernel(c - float64(at))
			if r.ExcludeOutside && (at < 0 || at >= shape[ax]) {
				weights[k][i] = 0
			}
			sum += weights[k][i]
			taps[k][i] = max(0, min(at, shape[ax]-1))
		}
		if r.ExcludeOutside {
			for i := range weights[k] {
				weights[k][i] /= sum
			}
		}
	}
	src := slices.Clone(idx)
	var y float64
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			if rank >= 2 {
				src[rank-2] = taps[0][i]
			}
			src[rank-1] = taps[1][j]
			y += weights[0][i] * weights[1][j] * x[offsetOf(src, shape)]
		}
	}
	return y
}
