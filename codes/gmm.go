package codes

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// GaussianMixture is a mixture of K Gaussians with full covariances over
// D-dimensional codes: the ex-post density of a deterministic
// autoencoder's codes (Ghosh et al.'s RAE), sampled to generate.
type GaussianMixture struct {
	D       int         `json:"d"`
	Weights []float64   `json:"weights"` // (K), summing to 1
	Means   [][]float64 `json:"means"`   // (K, D)
	Covs    [][]float64 `json:"covs"`    // (K, D·D), row-major, symmetric positive definite

	chol []*mat.Cholesky // of Covs, by Check
}

// Regularisation added to each covariance's diagonal, as scikit-learn's
// GaussianMixture does (reg_covar).
const gmmRegCovar = 1e-6

// FitGaussianMixture fits k components to the rows of x, (n, d), by
// expectation–maximisation from k distinct rows drawn by k-means++
// seeding (rng from seed): at most iters iterations, stopping when the
// mean log-likelihood gains less than 1e-6. It returns the mixture and the
// mean log-likelihood of x under it.
func FitGaussianMixture(x []float32, d, k, iters int, seed uint64) (*GaussianMixture, float64, error) {
	n, err := checkRows("gaussian mixture", x, d)
	if err != nil {
		return nil, 0, err
	}
	if k < 1 || k > n {
		return nil, 0, fmt.Errorf("codes: gaussian mixture: %d components for %d rows; want 1 to %d", k, n, n)
	}
	rng := rand.New(rand.NewPCG(seed, 0x676d6d))
	row := func(i int) []float32 { return x[i*d : (i+1)*d] }
	g := &GaussianMixture{D: d, Weights: make([]float64, k), Means: make([][]float64, k), Covs: make([][]float64, k)}
	// k-means++ seeding of the means.
	dist := make([]float64, n)
	for i := range dist {
		dist[i] = math.Inf(1)
	}
	for c := range k {
		pick := rng.IntN(n)
		if c > 0 {
			var total float64
			for _, v := range dist {
				total += v
			}
			u := rng.Float64() * total
			for i, v := range dist {
				if u -= v; u <= 0 {
					pick = i
					break
				}
			}
		}
		g.Means[c] = to64(row(pick))
		for i := range n {
			var s float64
			for j, v := range row(i) {
				t := float64(v) - g.Means[c][j]
				s += t * t
			}
			dist[i] = math.Min(dist[i], s)
		}
	}
	// Every component starts with the data's covariance and equal weight.
	mean := make([]float64, d)
	for i := range n {
		for j, v := range row(i) {
			mean[j] += float64(v) / float64(n)
		}
	}
	cov := make([]float64, d*d)
	for i := range n {
		r := row(i)
		for a := range d {
			for b := a; b < d; b++ {
				cov[a*d+b] += (float64(r[a]) - mean[a]) * (float64(r[b]) - mean[b]) / float64(n)
			}
		}
	}
	mirror(cov, d)
	for c := range k {
		g.Weights[c] = 1 / float64(k)
		g.Covs[c] = append([]float64(nil), cov...)
		for a := range d {
			g.Covs[c][a*d+a] += gmmRegCovar
		}
	}
	resp := make([]float64, n*k)
	prev := math.Inf(-1)
	var ll float64
	for it := 0; it < max(1, iters); it++ {
		if err := g.Check(); err != nil {
			return nil, 0, fmt.Errorf("codes: gaussian mixture: iteration %d: %w", it, err)
		}
		// E step: responsibilities from the log densities.
		ll = 0
		for i := range n {
			r := resp[i*k : (i+1)*k]
			top := math.Inf(-1)
			for c := range k {
				r[c] = math.Log(g.Weights[c]) + g.logDensity(c, row(i))
				top = math.Max(top, r[c])
			}
			var s float64
			for c := range k {
				s += math.Exp(r[c] - top)
			}
			lse := top + math.Log(s)
			ll += lse / float64(n)
			for c := range k {
				r[c] = math.Exp(r[c] - lse)
			}
		}
		if ll-prev < 1e-6 {
			break
		}
		prev = ll
		// M step.
		for c := range k {
			var nk float64
			mu := make([]float64, d)
			for i := range n {
				w := resp[i*k+c]
				nk += w
				for j, v := range row(i) {
					mu[j] += w * float64(v)
				}
			}
			nk = math.Max(nk, 10*math.SmallestNonzeroFloat64)
			for j := range mu {
				mu[j] /= nk
			}
			cv := make([]float64, d*d)
			for i := range n {
				w, r := resp[i*k+c], row(i)
				for a := range d {
					ta := float64(r[a]) - mu[a]
					for b := a; b < d; b++ {
						cv[a*d+b] += w * ta * (float64(r[b]) - mu[b]) / nk
					}
				}
			}
			mirror(cv, d)
			for a := range d {
				cv[a*d+a] += gmmRegCovar
			}
			g.Weights[c], g.Means[c], g.Covs[c] = nk/float64(n), mu, cv
		}
	}
	if err := g.Check(); err != nil {
		return nil, 0, fmt.Errorf("codes: gaussian mixture: %w", err)
	}
	return g, ll, nil
}

// mirror copies the upper triangle of the d×d matrix m into its lower.
func mirror(m []float64, d int) {
	for a := range d {
		for b := a + 1; b < d; b++ {
			m[b*d+a] = m[a*d+b]
		}
	}
}

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// Check validates the mixture's sizes and values — positive weights
// summing to 1, finite means, symmetric positive definite covariances —
// and factors the covariances for LogDensity and Sample. A mixture read
// from a file must pass it before use; ReadGaussianMixture calls it.
func (g *GaussianMixture) Check() error {
	k := len(g.Weights)
	if g.D < 1 || g.D > 4096 || k < 1 || k > 4096 || len(g.Means) != k || len(g.Covs) != k {
		return fmt.Errorf("d = %d with %d weights, %d means and %d covariances: want 1 ≤ d ≤ 4096 and as many of each (1 to 4096)", g.D, k, len(g.Means), len(g.Covs))
	}
	var sum float64
	g.chol = make([]*mat.Cholesky, k)
	for c := range k {
		w := g.Weights[c]
		if !(w > 0) || math.IsInf(w, 0) {
			return fmt.Errorf("weights[%d] = %v: want a positive weight", c, w)
		}
		sum += w
		if len(g.Means[c]) != g.D || len(g.Covs[c]) != g.D*g.D {
			return fmt.Errorf("component %d: mean of %d values and covariance of %d; want %d and %d", c, len(g.Means[c]), len(g.Covs[c]), g.D, g.D*g.D)
		}
		for j, v := range g.Means[c] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("means[%d][%d] = %v", c, j, v)
			}
		}
		cv := g.Covs[c]
		for a := range g.D {
			for b := range g.D {
				if v := cv[a*g.D+b]; math.IsNaN(v) || math.IsInf(v, 0) || v != cv[b*g.D+a] {
					return fmt.Errorf("covs[%d]: entry (%d, %d) = %v: want a finite symmetric matrix", c, a, b, v)
				}
			}
		}
		var ch mat.Cholesky
		if !ch.Factorize(mat.NewSymDense(g.D, append([]float64(nil), cv...))) {
			return fmt.Errorf("covs[%d] is not positive definite", c)
		}
		g.chol[c] = &ch
	}
	if math.Abs(sum-1) > 1e-6 {
		return fmt.Errorf("weights sum to %v, not 1", sum)
	}
	return nil
}

// logDensity is log N(x; μ_c, Σ_c).
func (g *GaussianMixture) logDensity(c int, x []float32) float64 {
	d := g.D
	diff := mat.NewVecDense(d, nil)
	for j, v := range x {
		diff.SetVec(j, float64(v)-g.Means[c][j])
	}
	var sol mat.VecDense
	if err := g.chol[c].SolveVecTo(&sol, diff); err != nil {
		return math.Inf(-1)
	}
	return -0.5 * (float64(d)*math.Log(2*math.Pi) + g.chol[c].LogDet() + mat.Dot(diff, &sol))
}

// LogDensity returns the log density of each row of x, (n, D), under the
// mixture (Check must have passed).
func (g *GaussianMixture) LogDensity(x []float32) ([]float64, error) {
	n, err := checkRows("gaussian mixture density", x, g.D)
	if err != nil {
		return nil, err
	}
	out := make([]float64, n)
	terms := make([]float64, len(g.Weights))
	for i := range n {
		top := math.Inf(-1)
		for c := range g.Weights {
			terms[c] = math.Log(g.Weights[c]) + g.logDensity(c, x[i*g.D:(i+1)*g.D])
			top = math.Max(top, terms[c])
		}
		var s float64
		for _, t := range terms {
			s += math.Exp(t - top)
		}
		out[i] = top + math.Log(s)
	}
	return out, nil
}

// Sample draws n codes, (n, D), from the mixture with rng: a component by
// its weight, then μ + L·u with Σ = L·Lᵀ and u ~ N(0, I).
func (g *GaussianMixture) Sample(n int, rng *rand.Rand) []float32 {
	d := g.D
	out := make([]float32, n*d)
	u := make([]float64, d)
	for i := range n {
		c, r := len(g.Weights)-1, rng.Float64()
		for j, w := range g.Weights {
			if r -= w; r < 0 {
				c = j
				break
			}
		}
		for j := range u {
			u[j] = rng.NormFloat64()
		}
		var l mat.TriDense
		g.chol[c].LTo(&l)
		for a := range d {
			v := g.Means[c][a]
			for b := 0; b <= a; b++ {
				v += l.At(a, b) * u[b]
			}
			out[i*d+a] = float32(v)
		}
	}
	return out
}

// ReadGaussianMixture decodes a mixture written by json.Marshal and checks
// it (Check); the error names the field at fault.
func ReadGaussianMixture(b []byte) (*GaussianMixture, error) {
	var g GaussianMixture
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("codes: gaussian mixture: %w", err)
	}
	if err := g.Check(); err != nil {
		return nil, fmt.Errorf("codes: gaussian mixture: %w", err)
	}
	return &g, nil
}
