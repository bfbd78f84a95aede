//go:build cgo

package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/runtime"
)

// layoutONNX runs the one-node model of op at the opset in ONNX Runtime:
// x fed as input x0 (float32), the others written as initializers x1, x2,
// … (nil: left out), with outputs float32 outputs y0, y1, …; it returns
// each output's values and shape.
func layoutONNX(t *testing.T, opset int, op string, attrs []*onnxpb.AttributeProto, x *Tensor, inits []*Tensor, outputs int) ([][]float32, [][]int) {
	t.Helper()
	node := &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String("n"), Input: []string{"x0"}, Attribute: attrs}
	g := &onnxpb.GraphProto{Name: proto.String(op), Node: []*onnxpb.NodeProto{node}, Input: []*onnxpb.ValueInfoProto{valueInfo("x0", x.Shape)}}
	for k, in := range inits {
		name := ""
		if in != nil {
			name = fmt.Sprintf("x%d", k+1)
			g.Initializer = append(g.Initializer, initializer(name, in))
		}
		node.Input = append(node.Input, name)
	}
	for len(node.Input) > 0 && node.Input[len(node.Input)-1] == "" {
		node.Input = node.Input[:len(node.Input)-1]
	}
	for k := 0; k < outputs; k++ {
		name := fmt.Sprintf("y%d", k)
		node.Output = append(node.Output, name)
		vi := valueInfo(name, nil)
		vi.Type.GetTensorType().Shape = nil
		g.Output = append(g.Output, vi)
	}
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(9), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(int64(opset))}}}
	shape := make([]int64, len(x.Shape))
	for i, d := range x.Shape {
		shape[i] = int64(d)
	}
	out := runModel(t, m, []runtime.Tensor{{Shape: shape, Data: x.Data}})
	values, shapes := make([][]float32, len(out)), make([][]int, len(out))
	for k, o := range out {
		values[k] = o.Data
		shapes[k] = []int{}
		for _, d := range o.Shape {
			shapes[k] = append(shapes[k], int(d))
		}
	}
	return values, shapes
}

// checkOutputs compares the graph's outputs with ONNX Runtime's, exactly.
func checkOutputs(t *testing.T, got []*Tensor, want [][]float32, shapes [][]int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d outputs, ONNX Runtime %d", len(got), len(want))
	}
	for k, y := range got {
		if !slices.Equal(y.Shape, shapes[k]) {
			t.Fatalf("output %d: shape %v, ONNX Runtime %v", k, y.Shape, shapes[k])
		}
		checkClose(t, fmt.Sprintf("output %d against ONNX Runtime", k), y.Data, want[k], 0, 0)
	}
}

// TestSplitAgainstONNXRuntime runs Split on splitCases: the split input
// and equal parts at opset 17, num_outputs at 18.
func TestSplitAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(157, 158))
	for _, c := range splitCases {
		if slices.Contains(c.want, 0) {
			continue // onnxruntime_go returns no empty outputs
		}
		t.Run(fmt.Sprintf("%v_%d_%v_%d", c.x, c.axis, c.split, c.num), func(t *testing.T) {
			x := randTensor(r, c.x...)
			attrs := []*onnxpb.AttributeProto{intAttr("axis", int64(c.axis))}
			opset, inits := 17, []*Tensor{}
			if c.num > 0 {
				opset = 18
				attrs = append(attrs, intAttr("num_outputs", int64(c.num)))
			}
			if c.split != nil {
				inits = append(inits, i64s(c.split...))
			}
			want, shapes := layoutONNX(t, opset, "Split", attrs, x, inits, len(c.want))
			ys := make([]*Tensor, len(c.want))
			for k := range ys {
				ys[k] = new(Tensor)
			}
			SplitForward(ys, x, c.want, c.axis)
			checkOutputs(t, ys, want, shapes)
		})
	}
}

// TestRangeAgainstONNXRuntime runs float32 Range (int64 through a Cast)
// on rangeCases and on an accumulating step, ONNX Runtime's own rounding.
func TestRangeAgainstONNXRuntime(t *testing.T) {
	scalar := func(v float64) *Tensor { return &Tensor{Shape: []int{}, Data: []float32{float32(v)}} }
	for _, c := range append(rangeCases, struct {
		start, limit, delta float64
		n                   int
	}{0.3, 7.1, 0.1, 68}, struct {
		start, limit, delta float64
		n                   int
	}{1, -2, -0.3, 10}) {
		if c.n == 0 {
			continue // onnxruntime_go returns no empty outputs
		}
		t.Run(fmt.Sprintf("%v_%v_%v", c.start, c.limit, c.delta), func(t *testing.T) {
			ins := []typedInput{init_(scalar(c.start)), init_(scalar(c.limit)), init_(scalar(c.delta))}
			checkAgainstONNX(t, "Range", nil, nil, ins, []DType{Float32}, 0)
			if c.delta == float64(int64(c.delta)) && c.start == float64(int64(c.start)) {
				i := func(v float64) typedInput { return init_(NewInt64Tensor([]int64{int64(v)})) }
				checkAgainstONNX(t, "Range", nil, nil, []typedInput{i(c.start), i(c.limit), i(c.delta)}, []DType{Int64}, 0)
			}
		})
	}
}

// TestDepthToSpaceAgainstONNXRuntime runs both modes and SpaceToDepth on
// depthSpaceCases.
func TestDepthToSpaceAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(159, 160))
	for _, c := range depthSpaceCases {
		for _, mode := range []string{"DCR", "CRD"} {
			t.Run(fmt.Sprintf("%v_%d_%s", c.x, c.b, mode), func(t *testing.T) {
				x := randTensor(r, c.x...)
				var y Tensor
				DepthToSpaceForward(&y, x, c.b, mode == "CRD")
				want, shapes := layoutONNX(t, 17, "DepthToSpace", []*onnxpb.AttributeProto{intAttr("blocksize", int64(c.b)), stringAttr("mode", mode)}, x, nil, 1)
				checkOutputs(t, []*Tensor{&y}, want, shapes)
				var z Tensor
				SpaceToDepthForward(&z, &y, c.b)
				want, shapes = layoutONNX(t, 17, "SpaceToDepth", []*onnxpb.AttributeProto{intAttr("blocksize", int64(c.b))}, &y, nil, 1)
				checkOutputs(t, []*Tensor{&z}, want, shapes)
			})
		}
	}
}

// TestResizeTF2ONNXAgainstONNXRuntime runs the Resize forms tf2onnx writes
// that resizeCases leave out — linear (and cubic) with
// tf_half_pixel_for_nn, which ONNX Runtime runs plane by plane over the
// last two axes, leaving the others as they are, whatever the rank;
// nearest tf_half_pixel_for_nn to sizes; round_prefer_floor on exact
// halves — against ONNX Runtime.
func TestResizeTF2ONNXAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(161, 162))
	for _, c := range []resizeCase{
		{"linear tf_half_pixel_for_nn 2d", []int{3, 5}, resizeAttrs("linear", "tf_half_pixel_for_nn", ""), []float32{2, 1.5}, nil},
		{"linear tf_half_pixel_for_nn 3d", []int{2, 3, 5}, resizeAttrs("linear", "tf_half_pixel_for_nn", ""), []float32{1, 2, 1.5}, nil},
		{"linear tf_half_pixel_for_nn 4d", []int{2, 2, 3, 5}, resizeAttrs("linear", "tf_half_pixel_for_nn", ""), []float32{1, 1, 2, 1.5}, nil},
		{"linear tf_half_pixel_for_nn 4d sizes", []int{1, 2, 4, 6}, resizeAttrs("linear", "tf_half_pixel_for_nn", ""), nil, []int64{1, 2, 3, 9}},
		{"linear tf_half_pixel_for_nn 5d", []int{1, 2, 2, 3, 5}, resizeAttrs("linear", "tf_half_pixel_for_nn", ""), []float32{1, 1, 1, 2, 1.5}, nil},
		{"cubic tf_half_pixel_for_nn 4d", []int{1, 2, 4, 5}, resizeAttrs("cubic", "tf_half_pixel_for_nn", ""), []float32{1, 1, 2, 1.5}, nil},
		{"nearest tf_half_pixel_for_nn sizes", []int{1, 1, 3, 5}, resizeAttrs("nearest", "tf_half_pixel_for_nn", "round_prefer_floor"), nil, []int64{1, 1, 6, 7}},
		{"nearest half_pixel round_prefer_floor halves", []int{1, 1, 2, 4}, resizeAttrs("nearest", "half_pixel", "round_prefer_floor"), []float32{1, 1, 2, 2}, nil},
		{"nearest asymmetric floor NHWC-scaled", []int{2, 3, 3, 1}, resizeAttrs("nearest", "asymmetric", "floor"), []float32{1, 2, 2, 1}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := randTensor(r, c.x...)
			var y Tensor
			ResizeForward(&y, x, c.resize(t, x))
			in := c.inputs(x)
			ins := []nodeInput{{Tensor: x}, {}, {Tensor: in[2], Const: true}, {Tensor: in[3]}}
			if in[3] == nil {
				ins = ins[:3]
			}
			checkClose(t, "ONNX Runtime", y.Data, runNodeONNX(t, "Resize", c.attrs, ins, []DType{Float32}, [][]int{y.Shape})[0], 1e-6, 1e-5)
		})
	}
}
