package onnxfile

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/aebridge/aebridge/internal/half"
	"github.com/aebridge/aebridge/internal/limits"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

// DataTypeName gives the NumPy-style name of an ONNX element type, such as
// "float32" for TensorProto.FLOAT.
func DataTypeName(dt int32) string {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_FLOAT:
		return "float32"
	case onnxpb.TensorProto_DOUBLE:
		return "float64"
	case onnxpb.TensorProto_FLOAT16:
		return "float16"
	case onnxpb.TensorProto_BFLOAT16:
		return "bfloat16"
	case onnxpb.TensorProto_INT8:
		return "int8"
	case onnxpb.TensorProto_INT16:
		return "int16"
	case onnxpb.TensorProto_INT32:
		return "int32"
	case onnxpb.TensorProto_INT64:
		return "int64"
	case onnxpb.TensorProto_UINT8:
		return "uint8"
	case onnxpb.TensorProto_UINT16:
		return "uint16"
	case onnxpb.TensorProto_UINT32:
		return "uint32"
	case onnxpb.TensorProto_UINT64:
		return "uint64"
	case onnxpb.TensorProto_BOOL:
		return "bool"
	case onnxpb.TensorProto_STRING:
		return "string"
	case onnxpb.TensorProto_COMPLEX64:
		return "complex64"
	case onnxpb.TensorProto_COMPLEX128:
		return "complex128"
	}
	return fmt.Sprintf("type%d", dt)
}

// elemSize is the byte size of one element in raw_data, or 0 for types that
// have no fixed size here (strings, unknown types).
func elemSize(dt int32) int {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_BOOL, onnxpb.TensorProto_INT8, onnxpb.TensorProto_UINT8:
		return 1
	case onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_BFLOAT16, onnxpb.TensorProto_INT16, onnxpb.TensorProto_UINT16:
		return 2
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_INT32, onnxpb.TensorProto_UINT32:
		return 4
	case onnxpb.TensorProto_DOUBLE, onnxpb.TensorProto_INT64, onnxpb.TensorProto_UINT64, onnxpb.TensorProto_COMPLEX64:
		return 8
	case onnxpb.TensorProto_COMPLEX128:
		return 16
	}
	return 0
}

// elementCount is the product of dims; ok is false for negative dims or
// overflow.
func elementCount(dims []int64) (int64, bool) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 || (d > 0 && n > math.MaxInt64/d) {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// ElementCount is the number of elements t's dims describe.
func ElementCount(t *onnxpb.TensorProto) int64 {
	n, _ := elementCount(t.Dims)
	return n
}

// checkedCount is the number of elements t's dims claim, refused past
// limits.MaxTensorElements (or on overflow or a negative dimension) before
// anything is allocated from it.
func checkedCount(t *onnxpb.TensorProto) (int, error) {
	n, err := limits.Elements(t.Dims)
	if err != nil {
		return 0, tensorError(t, "dims: %v", err)
	}
	return int(n), nil
}

// storedCount is the number of values t holds in raw_data (bytes/size) or in
// the typed field that its type uses, and that field's name.
func storedCount(t *onnxpb.TensorProto, size int) (int, string) {
	if t.RawData != nil {
		return len(t.RawData) / size, "raw_data"
	}
	switch onnxpb.TensorProto_DataType(t.GetDataType()) {
	case onnxpb.TensorProto_FLOAT:
		return len(t.FloatData), "float_data"
	case onnxpb.TensorProto_DOUBLE:
		return len(t.DoubleData), "double_data"
	case onnxpb.TensorProto_INT64:
		return len(t.Int64Data), "int64_data"
	case onnxpb.TensorProto_UINT32, onnxpb.TensorProto_UINT64:
		return len(t.Uint64Data), "uint64_data"
	}
	return len(t.Int32Data), "int32_data"
}

// checkStored compares the values t holds with the n its dims claim, so
// that nothing is allocated from a claim the bytes present do not back.
func checkStored(t *onnxpb.TensorProto, n, size int) error {
	if t.RawData != nil {
		if len(t.RawData) != n*size {
			return tensorError(t, "raw_data holds %d bytes; dims %v of %s need %d", len(t.RawData), t.Dims, DataTypeName(t.GetDataType()), n*size)
		}
		return nil
	}
	if got, field := storedCount(t, size); got != n {
		return tensorError(t, "%s holds %d values; dims %v need %d", field, got, t.Dims, n)
	}
	return nil
}

// Check reports whether t's dims are within limits.MaxTensorElements and
// agree with the values t stores inline, without allocating from the dims:
// what a reader that trusts the dims (such as onnx-go) needs checked first.
// It returns an error for external data that was not loaded and for
// element types it does not know.
func Check(t *onnxpb.TensorProto) error {
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return tensorError(t, "data is external and was not loaded")
	}
	n, err := checkedCount(t)
	if err != nil {
		return err
	}
	if onnxpb.TensorProto_DataType(t.GetDataType()) == onnxpb.TensorProto_STRING {
		if len(t.StringData) != n {
			return tensorError(t, "string_data holds %d values; dims %v need %d", len(t.StringData), t.Dims, n)
		}
		return nil
	}
	size := elemSize(t.GetDataType())
	if size == 0 {
		return tensorError(t, "unknown element type %s", DataTypeName(t.GetDataType()))
	}
	dt := onnxpb.TensorProto_DataType(t.GetDataType())
	if t.RawData == nil && (dt == onnxpb.TensorProto_COMPLEX64 || dt == onnxpb.TensorProto_COMPLEX128) {
		// Complex values are pairs in float_data or double_data.
		got := len(t.FloatData)
		if dt == onnxpb.TensorProto_COMPLEX128 {
			got = len(t.DoubleData)
		}
		if got != 2*n {
			return tensorError(t, "holds %d parts; dims %v of %s need %d", got, t.Dims, DataTypeName(t.GetDataType()), 2*n)
		}
		return nil
	}
	return checkStored(t, n, size)
}

func tensorError(t *onnxpb.TensorProto, format string, args ...any) error {
	return &FormatError{Tensor: t.GetName(), Reason: fmt.Sprintf(format, args...)}
}

// Float32s returns t's values converted to float32, reading raw_data or the
// typed field the type uses (float_data, double_data, int32_data for the
// small integer, bool and 16-bit float types, int64_data, uint64_data). It
// returns an error if t's storage is external (load it first), if the type is
// not numeric, or if the number of stored values differs from t's dims.
func Float32s(t *onnxpb.TensorProto) ([]float32, error) {
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return nil, tensorError(t, "data is external and was not loaded")
	}
	n, err := checkedCount(t)
	if err != nil {
		return nil, err
	}
	dt := onnxpb.TensorProto_DataType(t.GetDataType())
	size := elemSize(t.GetDataType())
	if size == 0 || dt == onnxpb.TensorProto_COMPLEX64 || dt == onnxpb.TensorProto_COMPLEX128 {
		return nil, tensorError(t, "element type %s is not a real number type", DataTypeName(t.GetDataType()))
	}
	if err := checkStored(t, n, size); err != nil {
		return nil, err
	}
	out := make([]float32, n)
	if t.RawData != nil {
		le := binary.LittleEndian
		for i := range out {
			b := t.RawData[i*size : (i+1)*size]
			switch dt {
			case onnxpb.TensorProto_FLOAT:
				out[i] = math.Float32frombits(le.Uint32(b))
			case onnxpb.TensorProto_DOUBLE:
				out[i] = float32(math.Float64frombits(le.Uint64(b)))
			case onnxpb.TensorProto_FLOAT16:
				out[i] = half.ToFloat32(le.Uint16(b))
			case onnxpb.TensorProto_BFLOAT16:
				out[i] = math.Float32frombits(uint32(le.Uint16(b)) << 16)
			case onnxpb.TensorProto_INT8:
				out[i] = float32(int8(b[0]))
			case onnxpb.TensorProto_UINT8, onnxpb.TensorProto_BOOL:
				out[i] = float32(b[0])
			case onnxpb.TensorProto_INT16:
				out[i] = float32(int16(le.Uint16(b)))
			case onnxpb.TensorProto_UINT16:
				out[i] = float32(le.Uint16(b))
			case onnxpb.TensorProto_INT32:
				out[i] = float32(int32(le.Uint32(b)))
			case onnxpb.TensorProto_UINT32:
				out[i] = float32(le.Uint32(b))
			case onnxpb.TensorProto_INT64:
				out[i] = float32(int64(le.Uint64(b)))
			case onnxpb.TensorProto_UINT64:
				out[i] = float32(le.Uint64(b))
			}
		}
		return out, nil
	}
	switch dt {
	case onnxpb.TensorProto_FLOAT:
		copy(out, t.FloatData)
	case onnxpb.TensorProto_DOUBLE:
		for i, v := range t.DoubleData {
			out[i] = float32(v)
		}
	case onnxpb.TensorProto_INT64:
		for i, v := range t.Int64Data {
			out[i] = float32(v)
		}
	case onnxpb.TensorProto_UINT32, onnxpb.TensorProto_UINT64:
		for i, v := range t.Uint64Data {
			out[i] = float32(v)
		}
	default: // int32_data carries the remaining types
		for i, v := range t.Int32Data {
			switch dt {
			case onnxpb.TensorProto_FLOAT16:
				out[i] = half.ToFloat32(uint16(v))
			case onnxpb.TensorProto_BFLOAT16:
				out[i] = math.Float32frombits(uint32(uint16(v)) << 16)
			default:
				out[i] = float32(v)
			}
		}
	}
	return out, nil
}

// Int64s returns the values of an integer or bool tensor as int64, reading
// raw_data or the typed field. It returns an error for other types, for
// external data that was not loaded, and when the value count differs from
// t's dims.
func Int64s(t *onnxpb.TensorProto) ([]int64, error) {
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return nil, tensorError(t, "data is external and was not loaded")
	}
	dt := onnxpb.TensorProto_DataType(t.GetDataType())
	switch dt {
	case onnxpb.TensorProto_INT8, onnxpb.TensorProto_INT16, onnxpb.TensorProto_INT32, onnxpb.TensorProto_INT64,
		onnxpb.TensorProto_UINT8, onnxpb.TensorProto_UINT16, onnxpb.TensorProto_UINT32, onnxpb.TensorProto_BOOL:
	default:
		return nil, tensorError(t, "element type %s is not an integer type", DataTypeName(t.GetDataType()))
	}
	n, err := checkedCount(t)
	if err != nil {
		return nil, err
	}
	size := elemSize(t.GetDataType())
	if err := checkStored(t, n, size); err != nil {
		return nil, err
	}
	out := make([]int64, n)
	if t.RawData != nil {
		le := binary.LittleEndian
		for i := range out {
			b := t.RawData[i*size : (i+1)*size]
			switch dt {
			case onnxpb.TensorProto_INT8:
				out[i] = int64(int8(b[0]))
			case onnxpb.TensorProto_UINT8, onnxpb.TensorProto_BOOL:
				out[i] = int64(b[0])
			case onnxpb.TensorProto_INT16:
				out[i] = int64(int16(le.Uint16(b)))
			case onnxpb.TensorProto_UINT16:
				out[i] = int64(le.Uint16(b))
			case onnxpb.TensorProto_INT32:
				out[i] = int64(int32(le.Uint32(b)))
			case onnxpb.TensorProto_UINT32:
				out[i] = int64(le.Uint32(b))
			case onnxpb.TensorProto_INT64:
				out[i] = int64(le.Uint64(b))
			}
		}
		return out, nil
	}
	switch dt {
	case onnxpb.TensorProto_INT64:
		copy(out, t.Int64Data)
	case onnxpb.TensorProto_UINT32:
		for i, v := range t.Uint64Data {
			out[i] = int64(v)
		}
	default:
		for i, v := range t.Int32Data {
			out[i] = int64(v)
		}
	}
	return out, nil
}
