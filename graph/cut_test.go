package graph

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// dense returns the nodes of y = act(x·Wᵀ + b) under the layer's name,
// with its parameters (in×out) added to params; act "" is none, and the
// Gemm's output is layer+".z".
func dense(r *rand.Rand, params map[string]*Tensor, layer, x, y string, in, out int, act string) []*Node {
	w, b := layer+".weight", layer+".bias"
	params[w], params[b] = randTensor(r, out, in), randTensor(r, out)
	z := y
	if act != "" {
		z = layer + ".z"
	}
	nodes := []*Node{{Name: layer, Op: "Gemm", Inputs: []string{x, w, b}, Outputs: []string{z}, Attrs: map[string]Attribute{"transB": Int(1)}}}
	if act != "" {
		nodes = append(nodes, &Node{Name: layer + ".act", Op: act, Inputs: []string{z}, Outputs: []string{y}})
	}
	return nodes
}

// cutGraphs are the graphs of the Cut and Bottleneck tests.
func cutGraphs(r *rand.Rand) map[string]*Graph {
	gs := map[string]*Graph{}
	mk := func(name string, inputs []Value, outputs []string, marks map[string]string, layers ...[]*Node) *Graph {
		g := &Graph{Inputs: inputs, Outputs: outputs, Params: map[string]*Tensor{}, Marks: marks}
		for _, l := range layers {
			g.Nodes = append(g.Nodes, l...)
		}
		gs[name] = g
		return g
	}
	x := func(n int) []Value { return []Value{{Name: "x", Shape: []int{-1, n}}} }
	// chain: x(8) → 6 → code(3) → 6 → y(8).
	p := map[string]*Tensor{}
	mk("chain", x(8), []string{"y"}, nil,
		dense(r, p, "e0", "x", "h", 8, 6, "Relu"), dense(r, p, "e1", "h", "code", 6, 3, "Tanh"),
		dense(r, p, "d0", "code", "g", 3, 6, "Relu"), dense(r, p, "d1", "g", "y", 6, 8, "Sigmoid")).Params = p
	// residual: a skip within the encoder, s = r + f(r).
	p = map[string]*Tensor{}
	mk("residual", x(6), []string{"y"}, nil,
		dense(r, p, "e0", "x", "r", 6, 4, "Relu"), dense(r, p, "e1", "r", "f", 4, 4, "Tanh"),
		[]*Node{{Name: "skip", Op: "Add", Inputs: []string{"r", "f"}, Outputs: []string{"s"}}},
		dense(r, p, "e2", "s", "code", 4, 2, ""), dense(r, p, "d0", "code", "y", 2, 6, "Sigmoid")).Params = p
	// unet: the decoder concatenates the encoder's e1 to its own d1.
	p = map[string]*Tensor{}
	mk("unet", x(6), []string{"y"}, map[string]string{MarkCode: "code"},
		dense(r, p, "e0", "x", "e1", 6, 4, "Relu"), dense(r, p, "e1", "e1", "code", 4, 2, ""),
		dense(r, p, "d0", "code", "d1", 2, 4, "Relu"),
		[]*Node{{Name: "cat", Op: "Concat", Inputs: []string{"d1", "e1"}, Outputs: []string{"cat"}, Attrs: map[string]Attribute{"axis": Int(1)}}},
		dense(r, p, "d1", "cat", "y", 8, 6, "")).Params = p
	// conditional: both halves read the label c.
	p = map[string]*Tensor{}
	mk("conditional", []Value{{Name: "x", Shape: []int{-1, 5}}, {Name: "c", Shape: []int{-1, 2}}}, []string{"y"}, nil,
		[]*Node{{Name: "cond.in", Op: "Concat", Inputs: []string{"x", "c"}, Outputs: []string{"xc"}, Attrs: map[string]Attribute{"axis": Int(1)}}},
		dense(r, p, "e0", "xc", "code", 7, 3, "Tanh"),
		[]*Node{{Name: "cond.out", Op: "Concat", Inputs: []string{"code", "c"}, Outputs: []string{"zc"}, Attrs: map[string]Attribute{"axis": Int(1)}}},
		dense(r, p, "d0", "zc", "y", 5, 5, "Sigmoid")).Params = p
	// vae: μ and log σ² heads on h, the decoder on μ; an unused node too.
	p = map[string]*Tensor{}
	mk("vae", x(6), []string{"y"}, map[string]string{MarkMu: "mu", MarkLogVar: "logvar"},
		dense(r, p, "e0", "x", "h", 6, 4, "Relu"), dense(r, p, "mu", "h", "mu", 4, 2, ""), dense(r, p, "logvar", "h", "logvar", 4, 2, ""),
		dense(r, p, "d0", "mu", "y", 2, 6, "Sigmoid"),
		[]*Node{{Name: "dead", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"unused"}}}).Params = p
	return gs
}

// TestCut cuts graphs and checks each half's inputs, outputs, nodes,
// parameters and marks, and that the decoder after the encoder computes
// what the whole graph does.
func TestCut(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	gs := cutGraphs(r)
	tests := []struct {
		graph, tensor      string
		encIn, encOut      []string
		encNodes, encMarks int
		decIn              []Value
		decNodes, decMarks int
		decParams          []string
	}{
		{"chain", "code", []string{"x"}, []string{"code"}, 4, 0, []Value{{Name: "code", Shape: []int{-1, 3}}}, 4, 0,
			[]string{"d0.bias", "d0.weight", "d1.bias", "d1.weight"}},
		{"chain", "e1.z", []string{"x"}, []string{"e1.z"}, 3, 0, []Value{{Name: "e1.z", Shape: []int{-1, 3}}}, 5, 0,
			[]string{"d0.bias", "d0.weight", "d1.bias", "d1.weight"}},
		{"residual", "code", []string{"x"}, []string{"code"}, 6, 0, []Value{{Name: "code", Shape: []int{-1, 2}}}, 2, 0,
			[]string{"d0.bias", "d0.weight"}},
		{"residual", "s", []string{"x"}, []string{"s"}, 5, 0, []Value{{Name: "s", Shape: []int{-1, 4}}}, 3, 0,
			[]string{"d0.bias", "d0.weight", "e2.bias", "e2.weight"}},
		{"conditional", "code", []string{"x", "c"}, []string{"code"}, 3, 0,
			[]Value{{Name: "code", Shape: []int{-1, 3}}, {Name: "c", Shape: []int{-1, 2}}}, 3, 0, []string{"d0.bias", "d0.weight"}},
		{"vae", "mu", []string{"x"}, []string{"mu", "logvar"}, 4, 2, []Value{{Name: "mu", Shape: []int{-1, 2}}}, 2, 1,
			[]string{"d0.bias", "d0.weight"}},
	}
	for _, tt := range tests {
		t.Run(tt.graph+"/"+tt.tensor, func(t *testing.T) {
			g := gs[tt.graph]
			enc, dec, err := g.Cut(tt.tensor)
			if err != nil {
				t.Fatal(err)
			}
			var encIn []string
			for _, v := range enc.Inputs {
				encIn = append(encIn, v.Name)
			}
			if !slices.Equal(encIn, tt.encIn) || !slices.Equal(enc.Outputs, tt.encOut) || len(enc.Nodes) != tt.encNodes || len(enc.Marks) != tt.encMarks {
				t.Errorf("encoder: got inputs %v, outputs %v, %d nodes, marks %v; want %v, %v, %d nodes, %d marks",
					encIn, enc.Outputs, len(enc.Nodes), enc.Marks, tt.encIn, tt.encOut, tt.encNodes, tt.encMarks)
			}
			if !slices.EqualFunc(dec.Inputs, tt.decIn, func(a, b Value) bool { return a.Name == b.Name && slices.Equal(a.Shape, b.Shape) && a.Type == b.Type }) ||
				!slices.Equal(dec.Outputs, g.Outputs) || len(dec.Nodes) != tt.decNodes || len(dec.Marks) != tt.decMarks {
				t.Errorf("decoder: got inputs %v, outputs %v, %d nodes, marks %v; want %v, %v, %d nodes, %d marks",
					dec.Inputs, dec.Outputs, len(dec.Nodes), dec.Marks, tt.decIn, g.Outputs, tt.decNodes, tt.decMarks)
			}
			if got := sortedKeys(dec.Params); !slices.Equal(got, tt.decParams) {
				t.Errorf("decoder parameters: got %v, want %v", got, tt.decParams)
			}
			for name := range enc.Params {
				if _, ok := dec.Params[name]; ok {
					t.Errorf("parameter %q in both halves", name)
				}
			}
			feeds := map[string]*Tensor{}
			for _, v := range g.Inputs {
				feeds[v.Name] = randTensor(r, 5, v.Shape[1])
			}
			want, err := g.Forward(feeds)
			if err != nil {
				t.Fatal(err)
			}
			code, err := enc.Forward(feeds)
			if err != nil {
				t.Fatal(err)
			}
			decFeeds := map[string]*Tensor{}
			for _, v := range dec.Inputs {
				decFeeds[v.Name] = code[v.Name]
			}
			got, err := dec.Forward(decFeeds)
			if err != nil {
				t.Fatal(err)
			}
			for _, out := range g.Outputs {
				checkClose(t, out, got[out].Data, want[out].Data, 0, 0)
			}
			for _, out := range enc.Outputs {
				checkClose(t, out, code[out].Data, want[out].Data, 0, 0)
			}
		})
	}
}

// TestCutErrors checks the *NodeError of each cut that cannot be made.
func TestCutErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(73, 74))
	gs := cutGraphs(r)
	dead := gs["vae"]
	tests := []struct {
		graph   *Graph
		tensor  string
		wantErr string
	}{
		{gs["unet"], "code", `graph: node "cat" (Concat): tensor "e1": cut at "code": computed before the cut and read after it, a skip connection across the cut`},
		{gs["residual"], "f", `graph: node "skip" (Add): tensor "r": cut at "f": computed before the cut and read after it, a skip connection across the cut`},
		{gs["vae"], "logvar", `graph: node "mu" (Gemm): tensor "h": cut at "logvar": computed before the cut and read after it, a skip connection across the cut`},
		{gs["chain"], "nothing", `graph: tensor "nothing": cut: no such tensor`},
		{gs["chain"], "", `graph: cut: no tensor named ""`},
		{gs["chain"], "x", `graph: tensor "x": cut: a graph input, not a tensor a node computes`},
		{gs["chain"], "e0.weight", `graph: tensor "e0.weight": cut: a parameter, not a tensor a node computes`},
		{gs["chain"], "y", `graph: tensor "y": cut: every graph output is computed before it`},
		{dead, "unused", `graph: tensor "unused": cut: no graph output is computed from it`},
	}
	for _, tt := range tests {
		t.Run(tt.tensor, func(t *testing.T) {
			_, _, err := tt.graph.Cut(tt.tensor)
			var ne *NodeError
			if err == nil || err.Error() != tt.wantErr || !errors.As(err, &ne) {
				t.Errorf("got %v, want %s", err, tt.wantErr)
			}
		})
	}
}

// TestCutKeepsFoldedConstants cuts a graph whose encoder and decoder read
// one int64 tensor computed before the graph runs: the decoder gets it as
// a parameter (an op of this test's own stands for Constant, which this
// package may not run yet).
func TestCutKeepsFoldedConstants(t *testing.T) {
	operators["cutTestConst"] = operator{outputs: [2]int{1, 1},
		infer:   func(n *Node, in []arg) ([]arg, error) { return []arg{{shape: []int{2}, typ: Int64}}, nil },
		forward: func(s *state, n *Node, out, in []*Tensor) { *out[0] = *NewInt64Tensor([]int64{4, 2}, 2) }}
	operators["cutTestUse"] = operator{inputs: [2]int{2, 2}, outputs: [2]int{1, 1},
		infer: func(n *Node, in []arg) ([]arg, error) { return []arg{{shape: in[0].shape}}, nil },
		forward: func(s *state, n *Node, out, in []*Tensor) {
			out[0].Resize(in[0].Shape...)
			copy(out[0].Data, in[0].Data)
		}}
	defer delete(operators, "cutTestConst")
	defer delete(operators, "cutTestUse")
	g := &Graph{
		Inputs: []Value{{Name: "x", Shape: []int{-1, 3}}}, Outputs: []string{"y"},
		Nodes: []*Node{
			{Name: "shape", Op: "cutTestConst", Outputs: []string{"s"}},
			{Name: "enc", Op: "cutTestUse", Inputs: []string{"x", "s"}, Outputs: []string{"code"}},
			{Name: "dec", Op: "cutTestUse", Inputs: []string{"code", "s"}, Outputs: []string{"y"}},
		},
	}
	got, err := g.Bottleneck()
	if err != nil || got != "code" {
		t.Errorf("Bottleneck: got %q, %v, want code", got, err)
	}
	enc, dec, err := g.Cut("code")
	if err != nil {
		t.Fatal(err)
	}
	if len(enc.Nodes) != 2 || len(dec.Nodes) != 1 || dec.Params["s"] == nil || !slices.Equal(dec.Params["s"].Int64, []int64{4, 2}) {
		t.Errorf("got encoder %d nodes, decoder %d nodes and parameters %v; want 2, 1 and s = [4 2]", len(enc.Nodes), len(dec.Nodes), dec.Params)
	}
}

// TestBottleneck checks the tensor Bottleneck finds: a mark, else the
// narrowest tensor every path passes through.
func TestBottleneck(t *testing.T) {
	r := rand.New(rand.NewPCG(75, 76))
	gs := cutGraphs(r)
	marked := cutGraphs(r)["chain"]
	marked.Marks = map[string]string{MarkCode: "code"}
	unmarked := cutGraphs(r)["unet"]
	unmarked.Marks = nil
	whole := &Graph{Inputs: []Value{{Name: "x", Shape: []int{-1, 2}}}, Outputs: []string{"y"}, Nodes: []*Node{
		{Name: "a", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"a"}},
		{Name: "b", Op: "Tanh", Inputs: []string{"a"}, Outputs: []string{"b"}},
		{Name: "skip", Op: "Add", Inputs: []string{"x", "b"}, Outputs: []string{"y"}},
	}}
	tests := []struct {
		name    string
		g       *Graph
		want    string
		wantErr string
	}{
		{name: "chain, the first of the two narrowest", g: gs["chain"], want: "e1.z"},
		{name: "chain, marked", g: marked, want: "code"},
		{name: "residual", g: gs["residual"], want: "code"},
		{name: "vae", g: gs["vae"], want: "mu"},
		{name: "unet, marked", g: gs["unet"], want: "code"},
		// The skip passes by the code: the narrowest tensor on every path
		// is the encoder's first layer.
		{name: "unet", g: unmarked, want: "e0.z"},
		// The label joins the code: only the concatenation is on every
		// path.
		{name: "conditional", g: gs["conditional"], want: "zc"},
		{name: "skip over everything", g: whole, wantErr: "graph: bottleneck: no tensor that every path from the inputs to the outputs passes through (mark the code, or name the tensor to cut at)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.g.Bottleneck()
			if tt.wantErr != "" {
				var ne *NodeError
				if err == nil || err.Error() != tt.wantErr || !errors.As(err, &ne) {
					t.Errorf("got %q, %v, want error %s", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

// TestDescribe checks the symbolic shapes Describe gives: the batch where
// a dimension follows it, DynamicDim where it is a multiple of it.
func TestDescribe(t *testing.T) {
	g := &Graph{
		Inputs:  []Value{{Name: "x", Shape: []int{-1, 3, 4}}},
		Outputs: []string{"a", "b"},
		Params:  map[string]*Tensor{"w": NewTensor(4, 2)},
		Nodes: []*Node{
			{Name: "all", Op: "Flatten", Inputs: []string{"x"}, Outputs: []string{"a"}, Attrs: map[string]Attribute{"axis": Int(0)}},
			{Name: "rows", Op: "Flatten", Inputs: []string{"x"}, Outputs: []string{"f"}, Attrs: map[string]Attribute{"axis": Int(2)}},
			{Name: "mm", Op: "MatMul", Inputs: []string{"f", "w"}, Outputs: []string{"b"}},
		},
	}
	infos, err := g.Describe()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]int{"x": {BatchDim, 3, 4}, "a": {1, DynamicDim}, "f": {DynamicDim, 4}, "b": {DynamicDim, 2}, "w": {4, 2}}
	for name, s := range want {
		if got := infos[name].Shape; !slices.Equal(got, s) {
			t.Errorf("%s: got %v, want %v", name, got, s)
		}
	}
	if infos["w"].Value != g.Params["w"] || infos["b"].Value != nil {
		t.Errorf("values: got w %p, b %v; want the parameter and nil", infos["w"].Value, infos["b"].Value)
	}
}

// TestBottleneckIgnoresShapePaths finds the code of a graph whose decoder
// reads the input's shape: a path through an int64 tensor is no path that
// bypasses the code. The decoder of the cut there reads the input too, as
// a conditional decoder reads its label (an op of this test's own stands
// for Shape).
func TestBottleneckIgnoresShapePaths(t *testing.T) {
	operators["cutTestShape"] = operator{inputs: [2]int{1, 1}, outputs: [2]int{1, 1},
		infer: func(n *Node, in []arg) ([]arg, error) {
			return []arg{{shape: []int{len(in[0].shape)}, typ: Int64}}, nil
		}}
	operators["cutTestUse"] = operator{inputs: [2]int{2, 2}, outputs: [2]int{1, 1},
		infer: func(n *Node, in []arg) ([]arg, error) { return []arg{{shape: in[0].shape}}, nil }}
	defer delete(operators, "cutTestShape")
	defer delete(operators, "cutTestUse")
	g := &Graph{
		Inputs: []Value{{Name: "x", Shape: []int{-1, 3}}}, Outputs: []string{"y"},
		Nodes: []*Node{
			{Name: "shape", Op: "cutTestShape", Inputs: []string{"x"}, Outputs: []string{"s"}},
			{Name: "enc", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"code"}},
			{Name: "dec", Op: "cutTestUse", Inputs: []string{"code", "s"}, Outputs: []string{"y"}},
		},
	}
	got, err := g.Bottleneck()
	if err != nil || got != "code" {
		t.Errorf("Bottleneck: got %q, %v, want code", got, err)
	}
	_, dec, err := g.Cut("code")
	if err != nil || len(dec.Inputs) != 2 || dec.Inputs[1].Name != "x" || len(dec.Nodes) != 2 {
		t.Errorf("Cut: got decoder %+v, %v, want inputs code and x, nodes shape and dec", dec, err)
	}
}
