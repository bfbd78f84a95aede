package codes

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// Logistic is a multinomial logistic regression (softmax regression): the
// class of a row x is argmaxₖ (W·x + B)ₖ.
type Logistic struct {
	Classes, D int
	W          *mat.Dense // (Classes, D)
	B          []float64  // (Classes)
}

// LogisticOptions set FitLogistic's objective and its stopping rule.
type LogisticOptions struct {
	// L2 is λ in the objective's penalty (λ/2)‖W‖²_F (the biases are not
	// penalised). 0 is allowed, but without it a separable data set has no
	// minimum.
	L2 float64
	// MaxIter bounds L-BFGS's iterations; 0 means 500.
	MaxIter int
	// GradTol stops when the gradient's largest component is below it; 0
	// means 1e-6.
	GradTol float64
}

// maxParams bounds the parameters FitLogistic allocates: classes·(d + 1).
const maxParams = 1 << 26

// FitLogistic fits a multinomial logistic regression to n rows x of d
// features with class labels in [0, classes) by minimising
//
//	L(W, B) = (1/n) Σᵢ −log softmax(W·xᵢ + B)_{yᵢ} + (λ/2)‖W‖²_F
//
// with L-BFGS, from W = 0, B = 0. For λ > 0 L is strictly
// convex in W, so the fit is the unique minimum whatever the optimizer —
// what PyTorch's torch.optim.LBFGS finds on the same objective.
// classes ≤ 0 means one more than the largest label. It refuses more
// than 2²⁶ parameters, classes·(d + 1) (a stray label of 10⁹ in a file
// would otherwise ask for gigabytes).
func FitLogistic(x []float32, d int, labels []int, classes int, opts LogisticOptions) (*Logistic, error) {
	n, err := checkRows("logistic regression", x, d)
	if err != nil {
		return nil, err
	}
	if len(labels) != n {
		return nil, fmt.Errorf("codes: logistic regression: %d rows but %d labels", n, len(labels))
	}
	if n == 0 {
		return nil, errors.New("codes: logistic regression: no rows")
	}
	if opts.L2 < 0 || math.IsNaN(opts.L2) || math.IsInf(opts.L2, 0) {
		return nil, fmt.Errorf("codes: logistic regression: L2 weight %v must be finite and not negative", opts.L2)
	}
	if classes <= 0 {
		for _, l := range labels {
			classes = max(classes, l+1)
		}
	}
	for i, l := range labels {
		if l < 0 || l >= classes {
			return nil, fmt.Errorf("codes: logistic regression: label %d is %d; want 0 to %d", i, l, classes-1)
		}
	}
	if classes > maxParams/(d+1) {
		return nil, fmt.Errorf("codes: logistic regression: %d classes of %d features make more than %d parameters", classes, d, maxParams)
	}
	if classes < 2 {
		return nil, fmt.Errorf("codes: logistic regression: %d class; want at least 2", classes)
	}
	X := mat.NewDense(n, d, nil)
	for i, v := range x {
		X.RawMatrix().Data[i] = float64(v)
	}
	k := classes
	logits := mat.NewDense(n, k, nil)
	dlogits := mat.NewDense(n, k, nil)
	// The parameters are W (k×d, row-major) then B (k).
	objective := func(grad, p []float64) float64 {
		W := mat.NewDense(k, d, p[:k*d])
		b := p[k*d:]
		logits.Mul(X, W.T())
		var loss float64
		for i := 0; i < n; i++ {
			row := logits.RawRowView(i)
			drow := dlogits.RawRowView(i)
			m := math.Inf(-1)
			for c := range row {
				row[c] += b[c]
				m = max(m, row[c])
			}
			var s float64
			for _, v := range row {
				s += math.Exp(v - m)
			}
			lse := m + math.Log(s)
			loss += lse - row[labels[i]]
			for c, v := range row {
				drow[c] = math.Exp(v-lse) / float64(n)
			}
			drow[labels[i]] -= 1 / float64(n)
		}
		loss /= float64(n)
		var sq float64
		for _, w := range p[:k*d] {
			sq += w * w
		}
		loss += opts.L2 / 2 * sq
		if grad != nil {
			gW := mat.NewDense(k, d, grad[:k*d])
			gW.Mul(dlogits.T(), X)
			for j, w := range p[:k*d] {
				grad[j] += opts.L2 * w
			}
			gb := grad[k*d:]
			clear(gb)
			for i := 0; i < n; i++ {
				for c, v := range dlogits.RawRowView(i) {
					gb[c] += v
				}
			}
		}
		return loss
	}
	maxIter := opts.MaxIter
	if maxIter == 0 {
		maxIter = 500
	}
	tol := opts.GradTol
	if tol == 0 {
		tol = 1e-6
	}
	p := lbfgs(objective, make([]float64, k*d+k), maxIter, tol)
	return &Logistic{Classes: k, D: d, W: mat.NewDense(k, d, p[:k*d]), B: p[k*d:]}, nil
}

// Logits returns W·x + B for n rows x of D features: (n, Classes).
func (m *Logistic) Logits(x []float32) ([]float64, error) {
	n, err := checkRows("logistic regression", x, m.D)
	if err != nil {
		return nil, err
	}
	out := make([]float64, n*m.Classes)
	raw := m.W.RawMatrix()
	for i := 0; i < n; i++ {
		row := x[i*m.D : (i+1)*m.D]
		for c := 0; c < m.Classes; c++ {
			s := m.B[c]
			for j, w := range raw.Data[c*raw.Stride : c*raw.Stride+m.D] {
				s += w * float64(row[j])
			}
			out[i*m.Classes+c] = s
		}
	}
	return out, nil
}

// Predict returns the class of each of n rows x of D features: the
// largest logit's, the first on a tie.
func (m *Logistic) Predict(x []float32) ([]int, error) {
	logits, err := m.Logits(x)
	if err != nil {
		return nil, err
	}
	n := len(logits) / m.Classes
	out := make([]int, n)
	for i := range out {
		row := logits[i*m.Classes : (i+1)*m.Classes]
		for c, v := range row {
			if v > row[out[i]] {
				out[i] = c
			}
		}
	}
	return out, nil
}

// Accuracy returns the fraction of predictions equal to the labels. It
// panics if the lengths differ or are 0.
func Accuracy(pred, labels []int) float64 {
	if len(pred) != len(labels) || len(pred) == 0 {
		panic(fmt.Sprintf("codes: Accuracy of %d predictions against %d labels", len(pred), len(labels)))
	}
	hit := 0
	for i, p := range pred {
		if p == labels[i] {
			hit++
		}
	}
	return float64(hit) / float64(len(pred))
}

// Standardizer shifts and scales features to zero mean and unit variance,
// with statistics from the data it was fitted on (features of zero
// variance are only shifted).
type Standardizer struct {
	Mean, Scale []float64 // (D) each; Scale is 1/σ, or 1 where σ = 0
}

// FitStandardizer returns the Standardizer of n rows x of d features.
func FitStandardizer(x []float32, d int) (*Standardizer, error) {
	n, err := checkRows("standardize", x, d)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errors.New("codes: standardize: no rows")
	}
	s := &Standardizer{Mean: make([]float64, d), Scale: make([]float64, d)}
	for i, v := range x {
		s.Mean[i%d] += float64(v)
	}
	for j := range s.Mean {
		s.Mean[j] /= float64(n)
	}
	for i, v := range x {
		e := float64(v) - s.Mean[i%d]
		s.Scale[i%d] += e * e
	}
	for j, v := range s.Scale {
		if sd := math.Sqrt(v / float64(n)); sd > 0 {
			s.Scale[j] = 1 / sd
		} else {
			s.Scale[j] = 1
		}
	}
	return s, nil
}

// Apply returns standardized copies of n rows x of D features.
func (s *Standardizer) Apply(x []float32) []float32 {
	d := len(s.Mean)
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32((float64(v) - s.Mean[i%d]) * s.Scale[i%d])
	}
	return out
}

// lbfgs minimises f from x0 by limited-memory BFGS (the two-loop
// recursion of Nocedal and Wright, Algorithm 7.4, with the last 10
// pairs) and a backtracking line search for Armijo's condition. f returns
// the value at p and, when grad is not nil, writes the gradient there. It
// stops after maxIter iterations, when the largest gradient component is
// below tol, or when a step no longer lowers f.
func lbfgs(f func(grad, p []float64) float64, x0 []float64, maxIter int, tol float64) []float64 {
	const memory = 10
	n := len(x0)
	x := slices.Clone(x0)
	g := make([]float64, n)
	fx := f(g, x)
	var ss, ys [][]float64
	var rhos []float64
	dir := make([]float64, n)
	xn, gn := make([]float64, n), make([]float64, n)
	alpha := make([]float64, memory)
	for iter := 0; iter < maxIter; iter++ {
		if floats.Norm(g, math.Inf(1)) < tol {
			break
		}
		// dir = −H·g by the two-loop recursion.
		copy(dir, g)
		for i := len(ss) - 1; i >= 0; i-- {
			alpha[i] = rhos[i] * floats.Dot(ss[i], dir)
			floats.AddScaled(dir, -alpha[i], ys[i])
		}
		if m := len(ss); m > 0 {
			floats.Scale(floats.Dot(ss[m-1], ys[m-1])/floats.Dot(ys[m-1], ys[m-1]), dir)
		} else {
			floats.Scale(1/max(floats.Norm(g, 2), 1), dir)
		}
		for i := range ss {
			beta := rhos[i] * floats.Dot(ys[i], dir)
			floats.AddScaled(dir, alpha[i]-beta, ss[i])
		}
		floats.Scale(-1, dir)
		slope := floats.Dot(g, dir)
		if slope >= 0 { // not a descent direction: restart from the gradient
			ss, ys, rhos = ss[:0], ys[:0], rhos[:0]
			copy(dir, g)
			floats.Scale(-1/max(floats.Norm(g, 2), 1), dir)
			slope = floats.Dot(g, dir)
		}
		step, fn := 1.0, 0.0
		for tries := 0; ; tries++ {
			floats.AddScaledTo(xn, x, step, dir)
			fn = f(gn, xn)
			if fn <= fx+1e-4*step*slope {
				break
			}
			if tries == 40 {
				return x
			}
			step /= 2
		}
		s, y := make([]float64, n), make([]float64, n)
		floats.SubTo(s, xn, x)
		floats.SubTo(y, gn, g)
		if sy := floats.Dot(s, y); sy > 1e-12 {
			if len(ss) == memory {
				ss, ys, rhos = ss[1:], ys[1:], rhos[1:]
			}
			ss, ys, rhos = append(ss, s), append(ys, y), append(rhos, 1/sy)
		}
		improved := fx - fn
		copy(x, xn)
		copy(g, gn)
		fx = fn
		if improved <= 1e-15*max(1, math.Abs(fx)) {
			break
		}
	}
	return x
}
