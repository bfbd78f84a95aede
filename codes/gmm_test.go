package codes

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestGaussianMixtureRecoversItsComponents fits two components to draws
// from a known two-component mixture and checks the weights, means and
// covariances against the generating ones, and the sampler's moments
// against the fitted mixture's.
func TestGaussianMixtureRecoversItsComponents(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 6000
	x := make([]float32, 0, 2*n)
	for range n {
		if r.Float64() < 0.3 {
			x = append(x, float32(-3+0.5*r.NormFloat64()), float32(1+0.2*r.NormFloat64()))
		} else {
			u, v := r.NormFloat64(), r.NormFloat64()
			x = append(x, float32(2+u), float32(-1+0.5*u+0.5*v)) // correlated
		}
	}
	g, ll, err := FitGaussianMixture(x, 2, 2, 200, 7)
	if err != nil {
		t.Fatal(err)
	}
	a, b := 0, 1
	if g.Means[0][0] > g.Means[1][0] {
		a, b = 1, 0
	}
	near := func(what string, got, want, tol float64) {
		if math.Abs(got-want) > tol {
			t.Errorf("%s: got %.4f, want %.4f ± %g", what, got, want, tol)
		}
	}
	near("weight a", g.Weights[a], 0.3, 0.02)
	near("mean a x", g.Means[a][0], -3, 0.03)
	near("mean a y", g.Means[a][1], 1, 0.02)
	near("var a x", g.Covs[a][0], 0.25, 0.02)
	near("mean b x", g.Means[b][0], 2, 0.05)
	near("cov b xy", g.Covs[b][1], 0.5, 0.05)
	near("var b y", g.Covs[b][3], 0.5, 0.05)
	// The mean log-likelihood is the mean of LogDensity.
	dens, err := g.LogDensity(x)
	if err != nil {
		t.Fatal(err)
	}
	var mean float64
	for _, v := range dens {
		mean += v / n
	}
	near("mean log-likelihood", mean, ll, 1e-3)
	s := g.Sample(20000, rand.New(rand.NewPCG(3, 4)))
	var m0 float64
	for i := 0; i < len(s); i += 2 {
		m0 += float64(s[i]) / 20000
	}
	near("sample mean x", m0, g.Weights[a]*g.Means[a][0]+g.Weights[b]*g.Means[b][0], 0.05)
}

// TestGaussianMixtureLogDensityIsTheNormalOne checks one component against
// the closed form of a 2-D normal density.
func TestGaussianMixtureLogDensityIsTheNormalOne(t *testing.T) {
	g := &GaussianMixture{D: 2, Weights: []float64{1}, Means: [][]float64{{1, -1}}, Covs: [][]float64{{2, 0.6, 0.6, 1}}}
	if err := g.Check(); err != nil {
		t.Fatal(err)
	}
	got, err := g.LogDensity([]float32{0.5, 0.25})
	if err != nil {
		t.Fatal(err)
	}
	det := 2*1 - 0.6*0.6
	dx, dy := 0.5-1.0, 0.25+1.0
	q := (1*dx*dx - 2*0.6*dx*dy + 2*dy*dy) / det // dᵀ Σ⁻¹ d
	want := -math.Log(2*math.Pi) - 0.5*math.Log(det) - 0.5*q
	if math.Abs(got[0]-want) > 1e-12 {
		t.Errorf("log density: got %v, want %v", got[0], want)
	}
}

func TestReadGaussianMixture(t *testing.T) {
	g, _, err := FitGaussianMixture([]float32{0, 0, 1, 0, 0, 1, 1, 1, 5, 5, 6, 5, 5, 6, 6, 6}, 2, 2, 50, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(g)
	back, err := ReadGaussianMixture(b)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := back.Sample(3, rand.New(rand.NewPCG(1, 1))), g.Sample(3, rand.New(rand.NewPCG(1, 1))); len(got) != 6 || got[5] != want[5] {
		t.Errorf("read back samples %v, want %v", got, want)
	}
	for _, tt := range []struct{ json, want string }{
		{`{"d":2,"weights":[0.5,0.4],"means":[[0,0],[1,1]],"covs":[[1,0,0,1],[1,0,0,1]]}`, "weights sum to 0.9"},
		{`{"d":2,"weights":[1],"means":[[0,0]],"covs":[[1,2,2,1]]}`, "covs[0] is not positive definite"},
		{`{"d":2,"weights":[1],"means":[[0,0]],"covs":[[1,0,0.5,1]]}`, "finite symmetric matrix"},
		{`{"d":2,"weights":[1],"means":[[0]],"covs":[[1,0,0,1]]}`, "mean of 1 values"},
		{`{"d":2,"weights":[-1,2],"means":[[0,0],[0,0]],"covs":[[1,0,0,1],[1,0,0,1]]}`, "weights[0] = -1"},
		{`{"d":0,"weights":[],"means":[],"covs":[]}`, "want 1 ≤ d ≤ 4096"},
		{`{"d":2,"weights":[1]`, "unexpected end"},
	} {
		if _, err := ReadGaussianMixture([]byte(tt.json)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.json, err, tt.want)
		}
	}
}

// FuzzReadGaussianMixture: whatever the bytes, a read mixture is one that
// Check accepts and that samples finite codes.
func FuzzReadGaussianMixture(f *testing.F) {
	f.Add([]byte(`{"d":2,"weights":[1],"means":[[0,0]],"covs":[[1,0,0,1]]}`))
	f.Add([]byte(`{"d":1,"weights":[0.5,0.5],"means":[[0],[3]],"covs":[[1],[0.25]]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ReadGaussianMixture(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "codes: gaussian mixture: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			return
		}
		for _, v := range g.Sample(4, rand.New(rand.NewPCG(1, 1))) {
			if math.IsNaN(float64(v)) {
				t.Fatalf("sampled NaN from %s", b)
			}
		}
	})
}
