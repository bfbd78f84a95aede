package trainer

import (
	"math/rand/v2"
	"strings"
)

// The Wasserstein autoencoder with the MMD penalty (Tolstikhin et al.,
// 2018; pythae's WAE_MMD): a deterministic autoencoder whose codes z are
// pulled towards the prior N(0, I) by the maximum mean discrepancy
// between the batch's codes and as many prior draws p,
//
//	MMD = Σᵢ≠ⱼ k(zᵢ, zⱼ)/(N−1) + Σᵢ≠ⱼ k(pᵢ, pⱼ)/(N−1) − 2·Σᵢⱼ k(zᵢ, pⱼ)/N
//
// (pythae's estimate, N times the unbiased one), with the inverse
// multiquadric kernel k(a, b) = Σₛ Cₛ/(Cₛ + ‖a − b‖²), Cₛ = 2·d·σ²·s over
// the scales s of mmdScales, d the code's size and σ the bandwidth. The
// objective is (1/N)Σₙ recon(xₙ) + λ·MMD, the reconstruction summed over
// a sample's elements, as pythae takes it. A batch of one sample has no
// MMD (the estimate needs two).

// mmdScales are pythae's default scales of the inverse multiquadric kernel.
var mmdScales = []float64{0.1, 0.2, 0.5, 1, 2, 5, 10}

// MMDPenalty returns λ·MMD between the codes z and the prior draws p, both
// (N, d), with bandwidth sigma (0 means 1), and adds its gradient with
// respect to z into dz when dz is not nil.
func MMDPenalty(dz, z, p *Tensor, lambda, sigma float64) float64 {
	return mmdPenalty(dz, z, p, lambda, sigma, mmdScales)
}

// infoVAEScales is the one scale of pythae's InfoVAE kernel.
var infoVAEScales = []float64{1}

// infoVAEMMD: variant infovae (Zhao et al., 2019; pythae's INFOVAE_MMD) is
// the VAE whose objective is
//
//	(1/N)Σₙ [recon(xₙ) + (1 − α)·KLₙ] + (α + λ − 1)·MMD(z, p),
//
// z the reparameterised samples, p draws from N(0, I), and the MMD as for
// wae but with one kernel scale (Regularization.InfoAlpha, InfoLambda,
// Bandwidth).

// mmdPenalty is MMDPenalty over the given kernel scales.
func mmdPenalty(dz, z, p *Tensor, lambda, sigma float64, scales []float64) float64 {
	sameShape(z, p)
	n, d := z.Rows(), z.Cols()
	if n < 2 || lambda == 0 {
		return 0
	}
	if sigma == 0 {
		sigma = 1
	}
	base := 2 * float64(d) * sigma * sigma
	// kernel returns k(a, b) and the factor g with ∂k/∂a = g·(a − b).
	kernel := func(a, b []float32) (k, g float64) {
		var r2 float64
		for j := range a {
			t := float64(a[j]) - float64(b[j])
			r2 += t * t
		}
		for _, s := range scales {
			c := s * base
			q := c + r2
			k += c / q
			g -= 2 * c / (q * q)
		}
		return k, g
	}
	row := func(t *Tensor, i int) []float32 { return t.Data[i*d : (i+1)*d] }
	var zz, pp, zp float64
	for i := range n {
		zi := row(z, i)
		for j := range n {
			if j != i {
				k, g := kernel(zi, row(z, j))
				zz += k
				if dz != nil {
					// zᵢ appears in pairs (i, j) and (j, i).
					c := lambda * 2 * g / float64(n-1)
					addScaled(row(dz, i), zi, row(z, j), c)
				}
				k, _ = kernel(row(p, i), row(p, j))
				pp += k
			}
			k, g := kernel(zi, row(p, j))
			zp += k
			if dz != nil {
				addScaled(row(dz, i), zi, row(p, j), -lambda*2*g/float64(n))
			}
		}
	}
	return lambda * ((zz+pp)/float64(n-1) - 2*zp/float64(n))
}

// addScaled adds c·(a − b) into dst.
func addScaled(dst, a, b []float32, c float64) {
	for j := range dst {
		dst[j] += float32(c * (float64(a[j]) - float64(b[j])))
	}
}

// drawPrior fills p with N(0, I) draws from rng, or copies eps when given.
func drawPrior(p, eps *Tensor, rng *rand.Rand) {
	if eps != nil {
		sameShape(eps, p)
		copy(p.Data, eps.Data)
		return
	}
	for i := range p.Data {
		p.Data[i] = float32(rng.NormFloat64())
	}
}

// raePenalty is variant rae's regularisation (Ghosh et al., 2020; pythae's
// RAE_L2): (β/N)·Σₙ ½‖zₙ‖² on the codes, whose gradient it adds into dz,
// and ½λ‖θ‖² on the decoder's parameters, whose gradient λθ it adds into
// theirs (PyTorch's weight_decay on the decoder's parameter group).
func (m *Model) raePenalty(dz, z *Tensor, reg *Regularization) float64 {
	n := float64(z.Rows())
	var codes float64
	for i, v := range z.Data {
		codes += 0.5 * float64(v) * float64(v)
		dz.Data[i] += float32(reg.Embedding * float64(v) / n)
	}
	pen := reg.Embedding * codes / n
	if reg.DecoderDecay == 0 {
		return pen
	}
	var sq float64
	for _, p := range m.params {
		if !strings.HasPrefix(p.Name, "decoder.") {
			continue
		}
		for i, v := range p.Value.Data {
			sq += float64(v) * float64(v)
			p.Grad.Data[i] += float32(reg.DecoderDecay * float64(v))
		}
	}
	return pen + 0.5*reg.DecoderDecay*sq
}
