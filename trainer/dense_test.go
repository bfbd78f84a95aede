package trainer

import (
	"math/rand/v2"
	"testing"
)

func TestDenseAgainstReferenceAndFiniteDifferences(t *testing.T) {
	tests := []struct {
		name          string
		batch, in, on int
		tied          bool
	}{
		{"square", 3, 4, 4, false},
		{"narrowing", 5, 7, 3, false},
		{"widening", 2, 3, 6, false},
		{"tied", 4, 5, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			var d *Dense
			spec := LayerSpec{Type: "dense", In: tt.in, Out: tt.on}
			if tt.tied {
				enc := NewDense("encoder.0", tt.on, tt.in)
				d = NewTiedDense("decoder.0", enc)
				spec.TiedTo = "encoder.0"
			} else {
				d = NewDense("encoder.0", tt.in, tt.on)
			}
			copy(d.W.Value.Data, randTensor(rng, -1, 1, d.W.Value.Shape...).Data)
			copy(d.B.Value.Data, randTensor(rng, -1, 1, tt.on).Data)
			x := randTensor(rng, -1, 1, tt.batch, tt.in)
			dy := randTensor(rng, -1, 1, tt.batch, tt.on)

			y := &Tensor{}
			d.Forward(y, x)
			x64, w64, b64, dy64 := to64(x.Data), to64(d.W.Value.Data), to64(d.B.Value.Data), to64(dy.Data)
			assertClose(t, "forward", y.Data, layer64(spec, x64, tt.batch, w64, b64), 1e-6, 1e-5)

			dx := &Tensor{}
			d.Backward(dx, dy)
			// L = Σ dy·f(x; W, b): its gradients are the backward pass's.
			L := func() float64 {
				out := layer64(spec, x64, tt.batch, w64, b64)
				var s float64
				for i, v := range out {
					s += v * dy64[i]
				}
				return s
			}
			assertClose(t, "dx", dx.Data, numericGrad(L, x64, 1e-6), 1e-6, 1e-5)
			assertClose(t, "dW", d.W.Grad.Data, numericGrad(L, w64, 1e-6), 1e-6, 1e-5)
			assertClose(t, "db", d.B.Grad.Data, numericGrad(L, b64, 1e-6), 1e-6, 1e-5)

			// Backward accumulates: a second call doubles the gradients.
			twice := make([]float64, len(d.W.Grad.Data))
			for i, g := range d.W.Grad.Data {
				twice[i] = 2 * float64(g)
			}
			d.Backward(nil, dy)
			assertClose(t, "dW after two backward passes", d.W.Grad.Data, twice, 0, 1e-6)
		})
	}
}

func TestDensePanicsOnShapeMismatch(t *testing.T) {
	d := NewDense("l", 3, 2)
	defer func() {
		if r := recover(); r != ErrShape {
			t.Errorf("got panic %v, want ErrShape", r)
		}
	}()
	d.Forward(&Tensor{}, NewTensor(2, 4))
}
