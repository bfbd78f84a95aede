package graph

import "math"

func init() {
	register(map[string]operator{
		"LogSoftmax": single([2]int{1, 1}, map[string]AttrType{"axis": AttrInt},
			func(n *Node, in [][]int) ([]int, error) {
				s, ok := SoftmaxShape(in[0], axisAttr(n, -1))
				if !ok {
					return nil, attrError("axis", n.Int("axis", -1), "outside [−r, r) for the input of shape %v", in[0])
				}
				return s, nil
			},
			func(n *Node, y *Tensor, in []*Tensor) { LogSoftmaxForward(y, in[0], axisAttr(n, -1)) },
			func(n *Node, din []*Tensor, dy, y *Tensor, in []*Tensor) {
				LogSoftmaxBackward(din[0], dy, y, axisAttr(n, -1))
			}),
	})
}

// LogSoftmax: ONNX's (opset 13) logarithm of Softmax along one axis
// (default −1): y = x − m − log Σ e^(x−m) over each line, m its maximum.

// LogSoftmaxForward writes y = log softmax(x) along axis; y takes x's
// shape, the sum taken in float64. It panics with ErrShape if axis is
// outside [−r, r−1].
func LogSoftmaxForward(y, x *Tensor, axis int) {
	checkLen(x)
	outer, n, inner := softmaxLines(x.Shape, axis)
	y.Resize(x.Shape...)
	for o := 0; o < outer; o++ {
		for j := 0; j < inner; j++ {
			base := o*n*inner + j
			m := float32(math.Inf(-1))
			for k := 0; k < n; k++ {
				m = max(m, x.Data[base+k*inner])
			}
			var s float64
			for k := 0; k < n; k++ {
				s += math.Exp(float64(x.Data[base+k*inner] - m))
			}
			l := float32(math.Log(s))
			for k := 0; k < n; k++ {
				y.Data[base+k*inner] = x.Data[base+k*inner] - m - l
			}
		}
	}
}

// LogSoftmaxBackward adds dy − e^y·Σ dy into dx (may be nil), the sum
// along each line, y being LogSoftmax's output. It panics with ErrShape if
// axis is outside [−r, r−1] or dx, dy and y do not have one shape.
func LogSoftmaxBackward(dx, dy, y *Tensor, axis int) {
	if dx == nil {
		return
	}
	unaryBack(dx, dy, y)
	outer, n, inner := softmaxLines(y.Shape, axis)
	for o := 0; o < outer; o++ {
		for j := 0; j < inner; j++ {
			base := o*n*inner + j
			var s float64
			for k := 0; k < n; k++ {
				s += float64(dy.Data[base+k*inner])
			}
			for k := 0; k < n; k++ {
				i := base + k*inner
				dx.Data[i] += float32(float64(dy.Data[i]) - math.Exp(float64(y.Data[i]))*s)
			}
		}
	}
}
