package graph

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// checkPlanMatches runs the plan of g at the input and the reference
// Forward and Backward, and fails unless every value the plan computes and
// every gradient it holds equals the reference's, bit for bit (the same
// kernels in the same order).
func checkPlanMatches(t *testing.T, g *Graph, x *Tensor, o PlanOptions) *Plan {
	t.Helper()
	p, err := g.Plan(map[string][]int{g.Inputs[0].Name: x.Shape}, o)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	seeds := map[string]*Tensor{}
	var seedList []*Tensor
	names := o.Seeds
	if names == nil {
		names = o.Outputs
	}
	if names == nil {
		names = g.Outputs
	}
	for _, name := range names {
		s := randTensor(r, p.Shape(name)...)
		seeds[name] = s
		seedList = append(seedList, s)
	}
	values, err := g.Forward(map[string]*Tensor{g.Inputs[0].Name: x})
	if err != nil {
		t.Fatal(err)
	}
	grads, err := g.Backward(values, seeds)
	if err != nil {
		t.Fatal(err)
	}
	for step := 0; step < 2; step++ { // the second step reuses every buffer
		if err := p.Forward(x); err != nil {
			t.Fatal(err)
		}
		p.Backward(seedList...)
		for name, k := range p.index {
			if v := p.values[k]; v != nil && v.Type == Float32 {
				if !slices.Equal(v.Shape, values[name].Shape) || !slices.Equal(v.Data, values[name].Data) {
					t.Fatalf("step %d: value %q: got %v %v, want %v %v", step, name, v.Shape, v.Data, values[name].Shape, values[name].Data)
				}
			}
			if gr := p.grads[k]; gr != nil && !slices.Equal(gr.Data, grads[name].Data) {
				t.Fatalf("step %d: gradient of %q: got %v, want %v", step, name, gr.Data, grads[name].Data)
			}
		}
	}
	return p
}

// TestPlanMatchesReference checks the planned Forward and Backward
// against the reference ones on the residual and layout graphs, and on a
// wide one whose activations are split over the worker pool.
func TestPlanMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(91, 92))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	t.Run("residual", func(t *testing.T) {
		g := residualGraph(r)
		p := checkPlanMatches(t, g, randTensor(r, 5, 4), PlanOptions{Grads: []string{"x", "enc.weight", "enc.bias", "dec.weight", "dec.bias"}})
		if p.Grad("x") == nil {
			t.Error("no gradient for x, which Grads names")
		}
	})
	t.Run("layout", func(t *testing.T) {
		g := layoutGraph()
		checkPlanMatches(t, g, randTensor(r, 4, 2, 3), PlanOptions{Grads: []string{"x"}})
	})
	t.Run("wide", func(t *testing.T) {
		g := wideGraph(r)
		p := checkPlanMatches(t, g, randTensor(r, 64, 1024), PlanOptions{})
		if p.Grad("x") != nil {
			t.Error("a gradient for x, which no one asked for")
		}
	})
}

// layoutGraph is TestLayoutGraph's graph.
func layoutGraph() *Graph {
	return &Graph{
		Inputs:  []Value{{Name: "x", Shape: []int{-1, 2, 3}}},
		Outputs: []string{"y"},
		Nodes: []*Node{
			{Name: "sm", Op: "Softmax", Inputs: []string{"i"}, Outputs: []string{"y"}},
			{Name: "id", Op: "Identity", Inputs: []string{"f"}, Outputs: []string{"i"}},
			{Name: "flat", Op: "Flatten", Inputs: []string{"c"}, Outputs: []string{"f"}, Attrs: map[string]Attribute{"axis": Int(-2)}},
			{Name: "cat", Op: "Concat", Inputs: []string{"t", "t", "x2"}, Outputs: []string{"c"}, Attrs: map[string]Attribute{"axis": Int(-1)}},
			{Name: "tr", Op: "Transpose", Inputs: []string{"x"}, Outputs: []string{"t"}, Attrs: map[string]Attribute{"perm": Ints(0, 2, 1)}},
			{Name: "tr2", Op: "Transpose", Inputs: []string{"x"}, Outputs: []string{"x2"}, Attrs: map[string]Attribute{"perm": Ints(0, 2, 1)}},
		},
	}
}

// wideGraph is an MLP autoencoder 1024-512-1024 whose activations (64×512
// and more elements) are large enough to be split into chunks.
func wideGraph(r *rand.Rand) *Graph {
	return &Graph{
		Inputs:  []Value{{Name: "x", Shape: []int{-1, 1024}}},
		Outputs: []string{"y"},
		Params: map[string]*Tensor{
			"enc.weight": scaled(randTensor(r, 512, 1024), 0.03), "enc.bias": randTensor(r, 512),
			"dec.weight": scaled(randTensor(r, 1024, 512), 0.04), "dec.bias": randTensor(r, 1024),
		},
		Nodes: []*Node{
			{Name: "enc", Op: "Gemm", Inputs: []string{"x", "enc.weight", "enc.bias"}, Outputs: []string{"z"}, Attrs: map[string]Attribute{"transB": Int(1)}},
			{Name: "act", Op: "Relu", Inputs: []string{"z"}, Outputs: []string{"h"}},
			{Name: "dec", Op: "Gemm", Inputs: []string{"h", "dec.weight", "dec.bias"}, Outputs: []string{"d"}, Attrs: map[string]Attribute{"transB": Int(1)}},
			{Name: "out", Op: "Sigmoid", Inputs: []string{"d"}, Outputs: []string{"y"}},
		},
		Marks: map[string]string{MarkCode: "h"},
	}
}

func scaled(t *Tensor, a float32) *Tensor {
	for i := range t.Data {
		t.Data[i] *= a
	}
	return t
}

// TestPlanAllocatesNothing checks that a step — Forward and Backward of a
// plan — allocates nothing once planned, with the activations split over
// the worker pool.
func TestPlanAllocatesNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(93, 94))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	g := wideGraph(r)
	x := randTensor(r, 64, 1024)
	p, err := g.Plan(map[string][]int{"x": x.Shape}, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dy := randTensor(r, 64, 1024)
	step := func() {
		if err := p.Forward(x); err != nil {
			t.Fatal(err)
		}
		p.Backward(dy)
	}
	step()
	if a := testing.AllocsPerRun(10, step); a != 0 {
		t.Errorf("a step allocates %v times, want 0", a)
	}
}

// TestPlanPrunes checks that a plan runs only what its outputs and
// gradients need: up to the code when the code is the output, and no
// gradient of the decoder's parameters or of x when only the encoder's
// weight is wanted.
func TestPlanPrunes(t *testing.T) {
	r := rand.New(rand.NewPCG(95, 96))
	g := wideGraph(r)
	x := randTensor(r, 3, 1024)
	p := checkPlanMatches(t, g, x, PlanOptions{Outputs: []string{"h"}, Grads: []string{"enc.weight"}})
	if p.Value("d") != nil || p.Value("y") != nil {
		t.Error("the plan of the code computes the decoder")
	}
	for _, name := range []string{"x", "enc.bias", "dec.weight"} {
		if p.Grad(name) != nil {
			t.Errorf("a gradient of %s, which no one asked for", name)
		}
	}
	if p.Grad("enc.weight") == nil {
		t.Error("no gradient of enc.weight")
	}
}

// TestPlanGradBuffers checks that Backward adds into the buffers it is
// given and never clears them, and clears its own.
func TestPlanGradBuffers(t *testing.T) {
	r := rand.New(rand.NewPCG(97, 98))
	g := residualGraph(r)
	x := randTensor(r, 5, 4)
	buf := NewTensor(3, 4)
	p, err := g.Plan(map[string][]int{"x": x.Shape}, PlanOptions{Grads: []string{"enc.weight", "dec.bias"}, GradBuffers: map[string]*Tensor{"enc.weight": buf}})
	if err != nil {
		t.Fatal(err)
	}
	dy := randTensor(r, 5, 4)
	if err := p.Forward(x); err != nil {
		t.Fatal(err)
	}
	p.Backward(dy)
	once, bias := slices.Clone(buf.Data), slices.Clone(p.Grad("dec.bias").Data)
	p.Backward(dy)
	for i := range once {
		if d := buf.Data[i] - 2*once[i]; !(d <= 1e-6*abs32(once[i]) && -d <= 1e-6*abs32(once[i])) {
			t.Fatalf("given buffer, element %d: got %v after two steps, want %v", i, buf.Data[i], 2*once[i])
		}
	}
	if !slices.Equal(p.Grad("dec.bias").Data, bias) {
		t.Errorf("the plan's own buffer: got %v after two steps, want %v (cleared each step)", p.Grad("dec.bias").Data, bias)
	}
}

// TestPlanErrors checks the errors of planning and of Forward.
func TestPlanErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(99, 100))
	g := residualGraph(r)
	g.Params["idx"] = NewInt64Tensor([]int64{1}, 1)
	tests := []struct {
		name string
		o    PlanOptions
		want string
	}{
		{"unknown output", PlanOptions{Outputs: []string{"nope"}}, `graph: tensor "nope": named in the plan's options, but not a tensor of the graph`},
		{"unknown grad", PlanOptions{Grads: []string{"nope"}}, `graph: tensor "nope": named in the plan's options, but not a tensor of the graph`},
		{"int64 grad", PlanOptions{Grads: []string{"idx"}}, `graph: tensor "idx": a gradient is asked for, but the tensor is int64`},
		{"buffer not wanted", PlanOptions{Grads: []string{"enc.bias"}, GradBuffers: map[string]*Tensor{"dec.bias": NewTensor(1, 4)}}, `graph: tensor "dec.bias": given a gradient buffer, but not in the plan's Grads`},
		{"buffer shape", PlanOptions{Grads: []string{"dec.bias"}, GradBuffers: map[string]*Tensor{"dec.bias": NewTensor(4)}}, `graph: tensor "dec.bias": gradient buffer of shape [4], want [1 4]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := g.Plan(map[string][]int{"x": {5, 4}}, tt.o)
			var ne *NodeError
			if err == nil || err.Error() != tt.want || !errors.As(err, &ne) {
				t.Errorf("got error %v, want %q", err, tt.want)
			}
		})
	}
	p, err := g.Plan(map[string][]int{"x": {5, 4}}, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Forward(randTensor(r, 6, 4)); err == nil || !strings.Contains(err.Error(), `tensor "x": input shape [6 4], planned for [5 4]`) {
		t.Errorf("Forward of another shape: got error %v", err)
	}
	if err := p.Forward(); err == nil {
		t.Error("Forward without inputs: no error")
	}
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// TestPlanFromTheMiddle plans the decoder of a graph, fed its code: the
// encoder does not run, and the output and the gradients of the code and
// the decoder's weights are the whole graph's.
func TestPlanFromTheMiddle(t *testing.T) {
	r := rand.New(rand.NewPCG(101, 102))
	g := wideGraph(r)
	x := randTensor(r, 3, 1024)
	values, err := g.Forward(map[string]*Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	dy := randTensor(r, 3, 1024)
	grads, err := g.Backward(values, map[string]*Tensor{"y": dy})
	if err != nil {
		t.Fatal(err)
	}
	p, err := g.Plan(map[string][]int{"x": x.Shape}, PlanOptions{Inputs: []string{"h"}, Grads: []string{"h", "dec.weight"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Forward(values["h"]); err != nil {
		t.Fatal(err)
	}
	if p.Value("z") != nil {
		t.Error("the encoder ran")
	}
	if !slices.Equal(p.Value("y").Data, values["y"].Data) {
		t.Error("y differs from the whole graph's")
	}
	p.Backward(dy)
	for _, name := range []string{"h", "dec.weight"} {
		if !slices.Equal(p.Grad(name).Data, grads[name].Data) {
			t.Errorf("the gradient of %s differs from the whole graph's", name)
		}
	}
	if p.Grad("enc.weight") != nil {
		t.Error("a gradient of the encoder's weight")
	}
	for _, o := range []PlanOptions{{Inputs: []string{"h", "h"}}, {Inputs: []string{"enc.weight"}}} {
		if _, err := g.Plan(map[string][]int{"x": x.Shape}, o); err == nil || !strings.Contains(err.Error(), "a plan input twice, or a parameter") {
			t.Errorf("inputs %v: got error %v", o.Inputs, err)
		}
	}
	if err := p.Forward(x); err == nil {
		t.Error("Forward of x where h is planned: no error")
	}
	// The residual graph's decoder reads x beside the code: a plan from
	// the code alone must say so.
	rg := residualGraph(r)
	if _, err := rg.Plan(map[string][]int{"x": {5, 4}}, PlanOptions{Inputs: []string{"h"}}); err == nil || !strings.Contains(err.Error(), `tensor "x": reads a graph input that the plan is not given`) {
		t.Errorf("a plan that needs an input it is not given: got error %v", err)
	}
}

// TestTrainable checks that the parameters feeding only fixed inputs —
// batch normalisation's running statistics, dropout's ratio, a shape —
// are not trainable, and that a plan computes no gradient for them.
func TestTrainable(t *testing.T) {
	r := rand.New(rand.NewPCG(103, 104))
	g := &Graph{
		Inputs:  []Value{{Name: "x", Shape: []int{-1, 4}}},
		Outputs: []string{"y"},
		Params: map[string]*Tensor{
			"fc.weight": randTensor(r, 3, 4), "fc.bias": randTensor(r, 3),
			"bn.weight": randTensor(r, 3), "bn.bias": randTensor(r, 3), "bn.mean": randTensor(r, 3), "bn.var": scaled(NewTensor(3), 0),
			"ratio": {Shape: []int{}, Data: []float32{0.25}}, "shape": NewInt64Tensor([]int64{-1, 3, 1}, 3),
		},
		Nodes: []*Node{
			{Name: "fc", Op: "Gemm", Inputs: []string{"x", "fc.weight", "fc.bias"}, Outputs: []string{"h"}, Attrs: map[string]Attribute{"transB": Int(1)}},
			{Name: "bn", Op: "BatchNormalization", Inputs: []string{"h", "bn.weight", "bn.bias", "bn.mean", "bn.var"}, Outputs: []string{"b"}},
			{Name: "drop", Op: "Dropout", Inputs: []string{"b", "ratio"}, Outputs: []string{"d"}},
			{Name: "rs", Op: "Reshape", Inputs: []string{"d", "shape"}, Outputs: []string{"y"}},
		},
	}
	for i := range g.Params["bn.var"].Data {
		g.Params["bn.var"].Data[i] = 1
	}
	if got, want := g.Trainable(), []string{"bn.bias", "bn.weight", "fc.bias", "fc.weight"}; !slices.Equal(got, want) {
		t.Errorf("Trainable: got %v, want %v", got, want)
	}
	p, err := g.Plan(map[string][]int{"x": {5, 4}}, PlanOptions{Grads: []string{"fc.weight", "bn.mean", "ratio"}, Training: true, Rand: rand.New(rand.NewPCG(1, 1))})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Forward(randTensor(r, 5, 4)); err != nil {
		t.Fatal(err)
	}
	p.Backward(randTensor(r, 5, 3, 1))
	for _, name := range []string{"bn.mean", "ratio"} {
		if gr := p.Grad(name); gr != nil && slices.ContainsFunc(gr.Data, func(v float32) bool { return v != 0 }) {
			t.Errorf("a gradient of %s, a fixed input: %v", name, gr.Data)
		}
	}
	if gr := p.Grad("fc.weight"); gr == nil || !slices.ContainsFunc(gr.Data, func(v float32) bool { return v != 0 }) {
		t.Error("no gradient of fc.weight")
	}
}

// TestCutCarrying cuts a U-Net-like graph, whose decoder reads an encoder
// tensor beside the code: the skip is carried out of the encoder and into
// the decoder, and decoder(encoder(x)) is the graph's output bit for bit;
// Cut refuses the same cut.
func TestCutCarrying(t *testing.T) {
	r := rand.New(rand.NewPCG(105, 106))
	tb := map[string]Attribute{"transB": Int(1)}
	g := &Graph{
		Inputs:  []Value{{Name: "x", Shape: []int{-1, 6}}},
		Outputs: []string{"y"},
		Params: map[string]*Tensor{"e.weight": randTensor(r, 4, 6), "e.bias": randTensor(r, 4),
			"c.weight": randTensor(r, 2, 4), "c.bias": randTensor(r, 2),
			"d.weight": randTensor(r, 6, 6), "d.bias": randTensor(r, 6)},
		Nodes: []*Node{
			{Name: "e", Op: "Gemm", Inputs: []string{"x", "e.weight", "e.bias"}, Outputs: []string{"h"}, Attrs: tb},
			{Name: "c", Op: "Gemm", Inputs: []string{"h", "c.weight", "c.bias"}, Outputs: []string{"z"}, Attrs: tb},
			{Name: "skip", Op: "Concat", Inputs: []string{"z", "h"}, Outputs: []string{"zh"}, Attrs: map[string]Attribute{"axis": Int(1)}},
			{Name: "d", Op: "Gemm", Inputs: []string{"zh", "d.weight", "d.bias"}, Outputs: []string{"y"}, Attrs: tb},
		},
	}
	if _, _, err := g.Cut("z"); err == nil {
		t.Fatal("Cut across a skip: no error")
	}
	enc, dec, carried, err := g.CutCarrying("z")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(carried, []string{"h"}) || !slices.Equal(enc.Outputs, []string{"z", "h"}) || len(dec.Inputs) != 2 || dec.Inputs[1].Name != "h" {
		t.Fatalf("carried %v, encoder outputs %v, decoder inputs %v", carried, enc.Outputs, dec.Inputs)
	}
	x := randTensor(r, 3, 6)
	whole, err := g.Forward(map[string]*Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := enc.Forward(map[string]*Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	dv, err := dec.Forward(map[string]*Tensor{"z": ev["z"], "h": ev["h"]})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dv["y"].Data, whole["y"].Data) {
		t.Error("decoder(encoder(x)) differs from the graph's output")
	}
}
