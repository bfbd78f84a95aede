package trainer

import (
	"fmt"
	"math"
)

// Loss names a reconstruction loss: "mse" or "bce". The training objective
// is the loss's mean over all elements, as PyTorch's reduction="mean" takes
// it; metrics also report it per sample (summed over a sample's elements).
type Loss string

// The losses.
const (
	MSE Loss = "mse" // (ŷ − y)²
	BCE Loss = "bce" // −[y·log ŷ + (1 − y)·log(1 − ŷ)], y in [0, 1]
)

// ParseLoss checks a loss name.
func ParseLoss(s string) (Loss, error) {
	switch l := Loss(s); l {
	case MSE, BCE:
		return l, nil
	}
	return "", fmt.Errorf("trainer: unknown loss %q (want mse or bce)", s)
}

// MSELoss returns Σ wᵢ(outᵢ − targetᵢ)² over all elements and, if grad is
// not nil, writes into it the gradient of that sum divided by n, the number
// of elements: 2wᵢ(outᵢ − targetᵢ)/n. weight may be nil for wᵢ = 1, the
// plain mean. It panics with ErrShape if the shapes differ.
func MSELoss(grad, out, target, weight *Tensor) float64 {
	sameShape(out, target)
	if weight != nil {
		sameShape(out, weight)
	}
	if grad != nil {
		grad.Resize(out.Shape...)
	}
	scale := float32(2 / float64(out.Len()))
	return parallelSum(out.Len(), grain, func(lo, hi int) float64 {
		var sum float64
		for i := lo; i < hi; i++ {
			d := out.Data[i] - target.Data[i]
			w := float32(1)
			if weight != nil {
				w = weight.Data[i]
			}
			sum += float64(w) * float64(d) * float64(d)
			if grad != nil {
				grad.Data[i] = scale * w * d
			}
		}
		return sum
	})
}

// BCELoss returns −Σ wᵢ[tᵢ·log pᵢ + (1 − tᵢ)·log(1 − pᵢ)] over all
// elements, with each logarithm clamped at −100 as PyTorch's BCELoss does,
// and, if grad is not nil, writes the gradient of that sum divided by n.
// out holds probabilities p; weight may be nil for wᵢ = 1. It panics with
// ErrShape if the shapes differ.
func BCELoss(grad, out, target, weight *Tensor) float64 {
	sameShape(out, target)
	if weight != nil {
		sameShape(out, weight)
	}
	if grad != nil {
		grad.Resize(out.Shape...)
	}
	n := float64(out.Len())
	const eps = 1e-12
	var sum float64
	for i, o := range out.Data {
		p, t := float64(o), float64(target.Data[i])
		w := 1.0
		if weight != nil {
			w = float64(weight.Data[i])
		}
		sum -= w * (t*math.Max(math.Log(p), -100) + (1-t)*math.Max(math.Log(1-p), -100))
		if grad != nil {
			// p is kept off 0 and 1 so that the gradient stays finite where
			// the clamp holds the value.
			q := math.Min(math.Max(p, eps), 1-eps)
			grad.Data[i] = float32(w * (q - t) / (q * (1 - q)) / n)
		}
	}
	return sum
}

// BCEWithLogitsLoss is BCELoss on p = σ(z), computed from the logits z
// without forming p: each element's loss is max(z, 0) − z·t + log(1 + e^−|z|)
// and its gradient w(σ(z) − t)/n, finite for any z. weight may be nil. It
// panics with ErrShape if the shapes differ.
func BCEWithLogitsLoss(grad, z, target, weight *Tensor) float64 {
	sameShape(z, target)
	if weight != nil {
		sameShape(z, weight)
	}
	if grad != nil {
		grad.Resize(z.Shape...)
	}
	inv := 1 / float64(z.Len())
	return parallelSum(z.Len(), grain, func(lo, hi int) float64 {
		var sum float64
		for i := lo; i < hi; i++ {
			x, t := float64(z.Data[i]), float64(target.Data[i])
			w := 1.0
			if weight != nil {
				w = float64(weight.Data[i])
			}
			// One exponential serves the loss and σ(x).
			e := math.Exp(-math.Abs(x))
			sum += w * (math.Max(x, 0) - x*t + math.Log1p(e))
			if grad != nil {
				s := 1 / (1 + e)
				if x < 0 {
					s = e / (1 + e)
				}
				grad.Data[i] = float32(w * (s - t) * inv)
			}
		}
		return sum
	})
}

// L2Penalty returns λ·Σθ² over the parameters marked for decay (weights,
// not biases) and adds its gradient 2λθ into their Grad tensors. This is
// weight decay as a term of the objective, not AdamW's decoupled decay.
func L2Penalty(params []*Param, lambda float64) float64 {
	if lambda == 0 {
		return 0
	}
	var sum float64
	l2 := float32(2 * lambda)
	for _, p := range params {
		if !p.Decay {
			continue
		}
		g := p.Grad.Data
		for i, w := range p.Value.Data {
			sum += float64(w) * float64(w)
			g[i] += l2 * w
		}
	}
	return lambda * sum
}
