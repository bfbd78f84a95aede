package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

var expandCases = []struct {
	x     []int
	shape []int64
	want  []int
}{
	{[]int{3, 1}, []int64{2, 3, 4}, []int{2, 3, 4}},
	{[]int{3, 1}, []int64{1, 1}, []int{3, 1}},
	{[]int{1, 4}, []int64{3, 1}, []int{3, 4}},
	{[]int{2, 1, 3}, []int64{2, 1, 5, 1}, []int{2, 2, 5, 3}},
	{[]int{1}, []int64{4}, []int{4}},
	{[]int{}, []int64{2, 2}, []int{2, 2}},
}

var tileCases = []struct {
	x       []int
	repeats []int64
}{
	{[]int{2, 3}, []int64{1, 1}},
	{[]int{2, 3}, []int64{2, 1}},
	{[]int{2, 3}, []int64{3, 2}},
	{[]int{2, 1, 3}, []int64{1, 4, 2}},
	{[]int{3}, []int64{0}},
}

// expandRef and tileRef are the textbook loops: each output index decoded
// and mapped back into x (a broadcast dimension to 0, a tiled one modulo
// x's size).
func expandRef[T float32 | float64 | int64](x []T, shape, out []int) []T {
	y := make([]T, elements(out))
	oi := make([]int, len(out))
	xi := make([]int, len(shape))
	for i := range y {
		indexOf(oi, i, out)
		for d := range shape {
			if shape[d] != 1 {
				xi[d] = oi[len(out)-len(shape)+d]
			} else {
				xi[d] = 0
			}
		}
		y[i] = x[offsetOf(xi, shape)]
	}
	return y
}

func tileRef[T float32 | float64 | int64](x []T, shape []int, repeats []int64) ([]T, []int) {
	out := make([]int, len(shape))
	for d := range shape {
		out[d] = shape[d] * int(repeats[d])
	}
	y := make([]T, elements(out))
	oi, xi := make([]int, len(out)), make([]int, len(out))
	for i := range y {
		indexOf(oi, i, out)
		for d := range shape {
			xi[d] = oi[d] % shape[d]
		}
		y[i] = x[offsetOf(xi, shape)]
	}
	return y, out
}

// TestExpandAndTile checks Forward against the references on float32 and
// int64 data, and Backward (the sum over every copy) against finite
// differences.
func TestExpandAndTile(t *testing.T) {
	r := rand.New(rand.NewPCG(79, 80))
	ints := func(x *Tensor) *Tensor {
		xi := NewInt64Tensor(make([]int64, x.Len()), x.Shape...)
		for i := range xi.Int64 {
			xi.Int64[i] = int64(i*5 - 2)
		}
		return xi
	}
	for _, c := range expandCases {
		t.Run(fmt.Sprintf("Expand_%v_%v", c.x, c.shape), func(t *testing.T) {
			got, err := ExpandShape(c.x, c.shape)
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("ExpandShape: got %v, %v, want %v", got, err, c.want)
			}
			x := randTensor(r, c.x...)
			var y Tensor
			ExpandForward(&y, x, c.shape)
			if !slices.Equal(y.Shape, c.want) {
				t.Fatalf("shape: got %v, want %v", y.Shape, c.want)
			}
			checkClose(t, "y", y.Data, expandRef(x.Data, c.x, c.want), 0, 0)
			xi := ints(x)
			ExpandForward(&y, xi, c.shape)
			if y.Type != Int64 || !slices.Equal(y.Int64, expandRef(xi.Int64, c.x, c.want)) {
				t.Fatalf("int64: got %v", y.Int64)
			}
			dy := randTensor(r, c.want...)
			dxs, start := filled(r, c.x)
			ExpandBackward(dxs[0], dy)
			added(dxs, start)
			f := func(in [][]float64) []float64 { return expandRef(in[0], c.x, c.want) }
			checkGradients(t, f, [][]float64{to64(x.Data)}, to64(dy.Data), dxs)
		})
	}
	for _, c := range tileCases {
		t.Run(fmt.Sprintf("Tile_%v_%v", c.x, c.repeats), func(t *testing.T) {
			x := randTensor(r, c.x...)
			want, shape := tileRef(x.Data, c.x, c.repeats)
			if got, err := TileShape(c.x, c.repeats); err != nil || !slices.Equal(got, shape) {
				t.Fatalf("TileShape: got %v, %v, want %v", got, err, shape)
			}
			var y Tensor
			TileForward(&y, x, c.repeats)
			if !slices.Equal(y.Shape, shape) {
				t.Fatalf("shape: got %v, want %v", y.Shape, shape)
			}
			checkClose(t, "y", y.Data, want, 0, 0)
			xi := ints(x)
			TileForward(&y, xi, c.repeats)
			if wi, _ := tileRef(xi.Int64, c.x, c.repeats); y.Type != Int64 || !slices.Equal(y.Int64, wi) {
				t.Fatalf("int64: got %v, want %v", y.Int64, wi)
			}
			dy := randTensor(r, shape...)
			dxs, start := filled(r, c.x)
			TileBackward(dxs[0], dy, c.repeats)
			added(dxs, start)
			f := func(in [][]float64) []float64 {
				y, _ := tileRef(in[0], c.x, c.repeats)
				return y
			}
			checkGradients(t, f, [][]float64{to64(x.Data)}, to64(dy.Data), dxs)
		})
	}
}

// TestExpandTileShapesError checks Shapes' errors for Expand and Tile,
// naming the shape input and its value.
func TestExpandTileShapesError(t *testing.T) {
	i64 := func(v ...int64) *Tensor { return NewInt64Tensor(v, len(v)) }
	tests := []struct {
		op   string
		x    []int
		v    *Tensor
		want string
	}{
		{"Expand", []int{3, 2}, i64(3, 4), `input 1 ("x1") = [3 4]: does not broadcast with the input of shape [3 2]`},
		{"Expand", []int{3, 2}, i64(-1, 2), `input 1 ("x1") = [-1 2]: dimension 0 is -1`},
		{"Expand", []int{1}, i64(1<<16, 1<<16), `input 1 ("x1") = [65536 65536]: shape [65536 65536]: more than 2147483648 elements`},
		{"Tile", []int{3, 2}, i64(2), `input 1 ("x1") = [2]: 1 repeats for the input of shape [3 2]`},
		{"Tile", []int{3, 2}, i64(2, -1), `input 1 ("x1") = [2 -1]: repeat 1 is -1`},
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
	for name, f := range map[string]func(){
		"expand":          func() { ExpandForward(&Tensor{}, NewTensor(3, 2), []int64{3, 4}) },
		"expand backward": func() { ExpandBackward(NewTensor(3, 2), NewTensor(3, 3)) },
		"tile":            func() { TileForward(&Tensor{}, NewTensor(3, 2), []int64{2}) },
		"tile backward":   func() { TileBackward(NewTensor(3, 2), NewTensor(3, 2), []int64{2, 1}) },
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

// TestMovesGraph runs Slice (negative step), Tile, Unsqueeze, Expand,
// Gather of float data (an index given twice) and Reshape through the op
// table: Forward against the references composed, Backward — the sums
// over repeated reads — against finite differences of them.
func TestMovesGraph(t *testing.T) {
	r := rand.New(rand.NewPCG(101, 102))
	i64 := func(v ...int64) *Tensor { return NewInt64Tensor(v, len(v)) }
	g := &Graph{
		Inputs:  []Value{{Name: "x", Shape: []int{-1, 3, 4}}},
		Outputs: []string{"y"},
		Params: map[string]*Tensor{
			"starts": i64(3), "ends": i64(-10), "axes": i64(2), "steps": i64(-2),
			"reps": i64(1, 2, 1), "zero": i64(0), "big": i64(3, 1, 1, 1),
			"idx": NewInt64Tensor([]int64{0, 5, 5, 1}, 2, 2), "flat": i64(-1, 4),
		},
		Nodes: []*Node{
			{Name: "slice", Op: "Slice", Inputs: []string{"x", "starts", "ends", "axes", "steps"}, Outputs: []string{"s"}},
			{Name: "tile", Op: "Tile", Inputs: []string{"s", "reps"}, Outputs: []string{"t"}},
			{Name: "unsq", Op: "Unsqueeze", Inputs: []string{"t", "zero"}, Outputs: []string{"u"}},
			{Name: "expand", Op: "Expand", Inputs: []string{"u", "big"}, Outputs: []string{"e"}},
			{Name: "gather", Op: "Gather", Inputs: []string{"e", "idx"}, Outputs: []string{"g"}, Attrs: map[string]Attribute{"axis": Int(2)}},
			{Name: "flat", Op: "Reshape", Inputs: []string{"g", "flat"}, Outputs: []string{"y"}},
		},
	}
	const batch = 2
	ref := func(x []float64) []float64 {
		s, ss := sliceRef(x, []int{batch, 3, 4}, []int64{3}, []int64{-10}, []int64{2}, []int64{-2})
		tl, ts := tileRef(s, ss, []int64{1, 2, 1})
		us := append([]int{1}, ts...)
		es := []int{3, ts[0], ts[1], ts[2]}
		e := expandRef(tl, us, es)
		return gatherRef(e, es, 2, []int64{0, 5, 5, 1}, []int{2, 2})
	}
	x := randTensor(r, batch, 3, 4)
	values, err := g.Forward(map[string]*Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	y := values["y"]
	if want := []int{3 * batch * 2 * 2 * 2 / 4, 4}; !slices.Equal(y.Shape, want) {
		t.Fatalf("shape: got %v, want %v", y.Shape, want)
	}
	checkClose(t, "y", y.Data, toF32(ref(to64(x.Data))), 0, 0)
	dy := randTensor(r, y.Shape...)
	grads, err := g.Backward(values, map[string]*Tensor{"y": dy})
	if err != nil {
		t.Fatal(err)
	}
	checkGradients(t, func(in [][]float64) []float64 { return ref(in[0]) }, [][]float64{to64(x.Data)}, to64(dy.Data), []*Tensor{grads["x"]})
}
