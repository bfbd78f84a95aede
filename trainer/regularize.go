package trainer

import (
	"fmt"
	"math"
)

// Regularization holds the settings of the regularised variants. Each term
// is added to the objective, the mean reconstruction loss per element, as
// an average over the batch's samples:
//
//	sparse-l1:   Ω = λ·(1/N)·Σₙ Σⱼ |hₙⱼ|                     (L1)
//	sparse-kl:   Ω = β·Σⱼ KL(ρ ‖ ρ̂ⱼ), ρ̂ⱼ = (1/N)·Σₙ hₙⱼ        (Rho, SparsityWeight)
//	contractive: Ω = λ·(1/N)·Σₙ ‖∂h(xₙ)/∂xₙ‖²_F              (Contractive)
//
// where h is the code, the encoder's output. Denoising corrupts the input
// and compares the reconstruction with the clean input, weighting the loss
// α on corrupted coordinates and 1 − α on the others when Alpha is set.
type Regularization struct {
	L1             float64 `json:"l1,omitempty"`
	Rho            float64 `json:"rho,omitempty"`
	SparsityWeight float64 `json:"sparsity_weight,omitempty"`
	Contractive    float64 `json:"contractive,omitempty"`
	// ContractiveSamples is the number of random directions of the
	// estimator used for encoders deeper than one layer (see
	// ContractivePenalty); 0 computes the penalty exactly.
	ContractiveSamples int `json:"contractive_samples,omitempty"`
	// Noise is "mask", "gaussian" or "salt-pepper" ("" for none), with
	// NoiseLevel its probability q (mask, salt-pepper) or σ (gaussian).
	Noise      string  `json:"noise,omitempty"`
	NoiseLevel float64 `json:"noise_level,omitempty"`
	// NoiseClip clips Gaussian-corrupted inputs to [0, 1].
	NoiseClip bool `json:"noise_clip,omitempty"`
	// Alpha, if set, weights the loss α on corrupted coordinates and 1 − α
	// on the others.
	Alpha *float64 `json:"alpha,omitempty"`
	// Beta weights the KL term of variational models (β-VAE); 0 means 1.
	Beta float64 `json:"beta,omitempty"`
	// Samples is the number K of importance samples of variant iwae per
	// input (1 gives a one-sample estimate of the VAE's bound).
	Samples int `json:"samples,omitempty"`
	// MMD is the weight λ of variant wae's maximum mean discrepancy
	// between the codes and the prior N(0, I) (see MMDPenalty), with
	// Bandwidth the kernel's σ (0 means 1).
	MMD       float64 `json:"mmd,omitempty"`
	Bandwidth float64 `json:"bandwidth,omitempty"`
	// InfoAlpha and InfoLambda are variant infovae's α and λ: the KL
	// weighs 1 − α and the MMD α + λ − 1 (pythae's INFOVAE_MMD).
	InfoAlpha  float64 `json:"info_alpha,omitempty"`
	InfoLambda float64 `json:"info_lambda,omitempty"`
	// Embedding is variant rae's weight β of ½‖z‖² on the code, and
	// DecoderDecay its λ of ½‖θ‖² on the decoder's parameters (pythae's
	// RAE_L2: PyTorch's weight_decay on the decoder, ∇ += λθ).
	Embedding    float64 `json:"embedding,omitempty"`
	DecoderDecay float64 `json:"decoder_decay,omitempty"`
}

// Check validates the settings' ranges.
func (r Regularization) Check() error {
	switch {
	case r.L1 < 0 || math.IsNaN(r.L1):
		return fmt.Errorf("trainer: L1 weight %v must not be negative", r.L1)
	case r.SparsityWeight < 0 || math.IsNaN(r.SparsityWeight):
		return fmt.Errorf("trainer: sparsity weight %v must not be negative", r.SparsityWeight)
	case r.SparsityWeight > 0 && !(r.Rho > 0 && r.Rho < 1):
		return fmt.Errorf("trainer: target rate ρ = %v must be in (0, 1)", r.Rho)
	case r.Contractive < 0 || math.IsNaN(r.Contractive):
		return fmt.Errorf("trainer: contractive weight %v must not be negative", r.Contractive)
	case r.MMD < 0 || math.IsNaN(r.MMD) || math.IsInf(r.MMD, 0):
		return fmt.Errorf("trainer: MMD weight %v must be finite and not negative", r.MMD)
	case r.Bandwidth < 0 || math.IsNaN(r.Bandwidth) || math.IsInf(r.Bandwidth, 0):
		return fmt.Errorf("trainer: kernel bandwidth %v must be finite and not negative", r.Bandwidth)
	case r.Embedding < 0 || math.IsNaN(r.Embedding) || math.IsInf(r.Embedding, 0) || r.DecoderDecay < 0 || math.IsNaN(r.DecoderDecay) || math.IsInf(r.DecoderDecay, 0):
		return fmt.Errorf("trainer: RAE weights β %v and λ %v must be finite and not negative", r.Embedding, r.DecoderDecay)
	case math.IsNaN(r.InfoAlpha) || math.IsInf(r.InfoAlpha, 0) || r.InfoLambda < 0 || math.IsNaN(r.InfoLambda) || math.IsInf(r.InfoLambda, 0):
		return fmt.Errorf("trainer: InfoVAE α %v and λ %v must be finite, λ not negative", r.InfoAlpha, r.InfoLambda)
	case r.Samples < 0 || r.Samples > maxImportanceSamples:
		return fmt.Errorf("trainer: importance samples %d must be in [1, %d]", r.Samples, maxImportanceSamples)
	case r.Beta < 0 || math.IsNaN(r.Beta):
		return fmt.Errorf("trainer: β = %v must not be negative", r.Beta)
	case r.ContractiveSamples < 0:
		return fmt.Errorf("trainer: contractive samples %d must not be negative", r.ContractiveSamples)
	}
	switch r.Noise {
	case "":
		if r.Alpha != nil {
			return fmt.Errorf("trainer: α weights corrupted coordinates; it needs a noise")
		}
	case "mask", "salt-pepper":
		if !(r.NoiseLevel > 0 && r.NoiseLevel < 1) {
			return fmt.Errorf("trainer: %s noise level (probability) %v must be in (0, 1)", r.Noise, r.NoiseLevel)
		}
	case "gaussian":
		if !(r.NoiseLevel > 0) || math.IsInf(r.NoiseLevel, 0) {
			return fmt.Errorf("trainer: gaussian noise level σ = %v must be positive", r.NoiseLevel)
		}
	default:
		return fmt.Errorf("trainer: unknown noise %q (want mask, gaussian or salt-pepper)", r.Noise)
	}
	if r.Alpha != nil && !(*r.Alpha >= 0 && *r.Alpha <= 1) {
		return fmt.Errorf("trainer: α = %v must be in [0, 1]", *r.Alpha)
	}
	return nil
}

// L1Penalty returns λ·(1/N)·Σ|hₙⱼ| for codes h, (N, latent), and adds its
// gradient λ·sign(h)/N into dh. The subgradient at 0 is taken as 0. It
// panics with ErrShape if dh and h differ in shape.
func L1Penalty(dh, h *Tensor, lambda float64) float64 {
	sameShape(dh, h)
	n := float64(h.Rows())
	g := float32(lambda / n)
	var sum float64
	for i, v := range h.Data {
		switch {
		case v > 0:
			sum += float64(v)
			dh.Data[i] += g
		case v < 0:
			sum -= float64(v)
			dh.Data[i] -= g
		}
	}
	return lambda * sum / n
}

// klEps keeps ρ̂ inside (0, 1) so that the KL term stays finite.
const klEps = 1e-6

// KLSparsityPenalty returns β·Σⱼ KL(ρ ‖ ρ̂ⱼ) with ρ̂ⱼ the mean of code unit j
// over the batch, for codes h, (N, latent), in (0, 1), and adds its gradient
// β·(−ρ/ρ̂ⱼ + (1 − ρ)/(1 − ρ̂ⱼ))/N into dh. ρ̂ is clamped to [1e-6, 1 − 1e-6].
// It panics with ErrShape if dh and h differ in shape.
func KLSparsityPenalty(dh, h *Tensor, rho, beta float64) float64 {
	sameShape(dh, h)
	n, k := h.Rows(), h.Cols()
	var sum float64
	for j := 0; j < k; j++ {
		var mean float64
		for r := 0; r < n; r++ {
			mean += float64(h.Data[r*k+j])
		}
		mean = math.Min(math.Max(mean/float64(n), klEps), 1-klEps)
		sum += rho*math.Log(rho/mean) + (1-rho)*math.Log((1-rho)/(1-mean))
		g := float32(beta * (-rho/mean + (1-rho)/(1-mean)) / float64(n))
		for r := 0; r < n; r++ {
			dh.Data[r*k+j] += g
		}
	}
	return beta * sum
}

// CheckVariant reports settings in r that the variant does not use, and
// settings the variant needs that r lacks: sparse-l1 needs L1, sparse-kl
// Rho and SparsityWeight, denoising a Noise, contractive Contractive; the
// other variants take none of them.
//
// The convolutional variants (conv, conv1d) take the sparse and denoising
// settings, but not the contractive penalty, which needs a dense encoder.
func CheckVariant(variant string, r Regularization) error {
	if variant == "conv" || variant == "conv1d" {
		if r.Contractive != 0 || r.ContractiveSamples != 0 {
			return fmt.Errorf("trainer: the contractive penalty needs a dense encoder; variant %s has a convolutional one", variant)
		}
		return nil
	}
	needs := map[string]struct {
		ok   bool
		what string
	}{
		"sparse-l1":   {r.L1 > 0, "an L1 weight λ > 0 (--l1)"},
		"sparse-kl":   {r.SparsityWeight > 0 && r.Rho > 0, "a target rate ρ (--rho) and a weight β > 0 (--sparsity-weight)"},
		"denoising":   {r.Noise != "", "a noise (--noise) and its level (--noise-level)"},
		"contractive": {r.Contractive > 0, "a weight λ > 0 (--contractive)"},
		"wae":         {r.MMD > 0, "an MMD weight λ > 0 (--mmd)"},
		"rae":         {r.Embedding > 0, "a code penalty β > 0 (--embedding)"},
		"infovae":     {r.InfoLambda > 0, "a λ > 0 (--info-lambda; the MMD weighs α + λ − 1)"},
	}
	if n, ok := needs[variant]; ok && !n.ok {
		return fmt.Errorf("trainer: variant %s needs %s", variant, n.what)
	}
	switch variant {
	case "beta-vae":
		if r.Beta <= 0 {
			return fmt.Errorf("trainer: variant beta-vae needs a KL weight β > 0 (--beta)")
		}
	case "vae":
		if r.Beta != 0 && r.Beta != 1 {
			return fmt.Errorf("trainer: variant vae has β = 1; for β = %v use --variant beta-vae", r.Beta)
		}
	case "infovae":
		if r.Beta != 0 {
			return fmt.Errorf("trainer: variant infovae weighs its KL 1 − α (--info-alpha), not β (--beta)")
		}
		if r.Samples != 0 {
			return fmt.Errorf("trainer: importance samples (--samples) apply to variant iwae, not infovae")
		}
	case "iwae":
		if r.Beta != 0 {
			return fmt.Errorf("trainer: variant iwae's bound has no KL weight β (--beta)")
		}
		if r.Samples < 1 {
			return fmt.Errorf("trainer: variant iwae needs K ≥ 1 importance samples (--samples)")
		}
	case "cvae":
	default:
		if r.Beta != 0 {
			return fmt.Errorf("trainer: a KL weight β (--beta) applies to variants beta-vae and cvae, not %s", variant)
		}
	}
	uses := []struct {
		set     bool
		name    string
		variant string
	}{
		{r.L1 != 0, "an L1 weight (--l1)", "sparse-l1"},
		{r.Rho != 0 || r.SparsityWeight != 0, "a KL sparsity target (--rho, --sparsity-weight)", "sparse-kl"},
		{r.Noise != "" || r.NoiseLevel != 0 || r.Alpha != nil || r.NoiseClip, "noise settings (--noise, --noise-level, --alpha, --noise-clip)", "denoising"},
		{r.Contractive != 0 || r.ContractiveSamples != 0, "contractive settings (--contractive, --contractive-samples)", "contractive"},
		{r.Samples != 0, "importance samples (--samples)", "iwae"},
		{r.MMD != 0, "an MMD weight (--mmd)", "wae"},
		{r.InfoAlpha != 0 || r.InfoLambda != 0, "InfoVAE settings (--info-alpha, --info-lambda)", "infovae"},
		{r.Embedding != 0 || r.DecoderDecay != 0, "RAE settings (--embedding, --decoder-decay)", "rae"},
	}
	for _, u := range uses {
		if u.set && u.variant != variant {
			return fmt.Errorf("trainer: %s applies to variant %s, not %s", u.name, u.variant, variant)
		}
	}
	if r.Bandwidth != 0 && variant != "wae" && variant != "infovae" {
		return fmt.Errorf("trainer: a kernel bandwidth (--bandwidth) applies to variants wae and infovae, not %s", variant)
	}
	return nil
}
