package graph

import "slices"

func init() {
	register(map[string]operator{
		"AveragePool": {inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, attrs: avgPoolAttrs,
			infer: func(n *Node, in []arg) ([]arg, error) {
				s, err := poolInfer(n, in)
				return []arg{{shape: s}}, err
			},
			forward: func(s *state, n *Node, out, in []*Tensor) {
				AveragePoolForward(out[0], in[0], &poolOf(s, n, in[0].Shape).p)
			},
			backward: func(s *state, n *Node, din, dout, out, in []*Tensor) {
				if din[0] != nil && dout[0] != nil {
					AveragePoolBackward(din[0], dout[0], &poolOf(s, n, in[0].Shape).p)
				}
			}},
		"GlobalAveragePool": single([2]int{1, 1}, nil, globalPoolShape,
			func(n *Node, y *Tensor, in []*Tensor) { GlobalAveragePoolForward(y, in[0]) },
			func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) { GlobalAveragePoolBackward(din[0], dy) }),
		"GlobalMaxPool": single([2]int{1, 1}, nil, globalPoolShape,
			func(n *Node, y *Tensor, in []*Tensor) { GlobalMaxPoolForward(y, in[0]) },
			func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) { GlobalMaxPoolBackward(din[0], dy, in[0]) }),
	})
}

// AveragePoolForward writes y, the mean of each window of x (ONNX
// AveragePool): its sum in float32, window row by row, divided by the
// number of inputs in it or, with p.CountIncludePad, by the window's size
// clipped to the padded input (as PyTorch and ONNX Runtime divide windows
// that ceil_mode lets run past the padding). y takes PoolShape's shape. It
// panics with ErrShape if p does not fit x or p has dilations.
func AveragePoolForward(y, x *Tensor, p *Pool) {
	checkLen(x)
	planes, h, w, oh, ow, ok := p.planes(x.Shape)
	if !ok || p.Dilations != [2]int{1, 1} {
		panic(ErrShape)
	}
	poolResize(y, x.Shape, oh, ow)
	p.run(avgPoolForward, x.Data, y.Data, nil, planes, h, w, oh, ow)
}

// AveragePoolBackward adds into dx (may be nil) each output's gradient dy
// shared evenly among its window's inputs (divided as AveragePoolForward
// divides). It panics with ErrShape if the shapes do not fit.
func AveragePoolBackward(dx, dy *Tensor, p *Pool) {
	if dx == nil {
		return
	}
	checkLen(dx, dy)
	planes, h, w, oh, ow, ok := p.planes(dx.Shape)
	if !ok || p.Dilations != [2]int{1, 1} || !poolShaped(dy.Shape, dx.Shape, oh, ow) {
		panic(ErrShape)
	}
	p.run(avgPoolBackward, dx.Data, dy.Data, nil, planes, h, w, oh, ow)
}

// avgPlane averages plane pl of j.x into j.y or, backward, spreads j.y's
// gradients into j.x.
func (p *Pool) avgPlane(j *poolJob, pl int, backward bool) {
	h, w, oh, ow := j.h, j.w, j.oh, j.ow
	in, out := j.x[pl*h*w:(pl+1)*h*w], j.y[pl*oh*ow:(pl+1)*oh*ow]
	for oy := 0; oy < oh; oy++ {
		y0 := oy*p.Strides[0] - p.PadBegin[0]
		ya, yb := max(y0, 0), min(y0+p.Kernel[0], h)
		for ox := 0; ox < ow; ox++ {
			x0 := ox*p.Strides[1] - p.PadBegin[1]
			xa, xb := max(x0, 0), min(x0+p.Kernel[1], w)
			n := (yb - ya) * (xb - xa)
			if p.CountIncludePad {
				// The padding counts, but not what lies beyond it.
				n = (min(y0+p.Kernel[0], h+p.PadEnd[0]) - y0) * (min(x0+p.Kernel[1], w+p.PadEnd[1]) - x0)
			}
			if backward {
				share := out[oy*ow+ox] / float32(n)
				for yy := ya; yy < yb; yy++ {
					row := in[yy*w+xa : yy*w+xb]
					for i := range row {
						row[i] += share
					}
				}
				continue
			}
			var sum float32
			for yy := ya; yy < yb; yy++ {
				for _, v := range in[yy*w+xa : yy*w+xb] {
					sum += v
				}
			}
			out[oy*ow+ox] = sum / float32(n)
		}
	}
}

// GlobalAveragePool and GlobalMaxPool reduce each plane of an (N, C, …)
// tensor to one value: the output is (N, C, 1, …, 1).

func globalPoolShape(n *Node, in [][]int) ([]int, error) {
	s, ok := GlobalPoolShape(in[0])
	return fits(s, ok, in...)
}

// GlobalPoolShape returns x's shape with every axis after the first two
// 1, or false if x has fewer than three axes or its planes are empty.
func GlobalPoolShape(x []int) ([]int, bool) {
	if len(x) < 3 || elements(x[2:]) == 0 {
		return nil, false
	}
	s := slices.Clone(x)
	for i := 2; i < len(s); i++ {
		s[i] = 1
	}
	return s, true
}

// globalShaped reports whether s is GlobalPoolShape's shape for x.
func globalShaped(s, x []int) bool {
	if len(s) != len(x) || len(x) < 3 || elements(x[2:]) == 0 || s[0] != x[0] || s[1] != x[1] {
		return false
	}
	for _, d := range s[2:] {
		if d != 1 {
			return false
		}
	}
	return true
}

// globalPool gives y GlobalPoolShape's shape for x and returns the number
// of planes and their size. It panics with ErrShape if x has fewer than
// three axes or empty planes.
func globalPool(y, x *Tensor) (planes, size int) {
	checkLen(x)
	if len(x.Shape) < 3 || elements(x.Shape[2:]) == 0 {
		panic(ErrShape)
	}
	y.Shape = append(y.Shape[:0], x.Shape[:2]...)
	for range x.Shape[2:] {
		y.Shape = append(y.Shape, 1)
	}
	y.Resize(y.Shape...)
	planes = x.Shape[0] * x.Shape[1]
	return planes, elements(x.Shape[2:])
}

// GlobalAveragePoolForward writes y, the mean of each plane of x, summed
// in float64.
func GlobalAveragePoolForward(y, x *Tensor) {
	planes, size := globalPool(y, x)
	for pl := 0; pl < planes; pl++ {
		var s float64
		for _, v := range x.Data[pl*size : (pl+1)*size] {
			s += float64(v)
		}
		y.Data[pl] = float32(s / float64(size))
	}
}

// GlobalAveragePoolBackward adds dy over the plane size into every
// element of its plane of dx (may be nil). It panics with ErrShape if the
// shapes do not fit.
func GlobalAveragePoolBackward(dx, dy *Tensor) {
	if dx == nil {
		return
	}
	checkLen(dx, dy)
	if !globalShaped(dy.Shape, dx.Shape) {
		panic(ErrShape)
	}
	size := elements(dx.Shape[2:])
	for pl, g := range dy.Data {
		share := g / float32(size)
		plane := dx.Data[pl*size : (pl+1)*size]
		for i := range plane {
			plane[i] += share
		}
	}
}

// globalMax returns the index in plane of its largest value (the first
// of ties, NaN above all).
func globalMax(plane []float32) int {
	at, best := 0, OrderKey(plane[0])
	for i, v := range plane {
		if k := OrderKey(v); k > best {
			at, best = i, k
		}
	}
	return at
}

// GlobalMaxPoolForward writes y, the largest value of each plane of x (the
// first of ties, NaN above all).
func GlobalMaxPoolForward(y, x *Tensor) {
	planes, size := globalPool(y, x)
	for pl := 0; pl < planes; pl++ {
		plane := x.Data[pl*size : (pl+1)*size]
		y.Data[pl] = plane[globalMax(plane)]
	}
}

// GlobalMaxPoolBackward adds dy into dx (may be nil) at the largest value
// of each plane of x. It panics with ErrShape if the shapes do not fit.
func GlobalMaxPoolBackward(dx, dy, x *Tensor) {
	if dx == nil {
		return
	}
	checkLen(dx, dy, x)
	if !globalShaped(dy.Shape, dx.Shape) || !slices.Equal(dx.Shape, x.Shape) {
		panic(ErrShape)
	}
	size := elements(dx.Shape[2:])
	for pl, g := range dy.Data {
		dx.Data[pl*size+globalMax(x.Data[pl*size:(pl+1)*size])] += g
	}
}
