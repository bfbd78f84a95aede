package trainer

import "github.com/aebridge/aebridge/graph"

// Reshape changes the per-sample shape without moving data: "flatten" makes
// (C, H, W) into (C·H·W), as nn.Flatten does between conv and dense parts;
// "unflatten" makes (n) into Shape, as nn.Unflatten does.
type Reshape struct {
	Kind   string // "flatten" or "unflatten"
	Shape  []int  // the per-sample output shape of an unflatten layer
	in     []int
	shapes shapeCache
	out64  []int64 // the batch output shape of the last Forward, for graph
}

// OutShape is (product of in) for flatten, Shape for unflatten.
func (r *Reshape) OutShape(in []int) []int {
	if r.Kind == "flatten" {
		return []int{product(in)}
	}
	return append([]int(nil), r.Shape...)
}

// Forward copies x into dst with the new shape (graph's Reshape kernel).
// It panics with ErrShape if the element counts differ.
func (r *Reshape) Forward(dst, x *Tensor) {
	out := r.shapes.get(x.Shape, r.OutShape)
	if product(out) != x.Len() {
		panic(ErrShape)
	}
	r.out64 = r.out64[:0]
	for _, d := range out {
		r.out64 = append(r.out64, int64(d))
	}
	dst.Resize(out...)
	y, gx := view(dst), view(x)
	graph.ReshapeForward(&y, &gx, r.out64, true)
	r.in = append(r.in[:0], x.Shape...)
}

// Backward copies dy into dx with the input's shape.
func (r *Reshape) Backward(dx, dy *Tensor) {
	if dx == nil {
		return
	}
	if dy.Len() != product(r.in) {
		panic(ErrShape)
	}
	dx.Resize(r.in...)
	copy(dx.Data, dy.Data)
}

// Params is empty.
func (r *Reshape) Params() []*Param { return nil }

// Spec describes the layer.
func (r *Reshape) Spec() LayerSpec { return LayerSpec{Type: r.Kind, Shape: r.Shape} }

var _ Layer = (*Reshape)(nil)
