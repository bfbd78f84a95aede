package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// poolCase is a MaxPool or AveragePool node's attributes over an input
// shape; avg cases run AveragePool too, max cases MaxPool.
type poolCase struct {
	name     string
	x        []int
	attrs    map[string]Attribute
	max, avg bool
}

var poolCases = []poolCase{
	{"2d k2 s2", []int{2, 3, 6, 10}, map[string]Attribute{"kernel_shape": Ints(2, 2), "strides": Ints(2, 2)}, true, true},
	{"2d k2 s2 pads 1", []int{1, 2, 7, 19}, map[string]Attribute{"kernel_shape": Ints(2, 2), "strides": Ints(2, 2), "pads": Ints(1, 1, 1, 1)}, true, true},
	{"2d k3 s2 pads 1", []int{2, 2, 7, 5}, map[string]Attribute{"kernel_shape": Ints(3, 3), "strides": Ints(2, 2), "pads": Ints(1, 1, 1, 1)}, true, true},
	{"2d k3x2 s1x2 asymmetric pads", []int{1, 1, 5, 6}, map[string]Attribute{"kernel_shape": Ints(3, 2), "strides": Ints(1, 2), "pads": Ints(0, 1, 2, 0)}, true, true},
	{"2d k2 s2 ceil", []int{1, 2, 7, 7}, map[string]Attribute{"kernel_shape": Ints(2, 2), "strides": Ints(2, 2), "ceil_mode": Int(1)}, true, true},
	{"2d k3 s2 pads 1 ceil", []int{1, 2, 6, 6}, map[string]Attribute{"kernel_shape": Ints(3, 3), "strides": Ints(2, 2), "pads": Ints(1, 1, 1, 1), "ceil_mode": Int(1)}, true, true},
	{"2d k2 s2 end pad ceil (a window left out)", []int{1, 2, 4, 5}, map[string]Attribute{"kernel_shape": Ints(2, 2), "strides": Ints(2, 2), "pads": Ints(0, 0, 1, 1), "ceil_mode": Int(1)}, true, true},
	{"2d k2 dilations 2", []int{1, 2, 7, 8}, map[string]Attribute{"kernel_shape": Ints(2, 2), "dilations": Ints(2, 2), "pads": Ints(1, 0, 1, 1)}, true, false},
	{"2d k3 s2 dilations 2x1 ceil", []int{1, 1, 9, 7}, map[string]Attribute{"kernel_shape": Ints(3, 3), "strides": Ints(2, 2), "dilations": Ints(2, 1), "ceil_mode": Int(1)}, true, false},
	{"2d same_upper", []int{1, 1, 6, 7}, map[string]Attribute{"kernel_shape": Ints(3, 3), "strides": Ints(2, 2), "auto_pad": String("SAME_UPPER")}, true, true},
	{"2d same_lower", []int{1, 1, 5, 5}, map[string]Attribute{"kernel_shape": Ints(2, 2), "auto_pad": String("SAME_LOWER")}, true, true},
	{"2d valid", []int{1, 1, 7, 6}, map[string]Attribute{"kernel_shape": Ints(3, 3), "strides": Ints(2, 2), "auto_pad": String("VALID")}, true, true},
	{"1d k3 s2 pads 1", []int{2, 3, 9}, map[string]Attribute{"kernel_shape": Ints(3), "strides": Ints(2), "pads": Ints(1, 1)}, true, true},
	{"1d k2 s2 ceil", []int{1, 2, 9}, map[string]Attribute{"kernel_shape": Ints(2), "strides": Ints(2), "ceil_mode": Int(1)}, true, true},
	{"1d k2 dilations 3", []int{1, 2, 9}, map[string]Attribute{"kernel_shape": Ints(2), "dilations": Ints(3)}, true, false},
}

// withAttr returns attrs with one more.
func withAttr(attrs map[string]Attribute, name string, a Attribute) map[string]Attribute {
	m := map[string]Attribute{name: a}
	for k, v := range attrs {
		m[k] = v
	}
	return m
}

// poolOfCase reads the case's window, failing the test if it does not fit.
func poolOfCase(t *testing.T, op string, x []int, attrs map[string]Attribute) *Pool {
	t.Helper()
	p := new(Pool)
	if err := readPool(&Node{Name: "n", Op: op, Inputs: []string{"x0"}, Attrs: attrs}, x, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// poolRef is the textbook pooling of x (N, C, [H,] W) in float64: every
// tap of every window, inside the input or not; the largest of those
// inside (the first of ties) and its flat index, or their mean, divided by
// their number or, with count_include_pad, by the number of taps inside
// the padded input.
func poolRef(x []float64, shape []int, p *Pool, avg bool) ([]float64, []int64) {
	h, w := 1, shape[len(shape)-1]
	if len(shape) == 4 {
		h = shape[2]
	}
	out, _ := PoolShape(shape, p)
	oh, ow := 1, out[len(out)-1]
	if len(out) == 4 {
		oh = out[2]
	}
	var y []float64
	var idx []int64
	for pl := 0; pl < shape[0]*shape[1]; pl++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				best, at, sum, inside, padded := math.Inf(-1), -1, 0.0, 0, 0
				for i := 0; i < p.Kernel[0]; i++ {
					for j := 0; j < p.Kernel[1]; j++ {
						yy := oy*p.Strides[0] - p.PadBegin[0] + i*p.Dilations[0]
						xx := ox*p.Strides[1] - p.PadBegin[1] + j*p.Dilations[1]
						if yy < h+p.PadEnd[0] && xx < w+p.PadEnd[1] {
							padded++
						}
						if yy < 0 || yy >= h || xx < 0 || xx >= w {
							continue
						}
						k := (pl*h+yy)*w + xx
						if x[k] > best {
							best, at = x[k], k
						}
						sum += x[k]
						inside++
					}
				}
				switch {
				case !avg:
					y, idx = append(y, best), append(idx, int64(at))
				case p.CountIncludePad:
					y = append(y, sum/float64(padded))
				default:
					y = append(y, sum/float64(inside))
				}
			}
		}
	}
	return y, idx
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

// TestMaxPool checks MaxPool's output and indices against poolRef and its
// Backward against finite differences, adding into its gradient.
func TestMaxPool(t *testing.T) {
	r := rand.New(rand.NewPCG(101, 102))
	for _, c := range poolCases {
		if !c.max {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			p := poolOfCase(t, "MaxPool", c.x, c.attrs)
			x := randTensor(r, c.x...)
			y, idx := &Tensor{Data: make([]float32, 3)}, &Tensor{}
			MaxPoolForward(y, idx, x, p)
			want, wantIdx := poolRef(to64(x.Data), c.x, p, false)
			shape, _ := PoolShape(c.x, p)
			if !slices.Equal(y.Shape, shape) || !slices.Equal(idx.Shape, shape) || idx.Type != Int64 {
				t.Fatalf("shapes: got %v and %v (%v), want %v", y.Shape, idx.Shape, idx.Type, shape)
			}
			checkClose(t, "output", y.Data, to32(want), 0, 0)
			if !slices.Equal(idx.Int64, wantIdx) {
				t.Fatalf("indices: got %v, want %v", idx.Int64, wantIdx)
			}
			dy := randTensor(r, shape...)
			dx, start := filled(r, c.x)
			MaxPoolBackward(dx[0], dy, idx, p)
			added(dx, start)
			checkGradients(t, func(in [][]float64) []float64 { v, _ := poolRef(in[0], c.x, p, false); return v },
				[][]float64{to64(x.Data)}, to64(dy.Data), dx)
		})
	}
}

// TestAveragePool checks AveragePool, with and without count_include_pad,
// against poolRef and its Backward against finite differences.
func TestAveragePool(t *testing.T) {
	r := rand.New(rand.NewPCG(103, 104))
	for _, c := range poolCases {
		if !c.avg {
			continue
		}
		for _, include := range []int64{0, 1} {
			t.Run(fmt.Sprintf("%s count_include_pad %d", c.name, include), func(t *testing.T) {
				p := poolOfCase(t, "AveragePool", c.x, withAttr(c.attrs, "count_include_pad", Int(include)))
				x := randTensor(r, c.x...)
				var y Tensor
				AveragePoolForward(&y, x, p)
				want, _ := poolRef(to64(x.Data), c.x, p, true)
				checkClose(t, "output", y.Data, to32(want), 1e-6, 1e-6)
				dy := randTensor(r, y.Shape...)
				dx, start := filled(r, c.x)
				AveragePoolBackward(dx[0], dy, p)
				added(dx, start)
				checkGradients(t, func(in [][]float64) []float64 { v, _ := poolRef(in[0], c.x, p, true); return v },
					[][]float64{to64(x.Data)}, to64(dy.Data), dx)
			})
		}
	}
}

// TestAveragePoolCountIncludePad pins the divisor of windows that
// ceil_mode lets run past the padding: the padding counts, what lies
// beyond it does not (PyTorch's and ONNX Runtime's rule). A 1×3 input,
// kernel 2, stride 2, pads 1 and 0, ceil_mode: windows (pad, 1), (2, 3),
// (4, beyond): 1/2, (2+3)/2 and 4/1.
func TestAveragePoolCountIncludePad(t *testing.T) {
	p := poolOfCase(t, "AveragePool", []int{1, 1, 4}, map[string]Attribute{"kernel_shape": Ints(2), "strides": Ints(2), "pads": Ints(1, 0), "ceil_mode": Int(1), "count_include_pad": Int(1)})
	var y Tensor
	AveragePoolForward(&y, &Tensor{Shape: []int{1, 1, 4}, Data: []float32{1, 2, 3, 4}}, p)
	if want := []float32{0.5, 2.5, 4}; !slices.Equal(y.Data, want) {
		t.Errorf("got %v, want %v", y.Data, want)
	}
}

// TestGlobalPools checks GlobalAveragePool and GlobalMaxPool against the
// plane's mean and largest value, and their Backward against finite
// differences.
func TestGlobalPools(t *testing.T) {
	r := rand.New(rand.NewPCG(105, 106))
	ref := func(x []float64, shape []int, avg bool) []float64 {
		size := elements(shape[2:])
		var y []float64
		for pl := 0; pl < shape[0]*shape[1]; pl++ {
			plane := x[pl*size : (pl+1)*size]
			if avg {
				var s float64
				for _, v := range plane {
					s += v
				}
				y = append(y, s/float64(size))
			} else {
				y = append(y, slices.Max(plane))
			}
		}
		return y
	}
	for _, shape := range [][]int{{2, 3, 5}, {2, 3, 4, 5}, {1, 2, 2, 3, 2}} {
		for _, avg := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v avg %v", shape, avg), func(t *testing.T) {
				x := randTensor(r, shape...)
				var y Tensor
				dy := randTensor(r, append(slices.Clone(shape[:2]), slices.Repeat([]int{1}, len(shape)-2)...)...)
				dx, start := filled(r, shape)
				if avg {
					GlobalAveragePoolForward(&y, x)
					GlobalAveragePoolBackward(dx[0], dy)
				} else {
					GlobalMaxPoolForward(&y, x)
					GlobalMaxPoolBackward(dx[0], dy, x)
				}
				added(dx, start)
				if !slices.Equal(y.Shape, dy.Shape) {
					t.Fatalf("shape: got %v, want %v", y.Shape, dy.Shape)
				}
				checkClose(t, "output", y.Data, to32(ref(to64(x.Data), shape, avg)), 1e-7, 1e-6)
				checkGradients(t, func(in [][]float64) []float64 { return ref(in[0], shape, avg) }, [][]float64{to64(x.Data)}, to64(dy.Data), dx)
			})
		}
	}
}

// unpoolRef scatters x at the indices into zeros of n values.
func unpoolRef(x []float64, idx []int64, n int) []float64 {
	y := make([]float64, n)
	for k, at := range idx {
		y[at] = x[k]
	}
	return y
}

// TestMaxUnpool checks MaxUnpool over MaxPool's indices: the maxima back
// where they came from, the rest 0, and its Backward against finite
// differences (windows that do not overlap, so no index repeats).
func TestMaxUnpool(t *testing.T) {
	r := rand.New(rand.NewPCG(107, 108))
	for _, c := range []struct {
		name  string
		x     []int
		attrs map[string]Attribute
	}{
		{"2d k2 s2", []int{2, 2, 6, 8}, map[string]Attribute{"kernel_shape": Ints(2, 2), "strides": Ints(2, 2)}},
		{"2d k2 s2 pads", []int{1, 2, 5, 7}, map[string]Attribute{"kernel_shape": Ints(2, 2), "strides": Ints(2, 2), "pads": Ints(1, 1, 0, 0)}},
		{"2d k3x2 s3x2", []int{1, 1, 6, 6}, map[string]Attribute{"kernel_shape": Ints(3, 2), "strides": Ints(3, 2)}},
		{"1d k2 s2", []int{2, 3, 8}, map[string]Attribute{"kernel_shape": Ints(2), "strides": Ints(2)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := poolOfCase(t, "MaxPool", c.x, c.attrs)
			x := randTensor(r, c.x...)
			var pooled, idx, y Tensor
			MaxPoolForward(&pooled, &idx, x, p)
			n := &Node{Name: "n", Op: "MaxUnpool", Inputs: []string{"x", "i"}, Attrs: c.attrs}
			shape, err := maxUnpoolShape(n, []arg{{shape: pooled.Shape}, {shape: idx.Shape, typ: Int64}}, nil)
			if err != nil || !slices.Equal(shape, c.x) {
				t.Fatalf("shape: got %v, %v, want %v", shape, err, c.x)
			}
			MaxUnpoolForward(&y, &pooled, &idx, shape)
			want := unpoolRef(to64(pooled.Data), idx.Int64, x.Len())
			checkClose(t, "output", y.Data, to32(want), 0, 0)
			for i, v := range y.Data {
				if v != 0 && v != x.Data[i] {
					t.Fatalf("element %d: got %v, want 0 or the input %v", i, v, x.Data[i])
				}
			}
			dy := randTensor(r, shape...)
			dx, start := filled(r, pooled.Shape)
			MaxUnpoolBackward(dx[0], dy, &idx)
			added(dx, start)
			checkGradients(t, func(in [][]float64) []float64 { return unpoolRef(in[0], idx.Int64, x.Len()) }, [][]float64{to64(pooled.Data)}, to64(dy.Data), dx)
		})
	}
}

// TestMaxUnpoolDropsOutsideIndices checks that an index outside the
// output is left out rather than written (or panicking).
func TestMaxUnpoolDropsOutsideIndices(t *testing.T) {
	x := &Tensor{Shape: []int{1, 1, 3}, Data: []float32{1, 2, 3}}
	idx := NewInt64Tensor([]int64{5, -1, 1}, 1, 1, 3)
	var y Tensor
	MaxUnpoolForward(&y, x, idx, []int{1, 1, 6})
	if want := []float32{0, 3, 0, 0, 0, 1}; !slices.Equal(y.Data, want) {
		t.Errorf("got %v, want %v", y.Data, want)
	}
	dx := NewTensor(1, 1, 3)
	MaxUnpoolBackward(dx, &Tensor{Shape: []int{1, 1, 6}, Data: []float32{1, 2, 3, 4, 5, 6}}, idx)
	if want := []float32{6, 0, 2}; !slices.Equal(dx.Data, want) {
		t.Errorf("backward: got %v, want %v", dx.Data, want)
	}
}

// TestPool2x2MatchesGo checks the 2×2 pooling kernel (SSE where the build
// has it) against pool2x2Go: values bit for bit and indices, over rows of
// random values with ties (±0, repeats) and the odd NaN and infinity.
func TestPool2x2MatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	specials := []float32{0, float32(math.Copysign(0, -1)), 1, 1, -1, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	for _, windows := range []int{1, 3, 4, 5, 8, 13, 16, 33} {
		for rep := 0; rep < 50; rep++ {
			w := 2*windows + r.IntN(3)
			in := make([]float32, 2*w+2)
			for i := range in {
				switch k := r.IntN(40); {
				case k < len(specials):
					in[i] = specials[k]
				default:
					in[i] = float32(r.NormFloat64())
				}
			}
			at := r.IntN(w - 2*windows + 1)
			out, idx := make([]float32, windows), make([]int64, windows)
			wantOut, wantIdx := make([]float32, windows), make([]int64, windows)
			Pool2x2(out, idx, in, at, w)
			pool2x2Go(wantOut, wantIdx, in, at, w)
			for i := range out {
				same := math.Float32bits(out[i]) == math.Float32bits(wantOut[i]) || (out[i] != out[i] && wantOut[i] != wantOut[i])
				if !same || idx[i] != wantIdx[i] {
					t.Fatalf("%d windows, row %v from %d (w %d): window %d gives %v at %d, Go %v at %d", windows, in, at, w, i, out[i], idx[i], wantOut[i], wantIdx[i])
				}
			}
		}
	}
}
