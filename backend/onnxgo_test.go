//go:build onnxgo

package backend

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

// TestOpenOnnxGoChecksClaimedDims: onnx-go allocates each initializer from
// its dims, so a tiny model whose weight claims 10¹² elements (or 2³⁰
// backed by 4 bytes) must be refused before onnx-go sees it, allocating
// little.
func TestOpenOnnxGoChecksClaimedDims(t *testing.T) {
	tests := []struct {
		name    string
		dims    []int64
		wantSub string
	}{
		{"past the limit", []int64{1000000, 1000000}, "exceeds aebridge's limit"},
		{"not backed by the bytes", []int64{1 << 15, 1 << 15}, "raw_data holds 16 bytes; dims [32768 32768] of float32 need 4294967296"},
	}
	vi := func(name string) *onnxpb.ValueInfoProto {
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			Shape: &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{
				{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 1}},
				{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 4}}}}}}}}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "huge.onnx")
			m := &onnxpb.ModelProto{IrVersion: proto.Int64(8), OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(13)}},
				Graph: &onnxpb.GraphProto{Name: proto.String("g"),
					Initializer: []*onnxpb.TensorProto{{Name: proto.String("w"), Dims: tt.dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: make([]byte, 16)}},
					Node:        []*onnxpb.NodeProto{{OpType: proto.String("Add"), Name: proto.String("add"), Input: []string{"x", "w"}, Output: []string{"y"}}},
					Input:       []*onnxpb.ValueInfoProto{vi("x")},
					Output:      []*onnxpb.ValueInfoProto{vi("y")}}}
			if err := onnxfile.Save(path, m); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := OpenOnnxGo(path)
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), tt.wantSub) || !strings.Contains(err.Error(), `tensor "w"`) {
				t.Errorf("got %v, want an error on tensor \"w\" containing %q", err, tt.wantSub)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
				t.Errorf("allocated %d bytes, want under 64 MiB", n)
			}
		})
	}
}
