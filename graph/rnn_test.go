package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// rnnCase is one configuration of an LSTM or GRU layer.
type rnnCase struct {
	name                   string
	gru                    bool
	seq, batch, input, hid int
	direction              string
	layout                 int
	clip                   float32
	inputForget, lbr       bool
	bias, h0, c0, peep     bool
	lens                   []int64
}

func (c rnnCase) attrs() RNNAttrs {
	return RNNAttrs{GRU: c.gru, Hidden: c.hid, Direction: c.direction, Layout: c.layout, Clip: c.clip, InputForget: c.inputForget, LinearBeforeReset: c.lbr}
}

func (c rnnCase) dirs() int { return c.attrs().dirs() }

// shapes are the shapes of X, W, R, B, sequence_lens, initial_h, initial_c
// and P (nil for one left out).
func (c rnnCase) shapes() [][]int {
	g, d := c.attrs().gates(), c.dirs()
	s := make([][]int, 8)
	s[0] = []int{c.seq, c.batch, c.input}
	state := []int{d, c.batch, c.hid}
	if c.layout == 1 {
		s[0] = []int{c.batch, c.seq, c.input}
		state = []int{c.batch, d, c.hid}
	}
	s[1], s[2] = []int{d, g * c.hid, c.input}, []int{d, g * c.hid, c.hid}
	if c.bias {
		s[3] = []int{d, 2 * g * c.hid}
	}
	if c.lens != nil {
		s[4] = []int{c.batch}
	}
	if c.h0 {
		s[5] = state
	}
	if c.c0 && !c.gru {
		s[6] = state
	}
	if c.peep && !c.gru {
		s[7] = []int{d, 3 * c.hid}
	}
	return s
}

// inputs are random float inputs of the shapes (nil where left out; the
// lengths are c.lens).
func (c rnnCase) inputs(r *rand.Rand) []*Tensor {
	in := make([]*Tensor, 8)
	for k, s := range c.shapes() {
		if s == nil {
			continue
		}
		if k == 4 {
			in[k] = NewInt64Tensor(c.lens, len(c.lens))
			continue
		}
		in[k] = randTensor(r, s...)
		if k == 1 || k == 2 || k == 7 {
			for i := range in[k].Data {
				in[k].Data[i] *= 0.6
			}
		}
	}
	return in
}

var rnnCases = []rnnCase{
	{name: "lstm_forward", seq: 4, batch: 3, input: 2, hid: 3, direction: "forward", bias: true, h0: true, c0: true},
	{name: "lstm_reverse", seq: 3, batch: 2, input: 3, hid: 2, direction: "reverse", bias: true, h0: true, c0: true},
	{name: "lstm_bidirectional", seq: 3, batch: 2, input: 2, hid: 3, direction: "bidirectional", bias: true, h0: true, c0: true},
	{name: "lstm_no_bias_no_state", seq: 3, batch: 2, input: 2, hid: 2, direction: "forward"},
	{name: "lstm_lens", seq: 4, batch: 3, input: 2, hid: 2, direction: "forward", bias: true, h0: true, c0: true, lens: []int64{4, 2, 1}},
	{name: "lstm_bidirectional_lens", seq: 4, batch: 3, input: 2, hid: 2, direction: "bidirectional", bias: true, h0: true, c0: true, lens: []int64{2, 4, 3}},
	{name: "lstm_reverse_lens_layout1", seq: 4, batch: 2, input: 3, hid: 2, direction: "reverse", layout: 1, bias: true, h0: true, c0: true, lens: []int64{3, 1}},
	{name: "lstm_layout1", seq: 3, batch: 4, input: 2, hid: 3, direction: "bidirectional", layout: 1, bias: true, h0: true, c0: true},
	{name: "lstm_peepholes", seq: 3, batch: 2, input: 2, hid: 3, direction: "bidirectional", bias: true, h0: true, c0: true, peep: true},
	{name: "lstm_input_forget", seq: 3, batch: 2, input: 2, hid: 2, direction: "forward", bias: true, h0: true, c0: true, inputForget: true, peep: true},
	{name: "lstm_clip", seq: 3, batch: 2, input: 2, hid: 3, direction: "forward", bias: true, h0: true, c0: true, clip: 0.7, peep: true},
	{name: "gru_lbr1", gru: true, lbr: true, seq: 4, batch: 3, input: 2, hid: 3, direction: "forward", bias: true, h0: true},
	{name: "gru_lbr0", gru: true, seq: 4, batch: 3, input: 2, hid: 3, direction: "forward", bias: true, h0: true},
	{name: "gru_reverse", gru: true, lbr: true, seq: 3, batch: 2, input: 3, hid: 2, direction: "reverse", bias: true, h0: true},
	{name: "gru_bidirectional_lbr0", gru: true, seq: 3, batch: 2, input: 2, hid: 2, direction: "bidirectional", bias: true, h0: true},
	{name: "gru_bidirectional_lens", gru: true, lbr: true, seq: 4, batch: 3, input: 2, hid: 2, direction: "bidirectional", bias: true, h0: true, lens: []int64{1, 4, 2}},
	{name: "gru_lbr0_lens_layout1", gru: true, seq: 4, batch: 3, input: 2, hid: 2, direction: "bidirectional", layout: 1, bias: true, h0: true, lens: []int64{3, 4, 2}},
	{name: "gru_no_bias_no_state", gru: true, lbr: true, seq: 3, batch: 2, input: 2, hid: 2, direction: "forward"},
	{name: "gru_clip", gru: true, seq: 3, batch: 2, input: 2, hid: 3, direction: "forward", bias: true, h0: true, clip: 0.6},
}

func sig64(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// rnnReference is the layer in float64, written from ONNX's equations
// step by step: Y, Y_h and Y_c (nil for GRU) flattened.
func rnnReference(c rnnCase, in [][]float64) (y, yh, yc []float64) {
	a := c.attrs()
	dirs, g, H := c.dirs(), a.gates(), c.hid
	T, N, I := c.seq, c.batch, c.input
	x, w, rr := in[0], in[1], in[2]
	xAt := func(t, b, i int) float64 {
		if c.layout == 1 {
			return x[(b*T+t)*I+i]
		}
		return x[(t*N+b)*I+i]
	}
	stateOff := func(d, b int) int {
		if c.layout == 1 {
			return (b*dirs + d) * H
		}
		return (d*N + b) * H
	}
	yOff := func(t, d, b int) int {
		if c.layout == 1 {
			return ((b*T+t)*dirs + d) * H
		}
		return ((t*dirs+d)*N + b) * H
	}
	y = make([]float64, T*dirs*N*H)
	yh = make([]float64, dirs*N*H)
	if !c.gru {
		yc = make([]float64, dirs*N*H)
	}
	clip := func(v float64) float64 {
		if c.clip > 0 {
			return math.Max(-float64(c.clip), math.Min(float64(c.clip), v))
		}
		return v
	}
	for d := 0; d < dirs; d++ {
		bias := func(k int) float64 { // Wb[k] + Rb[k] of gate row k
			if in[3] == nil {
				return 0
			}
			return in[3][d*2*g*H+k] + in[3][d*2*g*H+g*H+k]
		}
		wb := func(k int) float64 {
			if in[3] == nil {
				return 0
			}
			return in[3][d*2*g*H+k]
		}
		rb := func(k int) float64 {
			if in[3] == nil {
				return 0
			}
			return in[3][d*2*g*H+g*H+k]
		}
		for b := 0; b < N; b++ {
			L := T
			if c.lens != nil {
				L = int(c.lens[b])
			}
			h, cs := make([]float64, H), make([]float64, H)
			if in[5] != nil {
				copy(h, in[5][stateOff(d, b):stateOff(d, b)+H])
			}
			if in[6] != nil {
				copy(cs, in[6][stateOff(d, b):stateOff(d, b)+H])
			}
			xw := func(t, k int) float64 {
				var s float64
				for i := 0; i < I; i++ {
					s += xAt(t, b, i) * w[(d*g*H+k)*I+i]
				}
				return s
			}
			hr := func(hv []float64, k int) float64 {
				var s float64
				for j := 0; j < H; j++ {
					s += hv[j] * rr[(d*g*H+k)*H+j]
				}
				return s
			}
			for s := 0; s < L; s++ {
				t := s
				if a.reverse(d) {
					t = L - 1 - s
				}
				nh := make([]float64, H)
				if !c.gru {
					nc := make([]float64, H)
					for k := 0; k < H; k++ {
						var pi, po, pf float64
						if in[7] != nil {
							pi, po, pf = in[7][d*3*H+k], in[7][d*3*H+H+k], in[7][d*3*H+2*H+k]
						}
						i := sig64(clip(xw(t, k) + hr(h, k) + bias(k) + pi*cs[k]))
						f := sig64(clip(xw(t, 2*H+k) + hr(h, 2*H+k) + bias(2*H+k) + pf*cs[k]))
						if c.inputForget {
							f = 1 - i
						}
						ct := math.Tanh(clip(xw(t, 3*H+k) + hr(h, 3*H+k) + bias(3*H+k)))
						nc[k] = f*cs[k] + i*ct
						o := sig64(clip(xw(t, H+k) + hr(h, H+k) + bias(H+k) + po*nc[k]))
						nh[k] = o * math.Tanh(nc[k])
					}
					cs = nc
				} else {
					z, rg := make([]float64, H), make([]float64, H)
					for k := 0; k < H; k++ {
						z[k] = sig64(clip(xw(t, k) + hr(h, k) + bias(k)))
						rg[k] = sig64(clip(xw(t, H+k) + hr(h, H+k) + bias(H+k)))
					}
					rh := make([]float64, H)
					for k := range rh {
						rh[k] = rg[k] * h[k]
					}
					for k := 0; k < H; k++ {
						var n float64
						if c.lbr {
							n = math.Tanh(clip(xw(t, 2*H+k) + wb(2*H+k) + rg[k]*(hr(h, 2*H+k)+rb(2*H+k))))
						} else {
							n = math.Tanh(clip(xw(t, 2*H+k) + wb(2*H+k) + hr(rh, 2*H+k) + rb(2*H+k)))
						}
						nh[k] = (1-z[k])*n + z[k]*h[k]
					}
				}
				h = nh
				copy(y[yOff(t, d, b):], h)
			}
			copy(yh[stateOff(d, b):], h)
			if yc != nil {
				copy(yc[stateOff(d, b):], cs)
			}
		}
	}
	return y, yh, yc
}

// floats64 are the inputs as float64 (nil where left out or int64).
func floats64(in []*Tensor) [][]float64 {
	out := make([][]float64, len(in))
	for k, t := range in {
		if t != nil && t.Type == Float32 {
			out[k] = to64(t.Data)
		}
	}
	return out
}

func rnnRun(c rnnCase, r *Recurrence, in []*Tensor) (y, yh, yc *Tensor) {
	y, yh = new(Tensor), new(Tensor)
	if !c.gru {
		yc = new(Tensor)
	}
	n, err := NewRecurrence(c.attrs())
	if err != nil {
		panic(err)
	}
	if r.attrs != n.attrs {
		*r = *n // a Recurrence of other attributes (or a zero one) starts again
	}
	var lens []int64
	if in[4] != nil {
		lens = in[4].Int64
	}
	r.Forward(y, yh, yc, in[0], in[1], in[2], in[3], lens, in[5], in[6], in[7])
	return y, yh, yc
}

// TestRNNForward checks the kernels against the float64 reference on
// every case, and the shapes against RNNShape's.
func TestRNNForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(141, 142))
	for _, c := range rnnCases {
		t.Run(c.name, func(t *testing.T) {
			in := c.inputs(rng)
			var r Recurrence
			y, yh, yc := rnnRun(c, &r, in)
			s := c.shapes()
			ys, hs, err := RNNShape(c.attrs(), s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(y.Shape, ys) || !slices.Equal(yh.Shape, hs) {
				t.Fatalf("shapes: got %v %v, want %v %v", y.Shape, yh.Shape, ys, hs)
			}
			wy, wyh, wyc := rnnReference(c, floats64(in))
			checkClose(t, "Y", y.Data, to32(wy), 1e-5, 1e-5)
			checkClose(t, "Y_h", yh.Data, to32(wyh), 1e-5, 1e-5)
			if yc != nil {
				checkClose(t, "Y_c", yc.Data, to32(wyc), 1e-5, 1e-5)
			}
			// Again on the same state: the buffers are reused.
			y2, _, _ := rnnRun(c, &r, in)
			checkClose(t, "Y again", y2.Data, y.Data, 0, 0)
		})
	}
}

// TestRNNBackward checks the gradients of every float input against
// float64 finite differences of the reference, for gradients from all of
// Y, Y_h and Y_c and from each alone; Backward adds into its buffers.
func TestRNNBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(143, 144))
	for _, c := range rnnCases {
		if c.clip > 0 {
			continue // TestRNNBackwardClip
		}
		for _, seeds := range []string{"all", "Y", "Y_h", "Y_c"} {
			if seeds == "Y_c" && c.gru {
				continue
			}
			t.Run(c.name+"/"+seeds, func(t *testing.T) {
				checkRNNGradients(t, rng, c, seeds)
			})
		}
	}
}

// TestRNNBackwardClip checks the clip cases with inputs small enough that
// no gate input lies near the bound (where finite differences straddle
// it), but some beyond it.
func TestRNNBackwardClip(t *testing.T) {
	rng := rand.New(rand.NewPCG(145, 146))
	for _, c := range rnnCases {
		if c.clip > 0 {
			t.Run(c.name, func(t *testing.T) { checkRNNGradients(t, rng, c, "all") })
		}
	}
}

func checkRNNGradients(t *testing.T, rng *rand.Rand, c rnnCase, seeds string) {
	t.Helper()
	in := c.inputs(rng)
	var r Recurrence
	y, yh, yc := rnnRun(c, &r, in)
	dy, dyh, dyc := randTensor(rng, y.Shape...), randTensor(rng, yh.Shape...), (*Tensor)(nil)
	if yc != nil {
		dyc = randTensor(rng, yc.Shape...)
	}
	switch seeds {
	case "Y":
		dyh, dyc = nil, nil
	case "Y_h":
		dy, dyc = nil, nil
	case "Y_c":
		dy, dyh = nil, nil
	}
	shapes := c.shapes()
	shapes[4] = nil
	din, start := filled(rng, shapes...)
	r.Backward(din[0], din[1], din[2], din[3], din[5], din[6], din[7], dy, dyh, dyc, in[0], in[1], in[2], in[7])
	added(din, start)
	var w []float64
	zero := func(n int) []float64 { return make([]float64, n) }
	for _, s := range []struct {
		d *Tensor
		n int
	}{{dy, y.Len()}, {dyh, yh.Len()}} {
		if s.d != nil {
			w = append(w, to64(s.d.Data)...)
		} else {
			w = append(w, zero(s.n)...)
		}
	}
	if yc != nil {
		if dyc != nil {
			w = append(w, to64(dyc.Data)...)
		} else {
			w = append(w, zero(yc.Len())...)
		}
	}
	f := func(in64 [][]float64) []float64 {
		y, yh, yc := rnnReference(c, in64)
		return append(append(y, yh...), yc...)
	}
	checkGradients(t, f, floats64(in), w, din)
}

// TestRNNLayout1 checks that layout 1 is layout 0 with batch and time
// swapped in X, Y and the states (ONNX Runtime runs only layout 0).
func TestRNNLayout1(t *testing.T) {
	rng := rand.New(rand.NewPCG(147, 148))
	for _, c := range rnnCases {
		if c.layout != 1 {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			in := c.inputs(rng)
			y1, yh1, _ := rnnRun(c, new(Recurrence), in)
			c0 := c
			c0.layout = 0
			in0 := slices.Clone(in)
			in0[0] = new(Tensor)
			TransposeForward(in0[0], in[0], []int{1, 0, 2})
			for _, k := range []int{5, 6} {
				if in[k] != nil {
					in0[k] = new(Tensor)
					TransposeForward(in0[k], in[k], []int{1, 0, 2})
				}
			}
			y0, yh0, _ := rnnRun(c0, new(Recurrence), in0)
			var yt, yht Tensor
			TransposeForward(&yt, y0, []int{2, 0, 1, 3})
			TransposeForward(&yht, yh0, []int{1, 0, 2})
			checkClose(t, "Y", y1.Data, yt.Data, 0, 0)
			checkClose(t, "Y_h", yh1.Data, yht.Data, 0, 0)
		})
	}
}

// rnnNode is the one-node graph of the case, X its input and the others
// parameters.
func rnnGraph(c rnnCase, in []*Tensor) *Graph {
	op := "LSTM"
	outs := []string{"y", "yh", "yc"}
	attrs := map[string]Attribute{"hidden_size": Int(int64(c.hid)), "direction": String(c.direction), "layout": Int(int64(c.layout))}
	if c.gru {
		op, outs = "GRU", outs[:2]
		attrs["linear_before_reset"] = Int(map[bool]int64{false: 0, true: 1}[c.lbr])
	} else if c.inputForget {
		attrs["input_forget"] = Int(1)
	}
	if c.clip > 0 {
		attrs["clip"] = Float(c.clip)
	}
	names := []string{"x", "w", "r", "b", "lens", "h0", "c0", "p"}
	g := &Graph{Inputs: []Value{{Name: "x", Shape: in[0].Shape}}, Outputs: outs, Params: map[string]*Tensor{}}
	n := &Node{Name: "n", Op: op, Outputs: outs, Attrs: attrs}
	last := 3
	for k, t := range in {
		if t != nil {
			last = k
		}
	}
	for k := 0; k <= last; k++ {
		if in[k] == nil {
			n.Inputs = append(n.Inputs, "")
			continue
		}
		n.Inputs = append(n.Inputs, names[k])
		if k > 0 {
			g.Params[names[k]] = in[k]
		}
	}
	g.Nodes = []*Node{n}
	return g
}

// TestRNNGraph runs the cases through the op table: the reference Forward
// and Backward (whose fresh state recomputes the forward pass) against the
// kernels, and the planned executor against them, bit for bit, twice on
// one plan; a plan's Forward and Backward allocate nothing.
func TestRNNGraph(t *testing.T) {
	rng := rand.New(rand.NewPCG(149, 150))
	for _, c := range rnnCases {
		t.Run(c.name, func(t *testing.T) {
			in := c.inputs(rng)
			g := rnnGraph(c, in)
			values, err := g.Forward(map[string]*Tensor{"x": in[0]})
			if err != nil {
				t.Fatal(err)
			}
			y, yh, yc := rnnRun(c, new(Recurrence), in)
			checkClose(t, "Y", values["y"].Data, y.Data, 0, 0)
			checkClose(t, "Y_h", values["yh"].Data, yh.Data, 0, 0)
			if yc != nil {
				checkClose(t, "Y_c", values["yc"].Data, yc.Data, 0, 0)
			}
			p := checkPlanMatches(t, g, in[0], PlanOptions{Grads: append([]string{"x"}, g.Trainable()...)})
			seeds := make([]*Tensor, len(g.Outputs))
			for k, name := range g.Outputs {
				seeds[k] = randTensor(rng, p.Shape(name)...)
			}
			if n := testing.AllocsPerRun(5, func() {
				if err := p.Forward(in[0]); err != nil {
					t.Fatal(err)
				}
				p.Backward(seeds...)
			}); n != 0 {
				t.Errorf("a step allocates %v times, want 0", n)
			}
		})
	}
}

// TestRNNGraphSomeOutputs checks a node that names only Y, and one whose
// Y_h alone is read.
func TestRNNGraphSomeOutputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(151, 152))
	c := rnnCases[2]
	in := c.inputs(rng)
	y, yh, _ := rnnRun(c, new(Recurrence), in)
	for _, outs := range [][]string{{"y"}, {"y", "yh"}} {
		g := rnnGraph(c, in)
		g.Nodes[0].Outputs = outs
		g.Outputs = outs[len(outs)-1:]
		values, err := g.Forward(map[string]*Tensor{"x": in[0]})
		if err != nil {
			t.Fatal(err)
		}
		want := y
		if len(outs) == 2 {
			want = yh
		}
		checkClose(t, fmt.Sprint(outs), values[g.Outputs[0]].Data, want.Data, 0, 0)
		checkPlanMatches(t, g, in[0], PlanOptions{Grads: []string{"x", "w"}})
	}
}

// TestRNNShapesError checks that Shapes refuses attributes and inputs that
// do not fit, naming the attribute or input and its value.
func TestRNNShapesError(t *testing.T) {
	lstm := func(kv ...any) map[string]Attribute {
		m := map[string]Attribute{"hidden_size": Int(3)}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(Attribute)
		}
		return m
	}
	tests := []struct {
		name   string
		op     string
		attrs  map[string]Attribute
		shapes [][]int
		reason string
	}{
		{"no hidden_size", "LSTM", map[string]Attribute{}, [][]int{{2, 1, 4}, {1, 12, 4}, {1, 12, 3}}, "attribute hidden_size: required"},
		{"hidden_size 0", "LSTM", lstm("hidden_size", Int(0)), [][]int{{2, 1, 4}, {1, 12, 4}, {1, 12, 3}}, "attribute hidden_size = 0: want in [1, 2²⁴]"},
		{"hidden_size vs W", "LSTM", lstm("hidden_size", Int(4)), [][]int{{2, 1, 4}, {1, 12, 4}, {1, 12, 3}}, "attribute hidden_size = 4: input 1 (W) of shape [1 12 4]: want [1 16 4] (4 gates of LSTM)"},
		{"GRU hidden_size vs W", "GRU", lstm(), [][]int{{2, 1, 4}, {1, 12, 4}, {1, 12, 3}}, "attribute hidden_size = 3: input 1 (W) of shape [1 12 4]: want [1 9 4] (3 gates of GRU)"},
		{"direction vs W", "LSTM", lstm("direction", String("bidirectional")), [][]int{{2, 1, 4}, {1, 12, 4}, {1, 12, 3}}, `attribute direction = "bidirectional": 2 direction(s), but input 1 (W) has shape [1 12 4]`},
		{"direction unknown", "LSTM", lstm("direction", String("both")), [][]int{{2, 1, 4}, {1, 12, 4}, {1, 12, 3}}, `attribute direction = "both": want forward, reverse or bidirectional`},
		{"layout 2", "LSTM", lstm("layout", Int(2)), [][]int{{2, 1, 4}, {1, 12, 4}, {1, 12, 3}}, "attribute layout = 2: want 0 or 1"},
		{"clip 0", "LSTM", lstm("clip", Float(0)), [][]int{{2, 1, 4}, {1, 12, 4}, {1, 12, 3}}, "attribute clip = 0: want > 0"},
		{"input_forget 2", "LSTM", lstm("input_forget", Int(2)), [][]int{{2, 1, 4}, {1, 12, 4}, {1, 12, 3}}, "attribute input_forget = 2: want 0 or 1"},
		{"linear_before_reset 3", "GRU", lstm("linear_before_reset", Int(3)), [][]int{{2, 1, 4}, {1, 9, 4}, {1, 9, 3}}, "attribute linear_before_reset = 3: want 0 or 1"},
		{"X rank", "LSTM", lstm(), [][]int{{2, 4}, {1, 12, 4}, {1, 12, 3}}, "input 0 (X) of shape [2 4]: want (seq, batch, input) of no zero dimension"},
		{"X input size", "LSTM", lstm(), [][]int{{2, 1, 5}, {1, 12, 4}, {1, 12, 3}}, "input 1 (W) of shape [1 12 4]: want [1 12 5] for X of shape [2 1 5]"},
		{"R", "LSTM", lstm(), [][]int{{2, 1, 4}, {1, 12, 4}, {1, 12, 4}}, "input 2 (R) of shape [1 12 4]: want [1 12 3] (hidden_size 3)"},
		{"B", "LSTM", lstm(), [][]int{{2, 1, 4}, {1, 12, 4}, {1, 12, 3}, {1, 12}}, "input 3 (B) of shape [1 12]: want [1 24]"},
		{"initial_h layout 1", "LSTM", lstm("layout", Int(1)), [][]int{{2, 5, 4}, {1, 12, 4}, {1, 12, 3}, {1, 24}, nil, {1, 2, 3}}, "input 5 (initial_h) of shape [1 2 3]: want [2 1 3] (layout 1)"},
		{"P", "LSTM", lstm(), [][]int{{2, 1, 4}, {1, 12, 4}, {1, 12, 3}, {1, 24}, nil, nil, nil, {1, 12}}, "input 7 (P) of shape [1 12]: want [1 9]"},
		{"float sequence_lens", "LSTM", lstm(), [][]int{{2, 1, 4}, {1, 12, 4}, {1, 12, 3}, {1, 24}, {1}}, `input 4 ("x4") is float32, want int64`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := rnnShapesError(tt.op, tt.attrs, tt.shapes...)
			want := fmt.Sprintf(`graph: node "n" (%s): tensor "y": %s`, tt.op, tt.reason)
			if err == nil || err.Error() != want {
				t.Errorf("got error %v, want %q", err, want)
			}
		})
	}
}

// rnnShapesError is shapesError, with nil shapes as inputs left out.
func rnnShapesError(op string, attrs map[string]Attribute, shapes ...[]int) error {
	g := &Graph{Outputs: []string{"y"}}
	n := &Node{Name: "n", Op: op, Outputs: []string{"y"}, Attrs: attrs}
	in := map[string][]int{}
	for k, s := range shapes {
		if s == nil {
			n.Inputs = append(n.Inputs, "")
			continue
		}
		name := fmt.Sprintf("x%d", k)
		g.Inputs = append(g.Inputs, Value{Name: name, Shape: s})
		n.Inputs = append(n.Inputs, name)
		in[name] = s
	}
	g.Nodes = []*Node{n}
	_, err := g.Shapes(in)
	return err
}

// TestRNNSequenceLensChecked checks that lengths outside [1, seq] are
// refused, by Shapes where they are parameters and by Forward where they
// are fed.
func TestRNNSequenceLensChecked(t *testing.T) {
	rng := rand.New(rand.NewPCG(153, 154))
	c := rnnCases[4]
	for _, lens := range [][]int64{{4, 0, 1}, {5, 1, 1}, {-1, 1, 1}} {
		c.lens = lens
		in := c.inputs(rng)
		g := rnnGraph(c, in)
		_, err := g.Forward(map[string]*Tensor{"x": in[0]})
		bad := slices.IndexFunc(lens, func(l int64) bool { return l < 1 || l > 4 })
		want := fmt.Sprintf(`graph: node "n" (LSTM): tensor "y": input 4 (sequence_lens): element %d = %d: want in [1, 4], the sequence length`, bad, lens[bad])
		if err == nil || err.Error() != want {
			t.Errorf("parameter %v: got %v, want %q", lens, err, want)
		}
		// Fed as a graph input: refused by the run, by Forward and by a plan.
		delete(g.Params, "lens")
		g.Inputs = append(g.Inputs, Value{Name: "lens", Shape: []int{3}, Type: Int64})
		feeds := map[string]*Tensor{"x": in[0], "lens": in[4]}
		if _, err := g.Forward(feeds); err == nil || err.Error() != want {
			t.Errorf("input %v: got %v, want %q", lens, err, want)
		}
		p, err := g.Plan(map[string][]int{"x": in[0].Shape, "lens": {3}}, PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Forward(in[0], in[4]); err == nil || !strings.Contains(err.Error(), "element") {
			t.Errorf("plan, input %v: got %v, want an error naming the element", lens, err)
		}
	}
}

// TestTanhs checks the vector tanh (2σ(2x) − 1) against math.Tanh over a
// sweep, within 2.5e-7 absolute, and its saturation to ±1 exactly.
func TestTanhs(t *testing.T) {
	var xs []float32
	for x := -12.0; x <= 12; x += 1.0 / 1024 {
		xs = append(xs, float32(x))
	}
	xs = append(xs, 1e-30, -1e-30, 0, 40, -40, 1e30)
	y := make([]float32, len(xs))
	tanhs(y, xs)
	for i, x := range xs {
		want := math.Tanh(float64(x))
		if d := math.Abs(float64(y[i]) - want); !(d <= 2.5e-7) {
			t.Fatalf("tanh(%v): got %v, want %v", x, y[i], want)
		}
	}
	if y[len(y)-3] != 1 || y[len(y)-2] != -1 {
		t.Errorf("tanh(±40): got %v %v, want 1 −1", y[len(y)-3], y[len(y)-2])
	}
}

// TestNewRecurrenceError checks that NewRecurrence refuses attributes that
// do not fit, naming the attribute and its value.
func TestNewRecurrenceError(t *testing.T) {
	ok := RNNAttrs{Hidden: 2, Direction: "forward"}
	for _, tt := range []struct {
		edit func(a *RNNAttrs)
		want string
	}{
		{func(a *RNNAttrs) { a.Direction = "up" }, `attribute direction = "up": want forward, reverse or bidirectional`},
		{func(a *RNNAttrs) { a.Hidden = 0 }, "attribute hidden_size = 0: want in [1, 2²⁴]"},
		{func(a *RNNAttrs) { a.Layout = 3 }, "attribute layout = 3: want 0 or 1"},
		{func(a *RNNAttrs) { a.Clip = -1 }, "attribute clip = -1: want > 0, or 0 for none"},
		{func(a *RNNAttrs) { a.GRU, a.InputForget = true, true }, "attribute input_forget = 1: GRU has none"},
		{func(a *RNNAttrs) { a.LinearBeforeReset = true }, "attribute linear_before_reset = 1: LSTM has none"},
	} {
		a := ok
		tt.edit(&a)
		if _, err := NewRecurrence(a); err == nil || err.Error() != tt.want {
			t.Errorf("%+v: got %v, want %q", a, err, tt.want)
		}
	}
	if _, err := NewRecurrence(ok); err != nil {
		t.Errorf("%+v: %v", ok, err)
	}
}
