package trainer

import (
	"fmt"
	"math/rand/v2"

	"github.com/aebridge/aebridge/graph"
)

// Dropout zeroes each element with probability P in training and scales
// the others by 1/(1 − P), as PyTorch's nn.Dropout does; in inference it is
// the identity, and exported graphs leave it out.
type Dropout struct {
	P        float64
	training bool
	rng      *rand.Rand
	mask     graph.Tensor // the scale applied to each element in the last training Forward
	active   bool         // whether the last Forward applied it
}

// NewDropout returns a dropout layer; p must be in [0, 1).
func NewDropout(name string, p float64) (*Dropout, error) {
	if !(p >= 0 && p < 1) {
		return nil, fmt.Errorf("trainer: layer %s: dropout probability %v must be in [0, 1)", name, p)
	}
	return &Dropout{P: p}, nil
}

func (d *Dropout) setTraining(training bool, rng *rand.Rand) { d.training, d.rng = training, rng }

// OutShape is the input shape.
func (d *Dropout) OutShape(in []int) []int { return append([]int(nil), in...) }

// Forward applies the mask in training (graph's Dropout kernel) and
// copies x otherwise. Training needs the generator the model passes in;
// without one it panics.
func (d *Dropout) Forward(dst, x *Tensor) {
	dst.Resize(x.Shape...)
	if !d.training || d.P == 0 {
		copy(dst.Data, x.Data)
		d.active = false
		return
	}
	y, gx := view(dst), view(x)
	graph.DropoutTrainForward(&y, &d.mask, &gx, d.P, d.rng)
	d.active = true
}

// Backward applies the last Forward's mask to dy.
func (d *Dropout) Backward(dx, dy *Tensor) {
	if dx == nil {
		return
	}
	dx.Resize(dy.Shape...)
	if !d.active {
		copy(dx.Data, dy.Data)
		return
	}
	if d.mask.Len() != dy.Len() {
		panic(ErrShape)
	}
	gdx, gdy := graph.Tensor{Shape: d.mask.Shape, Data: dx.Data}, graph.Tensor{Shape: d.mask.Shape, Data: dy.Data}
	graph.DropoutApply(&gdx, &gdy, &d.mask)
}

// Params is empty.
func (d *Dropout) Params() []*Param { return nil }

// Spec describes the layer.
func (d *Dropout) Spec() LayerSpec { return LayerSpec{Type: "dropout", P: d.P} }

var (
	_ Layer = (*Dropout)(nil)
	_ modal = (*Dropout)(nil)
)
