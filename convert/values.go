package convert

import (
	"errors"
	"fmt"
	"math"

	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

// konst is a constant tensor: float data, or int64 data for integer
// tensors. origin names the initializer it came from (through transposes:
// transposed says whether it is that initializer transposed), so that tied
// weights can be recognised.
type konst struct {
	dims       []int
	f          []float32
	i          []int64
	isInt      bool
	origin     string
	transposed bool
}

func (k *konst) size() int {
	n := 1
	for _, d := range k.dims {
		n *= d
	}
	return n
}

// ints returns the values as int64, converting floats.
func (k *konst) ints() []int64 {
	if k.isInt {
		return k.i
	}
	out := make([]int64, len(k.f))
	for i, v := range k.f {
		out[i] = int64(v)
	}
	return out
}

// floats returns the values as float64.
func (k *konst) floats() []float64 {
	if k.isInt {
		out := make([]float64, len(k.i))
		for i, v := range k.i {
			out[i] = float64(v)
		}
		return out
	}
	out := make([]float64, len(k.f))
	for i, v := range k.f {
		out[i] = float64(v)
	}
	return out
}

// scalar returns a one-element constant's value.
func (k *konst) scalar() (float64, bool) {
	if v := k.floats(); k.size() == 1 && len(v) == 1 {
		return v[0], true
	}
	return 0, false
}

// konstOf reads a tensor; its error is onnxfile's reason alone, for the
// caller to place.
func konstOf(t *onnxpb.TensorProto) (*konst, error) {
	k, err := readKonst(t)
	var oe *onnxfile.FormatError
	if errors.As(err, &oe) {
		return nil, errors.New(oe.Reason)
	}
	return k, err
}

func readKonst(t *onnxpb.TensorProto) (*konst, error) {
	dims := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		dims[i] = int(d)
	}
	k := &konst{dims: dims}
	switch onnxpb.TensorProto_DataType(t.GetDataType()) {
	case onnxpb.TensorProto_INT64, onnxpb.TensorProto_INT32, onnxpb.TensorProto_INT8, onnxpb.TensorProto_INT16,
		onnxpb.TensorProto_UINT8, onnxpb.TensorProto_UINT16, onnxpb.TensorProto_UINT32, onnxpb.TensorProto_BOOL:
		v, err := onnxfile.Int64s(t)
		if err != nil {
			return nil, err
		}
		k.i, k.isInt = v, true
	default:
		v, err := onnxfile.Float32s(t)
		if err != nil {
			return nil, err
		}
		k.f = v
	}
	return k, nil
}

// dim is one entry of a shape value: a known size, or the symbolic batch.
type dim struct {
	batch bool
	v     int64
}

func (d dim) String() string {
	if d.batch {
		return "batch"
	}
	return fmt.Sprint(d.v)
}

// transpose2 returns the transpose of a 2-D constant.
func transpose2(k *konst) *konst {
	r, c := k.dims[0], k.dims[1]
	out := &konst{dims: []int{c, r}, origin: k.origin, transposed: !k.transposed, isInt: k.isInt}
	if k.isInt {
		out.i = make([]int64, r*c)
		for i := 0; i < r; i++ {
			for j := 0; j < c; j++ {
				out.i[j*r+i] = k.i[i*c+j]
			}
		}
		return out
	}
	out.f = make([]float32, r*c)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out.f[j*r+i] = k.f[i*c+j]
		}
	}
	return out
}

// near reports whether a constant is the scalar want, to float32 precision.
func near(k *konst, want float64) bool {
	if k == nil {
		return false
	}
	v, ok := k.scalar()
	return ok && math.Abs(v-want) <= 1e-6*math.Max(1, math.Abs(want))
}
