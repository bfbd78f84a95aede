package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// unflattenGraph is the shape subgraph PyTorch writes for x2.view(x.size(0),
// 64, 7, 7): x → Shape → Gather(0) → Unsqueeze(0) → Concat with the
// constant [64, 7, 7] → the shape that Reshape gives x2 (batch, 3136).
func unflattenGraph() *Graph {
	return &Graph{
		Inputs:  []Value{{Name: "x", Shape: []int{-1, 5}}, {Name: "x2", Shape: []int{-1, 3136}}},
		Outputs: []string{"y"},
		Params:  map[string]*Tensor{"zero": NewInt64Tensor([]int64{0}, 1)},
		Nodes: []*Node{
			{Name: "reshape", Op: "Reshape", Inputs: []string{"x2", "shape"}, Outputs: []string{"y"}},
			{Name: "cat", Op: "Concat", Inputs: []string{"n1", "rest"}, Outputs: []string{"shape"}, Attrs: map[string]Attribute{"axis": Int(0)}},
			{Name: "rest", Op: "Constant", Outputs: []string{"rest"}, Attrs: map[string]Attribute{"value": TensorAttr(NewInt64Tensor([]int64{64, 7, 7}, 3))}},
			{Name: "unsq", Op: "Unsqueeze", Inputs: []string{"n", "zero"}, Outputs: []string{"n1"}},
			{Name: "gather", Op: "Gather", Inputs: []string{"s", "idx"}, Outputs: []string{"n"}, Attrs: map[string]Attribute{"axis": Int(0)}},
			{Name: "idx", Op: "Constant", Outputs: []string{"idx"}, Attrs: map[string]Attribute{"value_int": Int(0)}},
			{Name: "shape", Op: "Shape", Inputs: []string{"x"}, Outputs: []string{"s"}},
		},
	}
}

// TestShapeSubgraphFolds runs unflattenGraph at two batch sizes: Shapes
// folds the shape subgraph (its int64 tensors get values, so Reshape knows
// its target) for each, and Forward and Backward give x2's values and
// gradient back in the new shape.
func TestShapeSubgraphFolds(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	g := unflattenGraph()
	for _, batch := range []int{3, 2} {
		t.Run(fmt.Sprint(batch), func(t *testing.T) {
			args, _, err := g.infer(map[string][]int{"x": {batch, 5}, "x2": {batch, 3136}})
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string][]int64{"s": {int64(batch), 5}, "n": {int64(batch)}, "n1": {int64(batch)}, "shape": {int64(batch), 64, 7, 7}} {
				if v := args[name].value; v == nil || !slices.Equal(v.Int64, want) {
					t.Errorf("%s: folded value %v, want %v", name, v, want)
				}
			}
			if got, want := args["n"].shape, []int{}; !slices.Equal(got, want) {
				t.Errorf("Gather of a scalar index: shape %v, want %v", got, want)
			}
			x, x2 := randTensor(r, batch, 5), randTensor(r, batch, 3136)
			values, err := g.Forward(map[string]*Tensor{"x": x, "x2": x2})
			if err != nil {
				t.Fatal(err)
			}
			y := values["y"]
			if want := []int{batch, 64, 7, 7}; !slices.Equal(y.Shape, want) || !slices.Equal(y.Data, x2.Data) {
				t.Fatalf("y: shape %v, want %v, and x2's values", y.Shape, want)
			}
			dy := randTensor(r, y.Shape...)
			grads, err := g.Backward(values, map[string]*Tensor{"y": dy})
			if err != nil {
				t.Fatal(err)
			}
			if d := grads["x2"]; d == nil || !slices.Equal(d.Shape, x2.Shape) || !slices.Equal(d.Data, dy.Data) {
				t.Fatalf("x2's gradient is not dy in x2's shape")
			}
			if grads["x"] != nil {
				t.Errorf("x got a gradient through Shape")
			}
		})
	}
}

func TestShapeForward(t *testing.T) {
	tests := []struct {
		start, end int64
		want       []int64
	}{
		{0, math.MaxInt64, []int64{2, 3, 4}},
		{1, math.MaxInt64, []int64{3, 4}},
		{-1, math.MaxInt64, []int64{4}},
		{0, -1, []int64{2, 3}},
		{-10, 10, []int64{2, 3, 4}},
		{2, 1, []int64{}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d_%d", tt.start, tt.end), func(t *testing.T) {
			var y Tensor
			ShapeForward(&y, []int{2, 3, 4}, tt.start, tt.end)
			if y.Type != Int64 || !slices.Equal(y.Int64, tt.want) || !slices.Equal(y.Shape, []int{len(tt.want)}) {
				t.Errorf("got %v %v %v, want int64 %v", y.Type, y.Shape, y.Int64, tt.want)
			}
		})
	}
}

// runOne runs the one-node graph of op over the given tensors (graph
// inputs x0, x1, …; a nil one is left out) through Forward, and returns y,
// or Forward's error.
func runOne(op string, attrs map[string]Attribute, params map[string]*Tensor, ins ...*Tensor) (*Tensor, error) {
	g := &Graph{Outputs: []string{"y"}, Params: params}
	n := &Node{Name: "n", Op: op, Outputs: []string{"y"}, Attrs: attrs}
	feeds := map[string]*Tensor{}
	for k, in := range ins {
		name := fmt.Sprintf("x%d", k)
		if in == nil {
			name = ""
		} else if params[name] == nil {
			g.Inputs = append(g.Inputs, Value{Name: name, Shape: in.Shape, Type: in.Type})
			feeds[name] = in
		}
		n.Inputs = append(n.Inputs, name)
	}
	for name := range params {
		if !slices.Contains(n.Inputs, name) {
			n.Inputs = append(n.Inputs, name)
		}
	}
	g.Nodes = []*Node{n}
	values, err := g.Forward(feeds)
	if err != nil {
		return nil, err
	}
	return values["y"], nil
}

func TestConstant(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]Attribute
		want  *Tensor
	}{
		{"value", map[string]Attribute{"value": TensorAttr(NewInt64Tensor([]int64{1, 2, 3, 4, 5, 6}, 2, 3))}, NewInt64Tensor([]int64{1, 2, 3, 4, 5, 6}, 2, 3)},
		{"value float", map[string]Attribute{"value": TensorAttr(&Tensor{Shape: []int{2}, Data: []float32{1.5, -2}})}, &Tensor{Shape: []int{2}, Data: []float32{1.5, -2}}},
		{"value_float", map[string]Attribute{"value_float": Float(2.5)}, &Tensor{Shape: []int{}, Data: []float32{2.5}}},
		{"value_floats", map[string]Attribute{"value_floats": Floats(1, 2)}, &Tensor{Shape: []int{2}, Data: []float32{1, 2}}},
		{"value_int", map[string]Attribute{"value_int": Int(-3)}, NewInt64Tensor([]int64{-3})},
		{"value_ints", map[string]Attribute{"value_ints": Ints(4, 5, 6)}, NewInt64Tensor([]int64{4, 5, 6}, 3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y, err := runOne("Constant", tt.attrs, nil)
			if err != nil {
				t.Fatal(err)
			}
			if y.Type != tt.want.Type || !slices.Equal(y.Shape, tt.want.Shape) || !slices.Equal(y.Data, tt.want.Data) || !slices.Equal(y.Int64, tt.want.Int64) {
				t.Errorf("got %+v, want %+v", y, tt.want)
			}
		})
	}
}

func TestConstantOfShapeAndCast(t *testing.T) {
	shape := NewInt64Tensor([]int64{2, 0, 3}, 3)
	y, err := runOne("ConstantOfShape", nil, map[string]*Tensor{"x0": shape}, shape)
	if err != nil {
		t.Fatal(err)
	}
	if y.Type != Float32 || !slices.Equal(y.Shape, []int{2, 0, 3}) || len(y.Data) != 0 {
		t.Errorf("default value: got %+v, want float32 zeros of shape [2 0 3]", y)
	}
	shape = NewInt64Tensor([]int64{2, 2}, 2)
	y, err = runOne("ConstantOfShape", map[string]Attribute{"value": TensorAttr(NewInt64Tensor([]int64{7}, 1))}, map[string]*Tensor{"x0": shape}, shape)
	if err != nil {
		t.Fatal(err)
	}
	if y.Type != Int64 || !slices.Equal(y.Int64, []int64{7, 7, 7, 7}) {
		t.Errorf("int64 value: got %+v, want 7s", y)
	}

	f := &Tensor{Shape: []int{5}, Data: []float32{-2.7, -0.5, 0, 1.9, 3}}
	y, err = runOne("Cast", map[string]Attribute{"to": Int(onnxInt64)}, nil, f)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{-2, 0, 0, 1, 3}; y.Type != Int64 || !slices.Equal(y.Int64, want) {
		t.Errorf("float → int64: got %v, want %v (toward zero)", y.Int64, want)
	}
	y, err = runOne("Cast", map[string]Attribute{"to": Int(onnxFloat)}, nil, NewInt64Tensor([]int64{-3, 1 << 40}, 2))
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{-3, 1 << 40}; y.Type != Float32 || !slices.Equal(y.Data, want) {
		t.Errorf("int64 → float: got %v, want %v", y.Data, want)
	}
}

// TestShapeOpsShapesError checks the errors of Constant, ConstantOfShape
// and Cast, naming attribute or input and value.
func TestShapeOpsShapesError(t *testing.T) {
	i64 := func(v ...int64) *Tensor { return NewInt64Tensor(v, len(v)) }
	tests := []struct {
		name, op string
		attrs    map[string]Attribute
		params   map[string]*Tensor
		in       []*Tensor
		want     string
	}{
		{"constant none", "Constant", nil, nil, nil, `attributes []: want exactly one of value, value_float, value_floats, value_int, value_ints`},
		{"constant two", "Constant", map[string]Attribute{"value_int": Int(1), "value_float": Float(1)}, nil, nil, `attributes [value_float value_int]: want exactly one of value, value_float, value_floats, value_int, value_ints`},
		{"constant short", "Constant", map[string]Attribute{"value": TensorAttr(&Tensor{Shape: []int{2, 3}, Data: []float32{1}})}, nil, nil, `attribute value = tensor of shape [2 3]: holds 1 values`},
		{"constant nil", "Constant", map[string]Attribute{"value": TensorAttr(nil)}, nil, nil, `attribute value: no tensor`},
		{"fill negative", "ConstantOfShape", nil, map[string]*Tensor{"x0": i64(2, -1)}, []*Tensor{i64(2, -1)}, `input 0 ("x0") = [2 -1]: dimension -1 is negative`},
		{"fill huge", "ConstantOfShape", nil, map[string]*Tensor{"x0": i64(1<<20, 1<<20)}, []*Tensor{i64(1<<20, 1<<20)}, `input 0 ("x0") = [1048576 1048576]: more than 2147483648 elements`},
		{"fill value", "ConstantOfShape", map[string]Attribute{"value": TensorAttr(&Tensor{Shape: []int{2}, Data: []float32{1, 2}})}, map[string]*Tensor{"x0": i64(2)}, []*Tensor{i64(2)}, `attribute value = tensor of shape [2]: want one element`},
		{"fill unknown", "ConstantOfShape", nil, nil, []*Tensor{i64(2)}, `input 0 ("x0") is not known before the graph runs (want a parameter, a constant or a value computed from shapes)`},
		{"cast to double", "Cast", map[string]Attribute{"to": Int(11)}, nil, []*Tensor{NewTensor(2)}, `attribute to = 11: casts to FLOAT (1) and INT64 (7) only`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runOne(tt.op, tt.attrs, tt.params, tt.in...)
			want := fmt.Sprintf(`graph: node "n" (%s): tensor "y": %s`, tt.op, tt.want)
			if err == nil || err.Error() != want {
				t.Errorf("got error %v, want %q", err, want)
			}
		})
	}
}

// TestConcatInt64 joins int64 shapes (as shape subgraphs do) and refuses
// inputs of two element types, naming them.
func TestConcatInt64(t *testing.T) {
	a, b := NewInt64Tensor([]int64{3}, 1), NewInt64Tensor([]int64{64, 7, 7}, 3)
	y, err := runOne("Concat", map[string]Attribute{"axis": Int(0)}, nil, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if y.Type != Int64 || !slices.Equal(y.Int64, []int64{3, 64, 7, 7}) || !slices.Equal(y.Shape, []int{4}) {
		t.Errorf("got %v %v %v, want int64 [3 64 7 7]", y.Type, y.Shape, y.Int64)
	}
	_, err = runOne("Concat", map[string]Attribute{"axis": Int(0)}, nil, a, NewTensor(3))
	if want := `graph: node "n" (Concat): tensor "y": input 1 ("x1") is float32, input 0 ("x0") int64`; err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
}

// TestMovesDoNotAllocate checks that the data-movement kernels that run
// every step allocate nothing once their outputs have grown.
func TestMovesDoNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(81, 82))
	x, emb := randTensor(r, 4, 3, 5), randTensor(r, 10, 6)
	idx := NewInt64Tensor([]int64{1, 9, 1, -2}, 4)
	var y Tensor
	dx, demb := NewTensor(4, 3, 5), NewTensor(10, 6)
	shape, axes := []int64{0, -1}, []int64{1}
	starts, ends, sAxes, steps := []int64{3, 0}, []int64{0, 4}, []int64{-1, 1}, []int64{-2, 1}
	for name, f := range map[string]func(){
		"reshape": func() { ReshapeForward(&y, x, shape, false); ReshapeBackward(dx, &y) },
		"squeeze": func() { UnsqueezeForward(&y, x, axes); SqueezeForward(&y, &y, axes) },
		"gather":  func() { GatherForward(&y, emb, idx, 0); GatherBackward(demb, &y, idx, 0) },
		"slice": func() {
			SliceForward(&y, x, starts, ends, sAxes, steps)
			SliceBackward(dx, &y, starts, ends, sAxes, steps)
		},
		"expand":    func() { ExpandForward(&y, x, []int64{2, 4, 3, 5}) },
		"expand bw": func() { ExpandBackward(dx, &Tensor{Shape: []int{2, 4, 3, 5}, Data: make([]float32, 120)}) },
		"tile":      func() { TileForward(&y, x, []int64{2, 1, 3}); TileBackward(dx, &y, []int64{2, 1, 3}) },
	} {
		t.Run(name, func(t *testing.T) {
			f()
			if n := testing.AllocsPerRun(10, f); n != 0 {
				t.Errorf("got %v allocations a call, want 0", n)
			}
		})
	}
}

// TestFoldingIsBounded: int64 tensors that shape inference computes from
// values in the file (ConstantOfShape, Expand, Tile of int64 data) are
// refused past 2²² elements, naming the tensor, before anything that size
// is allocated.
func TestFoldingIsBounded(t *testing.T) {
	for _, tt := range []struct {
		op    string
		attrs map[string]Attribute
		ins   []*Tensor
	}{
		{"ConstantOfShape", map[string]Attribute{"value": TensorAttr(NewInt64Tensor([]int64{7}, 1))}, []*Tensor{NewInt64Tensor([]int64{1 << 12, 1 << 12, 4}, 3)}},
		{"Expand", nil, []*Tensor{NewInt64Tensor([]int64{1}, 1), NewInt64Tensor([]int64{1<<22 + 1}, 1)}},
		{"Tile", nil, []*Tensor{NewInt64Tensor([]int64{1, 2}, 2), NewInt64Tensor([]int64{1<<21 + 1}, 1)}},
	} {
		g := &Graph{Params: map[string]*Tensor{}, Outputs: []string{"y"}}
		var names []string
		for k, v := range tt.ins {
			name := fmt.Sprintf("p%d", k)
			g.Params[name] = v
			names = append(names, name)
		}
		g.Nodes = []*Node{{Name: "n", Op: tt.op, Inputs: names, Outputs: []string{"y"}, Attrs: tt.attrs}}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := g.Shapes(nil)
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), `int64 tensor "y" of shape`) || !strings.Contains(err.Error(), "more than 4194304 elements") {
			t.Errorf("%s: got %v, want the bound's error", tt.op, err)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > 8<<20 {
			t.Errorf("%s: shape inference allocated %d bytes", tt.op, d)
		}
	}
}
