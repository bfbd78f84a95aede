package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/aebridge/aebridge/internal/onnxpb"
)

// activations are the activation operators with their attributes, Forward,
// Backward (given x, y, dy) and float64 definitions.
var activations = []struct {
	op       string
	opset    int // the first opset with the op, if after 17
	attrs    []*onnxpb.AttributeProto
	forward  func(y, x *Tensor)
	backward func(dx, dy, x, y *Tensor)
	f        func(x float64) float64
}{
	{"Relu", 0, nil, ReluForward, func(dx, dy, x, y *Tensor) { ReluBackward(dx, dy, y) }, func(x float64) float64 { return math.Max(x, 0) }},
	{"Sigmoid", 0, nil, SigmoidForward, func(dx, dy, x, y *Tensor) { SigmoidBackward(dx, dy, y) }, sigmoid64},
	{"Tanh", 0, nil, TanhForward, func(dx, dy, x, y *Tensor) { TanhBackward(dx, dy, y) }, math.Tanh},
	{"LeakyRelu", 0, []*onnxpb.AttributeProto{floatAttr("alpha", 0.1)},
		func(y, x *Tensor) { LeakyReluForward(y, x, 0.1) }, func(dx, dy, x, y *Tensor) { LeakyReluBackward(dx, dy, x, 0.1) },
		func(x float64) float64 { return max(x, 0) + float64(float32(0.1))*min(x, 0) }},
	{"Elu", 0, []*onnxpb.AttributeProto{floatAttr("alpha", 0.5)},
		func(y, x *Tensor) { EluForward(y, x, 0.5) }, func(dx, dy, x, y *Tensor) { EluBackward(dx, dy, x, y, 0.5) },
		func(x float64) float64 {
			if x > 0 {
				return x
			}
			return 0.5 * math.Expm1(x)
		}},
	{"Softplus", 0, nil, SoftplusForward, func(dx, dy, x, y *Tensor) { SoftplusBackward(dx, dy, x) }, func(x float64) float64 { return math.Log1p(math.Exp(x)) }},
	{"Erf", 0, nil, ErfForward, func(dx, dy, x, y *Tensor) { ErfBackward(dx, dy, x) }, math.Erf},
	{"Gelu", 20, nil, func(y, x *Tensor) { GeluForward(y, x, false) }, func(dx, dy, x, y *Tensor) { GeluBackward(dx, dy, x, false) },
		func(x float64) float64 { return x * (1 + math.Erf(x/math.Sqrt2)) / 2 }},
	{"Gelu", 20, []*onnxpb.AttributeProto{stringAttr("approximate", "tanh")},
		func(y, x *Tensor) { GeluForward(y, x, true) }, func(dx, dy, x, y *Tensor) { GeluBackward(dx, dy, x, true) },
		func(x float64) float64 { return x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x))) / 2 }},
}

func stringAttr(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: &name, Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

// TestActivations checks each activation's Forward against its float64
// definition, over random values and large ones, and its
// Backward (added into dx) against float64 finite differences.
func TestActivations(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, a := range activations {
		for _, shape := range [][]int{{7}, {3, 5}, {2, 3, 17}} {
			t.Run(fmt.Sprintf("%s_%v", a.op, shape), func(t *testing.T) {
				x := randTensor(r, shape...)
				for i := range x.Data {
					x.Data[i] *= 4
				}
				x.Data[0] = 30 // saturation: exp overflows nowhere
				var y Tensor
				a.forward(&y, x)
				want := make([]float32, x.Len())
				for i, v := range x.Data {
					want[i] = float32(a.f(float64(v)))
				}
				checkClose(t, "definition", y.Data, want, 1e-6, 1e-6)

				x.Data[0] = 0.5 // away from saturation for the finite differences
				a.forward(&y, x)
				dy := randTensor(r, shape...)
				grads, start := filled(r, shape)
				a.backward(grads[0], dy, x, &y)
				added(grads, start)
				f := func(in [][]float64) []float64 {
					out := make([]float64, len(in[0]))
					for i, v := range in[0] {
						out[i] = a.f(v)
					}
					return out
				}
				checkGradients(t, f, [][]float64{to64(x.Data)}, to64(dy.Data), grads)
			})
		}
	}
}

func TestActivationsPanicOnShapes(t *testing.T) {
	defer func() {
		if got := recover(); got != ErrShape {
			t.Errorf("got panic %v, want %v", got, ErrShape)
		}
	}()
	ReluBackward(NewTensor(3), NewTensor(3), NewTensor(4))
}
