package runtime

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

// Two kinds of output onnxruntime_go cannot hand back as they are, and the
// copy of the graph the session runs instead, with nodes added for them:
//
//   - An output whose shape the file does not give may be a scalar, of
//     rank 0, and onnxruntime_go's tensors have one dimension or more (it
//     fails, leaving a nil tensor behind). Such an output y is fetched as
//     two: Reshape(y, [-1]), its values, and Shape(y), its shape; run puts
//     them back together, so that the caller gets y with the shape ONNX
//     Runtime computed, [] for a scalar. Such a session runs without ONNX
//     Runtime's graph optimisations, which would fold Shape(y) from the
//     inferred shape rather than the computed one (they differ for some
//     models: a wrong shape, silently).
//   - A float16 output that ONNX Runtime allocates comes back from
//     onnxruntime_go sized in elements instead of bytes, and fails. It is
//     fetched as Cast(y, float32), which is exact, and converted back
//     (HalfOf gives each value its own bits again; a NaN stays a NaN).

// slot is where output j's values (data) and shape (shape, or -1) are in
// the session's fetches, and whether they are float16 fetched as float32.
type slot struct {
	data, shape int
	half        bool
}

// slots assigns the session's fetches to the outputs: one each, two for an
// output of tensor type without a shape in a graph whose default opset has
// Reshape with a shape input (5 and later); float16 ones are cast where
// Cast takes its type as a number (opset 6 and later).
func slots(info *Info) ([]slot, int) {
	opset := int64(0)
	for _, o := range info.Opsets {
		if o.Domain == "" {
			opset = o.Version
		}
	}
	s := make([]slot, len(info.Outputs))
	k := 0
	for j, o := range info.Outputs {
		s[j] = slot{data: k, shape: -1, half: o.Type == string(Float16) && opset >= 6}
		k++
		if o.Type != "unknown" && (!o.HasShape || len(o.Shape) == 0) && opset >= 5 {
			s[j].shape = k
			k++
		}
	}
	return s, k
}

// fetchNames are the names of the session's fetches.
func fetchNames(info *Info, s []slot, n int) []string {
	names := make([]string, n)
	for j, o := range info.Outputs {
		switch {
		case s[j].shape >= 0:
			names[s[j].data], names[s[j].shape] = flatName(j), shapeName(j)
		case s[j].half:
			names[s[j].data] = castName(j)
		default:
			names[s[j].data] = o.Name
		}
	}
	return names
}

// shapeFetched reports whether a Shape node fetches an output's shape: the
// session then runs unoptimised (see newSession).
func shapeFetched(s []slot) bool {
	for _, x := range s {
		if x.shape >= 0 {
			return true
		}
	}
	return false
}

// wrapped reports whether the session runs a copy of the graph.
func wrapped(s []slot) bool {
	for _, x := range s {
		if x.shape >= 0 || x.half {
			return true
		}
	}
	return false
}

func flatName(j int) string  { return fmt.Sprintf("aebridge.runtime.flat.%d", j) }
func shapeName(j int) string { return fmt.Sprintf("aebridge.runtime.shape.%d", j) }
func castName(j int) string  { return fmt.Sprintf("aebridge.runtime.float32.%d", j) }

// wrapOutputs returns the model at path, external data loaded in, with the
// Cast, Reshape and Shape nodes of the outputs s fetches otherwise,
// serialized.
func wrapOutputs(path string, info *Info, s []slot) ([]byte, error) {
	load := onnxfile.LoadStructure
	if len(info.ExternalData) > 0 {
		load = onnxfile.Load // ONNX Runtime reads the bytes: no folder to find side files in
	}
	m, err := load(path)
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	g := m.Graph
	for j, o := range info.Outputs {
		src := o.Name
		if s[j].half {
			src = castName(j)
			g.Node = append(g.Node, &onnxpb.NodeProto{OpType: proto.String("Cast"), Name: proto.String(src), Input: []string{o.Name}, Output: []string{src},
				Attribute: []*onnxpb.AttributeProto{{Name: proto.String("to"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(int64(onnxpb.TensorProto_FLOAT))}}})
			if s[j].shape < 0 {
				g.Output = append(g.Output, &onnxpb.ValueInfoProto{Name: proto.String(src)})
			}
		}
		if s[j].shape < 0 {
			continue
		}
		minus1 := fmt.Sprintf("aebridge.runtime.minus1.%d", j)
		g.Initializer = append(g.Initializer, &onnxpb.TensorProto{
			Name: proto.String(minus1), DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Dims: []int64{1}, Int64Data: []int64{-1},
		})
		g.Node = append(g.Node,
			&onnxpb.NodeProto{OpType: proto.String("Reshape"), Name: proto.String(flatName(j)), Input: []string{src, minus1}, Output: []string{flatName(j)}},
			&onnxpb.NodeProto{OpType: proto.String("Shape"), Name: proto.String(shapeName(j)), Input: []string{o.Name}, Output: []string{shapeName(j)}},
		)
		g.Output = append(g.Output, &onnxpb.ValueInfoProto{Name: proto.String(flatName(j))}, &onnxpb.ValueInfoProto{Name: proto.String(shapeName(j))})
	}
	data, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("runtime: %s: %w", path, err)
	}
	return data, nil
}
