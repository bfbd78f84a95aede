package codes

import (
	"math"
	"strings"
	"testing"
)

func TestPCAReconstructionError(t *testing.T) {
	// Points (tᵢ, eᵢ, 0) + offset with Σt = Σe = Σt·e = 0 and var t ≫ var e:
	// the first principal direction is the x axis, so with one component
	// the squared error of a point (a, b, c) + offset is b² + c², and with
	// two it is c².
	off := []float32{1, -2, 3}
	ts := []float32{-3, -1, 1, 3}
	es := []float32{0.5, -0.5, -0.5, 0.5} // Σ t·e = −1.5 + 0.5 − 0.5 + 1.5 = 0
	var x []float32
	for i := range ts {
		x = append(x, ts[i]+off[0], es[i]+off[1], off[2])
	}
	queries := []float32{
		0 + off[0], 0 + off[1], 0 + off[2], // the mean: error 0
		2 + off[0], 1 + off[1], 0 + off[2], // 1 off the line
		-5 + off[0], 0 + off[1], 2 + off[2], // 2 off the plane
	}
	cases := []struct {
		name string
		k    int
		want []float64
	}{
		{"one component", 1, []float64{0, 1, 4}},
		{"two components", 2, []float64{0, 0, 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := FitPCA(x, 3, c.k)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.ReconstructionError(queries)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if math.Abs(float64(got[i])-c.want[i]) > 1e-5 {
					t.Errorf("error of query %d: got %v, want %v", i, got[i], c.want[i])
				}
			}
			if math.Abs(math.Abs(p.Components.At(0, 0))-1) > 1e-9 {
				t.Errorf("first direction: got %v, want ±(1, 0, 0)", p.Components.ColView(0))
			}
			// var t = (9+1+1+9)/3 with the n − 1 denominator.
			if math.Abs(p.Variance[0]-20.0/3) > 1e-9 {
				t.Errorf("variance: got %v, want %v", p.Variance[0], 20.0/3)
			}
			// Encode then Decode gives the same reconstruction.
			z, _ := p.Encode(queries)
			xhat, _ := p.Decode(z)
			for i := 0; i < 3; i++ {
				var s float64
				for j := 0; j < 3; j++ {
					e := float64(queries[i*3+j] - xhat[i*3+j])
					s += e * e
				}
				if math.Abs(s-c.want[i]) > 1e-5 {
					t.Errorf("decoded error of query %d: got %v, want %v", i, s, c.want[i])
				}
			}
		})
	}
}

func TestFitPCARefuses(t *testing.T) {
	cases := []struct {
		name string
		x    []float32
		d, k int
		want string
	}{
		{"ragged", []float32{1, 2, 3}, 2, 1, "3 values are not whole rows of 2"},
		{"one row", []float32{1, 2}, 2, 1, "1 rows; want at least 2"},
		{"too many components", []float32{1, 2, 3, 4}, 2, 3, "3 components"},
		{"NaN", []float32{1, 2, float32(math.NaN()), 4}, 2, 1, "row 1, feature 0 is NaN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := FitPCA(c.x, c.d, c.k)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}
