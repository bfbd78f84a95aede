package graph

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// padCases are paddings over every axis (axes nil) or some, in each mode
// that can run them: positive, zero and negative pads, pads that reach
// past one repeat of the axis (wrap), and pads of the outer axes.
var padCases = []struct {
	x          []int
	pads, axes []int64
	modes      []PadMode
}{
	{[]int{2, 5}, []int64{0, 2, 0, 3}, nil, []PadMode{PadConstant, PadReflect, PadEdge, PadWrap}},
	{[]int{2, 3, 4}, []int64{1, 0, 2, 0, 1, 3}, nil, []PadMode{PadConstant, PadReflect, PadEdge, PadWrap}},
	{[]int{1, 2, 4, 4}, []int64{1, 1, 1, 1}, []int64{2, 3}, []PadMode{PadConstant, PadReflect, PadEdge, PadWrap}},
	{[]int{1, 2, 4, 5}, []int64{3, -1, 2, -2}, []int64{-1, 2}, []PadMode{PadConstant, PadReflect, PadEdge, PadWrap}},
	{[]int{3, 4}, []int64{-1, 0, 0, -2}, nil, []PadMode{PadConstant, PadReflect, PadEdge, PadWrap}},
	{[]int{2, 3}, []int64{0, 3, 0, 2}, nil, []PadMode{PadConstant, PadEdge, PadWrap}},
	{[]int{2, 3}, []int64{0, 7, 0, 5}, nil, []PadMode{PadConstant, PadEdge}},
	{[]int{2, 1, 3}, []int64{2, 0}, []int64{1}, []PadMode{PadConstant, PadEdge}},
	{[]int{2, 1, 3}, []int64{1, 1}, []int64{1}, []PadMode{PadWrap}},
	{[]int{4}, []int64{0, 0}, nil, []PadMode{PadConstant, PadReflect, PadEdge, PadWrap}},
	{[]int{2, 0, 3}, []int64{1, 1}, []int64{2}, []PadMode{PadConstant, PadReflect, PadEdge, PadWrap}},
	{[]int{2, 0, 3}, []int64{1, 2}, []int64{1}, []PadMode{PadConstant}},
}

// padRef is numpy's pad, element by element: each axis cropped by its
// negative pads first, each output index decoded and mapped back into x.
func padRef[T float32 | float64 | int64](x []T, shape []int, pads, axes []int64, mode PadMode, value T) ([]T, []int) {
	r := len(shape)
	full := make([]int64, 2*r)
	if axes == nil {
		copy(full, pads)
	} else {
		for i, a := range axes {
			if a < 0 {
				a += int64(r)
			}
			full[a], full[a+int64(r)] = pads[i], pads[i+len(axes)]
		}
	}
	out := make([]int, r)
	crop, size, before := make([]int, r), make([]int, r), make([]int, r)
	for d := range shape {
		lo, hi := int(full[d]), int(full[d+r])
		crop[d], before[d] = max(-lo, 0), max(lo, 0)
		size[d] = shape[d] - max(-lo, 0) - max(-hi, 0)
		out[d] = size[d] + max(lo, 0) + max(hi, 0)
	}
	y := make([]T, elements(out))
	oi, xi := make([]int, r), make([]int, r)
outer:
	for i := range y {
		indexOf(oi, i, out)
		for d := range shape {
			j := oi[d] - before[d]
			for j < 0 || j >= size[d] {
				switch mode {
				case PadConstant:
					y[i] = value
					continue outer
				case PadEdge:
					j = min(max(j, 0), size[d]-1)
				case PadReflect:
					if j < 0 {
						j = -j
					} else {
						j = 2*(size[d]-1) - j
					}
				case PadWrap:
					j = (j%size[d] + size[d]) % size[d]
				}
			}
			xi[d] = crop[d] + j
		}
		y[i] = x[offsetOf(xi, shape)]
	}
	return y, out
}

// TestPad checks PadForward against the reference on float32 and int64
// data, with and without a constant, and PadBackward against finite
// differences.
func TestPad(t *testing.T) {
	r := rand.New(rand.NewPCG(141, 142))
	for _, c := range padCases {
		for _, mode := range c.modes {
			t.Run(fmt.Sprintf("%v_%v_%v_%v", c.x, c.pads, c.axes, mode), func(t *testing.T) {
				want, shape := padRef(make([]float32, elements(c.x)), c.x, c.pads, c.axes, mode, 0)
				_ = want
				if got, _, err := PadShape(c.x, c.pads, c.axes, mode); err != nil || !slices.Equal(got, shape) {
					t.Fatalf("PadShape: got %v, %v, want %v", got, err, shape)
				}
				x := randTensor(r, c.x...)
				var y Tensor
				value := &Tensor{Shape: []int{}, Data: []float32{2.5}}
				PadForward(&y, x, c.pads, c.axes, value, mode)
				ref, _ := padRef(x.Data, c.x, c.pads, c.axes, mode, 2.5)
				if !slices.Equal(y.Shape, shape) {
					t.Fatalf("shape: got %v, want %v", y.Shape, shape)
				}
				checkClose(t, "y", y.Data, ref, 0, 0)
				PadForward(&y, x, c.pads, c.axes, nil, mode)
				ref, _ = padRef(x.Data, c.x, c.pads, c.axes, mode, 0)
				checkClose(t, "y without a constant", y.Data, ref, 0, 0)
				xi := counting(c.x...)
				PadForward(&y, xi, c.pads, c.axes, NewInt64Tensor([]int64{-9}), mode)
				if refi, _ := padRef(xi.Int64, c.x, c.pads, c.axes, mode, -9); y.Type != Int64 || !slices.Equal(y.Int64, refi) {
					t.Fatalf("int64: got %v, want %v", y.Int64, refi)
				}
				dy := randTensor(r, shape...)
				dxs, start := filled(r, c.x)
				PadBackward(dxs[0], dy, c.pads, c.axes, mode)
				added(dxs, start)
				f := func(in [][]float64) []float64 {
					y, _ := padRef(in[0], c.x, c.pads, c.axes, mode, 2.5)
					return y
				}
				checkGradients(t, f, [][]float64{to64(x.Data)}, to64(dy.Data), dxs)
			})
		}
	}
}

// TestPadShapesErrors checks that Shapes names the input or attribute at
// fault and its value.
func TestPadShapesErrors(t *testing.T) {
	for _, c := range []struct {
		x          []int
		pads, axes []int64
		mode       string
		value      *Tensor
		want       string
		typ        DType
	}{
		{[]int{2, 3}, []int64{1, 1}, nil, "", nil, `input 1 ("p") = [1 1]: 2 pads for the data of shape [2 3], want 4`, 0},
		{[]int{2, 3}, []int64{1, 1, 1}, []int64{1}, "", nil, `input 1 ("p") = [1 1 1]: 3 pads for the 1 axes [1], want 2`, 0},
		{[]int{2, 3}, []int64{1, 1}, []int64{2}, "", nil, `input 3 ("a") = [2]: axis 2 outside [−2, 1] for the data of shape [2 3]`, 0},
		{[]int{2, 3}, []int64{1, 1, 1, 1}, []int64{1, -1}, "", nil, `input 3 ("a") = [1 -1]: axis 1 given twice`, 0},
		{[]int{2, 3}, []int64{0, 3, 0, 0}, nil, "reflect", nil, `input 1 ("p") = [0 3 0 0]: pads 3 and 0 for axis 1: reflect pads at most 2, one less than the 3 elements left`, 0},
		{[]int{2, 3}, []int64{0, -2, 0, -2}, nil, "", nil, `input 1 ("p") = [0 -2 0 -2]: pads -2 and -2 for axis 1 of size 3 remove more than it has`, 0},
		{[]int{2, 3}, []int64{0, -4, 0, 0}, nil, "", nil, `input 1 ("p") = [0 -4 0 0]: pads -4 and 0 for axis 1 of size 3: outside [−3, 2147483648]`, 0},
		{[]int{2, 0}, []int64{0, 1, 0, 0}, nil, "edge", nil, `input 1 ("p") = [0 1 0 0]: pads 1 and 0 for axis 1: edge padding of an axis with no elements left`, 0},
		{[]int{2, 3}, []int64{0, 1 << 40, 0, 0}, nil, "", nil, `input 1 ("p") = [0 1099511627776 0 0]: pads 1099511627776 and 0 for axis 1 of size 3: outside [−3, 2147483648]`, 0},
		{[]int{1 << 16, 3}, []int64{0, 1 << 30, 0, 0}, nil, "", nil, `input 1 ("p") = [0 1073741824 0 0]: padded shape [65536 1073741827]: more than 2147483648 elements`, 0},
		{[]int{2, 3}, []int64{0, 4, 0, 0}, nil, "wrap", nil, `input 1 ("p") = [0 4 0 0]: pads 4 and 0 for axis 1: wrap pads at most the 3 elements left (ONNX Runtime fills further pads before an axis with zeros)`, 0},
		{[]int{2, 3}, []int64{0, 1, 0, 0}, nil, "circular", nil, `attribute mode = "circular": want constant, reflect, edge or wrap`, 0},
		{[]int{2, 3}, []int64{0, 1, 0, 0}, nil, "", NewTensor(2), `input 2 ("v") is float32 of shape [2], want one float32 value (the data's type)`, 0},
		{[]int{2, 3}, []int64{0, 1, 0, 0}, nil, "", NewInt64Tensor([]int64{1}), `input 2 ("v") is int64 of shape [], want one float32 value (the data's type)`, 0},
		{[]int{2, 3}, []int64{0, 1 << 22, 0, 0}, nil, "", nil, `input 1 ("p") = [0 4194304 0 0]: int64 data padded to shape [2 4194307]: more than 4194304 elements`, Int64},
	} {
		t.Run(c.want, func(t *testing.T) {
			g := &Graph{Inputs: []Value{{Name: "x", Shape: c.x, Type: c.typ}}, Outputs: []string{"y"}, Params: map[string]*Tensor{"p": i64s(c.pads...)}}
			n := &Node{Name: "n", Op: "Pad", Inputs: []string{"x", "p"}, Outputs: []string{"y"}, Attrs: map[string]Attribute{}}
			if c.mode != "" {
				n.Attrs["mode"] = String(c.mode)
			}
			n.Inputs = append(n.Inputs, "")
			if c.value != nil {
				g.Params["v"], n.Inputs[2] = c.value, "v"
			}
			if c.axes != nil {
				g.Params["a"] = i64s(c.axes...)
				n.Inputs = append(n.Inputs, "a")
			}
			g.Nodes = []*Node{n}
			_, err := g.Shapes(map[string][]int{"x": c.x})
			if want := `graph: node "n" (Pad): tensor "y": ` + c.want; err == nil || err.Error() != want {
				t.Errorf("got error %v, want %q", err, want)
			}
		})
	}
}

// TestPadPlan runs a graph of Pads (reflect over the image axes, then
// edge and constant ones through the axes input) through the planned
// executor against the reference Forward and Backward, and checks that a
// step allocates nothing.
func TestPadPlan(t *testing.T) {
	r := rand.New(rand.NewPCG(143, 144))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	g := &Graph{Inputs: []Value{{Name: "x", Shape: []int{-1, 2, 5, 6}}}, Outputs: []string{"y"},
		Params: map[string]*Tensor{
			"p1": i64s(0, 0, 2, 1, 0, 0, 1, 2), "p2": i64s(1, -1), "a2": i64s(-1), "p3": i64s(1, 0, 0, 2), "a3": i64s(1, 2), "v": {Shape: []int{1}, Data: []float32{0.5}},
			"w": randTensor(r, 1, 2, 1, 1)},
		Nodes: []*Node{
			{Name: "scale", Op: "Mul", Inputs: []string{"x", "w"}, Outputs: []string{"h0"}},
			{Name: "reflect", Op: "Pad", Inputs: []string{"h0", "p1"}, Outputs: []string{"h1"}, Attrs: map[string]Attribute{"mode": String("reflect")}},
			{Name: "edge", Op: "Pad", Inputs: []string{"h1", "p2", "", "a2"}, Outputs: []string{"h2"}, Attrs: map[string]Attribute{"mode": String("edge")}},
			{Name: "constant", Op: "Pad", Inputs: []string{"h2", "p3", "v", "a3"}, Outputs: []string{"y"}},
		}}
	x := randTensor(r, 3, 2, 5, 6)
	p := checkPlanMatches(t, g, x, PlanOptions{Grads: []string{"x", "w"}})
	if got, want := p.Shape("y"), []int{3, 3, 10, 9}; !slices.Equal(got, want) {
		t.Fatalf("shape: got %v, want %v", got, want)
	}
	dy := randTensor(r, 3, 3, 10, 9)
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
	// The gradient of x through the three Pads, against finite differences.
	f := func(in [][]float64) []float64 {
		h := make([]float64, len(in[0]))
		for i := range h {
			h[i] = in[0][i] * float64(g.Params["w"].Data[i/30%2])
		}
		h, s := padRef(h, x.Shape, g.Params["p1"].Int64, nil, PadReflect, 0)
		h, s = padRef(h, s, g.Params["p2"].Int64, g.Params["a2"].Int64, PadEdge, 0)
		h, _ = padRef(h, s, g.Params["p3"].Int64, g.Params["a3"].Int64, PadConstant, 0.5)
		return h
	}
	checkClose(t, "y", p.Value("y").Data, func() []float32 {
		y := f([][]float64{to64(x.Data)})
		out := make([]float32, len(y))
		for i, v := range y {
			out[i] = float32(v)
		}
		return out
	}(), 1e-6, 1e-6)
	checkGradients(t, f, [][]float64{to64(x.Data)}, to64(dy.Data), []*Tensor{p.Grad("x")})
}
