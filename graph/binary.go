package graph

import (
	"fmt"
	"math"
	"slices"
)

// Pow, PRelu, and the variadic Min, Max, Sum and Mean: ONNX's (opset 18)
// float ops of several inputs with broadcasting. Pow, Min, Max, Sum and
// Mean broadcast multidirectionally (numpy); PRelu's slope broadcasts to
// x's shape (unidirectionally), which is the output's.
//
// Min and Max pass the gradient to the input that gave each element; where
// several inputs tie for it, it is split equally between them (PyTorch's
// maximum and minimum halve it between their two inputs; its amax, amin
// and ONNX Runtime's ReduceMax gradient likewise share it among ties).

func init() {
	variadic := func(forward func(y *Tensor, xs []*Tensor), backward func(dxs []*Tensor, dy, y *Tensor, xs []*Tensor)) operator {
		return single([2]int{1, math.MaxInt}, nil,
			func(n *Node, in [][]int) ([]int, error) {
				s := in[0]
				for k := 1; k < len(in); k++ {
					var ok bool
					if s, ok = BroadcastShape(s, in[k]); !ok {
						return nil, fmt.Errorf("input %d (%q) of shape %v does not broadcast with inputs 0 to %d, of shapes %v", k, n.Inputs[k], in[k], k-1, in[:k])
					}
				}
				return slices.Clone(s), nil
			},
			func(n *Node, y *Tensor, in []*Tensor) { forward(y, in) },
			func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) { backward(din, dy, y, in) })
	}
	pow := single([2]int{2, 2}, nil,
		func(n *Node, in [][]int) ([]int, error) {
			s, ok := BroadcastShape(in[0], in[1])
			return fits(s, ok, in...)
		},
		func(n *Node, y *Tensor, in []*Tensor) { PowForward(y, in[0], in[1]) },
		func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) {
			PowBackward(din[0], at(din, 1), dy, y, in[0], in[1])
		})
	// The exponent is a constant of the model as every exporter writes it
	// (x.pow(2), x ** 0.5): the graph does not train it, and a gradient
	// into it is NaN wherever the base is negative (ln a). The reference
	// Backward and PowBackward still compute it.
	pow.fixed = []int{1}
	register(map[string]operator{
		"Pow": pow,
		"PRelu": single([2]int{2, 2}, nil,
			func(n *Node, in [][]int) ([]int, error) {
				if s, ok := BroadcastShape(in[0], in[1]); !ok || !slices.Equal(s, in[0]) {
					return nil, fmt.Errorf("input 1 (slope, %q) of shape %v does not broadcast to the shape of input 0 (X), %v", n.Inputs[1], in[1], in[0])
				}
				return slices.Clone(in[0]), nil
			},
			func(n *Node, y *Tensor, in []*Tensor) { PReluForward(y, in[0], in[1]) },
			func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) {
				PReluBackward(din[0], din[1], dy, in[0], in[1])
			}),
		"Max":  variadic(MaxForward, MaxBackward),
		"Min":  variadic(MinForward, MinBackward),
		"Sum":  variadic(SumForward, func(dxs []*Tensor, dy, y *Tensor, xs []*Tensor) { SumBackward(dxs, dy, xs) }),
		"Mean": variadic(MeanForward, func(dxs []*Tensor, dy, y *Tensor, xs []*Tensor) { MeanBackward(dxs, dy, xs) }),
	})
}

// PowForward writes y = aᵇ, broadcast, computed in float64 and rounded
// (b = 2 and b = ½ are then exactly a·a and √a rounded, as ONNX Runtime
// computes them). It panics with ErrShape if a and b do not broadcast.
func PowForward(y, a, b *Tensor) {
	binary(y, a, b, func(x, z float32) float32 { return float32(math.Pow(float64(x), float64(z))) })
}

// PowBackward adds dy·b·aᵇ⁻¹ into da and dy·aᵇ·ln a into db (either may
// be nil), summed over broadcast dimensions, y being Pow's output. As
// PyTorch's pow_backward: da gets 0 where b = 0, db gets 0 where a = 0 and
// b ≥ 0 (NaN where a < 0, as ln a is). It panics with ErrShape if da or db
// does not have its input's shape, or dy and y not the broadcast shape.
func PowBackward(da, db, dy, y, a, b *Tensor) {
	checkLen(a, b, y)
	if !slices.Equal(y.Shape, dy.Shape) {
		panic(ErrShape)
	}
	sa, sb := gradShape(da, a, dy), gradShape(db, b, dy)
	binaryBackward(dy, sa, sb, func(i, ia, ib int) {
		x, e, g := float64(a.Data[ia]), float64(b.Data[ib]), float64(dy.Data[i])
		if da != nil && e != 0 {
			da.Data[ia] += float32(g * e * math.Pow(x, e-1))
		}
		if db != nil && !(x == 0 && e >= 0) {
			db.Data[ib] += float32(g * float64(y.Data[i]) * math.Log(x))
		}
	})
}

// PReluForward writes y = x where x > 0, else slope·x, slope broadcast to
// x's shape. It panics with ErrShape if it does not broadcast so.
func PReluForward(y, x, slope *Tensor) {
	checkLen(x, slope)
	if s, ok := BroadcastShape(x.Shape, slope.Shape); !ok || !slices.Equal(s, x.Shape) {
		panic(ErrShape)
	}
	binary(y, x, slope, func(v, a float32) float32 {
		if v > 0 {
			return v
		}
		return a * v
	})
}

// PReluBackward adds dy into dx where x > 0, else slope·dy, and dy·x into
// dslope where x ≤ 0, summed over the dimensions slope is broadcast along
// (either may be nil). It panics with ErrShape unless dy has x's shape and
// dx and dslope their inputs'.
func PReluBackward(dx, dslope, dy, x, slope *Tensor) {
	checkLen(x, slope, dy)
	sx, ss := gradShape(dx, x, dy), gradShape(dslope, slope, dy)
	if !slices.Equal(sx, x.Shape) || !slices.Equal(dy.Shape, x.Shape) {
		panic(ErrShape)
	}
	binaryBackward(dy, sx, ss, func(i, ix, is int) {
		v := x.Data[ix]
		if v > 0 {
			if dx != nil {
				dx.Data[ix] += dy.Data[i]
			}
			return
		}
		if dx != nil {
			dx.Data[ix] += slope.Data[is] * dy.Data[i]
		}
		if dslope != nil {
			dslope.Data[is] += dy.Data[i] * v
		}
	})
}

// maxStackInputs is the number of inputs up to which the variadic kernels
// keep their strides on the stack.
const maxStackInputs = 8

// A walker visits the elements of the shape that several shapes broadcast
// to, with the offsets of each element in tensors of those shapes. It
// lives on its user's stack and holds no pointer into itself (so that it
// stays there): its buffers are arrays, or slices for larger ranks or
// more inputs.
type walker struct {
	r, k  int
	sbuf  [maxStackRank]int
	obuf  [maxStackInputs]int
	stbuf [maxStackInputs * maxStackRank]int
	big   bool // the slices below hold the shape, offsets and strides
	shape []int
	offs  []int
	st    []int
}

func (w *walker) shapeS() []int {
	if w.big {
		return w.shape
	}
	return w.sbuf[:w.r]
}

func (w *walker) offsS() []int {
	if w.big {
		return w.offs
	}
	return w.obuf[:w.k]
}

// stS are the strides of input k.
func (w *walker) stS(k int) []int {
	if w.big {
		return w.st[k*w.r : (k+1)*w.r]
	}
	return w.stbuf[k*w.r : (k+1)*w.r]
}

// off is the offset of the current element in input k.
func (w *walker) off(k int) int {
	if w.big {
		return w.offs[k]
	}
	return w.obuf[k]
}

// init sets w up for the k shapes, broadcast together, and returns the
// broadcast shape. It panics with ErrShape if they do not broadcast.
func (w *walker) init(k int, shapes func(k int) []int) []int {
	w.r, w.k = 0, k
	for i := 0; i < k; i++ {
		w.r = max(w.r, len(shapes(i)))
	}
	if w.big = w.r > maxStackRank || k > maxStackInputs; w.big {
		w.shape, w.offs, w.st = make([]int, w.r), make([]int, k), make([]int, k*w.r)
	}
	shape := w.shapeS()
	for i := range shape {
		shape[i] = 1
	}
	for i := 0; i < k; i++ {
		if _, ok := broadcastInto(shape, shape, shapes(i)); !ok {
			panic(ErrShape)
		}
	}
	for i := 0; i < k; i++ {
		stridesInto(w.stS(i), shapes(i), shape)
	}
	return shape
}

// walk calls f(i) for every element i of the broadcast shape, w.off(k)
// being the offsets of its elements in the inputs.
func (w *walker) walk(f func(i int)) {
	out := w.shapeS()
	n := elements(out)
	if n == 0 {
		return
	}
	var ibuf [maxStackRank]int
	idx := scratchInts(ibuf[:], len(out))
	clear(idx)
	offs := w.offsS()
	clear(offs)
	for i := 0; i < n; i++ {
		f(i)
		for d := len(out) - 1; d >= 0; d-- {
			idx[d]++
			for k := range offs {
				offs[k] += w.stS(k)[d]
			}
			if idx[d] < out[d] {
				break
			}
			for k := range offs {
				offs[k] -= w.stS(k)[d] * out[d]
			}
			idx[d] = 0
		}
	}
}

// variadicForward writes into y, of the shape xs broadcast to, the fold
// of f over each element's values, x₀ first.
func variadicForward(y *Tensor, xs []*Tensor, f func(acc, v float32) float32) {
	if len(xs) == 0 {
		panic(ErrShape)
	}
	checkLen(xs...)
	var w walker
	shape := w.init(len(xs), func(k int) []int { return xs[k].Shape })
	y.Resize(shape...)
	w.walk(func(i int) {
		acc := xs[0].Data[w.off(0)]
		for k := 1; k < len(xs); k++ {
			acc = f(acc, xs[k].Data[w.off(k)])
		}
		y.Data[i] = acc
	})
}

// MaxForward writes y = max(x₀, x₁, …), broadcast; y takes the broadcast
// shape. It panics with ErrShape if the inputs do not broadcast.
func MaxForward(y *Tensor, xs []*Tensor) {
	variadicForward(y, xs, func(a, v float32) float32 { return max(a, v) })
}

// MinForward writes y = min(x₀, x₁, …), broadcast.
func MinForward(y *Tensor, xs []*Tensor) {
	variadicForward(y, xs, func(a, v float32) float32 { return min(a, v) })
}

// SumForward writes y = x₀ + x₁ + …, broadcast, added in that order.
func SumForward(y *Tensor, xs []*Tensor) {
	variadicForward(y, xs, func(a, v float32) float32 { return a + v })
}

// MeanForward writes y = (x₀ + x₁ + …)/k, broadcast.
func MeanForward(y *Tensor, xs []*Tensor) {
	SumForward(y, xs)
	inv := float32(len(xs))
	for i := range y.Data {
		y.Data[i] /= inv
	}
}

// variadicBackward sets w up to walk dy (which must have the inputs'
// broadcast shape) with the offsets of each element in the inputs, whose
// shapes are the gradients' where given, else the inputs' (xs may hold
// nils where dxs does not).
func variadicBackward(w *walker, dxs []*Tensor, dy *Tensor, xs []*Tensor) {
	checkLen(dy)
	checkLen(dxs...)
	shape := w.init(len(dxs), func(k int) []int { return gradShape(at(dxs, k), at(xs, k), dy) })
	if !slices.Equal(shape, dy.Shape) {
		panic(ErrShape)
	}
}

// SumBackward adds dy into each dxs[k] (any may be nil), summed over the
// dimensions its input was broadcast along. It panics with ErrShape if dy
// does not have the inputs' broadcast shape.
func SumBackward(dxs []*Tensor, dy *Tensor, xs []*Tensor) { scaleBackward(dxs, dy, xs, 1) }

// MeanBackward adds dy/k into each dxs[k], summed over broadcast
// dimensions.
func MeanBackward(dxs []*Tensor, dy *Tensor, xs []*Tensor) {
	scaleBackward(dxs, dy, xs, 1/float32(len(dxs)))
}

func scaleBackward(dxs []*Tensor, dy *Tensor, xs []*Tensor, c float32) {
	var w walker
	variadicBackward(&w, dxs, dy, xs)
	w.walk(func(i int) {
		g := dy.Data[i] * c
		for k, d := range dxs {
			if d != nil {
				d.Data[w.off(k)] += g
			}
		}
	})
}

// MaxBackward adds dy into the dxs[k] (any may be nil) whose input gave
// y's element, split equally where several tie; y is Max's output. It
// panics with ErrShape unless the shapes fit.
func MaxBackward(dxs []*Tensor, dy, y *Tensor, xs []*Tensor) { pickBackward(dxs, dy, y, xs) }

// MinBackward is MaxBackward for Min.
func MinBackward(dxs []*Tensor, dy, y *Tensor, xs []*Tensor) { pickBackward(dxs, dy, y, xs) }

func pickBackward(dxs []*Tensor, dy, y *Tensor, xs []*Tensor) {
	checkLen(y)
	checkLen(xs...)
	if len(xs) != len(dxs) || !slices.Equal(y.Shape, dy.Shape) {
		panic(ErrShape)
	}
	var w walker
	variadicBackward(&w, dxs, dy, xs)
	w.walk(func(i int) {
		v, ties := y.Data[i], 0
		for k, x := range xs {
			if x.Data[w.off(k)] == v {
				ties++
			}
		}
		if ties == 0 {
			return
		}
		g := dy.Data[i] / float32(ties)
		for k, x := range xs {
			if d := dxs[k]; d != nil && x.Data[w.off(k)] == v {
				d.Data[w.off(k)] += g
			}
		}
	})
}
