package convert

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/graph"
)

type attrs = map[string]graph.Attribute

func gnode(op string, inputs []string, outputs []string, a attrs) *graph.Node {
	if a == nil {
		a = attrs{}
	}
	return &graph.Node{Name: "n", Op: op, Inputs: inputs, Outputs: outputs, Attrs: a}
}

func i64(v ...int64) *graph.Tensor { return graph.NewInt64Tensor(v, len(v)) }
func f32(v float32) *graph.Tensor  { return &graph.Tensor{Shape: []int{}, Data: []float32{v}} }
func f32s(v ...float32) *graph.Tensor {
	return &graph.Tensor{Shape: []int{len(v)}, Data: v}
}

// TestUpgrades rewrites single nodes of older opsets and checks the
// opset-18 nodes and the parameters they read, rule by rule of the
// upgrades table.
func TestUpgrades(t *testing.T) {
	x, y := []string{"x"}, []string{"y"}
	tests := []struct {
		name      string
		opset     int64
		node      *graph.Node
		params    map[string]*graph.Tensor // given before
		rank      int                      // of every tensor; 0: unknown
		used      []string                 // tensors read elsewhere
		want      []*graph.Node
		newParams map[string]*graph.Tensor
		err       string // the error's text; "unsupported: …" for an unsupportedError
	}{
		{name: "Unsqueeze 11 axes", opset: 11, node: gnode("Unsqueeze", x, y, attrs{"axes": graph.Ints(0, 2)}),
			want: []*graph.Node{gnode("Unsqueeze", []string{"x", "n/axes"}, y, nil)}, newParams: map[string]*graph.Tensor{"n/axes": i64(0, 2)}},
		{name: "Unsqueeze 13 unchanged", opset: 13, node: gnode("Unsqueeze", []string{"x", "a"}, y, nil),
			want: []*graph.Node{gnode("Unsqueeze", []string{"x", "a"}, y, nil)}},
		{name: "Squeeze 11 no axes", opset: 11, node: gnode("Squeeze", x, y, nil),
			want: []*graph.Node{gnode("Squeeze", x, y, nil)}},
		{name: "Squeeze 9 axes", opset: 9, node: gnode("Squeeze", x, y, attrs{"axes": graph.Ints(-1)}),
			want: []*graph.Node{gnode("Squeeze", []string{"x", "n/axes"}, y, nil)}, newParams: map[string]*graph.Tensor{"n/axes": i64(-1)}},
		{name: "ReduceSum 12 axes keepdims", opset: 12, node: gnode("ReduceSum", x, y, attrs{"axes": graph.Ints(1), "keepdims": graph.Int(0)}),
			want: []*graph.Node{gnode("ReduceSum", []string{"x", "n/axes"}, y, attrs{"keepdims": graph.Int(0)})}, newParams: map[string]*graph.Tensor{"n/axes": i64(1)}},
		{name: "ReduceSum 13 unchanged", opset: 13, node: gnode("ReduceSum", x, y, attrs{"keepdims": graph.Int(0)}),
			want: []*graph.Node{gnode("ReduceSum", x, y, attrs{"keepdims": graph.Int(0)})}},
		{name: "ReduceMean 17 axes", opset: 17, node: gnode("ReduceMean", x, y, attrs{"axes": graph.Ints(2, 3)}),
			want: []*graph.Node{gnode("ReduceMean", []string{"x", "n/axes"}, y, nil)}, newParams: map[string]*graph.Tensor{"n/axes": i64(2, 3)}},
		{name: "ReduceL2 18 unchanged", opset: 18, node: gnode("ReduceL2", []string{"x", "a"}, y, nil),
			want: []*graph.Node{gnode("ReduceL2", []string{"x", "a"}, y, nil)}},
		{name: "axes of the wrong type", opset: 11, node: gnode("Unsqueeze", x, y, attrs{"axes": graph.Int(0)}),
			err: "attribute axes: type int, want ints"},
		{name: "axes as attribute and input", opset: 11, node: gnode("Unsqueeze", []string{"x", "a"}, y, attrs{"axes": graph.Ints(0)}),
			err: `input 1: "a", and attribute axes gives it too`},
		{name: "Unsqueeze without input", opset: 11, node: gnode("Unsqueeze", nil, y, attrs{"axes": graph.Ints(0)}),
			err: "input 0: missing: Unsqueeze takes at least 1 inputs, the node has 0"},
		{name: "Split 11 split", opset: 11, node: gnode("Split", x, []string{"a", "b"}, attrs{"axis": graph.Int(1), "split": graph.Ints(2, 3)}),
			want:      []*graph.Node{gnode("Split", []string{"x", "n/split"}, []string{"a", "b"}, attrs{"axis": graph.Int(1)})},
			newParams: map[string]*graph.Tensor{"n/split": i64(2, 3)}},
		{name: "Split 11 equal parts", opset: 11, node: gnode("Split", x, []string{"a", "b", "c"}, attrs{"axis": graph.Int(1)}),
			want: []*graph.Node{gnode("Split", x, []string{"a", "b", "c"}, attrs{"axis": graph.Int(1), "num_outputs": graph.Int(3)})}},
		{name: "Split 13 sizes input", opset: 13, node: gnode("Split", []string{"x", "s"}, []string{"a", "b"}, nil),
			want: []*graph.Node{gnode("Split", []string{"x", "s"}, []string{"a", "b"}, nil)}},
		{name: "Split 18 unchanged", opset: 18, node: gnode("Split", x, []string{"a", "b"}, attrs{"num_outputs": graph.Int(2)}),
			want: []*graph.Node{gnode("Split", x, []string{"a", "b"}, attrs{"num_outputs": graph.Int(2)})}},
		{name: "Dropout 10 ratio", opset: 10, node: gnode("Dropout", x, y, attrs{"ratio": graph.Float(0.25)}),
			want: []*graph.Node{gnode("Dropout", []string{"x", "n/ratio"}, y, nil)}, newParams: map[string]*graph.Tensor{"n/ratio": f32(0.25)}},
		{name: "Dropout 6 is_test and ratio", opset: 6, node: gnode("Dropout", x, y, attrs{"is_test": graph.Int(1), "ratio": graph.Float(0.5)}),
			want: []*graph.Node{gnode("Dropout", []string{"x", "n/ratio"}, y, nil)}, newParams: map[string]*graph.Tensor{"n/ratio": f32(0.5)}},
		{name: "Dropout 5 consumed_inputs", opset: 5, node: gnode("Dropout", x, y, attrs{"consumed_inputs": graph.Ints(0), "is_test": graph.Int(1)}),
			want: []*graph.Node{gnode("Dropout", x, y, nil)}},
		{name: "Dropout 12 unchanged", opset: 12, node: gnode("Dropout", []string{"x", "r"}, y, nil),
			want: []*graph.Node{gnode("Dropout", []string{"x", "r"}, y, nil)}},
		{name: "Upsample 7 nearest", opset: 7, node: gnode("Upsample", x, y, attrs{"scales": graph.Floats(1, 1, 2, 2)}),
			want: []*graph.Node{gnode("Resize", []string{"x", "", "n/scales"}, y, attrs{"mode": graph.String("nearest"),
				"coordinate_transformation_mode": graph.String("asymmetric"), "nearest_mode": graph.String("floor")})},
			newParams: map[string]*graph.Tensor{"n/scales": f32s(1, 1, 2, 2)}},
		{name: "Upsample 9 linear", opset: 9, node: gnode("Upsample", []string{"x", "s"}, y, attrs{"mode": graph.String("linear")}),
			params: map[string]*graph.Tensor{"s": f32s(1, 1, 2, 2)},
			want: []*graph.Node{gnode("Resize", []string{"x", "", "s"}, y, attrs{"mode": graph.String("linear"),
				"coordinate_transformation_mode": graph.String("asymmetric")})}},
		{name: "Upsample 9 scales computed", opset: 9, node: gnode("Upsample", []string{"x", "s"}, y, nil),
			want: []*graph.Node{gnode("Resize", []string{"x", "", "s"}, y, attrs{"mode": graph.String("nearest"),
				"coordinate_transformation_mode": graph.String("asymmetric"), "nearest_mode": graph.String("floor")})}},
		{name: "Upsample 9 scales below 1", opset: 9, node: gnode("Upsample", []string{"x", "s"}, y, nil),
			params: map[string]*graph.Tensor{"s": f32s(1, 1, 0.5, 2)}, err: "scales: [1 1 0.5 2]: Upsample's are at least 1"},
		{name: "Upsample 8 without scales", opset: 8, node: gnode("Upsample", x, y, nil), err: "attribute scales: missing"},
		{name: "Upsample 9 without scales", opset: 9, node: gnode("Upsample", x, y, nil),
			err: "input 1: Upsample from opset 9 takes X and scales, the node has 1 inputs"},
		{name: "Upsample cubic", opset: 9, node: gnode("Upsample", []string{"x", "s"}, y, attrs{"mode": graph.String("cubic")}),
			err: `attribute mode: "cubic", want nearest or linear`},
		{name: "Resize 10 downsampling", opset: 10, node: gnode("Resize", []string{"x", "s"}, y, nil),
			params: map[string]*graph.Tensor{"s": f32s(1, 1, 0.5, 0.5)},
			want: []*graph.Node{gnode("Resize", []string{"x", "", "s"}, y, attrs{"mode": graph.String("nearest"),
				"coordinate_transformation_mode": graph.String("asymmetric"), "nearest_mode": graph.String("ceil")})}},
		{name: "Resize 10 up and down", opset: 10, node: gnode("Resize", []string{"x", "s"}, y, nil),
			params: map[string]*graph.Tensor{"s": f32s(1, 1, 0.5, 2)},
			err:    "unsupported: nearest with scales [1 1 0.5 2], above and below 1 at once: opset 18 rounds both alike"},
		{name: "Resize 10 scales computed", opset: 10, node: gnode("Resize", []string{"x", "s"}, y, nil),
			err: "unsupported: nearest with scales computed when the graph runs: opset 18 rounds by whether they are below 1"},
		{name: "Resize 10 linear, scales computed", opset: 10, node: gnode("Resize", []string{"x", "s"}, y, attrs{"mode": graph.String("linear")}),
			want: []*graph.Node{gnode("Resize", []string{"x", "", "s"}, y, attrs{"mode": graph.String("linear"),
				"coordinate_transformation_mode": graph.String("asymmetric")})}},
		{name: "Resize 11 empty roi and scales", opset: 11, node: gnode("Resize", []string{"x", "roi", "s", "sizes"}, y, attrs{"mode": graph.String("nearest")}),
			params: map[string]*graph.Tensor{"roi": f32s(), "s": f32s(), "sizes": i64(1, 1, 4, 4)},
			want:   []*graph.Node{gnode("Resize", []string{"x", "", "", "sizes"}, y, attrs{"mode": graph.String("nearest")})}},
		{name: "Resize 13 unchanged", opset: 13, node: gnode("Resize", []string{"x", "roi", "s"}, y, nil),
			params: map[string]*graph.Tensor{"roi": f32s(), "s": f32s(1, 1, 2, 2)},
			want:   []*graph.Node{gnode("Resize", []string{"x", "roi", "s"}, y, nil)}},
		{name: "Softmax 11 last axis", opset: 11, node: gnode("Softmax", x, y, nil), rank: 2,
			want: []*graph.Node{gnode("Softmax", x, y, attrs{"axis": graph.Int(-1)})}},
		{name: "LogSoftmax 9 axis -1, rank unknown", opset: 9, node: gnode("LogSoftmax", x, y, attrs{"axis": graph.Int(-1)}),
			want: []*graph.Node{gnode("LogSoftmax", x, y, attrs{"axis": graph.Int(-1)})}},
		{name: "Softmax 11 axis 1 of 4", opset: 11, node: gnode("Softmax", x, y, nil), rank: 4,
			want: []*graph.Node{
				{Name: "n/flatten", Op: "Flatten", Inputs: x, Outputs: []string{"n/flat"}, Attrs: attrs{"axis": graph.Int(1)}},
				gnode("Softmax", []string{"n/flat"}, []string{"n/2d"}, attrs{"axis": graph.Int(-1)}),
				{Name: "n/shape", Op: "Shape", Inputs: x, Outputs: []string{"n/shape"}, Attrs: attrs{}},
				{Name: "n/reshape", Op: "Reshape", Inputs: []string{"n/2d", "n/shape"}, Outputs: y, Attrs: attrs{}},
			}},
		{name: "Hardmax 12 rank unknown", opset: 12, node: gnode("Hardmax", x, y, attrs{"axis": graph.Int(2)}),
			want: []*graph.Node{
				{Name: "n/flatten", Op: "Flatten", Inputs: x, Outputs: []string{"n/flat"}, Attrs: attrs{"axis": graph.Int(2)}},
				gnode("Hardmax", []string{"n/flat"}, []string{"n/2d"}, attrs{"axis": graph.Int(-1)}),
				{Name: "n/shape", Op: "Shape", Inputs: x, Outputs: []string{"n/shape"}, Attrs: attrs{}},
				{Name: "n/reshape", Op: "Reshape", Inputs: []string{"n/2d", "n/shape"}, Outputs: y, Attrs: attrs{}},
			}},
		{name: "Softmax 11 axis out of range", opset: 11, node: gnode("Softmax", x, y, attrs{"axis": graph.Int(3)}), rank: 3,
			err: "attribute axis: 3, outside the input's 3 dimensions"},
		{name: "Softmax 13 unchanged", opset: 13, node: gnode("Softmax", x, y, attrs{"axis": graph.Int(1)}),
			want: []*graph.Node{gnode("Softmax", x, y, attrs{"axis": graph.Int(1)})}},
		{name: "Clip 6 min max", opset: 6, node: gnode("Clip", x, y, attrs{"min": graph.Float(0), "max": graph.Float(6)}),
			want:      []*graph.Node{gnode("Clip", []string{"x", "n/min", "n/max"}, y, nil)},
			newParams: map[string]*graph.Tensor{"n/min": f32(0), "n/max": f32(6)}},
		{name: "Clip 6 max only", opset: 6, node: gnode("Clip", x, y, attrs{"max": graph.Float(1)}),
			want: []*graph.Node{gnode("Clip", []string{"x", "", "n/max"}, y, nil)}, newParams: map[string]*graph.Tensor{"n/max": f32(1)}},
		{name: "Pad 2 reflect", opset: 2, node: gnode("Pad", x, y, attrs{"pads": graph.Ints(0, 1, 0, 1), "mode": graph.String("reflect")}),
			want: []*graph.Node{gnode("Pad", []string{"x", "n/pads"}, y, attrs{"mode": graph.String("reflect")})}, newParams: map[string]*graph.Tensor{"n/pads": i64(0, 1, 0, 1)}},
		{name: "Pad 1 paddings value", opset: 1, node: gnode("Pad", x, y, attrs{"paddings": graph.Ints(1, 1), "value": graph.Float(3)}),
			want:      []*graph.Node{gnode("Pad", []string{"x", "n/pads", "n/value"}, y, nil)},
			newParams: map[string]*graph.Tensor{"n/pads": i64(1, 1), "n/value": f32(3)}},
		{name: "Pad 2 without pads", opset: 2, node: gnode("Pad", x, y, nil), err: "attribute pads: missing"},
		{name: "Slice 9", opset: 9, node: gnode("Slice", x, y, attrs{"starts": graph.Ints(1), "ends": graph.Ints(3), "axes": graph.Ints(1)}),
			want:      []*graph.Node{gnode("Slice", []string{"x", "n/starts", "n/ends", "n/axes"}, y, nil)},
			newParams: map[string]*graph.Tensor{"n/starts": i64(1), "n/ends": i64(3), "n/axes": i64(1)}},
		{name: "Slice 9 without axes", opset: 9, node: gnode("Slice", x, y, attrs{"starts": graph.Ints(0, 1), "ends": graph.Ints(2, 3)}),
			want:      []*graph.Node{gnode("Slice", []string{"x", "n/starts", "n/ends"}, y, nil)},
			newParams: map[string]*graph.Tensor{"n/starts": i64(0, 1), "n/ends": i64(2, 3)}},
		{name: "Slice 9 without ends", opset: 9, node: gnode("Slice", x, y, attrs{"starts": graph.Ints(0)}), err: "attribute ends: missing"},
		{name: "BatchNormalization 7 spatial and outputs", opset: 7,
			node: gnode("BatchNormalization", []string{"x", "s", "b", "m", "v"}, []string{"y", "mean", "var", "", ""}, attrs{"spatial": graph.Int(1), "epsilon": graph.Float(1e-3)}),
			want: []*graph.Node{gnode("BatchNormalization", []string{"x", "s", "b", "m", "v"}, y, attrs{"epsilon": graph.Float(1e-3)})}},
		{name: "BatchNormalization 5 is_test", opset: 5,
			node: gnode("BatchNormalization", []string{"x", "s", "b", "m", "v"}, y, attrs{"is_test": graph.Int(1), "consumed_inputs": graph.Ints(0, 0, 0, 1, 1)}),
			want: []*graph.Node{gnode("BatchNormalization", []string{"x", "s", "b", "m", "v"}, y, nil)}},
		{name: "BatchNormalization 8 spatial 0", opset: 8,
			node: gnode("BatchNormalization", []string{"x", "s", "b", "m", "v"}, y, attrs{"spatial": graph.Int(0)}),
			err:  "unsupported: attribute spatial = 0 (statistics per activation) at opset 8; the graph has statistics per channel"},
		{name: "BatchNormalization 9 mean read", opset: 9, used: []string{"mean"},
			node: gnode("BatchNormalization", []string{"x", "s", "b", "m", "v"}, []string{"y", "mean"}, nil),
			err:  `unsupported: output 1 ("mean"), which opset 9 computes only in training, is read`},
		{name: "BatchNormalization 15 unchanged", opset: 15,
			node: gnode("BatchNormalization", []string{"x", "s", "b", "m", "v"}, []string{"y", "rm", "rv"}, attrs{"training_mode": graph.Int(1)}),
			want: []*graph.Node{gnode("BatchNormalization", []string{"x", "s", "b", "m", "v"}, []string{"y", "rm", "rv"}, attrs{"training_mode": graph.Int(1)})}},
		{name: "Add 6 broadcast", opset: 6, node: gnode("Add", []string{"a", "b"}, y, attrs{"broadcast": graph.Int(1)}),
			want: []*graph.Node{gnode("Add", []string{"a", "b"}, y, nil)}},
		{name: "Mul 6 broadcast along axis", opset: 6, node: gnode("Mul", []string{"a", "b"}, y, attrs{"broadcast": graph.Int(1), "axis": graph.Int(1)}),
			err: "unsupported: legacy broadcasting along axis 1 (opset 6)"},
		{name: "Gemm 6 broadcast", opset: 6, node: gnode("Gemm", []string{"a", "b", "c"}, y, attrs{"broadcast": graph.Int(1), "transB": graph.Int(1)}),
			want: []*graph.Node{gnode("Gemm", []string{"a", "b", "c"}, y, attrs{"transB": graph.Int(1)})}},
		{name: "Reshape 4 shape", opset: 4, node: gnode("Reshape", x, y, attrs{"shape": graph.Ints(0, -1), "consumed_inputs": graph.Ints(0)}),
			want: []*graph.Node{gnode("Reshape", []string{"x", "n/shape"}, y, nil)}, newParams: map[string]*graph.Tensor{"n/shape": i64(0, -1)}},
		{name: "Reshape 5 unchanged", opset: 5, node: gnode("Reshape", []string{"x", "s"}, y, nil),
			want: []*graph.Node{gnode("Reshape", []string{"x", "s"}, y, nil)}},
		{name: "TopK 9 k", opset: 9, node: gnode("TopK", x, []string{"v", "i"}, attrs{"k": graph.Int(3), "axis": graph.Int(-1)}),
			want:      []*graph.Node{gnode("TopK", []string{"x", "n/k"}, []string{"v", "i"}, attrs{"axis": graph.Int(-1)})},
			newParams: map[string]*graph.Tensor{"n/k": i64(3)}},
		{name: "TopK 9 without k", opset: 9, node: gnode("TopK", x, []string{"v", "i"}, nil), err: "attribute k: missing"},
		{name: "Tile 5", opset: 5, node: gnode("Tile", []string{"x", "t", "a"}, y, nil),
			err: "unsupported: Tile of opset 5 (tiles along one axis given as input 2)"},
		{name: "Upsample 1 height and width", opset: 1, node: gnode("Upsample", x, y, attrs{"height_scale": graph.Float(2), "width_scale": graph.Float(3), "mode": graph.String("bilinear")}),
			want: []*graph.Node{gnode("Resize", []string{"x", "", "n/scales"}, y, attrs{"mode": graph.String("linear"),
				"coordinate_transformation_mode": graph.String("asymmetric")})},
			newParams: map[string]*graph.Tensor{"n/scales": f32s(1, 1, 2, 3)}},
		{name: "Concat 3 default axis", opset: 3, node: gnode("Concat", []string{"a", "b"}, y, nil),
			want: []*graph.Node{gnode("Concat", []string{"a", "b"}, y, attrs{"axis": graph.Int(1)})}},
		{name: "Cast 5 type name", opset: 5, node: gnode("Cast", x, y, attrs{"to": graph.String("INT64")}),
			want: []*graph.Node{gnode("Cast", x, y, attrs{"to": graph.Int(7)})}},
		{name: "Cast 5 bad type name", opset: 5, node: gnode("Cast", x, y, attrs{"to": graph.String("REAL")}),
			err: `attribute to: "REAL" is no element type`},
		{name: "Relu 5 consumed_inputs", opset: 5, node: gnode("Relu", x, y, attrs{"consumed_inputs": graph.Ints(0)}),
			want: []*graph.Node{gnode("Relu", x, y, nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := map[string]*graph.Tensor{}
			for k, v := range tt.params {
				params[k] = v
			}
			names := map[string]bool{}
			u := &upgrader{opset: tt.opset, params: params,
				tensor: func(base string) string { names[base] = true; return base },
				node:   func(base string) string { return base },
				rank:   func(string) (int, bool) { return tt.rank, tt.rank > 0 },
				used: func(t string) bool {
					for _, s := range tt.used {
						if s == t {
							return true
						}
					}
					return false
				}}
			before := fmt.Sprint(tt.node)
			got, err := u.rewrite(tt.node)
			if after := fmt.Sprint(tt.node); after != before {
				t.Errorf("the node given changed: got %s, want %s", after, before)
			}
			if tt.err != "" {
				var ue unsupportedError
				msg := fmt.Sprint(err)
				if errors.As(err, &ue) {
					msg = "unsupported: " + msg
				}
				if msg != tt.err {
					t.Fatalf("error: got %q, want %q", msg, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("nodes:\ngot  %s\nwant %s", show(got), show(tt.want))
			}
			for k := range tt.params {
				delete(params, k)
			}
			want := tt.newParams
			if want == nil {
				want = map[string]*graph.Tensor{}
			}
			if !reflect.DeepEqual(params, want) {
				t.Errorf("new parameters: got %v, want %v", params, want)
			}
		})
	}
}

func show(nodes []*graph.Node) string {
	var s []string
	for _, n := range nodes {
		s = append(s, fmt.Sprintf("%+v", *n))
	}
	return strings.Join(s, "\n     ")
}

// TestUpgradesTableOrder checks the table's promise: each op's upgrades
// in increasing order of opset.
func TestUpgradesTableOrder(t *testing.T) {
	for op, ups := range upgrades {
		for k := 1; k < len(ups); k++ {
			if ups[k].before <= ups[k-1].before {
				t.Errorf("%s: upgrade %d before opset %d follows one before %d", op, k, ups[k].before, ups[k-1].before)
			}
		}
	}
}
