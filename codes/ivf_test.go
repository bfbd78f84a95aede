package codes

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestRecall(t *testing.T) {
	exact := [][]Neighbor{{{1, 0}, {2, 0}}, {{3, 0}, {4, 0}}}
	approx := [][]Neighbor{{{2, 0}, {7, 0}}, {{4, 0}, {3, 0}}} // ½ and 1
	got, err := Recall(approx, exact)
	if err != nil {
		t.Fatal(err)
	}
	if got != 0.75 {
		t.Errorf("got %v, want 0.75", got)
	}
}

func TestIVF(t *testing.T) {
	// Four tight clusters far apart in 2-D, 25 points each.
	rng := rand.New(rand.NewPCG(1, 2))
	centres := [][2]float32{{0, 0}, {100, 0}, {0, 100}, {100, 100}}
	var x []float32
	for i := 0; i < 100; i++ {
		c := centres[i%4]
		x = append(x, c[0]+rng.Float32(), c[1]+rng.Float32())
	}
	ix, err := NewIndex(x, 2, L2)
	if err != nil {
		t.Fatal(err)
	}
	queries := []float32{0.5, 0.5, 99, 1, 1, 99.5, 100.2, 100.7}
	exact, err := ix.Search(queries, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name         string
		lists, probe int
		want         float64
	}{
		// Every list probed: the exact search.
		{"all lists", 7, 7, 1},
		// Four lists on four separated clusters: the maximin start takes
		// one row of each cluster, so each cluster gets its own list (the
		// members are checked below), and the five nearest of a query all
		// lie in its cluster.
		{"one list a cluster", 4, 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := NewIVF(ix, c.lists, c.probe, 10, 3)
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Search(queries, 5)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Recall(got, exact)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(r-c.want) > 1e-12 {
				t.Errorf("recall: got %v, want %v", r, c.want)
			}
			if c.lists == 4 {
				for l, rows := range v.members {
					for _, i := range rows {
						if i%4 != rows[0]%4 {
							t.Errorf("list %d holds rows %v of more than one cluster", l, rows)
							break
						}
					}
				}
			}
			if c.want == 1 {
				for qi := range got {
					for i := range got[qi] {
						if got[qi][i] != exact[qi][i] {
							t.Errorf("query %d: got %v, want %v", qi, got[qi], exact[qi])
							break
						}
					}
				}
			}
		})
	}
	if _, err := NewIVF(ix, 4, 5, 10, 3); err == nil {
		t.Errorf("probe 5 of 4 lists: got no error, want one")
	}
}
