package graph

import (
	binenc "encoding/binary"
	"errors"
	"slices"
	"testing"
)

// FuzzLayout builds the one-node graph of Pad, Range, DepthToSpace or
// SpaceToDepth — the layout ops whose inputs or attributes size their
// outputs — from fuzzed bytes: the data's shape, an attribute byte and up
// to two int64 lists as parameters (Pad's pads and axes, Range's start,
// limit and delta). Shapes must refuse it with a *NodeError or accept it,
// and then Forward runs and gives the shape Shapes inferred (outputs over
// 2²⁰ elements are not run); Range's values are checked against start +
// i·delta.
func FuzzLayout(f *testing.F) {
	le := func(v ...int64) []byte {
		var b []byte
		for _, x := range v {
			b = binenc.LittleEndian.AppendUint64(b, uint64(x))
		}
		return b
	}
	f.Add(append([]byte{0, 2, 3, 4, 1, 4}, le(1, 2, -1, 1)...))
	f.Add(append([]byte{0, 2, 3, 4, 2, 2}, append(le(2, 2), append([]byte{1}, le(-1)...)...)...))
	f.Add(append([]byte{1, 0, 0, 3}, le(2, 40, 3)...))
	f.Add(append([]byte{1, 0, 0, 3}, le(-1<<62, 1<<62, 1)...))
	f.Add([]byte{2, 4, 1, 8, 2, 3, 2})
	f.Add([]byte{3, 4, 2, 1, 4, 4, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 3 {
			return
		}
		op := [...]string{"Pad", "Range", "DepthToSpace", "SpaceToDepth"}[int(b[0])%4]
		rank := int(b[1]) % 5
		attr := b[2]
		b = b[3:]
		if len(b) < rank {
			return
		}
		shape := make([]int, rank)
		for i := range shape {
			shape[i] = int(b[i]) % 9
		}
		b = b[rank:]
		g := &Graph{Inputs: []Value{{Name: "x", Shape: shape}}, Outputs: []string{"y"}, Params: map[string]*Tensor{}}
		n := &Node{Name: "n", Op: op, Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: map[string]Attribute{}}
		var lists [][]int64
		for k := 0; k < 2 && len(b) > 0; k++ {
			count := int(b[0]) % 5
			b = b[1:]
			v := []int64{}
			for ; count > 0 && len(b) >= 8; count-- {
				v = append(v, int64(binenc.LittleEndian.Uint64(b)))
				b = b[8:]
			}
			lists = append(lists, v)
		}
		switch op {
		case "Pad":
			n.Attrs["mode"] = String(PadMode(attr % 4).String())
			for k, v := range lists {
				name := string(rune('a' + k))
				g.Params[name] = NewInt64Tensor(v, len(v))
				if k == 1 {
					n.Inputs = append(n.Inputs, "")
				}
				n.Inputs = append(n.Inputs, name)
			}
		case "Range":
			g.Inputs, n.Inputs = nil, nil
			var v []int64
			for _, l := range lists {
				v = append(v, l...)
			}
			for k := 0; k < 3; k++ {
				name := string(rune('a' + k))
				g.Params[name] = NewInt64Tensor([]int64{at(v, k)})
				n.Inputs = append(n.Inputs, name)
			}
		default:
			n.Attrs["blocksize"] = Int(int64(attr%5) - 1)
			if attr&0x80 != 0 {
				n.Attrs["mode"] = String("CRD")
			}
		}
		g.Nodes = []*Node{n}
		shapes, err := g.Shapes(map[string][]int{"x": shape})
		if err != nil {
			var ne *NodeError
			if !errors.As(err, &ne) {
				t.Fatalf("error %v is not a *NodeError", err)
			}
			return
		}
		if elements(shapes["y"]) > 1<<20 {
			return // legitimate, but too large to run here
		}
		x := NewTensor(shape...)
		for i := range x.Data {
			x.Data[i] = float32(i)
		}
		feeds := map[string]*Tensor{"x": x}
		if op == "Range" {
			feeds = nil
		}
		values, err := g.Forward(feeds)
		if err != nil {
			t.Fatalf("Shapes accepted, Forward: %v", err)
		}
		y := values["y"]
		if !slices.Equal(y.Shape, shapes["y"]) {
			t.Fatalf("shape: Forward gave %v, Shapes %v", y.Shape, shapes["y"])
		}
		if op == "Range" {
			s, d := g.Params["a"].Int64[0], g.Params["c"].Int64[0]
			for i, v := range y.Int64 {
				if v != s+int64(i)*d {
					t.Fatalf("element %d: got %d, want %d", i, v, s+int64(i)*d)
				}
			}
		}
	})
}
