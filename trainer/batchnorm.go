package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// BatchNorm normalises each channel (dimension 1) of (N, C, …) inputs, as
// PyTorch's nn.BatchNorm1d/2d computes it. In training it uses the batch's
// mean and biased variance and updates the running statistics,
//
//	running ← (1 − momentum)·running + momentum·batch statistic
//
// with the unbiased variance for running_var; in inference it uses the
// running statistics. y = γ·(x − μ)/√(σ² + eps) + β.
type BatchNorm struct {
	C                  int
	Momentum, Eps      float64
	W, B               *Param // γ ("weight") and β ("bias"), (C)
	Mean, Var, Batches *Param // running_mean, running_var, num_batches_tracked: buffers
	training           bool
	xhat               []float32 // normalised input of the last training Forward
	invStd             []float64 // per channel, of the last Forward
	shape              []int
}

// NewBatchNorm returns batch normalisation over c channels with γ = 1,
// β = 0, running mean 0 and running variance 1, as PyTorch starts.
func NewBatchNorm(name string, c int, momentum, eps float64) (*BatchNorm, error) {
	if c <= 0 || !(momentum >= 0 && momentum <= 1) || !(eps > 0) {
		return nil, fmt.Errorf("trainer: layer %s: batch norm over %d channels with momentum %v and eps %v (want channels > 0, momentum in [0, 1], eps > 0)", name, c, momentum, eps)
	}
	b := &BatchNorm{C: c, Momentum: momentum, Eps: eps,
		W: newParam(name+".weight", false, c), B: newParam(name+".bias", false, c),
		Mean: newParam(name+".running_mean", false, c), Var: newParam(name+".running_var", false, c),
		Batches: newParam(name+".num_batches_tracked", false)}
	for i := 0; i < c; i++ {
		b.W.Value.Data[i], b.Var.Value.Data[i] = 1, 1
	}
	return b, nil
}

func (b *BatchNorm) setTraining(training bool, _ *rand.Rand) { b.training = training }

// OutShape is the input shape.
func (b *BatchNorm) OutShape(in []int) []int { return append([]int(nil), in...) }

// Forward normalises x into dst. It panics with ErrShape if x's dimension 1
// is not C.
func (b *BatchNorm) Forward(dst, x *Tensor) {
	if len(x.Shape) < 2 || x.Shape[1] != b.C {
		panic(ErrShape)
	}
	dst.Resize(x.Shape...)
	n := x.Shape[0]
	inner := x.Len() / (n * b.C)
	m := n * inner
	if cap(b.invStd) < b.C {
		b.invStd = make([]float64, b.C)
	}
	b.invStd = b.invStd[:b.C]
	if b.training {
		if cap(b.xhat) < x.Len() {
			b.xhat = make([]float32, x.Len())
		}
		b.xhat = b.xhat[:x.Len()]
	}
	each := func(c int, fn func(i int)) {
		for s := 0; s < n; s++ {
			base := (s*b.C + c) * inner
			for i := base; i < base+inner; i++ {
				fn(i)
			}
		}
	}
	for c := 0; c < b.C; c++ {
		var mean, variance float64
		if b.training {
			each(c, func(i int) { mean += float64(x.Data[i]) })
			mean /= float64(m)
			each(c, func(i int) { d := float64(x.Data[i]) - mean; variance += d * d })
			unbiased := variance / math.Max(float64(m-1), 1)
			variance /= float64(m)
			mo := b.Momentum
			b.Mean.Value.Data[c] = float32((1-mo)*float64(b.Mean.Value.Data[c]) + mo*mean)
			b.Var.Value.Data[c] = float32((1-mo)*float64(b.Var.Value.Data[c]) + mo*unbiased)
		} else {
			mean, variance = float64(b.Mean.Value.Data[c]), float64(b.Var.Value.Data[c])
		}
		inv := 1 / math.Sqrt(variance+b.Eps)
		b.invStd[c] = inv
		g, be := float64(b.W.Value.Data[c]), float64(b.B.Value.Data[c])
		each(c, func(i int) {
			xh := (float64(x.Data[i]) - mean) * inv
			if b.training {
				b.xhat[i] = float32(xh)
			}
			dst.Data[i] = float32(g*xh + be)
		})
	}
	if b.training {
		b.Batches.Value.Data[0]++
	}
	b.shape = append(b.shape[:0], x.Shape...)
}

// Backward adds dγ = Σ dy·x̂ and dβ = Σ dy, and writes dx: in training,
// γ/σ·(dy − mean(dy) − x̂·mean(dy·x̂)) over each channel's batch; in
// inference, γ/σ·dy.
func (b *BatchNorm) Backward(dx, dy *Tensor) {
	if dy.Len() != product(b.shape) {
		panic(ErrShape)
	}
	n := b.shape[0]
	inner := dy.Len() / (n * b.C)
	m := float64(n * inner)
	if dx != nil {
		dx.Resize(b.shape...)
	}
	for c := 0; c < b.C; c++ {
		var sumDy, sumDyXh float64
		for s := 0; s < n; s++ {
			base := (s*b.C + c) * inner
			for i := base; i < base+inner; i++ {
				sumDy += float64(dy.Data[i])
				if b.training {
					sumDyXh += float64(dy.Data[i]) * float64(b.xhat[i])
				}
			}
		}
		b.B.Grad.Data[c] += float32(sumDy)
		if b.training {
			b.W.Grad.Data[c] += float32(sumDyXh)
		}
		if dx == nil {
			continue
		}
		k := float64(b.W.Value.Data[c]) * b.invStd[c]
		for s := 0; s < n; s++ {
			base := (s*b.C + c) * inner
			for i := base; i < base+inner; i++ {
				if b.training {
					dx.Data[i] = float32(k * (float64(dy.Data[i]) - sumDy/m - float64(b.xhat[i])*sumDyXh/m))
				} else {
					dx.Data[i] = float32(k * float64(dy.Data[i]))
				}
			}
		}
	}
}

// Params are γ and β (not decayed, as biases are not).
func (b *BatchNorm) Params() []*Param { return []*Param{b.W, b.B} }

// Buffers are the running statistics and the count of batches seen.
func (b *BatchNorm) Buffers() []*Param { return []*Param{b.Mean, b.Var, b.Batches} }

// Spec describes the layer.
func (b *BatchNorm) Spec() LayerSpec {
	return LayerSpec{Type: "batchnorm", In: b.C, Momentum: b.Momentum, Eps: b.Eps}
}

var (
	_ Layer    = (*BatchNorm)(nil)
	_ modal    = (*BatchNorm)(nil)
	_ stateful = (*BatchNorm)(nil)
)
