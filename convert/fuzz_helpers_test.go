package convert

import (
	"errors"
	"math"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

// fuzzFixtures are the valid graphs FuzzImport mutates: every pattern the
// importer knows appears in one of them.
var fuzzFixtures = []string{
	"mlp_ae.opset13.onnx", "tied_ae.opset13.onnx", "vae_encoder.opset13.onnx", "vae_mean.opset9.onnx",
	"cvae_decoder.opset13.onnx", "mlp_batchnorm_ae.opset13.onnx", "activations_ae.opset13.onnx",
	"conv_keras_ae.opset13.onnx", "conv_upsample_ae.opset9.onnx", "conv_dense_ae.opset9.onnx",
	"conv_dense_ae.opset13.onnx", "conv_unflatten_ae.opset13.onnx", "conv_transposed_ae.opset13.onnx",
	"conv1d_ae.opset13.onnx", "conv1d_ae.opset9.onnx",
}

// fuzzBytes hands out the fuzzer's bytes as choices; past the end every
// choice is 0.
type fuzzBytes struct{ b []byte }

func (f *fuzzBytes) next() int {
	if len(f.b) == 0 {
		return 0
	}
	c := f.b[0]
	f.b = f.b[1:]
	return int(c)
}

// intn returns a choice in [0, n) (0 for n ≤ 0).
func (f *fuzzBytes) intn(n int) int {
	if n <= 0 {
		return 0
	}
	return (f.next()<<8 | f.next()) % n
}

var fuzzInts = []int64{-2, -1, 0, 1, 2, 3, 4, 7, 16, 1 << 31, 1 << 40, -1 << 40, 1<<63 - 1}
var fuzzFloats = []float32{0, 1, -1, 0.5, 2, 1e-5, 1e30, float32(math.Inf(1)), float32(math.NaN())}
var fuzzOps = []string{"Identity", "Dropout", "Relu", "Sigmoid", "Tanh", "Gemm", "MatMul", "Add", "Mul", "Div", "Sub",
	"Conv", "ConvTranspose", "BatchNormalization", "MaxPool", "AveragePool", "MaxUnpool", "Resize", "Upsample",
	"Flatten", "Reshape", "Concat", "Pad", "Shape", "Gather", "Slice", "Unsqueeze", "Squeeze", "Cast", "Constant",
	"Transpose", "Erf", "Gelu", "LeakyRelu", "Elu", "Softplus", "Mod", "LSTM"}
var fuzzAttrs = []string{"kernel_shape", "strides", "pads", "dilations", "group", "ceil_mode", "axis", "axes", "perm",
	"starts", "ends", "output_padding", "transB", "alpha", "beta", "epsilon", "scales", "count_include_pad", "to"}

// names lists every tensor name the graph mentions.
func names(g *onnxpb.GraphProto) []string {
	var out []string
	for _, vi := range g.Input {
		out = append(out, vi.GetName())
	}
	for _, t := range g.Initializer {
		out = append(out, t.GetName())
	}
	for _, n := range g.Node {
		out = append(out, n.Output...)
	}
	return append(out, "")
}

// mutate changes one thing in the graph, as the bytes choose.
func mutate(g *onnxpb.GraphProto, r *fuzzBytes) {
	if len(g.Node) == 0 {
		return
	}
	n := g.Node[r.intn(len(g.Node))]
	all := names(g)
	switch r.intn(16) {
	case 0: // drop an input
		if len(n.Input) > 0 {
			k := r.intn(len(n.Input))
			n.Input = append(n.Input[:k:k], n.Input[k+1:]...)
		}
	case 1: // duplicate an input
		if len(n.Input) > 0 {
			n.Input = append(n.Input, n.Input[r.intn(len(n.Input))])
		}
	case 2: // drop or add an output
		if len(n.Output) > 0 && r.intn(2) == 0 {
			k := r.intn(len(n.Output))
			n.Output = append(n.Output[:k:k], n.Output[k+1:]...)
		} else {
			n.Output = append(n.Output, all[r.intn(len(all))])
		}
	case 3: // an int attribute
		if len(n.Attribute) > 0 {
			a := n.Attribute[r.intn(len(n.Attribute))]
			a.I = proto.Int64(fuzzInts[r.intn(len(fuzzInts))])
		}
	case 4: // a float attribute
		if len(n.Attribute) > 0 {
			a := n.Attribute[r.intn(len(n.Attribute))]
			a.F = proto.Float32(fuzzFloats[r.intn(len(fuzzFloats))])
		}
	case 5: // an ints attribute: its length or a value
		if len(n.Attribute) > 0 {
			a := n.Attribute[r.intn(len(n.Attribute))]
			switch r.intn(3) {
			case 0:
				if len(a.Ints) > 0 {
					a.Ints = a.Ints[:r.intn(len(a.Ints))]
				}
			case 1:
				a.Ints = append(a.Ints, fuzzInts[r.intn(len(fuzzInts))])
			default:
				if len(a.Ints) > 0 {
					a.Ints[r.intn(len(a.Ints))] = fuzzInts[r.intn(len(fuzzInts))]
				}
			}
		}
	case 6: // a floats attribute
		if len(n.Attribute) > 0 {
			a := n.Attribute[r.intn(len(n.Attribute))]
			if r.intn(2) == 0 && len(a.Floats) > 0 {
				a.Floats = a.Floats[:r.intn(len(a.Floats))]
			} else {
				a.Floats = append(a.Floats, fuzzFloats[r.intn(len(fuzzFloats))])
			}
		}
	case 7: // add an attribute
		a := &onnxpb.AttributeProto{Name: proto.String(fuzzAttrs[r.intn(len(fuzzAttrs))])}
		switch r.intn(3) {
		case 0:
			a.Type, a.I = onnxpb.AttributeProto_INT.Enum(), proto.Int64(fuzzInts[r.intn(len(fuzzInts))])
		case 1:
			a.Type = onnxpb.AttributeProto_INTS.Enum()
			for k := r.intn(5); k > 0; k-- {
				a.Ints = append(a.Ints, fuzzInts[r.intn(len(fuzzInts))])
			}
		default:
			a.Type, a.F = onnxpb.AttributeProto_FLOAT.Enum(), proto.Float32(fuzzFloats[r.intn(len(fuzzFloats))])
		}
		n.Attribute = append(n.Attribute, a)
	case 8: // drop an attribute
		if len(n.Attribute) > 0 {
			k := r.intn(len(n.Attribute))
			n.Attribute = append(n.Attribute[:k:k], n.Attribute[k+1:]...)
		}
	case 9: // change the op type
		n.OpType = proto.String(fuzzOps[r.intn(len(fuzzOps))])
	case 10: // rewire an input
		if len(n.Input) > 0 {
			n.Input[r.intn(len(n.Input))] = all[r.intn(len(all))]
		}
	case 11: // an initializer's dims
		if len(g.Initializer) > 0 {
			t := g.Initializer[r.intn(len(g.Initializer))]
			switch r.intn(3) {
			case 0:
				if len(t.Dims) > 0 {
					t.Dims[r.intn(len(t.Dims))] = fuzzInts[r.intn(len(fuzzInts))]
				}
			case 1:
				t.Dims = append(t.Dims, fuzzInts[r.intn(len(fuzzInts))])
			default:
				if len(t.Dims) > 0 {
					t.Dims = t.Dims[:r.intn(len(t.Dims))]
				}
			}
		}
	case 12: // an initializer's raw data length
		if len(g.Initializer) > 0 {
			t := g.Initializer[r.intn(len(g.Initializer))]
			if r.intn(2) == 0 && len(t.RawData) > 0 {
				t.RawData = t.RawData[:r.intn(len(t.RawData))]
			} else {
				t.RawData = append(t.RawData, make([]byte, 1+r.intn(16))...)
			}
		}
	case 13: // a graph input's or output's shape
		vis := append(append([]*onnxpb.ValueInfoProto(nil), g.Input...), g.Output...)
		if len(vis) == 0 {
			return
		}
		vi := vis[r.intn(len(vis))]
		s := vi.GetType().GetTensorType().GetShape()
		if s == nil {
			return
		}
		switch r.intn(3) {
		case 0:
			if len(s.Dim) > 0 {
				s.Dim[r.intn(len(s.Dim))].Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: fuzzInts[r.intn(len(fuzzInts))]}
			}
		case 1:
			s.Dim = append(s.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: fuzzInts[r.intn(len(fuzzInts))]}})
		default:
			if len(s.Dim) > 0 {
				s.Dim = s.Dim[:r.intn(len(s.Dim))]
			}
		}
	case 14: // drop or duplicate a node
		k := r.intn(len(g.Node))
		if r.intn(2) == 0 {
			g.Node = append(g.Node[:k:k], g.Node[k+1:]...)
		} else {
			g.Node = append(g.Node[:k+1:k+1], g.Node[k:]...)
		}
	default: // a Constant's or an int initializer's values
		for _, a := range n.Attribute {
			if t := a.T; t != nil && len(t.RawData) >= 8 && t.GetDataType() == int32(onnxpb.TensorProto_INT64) {
				k := r.intn(len(t.RawData) / 8)
				v := uint64(fuzzInts[r.intn(len(fuzzInts))])
				for b := 0; b < 8; b++ {
					t.RawData[8*k+b] = byte(v >> (8 * b))
				}
			}
		}
	}
}

// typedError reports whether err is one of the errors a reader of
// untrusted models returns: a *FormatError, an *UnsupportedError, or
// onnxfile's *FormatError.
func typedError(err error) bool {
	var fe *FormatError
	var ue *UnsupportedError
	var oe *onnxfile.FormatError
	return errors.As(err, &fe) || errors.As(err, &ue) || errors.As(err, &oe)
}

const fixtures = "../testdata/pytorch"

func loadFixture(t testing.TB, name string) *onnxpb.ModelProto {
	t.Helper()
	mp, err := onnxfile.Load(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return mp
}
