package graph

import (
	binenc "encoding/binary"
	"errors"
	"slices"
	"testing"
)

// fuzzOps are the op types FuzzMoves drives, each reading the data and up
// to four int64 lists (its shape, axes, starts/ends/axes/steps, indices,
// repeats inputs).
var fuzzOps = []struct {
	op    string
	lists int
}{{"Reshape", 1}, {"Squeeze", 1}, {"Unsqueeze", 1}, {"Slice", 4}, {"Expand", 1}, {"Tile", 1}, {"Gather", 1}, {"ConstantOfShape", 0}}

// FuzzMoves builds the one-node graph of a data-movement op from fuzzed
// bytes — the data's shape and the int64 lists, as parameters — and
// checks that Shapes either refuses it with a *NodeError or accepts it,
// in which case Forward runs without panicking and gives the output the
// shape Shapes inferred (outputs over 2²⁰ elements, which Shapes accepts up
// to maxElements, are not run).
func FuzzMoves(f *testing.F) {
	f.Add([]byte{0, 2, 2, 3, 1, 0xff, 6, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{3, 2, 5, 4, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{6, 2, 5, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{5, 1, 3, 2, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 2 {
			return
		}
		op := fuzzOps[int(b[0])%len(fuzzOps)]
		rank := int(b[1]) % 5
		b = b[2:]
		if len(b) < rank {
			return
		}
		shape := make([]int, rank)
		for i := range shape {
			shape[i] = int(b[i]) % 6
		}
		b = b[rank:]
		g := &Graph{Inputs: []Value{{Name: "x", Shape: shape}}, Outputs: []string{"y"}, Params: map[string]*Tensor{}}
		n := &Node{Name: "n", Op: op.op, Inputs: []string{"x"}, Outputs: []string{"y"}}
		if op.op == "ConstantOfShape" {
			g.Inputs, n.Inputs = nil, nil
		}
		lists := max(op.lists, 1)
		for k := 0; k < lists; k++ {
			if len(b) == 0 {
				break
			}
			count := int(b[0]) % 5
			b = b[1:]
			v := make([]int64, 0, count)
			for ; count > 0 && len(b) >= 8; count-- {
				v = append(v, int64(binenc.LittleEndian.Uint64(b)))
				b = b[8:]
			}
			if op.op == "ConstantOfShape" {
				for i := range v {
					v[i] %= 7
				}
			}
			name := string(rune('a' + k))
			g.Params[name] = NewInt64Tensor(v, len(v))
			n.Inputs = append(n.Inputs, name)
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
		values, err := g.Forward(map[string]*Tensor{"x": x})
		if err != nil {
			t.Fatalf("Shapes accepted, Forward: %v", err)
		}
		if got := values["y"].Shape; !slices.Equal(got, shapes["y"]) {
			t.Fatalf("shape: Forward gave %v, Shapes %v", got, shapes["y"])
		}
	})
}
