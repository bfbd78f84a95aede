package convert

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/limits"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

// TestImportRefusesHugeMetadata imports a graph whose aebridge metadata
// describes a 200000×200000 layer (160 GB of weights): the description is
// refused before anything is allocated, with the file, the field and the
// layer named.
func TestImportRefusesHugeMetadata(t *testing.T) {
	model := `{"variant": "ae", "input": [200000], "encoder": [{"type": "dense", "in": 200000, "out": 200000}], "decoder": [{"type": "dense", "in": 200000, "out": 200000}], "loss": "mse"}`
	mp := &onnxpb.ModelProto{ProducerName: proto.String("aebridge"), Graph: &onnxpb.GraphProto{},
		MetadataProps: []*onnxpb.StringStringEntryProto{{Key: proto.String("model"), Value: proto.String(model)}, {Key: proto.String("part"), Value: proto.String("full")}}}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := fromProto(mp, "huge.onnx", Options{})
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
		t.Errorf("fromProto allocated %d bytes, want < 64 MiB", n)
	}
	want := `convert: huge.onnx: metadata "model": trainer: layer encoder.0 (dense 200000→200000): parameter shape [200000 200000]: exceeds aebridge's limit`
	if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, limits.ErrTooLarge) {
		t.Errorf("got %v, want %q", err, want)
	}
}

// TestImportRefusesTooManyNodes: a graph of more than limits.MaxNodes
// nodes is refused before any node is imported (a few bytes a node on disk
// would cost kilobytes each in Go).
func TestImportRefusesTooManyNodes(t *testing.T) {
	nodes := make([]*onnxpb.NodeProto, limits.MaxNodes+1)
	relu := &onnxpb.NodeProto{OpType: proto.String("Relu"), Input: []string{"x"}, Output: []string{"y"}}
	for i := range nodes {
		nodes[i] = relu
	}
	mp := &onnxpb.ModelProto{Graph: &onnxpb.GraphProto{Node: nodes}}
	_, err := fromProto(mp, "long.onnx", Options{})
	var fe *FormatError
	if !errors.As(err, &fe) || !errors.Is(err, limits.ErrTooLarge) || !strings.Contains(err.Error(), "convert: long.onnx: graph: 32769 nodes exceeds aebridge's limit of 32768 nodes") {
		t.Errorf("got %v, want a FormatError for the node count", err)
	}
}
