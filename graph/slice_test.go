package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// sliceCases: data shapes and Slice's starts, ends, axes and steps (nil
// for left out), with negative, clamped and INT64 extreme indices and
// negative steps.
var sliceCases = []struct {
	x                         []int
	starts, ends, axes, steps []int64
}{
	{[]int{5, 4}, []int64{1}, []int64{4}, nil, nil},
	{[]int{5, 4}, []int64{1, 0}, []int64{4, 3}, nil, nil},
	{[]int{5, 4}, []int64{-3}, []int64{math.MaxInt64}, []int64{1}, nil},
	{[]int{5, 4}, []int64{0, 1}, []int64{-1, 1000}, []int64{-1, 0}, []int64{2, 2}},
	{[]int{5, 4}, []int64{-1}, []int64{math.MinInt64}, []int64{0}, []int64{-1}},
	{[]int{5, 4}, []int64{10, 2}, []int64{-10, 0}, []int64{0, 1}, []int64{-2, -1}},
	{[]int{2, 3, 6}, []int64{5, 1}, []int64{0, 3}, []int64{2, 1}, []int64{-3, 1}},
	{[]int{2, 3, 6}, []int64{3}, []int64{1}, []int64{-1}, nil},
	{[]int{2, 3, 6}, []int64{0}, []int64{6}, []int64{2}, []int64{math.MaxInt64}},
	{[]int{7}, []int64{6}, []int64{0}, nil, []int64{math.MinInt64}},
}

// sliceRef is the textbook slice: along each dimension the indices numpy
// takes, walked from the clamped start while before the clamped end, and
// their product read from x.
func sliceRef[T float32 | float64 | int64](x []T, shape []int, starts, ends, axes, steps []int64) ([]T, []int) {
	picks := make([][]int, len(shape))
	for d, n := range shape {
		for i := 0; i < n; i++ {
			picks[d] = append(picks[d], i)
		}
	}
	for i := range starts {
		a := int64(i)
		if axes != nil {
			a = axes[i]
		}
		if a < 0 {
			a += int64(len(shape))
		}
		st := int64(1)
		if steps != nil {
			st = steps[i]
		}
		n := int64(shape[a])
		lo, hi := starts[i], ends[i]
		if lo < 0 {
			lo += n
		}
		if hi < 0 {
			hi += n
		}
		picks[a] = nil
		if st > 0 {
			lo, hi = min(max(lo, 0), n), min(max(hi, 0), n)
			for j := lo; j < hi; j += st {
				picks[a] = append(picks[a], int(j))
				if j > math.MaxInt64-st {
					break
				}
			}
		} else {
			lo, hi = min(max(lo, 0), n-1), min(max(hi, -1), n-1)
			for j := lo; j > hi; j += st {
				picks[a] = append(picks[a], int(j))
				if j < math.MinInt64-st {
					break
				}
			}
		}
	}
	out := make([]int, len(shape))
	for d := range picks {
		out[d] = len(picks[d])
	}
	y := make([]T, elements(out))
	oi, xi := make([]int, len(out)), make([]int, len(out))
	for i := range y {
		indexOf(oi, i, out)
		for d := range oi {
			xi[d] = picks[d][oi[d]]
		}
		y[i] = x[offsetOf(xi, shape)]
	}
	return y, out
}

// TestSlice checks Forward against sliceRef on float32 and int64 data and
// Backward against finite differences.
func TestSlice(t *testing.T) {
	r := rand.New(rand.NewPCG(77, 78))
	for _, c := range sliceCases {
		t.Run(fmt.Sprintf("%v_%v_%v_%v_%v", c.x, c.starts, c.ends, c.axes, c.steps), func(t *testing.T) {
			x := randTensor(r, c.x...)
			want, shape := sliceRef(x.Data, c.x, c.starts, c.ends, c.axes, c.steps)
			got, _, err := SliceShape(c.x, c.starts, c.ends, c.axes, c.steps)
			if err != nil || !slices.Equal(got, shape) {
				t.Fatalf("SliceShape: got %v, %v, want %v", got, err, shape)
			}
			var y Tensor
			SliceForward(&y, x, c.starts, c.ends, c.axes, c.steps)
			if !slices.Equal(y.Shape, shape) {
				t.Fatalf("shape: got %v, want %v", y.Shape, shape)
			}
			checkClose(t, "y", y.Data, want, 0, 0)
			xi := NewInt64Tensor(make([]int64, x.Len()), c.x...)
			for i := range xi.Int64 {
				xi.Int64[i] = int64(i*3 - 5)
			}
			SliceForward(&y, xi, c.starts, c.ends, c.axes, c.steps)
			if wi, _ := sliceRef(xi.Int64, c.x, c.starts, c.ends, c.axes, c.steps); y.Type != Int64 || !slices.Equal(y.Int64, wi) {
				t.Fatalf("int64: got %v, want %v", y.Int64, wi)
			}
			dy := randTensor(r, shape...)
			dxs, start := filled(r, c.x)
			SliceBackward(dxs[0], dy, c.starts, c.ends, c.axes, c.steps)
			added(dxs, start)
			f := func(in [][]float64) []float64 {
				y, _ := sliceRef(in[0], c.x, c.starts, c.ends, c.axes, c.steps)
				return y
			}
			checkGradients(t, f, [][]float64{to64(x.Data)}, to64(dy.Data), dxs)
		})
	}
}

// TestSliceShapesError checks Shapes' errors for Slice: each names the
// input (starts, ends, axes or steps) and its value.
func TestSliceShapesError(t *testing.T) {
	i64 := func(v ...int64) *Tensor { return NewInt64Tensor(v, len(v)) }
	tests := []struct {
		ins  []*Tensor // starts, ends, axes, steps
		want string
	}{
		{[]*Tensor{i64(0), i64(1, 2)}, `input 2 ("x2") = [1 2]: 2 ends for 1 starts`},
		{[]*Tensor{i64(0, 0, 0), i64(1, 1, 1)}, `input 1 ("x1") = [0 0 0]: 3 starts for the data of shape [5 4]`},
		{[]*Tensor{i64(0), i64(1), i64(2)}, `input 3 ("x3") = [2]: axis 2 outside [−2, 1] for the data of shape [5 4]`},
		{[]*Tensor{i64(0, 0), i64(1, 1), i64(0, -2)}, `input 3 ("x3") = [0 -2]: axis -2 given twice`},
		{[]*Tensor{i64(0), i64(1), i64(0), i64(0)}, `input 4 ("x4") = [0]: step 0 is 0`},
		{[]*Tensor{i64(0), i64(1), i64(0), i64(1, 1)}, `input 4 ("x4") = [1 1]: 2 steps for 1 starts`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			params := map[string]*Tensor{}
			for k, v := range tt.ins {
				params[fmt.Sprintf("x%d", k+1)] = v
			}
			_, err := runOne("Slice", nil, params, append([]*Tensor{NewTensor(5, 4)}, tt.ins...)...)
			want := `graph: node "n" (Slice): tensor "y": ` + tt.want
			if err == nil || err.Error() != want {
				t.Errorf("got error %v, want %q", err, want)
			}
		})
	}
	_, err := runOne("Slice", nil, map[string]*Tensor{"x1": i64(0)}, NewTensor(5, 4), i64(0), i64(2))
	if want := `graph: node "n" (Slice): tensor "y": input 2 ("x2") is not known before the graph runs (want a parameter, a constant or a value computed from shapes)`; err == nil || err.Error() != want {
		t.Errorf("ends from a graph input: got error %v, want %q", err, want)
	}
}
