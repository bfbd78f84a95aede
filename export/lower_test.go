package export

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

// nodeString formats a node as Op(inputs)->(outputs){attributes by name}.
func nodeString(n *graph.Node) string {
	var a []string
	for _, name := range sortedNames(n.Attrs) {
		v := attrValue(n.Attrs[name])
		if t := n.Attrs[name].Tensor; t != nil {
			v = fmt.Sprintf("%v%v%v%v", t.Type, t.Shape, t.Data, t.Int64)
		}
		a = append(a, fmt.Sprintf("%s=%v", name, v))
	}
	return fmt.Sprintf("%s(%s)->(%s){%s}", n.Op, strings.Join(n.Inputs, ","), strings.Join(n.Outputs, ","), strings.Join(a, " "))
}

// Attrs is the attribute map of name, value pairs. (It and Int64Shape are
// exported for the package's external tests.)
func Attrs(kv ...any) map[string]graph.Attribute {
	m := map[string]graph.Attribute{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1].(graph.Attribute)
	}
	return m
}

// Int64Shape is the shape as int64s.
func Int64Shape(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

func shaped(shape ...int) graph.TensorInfo { return graph.TensorInfo{Shape: shape} }

func ints(v ...int64) graph.TensorInfo {
	return graph.TensorInfo{Shape: []int{len(v)}, Type: graph.Int64, Value: graph.NewInt64Tensor(v, len(v))}
}

func floats(v ...float32) graph.TensorInfo {
	return graph.TensorInfo{Shape: []int{len(v)}, Value: &graph.Tensor{Shape: []int{len(v)}, Data: v}}
}

// TestLower rewrites nodes in their opset-18 form at older opsets: the
// nodes that replace each (with the initializers added, after "+"), or the
// error.
func TestLower(t *testing.T) {
	a := Attrs
	n := func(op string, in []string, out []string, attrs map[string]graph.Attribute) *graph.Node {
		return &graph.Node{Name: "n", Op: op, Inputs: in, Outputs: out, Attrs: attrs}
	}
	x, y := []string{"x"}, []string{"y"}
	rank2 := map[string]graph.TensorInfo{"x": shaped(-1, 7)}
	tests := []struct {
		name  string
		opset int
		node  *graph.Node
		infos map[string]graph.TensorInfo
		want  string // the nodes and initializers, or "error: " and the error
	}{
		{"Unsqueeze, axes an attribute", 12, n("Unsqueeze", []string{"x", "axes"}, y, nil), map[string]graph.TensorInfo{"axes": ints(0, -1)},
			"Unsqueeze(x)->(y){axes=[0 -1]}"},
		{"Unsqueeze at 13", 13, n("Unsqueeze", []string{"x", "axes"}, y, nil), map[string]graph.TensorInfo{"axes": ints(0)},
			"Unsqueeze(x,axes)->(y){}"},
		{"Unsqueeze, computed axes", 11, n("Unsqueeze", []string{"x", "axes"}, y, nil), map[string]graph.TensorInfo{"axes": {Shape: []int{1}, Type: graph.Int64}},
			"error: " + `export: node "n" (Unsqueeze): tensor "axes": opset 11: input 1 must be a constant (opset 11 takes it as an attribute); it is computed as the graph runs`},
		{"Squeeze, no axes", 11, n("Squeeze", x, y, nil), nil, "Squeeze(x)->(y){}"},
		{"Squeeze, float axes", 11, n("Squeeze", []string{"x", "axes"}, y, nil), map[string]graph.TensorInfo{"axes": floats(1)},
			"error: " + `export: node "n" (Squeeze): tensor "axes": opset 11: input 1 is float32, want int64`},
		{"ReduceSum", 12, n("ReduceSum", []string{"x", "axes"}, y, a("keepdims", graph.Int(0))), map[string]graph.TensorInfo{"axes": ints(1)},
			"ReduceSum(x)->(y){axes=[1] keepdims=0}"},
		{"ReduceSum at 13", 13, n("ReduceSum", []string{"x", "axes"}, y, nil), map[string]graph.TensorInfo{"axes": ints(1)},
			"ReduceSum(x,axes)->(y){}"},
		{"ReduceMean", 17, n("ReduceMean", []string{"x", "axes"}, y, a("noop_with_empty_axes", graph.Int(1))), map[string]graph.TensorInfo{"axes": ints(-1)},
			"ReduceMean(x)->(y){axes=[-1]}"},
		{"ReduceMax, no axes", 17, n("ReduceMax", x, y, a("keepdims", graph.Int(1))), nil, "ReduceMax(x)->(y){keepdims=1}"},
		{"ReduceMax, empty axes, no-op", 17, n("ReduceMax", []string{"x", "axes"}, y, a("noop_with_empty_axes", graph.Int(1))),
			map[string]graph.TensorInfo{"axes": ints()}, "Identity(x)->(y){}"},
		{"ReduceL2 at 18", 18, n("ReduceL2", []string{"x", "axes"}, y, nil), nil, "ReduceL2(x,axes)->(y){}"},
		{"Split, num_outputs, uneven", 17, n("Split", x, []string{"a", "b", "c"}, a("axis", graph.Int(1), "num_outputs", graph.Int(3))), rank2,
			"Split(x,n/split)->(a,b,c){axis=1} + n/split=[3 3 1]"},
		{"Split, num_outputs, uneven, at 12", 12, n("Split", x, []string{"a", "b", "c"}, a("axis", graph.Int(-1), "num_outputs", graph.Int(3))), rank2,
			"Split(x)->(a,b,c){axis=-1 split=[3 3 1]} + n/split=[3 3 1]"},
		{"Split, num_outputs, even", 17, n("Split", x, []string{"a", "b"}, a("num_outputs", graph.Int(2))), map[string]graph.TensorInfo{"x": shaped(6, -1)},
			"Split(x)->(a,b){}"},
		{"Split, num_outputs over the batch", 17, n("Split", x, []string{"a", "b"}, a("num_outputs", graph.Int(2))), rank2,
			"error: " + `export: node "n" (Split): tensor "x": opset 17: num_outputs = 2: opset 17 cannot split a dimension that depends on the batch size into parts of which the last may be shorter`},
		{"Split, split input", 12, n("Split", []string{"x", "s"}, []string{"a", "b"}, a("axis", graph.Int(1))), map[string]graph.TensorInfo{"x": shaped(-1, 6), "s": ints(2, 4)},
			"Split(x)->(a,b){axis=1 split=[2 4]}"},
		{"Split at 13", 13, n("Split", []string{"x", "s"}, []string{"a", "b"}, nil), map[string]graph.TensorInfo{"x": shaped(-1, 6), "s": ints(2, 4)},
			"Split(x,s)->(a,b){}"},
		{"Dropout", 11, n("Dropout", []string{"x", "ratio"}, []string{"y", "mask"}, a("seed", graph.Int(5))), map[string]graph.TensorInfo{"ratio": {Value: &graph.Tensor{Data: []float32{0.25}}}},
			"Dropout(x)->(y,mask){ratio=0.25}"},
		{"Dropout, computed ratio", 11, n("Dropout", []string{"x", "r"}, y, nil), map[string]graph.TensorInfo{"r": {}},
			"error: " + `export: node "n" (Dropout): tensor "r": opset 11: input 1 must be a constant (opset 11 takes it as an attribute); it is computed as the graph runs`},
		{"Dropout, training", 11, n("Dropout", []string{"x", "", "t"}, y, nil), map[string]graph.TensorInfo{"t": ints(1)},
			"error: " + `export: node "n" (Dropout): tensor "t": opset 11: training_mode: opset 11 has no training mode; only a constant false can be written`},
		{"Dropout at 12", 12, n("Dropout", []string{"x", "ratio"}, y, a("seed", graph.Int(5))), nil, "Dropout(x,ratio)->(y){seed=5}"},
		{"BatchNormalization", 13, n("BatchNormalization", []string{"x", "s", "b", "m", "v"}, []string{"y", "", ""}, a("epsilon", graph.Float(1e-3), "training_mode", graph.Int(0))), nil,
			"BatchNormalization(x,s,b,m,v)->(y){epsilon=0.001}"},
		{"BatchNormalization, training", 13, n("BatchNormalization", []string{"x", "s", "b", "m", "v"}, y, a("training_mode", graph.Int(1))), nil,
			"error: " + `export: node "n" (BatchNormalization): opset 13: attribute training_mode = 1: opset 13 has no training_mode (it came in opset 14), and 1 is not its default`},
		{"BatchNormalization, running mean", 13, n("BatchNormalization", []string{"x", "s", "b", "m", "v"}, []string{"y", "rm"}, nil), nil,
			"error: " + `export: node "n" (BatchNormalization): tensor "rm": opset 13: the running statistics as outputs (training mode) cannot be written below opset 14`},
		{"Reshape, allowzero", 13, n("Reshape", []string{"x", "s"}, y, a("allowzero", graph.Int(1))), map[string]graph.TensorInfo{"s": ints(-1, 4)},
			"Reshape(x,s)->(y){}"},
		{"Reshape, allowzero with a 0", 13, n("Reshape", []string{"x", "s"}, y, a("allowzero", graph.Int(1))), map[string]graph.TensorInfo{"s": ints(0, 4)},
			"error: " + `export: node "n" (Reshape): tensor "s": opset 13: allowzero = 1 with a 0 in the shape [0 4] cannot be written below opset 14`},
		{"Shape, start", 14, n("Shape", x, y, a("start", graph.Int(1))), nil,
			fmt.Sprintf("Shape(x)->(y/whole){} Slice(y/whole,n/starts,n/ends,n/axes)->(y){} + n/starts=[1] + n/ends=[%d] + n/axes=[0]", int64(math.MaxInt64))},
		{"Shape, end", 11, n("Shape", x, y, a("start", graph.Int(0), "end", graph.Int(-1))), nil,
			"Shape(x)->(y/whole){} Slice(y/whole,n/starts,n/ends,n/axes)->(y){} + n/starts=[0] + n/ends=[-1] + n/axes=[0]"},
		{"Shape, whole", 14, n("Shape", x, y, a("start", graph.Int(0))), nil, "Shape(x)->(y){}"},
		{"Shape at 15", 15, n("Shape", x, y, a("start", graph.Int(1))), nil, "Shape(x)->(y){start=1}"},
		{"Constant, value_floats", 11, n("Constant", nil, y, a("value_floats", graph.Floats(1, 2))), nil,
			"Constant()->(y){value=float32[2][1 2][]}"},
		{"Constant, value_int", 11, n("Constant", nil, y, a("value_int", graph.Int(3))), nil,
			"Constant()->(y){value=int64[][][3]}"},
		{"Constant, value_string", 11, n("Constant", nil, y, a("value_string", graph.String("s"))), nil,
			"error: " + `export: node "n" (Constant): opset 11: attribute value_string: opset 11's Constant takes a tensor value only`},
		{"Constant at 12", 12, n("Constant", nil, y, a("value_int", graph.Int(3))), nil, "Constant()->(y){value_int=3}"},
		{"Resize, sizes", 12, n("Resize", []string{"x", "", "", "sizes"}, y, a("mode", graph.String("nearest"))), map[string]graph.TensorInfo{"sizes": ints(1, 2, 8, 8)},
			`Resize(x,resize_empty,resize_empty,sizes)->(y){mode="nearest"} + resize_empty=[]`},
		{"Resize, scales", 11, n("Resize", []string{"x", "", "scales"}, y, nil), nil, `Resize(x,resize_empty,scales)->(y){} + resize_empty=[]`},
		{"Resize at 13", 13, n("Resize", []string{"x", "", "scales"}, y, nil), nil, `Resize(x,,scales)->(y){}`},
		{"Resize, axes", 17, n("Resize", []string{"x", "", "scales"}, y, a("axes", graph.Ints(-1, 2), "antialias", graph.Int(0))),
			map[string]graph.TensorInfo{"x": shaped(-1, 3, 4, 5), "scales": floats(3, 2)},
			`Resize(x,,n/scales)->(y){} + n/scales=[1 1 2 3]`},
		{"Resize, axes and roi at 12", 12, n("Resize", []string{"x", "roi", "", "sizes"}, y, a("axes", graph.Ints(1), "keep_aspect_ratio_policy", graph.String("stretch"))),
			map[string]graph.TensorInfo{"x": shaped(2, 3, 4), "roi": floats(0.25, 0.75), "sizes": ints(6)},
			`Resize(x,n/roi,resize_empty,n/sizes)->(y){} + n/roi=[0 0.25 0 1 0.75 1] + n/sizes=[2 6 4] + resize_empty=[]`},
		{"Resize, sizes over the batch", 17, n("Resize", []string{"x", "", "", "sizes"}, y, a("axes", graph.Ints(1))),
			map[string]graph.TensorInfo{"x": shaped(-1, 3), "sizes": ints(6)},
			"error: " + `export: node "n" (Resize): tensor "x": opset 17: attribute axes = [1]: opset 17 needs sizes for every axis, and dimension 0 depends on the batch size`},
		{"Resize, antialias", 17, n("Resize", []string{"x", "", "scales"}, y, a("antialias", graph.Int(1))), nil,
			"error: " + `export: node "n" (Resize): opset 17: attribute antialias = 1: opset 17 has no antialias (it came in opset 18), and 1 is not its default`},
		{"Resize, keep aspect ratio", 17, n("Resize", []string{"x", "", "", "sizes"}, y, a("keep_aspect_ratio_policy", graph.String("not_larger"))), nil,
			"error: " + `export: node "n" (Resize): opset 17: attribute keep_aspect_ratio_policy = "not_larger": opset 17 has no keep_aspect_ratio_policy (it came in opset 18), and "not_larger" is not its default`},
		{"Softmax, middle axis", 12, n("Softmax", x, y, a("axis", graph.Int(1))), map[string]graph.TensorInfo{"x": shaped(-1, 3, 4)},
			"Transpose(x)->(y/axis_last){perm=[0 2 1]} Softmax(y/axis_last)->(y/along_last){axis=2} Transpose(y/along_last)->(y){perm=[0 2 1]}"},
		{"LogSoftmax, default axis", 11, n("LogSoftmax", x, y, nil), rank2, "LogSoftmax(x)->(y){axis=1}"},
		{"Hardmax, batch axis", 11, n("Hardmax", x, y, a("axis", graph.Int(-2))), rank2,
			"Transpose(x)->(y/axis_last){perm=[1 0]} Hardmax(y/axis_last)->(y/along_last){axis=1} Transpose(y/along_last)->(y){perm=[1 0]}"},
		{"Softmax at 13", 13, n("Softmax", x, y, a("axis", graph.Int(0))), rank2, "Softmax(x)->(y){axis=0}"},
		{"Pad, axes", 17, n("Pad", []string{"x", "pads", "", "axes"}, y, nil), map[string]graph.TensorInfo{"x": shaped(-1, 7), "pads": ints(1, 2), "axes": ints(-1)},
			"Pad(x,n/pads)->(y){} + n/pads=[0 1 0 2]"},
		{"Pad, no axes", 11, n("Pad", []string{"x", "pads"}, y, nil), nil, "Pad(x,pads)->(y){}"},
		{"Pad, axes at 18", 18, n("Pad", []string{"x", "pads", "", "axes"}, y, a("mode", graph.String("reflect"))), map[string]graph.TensorInfo{"x": shaped(-1, 7), "pads": ints(1, 2), "axes": ints(-1)},
			`Pad(x,pads,,axes)->(y){mode="reflect"}`},
		{"Pad, wrap", 18, n("Pad", []string{"x", "pads"}, y, a("mode", graph.String("wrap"))), nil,
			"error: " + `export: node "n" (Pad): opset 18: attribute mode = "wrap": came in opset 19`},
		{"Pad, wrap at 11", 11, n("Pad", []string{"x", "pads"}, y, a("mode", graph.String("wrap"))), nil,
			"error: " + `export: node "n" (Pad): opset 11: attribute mode = "wrap": came in opset 19`},
		{"DepthToSpace", 11, n("DepthToSpace", x, y, a("blocksize", graph.Int(2), "mode", graph.String("CRD"))), nil, `DepthToSpace(x)->(y){blocksize=2 mode="CRD"}`},
		{"Range", 11, n("Range", []string{"s", "l", "d"}, y, nil), nil, "Range(s,l,d)->(y){}"},
		{"ArgMax", 11, n("ArgMax", x, y, a("select_last_index", graph.Int(0), "axis", graph.Int(1))), nil, "ArgMax(x)->(y){axis=1}"},
		{"ArgMax, last index", 11, n("ArgMax", x, y, a("select_last_index", graph.Int(1))), nil,
			"error: " + `export: node "n" (ArgMax): opset 11: attribute select_last_index = 1: opset 11 has no select_last_index (it came in opset 12), and 1 is not its default`},
		{"ScatterND, add", 15, n("ScatterND", []string{"x", "i", "u"}, y, a("reduction", graph.String("add"))), nil,
			"error: " + `export: node "n" (ScatterND): opset 15: attribute reduction = "add": opset 15 has no reduction (it came in opset 16), and "add" is not its default`},
		{"ScatterElements, max", 17, n("ScatterElements", []string{"x", "i", "u"}, y, a("reduction", graph.String("max"))), nil,
			"error: " + `export: node "n" (ScatterElements): opset 17: attribute reduction = "max": came in opset 18`},
		{"ScatterND, none", 15, n("ScatterND", []string{"x", "i", "u"}, y, a("reduction", graph.String("none"))), nil, "ScatterND(x,i,u)->(y){}"},
		{"LSTM", 13, n("LSTM", []string{"x", "w", "r"}, y, a("layout", graph.Int(0), "hidden_size", graph.Int(4))), nil, "LSTM(x,w,r)->(y){hidden_size=4}"},
		{"LSTM, layout 1 at 13", 13, n("LSTM", []string{"x", "w", "r", "", "", "h"}, []string{"y", "yh"}, a("layout", graph.Int(1), "hidden_size", graph.Int(4))), nil,
			"Transpose(x)->(x/time_major){perm=[1 0 2]} Transpose(h)->(h/time_major){perm=[1 0 2]} LSTM(x/time_major,w,r,,,h/time_major)->(y/time_major,yh/time_major){hidden_size=4} " +
				"Transpose(y/time_major)->(y){perm=[2 0 1 3]} Transpose(yh/time_major)->(yh){perm=[1 0 2]}"},
		{"GRU, sequence_lens at 18", 18, n("GRU", []string{"x", "w", "r", "", "lens"}, y, a("hidden_size", graph.Int(4))), nil,
			"Cast(lens)->(lens/int32){to=6} GRU(x,w,r,,lens/int32)->(y){hidden_size=4}"},
		{"LpPool", 17, n("LpPool", x, y, a("ceil_mode", graph.Int(0), "dilations", graph.Ints(1, 1), "kernel_shape", graph.Ints(2, 2))), nil,
			"LpPool(x)->(y){kernel_shape=[2 2]}"},
		{"LpPool, dilated", 17, n("LpPool", x, y, a("dilations", graph.Ints(2, 1))), nil,
			"error: " + `export: node "n" (LpPool): opset 17: attribute dilations = [2 1]: came in opset 18`},
		{"LpPool, ceil", 11, n("LpPool", x, y, a("ceil_mode", graph.Int(1))), nil,
			"error: " + `export: node "n" (LpPool): opset 11: attribute ceil_mode = 1: opset 11 has no ceil_mode (it came in opset 18), and 1 is not its default`},
		{"RoiAlign", 15, n("RoiAlign", []string{"x", "r", "i"}, y, a("coordinate_transformation_mode", graph.String("output_half_pixel"))), nil,
			"RoiAlign(x,r,i)->(y){}"},
		{"RoiAlign, half pixel", 15, n("RoiAlign", []string{"x", "r", "i"}, y, nil), nil,
			"error: " + `export: node "n" (RoiAlign): opset 15: coordinate_transformation_mode "half_pixel": opset 15 works as "output_half_pixel" only`},
		{"LayerNormalization at 16", 16, n("LayerNormalization", []string{"x", "s"}, y, nil), rank2,
			"ReduceMean(x)->(y/ReduceMean){axes=[1] keepdims=1} Sub(x,y/ReduceMean)->(y/Sub){} Mul(y/Sub,y/Sub)->(y/Mul){} ReduceMean(y/Mul)->(y/ReduceMean_1){axes=[1] keepdims=1} Add(y/ReduceMean_1,n/epsilon)->(y/Add){} Sqrt(y/Add)->(y/Sqrt){} Div(y/Sub,y/Sqrt)->(y/Div){} Mul(y/Div,s)->(y){} + n/epsilon=[1e-05]"},
		{"LayerNormalization at 16, stash_type 0", 16, n("LayerNormalization", []string{"x", "s"}, y, a("stash_type", graph.Int(0))), rank2,
			"error: " + `export: node "n" (LayerNormalization): opset 16: attribute stash_type = 0: only 1 can be written below opset 17`},
		{"HardSwish at 13", 13, n("HardSwish", x, y, nil), nil, "HardSigmoid(x)->(y/hardsigmoid){alpha=0.16666667 beta=0.5} Mul(x,y/hardsigmoid)->(y){}"},
		{"ReduceSumSquare, no-op at 17", 17, n("ReduceSumSquare", []string{"x", "axes"}, y, a("noop_with_empty_axes", graph.Int(1))), map[string]graph.TensorInfo{"axes": ints()}, "Mul(x,x)->(y){}"},
		{"LayerNormalization at 17", 17, n("LayerNormalization", []string{"x", "s"}, y, nil), nil, "LayerNormalization(x,s)->(y){}"},
		{"Mish", 17, n("Mish", x, y, nil), nil, "error: " + `export: node "n" (Mish): opset 17: Mish first appears in opset 18`},
		{"Gemm", 11, n("Gemm", []string{"x", "w"}, y, a("transB", graph.Int(1))), nil, "Gemm(x,w)->(y){transB=1}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			infos := map[string]graph.TensorInfo{}
			for k, v := range tt.infos {
				infos[k] = v
			}
			g := &graph.Graph{Nodes: []*graph.Node{tt.node}}
			before := nodeString(tt.node)
			l := newLowering(g, tt.opset, infos)
			nodes, err := l.lower(tt.node)
			if after := nodeString(tt.node); after != before {
				t.Errorf("the node changed: got %s, want %s", after, before)
			}
			var got []string
			for _, n := range nodes {
				got = append(got, nodeString(n))
			}
			for _, name := range l.inits {
				v := l.infos[name].Value
				got = append(got, fmt.Sprintf("+ %s=%v", name, append(floatsOf(v.Data), floatsOf(v.Int64)...)))
			}
			if err != nil {
				got = []string{"error: " + err.Error()}
			}
			if s := strings.Join(got, " "); s != tt.want {
				t.Errorf("got  %s\nwant %s", s, tt.want)
			}
		})
	}
}

func floatsOf[T float32 | int64](v []T) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}

// TestAttrProtoTypes checks that each graph attribute type is written as
// its ONNX type, with its value in that type's field.
func TestAttrProtoTypes(t *testing.T) {
	tests := []struct {
		a    graph.Attribute
		want *onnxpb.AttributeProto
	}{
		{graph.Float(0.5), &onnxpb.AttributeProto{Name: proto.String("a"), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(0.5)}},
		{graph.Int(-3), &onnxpb.AttributeProto{Name: proto.String("a"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(-3)}},
		{graph.String("nearest"), &onnxpb.AttributeProto{Name: proto.String("a"), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte("nearest")}},
		{graph.Floats(1, 2), &onnxpb.AttributeProto{Name: proto.String("a"), Type: onnxpb.AttributeProto_FLOATS.Enum(), Floats: []float32{1, 2}}},
		{graph.Ints(0, 2, 1), &onnxpb.AttributeProto{Name: proto.String("a"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{0, 2, 1}}},
		{graph.TensorAttr(graph.NewInt64Tensor([]int64{4, -1}, 2)), &onnxpb.AttributeProto{Name: proto.String("a"), Type: onnxpb.AttributeProto_TENSOR.Enum(),
			T: &onnxpb.TensorProto{Dims: []int64{2}, DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: []int64{4, -1}}}},
		{graph.TensorAttr(&graph.Tensor{Data: []float32{2.5}}), &onnxpb.AttributeProto{Name: proto.String("a"), Type: onnxpb.AttributeProto_TENSOR.Enum(),
			T: &onnxpb.TensorProto{Dims: []int64{}, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: []float32{2.5}}}},
	}
	for _, tt := range tests {
		t.Run(tt.a.Type.String(), func(t *testing.T) {
			got, err := attrProto("a", tt.a)
			if err != nil || !proto.Equal(got, tt.want) {
				t.Errorf("got %v, %v, want %v", got, err, tt.want)
			}
		})
	}
	for _, a := range []graph.Attribute{{Type: graph.AttrTensor}, {Type: graph.AttrUndefined}, graph.TensorAttr(&graph.Tensor{Shape: []int{2}, Data: []float32{1}})} {
		if _, err := attrProto("a", a); err == nil {
			t.Errorf("%v: got no error, want one", a)
		}
	}
}

// TestGraphInitializerTypes exports a graph with float32 and int64
// parameters and checks each initializer's type, shape and values, their
// order (as the nodes first read them, then the unread by name) and the
// nodes' attribute types.
func TestGraphInitializerTypes(t *testing.T) {
	g := &graph.Graph{
		Inputs:  []graph.Value{{Name: "x", Shape: []int{-1, 2}}},
		Outputs: []string{"y"},
		Params: map[string]*graph.Tensor{
			"w": {Shape: []int{3, 2}, Data: []float32{1, 2, 3, 4, 5, 6}}, "b": {Shape: []int{3}, Data: []float32{7, 8, 9}},
			"shape": graph.NewInt64Tensor([]int64{-1, 3}, 2), "count": graph.NewInt64Tensor([]int64{5}),
		},
		Nodes: []*graph.Node{
			{Name: "t", Op: "Transpose", Inputs: []string{"h"}, Outputs: []string{"y"}, Attrs: map[string]graph.Attribute{"perm": graph.Ints(1, 0)}},
			{Name: "fc", Op: "Gemm", Inputs: []string{"x", "w", "b"}, Outputs: []string{"h"}, Attrs: map[string]graph.Attribute{"transB": graph.Int(1), "alpha": graph.Float(2)}},
		},
	}
	m, err := Writer{Opset: 17}.Graph(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tp := range m.Graph.Initializer {
		got = append(got, fmt.Sprintf("%s %v %v %v %v", tp.GetName(), onnxpb.TensorProto_DataType(tp.GetDataType()), tp.Dims, tp.FloatData, tp.Int64Data))
	}
	want := []string{"w FLOAT [3 2] [1 2 3 4 5 6] []", "b FLOAT [3] [7 8 9] []", "count INT64 [] [] [5]", "shape INT64 [2] [] [-1 3]"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("initializers: got %v, want %v", got, want)
	}
	var attrs []string
	for _, n := range m.Graph.Node {
		for _, a := range n.Attribute {
			attrs = append(attrs, fmt.Sprintf("%s.%s %v", n.GetName(), a.GetName(), a.GetType()))
		}
	}
	if want := "fc.alpha FLOAT fc.transB INT t.perm INTS"; strings.Join(attrs, " ") != want {
		t.Errorf("attributes: got %v, want %s", attrs, want)
	}
	if in, out := m.Graph.Input[0].String(), m.Graph.Output[0].String(); !strings.Contains(in, `dim_param:"batch"`) || !strings.Contains(out, `dim_value:3`) || !strings.Contains(out, `dim_param:"batch"`) {
		t.Errorf("value infos: got %s → %s, want (batch, 2) → (3, batch)", in, out)
	}
}

// TestInitializersAfterLowering checks which tensors become initializers
// once nodes are lowered: a parameter that only a lowered input read (an
// axes tensor, now an attribute) is left out, an added tensor is written
// where a node first reads it, and a parameter no node ever read is kept.
func TestInitializersAfterLowering(t *testing.T) {
	g := &graph.Graph{
		Params: map[string]*graph.Tensor{"axes": graph.NewInt64Tensor([]int64{0}, 1), "w": graph.NewTensor(2), "spare": graph.NewTensor(1)},
		Nodes: []*graph.Node{
			{Name: "u", Op: "Unsqueeze", Inputs: []string{"x", "axes"}, Outputs: []string{"y"}},
			{Name: "s", Op: "Shape", Inputs: []string{"y"}, Outputs: []string{"z"}, Attrs: map[string]graph.Attribute{"start": graph.Int(1)}},
			{Name: "m", Op: "Mul", Inputs: []string{"x", "w"}, Outputs: []string{"v"}},
		},
	}
	infos := map[string]graph.TensorInfo{"axes": {Shape: []int{1}, Type: graph.Int64, Value: g.Params["axes"]}}
	l := newLowering(g, 11, infos)
	var nodes []*onnxpb.NodeProto
	for _, n := range g.Nodes {
		lowered, err := l.lower(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, ln := range lowered {
			np, err := nodeProto(ln)
			if err != nil {
				t.Fatal(err)
			}
			nodes = append(nodes, np)
		}
	}
	inits, err := initializers(g, l, nodes)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tp := range inits {
		got = append(got, tp.GetName())
	}
	if want := "s/starts s/ends s/axes w spare"; strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
}
