package trainer

import "fmt"

// MLP describes an autoencoder of the MLP family: an encoder of dense
// layers Input → Hidden… → Latent and its mirror image as the decoder.
//
//   - "ae": deep under-complete (Latent < Input) or over-complete
//     (Latent ≥ Input) autoencoder;
//   - "tied": the same, with each decoder weight the transpose of its
//     encoder mirror's (W′ = Wᵀ), biases untied;
//   - "linear": every activation is the identity (leave the activation
//     fields empty or "identity");
//   - "sparse-l1", "sparse-kl", "denoising", "contractive": the "ae" model,
//     trained with the penalty or corruption of TrainConfig.Reg. sparse-kl
//     needs a code in (0, 1): its code activation defaults to sigmoid and
//     must be sigmoid.
//
// Tied ties the decoder's weights for any variant but linear ("tied" is "ae"
// with Tied).
//
// "vae", "beta-vae" and "cvae" are variational: the hidden layers lead to
// the μ and log σ² heads (Latent each) and the decoder mirrors them from z;
// "cvae" appends a Condition of that many features (one-hot classes) to
// the encoder's input and to z. "iwae" is the VAE's model trained on the
// importance-weighted bound (Regularization.Samples, see iwaeStep); "wae"
// is "ae" trained with the MMD to the prior N(0, I) (Regularization.MMD,
// see MMDPenalty); "rae" is "ae" trained with ½β‖z‖² on the code and
// ½λ‖θ‖² on the decoder (Regularization.Embedding, DecoderDecay).
type MLP struct {
	Variant          string
	Tied             bool
	Condition        int // cvae: conditioning features
	Input            int
	Hidden           []int
	Latent           int
	Activation       string // after each hidden layer (default "relu")
	CodeActivation   string // after the code layer (default "identity")
	OutputActivation string // after the output layer (default "sigmoid")
	Loss             Loss   // default MSE
}

// MLPVariants lists the variants MLP.Config accepts.
var MLPVariants = []string{"ae", "tied", "linear", "sparse-l1", "sparse-kl", "denoising", "contractive", "vae", "beta-vae", "cvae", "iwae", "infovae", "wae", "rae"}

// Config builds the model description, checking sizes and names.
func (o MLP) Config() (Config, error) {
	if o.Variant == "" {
		o.Variant = "ae"
	}
	if o.Variant == "linear" {
		for _, a := range []string{o.Activation, o.CodeActivation, o.OutputActivation} {
			if a != "" && a != "identity" {
				return Config{}, fmt.Errorf("trainer: variant linear uses identity activations; got activation %q", a)
			}
		}
		o.Activation, o.CodeActivation, o.OutputActivation = "identity", "identity", "identity"
	}
	if o.Activation == "" {
		o.Activation = "relu"
	}
	if o.CodeActivation == "" {
		o.CodeActivation = "identity"
		if o.Variant == "sparse-kl" {
			o.CodeActivation = "sigmoid"
		}
	}
	if o.OutputActivation == "" {
		o.OutputActivation = "sigmoid"
	}
	if o.Loss == "" {
		o.Loss = MSE
	}
	if o.Input <= 0 || o.Latent <= 0 {
		return Config{}, fmt.Errorf("trainer: input (%d) and latent (%d) sizes must be positive", o.Input, o.Latent)
	}
	for _, h := range o.Hidden {
		if h <= 0 {
			return Config{}, fmt.Errorf("trainer: hidden sizes %v must be positive", o.Hidden)
		}
	}
	if _, err := ParseLoss(string(o.Loss)); err != nil {
		return Config{}, err
	}
	for _, a := range []string{o.Activation, o.CodeActivation, o.OutputActivation} {
		if _, err := NewActivation(a); err != nil {
			return Config{}, err
		}
	}
	switch o.Variant {
	case "ae", "sparse-l1", "denoising", "contractive", "wae", "rae":
	case "tied":
		o.Tied = true
	case "linear":
		if o.Tied {
			return Config{}, fmt.Errorf("trainer: variant linear has no tied form; use --variant tied --activation identity --output-activation identity")
		}
	case "vae", "beta-vae", "cvae", "iwae", "infovae":
		if o.Tied {
			return Config{}, fmt.Errorf("trainer: variant %s has no tied form", o.Variant)
		}
		if (o.Variant == "cvae") != (o.Condition > 0) {
			return Config{}, fmt.Errorf("trainer: a condition (%d features) goes with variant cvae, and cvae needs one; variant is %s", o.Condition, o.Variant)
		}
		return o.variational()
	case "sparse-kl":
		if o.CodeActivation != "sigmoid" {
			return Config{}, fmt.Errorf("trainer: variant sparse-kl needs code activations in (0, 1), a sigmoid code layer; got code activation %q", o.CodeActivation)
		}
	default:
		return Config{}, fmt.Errorf("trainer: unknown variant %q (want one of %v)", o.Variant, MLPVariants)
	}
	act := func(kind string) LayerSpec {
		a, _ := NewActivation(kind)
		return a.Spec()
	}
	sizes := append(append([]int{o.Input}, o.Hidden...), o.Latent)
	c := Config{Variant: o.Variant, Input: []int{o.Input}, Loss: o.Loss}
	for i := 0; i+1 < len(sizes); i++ {
		c.Encoder = append(c.Encoder, LayerSpec{Type: "dense", In: sizes[i], Out: sizes[i+1]})
		if i+2 < len(sizes) {
			c.Encoder = append(c.Encoder, act(o.Activation))
		} else {
			c.Encoder = append(c.Encoder, act(o.CodeActivation))
		}
	}
	for i := len(sizes) - 1; i > 0; i-- {
		spec := LayerSpec{Type: "dense", In: sizes[i], Out: sizes[i-1]}
		if o.Tied {
			// The mirror of this layer is encoder dense layer i−1, at
			// position 2(i−1) in the encoder stack.
			spec.TiedTo = fmt.Sprintf("encoder.%d", 2*(i-1))
		}
		c.Decoder = append(c.Decoder, spec)
		if i > 1 {
			c.Decoder = append(c.Decoder, act(o.Activation))
		} else {
			c.Decoder = append(c.Decoder, act(o.OutputActivation))
		}
	}
	return c, nil
}

// variational builds the description of the variational variants, whose
// settings Config has checked.
func (o MLP) variational() (Config, error) {
	act := func(kind string) LayerSpec {
		a, _ := NewActivation(kind)
		return a.Spec()
	}
	c := Config{Variant: o.Variant, Input: []int{o.Input}, Loss: o.Loss, Condition: o.Condition}
	in := o.Input
	if o.Condition > 0 {
		c.Encoder = append(c.Encoder, LayerSpec{Type: "condition", In: o.Condition})
		in += o.Condition
	}
	for _, h := range o.Hidden {
		c.Encoder = append(c.Encoder, LayerSpec{Type: "dense", In: in, Out: h}, act(o.Activation))
		in = h
	}
	c.Variational = &Variational{In: in, Latent: o.Latent}
	in = o.Latent
	if o.Condition > 0 {
		c.Decoder = append(c.Decoder, LayerSpec{Type: "condition", In: o.Condition})
		in += o.Condition
	}
	for i := len(o.Hidden) - 1; i >= 0; i-- {
		c.Decoder = append(c.Decoder, LayerSpec{Type: "dense", In: in, Out: o.Hidden[i]}, act(o.Activation))
		in = o.Hidden[i]
	}
	c.Decoder = append(c.Decoder, LayerSpec{Type: "dense", In: in, Out: o.Input}, act(o.OutputActivation))
	return c, nil
}
