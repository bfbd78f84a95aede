package codes

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// PCA is a fitted principal component analysis: the data's mean and its
// first K principal directions.
type PCA struct {
	D, K int
	// Mean is the mean sample, (D).
	Mean []float64
	// Components holds the principal directions as columns, (D, K), in
	// order of falling variance, each of unit length.
	Components *mat.Dense
	// Variance holds the variance along each direction, (K), with the
	// n − 1 denominator.
	Variance []float64
}

// checkRows checks that x holds n rows of d finite values and returns n.
func checkRows(what string, x []float32, d int) (int, error) {
	if d <= 0 {
		return 0, fmt.Errorf("codes: %s: %d features per row; want at least 1", what, d)
	}
	if len(x)%d != 0 {
		return 0, fmt.Errorf("codes: %s: %d values are not whole rows of %d", what, len(x), d)
	}
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return 0, fmt.Errorf("codes: %s: row %d, feature %d is %v", what, i/d, i%d, v)
		}
	}
	return len(x) / d, nil
}

// FitPCA fits the first k principal components of x, n rows of d
// features (n ≥ 2, 1 ≤ k ≤ min(n, d)), by the singular value decomposition
// of the centred data (gonum's stat.PC).
func FitPCA(x []float32, d, k int) (*PCA, error) {
	n, err := checkRows("pca", x, d)
	if err != nil {
		return nil, err
	}
	if n < 2 {
		return nil, fmt.Errorf("codes: pca: %d rows; want at least 2", n)
	}
	if k < 1 || k > min(n, d) {
		return nil, fmt.Errorf("codes: pca: %d components of %d rows of %d features; want 1 to %d", k, n, d, min(n, d))
	}
	data := mat.NewDense(n, d, nil)
	mean := make([]float64, d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			v := float64(x[i*d+j])
			data.Set(i, j, v)
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	var pc stat.PC
	if !pc.PrincipalComponents(data, nil) {
		return nil, fmt.Errorf("codes: pca: the singular value decomposition of %d×%d data failed", n, d)
	}
	var vecs mat.Dense
	pc.VectorsTo(&vecs)
	vars := pc.VarsTo(nil)
	comp := mat.NewDense(d, k, nil)
	comp.Copy(vecs.Slice(0, d, 0, k))
	return &PCA{D: d, K: k, Mean: mean, Components: comp, Variance: vars[:k]}, nil
}

// Encode returns the codes of x, n rows of D features: (n, K), the
// coordinates (x − mean)·Components.
func (p *PCA) Encode(x []float32) ([]float32, error) {
	n, err := checkRows("pca encode", x, p.D)
	if err != nil {
		return nil, err
	}
	z := make([]float32, n*p.K)
	row, code := make([]float64, p.D), make([]float64, p.K)
	for i := 0; i < n; i++ {
		p.project(code, row, x[i*p.D:(i+1)*p.D])
		for c, v := range code {
			z[i*p.K+c] = float32(v)
		}
	}
	return z, nil
}

// project sets row to x − mean and code to its coordinates.
func (p *PCA) project(code, row []float64, x []float32) {
	for j := range row {
		row[j] = float64(x[j]) - p.Mean[j]
	}
	clear(code)
	raw := p.Components.RawMatrix()
	for j, v := range row {
		for c, w := range raw.Data[j*raw.Stride : j*raw.Stride+p.K] {
			code[c] += v * w
		}
	}
}

// Decode returns the reconstructions of codes z, n rows of K: (n, D),
// mean + z·Componentsᵀ.
func (p *PCA) Decode(z []float32) ([]float32, error) {
	n, err := checkRows("pca decode", z, p.K)
	if err != nil {
		return nil, err
	}
	x := make([]float32, n*p.D)
	raw := p.Components.RawMatrix()
	for i := 0; i < n; i++ {
		code := z[i*p.K : (i+1)*p.K]
		for j := 0; j < p.D; j++ {
			s := p.Mean[j]
			for c, w := range raw.Data[j*raw.Stride : j*raw.Stride+p.K] {
				s += float64(code[c]) * w
			}
			x[i*p.D+j] = float32(s)
		}
	}
	return x, nil
}

// ReconstructionError returns, for each row of x (n rows of D features),
// the squared distance ‖x − x̂‖² to its reconstruction from K components:
// the squared distance from x to the principal subspace through the mean,
// PCA's anomaly score.
func (p *PCA) ReconstructionError(x []float32) ([]float32, error) {
	n, err := checkRows("pca", x, p.D)
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	row, code := make([]float64, p.D), make([]float64, p.K)
	raw := p.Components.RawMatrix()
	for i := 0; i < n; i++ {
		p.project(code, row, x[i*p.D:(i+1)*p.D])
		var s float64
		for j, v := range row {
			for c, w := range raw.Data[j*raw.Stride : j*raw.Stride+p.K] {
				v -= code[c] * w
			}
			s += v * v
		}
		out[i] = float32(s)
	}
	return out, nil
}
