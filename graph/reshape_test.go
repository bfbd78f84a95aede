package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

var reshapeCases = []struct {
	x         []int
	shape     []int64
	allowZero bool
	want      []int
}{
	{[]int{2, 3, 4}, []int64{6, 4}, false, []int{6, 4}},
	{[]int{2, 3, 4}, []int64{-1, 4}, false, []int{6, 4}},
	{[]int{2, 3, 4}, []int64{0, -1}, false, []int{2, 12}},
	{[]int{2, 3, 4}, []int64{0, 0, 2, 2}, false, []int{2, 3, 2, 2}},
	{[]int{2, 3, 4}, []int64{24}, false, []int{24}},
	{[]int{6}, []int64{1, -1, 1}, false, []int{1, 6, 1}},
	{[]int{0, 3}, []int64{0, 3}, true, []int{0, 3}},
	{[]int{0, 3}, []int64{3, 0}, true, []int{3, 0}},
	{[]int{1}, []int64{}, false, []int{}},
}

func TestReshapeShape(t *testing.T) {
	for _, tt := range reshapeCases {
		t.Run(fmt.Sprintf("%v_%v_%v", tt.x, tt.shape, tt.allowZero), func(t *testing.T) {
			got, err := ReshapeShape(tt.x, tt.shape, tt.allowZero)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("got %v, %v, want %v", got, err, tt.want)
			}
		})
	}
}

// TestMovesShapesError checks that Shapes refuses Reshape, Squeeze and
// Unsqueeze inputs that do not fit, naming the input and its value.
func TestMovesShapesError(t *testing.T) {
	i64 := func(v ...int64) *Tensor { return NewInt64Tensor(v, len(v)) }
	tests := []struct {
		op   string
		x    []int
		v    *Tensor
		want string
	}{
		{"Reshape", []int{2, 3}, i64(4, 2), `input 1 ("x1") = [4 2]: 8 elements, but the input of shape [2 3] has 6`},
		{"Reshape", []int{2, 3}, i64(-1, -1), `input 1 ("x1") = [-1 -1]: dimensions 0 and 1 are both −1`},
		{"Reshape", []int{2, 3}, i64(-1, 4), `input 1 ("x1") = [-1 4]: dimension 0 is −1, but the others (4 elements) do not divide the input's 6 (shape [2 3])`},
		{"Reshape", []int{2, 3}, i64(2, -3), `input 1 ("x1") = [2 -3]: dimension 1 is -3`},
		{"Reshape", []int{6}, i64(6, 0), `input 1 ("x1") = [6 0]: dimension 1 is 0 (copy the input's), but the input of shape [6] has no dimension 1`},
		{"Reshape", []int{2, 3}, NewInt64Tensor([]int64{2, 3}, 1, 2), `input 1 ("x1") = [2 3]: of shape [1 2], want 1-D`},
		{"Squeeze", []int{2, 1}, i64(0), `input 1 ("x1") = [0]: axis 0 has size 2, want 1 (input of shape [2 1])`},
		{"Squeeze", []int{2, 1}, i64(2), `input 1 ("x1") = [2]: axis 2 outside [−2, 1] for the input of shape [2 1]`},
		{"Squeeze", []int{1, 1}, i64(1, -1), `input 1 ("x1") = [1 -1]: axis -1 given twice`},
		{"Unsqueeze", []int{2, 3}, i64(3), `input 1 ("x1") = [3]: axis 3 outside [−3, 2] for the output of rank 3`},
		{"Unsqueeze", []int{2, 3}, i64(0, -4), `input 1 ("x1") = [0 -4]: axis -4 given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.op+tt.want, func(t *testing.T) {
			_, err := runOne(tt.op, nil, map[string]*Tensor{"x1": tt.v}, NewTensor(tt.x...), tt.v)
			want := fmt.Sprintf(`graph: node "n" (%s): tensor "y": %s`, tt.op, tt.want)
			if err == nil || err.Error() != want {
				t.Errorf("got error %v, want %q", err, want)
			}
		})
	}
	_, err := runOne("Reshape", nil, nil, NewTensor(2, 3), i64(3, 2))
	if want := `graph: node "n" (Reshape): tensor "y": input 1 ("x1") is not known before the graph runs (want a parameter, a constant or a value computed from shapes)`; err == nil || err.Error() != want {
		t.Errorf("shape from a graph input: got error %v, want %q", err, want)
	}
}

// TestMovesForwardBackward runs Reshape, Squeeze and Unsqueeze through the
// op table on float32 and int64 data: the values keep their order, the
// shape is the rule's, and Backward adds dy into dx in x's shape.
func TestMovesForwardBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(73, 74))
	i64 := func(v ...int64) *Tensor { return NewInt64Tensor(v, len(v)) }
	tests := []struct {
		op    string
		x     []int
		v     *Tensor
		attrs map[string]Attribute
		want  []int
	}{
		{"Reshape", []int{2, 3, 4}, i64(0, -1), nil, []int{2, 12}},
		{"Reshape", []int{0, 3}, i64(3, 0), map[string]Attribute{"allowzero": Int(1)}, []int{3, 0}},
		{"Squeeze", []int{1, 3, 1, 2}, nil, nil, []int{3, 2}},
		{"Squeeze", []int{1, 3, 1, 2}, i64(-2), nil, []int{1, 3, 2}},
		{"Unsqueeze", []int{3, 2}, i64(0, -1), nil, []int{1, 3, 2, 1}},
		{"Unsqueeze", []int{3, 2}, i64(1), nil, []int{3, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s_%v_%v", tt.op, tt.x, tt.v), func(t *testing.T) {
			x := randTensor(r, tt.x...)
			var params map[string]*Tensor
			ins := []*Tensor{x}
			if tt.v != nil {
				params, ins = map[string]*Tensor{"x1": tt.v}, append(ins, tt.v)
			}
			y, err := runOne(tt.op, tt.attrs, params, ins...)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(y.Shape, tt.want) || !slices.Equal(y.Data, x.Data) {
				t.Fatalf("got shape %v, want %v, and x's values", y.Shape, tt.want)
			}
			xi := &Tensor{Shape: x.Shape, Type: Int64, Int64: make([]int64, x.Len())}
			for i := range xi.Int64 {
				xi.Int64[i] = int64(i) - 3
			}
			yi, err := runOne(tt.op, tt.attrs, params, append([]*Tensor{xi}, ins[1:]...)...)
			if err != nil {
				t.Fatal(err)
			}
			if yi.Type != Int64 || !slices.Equal(yi.Shape, tt.want) || !slices.Equal(yi.Int64, xi.Int64) {
				t.Fatalf("int64: got %v %v, want %v and x's values", yi.Type, yi.Shape, tt.want)
			}
			dxs, start := filled(r, x.Shape)
			dy := randTensor(r, y.Shape...)
			operators[tt.op].backward(&state{}, &Node{Op: tt.op, Attrs: tt.attrs}, []*Tensor{dxs[0], nil}, []*Tensor{dy}, []*Tensor{y}, ins)
			added(dxs, start)
			checkClose(t, "dx", dxs[0].Data, dy.Data, 1e-6, 0)
			if !slices.Equal(dxs[0].Shape, x.Shape) {
				t.Errorf("dx shape %v, want %v", dxs[0].Shape, x.Shape)
			}
		})
	}
}

// TestMovesPanicOnShapes checks that the kernels panic with ErrShape where
// the shape rules refuse.
func TestMovesPanicOnShapes(t *testing.T) {
	x := NewTensor(2, 3)
	for name, f := range map[string]func(){
		"reshape":   func() { ReshapeForward(&Tensor{}, x, []int64{4, 2}, false) },
		"squeeze":   func() { SqueezeForward(&Tensor{}, x, []int64{0}) },
		"unsqueeze": func() { UnsqueezeForward(&Tensor{}, x, []int64{5}) },
		"backward":  func() { ReshapeBackward(NewTensor(5), x) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if e := recover(); e != ErrShape {
					t.Errorf("got panic %v, want ErrShape", e)
				}
			}()
			f()
		})
	}
}
