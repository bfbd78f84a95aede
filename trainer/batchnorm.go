package trainer

import (
	"fmt"
	"math/rand/v2"

	"github.com/aebridge/aebridge/graph"
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
	stats              graph.BatchNormStats // of the last training Forward
	x                  *Tensor              // the input of the last inference Forward
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

// Forward normalises x into dst, through graph's BatchNormalization
// kernels. It panics with ErrShape if x's dimension 1 is not C.
func (b *BatchNorm) Forward(dst, x *Tensor) {
	if len(x.Shape) < 2 || x.Shape[1] != b.C {
		panic(ErrShape)
	}
	dst.Resize(x.Shape...)
	y, gx := view(dst), view(x)
	w, bias, mean, variance := view(b.W.Value), view(b.B.Value), view(b.Mean.Value), view(b.Var.Value)
	if b.training {
		graph.BatchNormTrainForward(&y, &b.stats, &gx, &w, &bias, b.Eps)
		graph.BatchNormUpdateRunning(&mean, &variance, &b.stats, b.Momentum)
		b.Batches.Value.Data[0]++
	} else {
		graph.BatchNormForward(&y, &gx, &w, &bias, &mean, &variance, b.Eps)
		b.x = x
	}
	b.shape = append(b.shape[:0], x.Shape...)
}

// Backward adds dγ = Σ dy·x̂ and dβ = Σ dy, and writes dx: in training,
// γ/σ·(dy − mean(dy) − x̂·mean(dy·x̂)) over each channel's batch; in
// inference, γ/σ·dy (and, as before the kernels moved to graph, no dγ).
func (b *BatchNorm) Backward(dx, dy *Tensor) {
	if dy.Len() != product(b.shape) {
		panic(ErrShape)
	}
	var gdx *graph.Tensor
	if dx != nil {
		dx.Resize(b.shape...)
		clear(dx.Data)
		v := view(dx)
		gdx = &v
	}
	gdy, w, db := graph.Tensor{Shape: b.shape, Data: dy.Data}, view(b.W.Value), view(b.B.Grad)
	if b.training {
		dw := view(b.W.Grad)
		graph.BatchNormTrainBackward(gdx, &dw, &db, &gdy, &b.stats, &w)
		return
	}
	gx, mean, variance := view(b.x), view(b.Mean.Value), view(b.Var.Value)
	graph.BatchNormBackward(gdx, nil, &db, nil, nil, &gdy, &gx, &w, &mean, &variance, b.Eps)
}

// view is t as a graph tensor sharing its shape and values.
func view(t *Tensor) graph.Tensor { return graph.Tensor{Shape: t.Shape, Data: t.Data} }

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
