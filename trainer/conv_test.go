package trainer

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// convParams is one layer configuration of the conv test grids.
type convParams struct {
	dims, in, out, groups int
	h, w                  int // input size (h = 1 for 1-D)
	k, s, d               [2]int
	pb, pe, op            [2]int
}

func (p convParams) String() string {
	return fmt.Sprintf("%dd_c%d-%d_g%d_in%dx%d_k%v_s%v_d%v_p%v%v_op%v", p.dims, p.in, p.out, p.groups, p.h, p.w, p.k, p.s, p.d, p.pb, p.pe, p.op)
}

func (p convParams) lists() (kernel, stride, padding, dilation, outPad []int) {
	if p.dims == 1 {
		return []int{p.k[1]}, []int{p.s[1]}, []int{p.pb[1], p.pe[1]}, []int{p.d[1]}, []int{p.op[1]}
	}
	return p.k[:], p.s[:], []int{p.pb[0], p.pb[1], p.pe[0], p.pe[1]}, p.d[:], p.op[:]
}

func (p convParams) inShape(n int) []int {
	if p.dims == 1 {
		return []int{n, p.in, p.w}
	}
	return []int{n, p.in, p.h, p.w}
}

// conv64 is the reference convolution: y[n][o][oy][ox] = b[o] +
// Σ x[n][c][oy·s − pb + i·d][ox·s − pb + j·d]·W[o][c′][i][j] over the group's
// input channels c.
func conv64(p convParams, x []float64, n int, w, b []float64) ([]float64, int, int) {
	oh := outSize(p.h, p.k[0], p.s[0], p.d[0], p.pb[0], p.pe[0])
	ow := outSize(p.w, p.k[1], p.s[1], p.d[1], p.pb[1], p.pe[1])
	ig, og := p.in/p.groups, p.out/p.groups
	y := make([]float64, n*p.out*oh*ow)
	for s := 0; s < n; s++ {
		for o := 0; o < p.out; o++ {
			gr := o / og
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					sum := b[o]
					for c := 0; c < ig; c++ {
						for i := 0; i < p.k[0]; i++ {
							for j := 0; j < p.k[1]; j++ {
								yy, xx := oy*p.s[0]-p.pb[0]+i*p.d[0], ox*p.s[1]-p.pb[1]+j*p.d[1]
								if yy < 0 || yy >= p.h || xx < 0 || xx >= p.w {
									continue
								}
								sum += x[((s*p.in+gr*ig+c)*p.h+yy)*p.w+xx] * w[((o*ig+c)*p.k[0]+i)*p.k[1]+j]
							}
						}
					}
					y[((s*p.out+o)*oh+oy)*ow+ox] = sum
				}
			}
		}
	}
	return y, oh, ow
}

// convTranspose64 is the reference transposed convolution: each input
// pixel scatters x·W[c][o′] into the output window it maps to.
func convTranspose64(p convParams, x []float64, n int, w, b []float64) ([]float64, int, int) {
	oh := (p.h-1)*p.s[0] - p.pb[0] - p.pe[0] + p.d[0]*(p.k[0]-1) + p.op[0] + 1
	ow := (p.w-1)*p.s[1] - p.pb[1] - p.pe[1] + p.d[1]*(p.k[1]-1) + p.op[1] + 1
	ig, og := p.in/p.groups, p.out/p.groups
	y := make([]float64, n*p.out*oh*ow)
	for s := 0; s < n; s++ {
		for o := 0; o < p.out; o++ {
			for i := 0; i < oh*ow; i++ {
				y[(s*p.out+o)*oh*ow+i] = b[o]
			}
		}
		for c := 0; c < p.in; c++ {
			gr := c / ig
			for iy := 0; iy < p.h; iy++ {
				for ix := 0; ix < p.w; ix++ {
					v := x[((s*p.in+c)*p.h+iy)*p.w+ix]
					for o := 0; o < og; o++ {
						for i := 0; i < p.k[0]; i++ {
							for j := 0; j < p.k[1]; j++ {
								yy, xx := iy*p.s[0]-p.pb[0]+i*p.d[0], ix*p.s[1]-p.pb[1]+j*p.d[1]
								if yy < 0 || yy >= oh || xx < 0 || xx >= ow {
									continue
								}
								y[((s*p.out+gr*og+o)*oh+yy)*ow+xx] += v * w[((c*og+o)*p.k[0]+i)*p.k[1]+j]
							}
						}
					}
				}
			}
		}
	}
	return y, oh, ow
}

var convGrid = []convParams{
	{dims: 2, in: 2, out: 3, groups: 1, h: 5, w: 6, k: [2]int{3, 3}, s: [2]int{1, 1}, d: [2]int{1, 1}, pb: [2]int{1, 1}, pe: [2]int{1, 1}},
	{dims: 2, in: 2, out: 4, groups: 2, h: 7, w: 5, k: [2]int{3, 2}, s: [2]int{2, 1}, d: [2]int{1, 2}, pb: [2]int{0, 1}, pe: [2]int{2, 0}, op: [2]int{1, 0}},
	{dims: 2, in: 3, out: 2, groups: 1, h: 6, w: 6, k: [2]int{2, 2}, s: [2]int{2, 2}, d: [2]int{1, 1}, pb: [2]int{0, 0}, pe: [2]int{0, 0}, op: [2]int{1, 1}},
	{dims: 2, in: 1, out: 2, groups: 1, h: 4, w: 5, k: [2]int{3, 3}, s: [2]int{3, 2}, d: [2]int{2, 1}, pb: [2]int{2, 1}, pe: [2]int{1, 2}, op: [2]int{2, 1}},
	{dims: 1, in: 2, out: 3, groups: 1, h: 1, w: 9, k: [2]int{1, 7}, s: [2]int{1, 2}, d: [2]int{1, 1}, pb: [2]int{0, 2}, pe: [2]int{0, 3}, op: [2]int{0, 1}},
	{dims: 1, in: 4, out: 2, groups: 2, h: 1, w: 8, k: [2]int{1, 3}, s: [2]int{1, 1}, d: [2]int{1, 3}, pb: [2]int{0, 0}, pe: [2]int{0, 1}},
	// Stride 1, one group, at most directMaxOut outputs: Conv's direct path.
	{dims: 2, in: 3, out: 1, groups: 1, h: 6, w: 7, k: [2]int{3, 3}, s: [2]int{1, 1}, d: [2]int{1, 1}, pb: [2]int{1, 1}, pe: [2]int{1, 1}},
	{dims: 2, in: 2, out: 4, groups: 1, h: 5, w: 4, k: [2]int{2, 3}, s: [2]int{1, 1}, d: [2]int{1, 1}, pb: [2]int{0, 2}, pe: [2]int{1, 0}},
	{dims: 2, in: 2, out: 2, groups: 1, h: 6, w: 6, k: [2]int{3, 3}, s: [2]int{1, 1}, d: [2]int{1, 1}},
	{dims: 1, in: 3, out: 1, groups: 1, h: 1, w: 10, k: [2]int{1, 5}, s: [2]int{1, 1}, d: [2]int{1, 1}, pb: [2]int{0, 2}, pe: [2]int{0, 1}},
	// Stride 1 with more outputs: im2col, rows as one run of the plane
	// (output as wide as the input), with asymmetric padding, dilated rows.
	{dims: 2, in: 2, out: 5, groups: 1, h: 5, w: 5, k: [2]int{3, 3}, s: [2]int{1, 1}, d: [2]int{1, 1}, pb: [2]int{1, 1}, pe: [2]int{1, 1}},
	{dims: 2, in: 3, out: 6, groups: 1, h: 4, w: 6, k: [2]int{2, 3}, s: [2]int{1, 1}, d: [2]int{1, 1}, pb: [2]int{0, 2}, pe: [2]int{1, 0}},
	{dims: 2, in: 2, out: 5, groups: 1, h: 7, w: 5, k: [2]int{3, 3}, s: [2]int{1, 1}, d: [2]int{2, 1}, pb: [2]int{2, 1}, pe: [2]int{2, 1}},
	{dims: 2, in: 2, out: 6, groups: 2, h: 3, w: 4, k: [2]int{3, 5}, s: [2]int{1, 1}, d: [2]int{1, 1}, pb: [2]int{3, 2}, pe: [2]int{1, 2}},
	{dims: 1, in: 2, out: 5, groups: 1, h: 1, w: 9, k: [2]int{1, 4}, s: [2]int{1, 1}, d: [2]int{1, 1}, pb: [2]int{0, 3}, pe: [2]int{0, 0}},
	// The first kernel row's taps all in the padding above the image
	// (padding 4 over 2 output rows), rows as one run of the plane.
	{dims: 2, in: 2, out: 5, groups: 1, h: 3, w: 5, k: [2]int{2, 3}, s: [2]int{1, 1}, d: [2]int{6, 1}, pb: [2]int{4, 1}, pe: [2]int{1, 1}},
}

func TestConvAgainstReferenceAndFiniteDifferences(t *testing.T) {
	for _, p := range convGrid {
		t.Run(p.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(31, 32))
			kernel, stride, padding, dilation, _ := p.lists()
			c, err := NewConv("c", p.dims, p.in, p.out, p.groups, kernel, stride, padding, dilation)
			if err != nil {
				t.Fatal(err)
			}
			copy(c.W.Value.Data, randTensor(rng, -1, 1, c.W.Value.Len()).Data)
			copy(c.B.Value.Data, randTensor(rng, -1, 1, p.out).Data)
			const n = 2
			x := randTensor(rng, -1, 1, p.inShape(n)...)
			checkLayerNumerics(t, c, x, c.W, c.B, func(x64, w64, b64 []float64) []float64 {
				y, _, _ := conv64(p, x64, n, w64, b64)
				return y
			})
		})
	}
}

func TestConvTransposeAgainstReferenceAndFiniteDifferences(t *testing.T) {
	for _, p := range convGrid {
		t.Run(p.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(33, 34))
			kernel, stride, padding, dilation, outPad := p.lists()
			c, err := NewConvTranspose("c", p.dims, p.in, p.out, p.groups, kernel, stride, padding, outPad, dilation)
			if err != nil {
				t.Fatal(err)
			}
			copy(c.W.Value.Data, randTensor(rng, -1, 1, c.W.Value.Len()).Data)
			copy(c.B.Value.Data, randTensor(rng, -1, 1, p.out).Data)
			const n = 2
			x := randTensor(rng, -1, 1, p.inShape(n)...)
			checkLayerNumerics(t, c, x, c.W, c.B, func(x64, w64, b64 []float64) []float64 {
				y, _, _ := convTranspose64(p, x64, n, w64, b64)
				return y
			})
		})
	}
}

// checkLayerNumerics runs layer on x, compares its output with ref, then its
// backward pass with central differences of L = Σ dy·ref(x; W, b).
func checkLayerNumerics(t *testing.T, layer Layer, x *Tensor, w, b *Param, ref func(x64, w64, b64 []float64) []float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(35, 36))
	y := &Tensor{}
	layer.Forward(y, x)
	x64 := to64(x.Data)
	var w64, b64 []float64
	if w != nil {
		w64, b64 = to64(w.Value.Data), to64(b.Value.Data)
	}
	want := ref(x64, w64, b64)
	assertClose(t, "forward", y.Data, want, 1e-5, 1e-5)
	dy := randTensor(rng, -1, 1, y.Shape...)
	dy64 := to64(dy.Data)
	dx := &Tensor{}
	layer.Backward(dx, dy)
	L := func() float64 {
		var s float64
		for i, v := range ref(x64, w64, b64) {
			s += v * dy64[i]
		}
		return s
	}
	assertClose(t, "dx", dx.Data, numericGrad(L, x64, 1e-6), 1e-5, 1e-4)
	if w != nil {
		assertClose(t, "dW", w.Grad.Data, numericGrad(L, w64, 1e-6), 1e-5, 1e-4)
		assertClose(t, "db", b.Grad.Data, numericGrad(L, b64, 1e-6), 1e-5, 1e-4)
	}
}

// TestConvWindowLargerThanInput checks that Forward refuses an input
// smaller than the window with ErrShape, also where the output size
// formula's quotient is negative but above −stride: (2 − 3)/2 + 1 truncated
// towards zero gave one output, computed from the padding alone.
func TestConvWindowLargerThanInput(t *testing.T) {
	tests := []struct {
		name           string
		w, k, s, d, pb int
	}{
		{"kernel 3 stride 2 over 2", 2, 3, 2, 1, 0},
		{"kernel 3 stride 3 over 1", 1, 3, 3, 1, 0},
		{"kernel 3 dilation 2 stride 4 over 4", 4, 3, 4, 2, 0},
		{"kernel 4 stride 2 over 1 padded by 1", 1, 4, 2, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewConv("c", 1, 1, 2, 1, []int{tt.k}, []int{tt.s}, []int{tt.pb, 0}, []int{tt.d})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if got := recover(); got != ErrShape {
					t.Errorf("got panic %v, want %v", got, ErrShape)
				}
			}()
			c.Forward(&Tensor{}, NewTensor(1, 1, tt.w))
		})
	}
}
