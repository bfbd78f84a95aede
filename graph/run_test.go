package graph

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// residualGraph is an autoencoder with a skip that is no chain: x → Gemm →
// Tanh (the code h) → Gemm → Add x → Mul by the gate Sigmoid(x) → y; x
// feeds three nodes.
func residualGraph(r *rand.Rand) *Graph {
	return &Graph{
		Inputs:  []Value{{Name: "x", Shape: []int{-1, 4}}},
		Outputs: []string{"y"},
		Params: map[string]*Tensor{
			"enc.weight": randTensor(r, 3, 4), "enc.bias": randTensor(r, 3),
			"dec.weight": randTensor(r, 4, 3), "dec.bias": randTensor(r, 1, 4),
		},
		Nodes: []*Node{
			{Name: "gate", Op: "Sigmoid", Inputs: []string{"x"}, Outputs: []string{"g"}},
			{Name: "mul", Op: "Mul", Inputs: []string{"s", "g"}, Outputs: []string{"y"}},
			{Name: "enc", Op: "Gemm", Inputs: []string{"x", "enc.weight", "enc.bias"}, Outputs: []string{"z"}, Attrs: map[string]Attribute{"transB": Int(1)}},
			{Name: "act", Op: "Tanh", Inputs: []string{"z"}, Outputs: []string{"h"}},
			{Name: "dec", Op: "Gemm", Inputs: []string{"h", "dec.weight", "dec.bias"}, Outputs: []string{"d"}, Attrs: map[string]Attribute{"transB": Int(1), "alpha": Float(0.5)}},
			{Name: "skip", Op: "Add", Inputs: []string{"x", "d"}, Outputs: []string{"s"}},
		},
		Marks: map[string]string{MarkCode: "h"},
	}
}

// forward64 evaluates residualGraph in float64 by the reference loops.
func forward64(g *Graph, x []float64, batch int, p map[string][]float64) []float64 {
	gemm := func(a, w, b []float64, m, k, n int, alpha float64, bs []int) []float64 {
		return gemmRef(a, w, b, bs, m, k, n, alpha, 1, false, true)
	}
	z := gemm(x, p["enc.weight"], p["enc.bias"], batch, 4, 3, 1, []int{3})
	h := make([]float64, len(z))
	for i, v := range z {
		h[i] = math.Tanh(v)
	}
	d := gemm(h, p["dec.weight"], p["dec.bias"], batch, 3, 4, 0.5, []int{1, 4})
	y := make([]float64, len(d))
	for i := range y {
		y[i] = (x[i] + d[i]) * sigmoid64(x[i])
	}
	return y
}

// TestGraphForwardBackward runs residualGraph forward against the float64
// reference, and backward — x's gradient summed over its three uses —
// against float64 finite differences.
func TestGraphForwardBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	g := residualGraph(r)
	x := randTensor(r, 5, 4)
	shapes, err := g.Shapes(map[string][]int{"x": x.Shape})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := shapes[g.Marks[MarkCode]], []int{5, 3}; !slices.Equal(got, want) {
		t.Errorf("code shape: got %v, want %v", got, want)
	}
	values, err := g.Forward(map[string]*Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"enc.weight", "enc.bias", "dec.weight", "dec.bias"}
	p := map[string][]float64{}
	for _, name := range names {
		p[name] = to64(g.Params[name].Data)
	}
	want := forward64(g, to64(x.Data), 5, p)
	got := values["y"]
	if !slices.Equal(got.Shape, []int{5, 4}) {
		t.Fatalf("y's shape: got %v, want [5 4]", got.Shape)
	}
	for i := range want {
		if d := math.Abs(float64(got.Data[i]) - want[i]); d > 1e-5 {
			t.Fatalf("y[%d]: got %v, want %v", i, got.Data[i], want[i])
		}
	}

	dy := randTensor(r, 5, 4)
	grads, err := g.Backward(values, map[string]*Tensor{"y": dy})
	if err != nil {
		t.Fatal(err)
	}
	in := [][]float64{to64(x.Data)}
	gs := []*Tensor{grads["x"]}
	for _, name := range names {
		in = append(in, p[name])
		gs = append(gs, grads[name])
	}
	f := func(in [][]float64) []float64 {
		q := map[string][]float64{}
		for k, name := range names {
			q[name] = in[k+1]
		}
		return forward64(g, in[0], 5, q)
	}
	checkGradients(t, f, in, to64(dy.Data), gs)
}

func TestShapesErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(63, 64))
	tests := []struct {
		name    string
		edit    func(g *Graph)
		x       []int
		wantErr string
	}{
		{"input shape", func(g *Graph) {}, []int{5, 3}, `graph: tensor "x": input shape [5 3], want [-1 4]`},
		{"unsupported op", func(g *Graph) { g.Nodes[3].Op = "Celu" }, []int{5, 4}, `graph: node "act" (Celu): op type not supported`},
		{"inputs", func(g *Graph) { g.Nodes[0].Inputs = []string{"x", "h"} }, []int{5, 4}, `graph: node "gate" (Sigmoid): 2 inputs and 1 outputs, want 1 inputs and 1 outputs`},
		{"required input left out", func(g *Graph) { g.Nodes[4].Inputs = []string{"h", "", "dec.bias"} }, []int{5, 4}, `graph: node "dec" (Gemm): input 1 is required, but left out (named "")`},
		{"attribute type", func(g *Graph) { g.Nodes[2].Attrs["transB"] = Float(1) }, []int{5, 4}, `graph: node "enc" (Gemm): attribute transB: type float, want int`},
		{"unknown attribute", func(g *Graph) { g.Nodes[2].Attrs["transC"] = Int(1) }, []int{5, 4}, `graph: node "enc" (Gemm): attribute transC: not an attribute of Gemm that this package runs`},
		{"int64 input", func(g *Graph) { g.Params["dec.bias"] = NewInt64Tensor([]int64{1, 2, 3, 4}, 4) }, []int{5, 4}, `graph: node "dec" (Gemm): tensor "d": input 2 ("dec.bias") is int64, want float32`},
		{"shapes", func(g *Graph) { g.Params["dec.bias"] = NewTensor(3) }, []int{5, 4}, `graph: node "dec" (Gemm): tensor "d": input shapes [[5 3] [4 3] [3]] do not fit`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := residualGraph(r)
			tt.edit(g)
			_, err := g.Shapes(map[string][]int{"x": tt.x})
			var ne *NodeError
			if err == nil || err.Error() != tt.wantErr || !errors.As(err, &ne) {
				t.Errorf("got error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestLayoutGraph runs Transpose, Concat (of one tensor with itself, so
// that its gradient sums two uses), Flatten, Identity and Softmax (at its
// default axis, −1) through the op table: Forward against the references composed, Backward against finite
// differences of them.
func TestLayoutGraph(t *testing.T) {
	r := rand.New(rand.NewPCG(65, 66))
	g := &Graph{
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
	x := randTensor(r, 4, 2, 3)
	ref := func(x []float64) []float64 {
		tr, s := transposeRef(x, []int{4, 2, 3}, []int{0, 2, 1})
		c, _ := concatRef([][]float64{tr, tr, tr}, [][]int{s, s, s}, -1)
		return softmaxRef(c, []int{4, 18}, 1)
	}
	values, err := g.Forward(map[string]*Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	y := values["y"]
	if want := []int{4, 18}; !slices.Equal(y.Shape, want) {
		t.Fatalf("shape: got %v, want %v", y.Shape, want)
	}
	want := ref(to64(x.Data))
	for i, v := range y.Data {
		if d := math.Abs(float64(v) - want[i]); d > 1e-6*want[i] {
			t.Fatalf("element %d: got %v, want %v", i, v, want[i])
		}
	}
	dy := randTensor(r, y.Shape...)
	grads, err := g.Backward(values, map[string]*Tensor{"y": dy})
	if err != nil {
		t.Fatal(err)
	}
	f := func(in [][]float64) []float64 { return ref(in[0]) }
	checkGradients(t, f, [][]float64{to64(x.Data)}, to64(dy.Data), []*Tensor{grads["x"]})
}
