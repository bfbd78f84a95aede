package graph

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// FuzzResize builds Resize nodes from fuzzed modes, scales (or sizes) and
// input sizes: Shapes either refuses them with a *NodeError, or Forward
// gives an output of the inferred shape equal to resizeRef's and Backward
// runs.
func FuzzResize(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint8(0), 3, 4, float32(2), float32(1.5), int64(0), int64(0))
	f.Add(uint8(1), uint8(2), uint8(1), 5, 7, float32(0.6), float32(0.5), int64(0), int64(0))
	f.Add(uint8(0), uint8(4), uint8(1), 5, 7, float32(0), float32(0), int64(3), int64(10))
	f.Add(uint8(1), uint8(1), uint8(3), 1, 9, float32(1), float32(2.5), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, mode, coord, nearest uint8, h, w int, sh, sw float32, zh, zw int64) {
		if h < 1 || w < 1 || h > 10 || w > 10 || sh > 8 || sw > 8 || zh > 40 || zw > 40 {
			return
		}
		attrs := map[string]Attribute{
			"mode":                           String([]string{"nearest", "linear", "cubic"}[mode%3]),
			"coordinate_transformation_mode": String(append(slices.Clone(resizeCoords), "tf_crop_and_resize")[coord%6]),
			"nearest_mode":                   String(resizeNearest[nearest%4]),
		}
		shape := []int{1, 2, h, w}
		params := map[string]*Tensor{}
		inputs := []string{"x", "", "s"}
		if zh != 0 || zw != 0 {
			params["z"], inputs = NewInt64Tensor([]int64{1, 2, zh, zw}, 4), []string{"x", "", "", "z"}
		} else {
			params["s"] = &Tensor{Shape: []int{4}, Data: []float32{1, 1, sh, sw}}
		}
		g := &Graph{Inputs: []Value{{Name: "x", Shape: shape}}, Outputs: []string{"y"}, Params: params,
			Nodes: []*Node{{Name: "n", Op: "Resize", Inputs: inputs, Outputs: []string{"y"}, Attrs: attrs}}}
		shapes, err := g.Shapes(map[string][]int{"x": shape})
		if err != nil {
			var ne *NodeError
			if !errors.As(err, &ne) {
				t.Fatalf("error %v is not a *NodeError", err)
			}
			return
		}
		x := randTensor(rand.New(rand.NewPCG(uint64(h), uint64(w))), shape...)
		values, err := g.Forward(map[string]*Tensor{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		y := values["y"]
		if !slices.Equal(y.Shape, shapes["y"]) {
			t.Fatalf("output shape %v, inferred %v", y.Shape, shapes["y"])
		}
		var r Resize
		args := []arg{{shape: shape}, {}, {}, {}}
		for k, name := range inputs {
			if p := params[name]; p != nil {
				args[k] = arg{shape: p.Shape, typ: p.Type, value: p}
			}
		}
		if err := readResize(g.Nodes[0], args, &r); err != nil {
			t.Fatal(err)
		}
		checkClose(t, "output", y.Data, to32(resizeRef(to64(x.Data), shape, &r)), 1e-6, 1e-5)
		if _, err := g.Backward(values, map[string]*Tensor{"y": randTensor(rand.New(rand.NewPCG(1, 2)), y.Shape...)}); err != nil {
			t.Fatal(err)
		}
	})
}
