package runtime

import (
	"path/filepath"
	goruntime "runtime"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

// tensorType returns a float tensor type of the given shape: a dimension
// of -1 is named "batch"; a nil shape leaves the shape out.
func tensorType(shape []int64) *onnxpb.TypeProto {
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}
	if shape != nil {
		tt.Shape = &onnxpb.TensorShapeProto{}
		for _, d := range shape {
			dim := &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}}
			if d < 0 {
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}
			}
			tt.Shape.Dim = append(tt.Shape.Dim, dim)
		}
	}
	return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}
}

// identityModel writes an Identity model from x of shape in to y, whose
// declared shape out the graph does not honour, and returns its path.
func identityModel(t *testing.T, in, out []int64) string {
	t.Helper()
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}},
		Graph: &onnxpb.GraphProto{
			Name:   proto.String("liar"),
			Node:   []*onnxpb.NodeProto{{OpType: proto.String("Identity"), Input: []string{"x"}, Output: []string{"y"}}},
			Input:  []*onnxpb.ValueInfoProto{{Name: proto.String("x"), Type: tensorType(in)}},
			Output: []*onnxpb.ValueInfoProto{{Name: proto.String("y"), Type: tensorType(out)}},
		},
	}
	path := filepath.Join(t.TempDir(), "liar.onnx")
	if err := onnxfile.Save(path, m); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRunDoesNotAllocateDeclaredHugeOutput runs a model whose output is
// declared [10¹²] (4 TB of float32): Run must not allocate from that claim
// but let ONNX Runtime allocate what the graph computes.
func TestRunDoesNotAllocateDeclaredHugeOutput(t *testing.T) {
	tests := []struct{ in, out []int64 }{
		{nil, []int64{1000000000000}},
		{[]int64{-1, 3}, []int64{1000000000000}},
		{[]int64{-1, 3}, []int64{1 << 40, 3}},
		{nil, []int64{1 << 62, 1 << 62}},
		{nil, []int64{maxPrealloc + 1}},
	}
	for _, tt := range tests {
		t.Run(shapeString(tt.in)+" to "+shapeString(tt.out), func(t *testing.T) {
			m := open(t, identityModel(t, tt.in, tt.out))
			x := Tensor{Shape: []int64{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}}
			var out []Tensor
			var err error
			var before, after goruntime.MemStats
			goruntime.ReadMemStats(&before)
			out, err = m.Run(x)
			goruntime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
				t.Errorf("Run allocated %d bytes, want < 64 MiB", n)
			}
			if len(out) != 1 || !slices.Equal(out[0].Shape, x.Shape) || !slices.Equal(out[0].Data, x.Data) {
				t.Errorf("got %v, want the input back: %v", out, x)
			}
		})
	}
}

// TestOutputShapePreallocationLimit checks which declared output shapes
// run preallocates: fixed ones up to maxPrealloc elements, or up to the
// inputs' element count past it, and the batch dimension from the input.
func TestOutputShapePreallocationLimit(t *testing.T) {
	dims := func(sizes ...int64) []Dim {
		d := make([]Dim, len(sizes))
		for i, s := range sizes {
			d[i] = Dim{Size: s}
			if s < 0 {
				d[i] = Dim{Size: -1, Name: "batch"}
			}
		}
		return d
	}
	small := Tensor{Shape: []int64{2, 3}, Data: make([]float32, 6)}
	tests := []struct {
		name   string
		in     []Dim
		out    []Dim
		inputs []Tensor
		want   []int64 // nil: left to ONNX Runtime
	}{
		{"fixed, small", dims(-1, 3), dims(4, 5), []Tensor{small}, []int64{4, 5}},
		{"batch from the input", dims(-1, 3), dims(-1, 7), []Tensor{small}, []int64{2, 7}},
		{"at maxPrealloc", dims(-1, 3), dims(maxPrealloc), []Tensor{small}, []int64{maxPrealloc}},
		{"just past maxPrealloc", dims(-1, 3), dims(maxPrealloc + 1), []Tensor{small}, nil},
		{"10^12", dims(-1, 3), dims(1000000000000), []Tensor{small}, nil},
		{"wraps in 64 bits", dims(-1, 3), dims(1<<32, 1<<32), []Tensor{small}, nil},
		{"batch × a huge fixed dimension", dims(-1, 3), dims(-1, 1<<40), []Tensor{small}, nil},
		{"past maxPrealloc, as large as the inputs", dims(-1, 3), dims(maxPrealloc + 1),
			[]Tensor{{Shape: []int64{1, maxPrealloc + 1}, Data: make([]float32, maxPrealloc+1)}}, []int64{maxPrealloc + 1}},
		{"dynamic, unnamed", dims(-1, 3), []Dim{{Size: -1}, {Size: 3}}, []Tensor{small}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Model{info: &Info{
				Inputs:  []IO{{Name: "x", Type: "float32", Shape: tt.in, HasShape: true}},
				Outputs: []IO{{Name: "y", Type: "float32", Shape: tt.out, HasShape: true}},
			}}
			in := make([]Value, len(tt.inputs))
			for i, x := range tt.inputs {
				in[i] = ValueOf(x)
			}
			got, ok := m.outputShape(0, in)
			if ok != (tt.want != nil) || !slices.Equal(got, tt.want) {
				t.Errorf("got %v, %v; want %v", got, ok, tt.want)
			}
		})
	}
}
