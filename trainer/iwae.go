package trainer

import (
	"math"
	"math/rand/v2"
)

// The importance-weighted autoencoder (Burda et al., 2016; pythae's IWAE):
// the VAE's model, trained on the tighter bound
//
//	L_K(x) = log (1/K) Σₖ wₖ,  log wₖ = log p(x|zₖ) + log p(zₖ) − log q(zₖ|x),
//
// zₖ = μ + σ⊙εₖ, εₖ ~ N(0, I), k = 1…K. The constants of the Gaussian
// densities cancel in log p(z) − log q(z|x), which is
//
//	Σⱼ ½(log σⱼ² + εⱼ²) − ½zⱼ²,
//
// and −log p(x|z) is the reconstruction loss the VAE uses, summed over the
// sample's elements (BCE; or MSE, a Gaussian of variance ½ — pythae's IWAE
// takes ½·MSE, variance 1; the bound differs by that convention only). The
// objective is −(1/N) Σₙ L_K(xₙ); its gradient is Σₖ w̃ₖ ∇log wₖ with
// w̃ = softmax(log w) over the K samples, held fixed, as pythae computes it.
// With K = 1 it is the VAE's ELBO with the KL estimated from the one
// sample instead of in closed form.

// maxImportanceSamples bounds K: the decoder runs on K times the batch.
const maxImportanceSamples = 4096

// iwaeStep is graphStep for variant iwae, after the encoder's forward
// pass: it draws K samples of z per input (or uses b.Eps, (batch·K,
// latent), sample k of input n in row n·K + k), runs the decoder on them
// (tp.dec, planned for batch·K), and adds the gradients of the objective.
// It returns −Σₙ L_K(xₙ) over the batch, and no penalty.
func (m *Model) iwaeStep(tp *trainPlan, b Batch, k int, rng *rand.Rand) (loss, penalty float64) {
	v := &m.vae
	mu, logvar := tp.plan.Value(GraphMu), tp.plan.Value(GraphLogVar)
	n, l := mu.Rows(), mu.Cols()
	rows := n * k
	lo, hi := m.Config.Variational.bounds()
	v.z.Resize(rows, l)
	v.eps.Resize(rows, l)
	if b.Eps != nil {
		sameShape(b.Eps, &v.eps)
		copy(v.eps.Data, b.Eps.Data)
	} else {
		for i := range v.eps.Data {
			v.eps.Data[i] = float32(rng.NormFloat64())
		}
	}
	tp.logw = resize64(tp.logw, rows)
	for r := range rows {
		s := r / k
		var lpq float64 // log p(z) − log q(z|x)
		for j := range l {
			lv := min(max(float64(logvar.Data[s*l+j]), lo), hi)
			e := float64(v.eps.Data[r*l+j])
			z := float32(float64(mu.Data[s*l+j]) + e*math.Exp(0.5*lv))
			v.z.Data[r*l+j] = z
			lpq += 0.5*(lv+e*e) - 0.5*float64(z)*float64(z)
		}
		tp.logw[r] = lpq
	}
	tp.dec.SetTraining(true, rng)
	tp.inputs[0] = &v.z
	if err := tp.dec.Forward(tp.inputs[:1]...); err != nil {
		panic(ErrShape)
	}
	out := tp.dec.Value(tp.out)
	d := out.Len() / rows
	tp.dout.Resize(out.Shape...)
	row := func(t *Tensor, r int, view *Tensor) *Tensor {
		*view = Tensor{Shape: append(view.Shape[:0], 1, d), Data: t.Data[r*d : (r+1)*d]}
		return view
	}
	var ov, tv, gv Tensor
	for r := range rows {
		recon := m.lossOf(row(out, r, &ov), m.fused, row(b.Target, r/k, &tv), nil, row(&tp.dout, r, &gv))
		tp.logw[r] -= recon
	}
	// w̃ per input, the bound, and the gradients: with the objective
	// O = −(1/N)Σₙ L_K(xₙ), ∂O/∂log wₖ = −w̃ₖ/N.
	v.dmu.Resize(n, l)
	v.dlv.Resize(n, l)
	v.dmu.Zero()
	v.dlv.Zero()
	for s := range n {
		w := tp.logw[s*k : (s+1)*k]
		top := math.Inf(-1)
		for _, x := range w {
			top = max(top, x)
		}
		var sum float64
		for _, x := range w {
			sum += math.Exp(x - top)
		}
		lse := top + math.Log(sum)
		loss -= lse - math.Log(float64(k))
		for i := range w {
			w[i] = math.Exp(w[i]-lse) / float64(n) // now w̃ₖ/N
		}
	}
	// The reconstruction's gradient: lossOf gave ∂recon/∂out divided by
	// the d elements of a row.
	for r := range rows {
		c := float32(tp.logw[r] * float64(d))
		for i := r * d; i < (r+1)*d; i++ {
			tp.dout.Data[i] *= c
		}
	}
	tp.dec.Backward(&tp.dout)
	dz := tp.dec.Grad(GraphMu)
	for r := range rows {
		s, c := r/k, tp.logw[r]
		for j := range l {
			lv := float64(logvar.Data[s*l+j])
			z, e := float64(v.z.Data[r*l+j]), float64(v.eps.Data[r*l+j])
			// ∂O/∂z: through the decoder, and c·z from log p(z) = −½z².
			g := float64(dz.Data[r*l+j]) + c*z
			v.dmu.Data[s*l+j] += float32(g)
			if lv > lo && lv < hi {
				// z = μ + ε·e^{lv/2}, and −log q holds +½lv.
				v.dlv.Data[s*l+j] += float32(g*e*0.5*math.Exp(0.5*lv) - 0.5*c)
			}
		}
	}
	tp.plan.Backward(&v.dmu, &v.dlv)
	return loss, 0
}

func resize64(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

// EvaluateIWAE returns the importance-weighted bound L_K per sample,
// averaged over data, with K samples per input drawn from rng: the
// quantity variant iwae maximises (−L_K is its validation loss).
func EvaluateIWAE(m *Model, data *Tensor, k, batch int, rng *rand.Rand) float64 {
	v := &m.vae
	d := data.Cols()
	in, _ := m.graphInputs()
	lo, hi := m.Config.Variational.bounds()
	var bound float64
	var logw []float64
	var ov, tv Tensor
	for first := 0; first < data.Rows(); first += batch {
		last := min(first+batch, data.Rows())
		n := last - first
		x := &Tensor{Shape: []int{n, d}, Data: data.Data[first*d : last*d]}
		p := m.graphRunPlan(m.graphInputsFrom(in), []string{GraphMu, GraphLogVar}, m.graphView(x, m.Config.Input), n)
		mu, logvar := p.Value(GraphMu), p.Value(GraphLogVar)
		l := mu.Cols()
		v.z.Resize(n*k, l)
		logw = resize64(logw, n*k)
		for r := range n * k {
			s := r / k
			var lpq float64
			for j := range l {
				lv := min(max(float64(logvar.Data[s*l+j]), lo), hi)
				e := rng.NormFloat64()
				z := float32(float64(mu.Data[s*l+j]) + e*math.Exp(0.5*lv))
				v.z.Data[r*l+j] = z
				lpq += 0.5*(lv+e*e) - 0.5*float64(z)*float64(z)
			}
			logw[r] = lpq
		}
		out := m.graphRun(m.graphInputsFrom(GraphMu), m.lossTensor(), &v.z, n*k)
		for r := range n * k {
			ov = Tensor{Shape: []int{1, d}, Data: out.Data[r*d : (r+1)*d]}
			tv = Tensor{Shape: []int{1, d}, Data: x.Data[(r/k)*d : (r/k+1)*d]}
			logw[r] -= m.lossOf(&ov, m.fused, &tv, nil, nil)
		}
		for s := range n {
			w := logw[s*k : (s+1)*k]
			top := math.Inf(-1)
			for _, x := range w {
				top = max(top, x)
			}
			var sum float64
			for _, x := range w {
				sum += math.Exp(x - top)
			}
			bound += top + math.Log(sum) - math.Log(float64(k))
		}
	}
	return bound / float64(data.Rows())
}
