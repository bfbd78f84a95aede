package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPoolShapesError checks that Shapes refuses pooling attributes that
// do not fit their input with the node's *NodeError, naming the attribute
// and its value.
func TestPoolShapesError(t *testing.T) {
	k2 := map[string]Attribute{"kernel_shape": Ints(2, 2)}
	x := []int{1, 1, 4, 4}
	tests := []struct {
		op     string
		attrs  map[string]Attribute
		x      []int
		reason string
	}{
		{"MaxPool", nil, x, "attribute kernel_shape: missing (MaxPool requires it)"},
		{"AveragePool", map[string]Attribute{"kernel_shape": Ints(2)}, x, "attribute kernel_shape = [2]: 1 values for 2 spatial axes"},
		{"MaxPool", map[string]Attribute{"kernel_shape": Ints(2, 0)}, x, "attribute kernel_shape = [2 0]: values must be in [1, 2³¹)"},
		{"MaxPool", withAttr(k2, "strides", Ints(0, 1)), x, "attribute strides = [0 1]: values must be in [1, 2³¹)"},
		{"MaxPool", withAttr(k2, "dilations", Ints(1, 1<<40)), x, "attribute dilations = [1 1099511627776]: values must be in [1, 2³¹)"},
		{"MaxPool", withAttr(k2, "pads", Ints(1, 1)), x, "attribute pads = [1 1]: 2 values for 2 spatial axes, want 4"},
		{"AveragePool", withAttr(k2, "pads", Ints(0, 0, -1, 0)), x, "attribute pads = [0 0 -1 0]: values must be in [0, 2³¹)"},
		{"MaxPool", map[string]Attribute{"kernel_shape": Ints(5, 5)}, x, "attribute kernel_shape = [5 5]: the window (dilations [1 1]) is larger than the input of shape [1 1 4 4] padded by [0 0 0 0]"},
		{"MaxPool", map[string]Attribute{"kernel_shape": Ints(2), "dilations": Ints(1 << 30), "pads": Ints(1<<30, 1<<30)}, []int{1, 1, 3},
			"attribute pads = [1073741824 1073741824]: 1×1073741827 outputs a plane for the input of shape [1 1 3]: more than 2²⁸"},
		{"MaxPool", withAttr(k2, "pads", Ints(2, 2, 2, 2)), x, "attribute pads = [2 2 2 2]: a window of kernel_shape [2 2] lies in the padding only, for the input of shape [1 1 4 4]"},
		{"MaxPool", withAttr(k2, "storage_order", Int(1)), x, "attribute storage_order = 1: only 0 (indices in row-major order) runs here"},
		{"MaxPool", withAttr(k2, "ceil_mode", Int(2)), x, "attribute ceil_mode = 2: want 0 or 1"},
		{"AveragePool", withAttr(k2, "count_include_pad", Int(-1)), x, "attribute count_include_pad = -1: want 0 or 1"},
		{"MaxPool", withAttr(k2, "auto_pad", String("SAME")), x, "attribute auto_pad = SAME: want NOTSET, SAME_UPPER, SAME_LOWER or VALID"},
		{"MaxPool", withAttr(withAttr(k2, "auto_pad", String("VALID")), "pads", Ints(1, 1, 1, 1)), x, "attribute auto_pad = VALID: pads [1 1 1 1] given too"},
		{"MaxPool", withAttr(withAttr(k2, "auto_pad", String("SAME_UPPER")), "dilations", Ints(2, 2)), x, "attribute auto_pad = SAME_UPPER: with dilations [2 2]: not run here"},
		{"MaxPool", withAttr(map[string]Attribute{"kernel_shape": Ints(1, 1), "auto_pad": String("SAME_LOWER")}, "strides", Ints(3, 3)), []int{1, 1, 8, 8},
			"attribute auto_pad = SAME_LOWER: kernel_shape [1 1] and strides [3 3] give a negative padding for the input of shape [1 1 8 8]"},
		{"MaxPool", map[string]Attribute{"kernel_shape": Ints(2, 2, 2)}, []int{1, 1, 4, 4, 4}, `input 0 ("x0") of shape [1 1 4 4 4]: MaxPool runs over 1 or 2 spatial axes here (rank 3 or 4)`},
		{"GlobalAveragePool", nil, []int{2, 3}, "input shapes [[2 3]] do not fit"},
		{"GlobalMaxPool", nil, []int{2, 3, 0}, "input shapes [[2 3 0]] do not fit"},
		{"MaxUnpool", map[string]Attribute{"kernel_shape": Ints(2, 2)}, x, `input 1 ("x1"): float32 of shape [1 1 4 4], want int64 indices of X's shape [1 1 4 4]`},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			shapes := [][]int{tt.x}
			if tt.op == "MaxUnpool" {
				shapes = append(shapes, tt.x)
			}
			checkShapesError(t, tt.op, tt.attrs, tt.reason, shapes...)
		})
	}
}

// TestMaxUnpoolShapesError checks MaxUnpool's refusals: output_shape not
// known before the graph runs or not fitting X, pads leaving no output.
func TestMaxUnpoolShapesError(t *testing.T) {
	attrs := map[string]Attribute{"kernel_shape": Ints(2, 2), "strides": Ints(2, 2)}
	x := []int{1, 2, 3, 3}
	idx := arg{shape: x, typ: Int64}
	for _, tt := range []struct {
		attrs map[string]Attribute
		in    []arg
		want  string
	}{
		{attrs, []arg{{shape: x}, idx, {shape: []int{4}, typ: Int64}}, `input 2 ("s"): output_shape not known before the graph runs`},
		{attrs, []arg{{shape: x}, idx, {typ: Int64, value: NewInt64Tensor([]int64{1, 3, 6, 6}, 4)}}, `input 2 ("s"): output_shape [1 3 6 6], want 4 positive sizes starting [1 2]`},
		{attrs, []arg{{shape: x}, idx, {typ: Int64, value: NewInt64Tensor([]int64{1, 2, 6}, 3)}}, `input 2 ("s"): output_shape [1 2 6], want 4 positive sizes starting [1 2]`},
		{attrs, []arg{{shape: x}, idx, {typ: Int64, value: NewInt64Tensor([]int64{1, 2, 1 << 20, 1 << 20}, 4)}}, `input 2 ("s"): output_shape [1 2 1048576 1048576]: more than 2³¹ values`},
		{map[string]Attribute{"kernel_shape": Ints(2, 2), "strides": Ints(1<<30, 1<<30)}, []arg{{shape: x}, idx}, "output of shape [1 2 2147483650 2147483650]: more than 2³¹ values"},
		{withAttr(attrs, "pads", Ints(3, 3, 3, 3)), []arg{{shape: []int{1, 2, 1, 1}}, {shape: []int{1, 2, 1, 1}, typ: Int64}}, "attribute pads = [3 3 3 3]: leave no output along spatial axis 0 for the input of shape [1 2 1 1]"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			n := &Node{Name: "n", Op: "MaxUnpool", Inputs: []string{"x", "i", "s"}[:len(tt.in)], Attrs: tt.attrs}
			if _, err := maxUnpoolShape(n, tt.in, nil); err == nil || err.Error() != tt.want {
				t.Errorf("got error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestPoolGraph runs MaxPool (both outputs, and the output alone),
// AveragePool, GlobalAveragePool, GlobalMaxPool and MaxUnpool (with its
// output_shape a parameter) through the op table's Forward and Backward,
// against their kernels.
func TestPoolGraph(t *testing.T) {
	r := rand.New(rand.NewPCG(115, 116))
	win := map[string]Attribute{"kernel_shape": Ints(2, 2), "strides": Ints(2, 2), "pads": Ints(0, 0, 1, 1), "ceil_mode": Int(1)}
	g := &Graph{
		Inputs:  []Value{{Name: "x", Shape: []int{-1, 2, 5, 6}}},
		Outputs: []string{"u", "a", "ga", "gm", "m2"},
		Params:  map[string]*Tensor{"shape": NewInt64Tensor([]int64{2, 2, 5, 6}, 4)},
		Nodes: []*Node{
			{Name: "max", Op: "MaxPool", Inputs: []string{"x"}, Outputs: []string{"m", "i"}, Attrs: win},
			{Name: "max2", Op: "MaxPool", Inputs: []string{"x"}, Outputs: []string{"m2"}, Attrs: win},
			{Name: "unpool", Op: "MaxUnpool", Inputs: []string{"m", "i", "shape"}, Outputs: []string{"u"}, Attrs: map[string]Attribute{"kernel_shape": Ints(2, 2), "strides": Ints(2, 2)}},
			{Name: "avg", Op: "AveragePool", Inputs: []string{"x"}, Outputs: []string{"a"}, Attrs: withAttr(win, "count_include_pad", Int(1))},
			{Name: "gavg", Op: "GlobalAveragePool", Inputs: []string{"x"}, Outputs: []string{"ga"}},
			{Name: "gmax", Op: "GlobalMaxPool", Inputs: []string{"x"}, Outputs: []string{"gm"}},
		},
	}
	x := randTensor(r, 2, 2, 5, 6)
	values, err := g.Forward(map[string]*Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	p := poolOfCase(t, "MaxPool", x.Shape, win)
	var m, i, u, a, ga, gm Tensor
	MaxPoolForward(&m, &i, x, p)
	MaxUnpoolForward(&u, &m, &i, x.Shape)
	pa := poolOfCase(t, "AveragePool", x.Shape, withAttr(win, "count_include_pad", Int(1)))
	AveragePoolForward(&a, x, pa)
	GlobalAveragePoolForward(&ga, x)
	GlobalMaxPoolForward(&gm, x)
	for name, want := range map[string]*Tensor{"m": &m, "m2": &m, "u": &u, "a": &a, "ga": &ga, "gm": &gm} {
		if got := values[name]; !slices.Equal(got.Shape, want.Shape) || !slices.Equal(got.Data, want.Data) {
			t.Errorf("%s: got %v %v, want %v %v", name, got.Shape, got.Data, want.Shape, want.Data)
		}
	}
	if !slices.Equal(values["i"].Int64, i.Int64) {
		t.Errorf("indices: got %v, want %v", values["i"].Int64, i.Int64)
	}
	seeds := map[string]*Tensor{}
	for _, name := range g.Outputs {
		seeds[name] = randTensor(r, values[name].Shape...)
	}
	grads, err := g.Backward(values, seeds)
	if err != nil {
		t.Fatal(err)
	}
	want := NewTensor(x.Shape...)
	dm := NewTensor(m.Shape...)
	MaxUnpoolBackward(dm, seeds["u"], &i)
	MaxPoolBackward(want, dm, &i, p)
	MaxPoolBackward(want, seeds["m2"], &i, p)
	AveragePoolBackward(want, seeds["a"], pa)
	GlobalAveragePoolBackward(want, seeds["ga"])
	GlobalMaxPoolBackward(want, seeds["gm"], x)
	checkClose(t, "gradient of x", grads["x"].Data, want.Data, 1e-6, 1e-6)
}

// TestPoolOpsAllocateNothing checks that, their state and outputs kept,
// the pooling operators' Forward and Backward allocate nothing.
func TestPoolOpsAllocateNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(117, 118))
	win := map[string]Attribute{"kernel_shape": Ints(2, 2), "strides": Ints(2, 2)}
	x := randTensor(r, 4, 3, 8, 8)
	var pooled, idx Tensor
	MaxPoolForward(&pooled, &idx, x, poolOfCase(t, "MaxPool", x.Shape, win))
	for _, c := range []struct {
		op      string
		attrs   map[string]Attribute
		in      []*Tensor
		outs    int
		outLike []int
	}{
		{"MaxPool", win, []*Tensor{x}, 2, pooled.Shape},
		{"MaxPool", win, []*Tensor{x}, 1, pooled.Shape},
		{"AveragePool", withAttr(win, "pads", Ints(1, 1, 1, 1)), []*Tensor{x}, 1, []int{4, 3, 5, 5}},
		{"GlobalAveragePool", nil, []*Tensor{x}, 1, []int{4, 3, 1, 1}},
		{"GlobalMaxPool", nil, []*Tensor{x}, 1, []int{4, 3, 1, 1}},
		{"MaxUnpool", win, []*Tensor{&pooled, &idx}, 1, x.Shape},
		{"MaxUnpool", win, []*Tensor{&pooled, &idx, NewInt64Tensor([]int64{4, 3, 8, 8}, 4)}, 1, x.Shape},
	} {
		t.Run(fmt.Sprintf("%s %d outputs %d inputs", c.op, c.outs, len(c.in)), func(t *testing.T) {
			checkOpAllocs(t, c.op, c.attrs, c.in, c.outs, c.outLike)
		})
	}
}

// checkOpAllocs runs op's Forward and Backward once, then checks that
// further runs with the same state, outputs and gradients allocate
// nothing.
func checkOpAllocs(t *testing.T, op string, attrs map[string]Attribute, in []*Tensor, outs int, outShape []int) {
	t.Helper()
	n := &Node{Name: "n", Op: op, Attrs: attrs}
	for k, x := range in {
		name := ""
		if x != nil {
			name = fmt.Sprint("x", k)
		}
		n.Inputs = append(n.Inputs, name)
	}
	out := make([]*Tensor, outs)
	for k := range out {
		out[k] = new(Tensor)
		n.Outputs = append(n.Outputs, fmt.Sprint("y", k))
	}
	din := make([]*Tensor, len(in))
	for k, x := range in {
		if x != nil && x.Type == Float32 && k == 0 {
			din[k] = NewTensor(x.Shape...)
		}
	}
	dout := make([]*Tensor, outs)
	dout[0] = NewTensor(outShape...)
	o := operators[op]
	s := &state{}
	run := func() {
		o.forward(s, n, out, in)
		o.backward(s, n, din, dout, out, in)
	}
	run()
	if !slices.Equal(out[0].Shape, outShape) {
		t.Fatalf("output shape: got %v, want %v", out[0].Shape, outShape)
	}
	if a := testing.AllocsPerRun(20, run); a != 0 {
		t.Errorf("got %v allocations a run, want 0", a)
	}
}

// TestOverwrite checks that the Backward kernels with Overwrite write
// what they add into a cleared gradient, whatever the buffer held, over
// pooling planes and Resize's planes that map onto themselves or not.
func TestOverwrite(t *testing.T) {
	r := rand.New(rand.NewPCG(131, 132))
	x := randTensor(r, 2, 3, 7, 6)
	check := func(t *testing.T, backward func(dx *Tensor)) {
		t.Helper()
		want := NewTensor(x.Shape...)
		backward(want)
		got, _ := filled(r, x.Shape)
		backward(got[0])
		checkClose(t, "overwritten gradient", got[0].Data, want.Data, 0, 0)
	}
	for _, c := range poolCases[:4] {
		t.Run("pool "+c.name, func(t *testing.T) {
			xc := randTensor(r, c.x...)
			p := poolOfCase(t, "MaxPool", c.x, c.attrs)
			var y, idx Tensor
			MaxPoolForward(&y, &idx, xc, p)
			dy := randTensor(r, y.Shape...)
			x = xc
			check(t, func(dx *Tensor) {
				p.Overwrite = dx.Data[0] != 0 // the filled buffer, not the cleared one
				MaxPoolBackward(dx, dy, &idx, p)
			})
			check(t, func(dx *Tensor) {
				p.Overwrite = dx.Data[0] != 0
				AveragePoolBackward(dx, dy, p)
			})
		})
	}
	for _, c := range []resizeCase{
		{x: []int{2, 3, 7, 6}, attrs: resizeAttrs("nearest", "asymmetric", "floor"), scales: []float32{1, 1, 2, 2}},
		{x: []int{2, 3, 7, 6}, attrs: resizeAttrs("nearest", "half_pixel", ""), scales: []float32{1, 1, 0.5, 1.5}},
		{x: []int{2, 3, 7, 6}, attrs: resizeAttrs("nearest", "asymmetric", "floor"), scales: []float32{1, 0.5, 2, 2}},
		{x: []int{2, 3, 7, 6}, attrs: resizeAttrs("linear", "half_pixel", ""), scales: []float32{1, 1, 0.5, 1.5}},
		{x: []int{2, 3, 7, 6}, attrs: resizeAttrs("cubic", "half_pixel", ""), scales: []float32{1, 1, 0.5, 1.5}},
	} {
		t.Run(fmt.Sprint("resize ", c.attrs["mode"].String, c.scales), func(t *testing.T) {
			x = randTensor(r, c.x...)
			rs := c.resize(t, x)
			dy := randTensor(r, rs.Sizes...)
			check(t, func(dx *Tensor) {
				rs.Overwrite = dx.Data[0] != 0
				ResizeBackward(dx, dy, rs)
			})
		})
	}
}

// TestMaxPoolStateKeepsIndices checks MaxPool without its indices output
// over a state kept between calls, as the executor runs it: Backward
// routes the gradient by the indices of the last Forward (here of a second
// input of the same shape), as the kernels do with them.
func TestMaxPoolStateKeepsIndices(t *testing.T) {
	r := rand.New(rand.NewPCG(133, 134))
	attrs := map[string]Attribute{"kernel_shape": Ints(3, 3), "strides": Ints(2, 2), "pads": Ints(1, 1, 1, 1)}
	n := &Node{Name: "n", Op: "MaxPool", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: attrs}
	op, s := operators["MaxPool"], &state{}
	y := new(Tensor)
	for _, x := range []*Tensor{randTensor(r, 2, 2, 7, 6), randTensor(r, 2, 2, 7, 6)} {
		op.forward(s, n, []*Tensor{y}, []*Tensor{x})
		dy := randTensor(r, y.Shape...)
		got := NewTensor(x.Shape...)
		op.backward(s, n, []*Tensor{got}, []*Tensor{dy}, []*Tensor{y}, []*Tensor{x})
		var yw, idx Tensor
		p := poolOfCase(t, "MaxPool", x.Shape, attrs)
		MaxPoolForward(&yw, &idx, x, p)
		want := NewTensor(x.Shape...)
		MaxPoolBackward(want, dy, &idx, p)
		checkClose(t, "output", y.Data, yw.Data, 0, 0)
		checkClose(t, "gradient", got.Data, want.Data, 0, 0)
	}
}
