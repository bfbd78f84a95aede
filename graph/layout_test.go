package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// The tests of Split, Range, DepthToSpace and SpaceToDepth (Pad's are in
// pad_test.go).

var splitCases = []struct {
	x     []int
	axis  int
	split []int64 // nil: num_outputs (num > 0) or equal parts
	num   int
	want  []int
}{
	{[]int{6, 2}, 0, nil, 0, []int{2, 2, 2}},
	{[]int{2, 7}, 1, nil, 3, []int{3, 3, 1}},
	{[]int{2, 8, 3}, -2, []int64{1, 4, 0, 3}, 0, []int{1, 4, 0, 3}},
	{[]int{3, 2, 5}, 2, []int64{5}, 0, []int{5}},
	{[]int{4, 3}, -1, nil, 2, []int{2, 1}},
}

// TestSplit checks SplitForward against slices of the input, on float32
// and int64 data, and SplitBackward against finite differences with one
// output's gradient left out.
func TestSplit(t *testing.T) {
	r := rand.New(rand.NewPCG(151, 152))
	for _, c := range splitCases {
		t.Run(fmt.Sprintf("%v_%d_%v_%d", c.x, c.axis, c.split, c.num), func(t *testing.T) {
			n := &Node{Op: "Split", Attrs: map[string]Attribute{"axis": Int(int64(c.axis))}, Outputs: make([]string, len(c.want))}
			if c.num > 0 {
				n.Attrs["num_outputs"] = Int(int64(c.num))
			}
			if c.split != nil {
				n.Inputs = []string{"x", "split"}
			}
			parts, err := splitParts(n, c.x, c.split)
			if err != nil || !slices.Equal(parts, c.want) {
				t.Fatalf("parts: got %v, %v, want %v", parts, err, c.want)
			}
			a, _ := normAxis(c.axis, len(c.x))
			x := randTensor(r, c.x...)
			ys := make([]*Tensor, len(parts))
			for k := range ys {
				ys[k] = new(Tensor)
			}
			SplitForward(ys, x, parts, c.axis)
			xi := counting(c.x...)
			yi := make([]*Tensor, len(parts))
			for k := range yi {
				yi[k] = new(Tensor)
			}
			SplitForward(yi, xi, parts, c.axis)
			off := int64(0)
			for k, p := range parts {
				var want Tensor
				SliceForward(&want, x, []int64{off}, []int64{off + int64(p)}, []int64{int64(a)}, nil)
				if !slices.Equal(ys[k].Shape, want.Shape) {
					t.Fatalf("output %d: shape %v, want %v", k, ys[k].Shape, want.Shape)
				}
				checkClose(t, fmt.Sprintf("output %d", k), ys[k].Data, want.Data, 0, 0)
				SliceForward(&want, xi, []int64{off}, []int64{off + int64(p)}, []int64{int64(a)}, nil)
				if yi[k].Type != Int64 || !slices.Equal(yi[k].Int64, want.Int64) {
					t.Fatalf("int64 output %d: got %v, want %v", k, yi[k].Int64, want.Int64)
				}
				off += int64(p)
			}
			dys := make([]*Tensor, len(parts))
			for k := range dys {
				if k != 1 {
					dys[k] = randTensor(r, ys[k].Shape...)
				}
			}
			dxs, start := filled(r, c.x)
			SplitBackward(dxs[0], dys, parts, c.axis)
			added(dxs, start)
			var w []float64
			for _, dy := range dys {
				if dy != nil {
					w = append(w, to64(dy.Data)...)
				}
			}
			f := func(in [][]float64) []float64 {
				// The outputs but the one without a gradient, concatenated.
				outer, d, inner := elements(c.x[:a]), c.x[a], elements(c.x[a+1:])
				var out []float64
				off := 0
				for k, p := range parts {
					if dys[k] != nil {
						for o := 0; o < outer; o++ {
							out = append(out, in[0][(o*d+off)*inner:(o*d+off+p)*inner]...)
						}
					}
					off += p
				}
				return out
			}
			checkGradients(t, f, [][]float64{to64(x.Data)}, w, dxs)
		})
	}
}

// TestSplitShapesErrors checks Split's errors name the attribute or input
// and its value.
func TestSplitShapesErrors(t *testing.T) {
	for _, c := range []struct {
		attrs   map[string]Attribute
		split   []int64
		outputs int
		want    string
	}{
		{map[string]Attribute{"axis": Int(2)}, nil, 2, `attribute axis = 2: outside [−2, 1] for the data of shape [4 6]`},
		{nil, []int64{1, 2}, 3, `input 1 ("s") = [1 2]: 2 sizes for 3 outputs`},
		{nil, []int64{1, 2}, 2, `input 1 ("s") = [1 2]: sizes sum to 3, not 4, the size of axis 0 of the data of shape [4 6]`},
		{nil, []int64{-1, 5}, 2, `input 1 ("s") = [-1 5]: size -1 outside [0, 4], the size of axis 0`},
		{map[string]Attribute{"num_outputs": Int(2)}, []int64{2, 2}, 2, `attribute num_outputs = 2: given with the split input "s"`},
		{map[string]Attribute{"num_outputs": Int(3)}, nil, 2, `attribute num_outputs = 3: the node has 2 outputs`},
		{map[string]Attribute{"num_outputs": Int(5), "axis": Int(1)}, nil, 5, `attribute num_outputs = 5: axis 1 of size 6 does not split into 5 parts of 2 and a last one of at least 1`},
		{map[string]Attribute{"num_outputs": Int(4), "axis": Int(1)}, nil, 4, `attribute num_outputs = 4: axis 1 of size 6 does not split into 4 parts of 2 and a last one of at least 1`},
		{nil, nil, 3, `3 outputs without num_outputs or the split input: axis 0 of size 4 does not split into 3 equal parts`},
	} {
		t.Run(c.want, func(t *testing.T) {
			g := &Graph{Inputs: []Value{{Name: "x", Shape: []int{4, 6}}}, Params: map[string]*Tensor{}}
			n := &Node{Name: "n", Op: "Split", Inputs: []string{"x"}, Attrs: c.attrs}
			for k := 0; k < c.outputs; k++ {
				n.Outputs = append(n.Outputs, fmt.Sprintf("y%d", k))
			}
			if c.split != nil {
				g.Params["s"] = i64s(c.split...)
				n.Inputs = append(n.Inputs, "s")
			}
			g.Nodes, g.Outputs = []*Node{n}, n.Outputs
			_, err := g.Shapes(map[string][]int{"x": {4, 6}})
			if want := `graph: node "n" (Split): tensor "y0": ` + c.want; err == nil || err.Error() != want {
				t.Errorf("got error %v, want %q", err, want)
			}
		})
	}
}

var rangeCases = []struct {
	start, limit, delta float64
	n                   int
}{
	{0, 5, 1, 5}, {2, 11, 3, 3}, {10, 4, -2, 3}, {3, 3, 1, 0}, {5, 1, 1, 0}, {-3, 4, 2, 4},
}

// TestRange checks int64 and float32 ranges against the closed form,
// float32 against the accumulation ONNX Runtime does, and that an int64
// range from shapes is folded.
func TestRange(t *testing.T) {
	for _, c := range rangeCases {
		t.Run(fmt.Sprintf("%v_%v_%v", c.start, c.limit, c.delta), func(t *testing.T) {
			var y Tensor
			RangeForward(&y, NewInt64Tensor([]int64{int64(c.start)}), NewInt64Tensor([]int64{int64(c.limit)}), NewInt64Tensor([]int64{int64(c.delta)}))
			if y.Type != Int64 || !slices.Equal(y.Shape, []int{c.n}) {
				t.Fatalf("int64: got %v of shape %v, want %d elements", y.Type, y.Shape, c.n)
			}
			for i, v := range y.Int64 {
				if want := int64(c.start + float64(i)*c.delta); v != want {
					t.Fatalf("int64 element %d: got %d, want %d", i, v, want)
				}
			}
			scalar := func(v float64) *Tensor { return &Tensor{Shape: []int{}, Data: []float32{float32(v)}} }
			RangeForward(&y, scalar(c.start/4), scalar(c.limit/4), scalar(c.delta/4))
			if y.Type != Float32 || !slices.Equal(y.Shape, []int{c.n}) {
				t.Fatalf("float32: got %v of shape %v, want %d elements", y.Type, y.Shape, c.n)
			}
			for i, v := range y.Data {
				if want := c.start/4 + float64(i)*c.delta/4; v != float32(want) {
					t.Fatalf("float32 element %d: got %v, want %v", i, v, want)
				}
			}
		})
	}
	// Accumulated in float32, as ONNX Runtime does: 0.1 added 30 times.
	var y Tensor
	RangeForward(&y, &Tensor{Shape: []int{}, Data: []float32{0}}, &Tensor{Shape: []int{}, Data: []float32{3}}, &Tensor{Shape: []int{}, Data: []float32{0.1}})
	acc := float32(0)
	for i, v := range y.Data {
		if v != acc {
			t.Fatalf("accumulated element %d: got %v, want %v", i, v, acc)
		}
		acc += 0.1
	}
	if len(y.Data) != 30 {
		t.Fatalf("got %d elements, want 30", len(y.Data))
	}
	// A hostile Range is refused before anything is allocated.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := RangeCount(NewInt64Tensor([]int64{0}), NewInt64Tensor([]int64{maxRange + 1}), NewInt64Tensor([]int64{1}))
	runtime.ReadMemStats(&after)
	if err == nil || after.TotalAlloc-before.TotalAlloc > 1<<20 {
		t.Errorf("a range of %d elements: got error %v after %d bytes allocated, want an error and little allocated", maxRange+1, err, after.TotalAlloc-before.TotalAlloc)
	}
	// Extreme int64 values: the count and the values exact, no overflow.
	RangeForward(&y, NewInt64Tensor([]int64{math.MaxInt64 - 2}), NewInt64Tensor([]int64{math.MinInt64}), NewInt64Tensor([]int64{math.MinInt64}))
	if !slices.Equal(y.Int64, []int64{math.MaxInt64 - 2, -3}) {
		t.Errorf("extreme: got %v, want [%d -3]", y.Int64, int64(math.MaxInt64-2))
	}
	// An int64 Range of the batch size folds before the graph runs.
	g := &Graph{Inputs: []Value{{Name: "x", Shape: []int{-1, 3}}}, Outputs: []string{"y"},
		Params: map[string]*Tensor{"i0": NewInt64Tensor([]int64{0}), "zero": NewInt64Tensor([]int64{0}), "one": NewInt64Tensor([]int64{1}), "axes": i64s(0)},
		Nodes: []*Node{
			{Name: "shape", Op: "Shape", Inputs: []string{"x"}, Outputs: []string{"s"}},
			{Name: "batch", Op: "Gather", Inputs: []string{"s", "i0"}, Outputs: []string{"b"}},
			{Name: "range", Op: "Range", Inputs: []string{"zero", "b", "one"}, Outputs: []string{"idx"}},
			{Name: "gather", Op: "Gather", Inputs: []string{"x", "idx"}, Outputs: []string{"y"}},
		}}
	args, _, err := g.infer(map[string][]int{"x": {4, 3}})
	if err != nil {
		t.Fatal(err)
	}
	if v := args["idx"].value; v == nil || !slices.Equal(v.Int64, []int64{0, 1, 2, 3}) {
		t.Errorf("folded range: got %v, want [0 1 2 3]", v)
	}
}

// TestRangeShapesErrors checks Range's errors.
func TestRangeShapesErrors(t *testing.T) {
	i := func(v int64) *Tensor { return NewInt64Tensor([]int64{v}) }
	for _, c := range []struct {
		start, limit, delta *Tensor
		want                string
	}{
		{i(0), i(5), i(0), `inputs start, limit, delta ("a", "b", "c") = [0 5 0]: delta is 0`},
		{i(0), i(1 << 40), i(1), `inputs start, limit, delta ("a", "b", "c") = [0 1099511627776 1]: start 0, limit 1099511627776, delta 1: 1099511627776 elements, more than 4194304`},
		{i(math.MinInt64), i(math.MaxInt64), i(1), `inputs start, limit, delta ("a", "b", "c") = [-9223372036854775808 9223372036854775807 1]: start -9223372036854775808, limit 9223372036854775807, delta 1: 18446744073709551615 elements, more than 4194304`},
		{&Tensor{Shape: []int{}, Data: []float32{0}}, &Tensor{Shape: []int{}, Data: []float32{float32(math.Inf(1))}}, &Tensor{Shape: []int{}, Data: []float32{1}}, `inputs start, limit, delta ("a", "b", "c") = [0 +Inf 1]: start 0, limit +Inf, delta 1: +Inf elements, more than 4194304`},
		{i(0), &Tensor{Shape: []int{}, Data: []float32{3}}, i(1), `input 1 ("b") is float32, input 0 ("a") int64`},
		{i(0), i64s(3, 4), i(1), `input 1 ("b") of shape [2], want a scalar`},
	} {
		t.Run(c.want, func(t *testing.T) {
			g := &Graph{Outputs: []string{"y"}, Params: map[string]*Tensor{"a": c.start, "b": c.limit, "c": c.delta},
				Nodes: []*Node{{Name: "n", Op: "Range", Inputs: []string{"a", "b", "c"}, Outputs: []string{"y"}}}}
			_, err := g.Shapes(nil)
			if want := `graph: node "n" (Range): tensor "y": ` + c.want; err == nil || err.Error() != want {
				t.Errorf("got error %v, want %q", err, want)
			}
		})
	}
	g := &Graph{Inputs: []Value{{Name: "a", Shape: []int{}, Type: Int64}}, Outputs: []string{"y"}, Params: map[string]*Tensor{"b": i(3), "c": i(1)},
		Nodes: []*Node{{Name: "n", Op: "Range", Inputs: []string{"a", "b", "c"}, Outputs: []string{"y"}}}}
	_, err := g.Shapes(map[string][]int{"a": {}})
	if want := `graph: node "n" (Range): tensor "y": input 0 ("a") is not known before the graph runs (want a parameter, a constant or a value computed from shapes): the output's size depends on it`; err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
}

// depthToSpaceRef is ONNX's definition: DCR reshapes x to (N, b, b, C, H,
// W) and transposes to (N, C, H, b, W, b); CRD reshapes to (N, C, b, b,
// H, W). Element by element, output (n, c, y, x) reads the channel of its
// place in the block.
func depthToSpaceRef[T float32 | float64 | int64](x []T, s []int, b int, crd bool) []T {
	n, c, h, w := s[0], s[1]/(b*b), s[2], s[3]
	y := make([]T, len(x))
	for i := range y {
		var oi [4]int
		indexOf(oi[:], i, []int{n, c, h * b, w * b})
		bi, bj := oi[2]%b, oi[3]%b
		ch := (bi*b+bj)*c + oi[1]
		if crd {
			ch = oi[1]*b*b + bi*b + bj
		}
		y[i] = x[offsetOf([]int{oi[0], ch, oi[2] / b, oi[3] / b}, s)]
	}
	return y
}

// spaceToDepthRef: output (n, (i·b + j)·C + c, y, x) reads x (n, c, y·b + i, x·b + j).
func spaceToDepthRef[T float32 | float64 | int64](x []T, s []int, b int) []T {
	n, c, h, w := s[0], s[1], s[2]/b, s[3]/b
	y := make([]T, len(x))
	for i := range y {
		var oi [4]int
		indexOf(oi[:], i, []int{n, c * b * b, h, w})
		blk, ch := oi[1]/c, oi[1]%c
		y[i] = x[offsetOf([]int{oi[0], ch, oi[2]*b + blk/b, oi[3]*b + blk%b}, s)]
	}
	return y
}

var depthSpaceCases = []struct {
	x []int
	b int
}{
	{[]int{1, 4, 2, 3}, 2}, {[]int{2, 18, 2, 1}, 3}, {[]int{2, 8, 3, 3}, 2}, {[]int{1, 3, 2, 2}, 1},
}

// TestDepthToSpace checks both modes and SpaceToDepth against the
// references, on float32 and int64, SpaceToDepth as DCR's inverse, and
// Backward against finite differences.
func TestDepthToSpace(t *testing.T) {
	r := rand.New(rand.NewPCG(153, 154))
	for _, c := range depthSpaceCases {
		for _, crd := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v_%d_crd%v", c.x, c.b, crd), func(t *testing.T) {
				x := randTensor(r, c.x...)
				var y, back Tensor
				DepthToSpaceForward(&y, x, c.b, crd)
				want, _ := DepthToSpaceShape(c.x, c.b)
				if !slices.Equal(y.Shape, want) {
					t.Fatalf("shape: got %v, want %v", y.Shape, want)
				}
				checkClose(t, "y", y.Data, depthToSpaceRef(x.Data, c.x, c.b, crd), 0, 0)
				xi := counting(c.x...)
				var yi Tensor
				DepthToSpaceForward(&yi, xi, c.b, crd)
				if !slices.Equal(yi.Int64, depthToSpaceRef(xi.Int64, c.x, c.b, crd)) {
					t.Fatalf("int64: got %v", yi.Int64)
				}
				if !crd {
					SpaceToDepthForward(&back, &y, c.b)
					if !slices.Equal(back.Shape, c.x) || !slices.Equal(back.Data, x.Data) {
						t.Fatalf("SpaceToDepth(DepthToSpace(x)): got %v, want x", back.Shape)
					}
				}
				dy := randTensor(r, want...)
				dxs, start := filled(r, c.x)
				DepthToSpaceBackward(dxs[0], dy, c.b, crd)
				added(dxs, start)
				f := func(in [][]float64) []float64 { return depthToSpaceRef(in[0], c.x, c.b, crd) }
				checkGradients(t, f, [][]float64{to64(x.Data)}, to64(dy.Data), dxs)
			})
		}
		s := []int{c.x[0], c.x[1] / (c.b * c.b), c.x[2] * c.b, c.x[3] * c.b}
		t.Run(fmt.Sprintf("SpaceToDepth_%v_%d", s, c.b), func(t *testing.T) {
			x := randTensor(r, s...)
			var y Tensor
			SpaceToDepthForward(&y, x, c.b)
			if !slices.Equal(y.Shape, c.x) {
				t.Fatalf("shape: got %v, want %v", y.Shape, c.x)
			}
			checkClose(t, "y", y.Data, spaceToDepthRef(x.Data, s, c.b), 0, 0)
			dy := randTensor(r, c.x...)
			dxs, start := filled(r, s)
			SpaceToDepthBackward(dxs[0], dy, c.b)
			added(dxs, start)
			f := func(in [][]float64) []float64 { return spaceToDepthRef(in[0], s, c.b) }
			checkGradients(t, f, [][]float64{to64(x.Data)}, to64(dy.Data), dxs)
		})
	}
}

// TestDepthToSpaceShapesErrors checks the errors name the attribute and
// its value.
func TestDepthToSpaceShapesErrors(t *testing.T) {
	for _, c := range []struct {
		op    string
		attrs map[string]Attribute
		x     []int
		want  string
	}{
		{"DepthToSpace", map[string]Attribute{"blocksize": Int(2)}, []int{1, 6, 2, 2}, `attribute blocksize = 2: the data of shape [1 6 2 2]: channels 6 not a multiple of 4`},
		{"DepthToSpace", map[string]Attribute{"blocksize": Int(2)}, []int{4, 2, 2}, `attribute blocksize = 2: the data of shape [4 2 2], want 4-D (N, C, H, W)`},
		{"DepthToSpace", map[string]Attribute{"blocksize": Int(0)}, []int{1, 4, 2, 2}, `attribute blocksize = 0: want at least 1 (and at most 2²⁰)`},
		{"DepthToSpace", map[string]Attribute{"blocksize": Int(2), "mode": String("RCD")}, []int{1, 4, 2, 2}, `attribute mode = "RCD": want DCR or CRD`},
		{"DepthToSpace", nil, []int{1, 4, 2, 2}, `attribute blocksize: missing`},
		{"SpaceToDepth", map[string]Attribute{"blocksize": Int(2)}, []int{1, 1, 4, 3}, `attribute blocksize = 2: the data of shape [1 1 4 3]: height 4 and width 3 not multiples of it`},
		{"SpaceToDepth", map[string]Attribute{"blocksize": Int(1 << 20)}, []int{1, 1 << 12, 1 << 20, 1 << 20}, `attribute blocksize = 1048576: the data of shape [1 4096 1048576 1048576]: more than 2147483648 elements`},
	} {
		t.Run(c.want, func(t *testing.T) { checkShapesError(t, c.op, c.attrs, c.want, c.x) })
	}
}

// TestLayoutPlan runs a pixel-shuffle decoder's moves — Split, the two
// DepthToSpace modes, SpaceToDepth, Range-indexed Gather — through the
// planned executor against the reference, and checks that a step
// allocates nothing.
func TestLayoutPlan(t *testing.T) {
	r := rand.New(rand.NewPCG(155, 156))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	g := &Graph{Inputs: []Value{{Name: "x", Shape: []int{-1, 8, 3, 3}}}, Outputs: []string{"y"},
		Params: map[string]*Tensor{"w": randTensor(r, 1, 8, 1, 1), "split": i64s(4, 4), "zero": NewInt64Tensor([]int64{0}), "two": NewInt64Tensor([]int64{2}),
			"one": NewInt64Tensor([]int64{1})},
		Nodes: []*Node{
			{Name: "scale", Op: "Mul", Inputs: []string{"x", "w"}, Outputs: []string{"h"}},
			{Name: "split", Op: "Split", Inputs: []string{"h", "split"}, Outputs: []string{"a", "b"}, Attrs: map[string]Attribute{"axis": Int(1)}},
			{Name: "dcr", Op: "DepthToSpace", Inputs: []string{"a"}, Outputs: []string{"a2"}, Attrs: map[string]Attribute{"blocksize": Int(2)}},
			{Name: "crd", Op: "DepthToSpace", Inputs: []string{"b"}, Outputs: []string{"b2"}, Attrs: map[string]Attribute{"blocksize": Int(2), "mode": String("CRD")}},
			{Name: "sum", Op: "Add", Inputs: []string{"a2", "b2"}, Outputs: []string{"c"}}, // not Concat, which allocates each step
			{Name: "s2d", Op: "SpaceToDepth", Inputs: []string{"c"}, Outputs: []string{"d"}, Attrs: map[string]Attribute{"blocksize": Int(2)}},
			{Name: "range", Op: "Range", Inputs: []string{"zero", "two", "one"}, Outputs: []string{"idx"}},
			{Name: "pick", Op: "Gather", Inputs: []string{"d", "idx"}, Outputs: []string{"y"}, Attrs: map[string]Attribute{"axis": Int(1)}},
		}}
	x := randTensor(r, 2, 8, 3, 3)
	p := checkPlanMatches(t, g, x, PlanOptions{Grads: []string{"x", "w"}})
	if got, want := p.Shape("y"), []int{2, 2, 3, 3}; !slices.Equal(got, want) {
		t.Fatalf("shape: got %v, want %v", got, want)
	}
	dy := randTensor(r, 2, 2, 3, 3)
	step := func() {
		if err := p.Forward(x); err != nil {
			t.Fatal(err)
		}
		p.Backward(dy)
	}
	step()
	if a := testing.AllocsPerRun(10, step); a != 0 {
		t.Errorf("a step allocates %v times, want 0", a)
	}
}

// TestPyTorchPads folds the subgraph PyTorch (opsets 11 to 17) writes for
// the pads of nn.ReflectionPad2d((1, 2, 3, 0)) — torch's (left, right, top,
// bottom) order turned into ONNX's by ConstantOfShape, Concat, Reshape, a
// reversing Slice, a Transpose of int64 values, Reshape and Cast — and
// pads with it.
func TestPyTorchPads(t *testing.T) {
	g := &Graph{Inputs: []Value{{Name: "x", Shape: []int{-1, 2, 4, 5}}}, Outputs: []string{"y"},
		Params: map[string]*Tensor{"torch": i64s(1, 2, 3, 0), "rest": i64s(4), "pairs": i64s(-1, 2),
			"starts": i64s(-1), "ends": i64s(math.MinInt64 + 1), "axes": i64s(0), "steps": i64s(-1), "flat": i64s(-1)},
		Nodes: []*Node{
			{Name: "zeros", Op: "ConstantOfShape", Inputs: []string{"rest"}, Outputs: []string{"z"}, Attrs: map[string]Attribute{"value": TensorAttr(NewInt64Tensor([]int64{0}, 1))}},
			{Name: "cat", Op: "Concat", Inputs: []string{"torch", "z"}, Outputs: []string{"c"}, Attrs: map[string]Attribute{"axis": Int(0)}},
			{Name: "pairs", Op: "Reshape", Inputs: []string{"c", "pairs"}, Outputs: []string{"p"}},
			{Name: "reverse", Op: "Slice", Inputs: []string{"p", "starts", "ends", "axes", "steps"}, Outputs: []string{"r"}},
			{Name: "transpose", Op: "Transpose", Inputs: []string{"r"}, Outputs: []string{"tr"}, Attrs: map[string]Attribute{"perm": Ints(1, 0)}},
			{Name: "flat", Op: "Reshape", Inputs: []string{"tr", "flat"}, Outputs: []string{"f"}},
			{Name: "cast", Op: "Cast", Inputs: []string{"f"}, Outputs: []string{"pads"}, Attrs: map[string]Attribute{"to": Int(onnxInt64)}},
			{Name: "pad", Op: "Pad", Inputs: []string{"x", "pads"}, Outputs: []string{"y"}, Attrs: map[string]Attribute{"mode": String("reflect")}},
		}}
	args, _, err := g.infer(map[string][]int{"x": {3, 2, 4, 5}})
	if err != nil {
		t.Fatal(err)
	}
	if v := args["pads"].value; v == nil || !slices.Equal(v.Int64, []int64{0, 0, 3, 1, 0, 0, 0, 2}) {
		t.Fatalf("pads: got %v, want [0 0 3 1 0 0 0 2]", v)
	}
	if got := args["y"].shape; !slices.Equal(got, []int{3, 2, 7, 8}) {
		t.Errorf("shape: got %v, want [3 2 7 8]", got)
	}
}
