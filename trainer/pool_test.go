package trainer

import (
	"math"
	"math/rand/v2"
	"testing"
)

// poolCase is one pooling configuration: per-sample input shape and window.
type poolCase struct {
	name           string
	dims           int
	in             []int // (C, L) or (C, H, W)
	kernel, stride []int
	padding        []int
}

var poolGrid = []poolCase{
	{"2d k2 s2", 2, []int{2, 4, 6}, []int{2, 2}, []int{2, 2}, []int{0, 0, 0, 0}},
	{"2d k3 s2 pad odd", 2, []int{1, 7, 5}, []int{3, 3}, []int{2, 2}, []int{1, 1, 1, 1}},
	{"2d k2 s2 asym pad (ceil-like)", 2, []int{2, 7, 7}, []int{2, 2}, []int{2, 2}, []int{0, 0, 1, 1}},
	{"2d k3x2 s1x2", 2, []int{1, 5, 6}, []int{3, 2}, []int{1, 2}, []int{0, 1, 2, 0}},
	{"1d k3 s2", 1, []int{3, 9}, []int{3}, []int{2}, []int{1, 1}},
}

// pool64 is the reference pooling: max or mean (over the input elements in
// the window, padding excluded) of each window.
func pool64(pc poolCase, x []float64, n int, op string) []float64 {
	h, w := 1, pc.in[1]
	k, s, pb, pe := [2]int{1, pc.kernel[0]}, [2]int{1, pc.stride[0]}, [2]int{0, pc.padding[0]}, [2]int{0, pc.padding[1]}
	if pc.dims == 2 {
		h, w = pc.in[1], pc.in[2]
		k, s = [2]int{pc.kernel[0], pc.kernel[1]}, [2]int{pc.stride[0], pc.stride[1]}
		pb, pe = [2]int{pc.padding[0], pc.padding[1]}, [2]int{pc.padding[2], pc.padding[3]}
	}
	oh, ow := outSize(h, k[0], s[0], 1, pb[0], pe[0]), outSize(w, k[1], s[1], 1, pb[1], pe[1])
	var y []float64
	for pl := 0; pl < n*pc.in[0]; pl++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				best, sum, cnt := math.Inf(-1), 0.0, 0
				for i := 0; i < k[0]; i++ {
					for j := 0; j < k[1]; j++ {
						yy, xx := oy*s[0]-pb[0]+i, ox*s[1]-pb[1]+j
						if yy < 0 || yy >= h || xx < 0 || xx >= w {
							continue
						}
						v := x[(pl*h+yy)*w+xx]
						best = math.Max(best, v)
						sum += v
						cnt++
					}
				}
				if op == "max" {
					y = append(y, best)
				} else {
					y = append(y, sum/float64(cnt))
				}
			}
		}
	}
	return y
}

func TestPoolingAgainstReferenceAndFiniteDifferences(t *testing.T) {
	for _, pc := range poolGrid {
		for _, op := range []string{"max", "avg"} {
			t.Run(op+" "+pc.name, func(t *testing.T) {
				var l Layer
				var err error
				if op == "max" {
					l, err = NewMaxPool("p", pc.dims, pc.kernel, pc.stride, pc.padding)
				} else {
					l, err = NewAvgPool("p", pc.dims, pc.kernel, pc.stride, pc.padding, false)
				}
				if err != nil {
					t.Fatal(err)
				}
				const n = 2
				x := randTensor(rand.New(rand.NewPCG(41, 42)), -1, 1, append([]int{n}, pc.in...)...)
				checkLayerNumerics(t, l, x, nil, nil, func(x64, _, _ []float64) []float64 { return pool64(pc, x64, n, op) })
			})
		}
	}
}

func TestAvgPoolCountIncludePad(t *testing.T) {
	p, _ := NewAvgPool("p", 2, []int{3, 3}, []int{1, 1}, []int{1, 1, 1, 1}, true)
	x := &Tensor{Shape: []int{1, 1, 2, 2}, Data: []float32{1, 2, 3, 4}}
	y := &Tensor{}
	p.Forward(y, x)
	// Every 3×3 window over the padded 4×4 image holds all four pixels.
	for i, v := range y.Data {
		if !(math.Abs(float64(v)-10.0/9) <= 1e-6) {
			t.Errorf("output %d: got %v, want 10/9", i, v)
		}
	}
}

func TestMaxUnpoolInvertsPooling(t *testing.T) {
	for _, pc := range poolGrid {
		t.Run(pc.name, func(t *testing.T) {
			p, err := NewMaxPool("encoder.0", pc.dims, pc.kernel, pc.stride, pc.padding)
			if err != nil {
				t.Fatal(err)
			}
			u := &MaxUnpool{Pool: p, Of: "encoder.0", Out: pc.in}
			rng := rand.New(rand.NewPCG(43, 44))
			x := randTensor(rng, -1, 1, append([]int{2}, pc.in...)...)
			pooled, back := &Tensor{}, &Tensor{}
			p.Forward(pooled, x)
			u.Forward(back, pooled)
			// Every pooled maximum is back where it came from; the rest is 0.
			kept := map[int]bool{}
			planes := 2 * pc.in[0]
			plane, per := x.Len()/planes, pooled.Len()/planes
			for k, at := range p.Indices {
				// Indices are flat over the whole input, each in its plane.
				if int(at)/plane != k/per {
					t.Fatalf("index %d: %d, outside plane %d", k, at, k/per)
				}
				kept[int(at)] = true
			}
			for i, v := range back.Data {
				if kept[i] && v != x.Data[i] || !kept[i] && v != 0 {
					t.Fatalf("element %d: got %v (kept %v, input %v)", i, v, kept[i], x.Data[i])
				}
			}
			// Backward is the adjoint, ⟨unpool(z), g⟩ = ⟨z, unpoolᵀ(g)⟩, where
			// no two windows share a maximum (with overlapping windows the
			// forward pass overwrites, as PyTorch's and ONNX's do).
			if len(kept) != len(p.Indices) {
				return
			}
			z := randTensor(rng, -1, 1, pooled.Shape...)
			u.Forward(back, z)
			g := randTensor(rng, -1, 1, back.Shape...)
			dz := &Tensor{}
			u.Backward(dz, g)
			var lhs, rhs float64
			for i := range back.Data {
				lhs += float64(back.Data[i]) * float64(g.Data[i])
			}
			for i := range z.Data {
				rhs += float64(z.Data[i]) * float64(dz.Data[i])
			}
			if !(math.Abs(lhs-rhs) <= 1e-5) {
				t.Errorf("adjoint: ⟨unpool z, g⟩ = %v, ⟨z, unpoolᵀ g⟩ = %v", lhs, rhs)
			}
		})
	}
}

func TestUpsampleAgainstReferenceAndFiniteDifferences(t *testing.T) {
	tests := []struct {
		dims  int
		in    []int
		scale []int
	}{{2, []int{2, 3, 4}, []int{2, 2}}, {2, []int{1, 2, 3}, []int{3, 1}}, {1, []int{2, 5}, []int{2}}}
	for _, tt := range tests {
		u, err := NewUpsample("u", tt.dims, tt.scale)
		if err != nil {
			t.Fatal(err)
		}
		const n = 2
		x := randTensor(rand.New(rand.NewPCG(45, 46)), -1, 1, append([]int{n}, tt.in...)...)
		checkLayerNumerics(t, u, x, nil, nil, func(x64, _, _ []float64) []float64 {
			h, w, sh, sw := 1, tt.in[1], 1, tt.scale[0]
			if tt.dims == 2 {
				h, w, sh, sw = tt.in[1], tt.in[2], tt.scale[0], tt.scale[1]
			}
			var y []float64
			for pl := 0; pl < n*tt.in[0]; pl++ {
				for yy := 0; yy < h*sh; yy++ {
					for xx := 0; xx < w*sw; xx++ {
						y = append(y, x64[(pl*h+yy/sh)*w+xx/sw])
					}
				}
			}
			return y
		})
	}
}

// bn64 is the reference batch normalisation in training mode.
func bn64(x []float64, n, c, inner int, g, b []float64, eps float64) []float64 {
	y := make([]float64, len(x))
	for ch := 0; ch < c; ch++ {
		var mean, v float64
		m := float64(n * inner)
		for s := 0; s < n; s++ {
			for i := 0; i < inner; i++ {
				mean += x[(s*c+ch)*inner+i]
			}
		}
		mean /= m
		for s := 0; s < n; s++ {
			for i := 0; i < inner; i++ {
				d := x[(s*c+ch)*inner+i] - mean
				v += d * d
			}
		}
		v /= m
		for s := 0; s < n; s++ {
			for i := 0; i < inner; i++ {
				k := (s*c+ch)*inner + i
				y[k] = g[ch]*(x[k]-mean)/math.Sqrt(v+eps) + b[ch]
			}
		}
	}
	return y
}

func TestBatchNormTrainingAgainstReferenceAndFiniteDifferences(t *testing.T) {
	for _, shape := range [][]int{{4, 3, 2, 3}, {5, 2}, {3, 2, 5}} {
		bn, err := NewBatchNorm("bn", shape[1], 0.1, 1e-5)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(47, 48))
		copy(bn.W.Value.Data, randTensor(rng, 0.5, 1.5, shape[1]).Data)
		copy(bn.B.Value.Data, randTensor(rng, -1, 1, shape[1]).Data)
		bn.setTraining(true, nil)
		x := randTensor(rng, -2, 2, shape...)
		inner := x.Len() / (shape[0] * shape[1])
		checkLayerNumerics(t, bn, x, bn.W, bn.B, func(x64, g64, b64 []float64) []float64 {
			return bn64(x64, shape[0], shape[1], inner, g64, b64, 1e-5)
		})
	}
}

func TestBatchNormRunningStatisticsFollowPyTorch(t *testing.T) {
	bn, _ := NewBatchNorm("bn", 1, 0.1, 1e-5)
	bn.setTraining(true, nil)
	x := &Tensor{Shape: []int{4, 1}, Data: []float32{1, 2, 3, 6}}
	bn.Forward(&Tensor{}, x)
	// mean 3, unbiased variance 14/3: running = 0.9·(0, 1) + 0.1·(3, 14/3).
	if m, v := bn.Mean.Value.Data[0], bn.Var.Value.Data[0]; !(math.Abs(float64(m)-0.3) <= 1e-6) || !(math.Abs(float64(v)-(0.9+0.1*14.0/3)) <= 1e-6) || bn.Batches.Value.Data[0] != 1 {
		t.Errorf("running mean %v var %v batches %v; want 0.3, %v, 1", m, v, bn.Batches.Value.Data[0], 0.9+0.1*14.0/3)
	}
	// Inference uses them: y = (x − 0.3)/√(var + eps).
	bn.setTraining(false, nil)
	y := &Tensor{}
	bn.Forward(y, &Tensor{Shape: []int{1, 1}, Data: []float32{2}})
	want := (2 - 0.3) / math.Sqrt(0.9+0.1*14.0/3+1e-5)
	if !(math.Abs(float64(y.Data[0])-want) <= 1e-6) {
		t.Errorf("inference output %v, want %v", y.Data[0], want)
	}
	// Its backward is γ/σ·dy.
	dx := &Tensor{}
	bn.Backward(dx, &Tensor{Shape: []int{1, 1}, Data: []float32{1}})
	if !(math.Abs(float64(dx.Data[0])-1/math.Sqrt(0.9+0.1*14.0/3+1e-5)) <= 1e-6) {
		t.Errorf("inference dx %v", dx.Data[0])
	}
}

func TestDropout(t *testing.T) {
	d, _ := NewDropout("d", 0.25)
	x := NewTensor(100, 100)
	for i := range x.Data {
		x.Data[i] = 2
	}
	y, dx := &Tensor{}, &Tensor{}
	d.setTraining(true, rand.New(rand.NewPCG(1, 2)))
	d.Forward(y, x)
	zeros := 0
	for _, v := range y.Data {
		switch v {
		case 0:
			zeros++
		case 2 / 0.75:
		default:
			t.Fatalf("training output %v is neither 0 nor 2/(1 − p)", v)
		}
	}
	if f := float64(zeros) / 1e4; !(math.Abs(f-0.25) <= 0.02) {
		t.Errorf("dropped fraction %v, want 0.25", f)
	}
	d.Backward(dx, x)
	for i := range dx.Data {
		if dx.Data[i] != y.Data[i] {
			t.Fatal("backward does not apply the forward's mask")
		}
	}
	d.setTraining(false, nil)
	d.Forward(y, x)
	for _, v := range y.Data {
		if v != 2 {
			t.Fatal("inference dropout is not the identity")
		}
	}
}
