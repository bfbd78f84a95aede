package runtime

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/aebridge/aebridge/internal/limits"
)

// Helpers for variational autoencoders exported as an encoder (x [, c] →
// μ, log σ²) and a decoder (z [, c] → x̂), by aebridge or by PyTorch.

// condition returns the one-hot rows for class, for a decoder or encoder
// whose input k is a condition of the size its shape gives, or an error.
func (m *Model) condition(k, n, class int) (Tensor, error) {
	io := m.info.Inputs[k]
	if !io.HasShape || len(io.Shape) != 2 || io.Shape[1].Size <= 0 {
		return Tensor{}, fmt.Errorf("runtime: %s: input %q %s is not a (batch, classes) condition", m.info.Path, io.Name, io.ShapeString())
	}
	classes := int(io.Shape[1].Size)
	if class < 0 || class >= classes {
		return Tensor{}, fmt.Errorf("runtime: %s: class %d is outside the condition's %d classes (input %q); give a class from 0 to %d", m.info.Path, class, classes, io.Name, classes-1)
	}
	c := Tensor{Shape: []int64{int64(n), int64(classes)}, Data: make([]float32, n*classes)}
	for i := 0; i < n; i++ {
		c.Data[i*classes+class] = 1
	}
	return c, nil
}

// codeSize returns the size of a decoder's first input, (batch, Z).
func (m *Model) codeSize() (int, error) {
	io := m.info.Inputs[0]
	if !io.HasShape || len(io.Shape) != 2 || io.Shape[1].Size <= 0 {
		return 0, fmt.Errorf("runtime: %s: the first input %q %s is not a code (batch, latent)", m.info.Path, io.Name, io.ShapeString())
	}
	return int(io.Shape[1].Size), nil
}

// decode runs a decoder on codes z, adding the condition for class when it
// has a second input. class < 0 means none.
func (m *Model) decode(z Tensor, class int) (Tensor, error) {
	inputs := []Tensor{z}
	switch len(m.info.Inputs) {
	case 1:
		if class >= 0 {
			return Tensor{}, fmt.Errorf("runtime: %s takes no condition; it cannot decode class %d", m.info.Path, class)
		}
	case 2:
		if c := m.info.Inputs[1]; !c.HasShape || len(c.Shape) != 2 {
			return Tensor{}, fmt.Errorf("runtime: %s: the second input %q %s is not a (batch, classes) condition: the decoder needs more than a code (an unpooling decoder, the encoder's pooling indices) and cannot decode codes alone", m.info.Path, c.Name, c.ShapeString())
		}
		if class < 0 {
			return Tensor{}, fmt.Errorf("runtime: %s is conditional (inputs %s): give a class", m.info.Path, ioNames(m.info.Inputs))
		}
		c, err := m.condition(1, int(z.Shape[0]), class)
		if err != nil {
			return Tensor{}, err
		}
		inputs = append(inputs, c)
	default:
		return Tensor{}, fmt.Errorf("runtime: %s has inputs %s; a decoder takes z and perhaps a condition", m.info.Path, ioNames(m.info.Inputs))
	}
	out, err := m.Run(inputs...)
	if err != nil {
		return Tensor{}, err
	}
	return out[0], nil
}

// Sample draws n codes z ~ N(0, I) from a generator seeded with seed and
// decodes them with m, a decoder whose first input is z, (batch, latent),
// and whose optional second input is a one-hot condition, given class
// (class < 0 for an unconditional decoder). It returns z and the decoded
// samples.
func (m *Model) Sample(n, class int, seed uint64) (z, x Tensor, err error) {
	if n <= 0 {
		return Tensor{}, Tensor{}, fmt.Errorf("runtime: cannot draw %d samples", n)
	}
	k, err := m.codeSize()
	if err != nil {
		return Tensor{}, Tensor{}, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x73616d706c65)) // "sample"
	z = Tensor{Shape: []int64{int64(n), int64(k)}, Data: make([]float32, n*k)}
	for i := range z.Data {
		z.Data[i] = float32(rng.NormFloat64())
	}
	x, err = m.decode(z, class)
	return z, x, err
}

// Interpolate encodes a and b (one sample each, with or without the batch
// dimension, or flat where enc's input has a fixed shape: 784 values for
// a (1, 28, 28) image) with enc, takes their codes — enc's output named
// "mu", or its first output — and decodes steps codes evenly spaced from
// a's to b's (both included) with dec. class conditions conditional models
// (< 0 for none). It returns the codes, (steps, code…) in the shape dec
// takes, and the decoded samples.
func Interpolate(enc, dec *Model, a, b Tensor, steps, class int) (z, x Tensor, err error) {
	if steps < 2 {
		return Tensor{}, Tensor{}, fmt.Errorf("runtime: interpolation needs at least 2 steps, got %d", steps)
	}
	code := func(s Tensor, which string) (Tensor, error) {
		s = enc.oneSample(s)
		if len(s.Shape) == 0 || s.Shape[0] != 1 {
			return Tensor{}, fmt.Errorf("runtime: the %s sample has shape %v; give one sample", which, s.Shape)
		}
		inputs := []Tensor{s}
		if len(enc.info.Inputs) == 2 {
			if class < 0 {
				return Tensor{}, fmt.Errorf("runtime: %s is conditional (inputs %s): give a class", enc.info.Path, ioNames(enc.info.Inputs))
			}
			c, err := enc.condition(1, 1, class)
			if err != nil {
				return Tensor{}, err
			}
			inputs = append(inputs, c)
		}
		out, err := enc.Run(inputs...)
		if err != nil {
			return Tensor{}, err
		}
		k := 0
		for i, o := range enc.info.Outputs {
			if o.Name == "mu" {
				k = i
			}
		}
		return out[k], nil
	}
	za, err := code(a, "first")
	if err != nil {
		return Tensor{}, Tensor{}, err
	}
	zb, err := code(b, "second")
	if err != nil {
		return Tensor{}, Tensor{}, err
	}
	if !slices.Equal(za.Shape, zb.Shape) || len(za.Shape) == 0 {
		return Tensor{}, Tensor{}, fmt.Errorf("runtime: %s gives codes of shapes %v and %v for the two samples", enc.info.Path, za.Shape, zb.Shape)
	}
	k := len(za.Data)
	z = Tensor{Shape: append([]int64{int64(steps)}, za.Shape[1:]...), Data: make([]float32, steps*k)}
	for s := 0; s < steps; s++ {
		t := float32(s) / float32(steps-1)
		for j := 0; j < k; j++ {
			z.Data[s*k+j] = (1-t)*za.Data[j] + t*zb.Data[j]
		}
	}
	if dims, n, ok := fixedSample(dec.info.Inputs[0]); ok && n == int64(k) {
		z.Shape = append([]int64{int64(steps)}, dims...) // as the decoder takes it
	}
	x, err = dec.decode(z, class)
	return z, x, err
}

// oneSample gives a single sample s the shape of m's first input, (1,
// dims…), when that shape is fixed and s is one sample of it: flat, with or
// without leading 1s (784, (1, 784), (28, 28) for (1, 28, 28)); or adds
// the batch dimension to a sample given without it. Anything else is
// returned as it is.
func (m *Model) oneSample(s Tensor) Tensor {
	in := m.info.Inputs[0]
	if dims, n, ok := fixedSample(in); ok && n == int64(len(s.Data)) {
		got, want := trimOnes(s.Shape), trimOnes(dims)
		if slices.Equal(got, want) || (len(got) == 1 && got[0] == int64(len(s.Data))) || len(got) == 0 {
			return Tensor{Shape: append([]int64{1}, dims...), Data: s.Data}
		}
	}
	if in.HasShape && len(s.Shape) == len(in.Shape)-1 {
		return Tensor{Shape: append([]int64{1}, s.Shape...), Data: s.Data}
	}
	return s
}

// fixedSample returns the per-sample dimensions of io, (batch, dims…),
// and their product, when they are all fixed (and the product within
// limits).
func fixedSample(io IO) ([]int64, int64, bool) {
	if !io.HasShape || len(io.Shape) < 2 {
		return nil, 0, false
	}
	dims := make([]int64, len(io.Shape)-1)
	for i, d := range io.Shape[1:] {
		if d.Size <= 0 {
			return nil, 0, false
		}
		dims[i] = d.Size
	}
	n, err := limits.Elements(dims)
	return dims, n, err == nil
}

func trimOnes(s []int64) []int64 {
	for len(s) > 0 && s[0] == 1 {
		s = s[1:]
	}
	return s
}
