package trainer

import (
	"fmt"
	"slices"
)

// ConvNet describes a convolutional autoencoder: encoder stages of
// convolution (padded to keep the size, "same", or to divide it by the
// stride), optional batch norm, activation, optional dropout and optional
// 2× pooling; an optional dense bottleneck; and a decoder in one of the
// three classic styles:
//
//   - "upsample":   per stage, a convolution then nearest upsampling by the
//     stage's reduction (the Keras example's decoder); each convolution is
//     "same" or "valid", chosen so that the output size is the input's;
//   - "transposed": per stage, a transposed convolution that undoes the
//     stage's reduction exactly;
//   - "unpool":     per stage, max-unpooling with the encoder's pooling
//     indices, then a convolution (needs max pooling and stride 1).
//
// Variant "conv" takes (C, H, W) inputs, "conv1d" (C, L) sequences. The
// last decoder layer maps back to the input's channels with
// OutputActivation.
type ConvNet struct {
	Variant          string // "conv" or "conv1d"
	Input            []int  // (C, H, W) or (C, L)
	Channels         []int  // output channels of the encoder stages
	Kernel           int
	Stride           int    // of the encoder convolutions (default 1)
	Pool             string // "max", "avg" or "none"
	Decoder          string // "upsample", "transposed" or "unpool"
	Latent           int    // size of a dense bottleneck, 0 for none
	BatchNorm        bool
	Dropout          float64
	Activation       string // default relu
	CodeActivation   string // after the dense bottleneck (default identity)
	OutputActivation string // default sigmoid
	Loss             Loss
	// Variational makes a convolutional VAE: the flattened encoder output
	// goes to μ and log σ² heads of size Latent, and the decoder starts
	// with a dense layer from z. Condition (one-hot classes) is appended to
	// the flattened features and to z.
	Variational bool
	Condition   int
}

// ConvDecoders lists the decoder styles.
var ConvDecoders = []string{"upsample", "transposed", "unpool"}

// ceilDiv is ⌈a/b⌉.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

// samePadding is the padding (before, after) that makes a convolution of
// kernel k and stride s give ⌈n/s⌉ outputs, as Keras' padding="same" does:
// the extra element, if any, goes after.
func samePadding(n, k, s int) (int, int) {
	total := max((ceilDiv(n, s)-1)*s+k-n, 0)
	return total / 2, total - total/2
}

// Config builds the model description.
func (o ConvNet) Config() (Config, error) {
	dims := 2
	switch o.Variant {
	case "conv":
	case "conv1d":
		dims = 1
	default:
		return Config{}, fmt.Errorf("trainer: unknown convolutional variant %q (want conv or conv1d)", o.Variant)
	}
	if len(o.Input) != dims+1 || slices.Min(o.Input) <= 0 {
		return Config{}, fmt.Errorf("trainer: variant %s needs inputs of shape (channels, %s); got %v", o.Variant, map[int]string{1: "length", 2: "height, width"}[dims], o.Input)
	}
	if len(o.Channels) == 0 || slices.Min(o.Channels) <= 0 {
		return Config{}, fmt.Errorf("trainer: channels %v must be one or more positive counts", o.Channels)
	}
	if o.Kernel <= 0 {
		return Config{}, fmt.Errorf("trainer: kernel %d must be positive", o.Kernel)
	}
	if o.Stride == 0 {
		o.Stride = 1
	}
	if o.Stride < 0 {
		return Config{}, fmt.Errorf("trainer: stride %d must be positive", o.Stride)
	}
	if o.Pool == "" {
		o.Pool = "max"
	}
	if o.Pool != "max" && o.Pool != "avg" && o.Pool != "none" {
		return Config{}, fmt.Errorf("trainer: pool %q (want max, avg or none)", o.Pool)
	}
	if o.Decoder == "" {
		o.Decoder = "upsample"
	}
	switch o.Decoder {
	case "upsample", "transposed":
	case "unpool":
		if o.Pool != "max" || o.Stride != 1 {
			return Config{}, fmt.Errorf("trainer: the unpool decoder needs --pool max and stride 1 (got pool %s, stride %d)", o.Pool, o.Stride)
		}
	default:
		return Config{}, fmt.Errorf("trainer: unknown decoder %q (want one of %v)", o.Decoder, ConvDecoders)
	}
	if o.Variational && (o.Latent <= 0 || o.Decoder == "unpool") {
		return Config{}, fmt.Errorf("trainer: a convolutional VAE needs --latent > 0 and a decoder that starts from z alone (upsample or transposed; got %s)", o.Decoder)
	}
	if o.Condition > 0 && !o.Variational {
		return Config{}, fmt.Errorf("trainer: a condition goes with the conditional VAE")
	}
	if o.Pool == "none" && o.Stride == 1 {
		return Config{}, fmt.Errorf("trainer: with --pool none the encoder needs a stride above 1 to compress")
	}
	if !(o.Dropout >= 0 && o.Dropout < 1) {
		return Config{}, fmt.Errorf("trainer: dropout %v must be in [0, 1)", o.Dropout)
	}
	if o.Activation == "" {
		o.Activation = "relu"
	}
	if o.CodeActivation == "" {
		o.CodeActivation = "identity"
	}
	if o.OutputActivation == "" {
		o.OutputActivation = "sigmoid"
	}
	if o.Loss == "" {
		o.Loss = MSE
	}
	for _, a := range []string{o.Activation, o.CodeActivation, o.OutputActivation} {
		if _, err := NewActivation(a); err != nil {
			return Config{}, err
		}
	}
	if _, err := ParseLoss(string(o.Loss)); err != nil {
		return Config{}, err
	}
	act := func(kind string) LayerSpec {
		a, _ := NewActivation(kind)
		return a.Spec()
	}
	convType, tconvType, poolType, unpoolType, upType := "conv2d", "conv_transpose2d", o.Pool+"pool2d", "maxunpool2d", "upsample2d"
	if dims == 1 {
		convType, tconvType, poolType, unpoolType, upType = "conv1d", "conv_transpose1d", o.Pool+"pool1d", "maxunpool1d", "upsample1d"
	}
	rep := func(v int) []int { return orDefault(nil, dims, v) }
	pads := func(before, after []int) []int { return append(append([]int(nil), before...), after...) }

	c := Config{Variant: o.Variant, Input: append([]int(nil), o.Input...), Loss: o.Loss}
	size := append([]int(nil), o.Input[1:]...) // spatial size entering the stage
	var stages []convStage
	prev := o.Input[0]
	for i, ch := range o.Channels {
		st := convStage{in: append([]int(nil), size...), factor: o.Stride, poolIdx: -1}
		before, after := make([]int, dims), make([]int, dims)
		for a := range size {
			before[a], after[a] = samePadding(size[a], o.Kernel, o.Stride)
			size[a] = ceilDiv(size[a], o.Stride)
		}
		c.Encoder = append(c.Encoder, LayerSpec{Type: convType, In: prev, Out: ch, Kernel: rep(o.Kernel), Stride: rep(o.Stride), Padding: pads(before, after)})
		if o.BatchNorm {
			c.Encoder = append(c.Encoder, LayerSpec{Type: "batchnorm", In: ch, Momentum: 0.1, Eps: 1e-5})
		}
		c.Encoder = append(c.Encoder, act(o.Activation))
		if o.Dropout > 0 && i+1 < len(o.Channels) {
			c.Encoder = append(c.Encoder, LayerSpec{Type: "dropout", P: o.Dropout})
		}
		if o.Pool != "none" {
			// 2×2 windows; an odd size gets one padding element after, as
			// Keras' padding="same" pooling does.
			end := make([]int, dims)
			for a := range size {
				end[a] = size[a] % 2
				size[a] = ceilDiv(size[a], 2)
			}
			st.poolIdx = len(c.Encoder)
			st.factor *= 2
			c.Encoder = append(c.Encoder, LayerSpec{Type: poolType, Kernel: rep(2), Stride: rep(2), Padding: pads(make([]int, dims), end)})
		}
		stages = append(stages, st)
		prev = ch
	}
	code := append([]int{prev}, size...)
	switch {
	case o.Variational:
		c.Encoder = append(c.Encoder, LayerSpec{Type: "flatten"})
		in, zin := product(code), o.Latent
		if o.Condition > 0 {
			c.Condition = o.Condition
			c.Encoder = append(c.Encoder, LayerSpec{Type: "condition", In: o.Condition})
			c.Decoder = append(c.Decoder, LayerSpec{Type: "condition", In: o.Condition})
			in, zin = in+o.Condition, zin+o.Condition
		}
		c.Variational = &Variational{In: in, Latent: o.Latent}
		c.Decoder = append(c.Decoder, LayerSpec{Type: "dense", In: zin, Out: product(code)}, act(o.Activation),
			LayerSpec{Type: "unflatten", Shape: code})
	case o.Latent > 0:
		c.Encoder = append(c.Encoder, LayerSpec{Type: "flatten"},
			LayerSpec{Type: "dense", In: product(code), Out: o.Latent}, act(o.CodeActivation))
		c.Decoder = append(c.Decoder, LayerSpec{Type: "dense", In: o.Latent, Out: product(code)}, act(o.Activation),
			LayerSpec{Type: "unflatten", Shape: code})
	}
	// Decoder stages, last encoder stage first.
	var upSame []bool
	if o.Decoder == "upsample" {
		var ok bool
		fs := make([]int, len(stages))
		for t := range fs {
			fs[t] = stages[len(stages)-1-t].factor
		}
		if upSame, ok = upsamplePlan(size, o.Input[1:], o.Kernel, fs); !ok {
			return Config{}, fmt.Errorf("trainer: the upsample decoder cannot grow code size %v back to %v with kernel %d; use --decoder transposed", size, o.Input[1:], o.Kernel)
		}
	}
	for j := len(stages) - 1; j >= 0; j-- {
		st := stages[j]
		out := o.Input[0]
		if j > 0 {
			out = o.Channels[j-1]
		}
		last := j == 0
		finish := func() {
			if last {
				if o.Decoder != "upsample" {
					c.Decoder = append(c.Decoder, act(o.OutputActivation))
				}
				return
			}
			if o.BatchNorm {
				c.Decoder = append(c.Decoder, LayerSpec{Type: "batchnorm", In: out, Momentum: 0.1, Eps: 1e-5})
			}
			c.Decoder = append(c.Decoder, act(o.Activation))
			if o.Dropout > 0 && j == len(stages)-1 {
				c.Decoder = append(c.Decoder, LayerSpec{Type: "dropout", P: o.Dropout})
			}
		}
		switch o.Decoder {
		case "transposed":
			// out = (in − 1)·r − pads + (k − 1) + outputPadding + 1 = target,
			// with symmetric pads where the output padding can fix parity.
			r := st.factor
			k := max(o.Kernel, r)
			before, after, outPad := make([]int, dims), make([]int, dims), make([]int, dims)
			for a := range size {
				base := (size[a]-1)*r + k
				p := base - st.in[a]
				op := 0
				if p%2 != 0 && r > 1 {
					op, p = 1, p+1
				}
				before[a], after[a], outPad[a] = p/2, p-p/2, op
				size[a] = st.in[a]
			}
			c.Decoder = append(c.Decoder, LayerSpec{Type: tconvType, In: o.Channels[j], Out: out, Kernel: rep(k), Stride: rep(r), Padding: pads(before, after), OutputPadding: outPad})
			finish()
		case "unpool":
			c.Decoder = append(c.Decoder, LayerSpec{Type: unpoolType, Of: fmt.Sprintf("encoder.%d", st.poolIdx)})
			before, after := make([]int, dims), make([]int, dims)
			for a := range size {
				size[a] = st.in[a]
				before[a], after[a] = samePadding(size[a], o.Kernel, 1)
			}
			c.Decoder = append(c.Decoder, LayerSpec{Type: convType, In: o.Channels[j], Out: out, Kernel: rep(o.Kernel), Stride: rep(1), Padding: pads(before, after)})
			finish()
		case "upsample":
			// Keras: convolution (keeping this stage's channels), then
			// upsampling; a final convolution maps to the input channels.
			ch := o.Channels[j]
			before, after := make([]int, dims), make([]int, dims)
			for a := range size {
				if upSame[len(stages)-1-j] {
					before[a], after[a] = samePadding(size[a], o.Kernel, 1)
				} else {
					size[a] -= o.Kernel - 1
				}
				size[a] *= st.factor
			}
			in := ch
			if j < len(stages)-1 {
				in = o.Channels[j+1]
			}
			c.Decoder = append(c.Decoder, LayerSpec{Type: convType, In: in, Out: ch, Kernel: rep(o.Kernel), Stride: rep(1), Padding: pads(before, after)})
			if o.BatchNorm {
				c.Decoder = append(c.Decoder, LayerSpec{Type: "batchnorm", In: ch, Momentum: 0.1, Eps: 1e-5})
			}
			c.Decoder = append(c.Decoder, act(o.Activation), LayerSpec{Type: upType, Scale: rep(st.factor)})
			if last {
				before, after := make([]int, dims), make([]int, dims)
				for a := range size {
					if upSame[len(stages)] {
						before[a], after[a] = samePadding(size[a], o.Kernel, 1)
					} else {
						size[a] -= o.Kernel - 1
					}
				}
				c.Decoder = append(c.Decoder, LayerSpec{Type: convType, In: ch, Out: o.Input[0], Kernel: rep(o.Kernel), Stride: rep(1), Padding: pads(before, after)},
					act(o.OutputActivation))
			}
		}
	}
	if _, err := Build(c); err != nil {
		return Config{}, fmt.Errorf("trainer: the %s network does not fit input %v: %w", o.Variant, o.Input, err)
	}
	return c, nil
}

// convStage is one encoder stage, as the decoder mirrors it.
type convStage struct {
	in      []int // spatial size entering it
	factor  int   // how much it shrinks each axis
	poolIdx int   // index of its pooling layer in the encoder, or −1
}

// upsamplePlan chooses, for each upsampling decoder stage (from the code
// up) and for the final convolution, a "same" convolution (true) or a
// "valid" one that shrinks each axis by k − 1 (before the stage's
// upsampling), so that the code size grows back to target. It prefers the
// plan with the fewest valid convolutions, and reports false if none fits.
func upsamplePlan(code, target []int, k int, factors []int) ([]bool, bool) {
	factors = append(slices.Clip(factors), 1) // the final convolution
	n := len(factors)
	var best []bool
	bestValid := n + 1
	for mask := 0; mask < 1<<n; mask++ {
		plan := make([]bool, n)
		valid := 0
		for t := range plan {
			plan[t] = mask&(1<<t) == 0
			if !plan[t] {
				valid++
			}
		}
		if valid >= bestValid {
			continue
		}
		ok := true
		for a := range code {
			s := code[a]
			for t, same := range plan {
				if !same {
					s -= k - 1
				}
				if s <= 0 {
					ok = false
					break
				}
				s *= factors[t]
			}
			if s != target[a] {
				ok = false
			}
		}
		if ok {
			best, bestValid = plan, valid
		}
	}
	return best, best != nil
}
