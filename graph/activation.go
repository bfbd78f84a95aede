package graph

import (
	"math"
	"slices"
)

func init() {
	alpha := map[string]AttrType{"alpha": AttrFloat}
	register(map[string]operator{
		"Relu": unaryOp(nil, func(n *Node, y, x *Tensor) { ReluForward(y, x) },
			func(n *Node, dx, dy, x, y *Tensor) { ReluBackward(dx, dy, y) }),
		"Sigmoid": unaryOp(nil, func(n *Node, y, x *Tensor) { SigmoidForward(y, x) },
			func(n *Node, dx, dy, x, y *Tensor) { SigmoidBackward(dx, dy, y) }),
		"Tanh": unaryOp(nil, func(n *Node, y, x *Tensor) { TanhForward(y, x) },
			func(n *Node, dx, dy, x, y *Tensor) { TanhBackward(dx, dy, y) }),
		"LeakyRelu": unaryOp(alpha, func(n *Node, y, x *Tensor) { LeakyReluForward(y, x, n.Float("alpha", 0.01)) },
			func(n *Node, dx, dy, x, y *Tensor) { LeakyReluBackward(dx, dy, x, n.Float("alpha", 0.01)) }),
		"Elu": unaryOp(alpha, func(n *Node, y, x *Tensor) { EluForward(y, x, n.Float("alpha", 1)) },
			func(n *Node, dx, dy, x, y *Tensor) { EluBackward(dx, dy, x, y, n.Float("alpha", 1)) }),
		"Softplus": unaryOp(nil, func(n *Node, y, x *Tensor) { SoftplusForward(y, x) },
			func(n *Node, dx, dy, x, y *Tensor) { SoftplusBackward(dx, dy, x) }),
	})
}

// unaryOp is the operator of an elementwise op type with one input.
func unaryOp(attrs map[string]AttrType, forward func(n *Node, y, x *Tensor), backward func(n *Node, dx, dy, x, y *Tensor)) operator {
	op := single([2]int{1, 1}, attrs,
		func(n *Node, in [][]int) ([]int, error) { return slices.Clone(in[0]), nil },
		func(n *Node, y *Tensor, in []*Tensor) { forward(n, y, in[0]) },
		func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) {
			if din[0] != nil {
				backward(n, din[0], dy, in[0], y)
			}
		})
	op.elementwise = true
	return op
}

// Relu, Sigmoid, Tanh, LeakyRelu, Elu and Softplus: ONNX's elementwise
// activations. Forward(y, x) gives y x's shape; Backward adds into dx.

// unary gives y x's shape and checks both.
func unary(y, x *Tensor) {
	checkLen(x)
	y.Resize(x.Shape...)
}

// unaryBack panics with ErrShape unless dx, dy and the saved tensors have
// one shape.
func unaryBack(dx, dy *Tensor, saved ...*Tensor) {
	checkLen(dx, dy)
	if !slices.Equal(dx.Shape, dy.Shape) {
		panic(ErrShape)
	}
	for _, t := range saved {
		checkLen(t)
		if !slices.Equal(t.Shape, dy.Shape) {
			panic(ErrShape)
		}
	}
}

// ReluForward writes y = max(x, 0) (ONNX Relu), −0 giving +0.
func ReluForward(y, x *Tensor) {
	unary(y, x)
	Relu(y.Data, x.Data)
}

// ReluBackward adds dy into dx where y, Relu's output, is above 0. It
// panics with ErrShape unless dx, dy and y have one shape.
func ReluBackward(dx, dy, y *Tensor) {
	unaryBack(dx, dy, y)
	for i, v := range y.Data {
		if v > 0 {
			dx.Data[i] += dy.Data[i]
		}
	}
}

// SigmoidForward writes y = 1/(1 + e⁻ˣ) (ONNX Sigmoid) in float32
// arithmetic (Sigmoids).
func SigmoidForward(y, x *Tensor) {
	unary(y, x)
	Sigmoids(y.Data, x.Data)
}

// SigmoidBackward adds dy·y·(1 − y) into dx, y being Sigmoid's output. It
// panics with ErrShape unless dx, dy and y have one shape.
func SigmoidBackward(dx, dy, y *Tensor) {
	unaryBack(dx, dy, y)
	for i, s := range y.Data {
		dx.Data[i] += dy.Data[i] * s * (1 - s)
	}
}

// TanhForward writes y = tanh x (ONNX Tanh) in float32 arithmetic (Tanh32).
func TanhForward(y, x *Tensor) {
	unary(y, x)
	for i, v := range x.Data {
		y.Data[i] = Tanh32(v)
	}
}

// TanhBackward adds dy·(1 − y²) into dx, y being Tanh's output. It panics
// with ErrShape unless dx, dy and y have one shape.
func TanhBackward(dx, dy, y *Tensor) {
	unaryBack(dx, dy, y)
	for i, t := range y.Data {
		dx.Data[i] += dy.Data[i] * (1 - t*t)
	}
}

// LeakyReluForward writes y = x where x > 0, else alpha·x (ONNX LeakyRelu,
// attribute alpha, default 0.01).
func LeakyReluForward(y, x *Tensor, alpha float32) {
	unary(y, x)
	for i, v := range x.Data {
		if v > 0 {
			y.Data[i] = v
		} else {
			y.Data[i] = alpha * v
		}
	}
}

// LeakyReluBackward adds dy into dx where x > 0, else alpha·dy. It panics
// with ErrShape unless dx, dy and x have one shape.
func LeakyReluBackward(dx, dy, x *Tensor, alpha float32) {
	unaryBack(dx, dy, x)
	for i, v := range x.Data {
		if v > 0 {
			dx.Data[i] += dy.Data[i]
		} else {
			dx.Data[i] += alpha * dy.Data[i]
		}
	}
}

// EluForward writes y = x where x > 0, else alpha·(eˣ − 1) (ONNX Elu,
// attribute alpha, default 1).
func EluForward(y, x *Tensor, alpha float32) {
	unary(y, x)
	for i, v := range x.Data {
		if v > 0 {
			y.Data[i] = v
		} else {
			y.Data[i] = float32(float64(alpha) * math.Expm1(float64(v)))
		}
	}
}

// EluBackward adds dy into dx where x > 0, else dy·(y + alpha) (alpha·eˣ),
// y being Elu's output. It panics with ErrShape unless dx, dy, x and y
// have one shape.
func EluBackward(dx, dy, x, y *Tensor, alpha float32) {
	unaryBack(dx, dy, x, y)
	for i, v := range x.Data {
		if v > 0 {
			dx.Data[i] += dy.Data[i]
		} else {
			dx.Data[i] += dy.Data[i] * (y.Data[i] + alpha)
		}
	}
}

// SoftplusForward writes y = log(1 + eˣ) (ONNX Softplus), as max(x, 0) +
// log1p(e^−|x|) in float64, without overflow.
func SoftplusForward(y, x *Tensor) {
	unary(y, x)
	for i, v := range x.Data {
		f := float64(v)
		y.Data[i] = float32(math.Max(f, 0) + math.Log1p(math.Exp(-math.Abs(f))))
	}
}

// SoftplusBackward adds dy·σ(x) into dx. It panics with ErrShape unless
// dx, dy and x have one shape.
func SoftplusBackward(dx, dy, x *Tensor) {
	unaryBack(dx, dy, x)
	for i, v := range x.Data {
		dx.Data[i] += dy.Data[i] * Sigmoid32(v)
	}
}
