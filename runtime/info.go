package runtime

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

// Dim is one dimension of an input or output.
type Dim struct {
	Size int64  `json:"size"`           // the fixed size, or -1 when the dimension is dynamic
	Name string `json:"name,omitempty"` // the symbolic name the file gives a dynamic dimension ("batch"), or ""
}

func (d Dim) String() string {
	switch {
	case d.Size >= 0:
		return fmt.Sprint(d.Size)
	case d.Name != "":
		return d.Name
	}
	return "?"
}

// IO describes one input or output of a model.
type IO struct {
	Name     string `json:"name"`
	Type     string `json:"type"`      // element type, NumPy-style: "float32", "int64", ...
	Shape    []Dim  `json:"shape"`     // nil when the file does not give the rank
	HasShape bool   `json:"has_shape"` // whether the file gives the shape at all
}

// ShapeString formats the shape as "[batch 784]", or "[unknown]".
func (io IO) ShapeString() string {
	if !io.HasShape {
		return "[unknown]"
	}
	s := make([]string, len(io.Shape))
	for i, d := range io.Shape {
		s[i] = d.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}

// Opset is one operator set the model imports.
type Opset struct {
	Domain  string `json:"domain"` // "" for the default ONNX domain
	Version int64  `json:"version"`
}

// Info describes a model file: what the file says, read without ONNX
// Runtime.
type Info struct {
	Path            string            `json:"path"`
	IRVersion       int64             `json:"ir_version"`
	Producer        string            `json:"producer"`
	ProducerVersion string            `json:"producer_version"`
	Domain          string            `json:"domain"`
	ModelVersion    int64             `json:"model_version"`
	Doc             string            `json:"doc"`
	Opsets          []Opset           `json:"opsets"`
	Inputs          []IO              `json:"inputs"`
	Outputs         []IO              `json:"outputs"`
	Metadata        map[string]string `json:"metadata"`      // custom metadata_props
	Parameters      int64             `json:"parameters"`    // elements in the main graph's initializers
	Nodes           int               `json:"nodes"`         // nodes, subgraphs included
	Ops             map[string]int    `json:"ops"`           // node count per operator ("Conv", "com.microsoft::Gelu")
	ExternalData    []string          `json:"external_data"` // side files holding weights, relative to the model
}

// Inspect reads the model file at path and describes it. It does not load
// ONNX Runtime, nor the weights in external data files (it checks that their
// references stay in the model's folder).
func Inspect(path string) (*Info, error) {
	m, err := onnxfile.LoadStructure(path)
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	return describe(path, m), nil
}

func describe(path string, m *onnxpb.ModelProto) *Info {
	g := m.Graph
	info := &Info{
		Path:            path,
		IRVersion:       m.GetIrVersion(),
		Producer:        m.GetProducerName(),
		ProducerVersion: m.GetProducerVersion(),
		Domain:          m.GetDomain(),
		ModelVersion:    m.GetModelVersion(),
		Doc:             m.GetDocString(),
		Metadata:        map[string]string{},
		Ops:             map[string]int{},
		ExternalData:    onnxfile.ExternalFiles(m),
	}
	for _, o := range m.OpsetImport {
		d := o.GetDomain()
		if d == "ai.onnx" {
			d = ""
		}
		info.Opsets = append(info.Opsets, Opset{Domain: d, Version: o.GetVersion()})
	}
	sort.Slice(info.Opsets, func(i, j int) bool { return info.Opsets[i].Domain < info.Opsets[j].Domain })
	for _, kv := range m.MetadataProps {
		info.Metadata[kv.GetKey()] = kv.GetValue()
	}
	inits := map[string]bool{}
	for _, t := range g.Initializer {
		inits[t.GetName()] = true
		info.Parameters += onnxfile.ElementCount(t)
	}
	// Before IR version 4, initializers were also listed as graph inputs.
	for _, vi := range g.Input {
		if !inits[vi.GetName()] {
			info.Inputs = append(info.Inputs, ioOf(vi))
		}
	}
	for _, vi := range g.Output {
		info.Outputs = append(info.Outputs, ioOf(vi))
	}
	countOps(g, info)
	return info
}

func countOps(g *onnxpb.GraphProto, info *Info) {
	for _, n := range g.Node {
		op := n.GetOpType()
		if d := n.GetDomain(); d != "" && d != "ai.onnx" {
			op = d + "::" + op
		}
		info.Ops[op]++
		info.Nodes++
		for _, a := range n.Attribute {
			if a.G != nil {
				countOps(a.G, info)
			}
			for _, sg := range a.Graphs {
				countOps(sg, info)
			}
		}
	}
}

func ioOf(vi *onnxpb.ValueInfoProto) IO {
	io := IO{Name: vi.GetName(), Type: "unknown"}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return io
	}
	io.Type = onnxfile.DataTypeName(tt.GetElemType())
	if tt.Shape == nil {
		return io
	}
	io.HasShape = true
	io.Shape = make([]Dim, len(tt.Shape.Dim))
	for i, d := range tt.Shape.Dim {
		switch v := d.Value.(type) {
		case *onnxpb.TensorShapeProto_Dimension_DimValue:
			io.Shape[i] = Dim{Size: v.DimValue}
		case *onnxpb.TensorShapeProto_Dimension_DimParam:
			io.Shape[i] = Dim{Size: -1, Name: v.DimParam}
		default:
			io.Shape[i] = Dim{Size: -1}
		}
	}
	return io
}

// The metadata keys that carry a model's input-scaling rule. aebridge's
// exporter writes them on the graphs whose first input is the data (the full
// model and the encoder); see InputScaling.
const (
	// InputScaleKey says how 8-bit (uint8) input is scaled before it is fed:
	// "1/255" (divided by 255, as aebridge's trainer scales its data) or
	// "none" (fed unchanged).
	InputScaleKey = "aebridge.input_scale"
	// InputRangeKey gives the range of the values the model was trained on,
	// as a JSON pair "[0,1]".
	InputRangeKey = "aebridge.input_range"
)

// InputScaling is a model's rule for feeding its data input, read from its
// metadata.
type InputScaling struct {
	// Input is the input the rule is for (the model's first input), or ""
	// when the model records no rule.
	Input string
	// Divisor divides uint8 values before they are fed to Input (255);
	// 0 means they are fed unchanged.
	Divisor float32
	// Range is [min, max] of the values the model was trained on, or nil
	// when the model does not record it.
	Range []float64
}

// InputScaling reads the model's input-scaling rule: the InputScaleKey and
// InputRangeKey metadata when present. A model aebridge exported before it
// recorded the rule (producer "aebridge", a graph other than a decoder,
// first input "x") gets aebridge's rule, uint8 divided by 255. Any other
// model records no rule: the zero InputScaling. A malformed value is an
// error naming the key and the value.
func (info *Info) InputScaling() (InputScaling, error) {
	var s InputScaling
	if len(info.Inputs) == 0 {
		return s, nil
	}
	first := info.Inputs[0].Name
	v, ok := info.Metadata[InputScaleKey]
	if !ok {
		if info.Producer == "aebridge" && info.Metadata["part"] != "decoder" && first == "x" {
			s.Input, s.Divisor = first, 255
		}
		return s, nil
	}
	s.Input = first
	switch num, isRatio := strings.CutPrefix(v, "1/"); {
	case v == "none":
	case isRatio:
		d, err := strconv.ParseFloat(num, 32)
		if err != nil || !(d > 0) || math.IsInf(d, 0) {
			return InputScaling{}, fmt.Errorf("runtime: %s: metadata %s = %q: want \"1/255\" or \"none\"", info.Path, InputScaleKey, v)
		}
		s.Divisor = float32(d)
	default:
		return InputScaling{}, fmt.Errorf("runtime: %s: metadata %s = %q: want \"1/255\" or \"none\"", info.Path, InputScaleKey, v)
	}
	if r, ok := info.Metadata[InputRangeKey]; ok {
		var pair []float64
		if err := json.Unmarshal([]byte(r), &pair); err != nil || len(pair) != 2 || !(pair[0] <= pair[1]) ||
			math.IsInf(pair[0], 0) || math.IsInf(pair[1], 0) {
			return InputScaling{}, fmt.Errorf("runtime: %s: metadata %s = %q: want a pair [min,max] of finite numbers, min ≤ max", info.Path, InputRangeKey, r)
		}
		s.Range = pair
	}
	return s, nil
}

// FitShape gives samples x the per-sample shape of the input io when that
// is fixed and holds as many values, as aebridge's loaders flatten images:
// (N, 28, 28) for (batch, 784), or (N, 784) for (batch, 1, 28, 28). It
// returns anything else as it is, for the model to check. The data are
// shared, not copied.
func (io IO) FitShape(x Tensor) Tensor {
	if shape, ok := io.fit(x.Shape, int64(len(x.Data))); ok {
		return Tensor{Shape: shape, Data: x.Data}
	}
	return x
}

// FitValue is FitShape for a value of any element type.
func (io IO) FitValue(v Value) Value {
	if shape, ok := io.fit(v.Shape, int64(v.Len())); ok {
		return Value{Shape: shape, Data: v.Data}
	}
	return v
}

// fit is the shape FitShape gives n values of the given shape, or false.
func (io IO) fit(shape []int64, n int64) ([]int64, bool) {
	if !io.HasShape || len(io.Shape) < 2 || len(shape) < 2 {
		return nil, false
	}
	want := int64(1)
	dims := []int64{shape[0]}
	for _, d := range io.Shape[1:] {
		if d.Size <= 0 {
			return nil, false
		}
		want *= d.Size
		dims = append(dims, d.Size)
	}
	if n != shape[0]*want {
		return nil, false
	}
	return dims, true
}
