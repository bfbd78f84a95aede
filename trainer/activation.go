package trainer

import (
	"fmt"
	"math"

	"github.com/aebridge/aebridge/graph"
)

// Activation is an elementwise nonlinearity. Kind is one of "identity",
// "relu", "leaky_relu" (slope Alpha), "elu" (Alpha), "sigmoid", "tanh",
// "softplus", "gelu" (Approximate "none" for the exact erf form, "tanh" for
// the tanh form) or "silu". Each computes what the PyTorch module of the same
// name computes, and what its ONNX export computes.
type Activation struct {
	Kind        string
	Alpha       float64
	Approximate string

	x, y   *Tensor // input and output of the last Forward
	dx, dy *Tensor // gradients of the Backward in progress
}

// activationForward and activationBackward are an activation's parallel
// loops, as jobs of one pointer (passing them allocates nothing).
type (
	activationForward  struct{ a *Activation }
	activationBackward struct{ a *Activation }
)

func (f activationForward) Run(lo, hi int) {
	f.a.forward(f.a.y.Data[lo:hi], f.a.x.Data[lo:hi])
}

func (b activationBackward) Run(lo, hi int) {
	a := b.a
	a.backward(a.dx.Data[lo:hi], a.dy.Data[lo:hi], a.x.Data[lo:hi], a.y.Data[lo:hi])
}

// ActivationKinds lists the activation kinds NewActivation accepts.
var ActivationKinds = []string{"identity", "relu", "leaky_relu", "elu", "sigmoid", "tanh", "softplus", "gelu", "silu"}

// NewActivation returns the activation of the given kind with PyTorch's
// default parameters (LeakyReLU slope 0.01, ELU α 1, exact GELU).
func NewActivation(kind string) (*Activation, error) {
	a := &Activation{Kind: kind}
	switch kind {
	case "identity", "relu", "sigmoid", "tanh", "softplus", "silu":
	case "leaky_relu":
		a.Alpha = 0.01
	case "elu":
		a.Alpha = 1
	case "gelu":
		a.Approximate = "none"
	default:
		return nil, fmt.Errorf("trainer: unknown activation %q (want one of %v)", kind, ActivationKinds)
	}
	return a, nil
}

const (
	sqrt2        = 1.4142135623730951
	sqrt2OverPi  = 0.7978845608028654 // √(2/π)
	invSqrt2Pi   = 0.3989422804014327 // 1/√(2π)
	geluTanhCoef = 0.044715
)

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// Forward computes dst = f(x) elementwise; dst takes x's shape.
func (a *Activation) Forward(dst, x *Tensor) {
	dst.Resize(x.Shape...)
	a.x, a.y = x, dst
	graph.ParallelFor(x.Len(), graph.Grain, activationForward{a})
}

// forward applies the function to the elements of x, writing y.
func (a *Activation) forward(y, x []float32) {
	switch a.Kind {
	case "identity":
		copy(y, x)
	case "relu":
		graph.Relu(y, x)
	case "leaky_relu":
		s := float32(a.Alpha)
		for i, v := range x {
			if v > 0 {
				y[i] = v
			} else {
				y[i] = s * v
			}
		}
	case "elu":
		for i, v := range x {
			if v > 0 {
				y[i] = v
			} else {
				y[i] = float32(a.Alpha * math.Expm1(float64(v)))
			}
		}
	case "sigmoid":
		graph.Sigmoids(y, x)
	case "tanh":
		y = y[:len(x)]
		for i, v := range x {
			y[i] = graph.Tanh32(v)
		}
	case "softplus":
		// log(1 + eˣ) = max(x, 0) + log1p(e^-|x|), without overflow.
		for i, v := range x {
			f := float64(v)
			y[i] = float32(math.Max(f, 0) + math.Log1p(math.Exp(-math.Abs(f))))
		}
	case "gelu":
		tanh := a.Approximate == "tanh"
		for i, v := range x {
			y[i] = graph.Gelu32(v, tanh)
		}
	case "silu":
		for i, v := range x {
			f := float64(v)
			y[i] = float32(f * sigmoid(f))
		}
	default:
		panic("trainer: unknown activation " + a.Kind)
	}
}

// Backward writes dx = f′(x)·dy; activations have no parameters. It panics
// with ErrShape if dy does not match the last Forward's output.
func (a *Activation) Backward(dx, dy *Tensor) {
	sameShape(dy, a.y)
	if dx == nil {
		return
	}
	dx.Resize(dy.Shape...)
	a.dx, a.dy = dx, dy
	graph.ParallelFor(dy.Len(), graph.Grain, activationBackward{a})
}

// backward writes out = f′(x)·g for the elements of x (with y = f(x)).
func (a *Activation) backward(out, g, x, y []float32) {
	switch a.Kind {
	case "identity":
		copy(out, g)
	case "relu":
		graph.ReluBack(out, g, y)
	case "leaky_relu":
		s := float32(a.Alpha)
		for i, v := range x {
			if v > 0 {
				out[i] = g[i]
			} else {
				out[i] = s * g[i]
			}
		}
	case "elu":
		al := float32(a.Alpha)
		for i, v := range x {
			if v > 0 {
				out[i] = g[i]
			} else {
				out[i] = g[i] * (y[i] + al) // α·eˣ
			}
		}
	case "sigmoid":
		out, g = out[:len(y)], g[:len(y)]
		for i, s := range y {
			out[i] = g[i] * s * (1 - s)
		}
	case "tanh":
		for i, t := range y {
			out[i] = g[i] * (1 - t*t)
		}
	case "softplus":
		for i, v := range x {
			out[i] = g[i] * float32(sigmoid(float64(v)))
		}
	case "gelu":
		tanh := a.Approximate == "tanh"
		for i, v := range x {
			out[i] = g[i] * graph.GeluDerivative(v, tanh)
		}
	case "silu":
		for i, v := range x {
			s := sigmoid(float64(v))
			out[i] = g[i] * float32(s*(1+float64(v)*(1-s)))
		}
	}
}

// OutShape is the input shape.
func (a *Activation) OutShape(in []int) []int { return append([]int(nil), in...) }

// Params is empty.
func (a *Activation) Params() []*Param { return nil }

// Spec describes the activation.
func (a *Activation) Spec() LayerSpec {
	return LayerSpec{Type: a.Kind, Alpha: a.Alpha, Approximate: a.Approximate}
}

var _ Layer = (*Activation)(nil)
