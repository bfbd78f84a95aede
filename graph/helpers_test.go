package graph

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxpb"
)

// randTensor returns a tensor of the shape with normal values, none within
// 1e-2 of 0 (so that no finite difference straddles a kink at 0).
func randTensor(r *rand.Rand, shape ...int) *Tensor {
	t := NewTensor(shape...)
	for i := range t.Data {
		v := r.NormFloat64()
		for math.Abs(v) < 1e-2 {
			v = r.NormFloat64()
		}
		t.Data[i] = float32(v)
	}
	return t
}

// filled returns gradient buffers of the shapes, holding random values so
// that a test sees Backward add to them rather than overwrite them, and
// their starting values; added takes the starting values away again.
func filled(r *rand.Rand, shapes ...[]int) ([]*Tensor, [][]float32) {
	ts, start := make([]*Tensor, len(shapes)), make([][]float32, len(shapes))
	for k, s := range shapes {
		if s != nil {
			ts[k] = randTensor(r, s...)
			start[k] = slices.Clone(ts[k].Data)
		}
	}
	return ts, start
}

// added subtracts the starting values from the gradient buffers.
func added(ts []*Tensor, start [][]float32) {
	for k, t := range ts {
		if t != nil {
			for i := range t.Data {
				t.Data[i] -= start[k][i]
			}
		}
	}
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// checkGradients compares got[k], the gradient of Σ w·f(in) with respect to
// in[k] that Backward computed, with central differences of f in float64
// (step 1e-6), and reports the worst element: |got − want| ≤ 1e-4 +
// 1e-3·|want|. A nil got[k] is not checked.
func checkGradients(t *testing.T, f func(in [][]float64) []float64, in [][]float64, w []float64, got []*Tensor) {
	t.Helper()
	loss := func() float64 {
		var s float64
		for i, v := range f(in) {
			s += w[i] * v
		}
		return s
	}
	const h = 1e-6
	for k, g := range got {
		if g == nil {
			continue
		}
		for i := range in[k] {
			v := in[k][i]
			in[k][i] = v + h
			up := loss()
			in[k][i] = v - h
			down := loss()
			in[k][i] = v
			want := (up - down) / (2 * h)
			if d := math.Abs(float64(g.Data[i]) - want); !(d <= 1e-4+1e-3*math.Abs(want)) { // NaN fails
				t.Fatalf("input %d, element %d: gradient: got %v, want %v (finite differences)", k, i, g.Data[i], want)
			}
		}
	}
}

// checkClose fails the test unless got and want have the same length and
// |got − want| ≤ atol + rtol·|want| everywhere (NaNs equal, infinities
// equal to themselves only).
func checkClose(t *testing.T, what string, got, want []float32, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if g == w || math.IsNaN(g) && math.IsNaN(w) {
			continue
		}
		// Written so that a NaN (or an infinity against another value)
		// fails: every comparison with NaN is false.
		if !(math.Abs(g-w) <= atol+rtol*math.Abs(w)) {
			t.Fatalf("%s: element %d: got %v, want %v", what, i, g, w)
		}
	}
}

func floatAttr(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func intAttr(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func intListAttr(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

// checkShapesError runs Shapes on the one-node graph of op with the
// attributes over inputs of the shapes, and fails the test unless Shapes
// refuses it with the node's *NodeError, giving the reason.
func checkShapesError(t *testing.T, op string, attrs map[string]Attribute, reason string, shapes ...[]int) {
	t.Helper()
	err := shapesError(op, attrs, shapes...)
	want := fmt.Sprintf(`graph: node "n" (%s): tensor "y": %s`, op, reason)
	var ne *NodeError
	if err == nil || err.Error() != want || !errors.As(err, &ne) {
		t.Errorf("got error %v, want %q", err, want)
	}
}

// shapesError runs Shapes on the one-node graph of op with the attributes
// over inputs x0, x1, … of the shapes, and returns its error.
func shapesError(op string, attrs map[string]Attribute, shapes ...[]int) error {
	g := &Graph{Outputs: []string{"y"}}
	n := &Node{Name: "n", Op: op, Outputs: []string{"y"}, Attrs: attrs}
	in := map[string][]int{}
	for k, s := range shapes {
		name := fmt.Sprintf("x%d", k)
		g.Inputs = append(g.Inputs, Value{Name: name, Shape: s})
		n.Inputs = append(n.Inputs, name)
		in[name] = s
	}
	g.Nodes = []*Node{n}
	_, err := g.Shapes(in)
	return err
}
