package npy

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/aebridge/aebridge/internal/atomicfile"
	"github.com/aebridge/aebridge/internal/half"
	"github.com/aebridge/aebridge/internal/limits"
)

// Typed is an n-dimensional array in the element type its .npy file
// stores.
type Typed struct {
	// Shape holds the dimensions, outermost first; an empty shape is a scalar.
	Shape []int
	// DType is the NumPy name of the element type: "float16", "float32",
	// "float64", "bool", "uint8", "int8", "uint16", "int16", "uint32",
	// "int32", "uint64" or "int64".
	DType string
	// Data holds the values in C (row-major) order, in a slice of the
	// element type: []float32 for "float32", []int64 for "int64", []bool for
	// "bool" and so on; float16 values are their IEEE 754 binary16 bits,
	// []uint16 (as for "uint16": DType tells them apart).
	Data any
}

// DTypes are the element types Typed holds, as NumPy names them.
var DTypes = []string{"float16", "float32", "float64", "bool", "uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64"}

// descrs is the descr WriteTyped writes for each dtype.
var descrs = map[string]string{
	"float16": "<f2", "float32": "<f4", "float64": "<f8", "bool": "|b1",
	"uint8": "|u1", "int8": "|i1", "uint16": "<u2", "int16": "<i2",
	"uint32": "<u4", "int32": "<i4", "uint64": "<u8", "int64": "<i8",
}

// Len is the number of values Data holds, or -1 when Data is not a slice
// of one of the element types.
func (t *Typed) Len() int {
	switch d := t.Data.(type) {
	case []float32:
		return len(d)
	case []float64:
		return len(d)
	case []bool:
		return len(d)
	case []uint8:
		return len(d)
	case []int8:
		return len(d)
	case []uint16:
		return len(d)
	case []int16:
		return len(d)
	case []uint32:
		return len(d)
	case []int32:
		return len(d)
	case []uint64:
		return len(d)
	case []int64:
		return len(d)
	}
	return -1
}

// goType is the Go slice type Data has for dtype.
func goType(dtype string) string {
	if dtype == "float16" {
		return "[]uint16"
	}
	return "[]" + dtype
}

// typed decodes r in its own element type, in C order. A bool byte other
// than 0 and 1 is an error.
func (r *rawArray) typed() (*Typed, error) {
	o, raw, n := r.dt.order, r.raw, r.n
	var data any
	switch r.dt.name {
	case "float32":
		data = decodeAs(raw, n, 4, func(b []byte) float32 { return math.Float32frombits(o.Uint32(b)) })
	case "float64":
		data = decodeAs(raw, n, 8, func(b []byte) float64 { return math.Float64frombits(o.Uint64(b)) })
	case "float16", "uint16":
		data = decodeAs(raw, n, 2, func(b []byte) uint16 { return o.Uint16(b) })
	case "bool":
		for i, b := range raw[:n] {
			if b > 1 {
				return nil, fmt.Errorf("bool element %d is byte %d, not 0 or 1", i, b)
			}
		}
		data = decodeAs(raw, n, 1, func(b []byte) bool { return b[0] == 1 })
	case "uint8":
		data = decodeAs(raw, n, 1, func(b []byte) uint8 { return b[0] })
	case "int8":
		data = decodeAs(raw, n, 1, func(b []byte) int8 { return int8(b[0]) })
	case "int16":
		data = decodeAs(raw, n, 2, func(b []byte) int16 { return int16(o.Uint16(b)) })
	case "uint32":
		data = decodeAs(raw, n, 4, func(b []byte) uint32 { return o.Uint32(b) })
	case "int32":
		data = decodeAs(raw, n, 4, func(b []byte) int32 { return int32(o.Uint32(b)) })
	case "uint64":
		data = decodeAs(raw, n, 8, func(b []byte) uint64 { return o.Uint64(b) })
	case "int64":
		data = decodeAs(raw, n, 8, func(b []byte) int64 { return int64(o.Uint64(b)) })
	default:
		return nil, fmt.Errorf("unsupported dtype %s", r.dt.name) // parseDescr admits no other
	}
	t := &Typed{Shape: r.shape, DType: r.dt.name, Data: data}
	if r.fortran && len(r.shape) > 1 {
		t.Data = reorder(t.Data, r.shape)
	}
	return t, nil
}

func decodeAs[T any](raw []byte, n, size int, f func([]byte) T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = f(raw[i*size : (i+1)*size])
	}
	return out
}

// reorder is fromFortran for a Data slice of any element type.
func reorder(data any, shape []int) any {
	switch d := data.(type) {
	case []float32:
		return fromFortran(d, shape)
	case []float64:
		return fromFortran(d, shape)
	case []bool:
		return fromFortran(d, shape)
	case []uint8:
		return fromFortran(d, shape)
	case []int8:
		return fromFortran(d, shape)
	case []uint16:
		return fromFortran(d, shape)
	case []int16:
		return fromFortran(d, shape)
	case []uint32:
		return fromFortran(d, shape)
	case []int32:
		return fromFortran(d, shape)
	case []uint64:
		return fromFortran(d, shape)
	case []int64:
		return fromFortran(d, shape)
	}
	panic(fmt.Sprintf("npy: reorder of %T", data)) // typed makes no other
}

// WriteTyped writes t as a C-order, little-endian, version 1.0 .npy array
// of its dtype ('<f2' for float16, '|b1' for bool). It returns an error if
// DType is not one of DTypes, if Data is not the slice type DType names,
// or if the shape's element count is not the number of values.
func WriteTyped(w io.Writer, t *Typed) error {
	descr, ok := descrs[t.DType]
	if !ok {
		return fmt.Errorf("npy: dtype %q: want one of %v", t.DType, DTypes)
	}
	if got := fmt.Sprintf("%T", t.Data); got != goType(t.DType) {
		return fmt.Errorf("npy: dtype %s holds its values in %s, given %s", t.DType, goType(t.DType), got)
	}
	n, err := limits.ElementsInt(t.Shape)
	if err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	if n != t.Len() {
		return fmt.Errorf("npy: shape %v holds %d elements, data has %d", t.Shape, n, t.Len())
	}
	if err := writeHeader(w, descr, t.Shape); err != nil {
		return err
	}
	le := binary.LittleEndian
	var body []byte
	switch d := t.Data.(type) {
	case []float32:
		body = encodeAs(d, 4, func(b []byte, v float32) { le.PutUint32(b, math.Float32bits(v)) })
	case []float64:
		body = encodeAs(d, 8, func(b []byte, v float64) { le.PutUint64(b, math.Float64bits(v)) })
	case []bool:
		body = encodeAs(d, 1, func(b []byte, v bool) {
			if v {
				b[0] = 1
			}
		})
	case []uint8:
		body = d
	case []int8:
		body = encodeAs(d, 1, func(b []byte, v int8) { b[0] = byte(v) })
	case []uint16:
		body = encodeAs(d, 2, func(b []byte, v uint16) { le.PutUint16(b, v) })
	case []int16:
		body = encodeAs(d, 2, func(b []byte, v int16) { le.PutUint16(b, uint16(v)) })
	case []uint32:
		body = encodeAs(d, 4, func(b []byte, v uint32) { le.PutUint32(b, v) })
	case []int32:
		body = encodeAs(d, 4, func(b []byte, v int32) { le.PutUint32(b, uint32(v)) })
	case []uint64:
		body = encodeAs(d, 8, func(b []byte, v uint64) { le.PutUint64(b, v) })
	case []int64:
		body = encodeAs(d, 8, func(b []byte, v int64) { le.PutUint64(b, uint64(v)) })
	}
	_, err = w.Write(body)
	return err
}

func encodeAs[T any](data []T, size int, put func([]byte, T)) []byte {
	body := make([]byte, size*len(data))
	for i, v := range data {
		put(body[i*size:], v)
	}
	return body
}

// WriteFileTyped writes t to path as WriteTyped does, atomically: path
// holds either its old content or the whole new array.
func WriteFileTyped(path string, t *Typed) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		return WriteTyped(w, t)
	})
}

// Float32s returns t's values converted to float32, as Read gives them
// (float16 exactly, bool as 0 or 1, the others rounded to nearest), or nil
// when Data is not a slice of one of the element types.
func (t *Typed) Float32s() []float32 {
	if d, ok := t.Data.([]float32); ok {
		return d
	}
	f := t.Float64s()
	if f == nil {
		return nil
	}
	out := make([]float32, len(f))
	for i, v := range f {
		out[i] = float32(v)
	}
	return out
}

// Float64s returns t's values converted to float64: exactly, but for 64-bit
// integers past 2⁵³ (rounded to nearest); bool is 0 or 1. It returns nil
// when Data is not a slice of one of the element types.
func (t *Typed) Float64s() []float64 {
	switch d := t.Data.(type) {
	case []float32:
		return toFloat64(d)
	case []float64:
		return d
	case []uint16:
		if t.DType == "float16" {
			out := make([]float64, len(d))
			for i, h := range d {
				out[i] = float64(half.ToFloat32(h))
			}
			return out
		}
		return toFloat64(d)
	case []bool:
		out := make([]float64, len(d))
		for i, b := range d {
			if b {
				out[i] = 1
			}
		}
		return out
	case []uint8:
		return toFloat64(d)
	case []int8:
		return toFloat64(d)
	case []int16:
		return toFloat64(d)
	case []uint32:
		return toFloat64(d)
	case []int32:
		return toFloat64(d)
	case []uint64:
		return toFloat64(d)
	case []int64:
		return toFloat64(d)
	}
	return nil
}

func toFloat64[T float32 | uint8 | int8 | uint16 | int16 | uint32 | int32 | uint64 | int64](d []T) []float64 {
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = float64(v)
	}
	return out
}

// Int64s returns the values of an integer or bool array as int64 (uint64
// values past 2⁶³ − 1 wrap), or nil for floating-point data.
func (t *Typed) Int64s() []int64 {
	switch d := t.Data.(type) {
	case []int64:
		return d
	case []bool:
		out := make([]int64, len(d))
		for i, b := range d {
			if b {
				out[i] = 1
			}
		}
		return out
	case []uint8:
		return toInt64(d)
	case []int8:
		return toInt64(d)
	case []uint16:
		if t.DType == "float16" {
			return nil
		}
		return toInt64(d)
	case []int16:
		return toInt64(d)
	case []uint32:
		return toInt64(d)
	case []int32:
		return toInt64(d)
	case []uint64:
		return toInt64(d)
	}
	return nil
}

func toInt64[T uint8 | int8 | uint16 | int16 | uint32 | int32 | uint64](d []T) []int64 {
	out := make([]int64, len(d))
	for i, v := range d {
		out[i] = int64(v)
	}
	return out
}
