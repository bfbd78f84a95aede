package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// The weight initialisation schemes of Config.Init.
const (
	// InitPyTorch is PyTorch 1.13's reset_parameters of nn.Linear,
	// nn.Conv*d and nn.ConvTranspose*d: kaiming_uniform_ with a = √5, which
	// draws weights from U(−b, b) with b = 1/√fan_in, and biases from the
	// same U(−b, b). fan_in is PyTorch's: the weight's dimension 1 times the
	// receptive field — In for a dense layer, In/groups·k for a
	// convolution, Out/groups·k for a transposed one (its weight is (In,
	// Out/groups, k…)). The default.
	InitPyTorch = "pytorch"
	// InitXavier is Glorot (Xavier) uniform, PyTorch's xavier_uniform_ with
	// gain 1: weights from U(−b, b) with b = √(6/(fan_in + fan_out)),
	// biases 0.
	InitXavier = "xavier"
	// InitHe is He (Kaiming) normal, PyTorch's kaiming_normal_ for ReLU
	// (mode fan_in): weights from N(0, 2/fan_in), biases 0.
	InitHe = "he"
	// InitByActivation is aebridge's scheme before PyTorch's became the
	// default: each weight by the activation that follows it (past batch
	// norm, dropout and pooling), He uniform, U(±√2·√(3/fan_in)), for the
	// ReLU family (with PyTorch's gain √(2/(1+α²)) for LeakyReLU), Xavier
	// uniform for sigmoid, tanh and identity; biases 0.
	InitByActivation = "by-activation"
)

// InitSchemes lists the schemes Config.Init accepts ("" is InitPyTorch).
var InitSchemes = []string{InitPyTorch, InitXavier, InitHe, InitByActivation}

// checkInit reports an unknown scheme.
func checkInit(scheme string) error {
	if scheme != "" && !slices.Contains(InitSchemes, scheme) {
		return fmt.Errorf("trainer: init %q (want one of %v)", scheme, InitSchemes)
	}
	return nil
}

// InitScheme is the scheme Init applies: Config.Init, or InitPyTorch when
// that is empty.
func (m *Model) InitScheme() string {
	if m.Config.Init == "" {
		return InitPyTorch
	}
	return m.Config.Init
}

// Init fills the weights anew from a generator seeded with seed, by the
// model's scheme (Config.Init; see InitSchemes). Build calls it with
// Config.InitSeed; call it to re-seed. Fan-in and fan-out are PyTorch's: a
// convolution's receptive field times its input (fan-in) or output
// (fan-out) channels per group. A tied layer's weight is its encoder
// mirror's; its bias is drawn as a dense layer of its own sizes would draw
// it. Batch norm starts at γ = 1, β = 0, running mean 0, running variance
// 1, as PyTorch's does under every scheme.
func (m *Model) Init(seed uint64) {
	scheme := m.InitScheme()
	rng := rand.New(rand.NewPCG(seed, 0x6165_6272_6964_6765)) // "aebridge"
	layers := m.layers()
	if m.mu != nil {
		// The variational heads sit between the stacks, with no activation.
		enc := len(m.Encoder)
		layers = append(append(slices.Clip(layers[:enc]), m.mu, m.logvar), layers[enc:]...)
	}
	uniform := func(data []float32, bound float64) {
		for j := range data {
			data[j] = float32((2*rng.Float64() - 1) * bound)
		}
	}
	for i, l := range layers {
		var w, b *Param
		var fanIn, fanOut int
		switch l := l.(type) {
		case *Dense:
			if l.Tied {
				l.B.Value.Zero()
				if scheme == InitPyTorch {
					uniform(l.B.Value.Data, 1/math.Sqrt(float64(l.In)))
				}
				continue
			}
			w, b, fanIn, fanOut = l.W, l.B, l.In, l.Out
		case *Conv:
			rf := l.K[0] * l.K[1]
			w, b, fanIn, fanOut = l.W, l.B, l.In/l.Groups*rf, l.Out*rf
		case *ConvTranspose:
			// PyTorch's weight is (In, Out/groups, k…): dimension 1 is its fan-in.
			rf := l.K[0] * l.K[1]
			w, b, fanIn, fanOut = l.W, l.B, l.Out/l.Groups*rf, l.In*rf
		case *BatchNorm:
			for _, p := range []*Param{l.W, l.Var} {
				for j := range p.Value.Data {
					p.Value.Data[j] = 1
				}
			}
			l.B.Value.Zero()
			l.Mean.Value.Zero()
			l.Batches.Value.Zero()
			continue
		default:
			continue
		}
		b.Value.Zero()
		switch scheme {
		case InitPyTorch:
			bound := 1 / math.Sqrt(float64(fanIn))
			uniform(w.Value.Data, bound)
			uniform(b.Value.Data, bound)
		case InitXavier:
			uniform(w.Value.Data, math.Sqrt(6/float64(fanIn+fanOut)))
		case InitHe:
			std := math.Sqrt(2 / float64(fanIn))
			for j := range w.Value.Data {
				w.Value.Data[j] = float32(rng.NormFloat64() * std)
			}
		case InitByActivation:
			next := nextActivation(layers[i+1:])
			var bound float64
			switch next.Kind {
			case "relu", "elu", "gelu", "silu", "softplus":
				bound = math.Sqrt(2) * math.Sqrt(3/float64(fanIn))
			case "leaky_relu":
				s := next.Alpha
				bound = math.Sqrt(2/(1+s*s)) * math.Sqrt(3/float64(fanIn))
			default:
				bound = math.Sqrt(6 / float64(fanIn+fanOut))
			}
			uniform(w.Value.Data, bound)
		default:
			panic(fmt.Sprintf("trainer: init scheme %q passed Build's check", scheme))
		}
	}
}

// nextActivation returns the first activation among layers, looking past
// normalisation, dropout, pooling and reshaping; identity if a weighted
// layer or the end comes first.
func nextActivation(layers []Layer) *Activation {
	for _, l := range layers {
		switch l := l.(type) {
		case *Activation:
			return l
		case *Dense, *Conv, *ConvTranspose:
			return &Activation{Kind: "identity"}
		}
	}
	return &Activation{Kind: "identity"}
}
