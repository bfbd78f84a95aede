package graph

import (
	"fmt"
	"maps"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// LSTM and GRU: ONNX's recurrent layers (opset 14's form; opsets 7 to 13
// differ only by the missing layout attribute, 22 only by element types),
// forward and backpropagation through time.
//
// Inputs: X (seq, batch, input) — (batch, seq, input) with layout 1 —, W
// (dirs, G·hidden, input), R (dirs, G·hidden, hidden), B (dirs, 2·G·hidden)
// optional (Wb then Rb), sequence_lens (batch) int64 optional, initial_h
// (dirs, batch, hidden) — (batch, dirs, hidden) with layout 1 — optional,
// and for LSTM initial_c (as initial_h) and P (dirs, 3·hidden) optional.
// G is 4 for LSTM (gates i, o, f, c in that order) and 3 for GRU (z, r,
// h). Outputs: Y (seq, dirs, batch, hidden) — (batch, seq, dirs, hidden)
// with layout 1 —, Y_h (as initial_h) and, for LSTM, Y_c; any may be left
// out but Y (the graph names every node's first output).
//
// Attributes: direction (forward, reverse or bidirectional: dirs 1, 1, 2;
// the second direction of bidirectional runs in reverse), hidden_size
// (required), layout (0 or 1), clip (bounds every gate's input to
// [−clip, clip]; its gradient is 0 where it bounds), input_forget (LSTM:
// f = 1 − i) and linear_before_reset (GRU: r multiplies R_h·h + Rb_h
// rather than h; PyTorch writes 1). The activations are ONNX's defaults
// (f = sigmoid, g = h = tanh: Sigmoids, and tanh as 2σ(2x) − 1): the graph has no
// string-list attribute, so the activations attribute cannot be read.
//
// LSTM, per step, with xW the input projection and hR the recurrence:
//
//	i = σ(x·Wiᵀ + h·Riᵀ + Pi⊙c + Wbi + Rbi)   f = σ(… Pf⊙c …)
//	c̃ = tanh(x·Wcᵀ + h·Rcᵀ + Wbc + Rbc)        c′ = f⊙c + i⊙c̃
//	o = σ(x·Woᵀ + h·Roᵀ + Po⊙c′ + Wbo + Rbo)  h′ = o⊙tanh(c′)
//
// GRU:
//
//	z = σ(x·Wzᵀ + h·Rzᵀ + Wbz + Rbz)   r = σ(… r …)
//	n = tanh(x·Whᵀ + Wbh + (r⊙h)·Rhᵀ + Rbh)        (linear_before_reset 0)
//	n = tanh(x·Whᵀ + Wbh + r⊙(h·Rhᵀ + Rbh))        (linear_before_reset 1)
//	h′ = (1 − z)⊙n + z⊙h
//
// sequence_lens (each in [1, seq]) gives each batch element its own
// length L: it runs the steps 0…L−1 (the reverse direction from L−1 down
// to 0), Y is 0 at the steps from L on, and Y_h (Y_c) is the state after
// its last step, as ONNX Runtime does.
//
// The input projection of every step and direction is one GEMM through
// Gemm (graph's BLAS path), the recurrence one GEMM a step (two for GRU
// with linear_before_reset 0); the gate arithmetic of a step is split over
// the batch on the worker pool. Backward keeps the gate values of the last
// Forward in the node's state (recomputing them when it has none) and runs
// through time backwards: one GEMM a step into the previous hidden
// state's gradient, then one GEMM each for dW, dR and dX over all steps.
//
// PyTorch's layers and ONNX's (what torch.onnx writes; the sequence
// autoencoders need the same mapping both ways):
//
//   - nn.LSTM: weight_ih_l{k} (4H, in) and weight_hh_l{k} (4H, H) hold the
//     gates in the order i, f, g, o; ONNX's W and R hold i, o, f, c (c is
//     PyTorch's g). So W[d] = [Wi; Wo; Wf; Wg] of weight_ih (rows
//     0:H, 3H:4H, H:2H, 2H:3H), R[d] the same rows of weight_hh, and
//     B[d] = [bias_ih reordered, bias_hh reordered] (8H). The reverse
//     direction's weights (suffix _reverse) are d = 1.
//   - nn.GRU: weight_ih_l{k} (3H, in) holds r, z, n; ONNX holds z, r, h:
//     W[d] = [Wz; Wr; Wn] (rows H:2H, 0:H, 2H:3H), the same for R and
//     both biases, with linear_before_reset = 1 (PyTorch's n = tanh(W_in·x
//     + b_in + r⊙(W_hn·h + b_hn))).
//   - batch_first=True is written as Transposes around a time-major
//     layer (layout 0); h0 and c0 (layers·dirs, batch, H) are sliced into
//     each layer's (dirs, batch, H); layer k+1 reads layer k's Y (seq,
//     dirs, batch, H) transposed to (seq, batch, dirs, H) and reshaped to
//     (seq, batch, dirs·H), and its output h_n is Y_h without the
//     direction axis squeezed (torch's (layers·dirs, batch, H) is the
//     layers' Y_h concatenated).

func init() {
	common := map[string]AttrType{"direction": AttrString, "hidden_size": AttrInt, "layout": AttrInt, "clip": AttrFloat}
	lstm, gru := maps.Clone(common), maps.Clone(common)
	lstm["input_forget"] = AttrInt
	gru["linear_before_reset"] = AttrInt
	register(map[string]operator{
		"LSTM": rnnOperator(false, lstm),
		"GRU":  rnnOperator(true, gru),
	})
}

// RNNAttrs are the attributes of an LSTM or GRU node that its kernels
// read.
type RNNAttrs struct {
	GRU               bool    // GRU, else LSTM
	Hidden            int     // hidden_size
	Direction         string  // forward, reverse or bidirectional
	Layout            int     // 0: time-major; 1: batch-major
	Clip              float32 // 0: none
	InputForget       bool    // LSTM: f = 1 − i
	LinearBeforeReset bool    // GRU: r⊙(h·Rhᵀ + Rbh), PyTorch's form
}

// NewRecurrence returns the state of a layer with the attributes, for
// callers of Forward and Backward outside a graph, or an error naming the
// attribute whose value does not fit.
func NewRecurrence(a RNNAttrs) (*Recurrence, error) {
	switch {
	case a.Direction != "forward" && a.Direction != "reverse" && a.Direction != "bidirectional":
		return nil, attrError("direction", fmt.Sprintf("%q", a.Direction), "want forward, reverse or bidirectional")
	case a.Hidden < 1 || a.Hidden > 1<<24:
		return nil, attrError("hidden_size", a.Hidden, "want in [1, 2²⁴]")
	case a.Layout != 0 && a.Layout != 1:
		return nil, attrError("layout", a.Layout, "want 0 or 1")
	case !(a.Clip >= 0):
		return nil, attrError("clip", a.Clip, "want > 0, or 0 for none")
	case a.GRU && a.InputForget:
		return nil, attrError("input_forget", 1, "GRU has none")
	case !a.GRU && a.LinearBeforeReset:
		return nil, attrError("linear_before_reset", 1, "LSTM has none")
	}
	return &Recurrence{attrs: a}, nil
}

// dirs is the number of directions.
func (a RNNAttrs) dirs() int {
	if a.Direction == "bidirectional" {
		return 2
	}
	return 1
}

// reverse reports whether direction d runs from the end.
func (a RNNAttrs) reverse(d int) bool { return a.Direction == "reverse" || d == 1 }

// gates is G: 4 for LSTM, 3 for GRU.
func (a RNNAttrs) gates() int {
	if a.GRU {
		return 3
	}
	return 4
}

func (a RNNAttrs) op() string {
	if a.GRU {
		return "GRU"
	}
	return "LSTM"
}

// rnnAttrs reads n's attributes, checking each.
func rnnAttrs(n *Node, gru bool) (RNNAttrs, error) {
	a := RNNAttrs{GRU: gru, Direction: "forward"}
	if d, ok := n.Attrs["direction"]; ok {
		a.Direction = d.String
	}
	switch a.Direction {
	case "forward", "reverse", "bidirectional":
	default:
		return a, attrError("direction", fmt.Sprintf("%q", a.Direction), "want forward, reverse or bidirectional")
	}
	h, ok := n.Attrs["hidden_size"]
	if !ok {
		return a, fmt.Errorf("attribute hidden_size: required")
	}
	if h.Int < 1 || h.Int > 1<<24 {
		return a, attrError("hidden_size", h.Int, "want in [1, 2²⁴]")
	}
	a.Hidden = int(h.Int)
	l := n.Int("layout", 0)
	if l != 0 && l != 1 {
		return a, attrError("layout", l, "want 0 or 1")
	}
	a.Layout = int(l)
	if c, ok := n.Attrs["clip"]; ok {
		if !(c.Float > 0) {
			return a, attrError("clip", c.Float, "want > 0")
		}
		a.Clip = c.Float
	}
	for _, name := range []string{"input_forget", "linear_before_reset"} {
		v := n.Int(name, 0)
		if v != 0 && v != 1 {
			return a, attrError(name, v, "want 0 or 1")
		}
		if name == "input_forget" {
			a.InputForget = v == 1
		} else {
			a.LinearBeforeReset = v == 1
		}
	}
	return a, nil
}

// rnnDims are the sizes of one run.
type rnnDims struct {
	seq, batch, input int
}

// RNNShape returns the shapes of Y, Y_h (and Y_c) for X, W, R, B,
// sequence_lens, initial_h, initial_c and P of the shapes (nil for one left
// out), or an error naming the input or attribute at fault and its value.
func RNNShape(a RNNAttrs, x, w, r, b, lens, h0, c0, p []int) (y, yh []int, err error) {
	var ys [4]int
	var hs [3]int
	if err := rnnShape(a, x, w, r, b, lens, h0, c0, p, &ys, &hs); err != nil {
		return nil, nil, err
	}
	return ys[:], hs[:], nil
}

// rnnShape is RNNShape into arrays, allocating nothing but its error.
func rnnShape(a RNNAttrs, x, w, r, b, lens, h0, c0, p []int, ys *[4]int, hs *[3]int) error {
	op, dirs, g, hid := a.op(), a.dirs(), a.gates(), a.Hidden
	if len(x) != 3 || slices.Contains(x, 0) {
		return fmt.Errorf("input 0 (X) of shape %v: want (seq, batch, input) of no zero dimension", x)
	}
	seq, batch := x[0], x[1]
	if a.Layout == 1 {
		seq, batch = batch, seq
	}
	if len(w) != 3 || w[0] != dirs || w[1] != g*hid || w[2] != x[2] {
		if len(w) == 3 && w[0] != dirs {
			return attrError("direction", fmt.Sprintf("%q", a.Direction), "%d direction(s), but input 1 (W) has shape %v", dirs, w)
		}
		if len(w) == 3 && w[1] != g*hid {
			return attrError("hidden_size", hid, "input 1 (W) of shape %v: want [%d %d %d] (%d gates of %s)", w, dirs, g*hid, x[2], g, op)
		}
		return fmt.Errorf("input 1 (W) of shape %v: want [%d %d %d] for X of shape %v", w, dirs, g*hid, x[2], x)
	}
	if !slices.Equal(r, []int{dirs, g * hid, hid}) {
		return fmt.Errorf("input 2 (R) of shape %v: want [%d %d %d] (hidden_size %d)", r, dirs, g*hid, hid, hid)
	}
	if b != nil && !slices.Equal(b, []int{dirs, 2 * g * hid}) {
		return fmt.Errorf("input 3 (B) of shape %v: want [%d %d]", b, dirs, 2*g*hid)
	}
	if lens != nil && !slices.Equal(lens, []int{batch}) {
		return fmt.Errorf("input 4 (sequence_lens) of shape %v: want [%d], the batch", slices.Clone(lens), batch)
	}
	*hs = [3]int{dirs, batch, hid}
	if a.Layout == 1 {
		*hs = [3]int{batch, dirs, hid}
	}
	state := hs[:]
	if h0 != nil && !slices.Equal(h0, state) {
		return stateError(5, "initial_h", h0, *hs, a.Layout)
	}
	if c0 != nil && !slices.Equal(c0, state) {
		return stateError(6, "initial_c", c0, *hs, a.Layout)
	}
	if p != nil && !slices.Equal(p, []int{dirs, 3 * hid}) {
		return fmt.Errorf("input 7 (P) of shape %v: want [%d %d]", p, dirs, 3*hid)
	}
	*ys = [4]int{seq, dirs, batch, hid}
	if a.Layout == 1 {
		*ys = [4]int{batch, seq, dirs, hid}
	}
	return nil
}

// stateError is the error of input k, a state of the wrong shape (its own
// function, so that rnnShape's arrays stay on the caller's stack).
func stateError(k int, name string, got []int, want [3]int, layout int) error {
	return fmt.Errorf("input %d (%s) of shape %v: want %v (layout %d)", k, name, got, want[:], layout)
}

// RNNCheck returns an error naming the element of sequence_lens outside
// [1, seq], or nil.
func RNNCheck(lens []int64, seq int) error {
	for i, l := range lens {
		if l < 1 || l > int64(seq) {
			return fmt.Errorf("input 4 (sequence_lens): element %d = %d: want in [1, %d], the sequence length", i, l, seq)
		}
	}
	return nil
}

func rnnOperator(gru bool, attrs map[string]AttrType) operator {
	outputs, inputs := 3, 8
	if gru {
		outputs, inputs = 2, 6
	}
	seqOf := func(a RNNAttrs, x []int) int { return x[a.Layout] }
	rec := func(s *state, n *Node) *Recurrence {
		r, _ := s.scratch.(*Recurrence)
		if r == nil {
			r = new(Recurrence)
			s.scratch = r
		}
		a, err := rnnAttrs(n, gru)
		if err != nil {
			panic(ErrShape) // the shape rule has refused it
		}
		r.attrs = a
		return r
	}
	return operator{inputs: [2]int{3, inputs}, outputs: [2]int{1, outputs}, attrs: attrs, fixed: []int{4},
		infer: func(n *Node, in []arg) ([]arg, error) {
			a, err := rnnAttrs(n, gru)
			if err != nil {
				return nil, err
			}
			shapes := make([][]int, 8)
			for k, v := range in {
				if n.Inputs[k] == "" {
					continue
				}
				want := Float32
				if k == 4 {
					want = Int64
				}
				if v.typ != want {
					return nil, fmt.Errorf("input %d (%q) is %v, want %v", k, n.Inputs[k], v.typ, want)
				}
				shapes[k] = v.shape
			}
			y, yh, err := RNNShape(a, shapes[0], shapes[1], shapes[2], shapes[3], shapes[4], shapes[5], shapes[6], shapes[7])
			if err != nil {
				return nil, err
			}
			if v := at(in, 4).value; v != nil && n.Inputs[4] != "" {
				if err := RNNCheck(v.Int64, seqOf(a, shapes[0])); err != nil {
					return nil, err
				}
			}
			out := make([]arg, len(n.Outputs))
			for k := range out {
				if n.Outputs[k] == "" {
					continue
				}
				out[k] = arg{shape: slices.Clone(yh)}
				if k == 0 {
					out[k] = arg{shape: y}
				}
			}
			return out, nil
		},
		check: func(n *Node, in []*Tensor) error {
			if l := at(in, 4); l != nil {
				a, err := rnnAttrs(n, gru)
				if err != nil {
					return err
				}
				return RNNCheck(l.Int64, seqOf(a, in[0].Shape))
			}
			return nil
		},
		forward: func(s *state, n *Node, out, in []*Tensor) {
			r := rec(s, n)
			var lens []int64
			if l := at(in, 4); l != nil {
				lens = l.Int64
			}
			r.Forward(at(out, 0), at(out, 1), at(out, 2), in[0], in[1], in[2], at(in, 3), lens, at(in, 5), at(in, 6), at(in, 7))
		},
		backward: func(s *state, n *Node, din, dout, out, in []*Tensor) {
			if !slices.ContainsFunc(dout, func(t *Tensor) bool { return t != nil }) {
				return
			}
			r := rec(s, n)
			var lens []int64
			if l := at(in, 4); l != nil {
				lens = l.Int64
			}
			if !r.saved {
				r.Forward(nil, nil, nil, in[0], in[1], in[2], at(in, 3), lens, at(in, 5), at(in, 6), at(in, 7))
			}
			r.Backward(din[0], din[1], din[2], at(din, 3), at(din, 5), at(din, 6), at(din, 7), at(dout, 0), at(dout, 1), at(dout, 2),
				in[0], in[1], in[2], at(in, 7))
		}}
}

// Recurrence is an LSTM or GRU node's state: its attributes and the
// buffers Forward fills and Backward reads, allocated on first use and
// reused after.
type Recurrence struct {
	attrs RNNAttrs
	dims  rnnDims
	saved bool // Forward has run: the buffers hold its values

	lens  []int                       // each batch element's length
	xw    []float32                   // rows × dirs·G·H: the input projection, biases in
	hs    [2][]float32                // (seq+1)·batch·H: the hidden state before each step
	cs    [2][]float32                // LSTM: the cell state, as hs
	gates [2][]float32                // seq·batch·G·H: the gates after activation, by step
	pre   [2][]float32                // with clip: the gates' inputs before it
	aux   [2][]float32                // seq·batch·H: LSTM tanh(c′); GRU h·Rhᵀ + Rbh (lbr 1) or r⊙h (lbr 0)
	rec   []float32                   // batch·G·H: a step's recurrence
	wT    []float32                   // input × dirs·G·H: Wᵀ
	rT    []float32                   // dirs × H × G·H: each direction's Rᵀ
	dx    [2][]float32                // seq·batch·G·H: the gates' input gradients, by step
	drec  [2][]float32                // GRU lbr 1: the gradients at h·Rᵀ, by step
	dxin  []float32                   // rows × dirs·G·H: dx by row of X
	dh    []float32                   // batch·H: the hidden state's gradient
	dc    []float32                   // batch·H: the cell state's gradient
	tmp   []float32                   // batch·H
	biasW []float32                   // G·H per direction: the biases folded into xw
	biasR []float32                   // G·H: GRU lbr 1's Rbh
	job   rnnJob                      // the gate arithmetic of a step, split over the batch
	p     *Tensor                     // LSTM's peepholes of the last Forward, or nil
	out   struct{ y, yh, yc *Tensor } // the outputs of the current Forward
}

// xRow is the row of X (and of xw, dxin) of time t and batch element b.
func (r *Recurrence) xRow(t, b int) int {
	if r.attrs.Layout == 1 {
		return b*r.dims.seq + t
	}
	return t*r.dims.batch + b
}

// yOff is the offset in Y of time t, direction d, batch element b.
func (r *Recurrence) yOff(t, d, b int) int {
	dirs, h := r.attrs.dirs(), r.attrs.Hidden
	if r.attrs.Layout == 1 {
		return ((b*r.dims.seq+t)*dirs + d) * h
	}
	return ((t*dirs+d)*r.dims.batch + b) * h
}

// hOff is the offset in Y_h (initial_h, …) of direction d, batch element b.
func (r *Recurrence) hOff(d, b int) int {
	if r.attrs.Layout == 1 {
		return (b*r.attrs.dirs() + d) * r.attrs.Hidden
	}
	return (d*r.dims.batch + b) * r.attrs.Hidden
}

// timeOf is the time step that step s of direction d is at for batch
// element b, or −1 if b's sequence has ended.
func (r *Recurrence) timeOf(s, d, b int) int {
	l := r.lens[b]
	switch {
	case s >= l:
		return -1
	case r.attrs.reverse(d):
		return l - 1 - s
	}
	return s
}

// Forward runs the layer (LSTM or GRU by the node's attributes) on x with
// weights w, recurrence rr, biases b (nil: 0), lengths lens (nil: all
// seq), initial states h0 and c0 (nil: 0) and peepholes p (nil: none),
// writing any of y, yh and yc that are not nil, and keeps what Backward
// needs. It panics with ErrShape if the shapes do not fit (RNNShape).
func (r *Recurrence) Forward(y, yh, yc, x, w, rr, b *Tensor, lens []int64, h0, c0, p *Tensor) {
	a := r.attrs
	shape := func(t *Tensor) []int {
		if t == nil {
			return nil
		}
		return t.Shape
	}
	var lbuf [1]int
	var lshape []int
	if lens != nil {
		lbuf[0] = len(lens)
		lshape = lbuf[:]
	}
	if a.GRU {
		c0, p = nil, nil
	}
	var ya [4]int
	var ha [3]int
	if rnnShape(a, x.Shape, w.Shape, rr.Shape, shape(b), lshape, shape(h0), shape(c0), shape(p), &ya, &ha) != nil {
		panic(ErrShape)
	}
	ys, hs := ya[:], ha[:]
	seq, batch := ys[0], ys[2]
	if a.Layout == 1 {
		seq, batch = ys[1], ys[0]
	}
	if lens != nil && RNNCheck(lens, seq) != nil {
		panic(ErrShape) // check has refused it
	}
	r.dims = rnnDims{seq: seq, batch: batch, input: x.Shape[2]}
	dirs, g, hid := a.dirs(), a.gates(), a.Hidden
	gh := g * hid
	rows := seq * batch
	if cap(r.lens) < batch {
		r.lens = make([]int, batch)
	}
	r.lens = r.lens[:batch]
	for i := range r.lens {
		r.lens[i] = seq
		if lens != nil {
			r.lens[i] = int(lens[i])
		}
	}
	r.p = p
	r.out.y, r.out.yh, r.out.yc = y, yh, yc
	if y != nil {
		y.Resize(ys...)
	}
	if yh != nil {
		yh.Resize(hs...)
	}
	if yc != nil {
		yc.Resize(hs...)
	}
	// The input projection of every step and direction, biases first.
	r.xw = grow(r.xw, rows*dirs*gh)
	r.biasW = grow(r.biasW, dirs*gh)
	r.biasR = grow(r.biasR, dirs*hid)
	clear(r.biasW)
	clear(r.biasR)
	if b != nil {
		for d := 0; d < dirs; d++ {
			bw, br := b.Data[d*2*gh:d*2*gh+gh], b.Data[d*2*gh+gh:(d+1)*2*gh]
			dst := r.biasW[d*gh : (d+1)*gh]
			copy(dst, bw)
			if a.GRU && a.LinearBeforeReset { // Rbh stays inside r⊙(…)
				Axpy(dst[:2*hid], br[:2*hid], 1)
				copy(r.biasR[d*hid:(d+1)*hid], br[2*hid:])
			} else {
				Axpy(dst, br, 1)
			}
		}
	}
	for i := 0; i < rows; i++ {
		copy(r.xw[i*dirs*gh:(i+1)*dirs*gh], r.biasW)
	}
	// Products with a transposed B are many times slower in gonum's
	// kernels than plain ones: W and R are transposed first.
	in := r.dims.input
	r.wT = grow(r.wT, in*dirs*gh)
	transposeInto(r.wT, w.Data, dirs*gh, in)
	Gemm(blas.NoTrans, blas.NoTrans, 1, matrix(rows, in, x.Data), matrix(in, dirs*gh, r.wT), 1, matrix(rows, dirs*gh, r.xw))
	r.rT = grow(r.rT, dirs*hid*gh)
	for d := 0; d < dirs; d++ {
		transposeInto(r.rT[d*hid*gh:(d+1)*hid*gh], rr.Data[d*gh*hid:(d+1)*gh*hid], gh, hid)
	}
	r.rec = grow(r.rec, batch*gh)
	for d := 0; d < dirs; d++ {
		r.hs[d] = grow(r.hs[d], (seq+1)*batch*hid)
		r.gates[d] = grow(r.gates[d], seq*batch*gh)
		r.aux[d] = grow(r.aux[d], seq*batch*hid)
		if a.Clip > 0 {
			r.pre[d] = grow(r.pre[d], seq*batch*gh)
		}
		if !a.GRU {
			r.cs[d] = grow(r.cs[d], (seq+1)*batch*hid)
		}
		for bi := 0; bi < batch; bi++ {
			hp := r.hs[d][bi*hid : (bi+1)*hid]
			if h0 != nil {
				copy(hp, h0.Data[r.hOff(d, bi):r.hOff(d, bi)+hid])
			} else {
				clear(hp)
			}
			if !a.GRU {
				cp := r.cs[d][bi*hid : (bi+1)*hid]
				if c0 != nil {
					copy(cp, c0.Data[r.hOff(d, bi):r.hOff(d, bi)+hid])
				} else {
					clear(cp)
				}
			}
		}
		rt := matrix(hid, gh, r.rT[d*hid*gh:(d+1)*hid*gh]) // Rᵀ
		for s := 0; s < seq; s++ {
			hprev := matrix(batch, hid, r.hs[d][s*batch*hid:(s+1)*batch*hid])
			switch {
			case !a.GRU:
				Gemm(blas.NoTrans, blas.NoTrans, 1, hprev, rt, 0, matrix(batch, gh, r.rec))
				r.run(rnnLSTM, d, s)
			case a.LinearBeforeReset:
				Gemm(blas.NoTrans, blas.NoTrans, 1, hprev, rt, 0, matrix(batch, gh, r.rec))
				r.run(rnnGRU, d, s)
			default: // z and r first; then (r⊙h)·Rhᵀ
				rec := blas32.General{Rows: batch, Cols: 2 * hid, Stride: gh, Data: r.rec}
				Gemm(blas.NoTrans, blas.NoTrans, 1, hprev, sub(rt, 0, hid, 0, 2*hid), 0, rec)
				r.run(rnnGRUGates, d, s)
				rec = blas32.General{Rows: batch, Cols: hid, Stride: gh, Data: r.rec[2*hid:]}
				Gemm(blas.NoTrans, blas.NoTrans, 1, matrix(batch, hid, r.aux[d][s*batch*hid:(s+1)*batch*hid]), sub(rt, 0, hid, 2*hid, 3*hid), 0, rec)
				r.run(rnnGRU, d, s)
			}
		}
		last := r.hs[d][seq*batch*hid:]
		for bi := 0; bi < batch; bi++ {
			if yh != nil {
				copy(yh.Data[r.hOff(d, bi):r.hOff(d, bi)+hid], last[bi*hid:(bi+1)*hid])
			}
			if yc != nil {
				copy(yc.Data[r.hOff(d, bi):r.hOff(d, bi)+hid], r.cs[d][(seq*batch+bi)*hid:(seq*batch+bi+1)*hid])
			}
		}
	}
	r.out.y, r.out.yh, r.out.yc = nil, nil, nil
	r.saved = true
}

// transposeInto writes the transpose of the rows × cols matrix a into t.
func transposeInto(t, a []float32, rows, cols int) {
	for i := 0; i < rows; i++ {
		for j, v := range a[i*cols : (i+1)*cols] {
			t[j*rows+i] = v
		}
	}
}

// The passes of rnnJob.
const (
	rnnLSTM     = iota // LSTM's step
	rnnGRUGates        // GRU (linear_before_reset 0): z, r and r⊙h
	rnnGRU             // GRU's step: n and h′
	rnnLSTMBack
	rnnGRUBackN   // GRU: n's gradient (and, lbr 1, all of the step's)
	rnnGRUBackZR  // GRU lbr 0: z's and r's, after (dn)·Rh
	rnnHiddenBack // the previous hidden state's gradient, after the GEMM
)

// rnnJob is one pass of a step over the batch elements.
type rnnJob struct {
	r          *Recurrence
	pass, d, s int
}

// run runs a pass of step s of direction d over the batch, in parallel
// where the batch is large enough.
func (r *Recurrence) run(pass, d, s int) {
	r.job = rnnJob{r: r, pass: pass, d: d, s: s}
	grain := max(1, 8192/(r.attrs.gates()*r.attrs.Hidden))
	ParallelFor(r.dims.batch, grain, &r.job)
}

func (j *rnnJob) Run(lo, hi int) {
	for b := lo; b < hi; b++ {
		switch j.pass {
		case rnnLSTM:
			j.r.lstmStep(j.d, j.s, b)
		case rnnGRUGates:
			j.r.gruGates(j.d, j.s, b)
		case rnnGRU:
			j.r.gruStep(j.d, j.s, b)
		case rnnLSTMBack:
			j.r.lstmBack(j.d, j.s, b)
		case rnnGRUBackN:
			j.r.gruBackN(j.d, j.s, b)
		case rnnGRUBackZR:
			j.r.gruBackZR(j.d, j.s, b)
		case rnnHiddenBack:
			j.r.hiddenBack(j.d, j.s, b)
		}
	}
}

// tanhs writes tanh x[i] into y[i] (y may be x) as 2σ(2x) − 1 through
// Sigmoids' vector kernel: within about 1e-7 of tanh (absolute; the
// relative error grows near 0), several times faster than Tanh32 a value.
func tanhs(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = 2 * v
	}
	Sigmoids(y, y)
	for i, v := range y {
		y[i] = 2*v - 1
	}
}

// clipInto saves the gate inputs g into pre (with clip) and bounds them.
func clipInto(g, pre []float32, c float32) {
	if c <= 0 {
		return
	}
	copy(pre, g)
	for i, v := range g {
		g[i] = min(max(v, -c), c)
	}
}

// clipped zeroes the gradients dg where the gate input was bounded.
func clipped(dg, pre []float32, c float32) {
	if c <= 0 {
		return
	}
	for i, v := range pre {
		if v > c || v < -c {
			dg[i] = 0
		}
	}
}

// inactive carries the state of batch element b through step s unchanged
// (its sequence has ended) and zeroes Y at time s.
func (r *Recurrence) inactive(d, s, b int) {
	hid, batch := r.attrs.Hidden, r.dims.batch
	copy(r.hs[d][((s+1)*batch+b)*hid:((s+1)*batch+b+1)*hid], r.hs[d][(s*batch+b)*hid:(s*batch+b+1)*hid])
	if !r.attrs.GRU {
		copy(r.cs[d][((s+1)*batch+b)*hid:((s+1)*batch+b+1)*hid], r.cs[d][(s*batch+b)*hid:(s*batch+b+1)*hid])
	}
	if y := r.out.y; y != nil {
		clear(y.Data[r.yOff(s, d, b) : r.yOff(s, d, b)+hid])
	}
}

// lstmStep is LSTM's step s of direction d for batch element b.
func (r *Recurrence) lstmStep(d, s, b int) {
	t := r.timeOf(s, d, b)
	if t < 0 {
		r.inactive(d, s, b)
		return
	}
	a, hid, batch := r.attrs, r.attrs.Hidden, r.dims.batch
	gh := 4 * hid
	row := s*batch + b
	g := r.gates[d][row*gh : (row+1)*gh]
	xo := (r.xRow(t, b)*a.dirs() + d) * gh
	copy(g, r.xw[xo:xo+gh])
	Axpy(g, r.rec[b*gh:(b+1)*gh], 1)
	cprev := r.cs[d][row*hid : (row+1)*hid]
	c := r.cs[d][(row+batch)*hid : (row+batch+1)*hid]
	h := r.hs[d][(row+batch)*hid : (row+batch+1)*hid]
	gi, gog, gf, gc := g[:hid], g[hid:2*hid], g[2*hid:3*hid], g[3*hid:]
	var pi, po, pf []float32
	if r.p != nil {
		pp := r.p.Data[d*3*hid : (d+1)*3*hid]
		pi, po, pf = pp[:hid], pp[hid:2*hid], pp[2*hid:]
		for k := range gi {
			gi[k] += pi[k] * cprev[k]
			gf[k] += pf[k] * cprev[k]
		}
	}
	var pre []float32
	if a.Clip > 0 {
		pre = r.pre[d][row*gh : (row+1)*gh]
		// o's input is bounded below, once its peephole is in.
		clipInto(g[:hid], pre[:hid], a.Clip)
		clipInto(g[2*hid:], pre[2*hid:], a.Clip)
	}
	if r.p == nil && a.Clip <= 0 {
		Sigmoids(g[:3*hid], g[:3*hid])
	} else {
		Sigmoids(gi, gi)
		Sigmoids(gf, gf)
	}
	if a.InputForget {
		for k, v := range gi {
			gf[k] = 1 - v
		}
	}
	tc := r.aux[d][row*hid : (row+1)*hid]
	tanhs(gc, gc)
	for k := range c {
		c[k] = gf[k]*cprev[k] + gi[k]*gc[k]
	}
	tanhs(tc, c)
	if r.p != nil || a.Clip > 0 {
		if r.p != nil {
			for k := range gog {
				gog[k] += po[k] * c[k]
			}
		}
		if a.Clip > 0 {
			clipInto(gog, pre[hid:2*hid], a.Clip)
		}
		Sigmoids(gog, gog)
	}
	for k := range h {
		h[k] = gog[k] * tc[k]
	}
	if y := r.out.y; y != nil {
		copy(y.Data[r.yOff(t, d, b):r.yOff(t, d, b)+hid], h)
	}
}

// gruGates is GRU's (linear_before_reset 0) first pass of step s: z, r
// and r⊙h into aux.
func (r *Recurrence) gruGates(d, s, b int) {
	t := r.timeOf(s, d, b)
	hid, batch := r.attrs.Hidden, r.dims.batch
	row := s*batch + b
	rh := r.aux[d][row*hid : (row+1)*hid]
	if t < 0 {
		clear(rh)
		return
	}
	gh := 3 * hid
	g := r.gates[d][row*gh : row*gh+2*hid]
	xo := (r.xRow(t, b)*r.attrs.dirs() + d) * gh
	copy(g, r.xw[xo:xo+2*hid])
	Axpy(g, r.rec[b*gh:b*gh+2*hid], 1)
	if r.attrs.Clip > 0 {
		clipInto(g, r.pre[d][row*gh:row*gh+2*hid], r.attrs.Clip)
	}
	Sigmoids(g, g)
	hprev := r.hs[d][row*hid : (row+1)*hid]
	for k := range rh {
		rh[k] = g[hid+k] * hprev[k]
	}
}

// gruStep is GRU's step s of direction d for batch element b (with
// linear_before_reset 0, its second pass).
func (r *Recurrence) gruStep(d, s, b int) {
	t := r.timeOf(s, d, b)
	if t < 0 {
		r.inactive(d, s, b)
		return
	}
	a, hid, batch := r.attrs, r.attrs.Hidden, r.dims.batch
	gh := 3 * hid
	row := s*batch + b
	g := r.gates[d][row*gh : (row+1)*gh]
	xo := (r.xRow(t, b)*a.dirs() + d) * gh
	xw, rec := r.xw[xo:xo+gh], r.rec[b*gh:(b+1)*gh]
	var pre []float32
	if a.Clip > 0 {
		pre = r.pre[d][row*gh : (row+1)*gh]
	}
	gz, gr, gn := g[:hid], g[hid:2*hid], g[2*hid:]
	if a.LinearBeforeReset {
		copy(g[:2*hid], xw[:2*hid])
		Axpy(g[:2*hid], rec[:2*hid], 1)
		if pre != nil {
			clipInto(g[:2*hid], pre[:2*hid], a.Clip)
		}
		Sigmoids(g[:2*hid], g[:2*hid])
		hn := r.aux[d][row*hid : (row+1)*hid]
		rb := r.biasR[d*hid : (d+1)*hid]
		for k := range gn {
			hn[k] = rec[2*hid+k] + rb[k]
			gn[k] = xw[2*hid+k] + gr[k]*hn[k]
		}
	} else {
		for k := range gn {
			gn[k] = xw[2*hid+k] + rec[2*hid+k]
		}
	}
	if pre != nil {
		clipInto(gn, pre[2*hid:], a.Clip)
	}
	hprev := r.hs[d][row*hid : (row+1)*hid]
	h := r.hs[d][(row+batch)*hid : (row+batch+1)*hid]
	tanhs(gn, gn)
	for k := range gn {
		h[k] = (1-gz[k])*gn[k] + gz[k]*hprev[k]
	}
	if y := r.out.y; y != nil {
		copy(y.Data[r.yOff(t, d, b):r.yOff(t, d, b)+hid], h)
	}
}

// Backward adds into dx, dw, dr, db, dh0, dc0 and dp (any may be nil) the
// gradients of the last Forward's inputs x, w, rr and p from the gradients
// dy, dyh and dyc of its outputs (any may be nil), backpropagating through
// time. It panics with ErrShape if Forward has not run or a gradient's
// shape is not its tensor's.
func (r *Recurrence) Backward(dx, dw, dr, db, dh0, dc0, dp, dy, dyh, dyc, x, w, rr, p *Tensor) {
	if !r.saved {
		panic(ErrShape)
	}
	a := r.attrs
	seq, batch, dirs, hid := r.dims.seq, r.dims.batch, a.dirs(), a.Hidden
	gh := a.gates() * hid
	rows := seq * batch
	same := func(d, t *Tensor) bool { return d == nil || t != nil && slices.Equal(d.Shape, t.Shape) }
	ys := [4]int{seq, dirs, batch, hid}
	hs := [3]int{dirs, batch, hid}
	if a.Layout == 1 {
		ys, hs = [4]int{batch, seq, dirs, hid}, [3]int{batch, dirs, hid}
	}
	is := func(d *Tensor, shape []int) bool { return d == nil || slices.Equal(d.Shape, shape) }
	bs := [2]int{dirs, 2 * gh}
	if !same(dx, x) || !same(dw, w) || !same(dr, rr) || !same(dp, p) || !is(dy, ys[:]) || !is(dyh, hs[:]) || !is(dyc, hs[:]) ||
		!is(dh0, hs[:]) || !is(dc0, hs[:]) || !is(db, bs[:]) {
		panic(ErrShape)
	}
	if a.GRU {
		dyc, dc0, dp = nil, nil, nil
	}
	wantX := dx != nil || dw != nil
	if wantX {
		r.dxin = grow(r.dxin, rows*dirs*gh)
		clear(r.dxin)
	}
	r.dh, r.dc, r.tmp = grow(r.dh, batch*hid), grow(r.dc, batch*hid), grow(r.tmp, batch*hid)
	r.out.y = dy // read by the passes (dy at each step)
	for d := 0; d < dirs; d++ {
		for b := 0; b < batch; b++ {
			o := r.hOff(d, b)
			if dyh != nil {
				copy(r.dh[b*hid:(b+1)*hid], dyh.Data[o:o+hid])
			} else {
				clear(r.dh[b*hid : (b+1)*hid])
			}
			if dyc != nil {
				copy(r.dc[b*hid:(b+1)*hid], dyc.Data[o:o+hid])
			} else {
				clear(r.dc[b*hid : (b+1)*hid])
			}
		}
		r.dx[d] = grow(r.dx[d], rows*gh)
		drec := r.dx[d]
		if a.GRU && a.LinearBeforeReset {
			r.drec[d] = grow(r.drec[d], rows*gh)
			drec = r.drec[d]
		}
		rm := matrix(gh, hid, rr.Data[d*gh*hid:(d+1)*gh*hid])
		tmp := matrix(batch, hid, r.tmp)
		for s := seq - 1; s >= 0; s-- {
			step := r.dx[d][s*batch*gh : (s+1)*batch*gh]
			switch {
			case !a.GRU:
				r.run(rnnLSTMBack, d, s)
				Gemm(blas.NoTrans, blas.NoTrans, 1, matrix(batch, gh, step), rm, 0, tmp)
			case a.LinearBeforeReset:
				r.run(rnnGRUBackN, d, s)
				Gemm(blas.NoTrans, blas.NoTrans, 1, matrix(batch, gh, drec[s*batch*gh:(s+1)*batch*gh]), rm, 0, tmp)
			default:
				r.run(rnnGRUBackN, d, s)
				dn := blas32.General{Rows: batch, Cols: hid, Stride: gh, Data: step[2*hid:]}
				Gemm(blas.NoTrans, blas.NoTrans, 1, dn, sub(rm, 2*hid, 3*hid, 0, hid), 0, tmp)
				r.run(rnnGRUBackZR, d, s)
				dzr := blas32.General{Rows: batch, Cols: 2 * hid, Stride: gh, Data: step}
				Gemm(blas.NoTrans, blas.NoTrans, 1, dzr, sub(rm, 0, 2*hid, 0, hid), 0, tmp)
			}
			r.run(rnnHiddenBack, d, s)
		}
		for b := 0; b < batch; b++ {
			o := r.hOff(d, b)
			if dh0 != nil {
				Axpy(dh0.Data[o:o+hid], r.dh[b*hid:(b+1)*hid], 1)
			}
			if dc0 != nil {
				Axpy(dc0.Data[o:o+hid], r.dc[b*hid:(b+1)*hid], 1)
			}
		}
		if dr != nil {
			drm := matrix(gh, hid, dr.Data[d*gh*hid:(d+1)*gh*hid])
			hsm := matrix(rows, hid, r.hs[d][:rows*hid])
			if a.GRU && !a.LinearBeforeReset {
				dzr := blas32.General{Rows: rows, Cols: 2 * hid, Stride: gh, Data: drec}
				Gemm(blas.Trans, blas.NoTrans, 1, dzr, hsm, 1, sub(drm, 0, 2*hid, 0, hid))
				dn := blas32.General{Rows: rows, Cols: hid, Stride: gh, Data: drec[2*hid:]}
				Gemm(blas.Trans, blas.NoTrans, 1, dn, matrix(rows, hid, r.aux[d][:rows*hid]), 1, sub(drm, 2*hid, 3*hid, 0, hid))
			} else {
				Gemm(blas.Trans, blas.NoTrans, 1, matrix(rows, gh, drec), hsm, 1, drm)
			}
		}
		if db != nil {
			bw, br := db.Data[d*2*gh:d*2*gh+gh], db.Data[d*2*gh+gh:(d+1)*2*gh]
			for i := 0; i < rows; i++ {
				Axpy(bw, r.dx[d][i*gh:(i+1)*gh], 1)
				Axpy(br, drec[i*gh:(i+1)*gh], 1)
			}
		}
		if dp != nil {
			pp := dp.Data[d*3*hid : (d+1)*3*hid]
			for i := 0; i < rows; i++ {
				g := r.dx[d][i*gh : (i+1)*gh]
				cprev, c := r.cs[d][i*hid:(i+1)*hid], r.cs[d][(i+batch)*hid:(i+batch+1)*hid]
				for k := 0; k < hid; k++ {
					pp[k] += g[k] * cprev[k]
					pp[hid+k] += g[hid+k] * c[k]
					pp[2*hid+k] += g[2*hid+k] * cprev[k]
				}
			}
		}
		if wantX {
			for s := 0; s < seq; s++ {
				for b := 0; b < batch; b++ {
					if t := r.timeOf(s, d, b); t >= 0 {
						o := (r.xRow(t, b)*dirs + d) * gh
						copy(r.dxin[o:o+gh], r.dx[d][(s*batch+b)*gh:(s*batch+b+1)*gh])
					}
				}
			}
		}
	}
	if dx != nil {
		Gemm(blas.NoTrans, blas.NoTrans, 1, matrix(rows, dirs*gh, r.dxin), matrix(dirs*gh, r.dims.input, w.Data), 1, matrix(rows, r.dims.input, dx.Data))
	}
	if dw != nil {
		Gemm(blas.Trans, blas.NoTrans, 1, matrix(rows, dirs*gh, r.dxin), matrix(rows, r.dims.input, x.Data), 1, matrix(dirs*gh, r.dims.input, dw.Data))
	}
	r.out.y = nil
}

// bounded reports whether the gate input at pre[k] was bounded by clip.
func (r *Recurrence) bounded(pre []float32, k int) bool {
	c := r.attrs.Clip
	return c > 0 && (pre[k] > c || pre[k] < -c)
}

// dyAt adds dY at time t, direction d, batch element b into dh (if a
// gradient reaches Y).
func (r *Recurrence) dyAt(dh []float32, t, d, b int) {
	if dy := r.out.y; dy != nil {
		o := r.yOff(t, d, b)
		Axpy(dh, dy.Data[o:o+r.attrs.Hidden], 1)
	}
}

// lstmBack is LSTM's step s backwards for batch element b: the gates'
// input gradients into dx, dc to the previous cell state's.
func (r *Recurrence) lstmBack(d, s, b int) {
	a, hid, batch := r.attrs, r.attrs.Hidden, r.dims.batch
	gh := 4 * hid
	row := s*batch + b
	dg := r.dx[d][row*gh : (row+1)*gh]
	t := r.timeOf(s, d, b)
	if t < 0 {
		clear(dg)
		return
	}
	dh, dc := r.dh[b*hid:(b+1)*hid], r.dc[b*hid:(b+1)*hid]
	r.dyAt(dh, t, d, b)
	g := r.gates[d][row*gh : (row+1)*gh]
	cprev := r.cs[d][row*hid : (row+1)*hid]
	tc := r.aux[d][row*hid : (row+1)*hid]
	var pre, pi, po, pf []float32
	if a.Clip > 0 {
		pre = r.pre[d][row*gh : (row+1)*gh]
	}
	if r.p != nil {
		pp := r.p.Data[d*3*hid : (d+1)*3*hid]
		pi, po, pf = pp[:hid], pp[hid:2*hid], pp[2*hid:]
	}
	for k := 0; k < hid; k++ {
		i, o, f, ct := g[k], g[hid+k], g[2*hid+k], g[3*hid+k]
		dck := dc[k] + dh[k]*o*(1-tc[k]*tc[k])
		dao := dh[k] * tc[k] * o * (1 - o)
		if pre != nil && r.bounded(pre, hid+k) {
			dao = 0
		}
		if po != nil {
			dck += dao * po[k]
		}
		di, df := dck*ct, dck*cprev[k]
		if a.InputForget {
			di, df = di-df, 0
		}
		dai, daf, dac := di*i*(1-i), df*f*(1-f), dck*i*(1-ct*ct)
		if pre != nil {
			if r.bounded(pre, k) {
				dai = 0
			}
			if r.bounded(pre, 2*hid+k) {
				daf = 0
			}
			if r.bounded(pre, 3*hid+k) {
				dac = 0
			}
		}
		dprev := dck * f
		if pi != nil {
			dprev += dai*pi[k] + daf*pf[k]
		}
		dc[k] = dprev
		dg[k], dg[hid+k], dg[2*hid+k], dg[3*hid+k] = dai, dao, daf, dac
	}
}

// gruBackN is GRU's step s backwards for batch element b: with
// linear_before_reset 1 all of the step's gate gradients (dx, drec),
// else n's (z's and r's follow in gruBackZR); the direct part dh⊙z of the
// previous hidden state's gradient into dc.
func (r *Recurrence) gruBackN(d, s, b int) {
	a, hid, batch := r.attrs, r.attrs.Hidden, r.dims.batch
	gh := 3 * hid
	row := s*batch + b
	dg := r.dx[d][row*gh : (row+1)*gh]
	var drec []float32
	if a.LinearBeforeReset {
		drec = r.drec[d][row*gh : (row+1)*gh]
	}
	t := r.timeOf(s, d, b)
	if t < 0 {
		clear(dg)
		clear(drec)
		return
	}
	dh, direct := r.dh[b*hid:(b+1)*hid], r.dc[b*hid:(b+1)*hid]
	r.dyAt(dh, t, d, b)
	g := r.gates[d][row*gh : (row+1)*gh]
	hprev := r.hs[d][row*hid : (row+1)*hid]
	var pre []float32
	if a.Clip > 0 {
		pre = r.pre[d][row*gh : (row+1)*gh]
	}
	for k := 0; k < hid; k++ {
		z, rg, n := g[k], g[hid+k], g[2*hid+k]
		direct[k] = dh[k] * z
		dan := dh[k] * (1 - z) * (1 - n*n)
		if pre != nil && r.bounded(pre, 2*hid+k) {
			dan = 0
		}
		dg[2*hid+k] = dan
		if !a.LinearBeforeReset {
			continue
		}
		hn := r.aux[d][row*hid+k]
		dar := dan * hn * rg * (1 - rg)
		daz := dh[k] * (hprev[k] - n) * z * (1 - z)
		if pre != nil {
			if r.bounded(pre, hid+k) {
				dar = 0
			}
			if r.bounded(pre, k) {
				daz = 0
			}
		}
		dg[k], dg[hid+k] = daz, dar
		drec[k], drec[hid+k], drec[2*hid+k] = daz, dar, dan*rg
	}
}

// gruBackZR is GRU's (linear_before_reset 0) second backward pass of step
// s: with tmp the gradient at r⊙h, z's and r's gate gradients, and r⊙tmp
// into the direct part.
func (r *Recurrence) gruBackZR(d, s, b int) {
	if r.timeOf(s, d, b) < 0 {
		return
	}
	hid, batch := r.attrs.Hidden, r.dims.batch
	gh := 3 * hid
	row := s*batch + b
	dg := r.dx[d][row*gh : (row+1)*gh]
	g := r.gates[d][row*gh : (row+1)*gh]
	hprev := r.hs[d][row*hid : (row+1)*hid]
	dh, direct, drh := r.dh[b*hid:(b+1)*hid], r.dc[b*hid:(b+1)*hid], r.tmp[b*hid:(b+1)*hid]
	var pre []float32
	if r.attrs.Clip > 0 {
		pre = r.pre[d][row*gh : (row+1)*gh]
	}
	for k := 0; k < hid; k++ {
		z, rg, n := g[k], g[hid+k], g[2*hid+k]
		direct[k] += drh[k] * rg
		dar := drh[k] * hprev[k] * rg * (1 - rg)
		daz := dh[k] * (hprev[k] - n) * z * (1 - z)
		if pre != nil {
			if r.bounded(pre, hid+k) {
				dar = 0
			}
			if r.bounded(pre, k) {
				daz = 0
			}
		}
		dg[k], dg[hid+k] = daz, dar
	}
}

// hiddenBack sets the hidden state's gradient of batch element b to the
// previous step's: tmp (the recurrence's GEMM) plus, for GRU, the direct
// part; an element whose sequence has ended keeps its gradient.
func (r *Recurrence) hiddenBack(d, s, b int) {
	if r.timeOf(s, d, b) < 0 {
		return
	}
	hid := r.attrs.Hidden
	dh := r.dh[b*hid : (b+1)*hid]
	copy(dh, r.tmp[b*hid:(b+1)*hid])
	if r.attrs.GRU {
		Axpy(dh, r.dc[b*hid:(b+1)*hid], 1)
	}
}
