package graph

import (
	"fmt"
	"slices"
)

// TensorInfo is what Describe knows of a tensor before the graph runs.
type TensorInfo struct {
	// Shape holds the dimensions: BatchDim where a dimension is the batch
	// size, DynamicDim where it depends on the batch size otherwise (twice
	// it, say, after a Flatten over the batch).
	Shape []int
	Type  DType
	// Value is the tensor's value where it is known before the graph runs
	// and is the same at every batch size (a parameter, a constant, an
	// int64 tensor folded from them), nil otherwise.
	Value *Tensor
}

// The dimensions of TensorInfo.Shape that are not fixed.
const (
	BatchDim   = -1 // the batch size
	DynamicDim = -2 // a function of the batch size other than itself
)

// describeBatches are the batch sizes Describe infers at: two, so that the
// dimensions that follow the batch size differ, and neither 1, which
// broadcasts.
var describeBatches = [2]int{2, 3}

// Describe infers the shape, element type and (where it is known before
// the graph runs) value of every tensor of g, with the batch dimension left
// symbolic: it runs shape inference at two batch sizes, each −1 of g.Inputs
// taking the batch size, and marks the dimensions that differ (BatchDim,
// DynamicDim). It returns Shapes' errors.
func (g *Graph) Describe() (map[string]TensorInfo, error) {
	var at [2]map[string]arg
	for k, b := range describeBatches {
		inputs := make(map[string][]int, len(g.Inputs))
		for _, v := range g.Inputs {
			s := slices.Clone(v.Shape)
			for i := range s {
				if s[i] == -1 {
					s[i] = b
				}
			}
			inputs[v.Name] = s
		}
		args, _, err := g.infer(inputs)
		if err != nil {
			return nil, err
		}
		at[k] = args
	}
	infos := make(map[string]TensorInfo, len(at[0]))
	for name, a := range at[0] {
		b := at[1][name]
		if len(a.shape) != len(b.shape) {
			return nil, &NodeError{Tensor: name, Reason: fmt.Sprintf("rank depends on the batch size (shapes %v and %v at batch sizes %d and %d)",
				a.shape, b.shape, describeBatches[0], describeBatches[1])}
		}
		info := TensorInfo{Shape: make([]int, len(a.shape)), Type: a.typ}
		for i, d := range a.shape {
			switch e := b.shape[i]; {
			case d == e:
				info.Shape[i] = d
			case d == describeBatches[0] && e == describeBatches[1]:
				info.Shape[i] = BatchDim
			default:
				info.Shape[i] = DynamicDim
			}
		}
		if a.value != nil && sameTensor(a.value, b.value) {
			info.Value = a.value
		}
		infos[name] = info
	}
	return infos, nil
}

// sameTensor reports whether a and b hold the same type, shape and values.
func sameTensor(a, b *Tensor) bool {
	if a == b {
		return true
	}
	return b != nil && a.Type == b.Type && slices.Equal(a.Shape, b.Shape) &&
		slices.Equal(a.Int64, b.Int64) && slices.Equal(a.Data, b.Data)
}
