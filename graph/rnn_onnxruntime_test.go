//go:build cgo

package graph

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/runtime"
)

// rnnONNX runs the case's one-node LSTM or GRU model (layout 0, opset 14)
// in ONNX Runtime: X fed, the other inputs initializers (sequence_lens as
// int32, as ONNX types it), and returns Y, Y_h and Y_c (LSTM).
func rnnONNX(t *testing.T, c rnnCase, in []*Tensor) [][]float32 {
	t.Helper()
	m := rnnONNXModel(c, in)
	x := runtime.Tensor{Data: in[0].Data}
	for _, d := range in[0].Shape {
		x.Shape = append(x.Shape, int64(d))
	}
	var got [][]float32
	for _, o := range runModel(t, m, []runtime.Tensor{x}) {
		got = append(got, o.Data)
	}
	return got
}

// rnnONNXModel is rnnONNX's model.
func rnnONNXModel(c rnnCase, in []*Tensor) *onnxpb.ModelProto {
	op, outs := "LSTM", []string{"y", "yh", "yc"}
	if c.gru {
		op, outs = "GRU", outs[:2]
	}
	attrs := []*onnxpb.AttributeProto{intAttr("hidden_size", int64(c.hid)),
		{Name: proto.String("direction"), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(c.direction)}}
	if c.gru {
		attrs = append(attrs, intAttr("linear_before_reset", map[bool]int64{false: 0, true: 1}[c.lbr]))
	} else if c.inputForget {
		attrs = append(attrs, intAttr("input_forget", 1))
	}
	if c.clip > 0 {
		attrs = append(attrs, floatAttr("clip", c.clip))
	}
	g := &onnxpb.GraphProto{Name: proto.String(op)}
	node := &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String("n"), Output: outs, Attribute: attrs}
	names := []string{"x", "w", "r", "b", "lens", "h0", "c0", "p"}
	last := 0
	for k, v := range in {
		if v != nil {
			last = k
		}
	}
	for k := 0; k <= last; k++ {
		v := in[k]
		switch {
		case v == nil:
			node.Input = append(node.Input, "")
			continue
		case k == 0:
			g.Input = append(g.Input, valueInfo("x", v.Shape))
		case k == 4:
			lens := make([]int32, len(v.Int64))
			for i, l := range v.Int64 {
				lens[i] = int32(l)
			}
			g.Initializer = append(g.Initializer, &onnxpb.TensorProto{Name: proto.String("lens"), DataType: proto.Int32(int32(onnxpb.TensorProto_INT32)), Dims: []int64{int64(len(lens))}, Int32Data: lens})
		default:
			dims := make([]int64, len(v.Shape))
			for i, d := range v.Shape {
				dims[i] = int64(d)
			}
			g.Initializer = append(g.Initializer, &onnxpb.TensorProto{Name: proto.String(names[k]), DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Dims: dims, FloatData: slices.Clone(v.Data)})
		}
		node.Input = append(node.Input, names[k])
	}
	a := c.attrs()
	s := c.shapes()
	ys, hs, err := RNNShape(a, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])
	if err != nil {
		panic(err)
	}
	for k, name := range outs {
		shape := hs
		if k == 0 {
			shape = ys
		}
		g.Output = append(g.Output, valueInfo(name, shape))
	}
	g.Node = []*onnxpb.NodeProto{node}
	return &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(14)}}}
}

// TestRNNAgainstONNXRuntime runs every layout-0 case (ONNX Runtime runs no
// other) through ONNX Runtime and the kernels.
func TestRNNAgainstONNXRuntime(t *testing.T) {
	rng := rand.New(rand.NewPCG(155, 156))
	for _, c := range rnnCases {
		if c.layout != 0 {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			in := c.inputs(rng)
			y, yh, yc := rnnRun(c, new(Recurrence), in)
			want := rnnONNX(t, c, in)
			for k, got := range []*Tensor{y, yh, yc}[:len(want)] {
				checkClose(t, fmt.Sprintf("output %d", k), got.Data, want[k], 1e-5, 1e-5)
			}
		})
	}
}

// BenchmarkLSTMForwardONNXRuntime runs BenchmarkLSTMForward's layers
// (Forward only) in ONNX Runtime, for the ratio.
func BenchmarkLSTMForwardONNXRuntime(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range rnnBenchCases {
		in := c.inputs(rng)
		m := rnnONNXModel(c, in)
		path := filepath.Join(b.TempDir(), "node.onnx")
		if err := onnxfile.Save(path, m); err != nil {
			b.Fatal(err)
		}
		sess, err := runtime.Open(path, runtime.WithThreads(2))
		if err != nil {
			b.Fatal(err)
		}
		x := runtime.Tensor{Data: in[0].Data}
		for _, d := range in[0].Shape {
			x.Shape = append(x.Shape, int64(d))
		}
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := sess.Run(x); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c.batch)*float64(b.N)/b.Elapsed().Seconds(), "sequences/s")
		})
		sess.Close()
	}
}
