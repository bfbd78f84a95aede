package trainer

import (
	"fmt"
	"slices"
)

// Stacked greedy layer-wise pre-training (Vincent et al., 2010): before a
// deep MLP autoencoder is trained end to end, each encoder layer is trained
// as a shallow autoencoder on the codes of the layers below it — the
// encoder's dense layer and activation, and as its decoder the deep
// decoder's mirrored dense layer and activation — and the two layers'
// weights are put back into the deep model. The first layer reconstructs
// the data with the model's loss; the others reconstruct the codes below
// them with MSE. A denoising model corrupts each shallow model's input as
// it corrupts the data (Vincent's stacked denoising autoencoders); the
// other penalties apply to the end-to-end training only.

// PretrainResult is one layer's pre-training: its shallow autoencoder's
// sizes and final training loss per element.
type PretrainResult struct {
	Layer   string  // the encoder's dense layer, "encoder.2"
	In, Out int     // its sizes
	Loss    float64 // the last epoch's training loss per element
}

// pretrainable returns the positions of the dense layers of the encoder
// and of the mirroring decoder layers, or an error saying why m cannot be
// pre-trained layer by layer.
func pretrainable(m *Model) (enc, dec []int, err error) {
	c := m.Config
	if m.isGraph() || c.Variational != nil || c.Condition > 0 || c.Part != "" || !slices.Contains([]string{"ae", "denoising", "sparse-l1", "sparse-kl", "contractive", "linear"}, c.Variant) {
		return nil, nil, fmt.Errorf("trainer: layer-wise pre-training is for the MLP autoencoders (ae, denoising, sparse, contractive, linear); variant %s", c.Variant)
	}
	dense := func(specs []LayerSpec, stack string) ([]int, error) {
		var at []int
		for i := 0; i < len(specs); i += 2 {
			s := specs[i]
			if s.Type != "dense" || s.TiedTo != "" || i+1 >= len(specs) || specs[i+1].Type == "dense" {
				return nil, fmt.Errorf("trainer: layer-wise pre-training needs untied dense layers each followed by an activation; %s.%d is %s", stack, i, s.Type)
			}
			at = append(at, i)
		}
		return at, nil
	}
	if enc, err = dense(c.Encoder, "encoder"); err != nil {
		return nil, nil, err
	}
	if dec, err = dense(c.Decoder, "decoder"); err != nil {
		return nil, nil, err
	}
	if len(enc) != len(dec) {
		return nil, nil, fmt.Errorf("trainer: layer-wise pre-training needs a decoder mirroring the encoder; %d dense layers against %d", len(dec), len(enc))
	}
	slices.Reverse(dec)
	for i := range enc {
		e, d := c.Encoder[enc[i]], c.Decoder[dec[i]]
		if e.In != d.Out || e.Out != d.In {
			return nil, nil, fmt.Errorf("trainer: layer-wise pre-training needs a decoder mirroring the encoder; encoder.%d is %d→%d, decoder.%d %d→%d", enc[i], e.In, e.Out, dec[i], d.In, d.Out)
		}
	}
	return enc, dec, nil
}

// pretrain pre-trains m's layers on data for cfg.PretrainEpochs epochs
// each, with cfg's optimizer and batch and seeds drawn from cfg.Seed.
func pretrain(m *Model, data *Tensor, cfg TrainConfig) ([]PretrainResult, error) {
	enc, dec, err := pretrainable(m)
	if err != nil {
		return nil, err
	}
	deep := m.StateDict()
	h := data
	var out []PretrainResult
	for i := range enc {
		e, d := m.Config.Encoder[enc[i]], m.Config.Decoder[dec[i]]
		c := Config{Variant: "ae", Input: []int{e.In}, Init: m.Config.Init, InitSeed: m.Config.InitSeed,
			Encoder: []LayerSpec{e, m.Config.Encoder[enc[i]+1]}, Decoder: []LayerSpec{d, m.Config.Decoder[dec[i]+1]}, Loss: MSE}
		tc := TrainConfig{Optimizer: cfg.Optimizer, Epochs: cfg.PretrainEpochs, Batch: cfg.Batch, Seed: cfg.Seed + uint64(i) + 1}
		if i == 0 {
			c.Loss = m.Config.Loss
		}
		if m.Config.Variant == "denoising" {
			c.Variant = "denoising"
			r := cfg.Reg
			tc.Reg = Regularization{Noise: r.Noise, NoiseLevel: r.NoiseLevel, NoiseClip: r.NoiseClip && i == 0, Alpha: r.Alpha}
		}
		s, err := Build(c)
		if err != nil {
			return nil, fmt.Errorf("trainer: pre-training encoder.%d: %w", enc[i], err)
		}
		// The shallow model starts from the deep model's initial weights.
		pairs := [][2]string{{fmt.Sprintf("encoder.%d", enc[i]), "encoder.0"}, {fmt.Sprintf("decoder.%d", dec[i]), "decoder.0"}}
		shallow := s.StateDict()
		for _, p := range pairs {
			for _, suffix := range []string{".weight", ".bias"} {
				copy(shallow[p[1]+suffix].Data, deep[p[0]+suffix].Data)
			}
		}
		res, err := Fit(s, h, tc, FitOptions{})
		if err != nil {
			return nil, fmt.Errorf("trainer: pre-training encoder.%d: %w", enc[i], err)
		}
		for _, p := range pairs {
			for _, suffix := range []string{".weight", ".bias"} {
				copy(deep[p[0]+suffix].Data, shallow[p[1]+suffix].Data)
			}
		}
		out = append(out, PretrainResult{Layer: pairs[0][0], In: e.In, Out: e.Out, Loss: res.History[len(res.History)-1].TrainLoss})
		if i+1 < len(enc) {
			next := NewTensor(h.Rows(), e.Out)
			for lo := 0; lo < h.Rows(); lo += 512 {
				hi := min(lo+512, h.Rows())
				code := s.Encode(&Tensor{Shape: []int{hi - lo, e.In}, Data: h.Data[lo*e.In : hi*e.In]})
				copy(next.Data[lo*e.Out:hi*e.Out], code.Data)
			}
			h = next
		}
	}
	return out, nil
}
