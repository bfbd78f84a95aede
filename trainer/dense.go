package trainer

import (
	"strings"

	"gonum.org/v1/gonum/blas"

	"github.com/aebridge/aebridge/graph"
)

// Dense is a fully connected layer, y = x·Wᵀ + b, with W of shape (Out, In)
// as PyTorch's nn.Linear stores it.
//
// A tied Dense (Tied true) is the decoder mirror of an encoder layer: it
// shares that layer's W, of shape (In_enc, Out_enc) = (Out, In) of the
// mirror, and computes y = x·W + b with its own bias, so W's gradient
// collects the contributions of both layers.
type Dense struct {
	In, Out int
	W, B    *Param // W: (Out, In), or (In, Out) when Tied; B: (Out)
	Tied    bool
	TiedTo  string // the name of the layer W belongs to, when Tied

	x *Tensor // the input of the last Forward, for Backward
}

// NewDense returns a Dense layer from in to out features with zero weights;
// name prefixes its parameters' names ("encoder.0" gives "encoder.0.weight").
func NewDense(name string, in, out int) *Dense {
	return &Dense{In: in, Out: out, W: newParam(name+".weight", true, out, in), B: newParam(name+".bias", false, out)}
}

// NewTiedDense returns a decoder layer using the transpose of enc's weight,
// mapping enc.Out features back to enc.In.
func NewTiedDense(name string, enc *Dense) *Dense {
	return &Dense{In: enc.Out, Out: enc.In, W: enc.W, B: newParam(name+".bias", false, enc.In), Tied: true, TiedTo: strings.TrimSuffix(enc.W.Name, ".weight")}
}

// Forward computes dst = x·Wᵀ + b (x·W + b when tied); x is (batch, In), dst
// becomes (batch, Out). It panics with ErrShape if x has not In columns.
func (d *Dense) Forward(dst, x *Tensor) {
	if x.Cols() != d.In {
		panic(ErrShape)
	}
	n := x.Rows()
	dst.Resize(n, d.Out)
	for i := 0; i < n; i++ {
		copy(dst.Data[i*d.Out:(i+1)*d.Out], d.B.Value.Data)
	}
	w := d.W.Value.Matrix()
	tb := blas.Trans
	if d.Tied {
		tb = blas.NoTrans
	}
	graph.Gemm(blas.NoTrans, tb, 1, x.Matrix(), w, 1, dst.Matrix())
	d.x = x
}

// Backward adds dW += dyᵀ·x (xᵀ·dy when tied) and db += Σ_batch dy, and
// writes dx = dy·W (dy·Wᵀ when tied) if dx is not nil. dy is (batch, Out).
// It panics with ErrShape if dy does not match the last Forward.
func (d *Dense) Backward(dx, dy *Tensor) {
	n := d.x.Rows()
	if dy.Rows() != n || dy.Cols() != d.Out {
		panic(ErrShape)
	}
	if d.Tied {
		graph.Gemm(blas.Trans, blas.NoTrans, 1, d.x.Matrix(), dy.Matrix(), 1, d.W.Grad.Matrix())
	} else {
		graph.Gemm(blas.Trans, blas.NoTrans, 1, dy.Matrix(), d.x.Matrix(), 1, d.W.Grad.Matrix())
	}
	// db += each row of dy, in row order (axpy with 1: the same sums).
	for i := 0; i < n; i++ {
		graph.Axpy(d.B.Grad.Data, dy.Data[i*d.Out:(i+1)*d.Out], 1)
	}
	if dx == nil {
		return
	}
	dx.Resize(d.x.Shape...)
	ta := blas.NoTrans
	if d.Tied {
		ta = blas.Trans
	}
	graph.Gemm(blas.NoTrans, ta, 1, dy.Matrix(), d.W.Value.Matrix(), 0, dx.Matrix())
}

// OutShape is (Out).
func (d *Dense) OutShape(in []int) []int { return []int{d.Out} }

// Params are W and b; a tied layer owns only b.
func (d *Dense) Params() []*Param {
	if d.Tied {
		return []*Param{d.B}
	}
	return []*Param{d.W, d.B}
}

// Spec describes the layer.
func (d *Dense) Spec() LayerSpec {
	return LayerSpec{Type: "dense", In: d.In, Out: d.Out, TiedTo: d.TiedTo}
}

var _ Layer = (*Dense)(nil)
