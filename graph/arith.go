package graph

import "slices"

func init() {
	register(map[string]operator{
		"Add": binaryOp(AddForward, func(da, db, dy, a, b *Tensor) { AddBackward(da, db, dy) }),
		"Sub": binaryOp(SubForward, func(da, db, dy, a, b *Tensor) { SubBackward(da, db, dy) }),
		"Mul": binaryOp(MulForward, MulBackward),
		"Div": binaryOp(DivForward, DivBackward),
	})
}

func binaryOp(forward func(y, a, b *Tensor), backward func(da, db, dy, a, b *Tensor)) operator {
	return single([2]int{2, 2}, nil,
		func(n *Node, in [][]int) ([]int, error) {
			s, ok := BroadcastShape(in[0], in[1])
			return fits(s, ok, in...)
		},
		func(n *Node, y *Tensor, in []*Tensor) { forward(y, in[0], in[1]) },
		func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) { backward(din[0], din[1], dy, in[0], in[1]) })
}

// Add, Sub, Mul and Div: ONNX's elementwise arithmetic with multidirectional
// (numpy) broadcasting. Shapes are aligned at their last dimension; each
// pair of dimensions is equal or one of them is 1 (or missing), and the
// output has the larger of each.

// BroadcastShape returns the shape that a and b broadcast to, or false if
// they do not broadcast.
func BroadcastShape(a, b []int) ([]int, bool) {
	return broadcastInto(make([]int, max(len(a), len(b))), a, b)
}

// broadcastInto is BroadcastShape writing into out, of the larger rank's
// length: with a buffer on the caller's stack, it allocates nothing.
func broadcastInto(out, a, b []int) ([]int, bool) {
	n := len(out)
	for i := range out {
		da, db := dimFromEnd(a, n-1-i), dimFromEnd(b, n-1-i)
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, false
		}
	}
	return out, true
}

// dimFromEnd is shape's k-th dimension from the end, 1 past its start.
func dimFromEnd(shape []int, k int) int {
	if k >= len(shape) {
		return 1
	}
	return shape[len(shape)-1-k]
}

// broadcastStrides returns, for each dimension of out, how far a step in it
// moves in a tensor of the given shape broadcast to out: 0 where the tensor
// has 1 (or no) element along it.
func broadcastStrides(shape, out []int) []int {
	return stridesInto(make([]int, len(out)), shape, out)
}

// stridesInto is broadcastStrides writing into st, of out's length.
func stridesInto(st, shape, out []int) []int {
	clear(st)
	step := 1
	for k := 0; k < len(out); k++ {
		d := dimFromEnd(shape, k)
		if d != 1 {
			st[len(out)-1-k] = step
		}
		step *= d
	}
	return st
}

// walkBroadcast calls f(i, ia, ib) for each element i of out (row-major)
// with the offsets of its elements of a and b (strides sa, sb).
func walkBroadcast(out, sa, sb []int, f func(i, ia, ib int)) {
	n := elements(out)
	if n == 0 {
		return
	}
	var buf [maxStackRank]int
	idx := buf[:0]
	if len(out) <= maxStackRank {
		idx = buf[:len(out)]
	} else {
		idx = make([]int, len(out))
	}
	ia, ib := 0, 0
	for i := 0; i < n; i++ {
		f(i, ia, ib)
		for d := len(out) - 1; d >= 0; d-- {
			idx[d]++
			ia += sa[d]
			ib += sb[d]
			if idx[d] < out[d] {
				break
			}
			ia -= sa[d] * out[d]
			ib -= sb[d] * out[d]
			idx[d] = 0
		}
	}
}

// binary writes f(a, b), broadcast, into y (which takes the broadcast
// shape): one flat loop where a and b have the same shape.
func binary(y, a, b *Tensor, f func(x, z float32) float32) {
	checkLen(a, b)
	var sbuf, abuf, bbuf [maxStackRank]int
	shape, ok := broadcastInto(scratchInts(sbuf[:], max(len(a.Shape), len(b.Shape))), a.Shape, b.Shape)
	if !ok {
		panic(ErrShape)
	}
	y.Resize(shape...)
	if slices.Equal(a.Shape, b.Shape) {
		bd := b.Data[:len(a.Data)]
		yd := y.Data[:len(a.Data)]
		for i, v := range a.Data {
			yd[i] = f(v, bd[i])
		}
		return
	}
	sa := stridesInto(scratchInts(abuf[:], len(shape)), a.Shape, shape)
	sb := stridesInto(scratchInts(bbuf[:], len(shape)), b.Shape, shape)
	walkBroadcast(shape, sa, sb, func(i, ia, ib int) {
		y.Data[i] = f(a.Data[ia], b.Data[ib])
	})
}

// maxStackRank is the rank up to which shape arithmetic in the kernels
// uses buffers on the stack (allocating nothing).
const maxStackRank = 8

// scratchInts is buf[:n] when it is long enough, else a new slice.
func scratchInts(buf []int, n int) []int {
	if n <= len(buf) {
		return buf[:n]
	}
	return make([]int, n)
}

// binaryBackward calls f(i, ia, ib) for every element of dy with the
// offsets of the elements of a (shape sa) and b (shape sb) it came from.
// It panics with ErrShape unless dy has the shape that sa and sb broadcast
// to.
func binaryBackward(dy *Tensor, sa, sb []int, f func(i, ia, ib int)) {
	checkLen(dy)
	var sbuf, abuf, bbuf [maxStackRank]int
	shape, ok := broadcastInto(scratchInts(sbuf[:], max(len(sa), len(sb))), sa, sb)
	if !ok || !slices.Equal(shape, dy.Shape) {
		panic(ErrShape)
	}
	walkBroadcast(shape, stridesInto(scratchInts(abuf[:], len(shape)), sa, shape), stridesInto(scratchInts(bbuf[:], len(shape)), sb, shape), f)
}

// gradShape is the shape of the input whose gradient is d (may be nil)
// and whose value is t (may be nil): d's, else t's, else dy's (the input's
// gradient is not wanted and the shape is only checked against dy). It
// panics with ErrShape if d and t disagree.
func gradShape(d, t, dy *Tensor) []int {
	switch {
	case d != nil:
		checkLen(d)
		if t != nil && !slices.Equal(d.Shape, t.Shape) {
			panic(ErrShape)
		}
		return d.Shape
	case t != nil:
		return t.Shape
	}
	return dy.Shape
}

// AddForward writes y = a + b, broadcast; y takes the broadcast shape. It
// panics with ErrShape if a and b do not broadcast.
func AddForward(y, a, b *Tensor) { binary(y, a, b, func(x, z float32) float32 { return x + z }) }

// AddBackward adds dy into da and db (either may be nil), each summed over
// the dimensions its input was broadcast along; da and db have a's and b's
// shapes. It panics with ErrShape if dy does not have the shape they
// broadcast to.
func AddBackward(da, db, dy *Tensor) {
	sa, sb := gradShape(da, nil, dy), gradShape(db, nil, dy)
	binaryBackward(dy, sa, sb, func(i, ia, ib int) {
		if da != nil {
			da.Data[ia] += dy.Data[i]
		}
		if db != nil {
			db.Data[ib] += dy.Data[i]
		}
	})
}

// SubForward writes y = a − b, broadcast; y takes the broadcast shape. It
// panics with ErrShape if a and b do not broadcast.
func SubForward(y, a, b *Tensor) { binary(y, a, b, func(x, z float32) float32 { return x - z }) }

// SubBackward adds dy into da and −dy into db (either may be nil), summed
// over broadcast dimensions; da and db have a's and b's shapes. It panics
// with ErrShape if dy does not have the shape they broadcast to.
func SubBackward(da, db, dy *Tensor) {
	sa, sb := gradShape(da, nil, dy), gradShape(db, nil, dy)
	binaryBackward(dy, sa, sb, func(i, ia, ib int) {
		if da != nil {
			da.Data[ia] += dy.Data[i]
		}
		if db != nil {
			db.Data[ib] -= dy.Data[i]
		}
	})
}

// MulForward writes y = a·b, broadcast; y takes the broadcast shape. It
// panics with ErrShape if a and b do not broadcast.
func MulForward(y, a, b *Tensor) { binary(y, a, b, func(x, z float32) float32 { return x * z }) }

// MulBackward adds dy·b into da and dy·a into db (either may be nil),
// summed over broadcast dimensions. It panics with ErrShape if da or db
// does not have its input's shape, or dy not the broadcast shape.
func MulBackward(da, db, dy, a, b *Tensor) {
	checkLen(a, b)
	sa, sb := gradShape(da, a, dy), gradShape(db, b, dy)
	binaryBackward(dy, sa, sb, func(i, ia, ib int) {
		if da != nil {
			da.Data[ia] += dy.Data[i] * b.Data[ib]
		}
		if db != nil {
			db.Data[ib] += dy.Data[i] * a.Data[ia]
		}
	})
}

// DivForward writes y = a / b, broadcast; y takes the broadcast shape. It
// panics with ErrShape if a and b do not broadcast.
func DivForward(y, a, b *Tensor) { binary(y, a, b, func(x, z float32) float32 { return x / z }) }

// DivBackward adds dy/b into da and −dy·a/b² into db (either may be nil),
// summed over broadcast dimensions. It panics with ErrShape if da or db
// does not have its input's shape, or dy not the broadcast shape.
func DivBackward(da, db, dy, a, b *Tensor) {
	checkLen(a, b)
	sa, sb := gradShape(da, a, dy), gradShape(db, b, dy)
	binaryBackward(dy, sa, sb, func(i, ia, ib int) {
		q := dy.Data[i] / b.Data[ib]
		if da != nil {
			da.Data[ia] += q
		}
		if db != nil {
			db.Data[ib] -= q * a.Data[ia] / b.Data[ib]
		}
	})
}

// broadcastRef is the textbook definition of a broadcast elementwise
// operation, the reference for binary and walkBroadcast: each output
// element's multi-index, decoded by division, and the inputs' elements at
// that index with broadcast dimensions pinned to 0.
func broadcastRef[T float32 | float64](a []T, as []int, b []T, bs []int, f func(x, z T) T) ([]T, []int) {
	out, ok := BroadcastShape(as, bs)
	if !ok {
		panic(ErrShape)
	}
	y := make([]T, elements(out))
	idx := make([]int, len(out))
	for i := range y {
		r := i
		for d := len(out) - 1; d >= 0; d-- {
			idx[d] = r % out[d]
			r /= out[d]
		}
		y[i] = f(a[refOffset(idx, as)], b[refOffset(idx, bs)])
	}
	return y, out
}

// refOffset is the offset in a tensor of the given shape of the element at
// idx (an index of the broadcast shape), 0 along its broadcast dimensions.
func refOffset(idx, shape []int) int {
	off := 0
	lead := len(idx) - len(shape)
	for d, n := range shape {
		i := idx[lead+d]
		if n == 1 {
			i = 0
		}
		off = off*n + i
	}
	return off
}
