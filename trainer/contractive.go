package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"

	"github.com/aebridge/aebridge/graph"
)

// The contractive penalty, Ω = λ·(1/N)·Σₙ ‖J(xₙ)‖²_F with J = ∂h/∂x the
// Jacobian of the whole encoder, and its gradient with respect to every
// encoder weight.
//
// One-layer encoders, h = σ(Wx + b), use the closed form
//
//	‖J‖²_F = Σᵢ σ′(aᵢ)² · Σₘ W²ᵢₘ
//
// and its exact gradient. Deeper encoders push tangents through the
// network: for a direction v, Jv is computed layer by layer (a dense layer
// maps a tangent t to Wt, an activation to σ′(a)⊙t), and the gradient of
// ‖Jv‖² is back-propagated through both the tangents and the activations'
// dependence on a (through σ″). Summing ‖Jeₘ‖² over the D input basis
// directions gives ‖J‖²_F exactly (samples = 0). With samples = k > 0, each
// sample's ‖J‖²_F is estimated by (1/k)·Σ ‖Jvᵢ‖² with vᵢ ~ N(0, I), an
// unbiased estimate (E[vvᵀ] = I) whose variance is (2/k)·‖JᵀJ‖²_F, at most
// 2/k times the square of the value itself; its gradient is unbiased too.
// The exact form costs D tangent passes per sample, the estimator k.

// checkContractive reports whether the encoder is made of dense layers and
// activations only, which the penalty needs.
func (m *Model) checkContractive() error {
	for i, l := range m.Encoder {
		switch l.(type) {
		case *Dense, *Activation:
		default:
			return fmt.Errorf("trainer: the contractive penalty needs an encoder of dense layers and activations; encoder.%d is %s", i, l.Spec().Type)
		}
	}
	return nil
}

// slopes returns σ′(a) and σ″(a) of an activation at its input a and
// output h = σ(a).
func slopes(act *Activation, a, h float64) (d1, d2 float64) {
	switch act.Kind {
	case "identity":
		return 1, 0
	case "relu":
		if a > 0 {
			return 1, 0
		}
		return 0, 0
	case "leaky_relu":
		if a > 0 {
			return 1, 0
		}
		return act.Alpha, 0
	case "elu":
		if a > 0 {
			return 1, 0
		}
		return h + act.Alpha, h + act.Alpha // α·eᵃ, twice
	case "sigmoid":
		d1 = h * (1 - h)
		return d1, d1 * (1 - 2*h)
	case "tanh":
		d1 = 1 - h*h
		return d1, -2 * h * d1
	case "softplus":
		s := sigmoid(a)
		return s, s * (1 - s)
	case "silu":
		s := sigmoid(a)
		return s * (1 + a*(1-s)), s * (1 - s) * (2 + a*(1-2*s))
	case "gelu":
		if act.Approximate == "tanh" {
			u := sqrt2OverPi * (a + geluTanhCoef*a*a*a)
			du := sqrt2OverPi * (1 + 3*geluTanhCoef*a*a)
			ddu := sqrt2OverPi * 6 * geluTanhCoef * a
			t := math.Tanh(u)
			s := 1 - t*t
			return 0.5*(1+t) + 0.5*a*s*du, s*du + 0.5*a*s*(ddu-2*t*du*du)
		}
		phi := invSqrt2Pi * math.Exp(-0.5*a*a)
		return 0.5*(1+math.Erf(a/sqrt2)) + a*phi, phi * (2 - a*a)
	}
	panic("trainer: no slopes for activation " + act.Kind)
}

// contractive adds the gradient of the penalty for the encoder's last
// forward pass (on N samples) into the encoder's parameters and returns the
// penalty. rng draws the estimator's directions.
func (m *Model) contractive(lambda float64, samples int, rng *rand.Rand) float64 {
	if len(m.Encoder) == 2 {
		if d, ok := m.Encoder[0].(*Dense); ok {
			if a, ok := m.Encoder[1].(*Activation); ok {
				return contractiveOneLayer(d, a, lambda)
			}
		}
	}
	return m.contractiveDeep(lambda, samples, rng)
}

// contractiveOneLayer is the closed form for h = σ(Wx + b):
//
//	Ω = (λ/N)·Σₙ Σᵢ σ′(aₙᵢ)²·Sᵢ,  Sᵢ = Σₘ W²ᵢₘ
//	∂Ω/∂Wᵢₘ = (λ/N)·Σₙ [2σ′(aₙᵢ)²·Wᵢₘ + 2σ′(aₙᵢ)σ″(aₙᵢ)·Sᵢ·xₙₘ]
//	∂Ω/∂bᵢ  = (λ/N)·Σₙ 2σ′(aₙᵢ)σ″(aₙᵢ)·Sᵢ
//
// with W in the encoder's (out, in) layout.
func contractiveOneLayer(d *Dense, act *Activation, lambda float64) float64 {
	x := d.x
	n, out, in := x.Rows(), d.Out, d.In
	w := d.W.Value.Data
	row := func(i int) []float32 { return w[i*in : (i+1)*in] }
	s := make([]float64, out)
	for i := range s {
		for _, v := range row(i) {
			s[i] += float64(v) * float64(v)
		}
	}
	c := lambda / float64(n)
	sumD1sq := make([]float64, out)
	g := NewTensor(n, out) // 2σ′σ″·S, the factor of x in ∂Ω/∂W
	var pen float64
	for r := 0; r < n; r++ {
		for i := 0; i < out; i++ {
			k := r*out + i
			d1, d2 := slopes(act, float64(act.x.Data[k]), float64(act.y.Data[k]))
			pen += d1 * d1 * s[i]
			sumD1sq[i] += d1 * d1
			g.Data[k] = float32(c * 2 * d1 * d2 * s[i])
		}
	}
	for i := 0; i < out; i++ {
		f := float32(c * 2 * sumD1sq[i])
		gw := d.W.Grad.Data[i*in : (i+1)*in]
		for m, v := range row(i) {
			gw[m] += f * v
		}
		var gb float32
		for r := 0; r < n; r++ {
			gb += g.Data[r*out+i]
		}
		d.B.Grad.Data[i] += gb
	}
	graph.Gemm(blas.Trans, blas.NoTrans, 1, g.Matrix(), x.Matrix(), 1, d.W.Grad.Matrix())
	return c * pen
}

// contractiveDeep computes the penalty of a deep encoder by tangent
// propagation: exactly (samples 0) or by the Gaussian estimator.
func (m *Model) contractiveDeep(lambda float64, samples int, rng *rand.Rand) float64 {
	first := m.Encoder[0].(*Dense)
	x := first.x
	n, dim := x.Rows(), x.Cols()
	k := samples
	scale := 1.0
	if k == 0 {
		k = dim
	} else {
		scale = 1 / float64(k)
	}
	// Process samples in chunks so that the tangents stay small.
	chunk := max(1, 16384/k)
	var pen float64
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		rows := (hi - lo) * k
		t0 := NewTensor(rows, dim)
		for r := 0; r < hi-lo; r++ {
			for i := 0; i < k; i++ {
				dst := t0.Data[(r*k+i)*dim : (r*k+i+1)*dim]
				if samples == 0 {
					dst[i] = 1
				} else {
					for j := range dst {
						dst[j] = float32(rng.NormFloat64())
					}
				}
			}
		}
		pen += m.tangentPass(t0, lo, hi, k, lambda*scale/float64(n))
	}
	return pen
}

// tangentForward pushes tangents t0 through the encoder and returns the
// tangent entering each layer and, last, the output's. Row r of t0 is a
// direction at sample lo + r/k of the encoder's last forward pass.
func (m *Model) tangentForward(t0 *Tensor, lo, k int) []*Tensor {
	tangents := []*Tensor{t0}
	for _, l := range m.Encoder {
		in := tangents[len(tangents)-1]
		out := &Tensor{}
		switch l := l.(type) {
		case *Dense:
			out.Resize(in.Rows(), l.Out)
			graph.Gemm(blas.NoTrans, blas.Trans, 1, in.Matrix(), l.W.Value.Matrix(), 0, out.Matrix())
		case *Activation:
			out.Resize(in.Shape...)
			f := in.Cols()
			for r := 0; r < in.Rows(); r++ {
				s := lo + r/k
				for j := 0; j < f; j++ {
					d1, _ := slopes(l, float64(l.x.Data[s*f+j]), float64(l.y.Data[s*f+j]))
					out.Data[r*f+j] = float32(d1) * in.Data[r*f+j]
				}
			}
		}
		tangents = append(tangents, out)
	}
	return tangents
}

// tangentPass pushes tangents t0, (rows = samples [lo, hi) × k directions,
// D), through the encoder, returns c·Σ‖J t‖² and adds its gradient into the
// encoder's parameters.
func (m *Model) tangentPass(t0 *Tensor, lo, hi, k int, c float64) float64 {
	nl := len(m.Encoder)
	tangents := m.tangentForward(t0, lo, k)
	top := tangents[nl]
	var pen float64
	dT := NewTensor(top.Shape...)
	for i, v := range top.Data {
		pen += float64(v) * float64(v)
		dT.Data[i] = float32(2 * c * float64(v))
	}
	// dP is the gradient with respect to the primal values of the samples
	// [lo, hi), which the activations' slopes depend on.
	var dP *Tensor
	ns := hi - lo
	for i := nl - 1; i >= 0; i-- {
		in := tangents[i]
		switch l := m.Encoder[i].(type) {
		case *Activation:
			f := in.Cols()
			dTin := NewTensor(in.Shape...)
			dPin := NewTensor(ns, f)
			for r := 0; r < in.Rows(); r++ {
				s := r / k
				for j := 0; j < f; j++ {
					a := float64(l.x.Data[(lo+s)*f+j])
					d1, d2 := slopes(l, a, float64(l.y.Data[(lo+s)*f+j]))
					g := dT.Data[r*f+j]
					dTin.Data[r*f+j] = float32(d1) * g
					dPin.Data[s*f+j] += float32(d2) * in.Data[r*f+j] * g
				}
			}
			if dP != nil {
				for s := 0; s < ns; s++ {
					for j := 0; j < f; j++ {
						d1, _ := slopes(l, float64(l.x.Data[(lo+s)*f+j]), float64(l.y.Data[(lo+s)*f+j]))
						dPin.Data[s*f+j] += float32(d1) * dP.Data[s*f+j]
					}
				}
			}
			dT, dP = dTin, dPin
		case *Dense:
			// Tangent path: t_out = t_in·Wᵀ.
			graph.Gemm(blas.Trans, blas.NoTrans, 1, dT.Matrix(), in.Matrix(), 1, l.W.Grad.Matrix())
			// Primal path: y = x·Wᵀ + b on the chunk's samples.
			if dP != nil {
				xs := &Tensor{Shape: []int{ns, l.In}, Data: l.x.Data[lo*l.In : hi*l.In]}
				graph.Gemm(blas.Trans, blas.NoTrans, 1, dP.Matrix(), xs.Matrix(), 1, l.W.Grad.Matrix())
				for s := 0; s < ns; s++ {
					for j := 0; j < l.Out; j++ {
						l.B.Grad.Data[j] += dP.Data[s*l.Out+j]
					}
				}
			}
			if i == 0 {
				break
			}
			dTin := NewTensor(in.Rows(), l.In)
			graph.Gemm(blas.NoTrans, blas.NoTrans, 1, dT.Matrix(), l.W.Value.Matrix(), 0, dTin.Matrix())
			var dPin *Tensor
			if dP != nil {
				dPin = NewTensor(ns, l.In)
				graph.Gemm(blas.NoTrans, blas.NoTrans, 1, dP.Matrix(), l.W.Value.Matrix(), 0, dPin.Matrix())
			}
			dT, dP = dTin, dPin
		}
	}
	return c * pen
}

// JacobianNorm returns, for each row of x, ‖∂h/∂x‖²_F of the encoder,
// exactly (by D tangent passes). It runs the encoder on x.
func (m *Model) JacobianNorm(x *Tensor) ([]float64, error) {
	if err := m.checkContractive(); err != nil {
		return nil, err
	}
	m.encodeLayers(x)
	dim := m.Encoder[0].(*Dense).In
	out := make([]float64, x.Rows())
	for s := range out {
		t0 := NewTensor(dim, dim)
		for i := 0; i < dim; i++ {
			t0.Data[i*dim+i] = 1
		}
		tangents := m.tangentForward(t0, s, dim)
		t := tangents[len(tangents)-1]
		for _, v := range t.Data {
			out[s] += float64(v) * float64(v)
		}
	}
	return out, nil
}
