package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// gatherCases are data shapes, an axis and indices (shape and values, some
// negative, some repeated).
var gatherCases = []struct {
	data    []int
	axis    int
	idxShap []int
	idx     []int64
}{
	{[]int{5, 3}, 0, []int{4}, []int64{0, 4, -1, 0}},
	{[]int{5, 3}, 0, []int{2, 2}, []int64{1, 1, 1, -5}},
	{[]int{5, 3}, 1, []int{}, []int64{2}},
	{[]int{2, 4, 3}, 1, []int{3}, []int64{3, -4, 3}},
	{[]int{2, 4, 3}, -1, []int{2, 1}, []int64{0, 2}},
	{[]int{4}, 0, []int{3}, []int64{-1, 0, 2}},
}

// gatherRef is the textbook Gather: each output index decoded, its
// indices part looked up and put in place of the axis.
func gatherRef[T float32 | float64 | int64](x []T, shape []int, axis int, idx []int64, q []int) []T {
	a, _ := normAxis(axis, len(shape))
	out := slices.Concat(shape[:a], q, shape[a+1:])
	y := make([]T, elements(out))
	oi := make([]int, len(out))
	for i := range y {
		indexOf(oi, i, out)
		qi := oi[a : a+len(q)]
		v := idx[offsetOf(qi, q)]
		if v < 0 {
			v += int64(shape[a])
		}
		xi := slices.Concat(oi[:a], []int{int(v)}, oi[a+len(q):])
		y[i] = x[offsetOf(xi, shape)]
	}
	return y
}

// TestGather checks Forward against gatherRef on float32 and int64 data,
// and Backward — the embedding's scatter-add, repeated indices collecting
// their rows' gradients — against finite differences.
func TestGather(t *testing.T) {
	r := rand.New(rand.NewPCG(75, 76))
	for _, c := range gatherCases {
		t.Run(fmt.Sprintf("%v_%d_%v", c.data, c.axis, c.idx), func(t *testing.T) {
			x := randTensor(r, c.data...)
			idx := NewInt64Tensor(c.idx, c.idxShap...)
			var y Tensor
			GatherForward(&y, x, idx, c.axis)
			want, _ := GatherShape(c.data, c.idxShap, c.axis)
			if !slices.Equal(y.Shape, want) {
				t.Fatalf("shape: got %v, want %v", y.Shape, want)
			}
			checkClose(t, "y", y.Data, gatherRef(x.Data, c.data, c.axis, c.idx, c.idxShap), 0, 0)
			xi := NewInt64Tensor(make([]int64, x.Len()), c.data...)
			for i := range xi.Int64 {
				xi.Int64[i] = int64(i * 7)
			}
			GatherForward(&y, xi, idx, c.axis)
			if y.Type != Int64 || !slices.Equal(y.Int64, gatherRef(xi.Int64, c.data, c.axis, c.idx, c.idxShap)) {
				t.Fatalf("int64: got %v", y.Int64)
			}

			dy := randTensor(r, want...)
			dxs, start := filled(r, c.data)
			GatherBackward(dxs[0], dy, idx, c.axis)
			added(dxs, start)
			f := func(in [][]float64) []float64 { return gatherRef(in[0], c.data, c.axis, c.idx, c.idxShap) }
			checkGradients(t, f, [][]float64{to64(x.Data)}, to64(dy.Data), dxs)
		})
	}
}

// TestGatherIndexOutOfRange checks both checks of indices: Shapes refuses
// known ones out of range, and Forward returns an error (no panic) for
// ones from a graph input, each naming the index and the range.
func TestGatherIndexOutOfRange(t *testing.T) {
	emb := NewTensor(5, 3)
	g := &Graph{
		Inputs:  []Value{{Name: "labels", Shape: []int{-1}, Type: Int64}},
		Outputs: []string{"y"},
		Params:  map[string]*Tensor{"emb": emb},
		Nodes:   []*Node{{Name: "embed", Op: "Gather", Inputs: []string{"emb", "labels"}, Outputs: []string{"y"}}},
	}
	for _, tt := range []struct {
		labels []int64
		want   string
	}{
		{[]int64{0, 4, -5}, ""},
		{[]int64{0, 5, 1}, `graph: node "embed" (Gather): tensor "y": input 1 ("labels"): element 1 = 5: index outside [−5, 4] for axis 0 of the data of shape [5 3]`},
		{[]int64{-6}, `graph: node "embed" (Gather): tensor "y": input 1 ("labels"): element 0 = -6: index outside [−5, 4] for axis 0 of the data of shape [5 3]`},
	} {
		t.Run(fmt.Sprint(tt.labels), func(t *testing.T) {
			values, err := g.Forward(map[string]*Tensor{"labels": NewInt64Tensor(tt.labels, len(tt.labels))})
			if tt.want == "" {
				if err != nil || !slices.Equal(values["y"].Shape, []int{len(tt.labels), 3}) {
					t.Errorf("got %v, want a (%d, 3) output", err, len(tt.labels))
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Errorf("got error %v, want %q", err, tt.want)
			}
		})
	}
	g.Params["labels2"] = NewInt64Tensor([]int64{7}, 1)
	g.Nodes[0].Inputs[1] = "labels2"
	_, err := g.Shapes(map[string][]int{"labels": {2}})
	if want := `graph: node "embed" (Gather): tensor "y": input 1 ("labels2"): element 0 = 7: index outside [−5, 4] for axis 0 of the data of shape [5 3]`; err == nil || err.Error() != want {
		t.Errorf("known index: got error %v, want %q", err, want)
	}
	idx := NewInt64Tensor([]int64{0}, 1)
	_, err = runOne("Gather", map[string]Attribute{"axis": Int(2)}, map[string]*Tensor{"x1": idx}, emb, idx)
	if want := `graph: node "n" (Gather): tensor "y": attribute axis = 2: outside [−r, r−1] for the data of shape [5 3]`; err == nil || err.Error() != want {
		t.Errorf("axis: got error %v, want %q", err, want)
	}
	err = shapesError("Gather", nil, []int{5, 3}, []int{2})
	if err == nil || !strings.Contains(err.Error(), `input 1 ("x1") is float32, want int64`) {
		t.Errorf("float indices: got error %v", err)
	}
	for name, f := range map[string]func(){
		"forward":  func() { GatherForward(&Tensor{}, emb, NewInt64Tensor([]int64{5}, 1), 0) },
		"backward": func() { GatherBackward(NewTensor(5, 3), NewTensor(1, 3), NewInt64Tensor([]int64{-6}, 1), 0) },
		"axis":     func() { GatherForward(&Tensor{}, emb, NewInt64Tensor([]int64{0}, 1), 2) },
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
