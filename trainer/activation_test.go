package trainer

import (
	"math/rand/v2"
	"testing"
)

func TestActivationsAgainstReferenceAndFiniteDifferences(t *testing.T) {
	specs := []LayerSpec{
		{Type: "identity"}, {Type: "relu"}, {Type: "leaky_relu", Alpha: 0.01}, {Type: "leaky_relu", Alpha: 0.2},
		{Type: "elu", Alpha: 1}, {Type: "elu", Alpha: 0.5}, {Type: "sigmoid"}, {Type: "tanh"}, {Type: "softplus"},
		{Type: "gelu", Approximate: "none"}, {Type: "gelu", Approximate: "tanh"}, {Type: "silu"},
	}
	for _, s := range specs {
		t.Run(s.Type+"/"+s.Approximate, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			a, err := NewActivation(s.Type)
			if err != nil {
				t.Fatal(err)
			}
			if s.Alpha != 0 {
				a.Alpha = s.Alpha
			}
			if s.Approximate != "" {
				a.Approximate = s.Approximate
			}
			x := randTensor(rng, -4, 4, 6, 7)
			awayFromZero(x)
			y := &Tensor{}
			a.Forward(y, x)
			x64 := to64(x.Data)
			assertClose(t, "forward", y.Data, layer64(s, x64, 6, nil, nil), 1e-6, 1e-6)

			dy := randTensor(rng, -1, 1, 6, 7)
			dy64 := to64(dy.Data)
			dx := &Tensor{}
			a.Backward(dx, dy)
			L := func() float64 {
				var sum float64
				for i, v := range layer64(s, x64, 6, nil, nil) {
					sum += v * dy64[i]
				}
				return sum
			}
			assertClose(t, "dx", dx.Data, numericGrad(L, x64, 1e-6), 1e-6, 1e-5)
		})
	}
}

func TestActivationsStayFiniteWhenSaturated(t *testing.T) {
	for _, kind := range ActivationKinds {
		a, _ := NewActivation(kind)
		x := &Tensor{Shape: []int{1, 4}, Data: []float32{-1e4, -100, 100, 1e4}}
		y, dx := &Tensor{}, &Tensor{}
		a.Forward(y, x)
		a.Backward(dx, &Tensor{Shape: []int{1, 4}, Data: []float32{1, 1, 1, 1}})
		for i := range y.Data {
			if y.Data[i] != y.Data[i] || dx.Data[i] != dx.Data[i] || y.Data[i] > 2e4 || y.Data[i] < -2e4 {
				t.Errorf("%s at %v: got y %v, dx %v; want finite values", kind, x.Data[i], y.Data[i], dx.Data[i])
			}
		}
	}
}
