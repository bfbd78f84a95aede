package codes

import (
	"math"
	"slices"
	"testing"
)

// Five points on a line, 0 1 2 5 6 (in 1-D), labelled a a b b b.
var (
	toyRows   = []float32{0, 1, 2, 5, 6}
	toyLabels = []int{0, 0, 1, 1, 1}
)

func TestSearch(t *testing.T) {
	ix, err := NewIndex(toyRows, 1, L2)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		query float32
		k     int
		skip  []int
		want  []Neighbor
	}{
		{"nearest two", 1.4, 2, nil, []Neighbor{{1, 0.4}, {2, 0.6}}},
		{"tie in row order", 3.5, 2, nil, []Neighbor{{2, 1.5}, {3, 1.5}}},
		{"k above the count", 0, 9, nil, []Neighbor{{0, 0}, {1, 1}, {2, 2}, {3, 5}, {4, 6}}},
		{"skip itself", 5, 1, []int{3}, []Neighbor{{4, 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ix.Search([]float32{c.query}, c.k, c.skip)
			if err != nil {
				t.Fatal(err)
			}
			if len(got[0]) != len(c.want) {
				t.Fatalf("got %v, want %v", got[0], c.want)
			}
			for i, nb := range got[0] {
				if nb.Index != c.want[i].Index || math.Abs(nb.Distance-c.want[i].Distance) > 1e-6 {
					t.Errorf("got %v, want %v", got[0], c.want)
				}
			}
		})
	}
}

func TestCosine(t *testing.T) {
	// Rows (1,0), (1,1), (0,2), (0,0); query (2,0).
	ix, err := NewIndex([]float32{1, 0, 1, 1, 0, 2, 0, 0}, 2, Cosine)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ix.Search([]float32{2, 0}, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Neighbor{{0, 0}, {1, 1 - 1/math.Sqrt2}, {2, 1}, {3, 1}}
	for i, nb := range got[0] {
		if nb.Index != want[i].Index || math.Abs(nb.Distance-want[i].Distance) > 1e-9 {
			t.Errorf("got %v, want %v", got[0], want)
		}
	}
}

func TestKNNAndPrecision(t *testing.T) {
	ix, err := NewIndex(toyRows, 1, L2)
	if err != nil {
		t.Fatal(err)
	}
	// Query 1.6, k = 3: rows 2 (b, 0.4), 1 (a, 0.6), 0 (a, 1.6) → a.
	// Query 3.6, k = 3: rows 2 (b), 3 (b), 4 (b, 2.4) → b.
	// Query 1.5, k = 2: rows 1 (a, 0.5), 2 (b, 0.5): a tie, the nearest
	// (row 1, by row order) decides → a.
	cases := []struct {
		name    string
		queries []float32
		k       int
		want    []int
	}{
		{"majority", []float32{1.6, 3.6}, 3, []int{0, 1}},
		{"tie goes to the nearest", []float32{1.5}, 2, []int{0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := KNN(ix, toyLabels, c.queries, c.k)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
	// Precision@2 of the rows against themselves, leaving each out:
	// row 0 → 1 (a), 2 (b): ½; row 1 → 0, 2: ½; row 2 → 1 (a), 0 (a): 0;
	// row 3 → 4 (b), 2 (b): 1; row 4 → 3, 2: 1. Mean 3/5.
	nbs, err := ix.Search(toyRows, 2, []int{0, 1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	got, err := PrecisionAtK(nbs, toyLabels, toyLabels)
	if err != nil {
		t.Fatal(err)
	}
	if want := 0.6; math.Abs(got-want) > 1e-12 {
		t.Errorf("precision@2: got %v, want %v", got, want)
	}
}
