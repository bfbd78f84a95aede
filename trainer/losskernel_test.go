package trainer

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/aebridge/aebridge/graph"
)

// TestBCEKernelMatchesGo checks BCE from logits with the SSE kernel (where
// the build has it) against the Go loop: the gradient bit for bit, the
// loss to 1e-6 of its size, NaN logits giving a NaN loss.
func TestBCEKernelMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{1, 3, 4, 7, 256, 257, 1000, 5003} {
		z, target := NewTensor(n), NewTensor(n)
		for i := range z.Data {
			z.Data[i] = float32(r.NormFloat64() * 8)
			target.Data[i] = float32(r.Float64())
		}
		z.Data[n/2] = float32([]float64{0, math.Copysign(0, -1), 120, -120}[n%4])
		var g Tensor
		got := BCEWithLogitsLoss(&g, z, target, nil)
		wantGrad, scale := make([]float32, n), float32(1/float64(n))
		var want float64
		prod := 1.0
		for i, x := range z.Data { // the Go loop's arithmetic, element by element
			e := graph.Exp32(math.Float32frombits(math.Float32bits(x) | 1<<31))
			want += float64(max(x, 0) - x*target.Data[i])
			prod *= 1 + float64(e)
			if i%500 == 499 {
				want += math.Log(prod)
				prod = 1
			}
			neg := graph.SignMask(x)
			s := math.Float32frombits(0x3f800000&^neg|math.Float32bits(e)&neg) / (1 + e)
			wantGrad[i] = (s - target.Data[i]) * scale
		}
		want += math.Log(prod)
		if !(math.Abs(got-want) <= 1e-6*math.Abs(want)) {
			t.Errorf("%d elements: loss %v, want %v", n, got, want)
		}
		for i := range g.Data {
			if math.Float32bits(g.Data[i]) != math.Float32bits(wantGrad[i]) {
				t.Fatalf("%d elements: gradient %d is %v, want %v", n, i, g.Data[i], wantGrad[i])
			}
		}
		z.Data[n-1] = float32(math.NaN())
		if l := BCEWithLogitsLoss(&g, z, target, nil); !math.IsNaN(l) {
			t.Errorf("%d elements with a NaN logit: loss %v", n, l)
		}
	}
}

// TestMSEKernelMatchesGo checks MSE with its kernel (SSE where the build
// has it) against the Go loop: the gradient bit for bit, the loss to 1e-6.
func TestMSEKernelMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{1, 3, 4, 5, 255, 256, 257, 1001} {
		out, target := NewTensor(n), NewTensor(n)
		for i := range out.Data {
			out.Data[i], target.Data[i] = float32(r.Float64()), float32(r.Float64())
		}
		var grad Tensor
		got := MSELoss(&grad, out, target, nil)
		var sum float64
		scale := float32(2 / float64(n))
		for i := range out.Data {
			d := out.Data[i] - target.Data[i]
			sum += float64(d) * float64(d)
			if w := scale * d; math.Float32bits(grad.Data[i]) != math.Float32bits(w) {
				t.Fatalf("%d elements: MSE gradient %d is %v, want %v", n, i, grad.Data[i], w)
			}
		}
		if !(math.Abs(got-sum) <= 1e-6*sum) {
			t.Errorf("%d elements: MSE %v, want %v", n, got, sum)
		}
	}
}
