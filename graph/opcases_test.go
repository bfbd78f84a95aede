package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// opCase is one node of an op type of unary.go, binary.go, reduce.go,
// logsoftmax.go or norm.go, with float64 definitions of its outputs: the
// shared table that the finite-difference, executor and ONNX Runtime
// tests run.
type opCase struct {
	op     string
	opset  int // the ONNX Runtime model's opset, where not 17
	attrs  map[string]Attribute
	shapes [][]int   // the float inputs x0, x1, …
	consts []*Tensor // inputs after them, known before the graph runs (nil: left out)
	// pos draws the float inputs in [0.5, 2.5) (Sqrt, Log, Pow's base).
	pos bool
	// ref computes the outputs (a node of several outputs has several)
	// from the float inputs in float64.
	ref     func(in [][]float64) [][]float64
	outputs int // the node's outputs, where more than 1
}

func (c opCase) String() string {
	s := fmt.Sprintf("%s_%v", c.op, c.shapes)
	for _, k := range sortedKeys(c.attrs) {
		s += fmt.Sprintf("_%s=%v", k, attrValueForName(c.attrs[k]))
	}
	for _, t := range c.consts {
		switch {
		case t == nil:
			s += "_∅"
		case t.Type == Int64:
			s += fmt.Sprintf("_%v", t.Int64)
		default:
			s += fmt.Sprintf("_%v", t.Data)
		}
	}
	return s
}

func attrValueForName(a Attribute) any {
	switch a.Type {
	case AttrFloat:
		return a.Float
	case AttrString:
		return a.String
	}
	return a.Int
}

// elementwise1 is the opCase ref of an elementwise op of one input.
func elementwise1(f func(x float64) float64) func(in [][]float64) [][]float64 {
	return func(in [][]float64) [][]float64 {
		y := make([]float64, len(in[0]))
		for i, v := range in[0] {
			y[i] = f(v)
		}
		return [][]float64{y}
	}
}

// foldRef is the ref of a broadcasting op over all float inputs, folding
// f over each element's values.
func foldRef(shapes [][]int, f func(vals []float64) float64) func(in [][]float64) [][]float64 {
	return func(in [][]float64) [][]float64 {
		out := shapes[0]
		for _, s := range shapes[1:] {
			out, _ = BroadcastShape(out, s)
		}
		y := make([]float64, elements(out))
		idx := make([]int, len(out))
		vals := make([]float64, len(in))
		for i := range y {
			indexOf(idx, i, out)
			for k := range in {
				vals[k] = in[k][refOffset(idx, shapes[k])]
			}
			y[i] = f(vals)
		}
		return [][]float64{y}
	}
}

func hardSigmoid64(x, alpha, beta float64) float64 { return math.Max(0, math.Min(1, alpha*x+beta)) }

func int64T(v ...int64) *Tensor { return NewInt64Tensor(v, len(v)) }

func scalarT(v float32) *Tensor { return &Tensor{Shape: []int{}, Data: []float32{v}} }

// f32 is v rounded to float32 and back, for the attributes a kernel reads
// as float32.
func f32(v float64) float64 { return float64(float32(v)) }

var opCases = func() []opCase {
	u := func(op string, f func(x float64) float64, attrs map[string]Attribute, pos bool) opCase {
		return opCase{op: op, attrs: attrs, shapes: [][]int{{3, 7}}, pos: pos, ref: elementwise1(f)}
	}
	cs := []opCase{
		u("Neg", func(x float64) float64 { return -x }, nil, false),
		u("Abs", math.Abs, nil, false),
		u("Sqrt", math.Sqrt, nil, true),
		u("Exp", math.Exp, nil, false),
		u("Log", math.Log, nil, true),
		u("Reciprocal", func(x float64) float64 { return 1 / x }, nil, false),
		u("Softsign", func(x float64) float64 { return x / (1 + math.Abs(x)) }, nil, false),
		u("Selu", func(x float64) float64 {
			if x > 0 {
				return f32(seluGamma) * x
			}
			return f32(seluGamma) * f32(seluAlpha) * math.Expm1(x)
		}, nil, false),
		u("Selu", func(x float64) float64 {
			if x > 0 {
				return 1.5 * x
			}
			return 1.5 * 0.5 * math.Expm1(x)
		}, map[string]Attribute{"alpha": Float(0.5), "gamma": Float(1.5)}, false),
		u("HardSigmoid", func(x float64) float64 { return hardSigmoid64(x, f32(0.2), 0.5) }, nil, false),
		u("HardSigmoid", func(x float64) float64 { return hardSigmoid64(x, 0.25, f32(0.3)) }, map[string]Attribute{"alpha": Float(0.25), "beta": Float(0.3)}, false),
		{op: "HardSwish", opset: 14, shapes: [][]int{{4, 9}}, ref: elementwise1(func(x float64) float64 { return x * hardSigmoid64(x, 1.0/6, 0.5) })},
		// Clip: both bounds, either, none, as ReLU6, and min above max.
		{op: "Clip", shapes: [][]int{{3, 7}}, consts: []*Tensor{scalarT(-0.5), scalarT(0.75)}, ref: elementwise1(func(x float64) float64 { return math.Min(math.Max(x, -0.5), 0.75) })},
		{op: "Clip", shapes: [][]int{{3, 7}}, consts: []*Tensor{nil, scalarT(0.75)}, ref: elementwise1(func(x float64) float64 { return math.Min(x, 0.75) })},
		{op: "Clip", shapes: [][]int{{3, 7}}, consts: []*Tensor{scalarT(-0.5)}, ref: elementwise1(func(x float64) float64 { return math.Max(x, -0.5) })},
		{op: "Clip", shapes: [][]int{{3, 7}}, ref: elementwise1(func(x float64) float64 { return x })},
		{op: "Clip", shapes: [][]int{{3, 7}}, consts: []*Tensor{scalarT(0), scalarT(6)}, ref: elementwise1(func(x float64) float64 { return math.Min(math.Max(x, 0), 6) })},
		{op: "Clip", shapes: [][]int{{3, 7}}, consts: []*Tensor{scalarT(1), scalarT(-1)}, ref: elementwise1(func(x float64) float64 { return -1 })},
		{op: "LogSoftmax", shapes: [][]int{{3, 5}}, ref: logSoftmaxRef([]int{3, 5}, -1)},
		{op: "LogSoftmax", attrs: map[string]Attribute{"axis": Int(1)}, shapes: [][]int{{2, 3, 4}}, ref: logSoftmaxRef([]int{2, 3, 4}, 1)},
		{op: "LogSoftmax", attrs: map[string]Attribute{"axis": Int(0)}, shapes: [][]int{{4, 3}}, ref: logSoftmaxRef([]int{4, 3}, 0)},
	}
	// The ReLU6 case's x is drawn 4 times wider (opCaseInputs), so that
	// some values are above 6.
	for _, s := range [][2][]int{{{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{4, 1, 3}, {2, 1}}, {{3, 1}, {1, 4}}, {{2, 3}, {}}} {
		s := s
		cs = append(cs, opCase{op: "Pow", shapes: s[:], pos: true, ref: foldRef(s[:], func(v []float64) float64 { return math.Pow(v[0], v[1]) })})
	}
	for _, s := range [][2][]int{{{2, 3}, {3}}, {{2, 3, 2, 2}, {3, 1, 1}}, {{2, 3}, {1}}, {{2, 3}, {2, 3}}} {
		s := s
		cs = append(cs, opCase{op: "PRelu", shapes: s[:], ref: foldRef(s[:], func(v []float64) float64 {
			if v[0] > 0 {
				return v[0]
			}
			return v[1] * v[0]
		})})
	}
	for _, shapes := range [][][]int{{{2, 3}}, {{2, 3}, {3}}, {{4, 1, 3}, {2, 1}, {1}}, {{3, 1}, {1, 4}, {3, 4}, {1, 1}, {4}}} {
		cs = append(cs,
			opCase{op: "Max", shapes: shapes, ref: foldRef(shapes, func(v []float64) float64 { return slices.Max(v) })},
			opCase{op: "Min", shapes: shapes, ref: foldRef(shapes, func(v []float64) float64 { return slices.Min(v) })},
			opCase{op: "Sum", shapes: shapes, ref: foldRef(shapes, func(v []float64) float64 {
				var s float64
				for _, x := range v {
					s += x
				}
				return s
			})},
			opCase{op: "Mean", shapes: shapes, ref: foldRef(shapes, func(v []float64) float64 {
				var s float64
				for _, x := range v {
					s += x
				}
				return s / float64(len(v))
			})})
	}
	// Reductions over some axes, negative ones, all (axes left out or
	// empty), kept or not, and the no-op.
	reds := []struct {
		shape []int
		axes  *Tensor
		keep  int64
		noop  int64
	}{
		{[]int{3, 4}, int64T(1), 1, 0},
		{[]int{3, 4}, int64T(0), 0, 0},
		{[]int{2, 3, 4}, int64T(0, 2), 1, 0},
		{[]int{2, 3, 4}, int64T(-1, -3), 0, 0},
		{[]int{2, 3, 4}, nil, 1, 0},
		{[]int{2, 3, 4}, nil, 0, 0},
		{[]int{2, 3, 4}, int64T(), 0, 0},
		{[]int{2, 3, 4}, int64T(), 1, 1},
		{[]int{2, 1, 4}, int64T(1), 0, 0},
	}
	for _, op := range []string{"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSumExp"} {
		for _, rc := range reds {
			var axes []int64
			var consts []*Tensor
			if rc.axes != nil {
				axes = rc.axes.Int64
				consts = []*Tensor{rc.axes}
			}
			cs = append(cs, opCase{op: op, attrs: map[string]Attribute{"keepdims": Int(rc.keep), "noop_with_empty_axes": Int(rc.noop)},
				shapes: [][]int{rc.shape}, consts: consts, ref: reduceRef(op, rc.shape, axes, rc.noop != 0)})
		}
	}
	// LayerNormalization along the last axes, with and without B, with
	// the statistics as outputs; InstanceNormalization in 1-D and 2-D.
	cs = append(cs,
		opCase{op: "LayerNormalization", opset: 17, shapes: [][]int{{3, 5}, {5}, {5}}, ref: layerNormRef([]int{3, 5}, []int{5}, []int{5}, -1, f32(1e-5))},
		opCase{op: "LayerNormalization", opset: 17, attrs: map[string]Attribute{"axis": Int(1), "epsilon": Float(1e-3)}, shapes: [][]int{{2, 3, 4}, {3, 4}, {4}},
			ref: layerNormRef([]int{2, 3, 4}, []int{3, 4}, []int{4}, 1, f32(1e-3)), outputs: 3},
		opCase{op: "LayerNormalization", opset: 17, attrs: map[string]Attribute{"axis": Int(-2)}, shapes: [][]int{{2, 3, 4}, {3, 4}},
			ref: layerNormRef([]int{2, 3, 4}, []int{3, 4}, nil, -2, f32(1e-5)), outputs: 3},
		opCase{op: "InstanceNormalization", shapes: [][]int{{2, 3, 5}, {3}, {3}}, ref: instanceNormRef([]int{2, 3, 5}, f32(1e-5))},
		opCase{op: "InstanceNormalization", attrs: map[string]Attribute{"epsilon": Float(0.01)}, shapes: [][]int{{2, 2, 3, 3}, {2}, {2}}, ref: instanceNormRef([]int{2, 2, 3, 3}, f32(0.01))},
	)
	return cs
}()

// opCaseInputs draws c's float inputs.
func opCaseInputs(r *rand.Rand, c opCase) []*Tensor {
	xs := make([]*Tensor, len(c.shapes))
	for k, s := range c.shapes {
		xs[k] = randTensor(r, s...)
		for i, v := range xs[k].Data {
			switch {
			case c.pos:
				xs[k].Data[i] = 0.5 + 2*float32(r.Float64())
			case c.op == "Clip" && len(c.consts) == 2 && c.consts[1] != nil && c.consts[1].Data[0] == 6:
				xs[k].Data[i] = 4 * v
			}
		}
	}
	return xs
}

// opCaseGraph is the one-node graph of c: float inputs x0, x1, … as graph
// inputs, the constants as parameters c0, c1, … ("" where left out), and
// outputs y0, y1, ….
func opCaseGraph(c opCase) *Graph {
	g := &Graph{Params: map[string]*Tensor{}}
	n := &Node{Name: "n", Op: c.op, Attrs: c.attrs}
	for k, s := range c.shapes {
		name := fmt.Sprintf("x%d", k)
		g.Inputs = append(g.Inputs, Value{Name: name, Shape: s})
		n.Inputs = append(n.Inputs, name)
	}
	for k, t := range c.consts {
		name := ""
		if t != nil {
			name = fmt.Sprintf("c%d", k)
			g.Params[name] = t
		}
		n.Inputs = append(n.Inputs, name)
	}
	for k := 0; k < max(c.outputs, 1); k++ {
		name := fmt.Sprintf("y%d", k)
		n.Outputs = append(n.Outputs, name)
		g.Outputs = append(g.Outputs, name)
	}
	g.Nodes = []*Node{n}
	return g
}

// TestOpCases runs each case through the graph's reference Forward and
// Backward (the op table): the outputs against the float64 definition,
// the gradients of every float input, added into buffers that held
// values (Backward adds), against finite differences of it.
func TestOpCases(t *testing.T) {
	r := rand.New(rand.NewPCG(141, 142))
	for _, c := range opCases {
		t.Run(c.String(), func(t *testing.T) {
			g := opCaseGraph(c)
			xs := opCaseInputs(r, c)
			feeds := map[string]*Tensor{}
			in64 := make([][]float64, len(xs))
			for k, x := range xs {
				feeds[g.Inputs[k].Name] = x
				in64[k] = to64(x.Data)
			}
			values, err := g.Forward(feeds)
			if err != nil {
				t.Fatal(err)
			}
			want := c.ref(in64)
			seeds := map[string]*Tensor{}
			var w []float64
			for k, name := range g.Outputs {
				got := values[name]
				want32 := make([]float32, len(want[k]))
				for i, v := range want[k] {
					want32[i] = float32(v)
				}
				checkClose(t, name, got.Data, want32, 1e-5, 1e-5)
				seeds[name] = randTensor(r, got.Shape...)
				w = append(w, to64(seeds[name].Data)...)
			}
			grads, err := g.Backward(values, seeds)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]*Tensor, len(xs))
			for k := range xs {
				got[k] = grads[g.Inputs[k].Name]
				if got[k] == nil {
					t.Fatalf("no gradient of %s", g.Inputs[k].Name)
				}
			}
			f := func(in [][]float64) []float64 { return slices.Concat(c.ref(in)[:len(g.Outputs)]...) }
			checkGradients(t, f, in64, w, got)
			// The operator's backward adds into the buffers it is given.
			n := g.Nodes[0]
			ins, outs, dout := make([]*Tensor, len(n.Inputs)), make([]*Tensor, len(n.Outputs)), make([]*Tensor, len(n.Outputs))
			for k, name := range n.Inputs {
				ins[k] = feeds[name]
				if p, ok := g.Params[name]; ok {
					ins[k] = p
				}
			}
			for k, name := range n.Outputs {
				outs[k], dout[k] = values[name], seeds[name]
			}
			shapes := make([][]int, len(n.Inputs))
			for k := range xs {
				shapes[k] = append([]int{}, xs[k].Shape...)
			}
			din, start := filled(r, shapes...)
			operators[c.op].backward(&state{}, n, din, dout, outs, ins)
			added(din, start)
			for k := range xs {
				checkClose(t, "added into a buffer", din[k].Data, got[k].Data, 1e-5, 1e-5)
			}
		})
	}
}

// TestOpCasesPlanned runs each case through the planned executor: its
// outputs and gradients equal the reference Forward's and Backward's bit
// for bit, a second step too, and a step allocates nothing.
func TestOpCasesPlanned(t *testing.T) {
	r := rand.New(rand.NewPCG(143, 144))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for _, c := range opCases {
		t.Run(c.String(), func(t *testing.T) {
			g := opCaseGraph(c)
			xs := opCaseInputs(r, c)
			shapes, feeds := map[string][]int{}, map[string]*Tensor{}
			var grads []string
			for k, x := range xs {
				shapes[g.Inputs[k].Name] = x.Shape
				feeds[g.Inputs[k].Name] = x
				if !isFixed(c.op, k) { // Pow's exponent
					grads = append(grads, g.Inputs[k].Name)
				}
			}
			p, err := g.Plan(shapes, PlanOptions{Grads: grads})
			if err != nil {
				t.Fatal(err)
			}
			values, err := g.Forward(feeds)
			if err != nil {
				t.Fatal(err)
			}
			seeds := map[string]*Tensor{}
			var seedList []*Tensor
			for _, name := range g.Outputs {
				s := randTensor(r, values[name].Shape...)
				seeds[name] = s
				seedList = append(seedList, s)
			}
			want, err := g.Backward(values, seeds)
			if err != nil {
				t.Fatal(err)
			}
			step := func() {
				if err := p.Forward(xs...); err != nil {
					t.Fatal(err)
				}
				p.Backward(seedList...)
			}
			for i := 0; i < 2; i++ {
				step()
				for _, name := range g.Outputs {
					if v := p.Value(name); !slices.Equal(v.Shape, values[name].Shape) || !slices.Equal(v.Data, values[name].Data) {
						t.Fatalf("step %d: %s: got %v %v, want %v %v", i, name, v.Shape, v.Data, values[name].Shape, values[name].Data)
					}
				}
				for _, name := range grads {
					if gr := p.Grad(name); !slices.Equal(gr.Data, want[name].Data) {
						t.Fatalf("step %d: gradient of %s: got %v, want %v", i, name, gr.Data, want[name].Data)
					}
				}
			}
			if a := testing.AllocsPerRun(5, step); a != 0 {
				t.Errorf("a step allocates %v times, want 0", a)
			}
		})
	}
}

// logSoftmaxRef is log(softmax) in float64.
func logSoftmaxRef(shape []int, axis int) func(in [][]float64) [][]float64 {
	return func(in [][]float64) [][]float64 {
		y := softmaxRef(in[0], shape, axis)
		for i, v := range y {
			y[i] = math.Log(v)
		}
		return [][]float64{y}
	}
}

// reduceRef is the reduction op of x over axes in float64 (the output's
// values in order; keepdims changes only the shape).
func reduceRef(op string, shape []int, axes []int64, noop bool) func(in [][]float64) [][]float64 {
	return func(in [][]float64) [][]float64 {
		x := in[0]
		ks := slices.Clone(shape)
		for i := range ks {
			if len(axes) == 0 && !noop { // with noop: each element alone
				ks[i] = 1
			}
		}
		for _, a := range axes {
			if a < 0 {
				a += int64(len(shape))
			}
			ks[a] = 1
		}
		groups := make([][]float64, elements(ks))
		idx := make([]int, len(shape))
		for i, v := range x {
			indexOf(idx, i, shape)
			o := refOffset(idx, ks)
			groups[o] = append(groups[o], v)
		}
		y := make([]float64, len(groups))
		for o, vs := range groups {
			var s float64
			switch op {
			case "ReduceSum", "ReduceMean":
				for _, v := range vs {
					s += v
				}
				if op == "ReduceMean" {
					s /= float64(len(vs))
				}
			case "ReduceMax":
				s = slices.Max(vs)
			case "ReduceMin":
				s = slices.Min(vs)
			case "ReduceSumSquare", "ReduceL2":
				for _, v := range vs {
					s += v * v
				}
				if op == "ReduceL2" {
					s = math.Sqrt(s)
				}
			case "ReduceL1":
				for _, v := range vs {
					s += math.Abs(v)
				}
			case "ReduceLogSumExp":
				for _, v := range vs {
					s += math.Exp(v)
				}
				s = math.Log(s)
			}
			y[o] = s
		}
		return [][]float64{y}
	}
}

// layerNormRef is LayerNormalization in float64: Y, and Mean and
// InvStdDev after it.
func layerNormRef(shape, scale, bias []int, axis int, eps float64) func(in [][]float64) [][]float64 {
	a, _ := normAxis(axis, len(shape))
	n := elements(shape[a:])
	return func(in [][]float64) [][]float64 {
		x := in[0]
		rows := len(x) / n
		y, mean, inv := make([]float64, len(x)), make([]float64, rows), make([]float64, rows)
		idx := make([]int, len(shape))
		for r := 0; r < rows; r++ {
			var s, q float64
			for _, v := range x[r*n : (r+1)*n] {
				s += v
			}
			m := s / float64(n)
			for _, v := range x[r*n : (r+1)*n] {
				q += (v - m) * (v - m)
			}
			mean[r], inv[r] = m, 1/math.Sqrt(q/float64(n)+eps)
			for i := r * n; i < (r+1)*n; i++ {
				indexOf(idx, i, shape)
				y[i] = (x[i] - m) * inv[r] * in[1][refOffset(idx, scale)]
				if bias != nil {
					y[i] += in[2][refOffset(idx, bias)]
				}
			}
		}
		return [][]float64{y, mean, inv}
	}
}

// instanceNormRef is InstanceNormalization in float64.
func instanceNormRef(shape []int, eps float64) func(in [][]float64) [][]float64 {
	c, n := shape[1], elements(shape[2:])
	return func(in [][]float64) [][]float64 {
		x := in[0]
		y := make([]float64, len(x))
		for r := 0; r < len(x)/n; r++ {
			var s, q float64
			for _, v := range x[r*n : (r+1)*n] {
				s += v
			}
			m := s / float64(n)
			for _, v := range x[r*n : (r+1)*n] {
				q += (v - m) * (v - m)
			}
			iv := 1 / math.Sqrt(q/float64(n)+eps)
			for i := r * n; i < (r+1)*n; i++ {
				y[i] = (x[i]-m)*iv*in[1][r%c] + in[2][r%c]
			}
		}
		return [][]float64{y}
	}
}
