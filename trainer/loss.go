package trainer

import (
	"fmt"
	"math"

	"github.com/aebridge/aebridge/graph"
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
	return (&lossJob{kind: MSE, grad: grad, out: out, target: target, weight: weight}).total()
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
	return (&lossJob{kind: BCE, logits: true, grad: grad, out: z, target: target, weight: weight}).total()
}

// lossJob is MSELoss or BCEWithLogitsLoss split over the worker pool; a
// model holds one, so that its training steps allocate nothing.
type lossJob struct {
	kind                      Loss
	logits                    bool // BCE from logits (the only BCE done here)
	grad, out, target, weight *Tensor
	scale                     float64 // the gradient's factor: 2/n (MSE), 1/n (BCE)
}

// total checks the shapes and returns the summed loss, writing the
// gradient if grad is not nil.
func (j *lossJob) total() float64 {
	sameShape(j.out, j.target)
	if j.weight != nil {
		sameShape(j.out, j.weight)
	}
	if j.grad != nil {
		j.grad.Resize(j.out.Shape...)
	}
	n := j.out.Len()
	j.scale = 1 / float64(n)
	if j.kind == MSE {
		j.scale = 2 / float64(n)
	}
	return graph.ParallelSum(n, graph.Grain, j)
}

func (j *lossJob) Sum(lo, hi int) float64 {
	if j.kind == MSE {
		return j.mse(lo, hi)
	}
	return j.bceLogits(lo, hi)
}

func (j *lossJob) mse(lo, hi int) float64 {
	out, target := j.out.Data[lo:hi], j.target.Data[lo:hi]
	scale := float32(j.scale)
	var sum float64
	if j.weight == nil && j.grad != nil {
		// The SSE kernel, where the build has one, takes all but the last
		// few elements.
		s, done := graph.MSEBlocks(j.grad.Data[lo:hi], out, target, scale)
		sum, out, target, lo = s, out[done:], target[done:], lo+done
	}
	for i, o := range out {
		d := o - target[i]
		w := float32(1)
		if j.weight != nil {
			w = j.weight.Data[lo+i]
		}
		sum += float64(w) * float64(d) * float64(d)
		if j.grad != nil {
			j.grad.Data[lo+i] = scale * w * d
		}
	}
	return sum
}

func (j *lossJob) bceLogits(lo, hi int) float64 {
	z, target := j.out.Data[lo:hi], j.target.Data[lo:hi]
	scale := float32(j.scale)
	// Unweighted, the log(1 + e^−|x|) terms are summed as the logarithm of
	// their product, taken every 1000 elements (each factor is in (1, 2],
	// so the float64 product stays finite): one logarithm a thousand
	// elements, and a more exact sum than one logarithm each.
	var sum float64
	if j.weight == nil && j.grad != nil {
		// The SSE kernel, where the build has one, takes all but the last
		// few elements.
		s, done := graph.BCELogitsBlocks(j.grad.Data[lo:hi], z, target, scale)
		sum, z, target, lo = s, z[done:], target[done:], lo+done
	}
	prod, factors := 1.0, 0
	for i, x := range z {
		t := target[i]
		// One exponential serves the loss and σ(x).
		e := graph.Exp32(math.Float32frombits(math.Float32bits(x) | 1<<31)) // e^−|x|
		w := float32(1)
		if j.weight != nil {
			w = j.weight.Data[lo+i]
			sum += float64(w * (max(x, 0) - x*t + graph.Log1p32(e)))
		} else {
			sum += float64(max(x, 0) - x*t)
			prod *= 1 + float64(e)
			if factors++; factors == 1000 {
				sum += math.Log(prod)
				prod, factors = 1, 0
			}
		}
		if j.grad != nil {
			neg := graph.SignMask(x)
			num := 0x3f800000&^neg | math.Float32bits(e)&neg // σ(x) = num/(1 + e)
			s := math.Float32frombits(num) / (1 + e)
			j.grad.Data[lo+i] = w * (s - t) * scale
		}
	}
	return sum + math.Log(prod)
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
