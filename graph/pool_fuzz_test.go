package graph

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// FuzzPool builds MaxPool and AveragePool nodes from fuzzed attributes and
// input sizes: Shapes either refuses them with a *NodeError, or Forward
// gives an output of the inferred shape equal to poolRef's (MaxPool's
// indices too) and Backward runs.
func FuzzPool(f *testing.F) {
	f.Add(true, 7, 6, int64(2), int64(2), int64(2), int64(2), int64(1), int64(1), int64(0), int64(1), int64(1), int64(0), false, uint8(0))
	f.Add(false, 6, 6, int64(3), int64(3), int64(2), int64(2), int64(1), int64(1), int64(1), int64(1), int64(1), int64(1), true, uint8(0))
	f.Add(true, 1, 9, int64(1), int64(2), int64(1), int64(3), int64(1), int64(2), int64(0), int64(1), int64(0), int64(0), true, uint8(2))
	f.Add(true, 5, 5, int64(3), int64(3), int64(1), int64(1), int64(1), int64(1), int64(0), int64(0), int64(0), int64(0), false, uint8(1))
	f.Add(false, 4, 8, int64(2), int64(5), int64(1<<31), int64(2), int64(1), int64(1), int64(9), int64(1), int64(1), int64(1), false, uint8(3))
	f.Fuzz(func(t *testing.T, max bool, h, w int, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr int64, ceil bool, autoPad uint8) {
		if h < 1 || w < 1 || h > 12 || w > 12 {
			return
		}
		op, attrs := "AveragePool", map[string]Attribute{"kernel_shape": Ints(kh, kw), "strides": Ints(sh, sw), "pads": Ints(pt, pl, pb, pr), "count_include_pad": Int(int64(autoPad & 1))}
		if max {
			op, attrs = "MaxPool", map[string]Attribute{"kernel_shape": Ints(kh, kw), "strides": Ints(sh, sw), "pads": Ints(pt, pl, pb, pr), "dilations": Ints(dh, dw)}
		}
		if ceil {
			attrs["ceil_mode"] = Int(1)
		}
		if ap := []string{"", "VALID", "SAME_UPPER", "SAME_LOWER"}[autoPad%4]; ap != "" {
			attrs["auto_pad"] = String(ap)
			delete(attrs, "pads")
		}
		shape := []int{1, 2, h, w}
		if h == 1 { // 1-D
			shape = []int{1, 2, w}
			for _, name := range []string{"kernel_shape", "strides", "dilations"} {
				if a, ok := attrs[name]; ok {
					attrs[name] = Ints(a.Ints[1])
				}
			}
			if a, ok := attrs["pads"]; ok {
				attrs["pads"] = Ints(a.Ints[1], a.Ints[3])
			}
		}
		g := &Graph{Inputs: []Value{{Name: "x", Shape: shape}}, Outputs: []string{"y"},
			Nodes: []*Node{{Name: "n", Op: op, Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: attrs}}}
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
		var p Pool
		if err := readPool(g.Nodes[0], shape, &p); err != nil {
			t.Fatal(err)
		}
		want, _ := poolRef(to64(x.Data), shape, &p, !max)
		checkClose(t, "output", y.Data, to32(want), 1e-6, 1e-5)
		if _, err := g.Backward(values, map[string]*Tensor{"y": randTensor(rand.New(rand.NewPCG(1, 2)), y.Shape...)}); err != nil {
			t.Fatal(err)
		}
	})
}
