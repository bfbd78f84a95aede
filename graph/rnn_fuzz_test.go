package graph

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// FuzzRNN builds an LSTM or GRU node from the bytes — sizes, attributes,
// which optional inputs are given, lengths that may be out of range, and
// a hidden_size that may not fit W — and runs it through the reference
// Forward and Backward: either the graph refuses it with a *NodeError, or
// its outputs equal the float64 reference's and Backward runs.
func FuzzRNN(f *testing.F) {
	f.Add([]byte{3, 2, 2, 2, 0, 0, 0, 0, 0, 0xff, 4, 3, 0})
	f.Add([]byte{2, 3, 1, 3, 1, 2, 1, 1, 1, 0x0f, 1, 0, 9})
	f.Add([]byte{4, 1, 3, 1, 0, 1, 1, 0, 1, 0xf0, 0, 5, 2})
	f.Add([]byte{1, 1, 1, 1, 1, 0, 0, 1, 0, 0x05, 7, 1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		at := func(i int) int {
			if i < len(b) {
				return int(b[i])
			}
			return 0
		}
		c := rnnCase{seq: 1 + at(0)%4, batch: 1 + at(1)%3, input: 1 + at(2)%3, hid: 1 + at(3)%3,
			gru: at(4)%2 == 1, direction: []string{"forward", "reverse", "bidirectional"}[at(5)%3],
			layout: at(6) % 2, lbr: at(7)%2 == 1, inputForget: at(8)%2 == 1}
		if c.gru {
			c.inputForget = false
		}
		opt := at(9)
		c.bias, c.h0, c.c0, c.peep = opt&1 != 0, opt&2 != 0, opt&4 != 0, opt&8 != 0
		if opt&16 != 0 {
			c.clip = 0.5
		}
		if opt&32 != 0 {
			for k := 0; k < c.batch; k++ {
				c.lens = append(c.lens, int64(at(10+k)%(c.seq+2))) // 0 and seq+1 are out of range
			}
		}
		misfit := at(12) % 5 // hidden_size one more than W's, now and then
		r := rand.New(rand.NewPCG(uint64(len(b)), uint64(opt)))
		in := c.inputs(r)
		g := rnnGraph(c, in)
		if misfit == 0 {
			g.Nodes[0].Attrs["hidden_size"] = Int(int64(c.hid + 1))
		}
		values, err := g.Forward(map[string]*Tensor{"x": in[0]})
		if err != nil {
			var ne *NodeError
			if !errors.As(err, &ne) {
				t.Fatalf("error %v (%T), want a *NodeError", err, err)
			}
			return
		}
		if misfit == 0 {
			t.Fatal("a hidden_size that does not fit W was not refused")
		}
		for _, l := range c.lens {
			if l < 1 || l > int64(c.seq) {
				t.Fatalf("lengths %v for %d steps were not refused", c.lens, c.seq)
			}
		}
		y, yh, yc := rnnReference(c, floats64(in))
		checkClose(t, "Y", values["y"].Data, to32(y), 1e-5, 1e-5)
		checkClose(t, "Y_h", values["yh"].Data, to32(yh), 1e-5, 1e-5)
		if yc != nil {
			checkClose(t, "Y_c", values["yc"].Data, to32(yc), 1e-5, 1e-5)
		}
		seeds := map[string]*Tensor{}
		for _, name := range g.Outputs {
			seeds[name] = randTensor(r, values[name].Shape...)
		}
		if _, err := g.Backward(values, seeds); err != nil {
			t.Fatal(err)
		}
	})
}
