package graph

import (
	"fmt"
	"math"
)

// Neg, Abs, Sqrt, Exp, Log, Reciprocal, Softsign, Selu, HardSigmoid,
// HardSwish and Clip: ONNX's (opset 18) elementwise ops of one float
// input. Forward(y, x, …) gives y x's shape; Backward adds into dx. Where
// a derivative has a kink (Abs at 0, Clip and HardSigmoid at their
// bounds, HardSwish at ±3) the gradient is PyTorch's: Abs's sign(0) = 0,
// Clip passes the gradient on where min ≤ x ≤ max (both bounds included),
// HardSigmoid and HardSwish where PyTorch's hardsigmoid_backward and
// hardswish_backward do.

const (
	seluAlpha = 1.67326319217681884765625
	seluGamma = 1.05070102214813232421875
)

func init() {
	ab := map[string]AttrType{"alpha": AttrFloat, "beta": AttrFloat}
	register(map[string]operator{
		"Neg": unaryOp(nil, func(n *Node, y, x *Tensor) { NegForward(y, x) },
			func(n *Node, dx, dy, x, y *Tensor) { NegBackward(dx, dy) }),
		"Abs": unaryOp(nil, func(n *Node, y, x *Tensor) { AbsForward(y, x) },
			func(n *Node, dx, dy, x, y *Tensor) { AbsBackward(dx, dy, x) }),
		"Sqrt": unaryOp(nil, func(n *Node, y, x *Tensor) { SqrtForward(y, x) },
			func(n *Node, dx, dy, x, y *Tensor) { SqrtBackward(dx, dy, y) }),
		"Exp": unaryOp(nil, func(n *Node, y, x *Tensor) { ExpForward(y, x) },
			func(n *Node, dx, dy, x, y *Tensor) { ExpBackward(dx, dy, y) }),
		"Log": unaryOp(nil, func(n *Node, y, x *Tensor) { LogForward(y, x) },
			func(n *Node, dx, dy, x, y *Tensor) { LogBackward(dx, dy, x) }),
		"Reciprocal": unaryOp(nil, func(n *Node, y, x *Tensor) { ReciprocalForward(y, x) },
			func(n *Node, dx, dy, x, y *Tensor) { ReciprocalBackward(dx, dy, y) }),
		"Softsign": unaryOp(nil, func(n *Node, y, x *Tensor) { SoftsignForward(y, x) },
			func(n *Node, dx, dy, x, y *Tensor) { SoftsignBackward(dx, dy, x) }),
		"Selu": unaryOp(map[string]AttrType{"alpha": AttrFloat, "gamma": AttrFloat},
			func(n *Node, y, x *Tensor) {
				SeluForward(y, x, n.Float("alpha", seluAlpha), n.Float("gamma", seluGamma))
			},
			func(n *Node, dx, dy, x, y *Tensor) {
				SeluBackward(dx, dy, x, n.Float("alpha", seluAlpha), n.Float("gamma", seluGamma))
			}),
		"HardSigmoid": unaryOp(ab,
			func(n *Node, y, x *Tensor) { HardSigmoidForward(y, x, n.Float("alpha", 0.2), n.Float("beta", 0.5)) },
			func(n *Node, dx, dy, x, y *Tensor) {
				HardSigmoidBackward(dx, dy, x, n.Float("alpha", 0.2), n.Float("beta", 0.5))
			}),
		"HardSwish": unaryOp(nil, func(n *Node, y, x *Tensor) { HardSwishForward(y, x) },
			func(n *Node, dx, dy, x, y *Tensor) { HardSwishBackward(dx, dy, x) }),
		"Clip": clipOp(),
	})
}

// mapUnary writes f(x) into y, giving it x's shape.
func mapUnary(y, x *Tensor, f func(v float32) float32) {
	unary(y, x)
	yd := y.Data[:len(x.Data)]
	for i, v := range x.Data {
		yd[i] = f(v)
	}
}

// mapBack adds dy·g(s) into dx, s being the saved tensor (an input or an
// output); it panics with ErrShape unless dx, dy and s have one shape.
func mapBack(dx, dy, s *Tensor, g func(v float32) float32) {
	if dx == nil {
		return
	}
	unaryBack(dx, dy, s)
	dd := dy.Data[:len(dx.Data)]
	sd := s.Data[:len(dx.Data)]
	for i := range dx.Data {
		dx.Data[i] += dd[i] * g(sd[i])
	}
}

// NegForward writes y = −x.
func NegForward(y, x *Tensor) { mapUnary(y, x, func(v float32) float32 { return -v }) }

// NegBackward adds −dy into dx (may be nil).
func NegBackward(dx, dy *Tensor) { mapBack(dx, dy, dy, func(float32) float32 { return -1 }) }

// AbsForward writes y = |x|.
func AbsForward(y, x *Tensor) {
	mapUnary(y, x, func(v float32) float32 { return float32(math.Abs(float64(v))) })
}

// AbsBackward adds dy·sign(x) into dx (may be nil), sign(0) = 0.
func AbsBackward(dx, dy, x *Tensor) { mapBack(dx, dy, x, sign32) }

func sign32(v float32) float32 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// SqrtForward writes y = √x (NaN below 0), correctly rounded.
func SqrtForward(y, x *Tensor) {
	mapUnary(y, x, func(v float32) float32 { return float32(math.Sqrt(float64(v))) })
}

// SqrtBackward adds dy/(2y) into dx (may be nil), y being Sqrt's output.
func SqrtBackward(dx, dy, y *Tensor) { mapBack(dx, dy, y, func(v float32) float32 { return 0.5 / v }) }

// ExpForward writes y = eˣ, computed in float64 and rounded.
func ExpForward(y, x *Tensor) {
	mapUnary(y, x, func(v float32) float32 { return float32(math.Exp(float64(v))) })
}

// ExpBackward adds dy·y into dx (may be nil), y being Exp's output.
func ExpBackward(dx, dy, y *Tensor) { mapBack(dx, dy, y, func(v float32) float32 { return v }) }

// LogForward writes y = ln x (−Inf at 0, NaN below), computed in float64
// and rounded.
func LogForward(y, x *Tensor) {
	mapUnary(y, x, func(v float32) float32 { return float32(math.Log(float64(v))) })
}

// LogBackward adds dy/x into dx (may be nil).
func LogBackward(dx, dy, x *Tensor) { mapBack(dx, dy, x, func(v float32) float32 { return 1 / v }) }

// ReciprocalForward writes y = 1/x.
func ReciprocalForward(y, x *Tensor) { mapUnary(y, x, func(v float32) float32 { return 1 / v }) }

// ReciprocalBackward adds −dy·y² into dx (may be nil), y being
// Reciprocal's output.
func ReciprocalBackward(dx, dy, y *Tensor) {
	mapBack(dx, dy, y, func(v float32) float32 { return -v * v })
}

// SoftsignForward writes y = x/(1 + |x|).
func SoftsignForward(y, x *Tensor) {
	mapUnary(y, x, func(v float32) float32 { return v / (1 + float32(math.Abs(float64(v)))) })
}

// SoftsignBackward adds dy/(1 + |x|)² into dx (may be nil).
func SoftsignBackward(dx, dy, x *Tensor) {
	mapBack(dx, dy, x, func(v float32) float32 {
		d := 1 + float32(math.Abs(float64(v)))
		return 1 / (d * d)
	})
}

// SeluForward writes y = gamma·x where x > 0, else gamma·alpha·(eˣ − 1)
// (ONNX Selu; defaults alpha ≈ 1.6733, gamma ≈ 1.0507).
func SeluForward(y, x *Tensor, alpha, gamma float32) {
	mapUnary(y, x, func(v float32) float32 {
		if v > 0 {
			return gamma * v
		}
		return float32(float64(gamma) * float64(alpha) * math.Expm1(float64(v)))
	})
}

// SeluBackward adds gamma·dy into dx (may be nil) where x > 0, else
// dy·gamma·alpha·eˣ.
func SeluBackward(dx, dy, x *Tensor, alpha, gamma float32) {
	mapBack(dx, dy, x, func(v float32) float32 {
		if v > 0 {
			return gamma
		}
		return float32(float64(gamma) * float64(alpha) * math.Exp(float64(v)))
	})
}

// HardSigmoidForward writes y = max(0, min(1, alpha·x + beta)) (ONNX
// HardSigmoid; defaults alpha 0.2, beta 0.5).
func HardSigmoidForward(y, x *Tensor, alpha, beta float32) {
	mapUnary(y, x, func(v float32) float32 { return max(0, min(1, alpha*v+beta)) })
}

// HardSigmoidBackward adds alpha·dy into dx (may be nil) where
// 0 < alpha·x + beta < 1.
func HardSigmoidBackward(dx, dy, x *Tensor, alpha, beta float32) {
	mapBack(dx, dy, x, func(v float32) float32 {
		if u := alpha*v + beta; u > 0 && u < 1 {
			return alpha
		}
		return 0
	})
}

// HardSwishForward writes y = x·max(0, min(1, x/6 + 1/2)) (ONNX
// HardSwish, opset 14).
func HardSwishForward(y, x *Tensor) {
	mapUnary(y, x, func(v float32) float32 { return v * max(0, min(1, v*(1.0/6)+0.5)) })
}

// HardSwishBackward adds dy·(x/3 + 1/2) into dx (may be nil) where
// −3 ≤ x ≤ 3, dy above 3 and nothing below −3 (PyTorch's
// hardswish_backward).
func HardSwishBackward(dx, dy, x *Tensor) {
	mapBack(dx, dy, x, func(v float32) float32 {
		switch {
		case v < -3:
			return 0
		case v <= 3:
			return v/3 + 0.5
		}
		return 1
	})
}

// clipOp is Clip (opset 11 on): x, and the optional scalars min and max
// as inputs 1 and 2, which take no gradient.
func clipOp() operator {
	op := single([2]int{1, 3}, nil,
		func(n *Node, in [][]int) ([]int, error) {
			for k := 1; k < len(in); k++ {
				if in[k] != nil && elements(in[k]) != 1 {
					return nil, fmt.Errorf("input %d (%s, %q) of shape %v, want a scalar", k, [3]string{"", "min", "max"}[k], n.Inputs[k], in[k])
				}
			}
			return append([]int(nil), in[0]...), nil
		},
		func(n *Node, y *Tensor, in []*Tensor) { ClipForward(y, in[0], clipBound(in, 1), clipBound(in, 2)) },
		func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) {
			ClipBackward(din[0], dy, in[0], clipBound(in, 1), clipBound(in, 2))
		})
	op.fixed = []int{1, 2}
	op.elementwise = true // with x alone (no bounds, a copy) the executor splits it
	return op
}

// clipBound is Clip's bound at input k: its one value, or −∞ (min) or +∞
// (max) where it is left out.
func clipBound(in []*Tensor, k int) float32 {
	if t := at(in, k); t != nil {
		checkLen(t)
		if len(t.Data) != 1 {
			panic(ErrShape)
		}
		return t.Data[0]
	}
	return float32(math.Inf(2*k - 3)) // k = 1: −∞, k = 2: +∞
}

// ClipForward writes y = min(max(x, lo), hi) (ONNX Clip: where lo > hi,
// every value is hi). ReLU6 is lo = 0, hi = 6.
func ClipForward(y, x *Tensor, lo, hi float32) {
	mapUnary(y, x, func(v float32) float32 { return min(max(v, lo), hi) })
}

// ClipBackward adds dy into dx (may be nil) where lo ≤ x ≤ hi, as
// PyTorch's clamp does.
func ClipBackward(dx, dy, x *Tensor, lo, hi float32) {
	mapBack(dx, dy, x, func(v float32) float32 {
		if v >= lo && v <= hi {
			return 1
		}
		return 0
	})
}
