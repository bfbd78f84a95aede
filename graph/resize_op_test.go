package graph

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestResizeShapesError checks that Shapes refuses what Resize does not
// run, naming the attribute or input and its value.
func TestResizeShapesError(t *testing.T) {
	x := []int{1, 2, 3, 4}
	scales := NewTensor(4)
	copy(scales.Data, []float32{1, 1, 2, 2})
	sizes := NewInt64Tensor([]int64{1, 2, 6, 8}, 4)
	tests := []struct {
		attrs  map[string]Attribute
		params map[string]*Tensor // by input: s (scales), z (sizes)
		inputs []string
		reason string
	}{
		{map[string]Attribute{"mode": String("cubic"), "exclude_outside": Int(2)}, map[string]*Tensor{"s": scales}, []string{"x", "", "s"}, "attribute exclude_outside = 2: only 0, or 1 with mode cubic, runs here"},
		{map[string]Attribute{"mode": String("bicubic")}, map[string]*Tensor{"s": scales}, []string{"x", "", "s"}, "attribute mode = bicubic: want nearest, linear or cubic"},
		{map[string]Attribute{"coordinate_transformation_mode": String("tf_crop_and_resize")}, map[string]*Tensor{"s": scales}, []string{"x", "", "s"},
			"attribute coordinate_transformation_mode = tf_crop_and_resize: not run here ([half_pixel pytorch_half_pixel align_corners asymmetric tf_half_pixel_for_nn] are)"},
		{map[string]Attribute{"coordinate_transformation_mode": String("half_pixel_symmetric")}, map[string]*Tensor{"s": scales}, []string{"x", "", "s"},
			"attribute coordinate_transformation_mode = half_pixel_symmetric: want one of [half_pixel pytorch_half_pixel align_corners asymmetric tf_half_pixel_for_nn]"},
		{map[string]Attribute{"nearest_mode": String("round")}, map[string]*Tensor{"s": scales}, []string{"x", "", "s"}, "attribute nearest_mode = round: want one of [round_prefer_floor round_prefer_ceil floor ceil]"},
		{map[string]Attribute{"antialias": Int(1)}, map[string]*Tensor{"s": scales}, []string{"x", "", "s"}, "attribute antialias = 1: only 0 runs here"},
		{map[string]Attribute{"exclude_outside": Int(1)}, map[string]*Tensor{"s": scales}, []string{"x", "", "s"}, "attribute exclude_outside = 1: only 0, or 1 with mode cubic, runs here"},
		{map[string]Attribute{"keep_aspect_ratio_policy": String("not_larger")}, map[string]*Tensor{"z": sizes}, []string{"x", "", "", "z"}, "attribute keep_aspect_ratio_policy = not_larger: only stretch runs here"},
		{map[string]Attribute{"axes": Ints(1, 1)}, map[string]*Tensor{"s": scales}, []string{"x", "", "s"}, "attribute axes = [1 1]: not distinct axes of the input of shape [1 2 3 4]"},
		{nil, map[string]*Tensor{"s": scales, "z": sizes}, []string{"x", "", "s", "z"}, "inputs 2 and 3 (scales, sizes): exactly one must be given (not empty)"},
		{nil, nil, []string{"x"}, "inputs 2 and 3 (scales, sizes): exactly one must be given (not empty)"},
		{nil, map[string]*Tensor{"s": NewTensor(0), "z": sizes}, []string{"x", "", "s", "z"}, ""},
		{nil, nil, []string{"x", "", "x1"}, `input 2 ("x1"): not known before the graph runs`},
		{nil, map[string]*Tensor{"s": NewTensor(3)}, []string{"x", "", "s"}, `input 2 ("s"): scales [0 0 0] (float32), want 4 float32 values`},
		{nil, map[string]*Tensor{"s": {Shape: []int{4}, Data: []float32{1, 1, 0.1, 1}}}, []string{"x", "", "s"},
			`input 2 ("s"): scales [1 1 0.1 1]: scale 0.1 of axis 2 gives a size outside [1, 2³¹) for the input of shape [1 2 3 4]`},
		{nil, map[string]*Tensor{"z": NewInt64Tensor([]int64{1 << 30, 1 << 30, 1 << 30, 8}, 4)}, []string{"x", "", "", "z"}, "output of shape [1073741824 1073741824 1073741824 8]: more than 2³¹ values"},
		{nil, map[string]*Tensor{"z": NewInt64Tensor([]int64{1, 2, 0, 8}, 4)}, []string{"x", "", "", "z"}, `input 3 ("z"): sizes [1 2 0 8]: size 0 of axis 2 outside [1, 2³¹)`},
		{map[string]Attribute{"mode": String("linear")}, map[string]*Tensor{"s": {Shape: []int{4}, Data: []float32{1, 2, 2, 2}}}, []string{"x", "", "s"},
			"attribute mode = linear: over axis 1 (scale 2, coordinate_transformation_mode half_pixel): linear runs over the last two axes only here"},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			g := &Graph{Inputs: []Value{{Name: "x", Shape: x}}, Outputs: []string{"y"}, Params: tt.params,
				Nodes: []*Node{{Name: "n", Op: "Resize", Inputs: tt.inputs, Outputs: []string{"y"}, Attrs: tt.attrs}}}
			in := map[string][]int{"x": x}
			if slices.Contains(tt.inputs, "x1") {
				g.Inputs = append(g.Inputs, Value{Name: "x1", Shape: []int{4}})
				in["x1"] = []int{4}
			}
			shapes, err := g.Shapes(in)
			if tt.reason == "" { // an empty scales with sizes is sizes
				if err != nil || !slices.Equal(shapes["y"], []int{1, 2, 6, 8}) {
					t.Errorf("got %v, %v, want [1 2 6 8]", shapes["y"], err)
				}
				return
			}
			if want := `graph: node "n" (Resize): tensor "y": ` + tt.reason; err == nil || err.Error() != want {
				t.Errorf("got error %v, want %q", err, want)
			}
		})
	}
}

// TestResizeGraph runs Resize with scales and with sizes as parameters
// through the op table's Forward and Backward, against its kernels.
func TestResizeGraph(t *testing.T) {
	r := rand.New(rand.NewPCG(127, 128))
	near, lin := resizeCases[0], resizeCase{x: []int{2, 2, 3, 4}, attrs: resizeAttrs("linear", "pytorch_half_pixel", ""), sizes: []int64{2, 2, 5, 7}}
	g := &Graph{
		Inputs:  []Value{{Name: "x", Shape: []int{-1, 2, 3, 4}}},
		Outputs: []string{"n", "l"},
		Params:  map[string]*Tensor{"scales": {Shape: []int{4}, Data: near.scales}, "sizes": NewInt64Tensor(lin.sizes, 4)},
		Nodes: []*Node{
			{Name: "near", Op: "Resize", Inputs: []string{"x", "", "scales"}, Outputs: []string{"n"}, Attrs: near.attrs},
			{Name: "lin", Op: "Resize", Inputs: []string{"x", "", "", "sizes"}, Outputs: []string{"l"}, Attrs: lin.attrs},
		},
	}
	x := randTensor(r, 2, 2, 3, 4)
	values, err := g.Forward(map[string]*Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	rn, rl := near.resize(t, x), lin.resize(t, x)
	var yn, yl Tensor
	ResizeForward(&yn, x, rn)
	ResizeForward(&yl, x, rl)
	for name, want := range map[string]*Tensor{"n": &yn, "l": &yl} {
		if got := values[name]; !slices.Equal(got.Shape, want.Shape) || !slices.Equal(got.Data, want.Data) {
			t.Errorf("%s: got %v %v, want %v %v", name, got.Shape, got.Data, want.Shape, want.Data)
		}
	}
	seeds := map[string]*Tensor{"n": randTensor(r, yn.Shape...), "l": randTensor(r, yl.Shape...)}
	grads, err := g.Backward(values, seeds)
	if err != nil {
		t.Fatal(err)
	}
	want := NewTensor(x.Shape...)
	ResizeBackward(want, seeds["n"], rn)
	ResizeBackward(want, seeds["l"], rl)
	checkClose(t, "gradient of x", grads["x"].Data, want.Data, 1e-6, 1e-6)
}

// TestResizeAllocatesNothing checks that, its state and output kept,
// Resize's Forward and Backward allocate nothing.
func TestResizeAllocatesNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(129, 130))
	x := randTensor(r, 4, 3, 8, 8)
	for _, c := range []resizeCase{
		{x: x.Shape, attrs: resizeAttrs("nearest", "asymmetric", "floor"), scales: []float32{1, 1, 2, 2}},
		{x: x.Shape, attrs: resizeAttrs("nearest", "half_pixel", ""), scales: []float32{1, 2, 1.5, 0.5}},
		{x: x.Shape, attrs: resizeAttrs("linear", "align_corners", ""), sizes: []int64{4, 3, 5, 13}},
		{x: x.Shape, attrs: withAttr(resizeAttrs("cubic", "half_pixel", ""), "exclude_outside", Int(1)), scales: []float32{1, 1, 2, 0.5}},
	} {
		t.Run(c.attrs["mode"].String, func(t *testing.T) {
			in := c.inputs(x)
			checkOpAllocs(t, "Resize", c.attrs, in, 1, c.resize(t, x).Sizes)
		})
	}
}
