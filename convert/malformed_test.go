package convert

import (
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

func loadFixture(t testing.TB, name string) *onnxpb.ModelProto {
	t.Helper()
	mp, err := onnxfile.Load(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return mp
}

// nodeNamed returns the graph's node of that name.
func nodeNamed(t *testing.T, mp *onnxpb.ModelProto, name string) *onnxpb.NodeProto {
	t.Helper()
	for _, n := range mp.Graph.Node {
		if n.GetName() == name {
			return n
		}
	}
	t.Fatalf("no node %q", name)
	return nil
}

func setInts(n *onnxpb.NodeProto, name string, v ...int64) {
	for _, a := range n.Attribute {
		if a.GetName() == name {
			a.Ints = v
			return
		}
	}
	n.Attribute = append(n.Attribute, &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v})
}

func setInt(n *onnxpb.NodeProto, name string, v int64) {
	for _, a := range n.Attribute {
		if a.GetName() == name {
			a.I = proto.Int64(v)
			return
		}
	}
	n.Attribute = append(n.Attribute, &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)})
}

// insertAfter puts node m into the graph after the node named after.
func insertAfter(t *testing.T, mp *onnxpb.ModelProto, after string, m *onnxpb.NodeProto) {
	t.Helper()
	for i, n := range mp.Graph.Node {
		if n.GetName() == after {
			mp.Graph.Node = append(mp.Graph.Node[:i+1], append([]*onnxpb.NodeProto{m}, mp.Graph.Node[i+1:]...)...)
			return
		}
	}
	t.Fatalf("no node %q", after)
}

func newNode(op, name string, inputs []string, outputs ...string) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: inputs, Output: outputs}
}

// TestMalformedGraphsGiveFormatErrors mutates valid PyTorch exports into
// the small malformed graphs that made the importer panic (index out of
// range, nil attribute, division by zero, slices.Max of nothing) or answer
// with the wrong error, and checks that each gives a *FormatError naming
// the node, its op and the field at fault.
func TestMalformedGraphsGiveFormatErrors(t *testing.T) {
	tests := []struct {
		name, fixture string
		mutate        func(t *testing.T, mp *onnxpb.ModelProto)
		node, op      string // the node the error names
		field         string
		wantSub       string
	}{
		{"Reshape without its shape input", "conv_unflatten_ae.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			n := nodeNamed(t, mp, "/Reshape")
			n.Input = n.Input[:1]
		}, "/Reshape", "Reshape", "input 1", "takes at least 2 inputs, the node has 1"},
		{"Relu without outputs", "mlp_ae.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			for _, n := range mp.Graph.Node {
				if n.GetOpType() == "Relu" {
					n.Output = nil
					return
				}
			}
		}, "", "Relu", "output 0", "no first output"},
		{"MaxUnpool without indices", "conv_keras_ae.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			nodeNamed(t, mp, "/net/net.4/Relu").OpType = proto.String("MaxUnpool")
		}, "/net/net.4/Relu", "MaxUnpool", "input 1", "takes at least 2 inputs"},
		{"Identity of nothing", "mlp_ae.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			mp.Graph.Node = append([]*onnxpb.NodeProto{newNode("Identity", "empty", nil, "e")}, mp.Graph.Node...)
		}, "empty", "Identity", "input 0", "takes at least 1 inputs, the node has 0"},
		{"Div of the GELU pattern with one input", "activations_ae.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			for _, n := range mp.Graph.Node {
				if n.GetOpType() == "Div" {
					n.Name = proto.String("div")
					n.Input = n.Input[:1]
				}
			}
		}, "div", "Div", "input 1", "takes at least 2 inputs"},
		{"BatchNormalization without its variance", "mlp_batchnorm_ae.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			for _, n := range mp.Graph.Node {
				if n.GetOpType() == "BatchNormalization" {
					n.Name = proto.String("bn")
					n.Input = n.Input[:4]
					return
				}
			}
		}, "bn", "BatchNormalization", "input 4", "takes at least 5 inputs"},
		{"Slice with starts but no ends", "conv_dense_ae.opset9.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			s := newNode("Slice", "slice", []string{"/Shape_output_0"}, "sliced")
			setInts(s, "starts", 1)
			insertAfter(t, mp, "/Shape", s)
		}, "slice", "Slice", "attribute ends", "missing"},
		{"Add of an empty shape value and a shape", "conv_dense_ae.opset9.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			s := newNode("Slice", "slice", []string{"/Shape_output_0"}, "empty")
			setInts(s, "starts", 2)
			setInts(s, "ends", 1)
			insertAfter(t, mp, "/Shape", s)
			insertAfter(t, mp, "slice", newNode("Add", "add", []string{"empty", "/Shape_output_0"}, "sum"))
		}, "add", "Add", "input 1", "shape values of 0 and 4 entries do not broadcast"},
		{"MaxPool with ceil_mode and zero strides", "conv_keras_ae.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			setInts(nodeNamed(t, mp, "/net/net.2/MaxPool"), "strides", 0, 0)
		}, "/net/net.2/MaxPool", "MaxPool", "attribute strides", "[0 0]: values must be at least 1"},
		{"MaxPool with ceil_mode and one stride for two axes", "conv_keras_ae.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			setInts(nodeNamed(t, mp, "/net/net.2/MaxPool"), "strides", 2)
		}, "/net/net.2/MaxPool", "MaxPool", "attribute strides", "has 1 values, want 2"},
		{"MaxPool with ceil_mode and short pads", "conv_keras_ae.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			setInts(nodeNamed(t, mp, "/net/net.2/MaxPool"), "pads", 0, 0)
		}, "/net/net.2/MaxPool", "MaxPool", "attribute pads", "has 2 values, want 4"},
		{"MaxPool with empty dilations", "conv_keras_ae.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			setInts(nodeNamed(t, mp, "/net/net.2/MaxPool"), "dilations")
		}, "/net/net.2/MaxPool", "MaxPool", "attribute dilations", "has 0 values, want 2"},
		{"AveragePool after a Pad with pads longer than the rank", "conv1d_ae.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			setInts(nodeNamed(t, mp, "/encoder/encoder.2/AveragePool"), "pads", 0, 0, 0, 0)
		}, "/encoder/encoder.2/AveragePool", "AveragePool", "attribute pads", "has 4 values, want 2"},
		{"Conv with pads longer than the rank", "conv1d_ae.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			setInts(nodeNamed(t, mp, "/encoder/encoder.0/Conv"), "pads", 2, 2, 2, 2)
		}, "/encoder/encoder.0/Conv", "Conv", "attribute pads", "has 4 values, want 2"},
		{"Conv kernel_shape other than the weight's", "conv_keras_ae.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			setInts(nodeNamed(t, mp, "/net/net.0/Conv"), "kernel_shape", 5, 5)
		}, "/net/net.0/Conv", "Conv", "attribute kernel_shape", "[5 5], but the weight is [4 1 3 3]"},
		{"Conv in zero groups", "conv_keras_ae.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			setInt(nodeNamed(t, mp, "/net/net.3/Conv"), "group", 0)
		}, "/net/net.3/Conv", "Conv", "attribute group", "0 groups for 4 input channels"},
		{"Gemm bias of the wrong size", "mlp_ae.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			for _, init := range mp.Graph.Initializer {
				if strings.HasSuffix(init.GetName(), "bias") {
					init.Dims = []int64{1}
					init.RawData = init.RawData[:4]
					return
				}
			}
		}, "", "Gemm", "input 2", "does not fit weight"},
		{"Reshape to negative sizes", "conv_unflatten_ae.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			c := nodeNamed(t, mp, "/Constant")
			// (batch, −2, −4, 4, 4) holds the 128 features only by the sign.
			c.Attribute[0].T = &onnxpb.TensorProto{Dims: []int64{5}, DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: []int64{-1, -2, -4, 4, 4}}
		}, "/Reshape", "Reshape", "input 1", "entry -2"},
		{"Slice with starts but no ends input", "mlp_ae.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			for _, n := range mp.Graph.Node {
				if n.GetOpType() == "Relu" {
					n.OpType, n.Name = proto.String("Slice"), proto.String("slice")
					n.Input = append(n.Input, mp.Graph.Initializer[0].GetName())
					return
				}
			}
		}, "slice", "Slice", "input 2", "Slice needs starts and ends"},
		{"Concat on axis -7 of a rank-2 tensor", "cvae_decoder.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			for _, n := range mp.Graph.Node {
				if n.GetOpType() == "Concat" {
					n.Name = proto.String("concat")
					setInt(n, "axis", -7)
				}
			}
		}, "concat", "Concat", "attribute axis", "-7 is out of range for rank 2"},
		{"Conv with zero strides", "conv_keras_ae.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			setInts(nodeNamed(t, mp, "/net/net.0/Conv"), "strides", 0, 0)
		}, "/net/net.0/Conv", "Conv", "attribute strides", "[0 0]: values must be at least 1"},
		{"Reshape to an empty shape", "conv_unflatten_ae.opset13.onnx", func(t *testing.T, mp *onnxpb.ModelProto) {
			nodeNamed(t, mp, "/Constant").Attribute[0].T = &onnxpb.TensorProto{Dims: []int64{0}, DataType: proto.Int32(int32(onnxpb.TensorProto_INT64))}
		}, "/Reshape", "Reshape", "input 1", "empty target shape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp := loadFixture(t, tt.fixture)
			tt.mutate(t, mp)
			_, err := fromProto(mp, tt.fixture, Options{})
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v (%T), want a *FormatError", err, err)
			}
			if fe.Node.Op != tt.op || (tt.node != "" && fe.Node.Name != tt.node) || fe.Field != tt.field || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("got %v (node %s %q, field %q), want node %s %q, field %q and %q", err, fe.Node.Op, fe.Node.Name, fe.Field, tt.op, tt.node, tt.field, tt.wantSub)
			}
		})
	}
}

// TestImportRefusesHugeInitializers: an initializer whose dims claim 10¹²
// elements, backed by a few bytes, is a FormatError naming it, and
// importing it allocates little.
func TestImportRefusesHugeInitializers(t *testing.T) {
	mp := loadFixture(t, "mlp_ae.opset13.onnx")
	w := mp.Graph.Initializer[0]
	w.Dims = []int64{1000000, 1000000}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := fromProto(mp, "huge.onnx", Options{})
	runtime.ReadMemStats(&after)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Tensor != w.GetName() || !strings.Contains(err.Error(), "exceeds aebridge's limit") {
		t.Errorf("got %v, want a FormatError on tensor %q saying it exceeds the limit", err, w.GetName())
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
		t.Errorf("allocated %d bytes, want under 64 MiB", n)
	}
}

// TestPadOfNothingOnFlatFeatures: a Pad of zeros on (batch, features) is a
// no-op (it made the importer take slices.Max of no spatial pads).
func TestPadOfNothingOnFlatFeatures(t *testing.T) {
	mp := loadFixture(t, "mlp_ae.opset13.onnx")
	first := mp.Graph.Node[0]
	out := first.Output[0]
	first.Output[0] = "unpadded"
	p := newNode("Pad", "pad", []string{"unpadded"}, out)
	setInts(p, "pads", 0, 0, 0, 0)
	insertAfter(t, mp, first.GetName(), p)
	m, err := fromProto(mp, "pad.onnx", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := loadFixture(t, "mlp_ae.opset13.onnx")
	orig, err := fromProto(want, "mlp.onnx", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Model.String(), orig.Model.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
