package export

import (
	"fmt"
	"io"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/atomicfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/trainer"
)

// Part selects which graph to write.
type Part string

// The parts of an autoencoder.
const (
	Full    Part = "full"    // x → x_hat
	Encoder Part = "encoder" // x → z
	Decoder Part = "decoder" // z → x_hat
)

// ParsePart checks a part name.
func ParsePart(s string) (Part, error) {
	switch p := Part(s); p {
	case Full, Encoder, Decoder:
		return p, nil
	}
	return "", fmt.Errorf("export: unknown part %q (want full, encoder or decoder)", s)
}

// The graphs' input and output names: the trainer's graph names them.
const (
	InputName     = trainer.GraphInput
	CodeName      = trainer.GraphCode
	OutputName    = trainer.GraphOutput
	MuName        = trainer.GraphMu     // variational encoders' outputs
	LogVarName    = trainer.GraphLogVar //
	ConditionName = trainer.GraphCondition
	BatchDim      = "batch"
)

// DefaultOpset is the opset the zero Writer uses.
const DefaultOpset = 13

// MinOpset and MaxOpset bound the opsets Writer accepts.
const (
	MinOpset = 11
	MaxOpset = 18
)

// Writer turns trainer models into ONNX. Its zero value writes opset 13
// with no training configuration recorded.
//
// The full model and the encoder also record the input-scaling rule (see
// runtime.InputScaling): a model with Training was trained here, on data
// that aebridge's loaders scale (uint8 divided by 255), so its
// runtime.InputScaleKey is "1/255"; without Training (a model from convert,
// trained elsewhere) it is "none". InputRange, when set, is recorded as
// runtime.InputRangeKey.
type Writer struct {
	Opset    int                  // 0 means DefaultOpset
	Training *trainer.TrainConfig // recorded in the metadata when not nil
	// InputRange is [min, max] of the (scaled) values the model was
	// trained on, or nil when unknown.
	InputRange []float64
}

// The metadata keys of the input-scaling rule, as runtime reads them.
const (
	InputScaleKey = "aebridge.input_scale"
	InputRangeKey = "aebridge.input_range"
)

// WriteFile writes part of m to path atomically with the zero Writer.
func WriteFile(path string, m *trainer.Model, part Part) error {
	var w Writer
	return w.WriteFile(path, m, part)
}

// WriteFile writes part of m to path atomically.
func (w Writer) WriteFile(path string, m *trainer.Model, part Part) error {
	b, err := w.Marshal(m, part)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, b)
}

// Encode writes part of m to out as a serialized ONNX ModelProto.
func (w Writer) Encode(out io.Writer, m *trainer.Model, part Part) error {
	b, err := w.Marshal(m, part)
	if err != nil {
		return err
	}
	_, err = out.Write(b)
	return err
}

// Marshal returns part of m as a serialized ONNX ModelProto.
func (w Writer) Marshal(m *trainer.Model, part Part) ([]byte, error) {
	mp, err := w.model(m, part)
	if err != nil {
		return nil, err
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(mp)
}

// irVersion is the lowest IR version that carries opset: ONNX's table of
// releases (IR 6: opset 11, IR 7: 12–14, IR 8: 15–18).
func irVersion(opset int) int64 {
	switch {
	case opset <= 11:
		return 6
	case opset <= 14:
		return 7
	}
	return 8
}

func (w Writer) model(m *trainer.Model, part Part) (*onnxpb.ModelProto, error) {
	if _, err := w.opset(); err != nil {
		return nil, err
	}
	return w.modelGraph(m, part)
}

// shortFloat formats v in the fewest digits that read back to it, as a
// float32 where v is one (0.2, not 0.20000000298023224).
func shortFloat(v float64) string {
	if float64(float32(v)) == v {
		return strconv.FormatFloat(v, 'g', -1, 32)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func product(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// IndicesName is the name of the graph input (decoder) or output (encoder)
// carrying the pooling indices of the named max-pooling layer, as float32,
// for models with an unpooling decoder.
func IndicesName(pool string) string { return "indices_" + pool }
