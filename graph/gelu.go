package graph

import "math"

// Gelu and Erf: the Gaussian error linear unit as ONNX opset 20 defines it
// (attribute approximate: "none", x·Φ(x) with the error function, or
// "tanh", 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))), which older opsets
// spell with Erf or Tanh nodes, and the error function itself. Both are
// computed in float64 and rounded, as PyTorch's reference kernels are.

func init() {
	register(map[string]operator{
		"Gelu": unaryOp(map[string]AttrType{"approximate": AttrString},
			func(n *Node, y, x *Tensor) { GeluForward(y, x, geluTanh(n)) },
			func(n *Node, dx, dy, x, y *Tensor) { GeluBackward(dx, dy, x, geluTanh(n)) }),
		"Erf": unaryOp(nil, func(n *Node, y, x *Tensor) { ErfForward(y, x) },
			func(n *Node, dx, dy, x, y *Tensor) { ErfBackward(dx, dy, x) }),
	})
	operators["Gelu"] = withInfer(operators["Gelu"], func(n *Node) error {
		if a, ok := n.Attrs["approximate"]; ok && a.String != "none" && a.String != "tanh" {
			return attrError("approximate", a.String, `want "none" or "tanh"`)
		}
		return nil
	})
}

// withInfer is op with a check of the node's attributes before its shape
// rule.
func withInfer(op operator, check func(n *Node) error) operator {
	infer := op.infer
	op.infer = func(n *Node, in []arg) ([]arg, error) {
		if err := check(n); err != nil {
			return nil, err
		}
		return infer(n, in)
	}
	return op
}

func geluTanh(n *Node) bool { return n.Attrs["approximate"].String == "tanh" }

const (
	sqrt2         = 1.4142135623730951
	sqrt2OverPi   = 0.7978845608028654 // √(2/π)
	invSqrt2Pi    = 0.3989422804014327 // 1/√(2π)
	geluTanhCoef  = 0.044715
	twoOverSqrtPi = 1.1283791670955126 // 2/√π
)

// Gelu32 is GELU at x: exact, or in the tanh form.
func Gelu32(x float32, tanh bool) float32 {
	f := float64(x)
	if tanh {
		return float32(0.5 * f * (1 + math.Tanh(sqrt2OverPi*(f+geluTanhCoef*f*f*f))))
	}
	return float32(0.5 * f * (1 + math.Erf(f/sqrt2)))
}

// GeluDerivative is GELU's derivative at x, in the form Gelu32 computes.
func GeluDerivative(x float32, tanh bool) float32 {
	f := float64(x)
	if tanh {
		t := math.Tanh(sqrt2OverPi * (f + geluTanhCoef*f*f*f))
		return float32(0.5*(1+t) + 0.5*f*(1-t*t)*sqrt2OverPi*(1+3*geluTanhCoef*f*f))
	}
	return float32(0.5*(1+math.Erf(f/sqrt2)) + f*invSqrt2Pi*math.Exp(-0.5*f*f))
}

// GeluForward writes y = GELU(x) (ONNX Gelu).
func GeluForward(y, x *Tensor, tanh bool) {
	unary(y, x)
	for i, v := range x.Data {
		y.Data[i] = Gelu32(v, tanh)
	}
}

// GeluBackward adds dy·GELU′(x) into dx. It panics with ErrShape unless
// dx, dy and x have one shape.
func GeluBackward(dx, dy, x *Tensor, tanh bool) {
	unaryBack(dx, dy, x)
	for i, v := range x.Data {
		dx.Data[i] += dy.Data[i] * GeluDerivative(v, tanh)
	}
}

// ErfForward writes y = erf(x) (ONNX Erf).
func ErfForward(y, x *Tensor) {
	unary(y, x)
	for i, v := range x.Data {
		y.Data[i] = float32(math.Erf(float64(v)))
	}
}

// ErfBackward adds dy·(2/√π)·e^(−x²) into dx. It panics with ErrShape
// unless dx, dy and x have one shape.
func ErfBackward(dx, dy, x *Tensor) {
	unaryBack(dx, dy, x)
	for i, v := range x.Data {
		f := float64(v)
		dx.Data[i] += dy.Data[i] * float32(twoOverSqrtPi*math.Exp(-f*f))
	}
}
