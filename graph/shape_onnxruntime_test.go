//go:build cgo

package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/runtime"
)

// The shape and data-movement operators, BatchNormalization and Dropout
// against ONNX Runtime. runtime feeds and returns float32 only, so
// runTypedONNX gives int64 inputs to the model as initializers (the values
// these operators need before the graph runs anyway) and casts int64
// outputs to float32 inside the model (exact for the small values here).
// Outputs of rank 0 are left out: runtime's Run panics on them.

// typedInput is an input of the one-node model: a float32 tensor fed as a
// graph input, or any tensor written as an initializer; nil leaves an
// optional input out.
type typedInput struct {
	t    *Tensor
	init bool
}

func feed(t *Tensor) typedInput  { return typedInput{t: t} }
func init_(t *Tensor) typedInput { return typedInput{t: t, init: true} }

func initializer(name string, t *Tensor) *onnxpb.TensorProto {
	p := &onnxpb.TensorProto{Name: proto.String(name)}
	for _, d := range t.Shape {
		p.Dims = append(p.Dims, int64(d))
	}
	if t.Type == Int64 {
		p.DataType = proto.Int32(int32(onnxpb.TensorProto_INT64))
		p.Int64Data = slices.Clone(t.Int64)
	} else {
		p.DataType = proto.Int32(int32(onnxpb.TensorProto_FLOAT))
		p.FloatData = slices.Clone(t.Data)
	}
	return p
}

// runTypedONNX runs the one-node model (opset 17) of op over ins (inputs
// x0, x1, …), with outputs y0, y1, … of the types given (outputs[k] false:
// left out), and returns each output's values (as float32) and shape.
func runTypedONNX(t *testing.T, op string, attrs []*onnxpb.AttributeProto, ins []typedInput, outTypes []DType) ([][]float32, [][]int) {
	t.Helper()
	g := &onnxpb.GraphProto{Name: proto.String(op)}
	node := &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String("n"), Attribute: attrs}
	// runtime wants an input: one the node does not read.
	g.Input = append(g.Input, valueInfo("unused", []int{1}))
	feeds := []runtime.Tensor{{Shape: []int64{1}, Data: []float32{0}}}
	for k, in := range ins {
		name := fmt.Sprintf("x%d", k)
		switch {
		case in.t == nil:
			name = ""
		case in.init:
			g.Initializer = append(g.Initializer, initializer(name, in.t))
		default:
			g.Input = append(g.Input, valueInfo(name, in.t.Shape))
			shape := make([]int64, len(in.t.Shape))
			for i, d := range in.t.Shape {
				shape[i] = int64(d)
			}
			feeds = append(feeds, runtime.Tensor{Shape: shape, Data: in.t.Data})
		}
		node.Input = append(node.Input, name)
	}
	for len(node.Input) > 0 && node.Input[len(node.Input)-1] == "" {
		node.Input = node.Input[:len(node.Input)-1] // ONNX Runtime reads a trailing "" as given
	}
	g.Node = []*onnxpb.NodeProto{node}
	for k, typ := range outTypes {
		name := fmt.Sprintf("y%d", k)
		node.Output = append(node.Output, name)
		if typ != Float32 {
			cast := &onnxpb.NodeProto{OpType: proto.String("Cast"), Name: proto.String("cast" + name), Input: []string{name}, Output: []string{name + "f"},
				Attribute: []*onnxpb.AttributeProto{intAttr("to", onnxFloat)}}
			g.Node = append(g.Node, cast)
			name += "f"
		}
		vi := valueInfo(name, nil)
		vi.Type.GetTensorType().Shape = nil
		g.Output = append(g.Output, vi)
	}
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}},
		Graph:       g,
	}
	out := runModel(t, m, feeds)
	values, shapes := make([][]float32, len(out)), make([][]int, len(out))
	for k, o := range out {
		values[k] = o.Data
		for _, d := range o.Shape {
			shapes[k] = append(shapes[k], int(d))
		}
		if shapes[k] == nil {
			shapes[k] = []int{}
		}
	}
	return values, shapes
}

// checkAgainstONNX runs op through the graph's Forward (float32 inputs fed
// as graph inputs, initializers as parameters) and through ONNX Runtime,
// and compares every output: shapes equal, values within tol.
func checkAgainstONNX(t *testing.T, op string, attrs map[string]Attribute, pattrs []*onnxpb.AttributeProto, ins []typedInput, outTypes []DType, tol float64) {
	t.Helper()
	g := &Graph{Params: map[string]*Tensor{}}
	n := &Node{Name: "n", Op: op, Attrs: attrs}
	feeds := map[string]*Tensor{}
	for k, in := range ins {
		name := fmt.Sprintf("x%d", k)
		switch {
		case in.t == nil:
			name = ""
		case in.init:
			g.Params[name] = in.t
		default:
			g.Inputs = append(g.Inputs, Value{Name: name, Shape: in.t.Shape, Type: in.t.Type})
			feeds[name] = in.t
		}
		n.Inputs = append(n.Inputs, name)
	}
	for k := range outTypes {
		n.Outputs = append(n.Outputs, fmt.Sprintf("y%d", k))
	}
	g.Outputs, g.Nodes = n.Outputs, []*Node{n}
	values, err := g.Forward(feeds)
	if err != nil {
		t.Fatal(err)
	}
	want, shapes := runTypedONNX(t, op, pattrs, ins, outTypes)
	for k, name := range n.Outputs {
		y := values[name]
		if y.Type != outTypes[k] || !slices.Equal(y.Shape, shapes[k]) {
			t.Fatalf("output %d: got %v of shape %v, want %v of shape %v (ONNX Runtime)", k, y.Type, y.Shape, outTypes[k], shapes[k])
		}
		got := y.Data
		if y.Type == Int64 {
			got = make([]float32, len(y.Int64))
			for i, v := range y.Int64 {
				got[i] = float32(v)
			}
		}
		checkClose(t, fmt.Sprintf("output %d against ONNX Runtime", k), got, want[k], tol, tol)
	}
}

func i64s(v ...int64) *Tensor { return NewInt64Tensor(v, len(v)) }

func counting(shape ...int) *Tensor {
	t := NewInt64Tensor(make([]int64, elements(shape)), shape...)
	for i := range t.Int64 {
		t.Int64[i] = int64(i*3 - 7)
	}
	return t
}

func TestMovesAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(95, 96))
	f, i := []DType{Float32}, []DType{Int64}
	for _, c := range reshapeCases {
		if elements(c.x) == 0 || len(c.want) == 0 {
			continue // onnxruntime_go feeds no empty tensors; runtime panics on a rank-0 output
		}
		t.Run(fmt.Sprintf("Reshape_%v_%v", c.x, c.shape), func(t *testing.T) {
			var attrs map[string]Attribute
			var pattrs []*onnxpb.AttributeProto
			if c.allowZero {
				attrs, pattrs = map[string]Attribute{"allowzero": Int(1)}, []*onnxpb.AttributeProto{intAttr("allowzero", 1)}
			}
			checkAgainstONNX(t, "Reshape", attrs, pattrs, []typedInput{feed(randTensor(r, c.x...)), init_(i64s(c.shape...))}, f, 0)
			checkAgainstONNX(t, "Reshape", attrs, pattrs, []typedInput{init_(counting(c.x...)), init_(i64s(c.shape...))}, i, 0)
		})
	}
	for _, c := range []struct {
		op   string
		x    []int
		axes *Tensor
	}{
		{"Squeeze", []int{1, 3, 1, 2}, nil},
		{"Squeeze", []int{1, 3, 1, 2}, i64s(-2, 0)},
		{"Squeeze", []int{1, 3, 1, 2}, i64s()},
		{"Unsqueeze", []int{3, 2}, i64s(0, -1)},
		{"Unsqueeze", []int{3, 2}, i64s(3, 1)},
	} {
		t.Run(fmt.Sprintf("%s_%v_%v", c.op, c.x, c.axes), func(t *testing.T) {
			ax := typedInput{}
			if c.axes != nil {
				ax = init_(c.axes)
			}
			checkAgainstONNX(t, c.op, nil, nil, []typedInput{feed(randTensor(r, c.x...)), ax}, f, 0)
			checkAgainstONNX(t, c.op, nil, nil, []typedInput{init_(counting(c.x...)), ax}, i, 0)
		})
	}
	for _, c := range [][2]int64{{0, math.MaxInt64}, {1, math.MaxInt64}, {-2, -1}, {-9, 9}} {
		t.Run(fmt.Sprintf("Shape_%d_%d", c[0], c[1]), func(t *testing.T) {
			attrs := map[string]Attribute{"start": Int(c[0]), "end": Int(c[1])}
			pattrs := []*onnxpb.AttributeProto{intAttr("start", c[0]), intAttr("end", c[1])}
			checkAgainstONNX(t, "Shape", attrs, pattrs, []typedInput{feed(randTensor(r, 2, 3, 4))}, i, 0)
		})
	}
	for _, c := range gatherCases {
		if len(c.idxShap) == 0 && len(c.data) == 1 {
			continue // a scalar output
		}
		t.Run(fmt.Sprintf("Gather_%v_%d_%v", c.data, c.axis, c.idx), func(t *testing.T) {
			attrs, pattrs := map[string]Attribute{"axis": Int(int64(c.axis))}, []*onnxpb.AttributeProto{intAttr("axis", int64(c.axis))}
			idx := init_(NewInt64Tensor(c.idx, c.idxShap...))
			checkAgainstONNX(t, "Gather", attrs, pattrs, []typedInput{feed(randTensor(r, c.data...)), idx}, f, 0)
			checkAgainstONNX(t, "Gather", attrs, pattrs, []typedInput{init_(counting(c.data...)), idx}, i, 0)
		})
	}
	for _, c := range sliceCases {
		if s, _, _ := SliceShape(c.x, c.starts, c.ends, c.axes, c.steps); elements(s) == 0 {
			continue
		}
		t.Run(fmt.Sprintf("Slice_%v_%v_%v_%v_%v", c.x, c.starts, c.ends, c.axes, c.steps), func(t *testing.T) {
			opt := func(v []int64) typedInput {
				if v == nil {
					return typedInput{}
				}
				return init_(i64s(v...))
			}
			ins := []typedInput{feed(randTensor(r, c.x...)), init_(i64s(c.starts...)), init_(i64s(c.ends...)), opt(c.axes), opt(c.steps)}
			if c.steps == nil {
				ins = ins[:4]
			}
			checkAgainstONNX(t, "Slice", nil, nil, ins, f, 0)
			ins[0] = init_(counting(c.x...))
			checkAgainstONNX(t, "Slice", nil, nil, ins, i, 0)
		})
	}
	for _, c := range expandCases {
		if len(c.x) == 0 {
			continue
		}
		t.Run(fmt.Sprintf("Expand_%v_%v", c.x, c.shape), func(t *testing.T) {
			checkAgainstONNX(t, "Expand", nil, nil, []typedInput{feed(randTensor(r, c.x...)), init_(i64s(c.shape...))}, f, 0)
			checkAgainstONNX(t, "Expand", nil, nil, []typedInput{init_(counting(c.x...)), init_(i64s(c.shape...))}, i, 0)
		})
	}
	for _, c := range tileCases {
		if s, _ := TileShape(c.x, c.repeats); elements(s) == 0 {
			continue
		}
		t.Run(fmt.Sprintf("Tile_%v_%v", c.x, c.repeats), func(t *testing.T) {
			checkAgainstONNX(t, "Tile", nil, nil, []typedInput{feed(randTensor(r, c.x...)), init_(i64s(c.repeats...))}, f, 0)
			checkAgainstONNX(t, "Tile", nil, nil, []typedInput{init_(counting(c.x...)), init_(i64s(c.repeats...))}, i, 0)
		})
	}
	t.Run("Concat_int64", func(t *testing.T) {
		attrs, pattrs := map[string]Attribute{"axis": Int(0)}, []*onnxpb.AttributeProto{intAttr("axis", 0)}
		checkAgainstONNX(t, "Concat", attrs, pattrs, []typedInput{init_(i64s(3)), init_(i64s(64, 7, 7))}, i, 0)
	})
}

func TestShapeSourcesAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(97, 98))
	value := &Tensor{Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, 4, 5, 6}}
	tp := &onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: initializer("", value)}
	t.Run("Constant", func(t *testing.T) {
		checkAgainstONNX(t, "Constant", map[string]Attribute{"value": TensorAttr(value)}, []*onnxpb.AttributeProto{tp}, nil, []DType{Float32}, 0)
		ints := &onnxpb.AttributeProto{Name: proto.String("value_ints"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{4, -5}}
		checkAgainstONNX(t, "Constant", map[string]Attribute{"value_ints": Ints(4, -5)}, []*onnxpb.AttributeProto{ints}, nil, []DType{Int64}, 0)
	})
	t.Run("ConstantOfShape", func(t *testing.T) {
		seven := NewInt64Tensor([]int64{7}, 1)
		vp := &onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: initializer("", seven)}
		checkAgainstONNX(t, "ConstantOfShape", map[string]Attribute{"value": TensorAttr(seven)}, []*onnxpb.AttributeProto{vp}, []typedInput{init_(i64s(2, 3))}, []DType{Int64}, 0)
		checkAgainstONNX(t, "ConstantOfShape", nil, nil, []typedInput{init_(i64s(3, 1, 2))}, []DType{Float32}, 0)
	})
	t.Run("Cast", func(t *testing.T) {
		x := randTensor(r, 4, 5)
		for i := range x.Data {
			x.Data[i] *= 100
		}
		checkAgainstONNX(t, "Cast", map[string]Attribute{"to": Int(onnxInt64)}, []*onnxpb.AttributeProto{intAttr("to", onnxInt64)}, []typedInput{feed(x)}, []DType{Int64}, 0)
		checkAgainstONNX(t, "Cast", map[string]Attribute{"to": Int(onnxFloat)}, []*onnxpb.AttributeProto{intAttr("to", onnxFloat)}, []typedInput{init_(counting(3, 4))}, []DType{Float32}, 0)
	})
}

func TestBatchNormDropoutAgainstONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(99, 100))
	for _, shape := range batchNormShapes {
		t.Run(fmt.Sprintf("BatchNormalization_%v", shape), func(t *testing.T) {
			c := newBNCase(r, shape)
			attrs, pattrs := map[string]Attribute{"epsilon": Float(bnEps)}, []*onnxpb.AttributeProto{floatAttr("epsilon", bnEps)}
			ins := []typedInput{feed(c.x), init_(c.g), init_(c.b), init_(c.mean), init_(c.variance)}
			checkAgainstONNX(t, "BatchNormalization", attrs, pattrs, ins, []DType{Float32}, 1e-5)
		})
	}
	t.Run("BatchNormalization_training_mode", func(t *testing.T) {
		c := newBNCase(r, []int{5, 3, 4})
		attrs := map[string]Attribute{"epsilon": Float(bnEps), "momentum": Float(0.7), "training_mode": Int(1)}
		pattrs := []*onnxpb.AttributeProto{floatAttr("epsilon", bnEps), floatAttr("momentum", 0.7), intAttr("training_mode", 1)}
		ins := []typedInput{feed(c.x), init_(c.g), init_(c.b), init_(c.mean), init_(c.variance)}
		checkAgainstONNX(t, "BatchNormalization", attrs, pattrs, ins, []DType{Float32, Float32, Float32}, 1e-5)
	})
	t.Run("Dropout", func(t *testing.T) {
		x := randTensor(r, 4, 6)
		ins := []typedInput{feed(x), init_(&Tensor{Shape: []int{}, Data: []float32{0.3}})}
		checkAgainstONNX(t, "Dropout", nil, nil, ins, []DType{Float32, Int64}, 0) // ONNX's bool mask, cast
		ins = append(ins, init_(NewInt64Tensor([]int64{0})))
		checkAgainstONNX(t, "Dropout", nil, nil, ins[:1], []DType{Float32}, 0)
	})
}
