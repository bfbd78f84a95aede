package trainer

// Condition appends the model's conditioning input c, (N, K), to the
// features of its input: y = [x, c]. It is how a conditional model (the
// CVAE) sees its class: before the first dense layer of the encoder and of
// the decoder. The model sets C before each pass; no gradient flows to c.
type Condition struct {
	K int     // conditioning features
	C *Tensor // the current conditioning input, set by the model
	d int     // features of the last input
}

// OutShape is (features + K).
func (c *Condition) OutShape(in []int) []int { return []int{product(in) + c.K} }

// Forward writes [x, c] row by row. It panics with ErrShape if no
// condition is set or its shape does not fit.
func (c *Condition) Forward(dst, x *Tensor) {
	n := x.Rows()
	if c.C == nil || c.C.Rows() != n || c.C.Cols() != c.K {
		panic(ErrShape)
	}
	d := x.Cols()
	dst.Resize(n, d+c.K)
	for r := 0; r < n; r++ {
		copy(dst.Data[r*(d+c.K):], x.Data[r*d:(r+1)*d])
		copy(dst.Data[r*(d+c.K)+d:(r+1)*(d+c.K)], c.C.Data[r*c.K:(r+1)*c.K])
	}
	c.d = d
}

// Backward passes the gradient of the x part through.
func (c *Condition) Backward(dx, dy *Tensor) {
	if dx == nil {
		return
	}
	n := dy.Rows()
	if dy.Cols() != c.d+c.K {
		panic(ErrShape)
	}
	dx.Resize(n, c.d)
	for r := 0; r < n; r++ {
		copy(dx.Data[r*c.d:(r+1)*c.d], dy.Data[r*(c.d+c.K):])
	}
}

// Params is empty.
func (c *Condition) Params() []*Param { return nil }

// Spec describes the layer.
func (c *Condition) Spec() LayerSpec { return LayerSpec{Type: "condition", In: c.K} }

var _ Layer = (*Condition)(nil)
