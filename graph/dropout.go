package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

func init() {
	register(map[string]operator{
		"Dropout": {inputs: [2]int{1, 3}, outputs: [2]int{1, 2}, fixed: []int{1, 2}, attrs: map[string]AttrType{"seed": AttrInt},
			infer: inferDropout, forward: dropoutForward, backward: dropoutBackward},
	})
}

// Dropout: ONNX's (opset 13) Dropout over float32 data, with the optional
// inputs ratio (a float32 scalar, default 0.5) and training_mode, and the
// optional output mask. The graph has no bool type: ONNX's bool
// training_mode and mask are int64 0 and 1 here (converters map them).
//
// In inference — the reference Forward, and training_mode false — it is
// the identity and the mask is all 1. While the graph trains
// (state.training) it drops as PyTorch's nn.Dropout does: each element is
// zeroed with probability ratio, drawn as state.rng.Float64() < ratio in
// row-major order, and the others are scaled by 1/(1 − ratio); the mask
// is 1 where an element was kept, and Backward applies the same scaling to
// the gradient. ratio and training_mode must be known before the graph
// runs; ratio must be in [0, 1). A training_mode true is refused: ONNX
// then drops at random in the model's own forward pass, which no
// reference can match (this package drops only while it trains). The
// seed attribute is accepted and not used: the generator is the state's.

func inferDropout(n *Node, in []arg) ([]arg, error) {
	if in[0].typ != Float32 {
		return nil, fmt.Errorf("input 0 (%q) is %v, want float32", n.Inputs[0], in[0].typ)
	}
	if k := 1; len(in) > k && n.Inputs[k] != "" {
		a := in[k]
		if a.typ != Float32 || len(a.shape) != 0 && !slices.Equal(a.shape, []int{1}) {
			return nil, fmt.Errorf("input 1 (%q) is %v of shape %v, want a float32 scalar", n.Inputs[k], a.typ, a.shape)
		}
		if a.value == nil {
			return nil, fmt.Errorf("input 1 (%q) is not known before the graph runs (want a parameter or a constant)", n.Inputs[k])
		}
		if p := a.value.Data[0]; !(p >= 0 && p < 1) {
			return nil, inputError(n, k, p, "ratio outside [0, 1)")
		}
	}
	if k := 2; len(in) > k && n.Inputs[k] != "" {
		a := in[k]
		if a.typ != Int64 || len(a.shape) != 0 && !slices.Equal(a.shape, []int{1}) {
			return nil, fmt.Errorf("input 2 (%q) is %v of shape %v, want an int64 scalar (ONNX's bool)", n.Inputs[k], a.typ, a.shape)
		}
		if a.value == nil {
			return nil, fmt.Errorf("input 2 (%q) is not known before the graph runs (want a parameter or a constant)", n.Inputs[k])
		}
		if v := a.value.Int64[0]; v != 0 {
			return nil, inputError(n, k, v, "training_mode true drops at random in the model's own forward pass, which this package does not run (it drops only while it trains)")
		}
	}
	out := []arg{{shape: slices.Clone(in[0].shape)}, {}}
	if len(n.Outputs) > 1 && n.Outputs[1] != "" {
		out[1] = arg{shape: slices.Clone(in[0].shape), typ: Int64}
	}
	return out, nil
}

// dropoutRatio is the node's ratio: its input 1's value, 0.5 without one.
func dropoutRatio(in []*Tensor) float64 {
	if t := at(in, 1); t != nil {
		return float64(t.Data[0])
	}
	return 0.5
}

// DropoutTrainForward writes y = x·scale, where scale (given x's shape)
// holds, element by element in row-major order, 0 if rng.Float64() < p
// (the element is dropped) and 1/(1 − p) otherwise; y takes x's shape. It
// panics with ErrShape unless p is in [0, 1).
func DropoutTrainForward(y, scale, x *Tensor, p float64, rng *rand.Rand) {
	checkLen(x)
	if !(p >= 0 && p < 1) {
		panic(ErrShape)
	}
	y.Resize(x.Shape...)
	scale.Resize(x.Shape...)
	keep := float32(1 / (1 - p))
	for i, v := range x.Data {
		if rng.Float64() < p {
			scale.Data[i] = 0
		} else {
			scale.Data[i] = keep
		}
		y.Data[i] = v * scale.Data[i]
	}
}

// DropoutTrainBackward adds dy·scale into dx (may be nil), scale being
// DropoutTrainForward's. It panics with ErrShape unless dx, dy and scale
// have one shape.
func DropoutTrainBackward(dx, dy, scale *Tensor) {
	if dx == nil {
		return
	}
	checkLen(dx, dy, scale)
	if !slices.Equal(dx.Shape, dy.Shape) || !slices.Equal(scale.Shape, dy.Shape) {
		panic(ErrShape)
	}
	for i, g := range dy.Data {
		dx.Data[i] += g * scale.Data[i]
	}
}

// dropoutState is what a Dropout node keeps: the scaling of its last
// training forward pass, active until a forward pass that did not drop.
type dropoutState struct {
	scale  Tensor
	active bool
}

// DropoutApply writes y = x·scale, scale being DropoutTrainForward's (the
// write form of DropoutTrainBackward, for callers whose gradients are not
// sums); y takes x's shape. It panics with ErrShape unless x and scale
// have one shape.
func DropoutApply(y, x, scale *Tensor) {
	checkLen(x, scale)
	if !slices.Equal(x.Shape, scale.Shape) {
		panic(ErrShape)
	}
	y.Resize(x.Shape...)
	for i, v := range x.Data {
		y.Data[i] = v * scale.Data[i]
	}
}

func dropoutForward(s *state, n *Node, out, in []*Tensor) {
	p := dropoutRatio(in)
	ds, _ := s.scratch.(*dropoutState)
	if s.training && p > 0 {
		if ds == nil {
			ds = new(dropoutState)
			s.scratch = ds
		}
		DropoutTrainForward(out[0], &ds.scale, in[0], p, s.rng)
		ds.active = true
	} else {
		if ds != nil {
			ds.active = false
		}
		IdentityForward(out[0], in[0])
	}
	if mask := at(out, 1); mask != nil {
		resizeAs(mask, Int64, in[0].Shape...)
		for i := range mask.Int64 {
			mask.Int64[i] = 1
			if ds != nil && ds.active && ds.scale.Data[i] == 0 {
				mask.Int64[i] = 0
			}
		}
	}
}

func dropoutBackward(s *state, n *Node, din, dout, out, in []*Tensor) {
	if din[0] == nil || dout[0] == nil {
		return
	}
	if ds, _ := s.scratch.(*dropoutState); ds != nil && ds.active {
		DropoutTrainBackward(din[0], dout[0], &ds.scale)
		return
	}
	IdentityBackward(din[0], dout[0])
}
