package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

var batchNormShapes = [][]int{{6, 3}, {4, 2, 5}, {2, 3, 2, 3}, {1, 2, 1}}

// bnRef64 is PyTorch's batch normalisation in float64: with batch
// statistics (train) the mean and biased variance over N and the spatial
// dimensions, else mean and variance as given; it returns y and the batch
// mean and biased variance.
func bnRef64(x []float64, shape []int, g, b, mean, variance []float64, eps float64, train bool) (y, bm, bv []float64) {
	n, c := shape[0], shape[1]
	inner := elements(shape[2:])
	y, bm, bv = make([]float64, len(x)), make([]float64, c), make([]float64, c)
	for ch := 0; ch < c; ch++ {
		var s, ss float64
		for i := 0; i < n; i++ {
			for j := 0; j < inner; j++ {
				s += x[(i*c+ch)*inner+j]
			}
		}
		bm[ch] = s / float64(n*inner)
		for i := 0; i < n; i++ {
			for j := 0; j < inner; j++ {
				d := x[(i*c+ch)*inner+j] - bm[ch]
				ss += d * d
			}
		}
		bv[ch] = ss / float64(n*inner)
		m, v := bm[ch], bv[ch]
		if !train {
			m, v = mean[ch], variance[ch]
		}
		for i := 0; i < n; i++ {
			for j := 0; j < inner; j++ {
				k := (i*c+ch)*inner + j
				y[k] = g[ch]*(x[k]-m)/math.Sqrt(v+eps) + b[ch]
			}
		}
	}
	return y, bm, bv
}

type bnCase struct {
	x, g, b, mean, variance *Tensor
}

func newBNCase(r *rand.Rand, shape []int) bnCase {
	c := bnCase{x: randTensor(r, shape...), g: randTensor(r, shape[1]), b: randTensor(r, shape[1]), mean: randTensor(r, shape[1]), variance: randTensor(r, shape[1])}
	for i := range c.variance.Data {
		c.variance.Data[i] = 0.5 + c.variance.Data[i]*c.variance.Data[i]
	}
	return c
}

func (c bnCase) inputs() []*Tensor { return []*Tensor{c.x, c.g, c.b, c.mean, c.variance} }

const bnEps = 1e-3

// TestBatchNormTraining runs BatchNormalization as the graph trains it
// (state.training): y against PyTorch's formula with batch statistics,
// the running statistics updated in place by PyTorch's rule (m = 1 − ONNX
// momentum, unbiased variance), and Backward against finite differences
// of the formula for x, scale and B.
func TestBatchNormTraining(t *testing.T) {
	r := rand.New(rand.NewPCG(83, 84))
	const momentum = 0.8 // ONNX's: PyTorch's m = 0.2
	for _, shape := range batchNormShapes {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			c := newBNCase(r, shape)
			runMean, runVar := slices.Clone(c.mean.Data), slices.Clone(c.variance.Data)
			n := &Node{Op: "BatchNormalization", Inputs: []string{"x", "g", "b", "m", "v"}, Outputs: []string{"y", "rm", "rv"},
				Attrs: map[string]Attribute{"epsilon": Float(bnEps), "momentum": Float(momentum), "training_mode": Int(1)}}
			s := &state{training: true}
			y, rm, rv := new(Tensor), new(Tensor), new(Tensor)
			op := operators["BatchNormalization"]
			op.forward(s, n, []*Tensor{y, rm, rv}, c.inputs())
			want, bm, bv := bnRef64(to64(c.x.Data), shape, to64(c.g.Data), to64(c.b.Data), nil, nil, float64(float32(bnEps)), true)
			checkClose(t, "y", y.Data, toF32(want), 1e-5, 1e-5)
			count := float64(elements(shape) / shape[1])
			m := 1 - float64(float32(momentum))
			for ch := range runMean {
				unbiased := bv[ch] * count / math.Max(count-1, 1)
				wm, wv := (1-m)*float64(runMean[ch])+m*bm[ch], (1-m)*float64(runVar[ch])+m*unbiased
				if !(math.Abs(float64(c.mean.Data[ch])-wm) <= 1e-6) || !(math.Abs(float64(c.variance.Data[ch])-wv) <= 1e-5) {
					t.Errorf("channel %d: running mean, var %v, %v, want %v, %v", ch, c.mean.Data[ch], c.variance.Data[ch], wm, wv)
				}
				if rm.Data[ch] != c.mean.Data[ch] || rv.Data[ch] != c.variance.Data[ch] {
					t.Errorf("channel %d: outputs %v, %v, want the updated running statistics", ch, rm.Data[ch], rv.Data[ch])
				}
			}

			dy := randTensor(r, shape...)
			din, start := filled(r, shape, []int{shape[1]}, []int{shape[1]}, nil, nil)
			op.backward(s, n, din, []*Tensor{dy, nil, nil}, []*Tensor{y, rm, rv}, c.inputs())
			added(din, start)
			f := func(in [][]float64) []float64 {
				y, _, _ := bnRef64(in[0], shape, in[1], in[2], nil, nil, float64(float32(bnEps)), true)
				return y
			}
			checkGradients(t, f, [][]float64{to64(c.x.Data), to64(c.g.Data), to64(c.b.Data)}, to64(dy.Data), din[:3])
		})
	}
}

// TestBatchNormInference runs the reference Forward and Backward (ONNX
// inference: the running statistics): y against the formula, and the
// gradients of all five inputs against finite differences.
func TestBatchNormInference(t *testing.T) {
	r := rand.New(rand.NewPCG(85, 86))
	for _, shape := range batchNormShapes {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			c := newBNCase(r, shape)
			g := &Graph{Inputs: []Value{{Name: "x", Shape: shape}}, Outputs: []string{"y"},
				Params: map[string]*Tensor{"g": c.g, "b": c.b, "m": c.mean, "v": c.variance},
				Nodes: []*Node{{Name: "bn", Op: "BatchNormalization", Inputs: []string{"x", "g", "b", "m", "v"}, Outputs: []string{"y"},
					Attrs: map[string]Attribute{"epsilon": Float(bnEps)}}}}
			mean0 := slices.Clone(c.mean.Data)
			values, err := g.Forward(map[string]*Tensor{"x": c.x})
			if err != nil {
				t.Fatal(err)
			}
			eps := float64(float32(bnEps))
			want, _, _ := bnRef64(to64(c.x.Data), shape, to64(c.g.Data), to64(c.b.Data), to64(c.mean.Data), to64(c.variance.Data), eps, false)
			checkClose(t, "y", values["y"].Data, toF32(want), 1e-5, 1e-5)
			if !slices.Equal(c.mean.Data, mean0) {
				t.Errorf("inference changed the running mean")
			}
			dy := randTensor(r, shape...)
			grads, err := g.Backward(values, map[string]*Tensor{"y": dy})
			if err != nil {
				t.Fatal(err)
			}
			f := func(in [][]float64) []float64 {
				y, _, _ := bnRef64(in[0], shape, in[1], in[2], in[3], in[4], eps, false)
				return y
			}
			checkGradients(t, f, [][]float64{to64(c.x.Data), to64(c.g.Data), to64(c.b.Data), to64(c.mean.Data), to64(c.variance.Data)}, to64(dy.Data),
				[]*Tensor{grads["x"], grads["g"], grads["b"], grads["m"], grads["v"]})
		})
	}
}

// TestBatchNormTrainingMode runs training_mode = 1 through the reference
// Forward and Backward, as ONNX defines it: batch statistics, the running
// outputs input·momentum + batch·(1 − momentum) with the biased variance,
// the inputs unchanged, and the gradient through the batch statistics.
func TestBatchNormTrainingMode(t *testing.T) {
	r := rand.New(rand.NewPCG(87, 88))
	const momentum = 0.7
	shape := []int{3, 2, 4}
	c := newBNCase(r, shape)
	g := &Graph{Inputs: []Value{{Name: "x", Shape: shape}}, Outputs: []string{"y", "rm", "rv"},
		Params: map[string]*Tensor{"g": c.g, "b": c.b, "m": c.mean, "v": c.variance},
		Nodes: []*Node{{Name: "bn", Op: "BatchNormalization", Inputs: []string{"x", "g", "b", "m", "v"}, Outputs: []string{"y", "rm", "rv"},
			Attrs: map[string]Attribute{"epsilon": Float(bnEps), "momentum": Float(momentum), "training_mode": Int(1)}}}}
	mean0, var0 := slices.Clone(c.mean.Data), slices.Clone(c.variance.Data)
	values, err := g.Forward(map[string]*Tensor{"x": c.x})
	if err != nil {
		t.Fatal(err)
	}
	eps := float64(float32(bnEps))
	want, bm, bv := bnRef64(to64(c.x.Data), shape, to64(c.g.Data), to64(c.b.Data), nil, nil, eps, true)
	checkClose(t, "y", values["y"].Data, toF32(want), 1e-5, 1e-5)
	mo := float64(float32(momentum))
	for ch := range bm {
		wm, wv := float64(mean0[ch])*mo+bm[ch]*(1-mo), float64(var0[ch])*mo+bv[ch]*(1-mo)
		if got := values["rm"].Data[ch]; !(math.Abs(float64(got)-wm) <= 1e-6) {
			t.Errorf("running_mean[%d]: got %v, want %v", ch, got, wm)
		}
		if got := values["rv"].Data[ch]; !(math.Abs(float64(got)-wv) <= 1e-6) {
			t.Errorf("running_var[%d]: got %v, want %v", ch, got, wv)
		}
	}
	if !slices.Equal(c.mean.Data, mean0) || !slices.Equal(c.variance.Data, var0) {
		t.Errorf("the reference Forward changed input_mean or input_var")
	}
	dy := randTensor(r, shape...)
	grads, err := g.Backward(values, map[string]*Tensor{"y": dy})
	if err != nil {
		t.Fatal(err)
	}
	f := func(in [][]float64) []float64 {
		y, _, _ := bnRef64(in[0], shape, in[1], in[2], nil, nil, eps, true)
		return y
	}
	checkGradients(t, f, [][]float64{to64(c.x.Data), to64(c.g.Data), to64(c.b.Data)}, to64(dy.Data), []*Tensor{grads["x"], grads["g"], grads["b"]})
}

func toF32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

// TestBatchNormShapesError checks Shapes' errors for BatchNormalization,
// naming the input or attribute and its value.
func TestBatchNormShapesError(t *testing.T) {
	x, c := []int{4, 3, 2}, []int{3}
	tests := []struct {
		name   string
		attrs  map[string]Attribute
		shapes [][]int
		want   string
	}{
		{"rank", nil, [][]int{{4}, {4}, {4}, {4}, {4}}, `input 0 ("x0") of shape [4]: want (N, C, …)`},
		{"scale", nil, [][]int{x, {2}, c, c, c}, `input 1 ("x1") of shape [2]: want [3], the channels of the input of shape [4 3 2]`},
		{"var", nil, [][]int{x, c, c, c, {3, 1}}, `input 4 ("x4") of shape [3 1]: want [3], the channels of the input of shape [4 3 2]`},
		{"momentum", map[string]Attribute{"momentum": Float(1.5)}, [][]int{x, c, c, c, c}, `attribute momentum = 1.5: want in [0, 1]`},
		{"epsilon", map[string]Attribute{"epsilon": Float(-1)}, [][]int{x, c, c, c, c}, `attribute epsilon = -1: want ≥ 0`},
		{"mode", map[string]Attribute{"training_mode": Int(2)}, [][]int{x, c, c, c, c}, `attribute training_mode = 2: want 0 or 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkShapesError(t, "BatchNormalization", tt.attrs, tt.want, tt.shapes...)
		})
	}
	g := &Graph{Inputs: []Value{{Name: "x", Shape: x}}, Outputs: []string{"y"},
		Params: map[string]*Tensor{"g": NewTensor(3), "b": NewTensor(3), "m": NewTensor(3), "v": NewTensor(3)},
		Nodes:  []*Node{{Name: "bn", Op: "BatchNormalization", Inputs: []string{"x", "g", "b", "m", "v"}, Outputs: []string{"y", "rm"}}}}
	_, err := g.Shapes(map[string][]int{"x": x})
	if want := `graph: node "bn" (BatchNormalization): tensor "y": attribute training_mode = 0: output 1 ("rm") is written only with training_mode = 1`; err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
}

// TestBatchNormDoesNotAllocate checks that a training step (forward and
// backward on the node's state) allocates nothing once the state has its
// buffers.
func TestBatchNormDoesNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(89, 90))
	c := newBNCase(r, []int{8, 4, 3, 3})
	n := &Node{Op: "BatchNormalization", Inputs: []string{"x", "g", "b", "m", "v"}, Outputs: []string{"y"}}
	s := &state{training: true}
	y, dy := new(Tensor), randTensor(r, 8, 4, 3, 3)
	din := []*Tensor{NewTensor(8, 4, 3, 3), NewTensor(4), NewTensor(4), nil, nil}
	op := operators["BatchNormalization"]
	in, out, dout := c.inputs(), []*Tensor{y}, []*Tensor{dy}
	step := func() {
		op.forward(s, n, out, in)
		op.backward(s, n, din, dout, out, in)
	}
	step()
	if a := testing.AllocsPerRun(10, step); a != 0 {
		t.Errorf("got %v allocations a step, want 0", a)
	}
}
