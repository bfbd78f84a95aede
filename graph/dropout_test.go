package graph

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDropoutTraining runs Dropout as the graph trains it: each element
// is dropped where the state's generator, drawn in row-major order, gives
// a value below ratio, the others are scaled by 1/(1 − ratio), the mask
// output says which, and Backward scales the gradient the same way.
func TestDropoutTraining(t *testing.T) {
	r := rand.New(rand.NewPCG(91, 92))
	const p = 0.3
	x := randTensor(r, 50, 40)
	n := &Node{Op: "Dropout", Inputs: []string{"x", "ratio"}, Outputs: []string{"y", "mask"}}
	ratio := &Tensor{Shape: []int{}, Data: []float32{p}}
	s := &state{training: true, rng: rand.New(rand.NewPCG(5, 6))}
	y, mask := new(Tensor), new(Tensor)
	op := operators["Dropout"]
	op.forward(s, n, []*Tensor{y, mask}, []*Tensor{x, ratio})
	replay := rand.New(rand.NewPCG(5, 6))
	keep := float32(1 / (1 - float64(float32(p))))
	dropped := 0
	for i, v := range x.Data {
		want, wm := v*keep, int64(1)
		if replay.Float64() < float64(float32(p)) {
			want, wm = 0, 0
			dropped++
		}
		if y.Data[i] != want || mask.Int64[i] != wm {
			t.Fatalf("element %d: got %v (mask %d), want %v (mask %d)", i, y.Data[i], mask.Int64[i], want, wm)
		}
	}
	if f := float64(dropped) / float64(x.Len()); !(math.Abs(f-p) <= 0.03) {
		t.Errorf("dropped %v of the elements, want about %v", f, p)
	}
	dy := randTensor(r, x.Shape...)
	dxs, start := filled(r, x.Shape)
	op.backward(s, n, []*Tensor{dxs[0], nil}, []*Tensor{dy, nil}, []*Tensor{y, mask}, []*Tensor{x, ratio})
	added(dxs, start)
	for i, g := range dy.Data {
		want := g * keep
		if mask.Int64[i] == 0 {
			want = 0
		}
		if d := math.Abs(float64(dxs[0].Data[i] - want)); !(d <= 1e-6) {
			t.Fatalf("dx[%d]: got %v, want %v", i, dxs[0].Data[i], want)
		}
	}
	var applied Tensor
	DropoutApply(&applied, dy, &s.scratch.(*dropoutState).scale)
	for i := range applied.Data {
		if d := math.Abs(float64(applied.Data[i] - dxs[0].Data[i])); !(d <= 1e-6) {
			t.Fatalf("DropoutApply: element %d: got %v, want %v", i, applied.Data[i], dxs[0].Data[i])
		}
	}
	out, in, din, dout := []*Tensor{y, mask}, []*Tensor{x, ratio}, []*Tensor{dxs[0], nil}, []*Tensor{dy, nil}
	step := func() {
		op.forward(s, n, out, in)
		op.backward(s, n, din, dout, out, in)
	}
	if a := testing.AllocsPerRun(10, step); a != 0 {
		t.Errorf("a training step: got %v allocations, want 0", a)
	}
}

// TestDropoutInference runs the reference Forward and Backward: the
// identity, the mask all 1, with the ratio default (0.5) and given.
func TestDropoutInference(t *testing.T) {
	r := rand.New(rand.NewPCG(93, 94))
	x := randTensor(r, 3, 4)
	g := &Graph{Inputs: []Value{{Name: "x", Shape: []int{3, 4}}}, Outputs: []string{"y", "mask"},
		Params: map[string]*Tensor{"ratio": {Shape: []int{}, Data: []float32{0.25}}, "off": NewInt64Tensor([]int64{0})},
		Nodes:  []*Node{{Name: "d", Op: "Dropout", Inputs: []string{"x", "ratio", "off"}, Outputs: []string{"y", "mask"}}}}
	values, err := g.Forward(map[string]*Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(values["y"].Data, x.Data) || !slices.Equal(values["mask"].Int64, slices.Repeat([]int64{1}, 12)) {
		t.Errorf("got %v, mask %v, want x and all 1", values["y"].Data, values["mask"].Int64)
	}
	dy := randTensor(r, 3, 4)
	grads, err := g.Backward(values, map[string]*Tensor{"y": dy})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(grads["x"].Data, dy.Data) {
		t.Errorf("dx: got %v, want dy", grads["x"].Data)
	}
	y, err := runOne("Dropout", nil, nil, x)
	if err != nil || !slices.Equal(y.Data, x.Data) {
		t.Errorf("default ratio: got %v, %v, want x", y, err)
	}
}

// TestDropoutShapesError checks Shapes' errors for Dropout's ratio and
// training_mode inputs, naming the input and its value.
func TestDropoutShapesError(t *testing.T) {
	x := NewTensor(2, 3)
	f := func(v float32) *Tensor { return &Tensor{Shape: []int{}, Data: []float32{v}} }
	tests := []struct {
		name   string
		params map[string]*Tensor
		in     []*Tensor
		want   string
	}{
		{"ratio 1", map[string]*Tensor{"x1": f(1)}, []*Tensor{x, f(1)}, `input 1 ("x1") = 1: ratio outside [0, 1)`},
		{"ratio NaN", map[string]*Tensor{"x1": f(float32(math.NaN()))}, []*Tensor{x, f(float32(math.NaN()))}, `input 1 ("x1") = NaN: ratio outside [0, 1)`},
		{"ratio input", nil, []*Tensor{x, f(0.1)}, `input 1 ("x1") is not known before the graph runs (want a parameter or a constant)`},
		{"ratio shape", map[string]*Tensor{"x1": NewTensor(2)}, []*Tensor{x, NewTensor(2)}, `input 1 ("x1") is float32 of shape [2], want a float32 scalar`},
		{"training_mode", map[string]*Tensor{"x1": f(0.1), "x2": NewInt64Tensor([]int64{1})}, []*Tensor{x, f(0.1), NewInt64Tensor([]int64{1})},
			`input 2 ("x2") = 1: training_mode true drops at random in the model's own forward pass, which this package does not run (it drops only while it trains)`},
		{"training_mode float", map[string]*Tensor{"x1": f(0.1), "x2": f(0)}, []*Tensor{x, f(0.1), f(0)}, `input 2 ("x2") is float32 of shape [], want an int64 scalar (ONNX's bool)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runOne("Dropout", nil, tt.params, tt.in...)
			want := `graph: node "n" (Dropout): tensor "y": ` + tt.want
			if err == nil || err.Error() != want {
				t.Errorf("got error %v, want %q", err, want)
			}
		})
	}
}
