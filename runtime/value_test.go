package runtime

import (
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

const dtypesDir = "../testdata/dtypes"

// readValue reads a .npy file of testdata/dtypes as a Value of its dtype.
func readValue(t *testing.T, name string) Value {
	t.Helper()
	a, err := npy.ReadFileTyped(filepath.Join(dtypesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	shape := make([]int64, len(a.Shape))
	for i, d := range a.Shape {
		shape[i] = int64(d)
	}
	data := a.Data
	if a.DType == "float16" {
		bits := a.Data.([]uint16)
		h := make([]Half, len(bits))
		for i, b := range bits {
			h[i] = Half(b)
		}
		data = h
	}
	v := Value{Shape: shape, Data: data}
	if string(v.DType()) != a.DType {
		t.Fatalf("%s: dtype %s is not one the runtime holds", name, a.DType)
	}
	return v
}

// TestRunValuesEveryDType feeds passthrough.onnx one input of each element
// type but float32 and checks each output against NumPy's closed form,
// exactly: in one run, and in runs of one sample joined.
func TestRunValuesEveryDType(t *testing.T) {
	names := []string{"f64", "f16", "i64", "i32", "u8", "b"}
	wantTypes := []DType{Float64, Float16, Int64, Int32, Uint8, Bool}
	for _, batch := range []int{0, 1} {
		m := open(t, filepath.Join(dtypesDir, "passthrough.onnx"), WithBatchSize(batch))
		in := make([]Value, len(names))
		for i, n := range names {
			in[i] = readValue(t, n+".npy")
		}
		out, err := m.RunValues(in...)
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range names {
			want := readValue(t, n+"_out.npy")
			if got := out[i]; got.DType() != wantTypes[i] || !reflect.DeepEqual(got, want) {
				t.Errorf("batch %d: output %s_out: got %s %v %v, want %s %v %v", batch, n, got.DType(), got.Shape, got.Data, want.DType(), want.Shape, want.Data)
			}
		}
		named, err := m.RunNamedValues(map[string]Value{"f64": in[0], "f16": in[1], "i64": in[2], "i32": in[3], "u8": in[4], "b": in[5]})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := named["b_out"], readValue(t, "b_out.npy"); !reflect.DeepEqual(got, want) {
			t.Errorf("RunNamedValues: b_out: got %v, want %v", got, want)
		}
	}
}

// TestRunValuesLabelInputImageOutput runs dtypes.onnx: an int64 label
// picks an embedding row (float32 "emb"), cast to an 8-bit image ("img").
func TestRunValuesLabelInputImageOutput(t *testing.T) {
	m := open(t, filepath.Join(dtypesDir, "dtypes.onnx"))
	out, err := m.RunValues(readValue(t, "label.npy"))
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"emb.npy", "img.npy"} {
		if want := readValue(t, name); !reflect.DeepEqual(out[i], want) {
			t.Errorf("%s: got %s %v %v, want %s %v %v", name, out[i].DType(), out[i].Shape, out[i].Data, want.DType(), want.Shape, want.Data)
		}
	}
	img, err := DataOf[uint8](out[1])
	if err != nil || len(img) != 20 || img[8] != 255 || img[4] != 0 {
		t.Errorf("DataOf[uint8]: got %v, %v; want 20 values, clipped to 0 and 255", img, err)
	}
	if _, err := DataOf[float32](out[1]); err == nil || !strings.Contains(err.Error(), "is uint8, not float32") {
		t.Errorf("DataOf[float32] of a uint8 value: got %v, want an error naming both types", err)
	}
}

// TestRunValuesRefusesWrongDType checks that an input of another element
// type than the model declares is an *InputError naming the input, the
// type wanted and the type given, and that Run says when a model needs
// RunValues.
func TestRunValuesRefusesWrongDType(t *testing.T) {
	m := open(t, filepath.Join(dtypesDir, "dtypes.onnx"))
	tests := []struct {
		name string
		in   Value
		want string
	}{
		{"float32 labels", Value{Shape: []int64{2}, Data: []float32{1, 2}}, `runtime: input "label": element type float32 given, the model wants int64 (model expects [batch], given [2])`},
		{"int32 labels", Value{Shape: []int64{2}, Data: []int32{1, 2}}, `runtime: input "label": element type int32 given, the model wants int64`},
		{"not an element type", Value{Shape: []int64{2}, Data: []int{1, 2}}, `runtime: input "label": element type []int (not an element type) given, the model wants int64`},
		{"count", Value{Shape: []int64{3}, Data: []int64{1, 2}}, `shape [3] holds 3 elements, but 2 values were given`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.RunValues(tt.in)
			var ie *InputError
			if !errors.As(err, &ie) || ie.Input != "label" || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an *InputError with %q", err, tt.want)
			}
		})
	}
	_, err := m.Run(Tensor{Shape: []int64{2}, Data: []float32{1, 2}})
	if want := `runtime: input "label": element type is int64; Run feeds float32 tensors only: use RunValues`; err == nil || err.Error() != want {
		t.Errorf("Run: got %v, want %q", err, want)
	}
	p := open(t, filepath.Join(dtypesDir, "labels.onnx"))
	_, err = p.Run(Tensor{Shape: []int64{1}, Data: []float32{1}}, Tensor{Shape: []int64{1, 4}, Data: make([]float32, 4)})
	if err == nil || !strings.Contains(err.Error(), `element type is int64; Run feeds float32 tensors only: use RunValues`) {
		t.Errorf("Run on labels.onnx: got %v, want the RunValues hint", err)
	}
}

// shapelessModel writes a model whose output y = ReduceSum(x, axes) has no
// shape in the file: a scalar without keepdims and no axes.
func shapelessModel(t *testing.T, axes []int64) string {
	t.Helper()
	node := &onnxpb.NodeProto{OpType: proto.String("ReduceSum"), Input: []string{"x"}, Output: []string{"y"},
		Attribute: []*onnxpb.AttributeProto{{Name: proto.String("keepdims"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(0)}}}
	g := &onnxpb.GraphProto{
		Name:  proto.String("sum"),
		Node:  []*onnxpb.NodeProto{node},
		Input: []*onnxpb.ValueInfoProto{{Name: proto.String("x"), Type: tensorType([]int64{-1, 3})}},
		Output: []*onnxpb.ValueInfoProto{{Name: proto.String("y"), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}}}}},
	}
	if axes != nil {
		node.Input = append(node.Input, "axes")
		g.Initializer = []*onnxpb.TensorProto{{Name: proto.String("axes"), DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Dims: []int64{int64(len(axes))}, Int64Data: axes}}
	}
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}},
		Graph:       g,
	}
	path := filepath.Join(t.TempDir(), "sum.onnx")
	if err := onnxfile.Save(path, m); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestShapelessOutputs runs models whose output declares no shape: a
// rank-0 sum (which onnxruntime_go cannot return as such; Run used to
// panic in its Tensor.Destroy) and a per-sample sum of rank 1. Each comes
// back with the shape ONNX Runtime computed and the closed-form values.
func TestShapelessOutputs(t *testing.T) {
	x := Tensor{Shape: []int64{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6.5}}
	tests := []struct {
		name  string
		axes  []int64
		shape []int64
		data  []float32
	}{
		{"scalar", nil, []int64{}, []float32{21.5}},
		{"per sample", []int64{1}, []int64{2}, []float32{6, 15.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := open(t, shapelessModel(t, tt.axes))
			out, err := m.Run(x)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(out[0].Shape, tt.shape) || !reflect.DeepEqual(out[0].Data, tt.data) {
				t.Errorf("Run: got %v %v, want %v %v", out[0].Shape, out[0].Data, tt.shape, tt.data)
			}
			vals, err := m.RunValues(ValueOf(x))
			if err != nil {
				t.Fatal(err)
			}
			if want := (Value{Shape: tt.shape, Data: tt.data}); !reflect.DeepEqual(vals[0], want) {
				t.Errorf("RunValues: got %v, want %v", vals[0], want)
			}
		})
	}
}

// TestHalfOf checks HalfOf against Half.Float32 on every binary16 value
// (each converts back to its own bits) and on the midpoints between
// neighbours (ties go to the even one), and at the ends of the range.
func TestHalfOf(t *testing.T) {
	for b := 0; b < 1<<16; b++ {
		h := Half(b)
		f := h.Float32()
		if f != f {
			if g := HalfOf(f); g.Float32() == g.Float32() {
				t.Fatalf("HalfOf(NaN %#04x): got %#04x, not a NaN", b, g)
			}
			continue
		}
		if got := HalfOf(f); got != h && !(f == 0 && got&0x7fff == 0 && got == h) {
			t.Fatalf("HalfOf(%v): got %#04x, want %#04x", f, got, h)
		}
		if b&0x7fff >= 0x7bff { // the largest finite and above: no next value
			continue
		}
		next := Half(b + 1)
		mid := float32((float64(f) + float64(next.Float32())) / 2)
		want := h
		if b&1 == 1 {
			want = next
		}
		if got := HalfOf(mid); got != want {
			t.Fatalf("HalfOf(%v), between %#04x and %#04x: got %#04x, want %#04x (even)", mid, b, b+1, got, want)
		}
	}
	for _, tt := range []struct {
		f    float32
		want Half
	}{
		{65504, 0x7bff}, {65519.99, 0x7bff}, {65520, 0x7c00}, {-1e10, 0xfc00},
		{float32(math.Inf(1)), 0x7c00}, {1.0 / (1 << 25), 0}, {1.0/(1<<25) + 1e-12, 1}, {-1e-30, 0x8000},
	} {
		if got := HalfOf(tt.f); got != tt.want {
			t.Errorf("HalfOf(%v): got %#04x, want %#04x", tt.f, got, tt.want)
		}
	}
}

// TestShapelessFloat16Output runs Identity of float16 values to an output
// the file gives no shape, both ways onnxruntime_go cannot return: it
// comes back with its shape and its own bits, ±0, subnormals, ±Inf and
// NaN included.
func TestShapelessFloat16Output(t *testing.T) {
	half := func(shape []int64) *onnxpb.TypeProto {
		tp := tensorType(shape)
		tp.GetTensorType().ElemType = proto.Int32(int32(onnxpb.TensorProto_FLOAT16))
		return tp
	}
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}},
		Graph: &onnxpb.GraphProto{
			Name:   proto.String("h"),
			Node:   []*onnxpb.NodeProto{{OpType: proto.String("Identity"), Input: []string{"x"}, Output: []string{"y"}}},
			Input:  []*onnxpb.ValueInfoProto{{Name: proto.String("x"), Type: half([]int64{-1, 4})}},
			Output: []*onnxpb.ValueInfoProto{{Name: proto.String("y"), Type: half(nil)}},
		},
	}
	path := filepath.Join(t.TempDir(), "h.onnx")
	if err := onnxfile.Save(path, m); err != nil {
		t.Fatal(err)
	}
	x, err := NewValue([]Half{0x0000, 0x8000, 0x0001, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x3c00}, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	out, err := open(t, path).RunValues(x)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out[0], x) {
		t.Errorf("got %v %#04x, want %v %#04x", out[0].Shape, out[0].Data, x.Shape, x.Data)
	}
}
