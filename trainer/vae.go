package trainer

import (
	"math"
	"math/rand/v2"
)

// The variational autoencoder (Kingma & Welling): the encoder's output h
// goes to two dense heads, μ = W_μh + b_μ and log σ² = W_vh + b_v; the
// decoder reconstructs from z = μ + ε ⊙ exp(½ log σ²), ε ~ N(0, I). The
// objective per sample is
//
//	reconstruction(x, x̂) + β · KL(N(μ, σ²) ‖ N(0, I)),
//	KL = ½ · Σⱼ (σⱼ² + μⱼ² − 1 − log σⱼ²),
//
// with the reconstruction summed over the sample's elements (BCE for data
// in [0, 1], computed on the logits when the output is a sigmoid; or the
// sum of squared errors), averaged over the batch. β = 1 is the VAE, β ≠ 1
// the β-VAE. log σ² is clipped to [LogVarMin, LogVarMax] (default [−30, 20])
// when sampling; the gradient does not flow through the clip.

// vaeBuffers are a variational model's tensors between passes.
type vaeBuffers struct {
	mu, logvar, z, eps, dmu, dlv, dh1, dh2 Tensor
}

func (v *Variational) bounds() (float64, float64) {
	lo, hi := v.LogVarMin, v.LogVarMax
	if lo == 0 && hi == 0 {
		lo, hi = -30, 20
	}
	return lo, hi
}

// heads computes μ and log σ² from h and returns μ.
func (m *Model) heads(h *Tensor) *Tensor {
	m.mu.Forward(&m.vae.mu, h)
	m.logvar.Forward(&m.vae.logvar, h)
	return &m.vae.mu
}

// EncodeDist returns μ and log σ² of the code's distribution for x, in
// buffers of the model's, valid until its next pass. It panics if the
// model is not variational.
func (m *Model) EncodeDist(x *Tensor) (mu, logvar *Tensor) {
	if m.mu == nil {
		panic("trainer: EncodeDist on a model that is not variational")
	}
	m.setTraining(false, nil)
	m.heads(m.run(x, 0, len(m.Encoder)))
	return &m.vae.mu, &m.vae.logvar
}

// KLDivergence returns Σ ½(e^lv + μ² − 1 − lv) over all elements: the KL
// divergence of N(μ, e^lv) from N(0, I), summed over the batch. If dmu and
// dlv are not nil it adds scale times its gradient, μ and ½(e^lv − 1).
func KLDivergence(dmu, dlv, mu, logvar *Tensor, scale float64) float64 {
	sameShape(mu, logvar)
	var sum float64
	for i, m := range mu.Data {
		lv := float64(logvar.Data[i])
		e := math.Exp(lv)
		sum += 0.5 * (e + float64(m)*float64(m) - 1 - lv)
		if dmu != nil {
			dmu.Data[i] += float32(scale * float64(m))
			dlv.Data[i] += float32(scale * 0.5 * (e - 1))
		}
	}
	return sum
}

// trainVAE is TrainStep for variational models: it samples z (or uses
// b.Eps), adds the gradients of (reconstruction + β·KL)/N and returns the
// summed reconstruction loss and β·KL summed over the batch.
func (m *Model) trainVAE(b Batch, beta float64, rng *rand.Rand) (loss, penalty float64) {
	v := &m.vae
	enc := len(m.Encoder)
	h := m.run(b.X, 0, enc)
	m.heads(h)
	n, k := v.mu.Rows(), v.mu.Cols()
	lo, hi := m.Config.Variational.bounds()
	v.z.Resize(n, k)
	if b.Eps != nil {
		sameShape(b.Eps, &v.mu)
		v.eps.Resize(n, k)
		copy(v.eps.Data, b.Eps.Data)
	} else {
		v.eps.Resize(n, k)
		for i := range v.eps.Data {
			v.eps.Data[i] = float32(rng.NormFloat64())
		}
	}
	for i, mu := range v.mu.Data {
		lv := min(max(float64(v.logvar.Data[i]), lo), hi)
		v.z.Data[i] = mu + v.eps.Data[i]*float32(math.Exp(0.5*lv))
	}
	m.run(&v.z, enc, m.trainEnd())
	loss = m.loss(b.Target, b.Weight, true)
	// The loss functions give the gradient of the mean over elements; the
	// objective averages over samples.
	g := m.grad[0]
	scale := float32(g.Len() / n)
	for i := range g.Data {
		g.Data[i] *= scale
	}
	top := len(m.acts) - 1
	if m.fused {
		top--
	}
	dz := m.backward(g, top, enc)
	v.dmu.Resize(n, k)
	v.dlv.Resize(n, k)
	for i, d := range dz.Data {
		v.dmu.Data[i] = d
		lv := float64(v.logvar.Data[i])
		if lv > lo && lv < hi {
			v.dlv.Data[i] = d * v.eps.Data[i] * 0.5 * float32(math.Exp(0.5*lv))
		} else {
			v.dlv.Data[i] = 0
		}
	}
	kl := KLDivergence(&v.dmu, &v.dlv, &v.mu, &v.logvar, beta/float64(n))
	m.mu.Backward(&v.dh1, &v.dmu)
	m.logvar.Backward(&v.dh2, &v.dlv)
	for i, d := range v.dh2.Data {
		v.dh1.Data[i] += d
	}
	m.backward(&v.dh1, enc-1, 0)
	return loss, beta * kl
}

// EvaluateVAE returns a variational model's mean reconstruction loss and KL
// per sample on data (with its conditions, nil if none), sampling z as in
// training from rng; −(recon + KL) is the ELBO per sample.
func EvaluateVAE(m *Model, data, cond *Tensor, batch int, rng *rand.Rand) (recon, kl float64) {
	if m.inferOnGraph {
		return evaluateVAEGraph(m, data, cond, batch, rng)
	}
	v := &m.vae
	enc := len(m.Encoder)
	m.setTraining(false, nil)
	d := data.Cols()
	for lo := 0; lo < data.Rows(); lo += batch {
		hi := min(lo+batch, data.Rows())
		x := &Tensor{Shape: []int{hi - lo, d}, Data: data.Data[lo*d : hi*d]}
		if cond != nil {
			kc := cond.Cols()
			m.SetCondition(&Tensor{Shape: []int{hi - lo, kc}, Data: cond.Data[lo*kc : hi*kc]})
		}
		m.heads(m.run(x, 0, enc))
		kl += KLDivergence(nil, nil, &v.mu, &v.logvar, 0)
		lo2, hi2 := m.Config.Variational.bounds()
		v.z.Resize(v.mu.Shape...)
		for i, mu := range v.mu.Data {
			lv := min(max(float64(v.logvar.Data[i]), lo2), hi2)
			v.z.Data[i] = mu + float32(rng.NormFloat64())*float32(math.Exp(0.5*lv))
		}
		m.run(&v.z, enc, len(m.acts))
		recon += m.loss(x, nil, false)
	}
	n := float64(data.Rows())
	return recon / n, kl / n
}

// evaluateVAEGraph is EvaluateVAE on the model's graph: μ and log σ² from
// one plan, the decoder from z to the output (its logits where the loss
// takes them) from another, with z drawn as the layers draw it.
func evaluateVAEGraph(m *Model, data, cond *Tensor, batch int, rng *rand.Rand) (recon, kl float64) {
	v := &m.vae
	d := data.Cols()
	in, _ := m.graphInputs()
	lo2, hi2 := m.Config.Variational.bounds()
	for lo := 0; lo < data.Rows(); lo += batch {
		hi := min(lo+batch, data.Rows())
		x := &Tensor{Shape: []int{hi - lo, d}, Data: data.Data[lo*d : hi*d]}
		if cond != nil {
			kc := cond.Cols()
			m.SetCondition(&Tensor{Shape: []int{hi - lo, kc}, Data: cond.Data[lo*kc : hi*kc]})
		}
		p := m.graphRunPlan(m.graphInputsFrom(in), []string{GraphMu, GraphLogVar}, m.graphView(x, m.Config.Input), hi-lo)
		mu, logvar := p.Value(GraphMu), p.Value(GraphLogVar)
		kl += KLDivergence(nil, nil, mu, logvar, 0)
		v.z.Resize(mu.Shape...)
		for i, u := range mu.Data {
			lv := min(max(float64(logvar.Data[i]), lo2), hi2)
			v.z.Data[i] = u + float32(rng.NormFloat64())*float32(math.Exp(0.5*lv))
		}
		out := m.graphRun(m.graphInputsFrom(GraphMu), m.lossTensor(), &v.z, hi-lo)
		recon += m.lossOf(out, m.fused, x, nil, nil)
	}
	n := float64(data.Rows())
	return recon / n, kl / n
}
