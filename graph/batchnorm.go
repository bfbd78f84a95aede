package graph

import (
	"fmt"
	"math"
	"slices"
)

func init() {
	register(map[string]operator{
		"BatchNormalization": {inputs: [2]int{5, 5}, outputs: [2]int{1, 3}, fixed: []int{3, 4},
			attrs: map[string]AttrType{"epsilon": AttrFloat, "momentum": AttrFloat, "training_mode": AttrInt},
			infer: inferBatchNorm, forward: batchNormForward, backward: batchNormBackward},
	})
}

// BatchNormalization: ONNX's (opset 15+) per-channel normalisation of X
// (N, C, …) by a mean and variance, y = scale·(x − mean)/√(var + epsilon)
// + B, with scale, B, input_mean and input_var of shape (C). Which
// statistics it uses:
//
//   - In inference (ONNX's training_mode = 0, and the reference Forward),
//     input_mean and input_var: the running statistics.
//   - With training_mode = 1 outside the graph's training, as ONNX
//     defines it: the batch's mean and biased variance over N and the
//     spatial dimensions; the optional outputs running_mean and running_var
//     are input_mean·momentum + batch mean·(1 − momentum) and the same of
//     the variances (the biased one, as ONNX's reference does); the inputs
//     are left as they are.
//   - While the graph trains (state.training), as PyTorch's BatchNorm in
//     train mode: the batch's mean and biased variance, and input_mean and
//     input_var are updated IN PLACE, running ← (1 − m)·running + m·batch
//     statistic with PyTorch's m = 1 − ONNX's momentum and the unbiased
//     variance (sum of squares over count − 1, count 1 giving the sum) for
//     running_var; the optional outputs get copies of the updated values.
//     PyTorch's num_batches_tracked is not a graph tensor: its owner counts.
//
// Backward with batch statistics is PyTorch's: dx = scale/σ·(dy − mean(dy)
// − x̂·mean(dy·x̂)) over each channel's batch, dscale = Σ dy·x̂, dB = Σ dy,
// and the running statistics get no gradient. With the running statistics
// it differentiates their formula: dx = scale/σ·dy, dscale = Σ dy·x̂,
// dB = Σ dy, dmean = −Σ scale/σ·dy, dvar = −½·Σ dy·scale·(x − mean)/σ³.
// Sums and statistics are accumulated in float64, channel by channel.

func inferBatchNorm(n *Node, in []arg) ([]arg, error) {
	shapes, err := floatShapes(n, in)
	if err != nil {
		return nil, err
	}
	x := shapes[0]
	if len(x) < 2 {
		return nil, fmt.Errorf("input 0 (%q) of shape %v: want (N, C, …)", n.Inputs[0], x)
	}
	for k := 1; k < 5; k++ {
		if !slices.Equal(shapes[k], x[1:2]) {
			return nil, fmt.Errorf("input %d (%q) of shape %v: want [%d], the channels of the input of shape %v", k, n.Inputs[k], shapes[k], x[1], x)
		}
	}
	if e := n.Float("epsilon", 1e-5); !(e >= 0) {
		return nil, attrError("epsilon", e, "want ≥ 0")
	}
	if m := n.Float("momentum", 0.9); !(m >= 0 && m <= 1) {
		return nil, attrError("momentum", m, "want in [0, 1]")
	}
	mode := n.Int("training_mode", 0)
	if mode != 0 && mode != 1 {
		return nil, attrError("training_mode", mode, "want 0 or 1")
	}
	out := []arg{{shape: slices.Clone(x)}, {}, {}}
	for k := 1; k < len(n.Outputs); k++ {
		if n.Outputs[k] == "" {
			continue
		}
		if mode == 0 {
			return nil, attrError("training_mode", mode, "output %d (%q) is written only with training_mode = 1", k, n.Outputs[k])
		}
		out[k] = arg{shape: []int{x[1]}}
	}
	return out, nil
}

// BatchNormStats is what a forward pass with batch statistics keeps for
// its backward pass and the running statistics: per channel, the batch
// mean, the sum of squared deviations from it and 1/√(biased var + eps),
// and x̂ = (x − mean)/σ of every element, all reused from call to call.
type BatchNormStats struct {
	Mean, SumSq, InvStd []float64
	XHat                []float32
	Count               int // the elements per channel: N·(spatial size)
}

// bnDims are the batch n, the channels c and the elements of a channel in
// one sample, inner, of x (N, C, …). It panics with ErrShape unless x has
// rank 2 or more and the per-channel tensors have shape (C).
func bnDims(x *Tensor, per ...*Tensor) (n, c, inner int) {
	checkLen(x)
	if len(x.Shape) < 2 {
		panic(ErrShape)
	}
	n, c = x.Shape[0], x.Shape[1]
	for _, t := range per {
		checkLen(t)
		if t != nil && (len(t.Shape) != 1 || t.Shape[0] != c) {
			panic(ErrShape)
		}
	}
	return n, c, elements(x.Shape[2:])
}

// BatchNormForward writes y = scale·(x − mean)/√(variance + eps) + b, the
// inference form; y takes x's shape. It panics with ErrShape if the
// shapes do not fit.
func BatchNormForward(y, x, scale, b, mean, variance *Tensor, eps float64) {
	n, c, inner := bnDims(x, scale, b, mean, variance)
	y.Resize(x.Shape...)
	for ch := 0; ch < c; ch++ {
		mu, inv := float64(mean.Data[ch]), 1/math.Sqrt(float64(variance.Data[ch])+eps)
		g, be := float64(scale.Data[ch]), float64(b.Data[ch])
		for s := 0; s < n; s++ {
			base := (s*c + ch) * inner
			xs, ys := x.Data[base:base+inner], y.Data[base:base+inner]
			for i, v := range xs {
				ys[i] = float32(g*((float64(v)-mu)*inv) + be)
			}
		}
	}
}

// BatchNormBackward adds into dx, dscale, db, dmean and dvar (any may be
// nil) the gradients of BatchNormForward's inputs for dy. It panics with
// ErrShape if the shapes do not fit.
func BatchNormBackward(dx, dscale, db, dmean, dvar, dy, x, scale, mean, variance *Tensor, eps float64) {
	n, c, inner := bnDims(x, scale, mean, variance, dscale, db, dmean, dvar)
	checkLen(dx, dy)
	if !slices.Equal(dy.Shape, x.Shape) || dx != nil && !slices.Equal(dx.Shape, x.Shape) {
		panic(ErrShape)
	}
	for ch := 0; ch < c; ch++ {
		mu, inv := float64(mean.Data[ch]), 1/math.Sqrt(float64(variance.Data[ch])+eps)
		k := float64(scale.Data[ch]) * inv
		var sumDy, sumDyXh float64
		for s := 0; s < n; s++ {
			base := (s*c + ch) * inner
			xs, gs := x.Data[base:base+inner], dy.Data[base:base+inner]
			for i, g := range gs {
				sumDy += float64(g)
				sumDyXh += float64(g) * (float64(xs[i]) - mu) * inv
			}
			if dx != nil {
				ds := dx.Data[base : base+inner]
				for i, g := range gs {
					ds[i] += float32(k * float64(g))
				}
			}
		}
		if db != nil {
			db.Data[ch] += float32(sumDy)
		}
		if dscale != nil {
			dscale.Data[ch] += float32(sumDyXh)
		}
		if dmean != nil {
			dmean.Data[ch] += float32(-k * sumDy)
		}
		if dvar != nil { // Σ dy·scale·(x − μ)·(−½)·σ⁻³ = −½·scale·σ⁻²·Σ dy·x̂
			dvar.Data[ch] += float32(-0.5 * float64(scale.Data[ch]) * inv * inv * sumDyXh)
		}
	}
}

// BatchNormTrainForward writes y = scale·x̂ + b with x̂ normalised by the
// batch's statistics (mean and biased variance over N and the spatial
// dimensions), keeping them and x̂ in st for BatchNormTrainBackward and
// BatchNormUpdateRunning; y takes x's shape. It panics with ErrShape if the
// shapes do not fit.
func BatchNormTrainForward(y *Tensor, st *BatchNormStats, x, scale, b *Tensor, eps float64) {
	n, c, inner := bnDims(x, scale, b)
	y.Resize(x.Shape...)
	st.Mean, st.SumSq, st.InvStd = grow(st.Mean, c), grow(st.SumSq, c), grow(st.InvStd, c)
	st.XHat = grow(st.XHat, x.Len())
	st.Count = n * inner
	m := float64(st.Count)
	for ch := 0; ch < c; ch++ {
		var mean, ss float64
		for s := 0; s < n; s++ {
			base := (s*c + ch) * inner
			for _, v := range x.Data[base : base+inner] {
				mean += float64(v)
			}
		}
		mean /= m
		for s := 0; s < n; s++ {
			base := (s*c + ch) * inner
			for _, v := range x.Data[base : base+inner] {
				d := float64(v) - mean
				ss += d * d
			}
		}
		inv := 1 / math.Sqrt(ss/m+eps)
		st.Mean[ch], st.SumSq[ch], st.InvStd[ch] = mean, ss, inv
		g, be := float64(scale.Data[ch]), float64(b.Data[ch])
		for s := 0; s < n; s++ {
			base := (s*c + ch) * inner
			xs, ys, hs := x.Data[base:base+inner], y.Data[base:base+inner], st.XHat[base:base+inner]
			for i, v := range xs {
				xh := (float64(v) - mean) * inv
				hs[i] = float32(xh)
				ys[i] = float32(g*xh + be)
			}
		}
	}
}

// grow returns s with length n, reusing its storage where it is large
// enough.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// BatchNormUpdateRunning updates the running statistics in place from the
// batch statistics of the last BatchNormTrainForward, as PyTorch does:
// running ← (1 − momentum)·running + momentum·batch statistic, with
// PyTorch's momentum (ONNX's is 1 − it) and the unbiased variance for
// runVar. It panics with ErrShape if they do not have st's channels.
func BatchNormUpdateRunning(runMean, runVar *Tensor, st *BatchNormStats, momentum float64) {
	checkLen(runMean, runVar)
	c := len(st.Mean)
	if len(runMean.Data) != c || len(runVar.Data) != c {
		panic(ErrShape)
	}
	for ch := 0; ch < c; ch++ {
		unbiased := st.SumSq[ch] / math.Max(float64(st.Count-1), 1)
		runMean.Data[ch] = float32((1-momentum)*float64(runMean.Data[ch]) + momentum*st.Mean[ch])
		runVar.Data[ch] = float32((1-momentum)*float64(runVar.Data[ch]) + momentum*unbiased)
	}
}

// BatchNormTrainBackward adds into dx, dscale and db (any may be nil) the
// gradients of BatchNormTrainForward's inputs for dy, from the statistics
// st kept: dx = scale/σ·(dy − mean(dy) − x̂·mean(dy·x̂)), dscale = Σ dy·x̂,
// db = Σ dy. It panics with ErrShape if the shapes do not fit.
func BatchNormTrainBackward(dx, dscale, db, dy *Tensor, st *BatchNormStats, scale *Tensor) {
	n, c, inner := bnDims(dy, scale, dscale, db)
	checkLen(dx)
	if len(st.Mean) != c || len(st.XHat) != len(dy.Data) || dx != nil && !slices.Equal(dx.Shape, dy.Shape) {
		panic(ErrShape)
	}
	m := float64(n * inner)
	for ch := 0; ch < c; ch++ {
		var sumDy, sumDyXh float64
		for s := 0; s < n; s++ {
			base := (s*c + ch) * inner
			hs := st.XHat[base : base+inner]
			for i, g := range dy.Data[base : base+inner] {
				sumDy += float64(g)
				sumDyXh += float64(g) * float64(hs[i])
			}
		}
		if db != nil {
			db.Data[ch] += float32(sumDy)
		}
		if dscale != nil {
			dscale.Data[ch] += float32(sumDyXh)
		}
		if dx == nil {
			continue
		}
		k := float64(scale.Data[ch]) * st.InvStd[ch]
		for s := 0; s < n; s++ {
			base := (s*c + ch) * inner
			hs, ds := st.XHat[base:base+inner], dx.Data[base:base+inner]
			for i, g := range dy.Data[base : base+inner] {
				ds[i] += float32(k * (float64(g) - sumDy/m - float64(hs[i])*sumDyXh/m))
			}
		}
	}
}

// batchNormForward is the operator's forward: see BatchNormalization.
func batchNormForward(s *state, n *Node, out, in []*Tensor) {
	eps, momentum := float64(n.Float("epsilon", 1e-5)), float64(n.Float("momentum", 0.9))
	if !s.training && n.Int("training_mode", 0) == 0 {
		BatchNormForward(out[0], in[0], in[1], in[2], in[3], in[4], eps)
		return
	}
	st, _ := s.scratch.(*BatchNormStats)
	if st == nil {
		st = new(BatchNormStats)
		s.scratch = st
	}
	BatchNormTrainForward(out[0], st, in[0], in[1], in[2], eps)
	if s.training {
		BatchNormUpdateRunning(in[3], in[4], st, 1-momentum)
		for k := 1; k < 3; k++ {
			if t := at(out, k); t != nil {
				t.Resize(in[k+2].Shape...)
				copy(t.Data, in[k+2].Data)
			}
		}
		return
	}
	m := float64(st.Count)
	for k := 1; k < 3; k++ {
		t := at(out, k)
		if t == nil {
			continue
		}
		t.Resize(in[k+2].Shape...)
		for ch := range t.Data {
			batch := st.Mean[ch]
			if k == 2 {
				batch = st.SumSq[ch] / m
			}
			t.Data[ch] = float32(float64(in[k+2].Data[ch])*momentum + batch*(1-momentum))
		}
	}
}

// batchNormBackward is the operator's backward: with the statistics of a
// forward with batch statistics where its state kept them, else
// recomputed (the reference Backward's fresh state) for training_mode = 1,
// else the inference form.
func batchNormBackward(s *state, n *Node, din, dout, out, in []*Tensor) {
	if dout[0] == nil {
		return
	}
	eps := float64(n.Float("epsilon", 1e-5))
	st, _ := s.scratch.(*BatchNormStats)
	if st == nil && !s.training && n.Int("training_mode", 0) == 0 {
		BatchNormBackward(din[0], din[1], din[2], din[3], din[4], dout[0], in[0], in[1], in[3], in[4], eps)
		return
	}
	if st == nil {
		st = new(BatchNormStats)
		s.scratch = st
		var y Tensor
		BatchNormTrainForward(&y, st, in[0], in[1], in[2], eps)
	}
	BatchNormTrainBackward(din[0], din[1], din[2], dout[0], st, in[1])
}
