package runtime

import (
	"fmt"
	"math"
	"slices"

	"github.com/aebridge/aebridge/internal/half"
)

// DType is an element type, named as NumPy and IO.Type name it.
type DType string

// The element types RunValues feeds and returns, each held in a Value as a
// slice of its Go type.
const (
	Float32 DType = "float32" // []float32
	Float64 DType = "float64" // []float64
	Float16 DType = "float16" // []Half
	Int64   DType = "int64"   // []int64
	Int32   DType = "int32"   // []int32
	Uint8   DType = "uint8"   // []uint8
	Bool    DType = "bool"    // []bool
)

// DTypes lists the element types RunValues feeds and returns.
var DTypes = []DType{Float32, Float64, Float16, Int64, Int32, Uint8, Bool}

// Half is an IEEE 754 binary16 (float16) value, given by its bits: the Go
// type of Float16 elements.
type Half uint16

// HalfOf rounds f to the nearest binary16 value (ties to even), as NumPy's
// astype(np.float16) does: past 65504 it overflows to ±Inf, below 2⁻²⁵ to
// ±0, and a NaN stays a NaN.
func HalfOf(f float32) Half {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff { // Inf or NaN: keep a NaN's top payload bits, and a NaN
		if mant == 0 {
			return Half(sign | 0x7c00)
		}
		return Half(sign | 0x7e00 | uint16(mant>>13))
	}
	e := exp - 127 + 15
	if e <= 0 { // a binary16 subnormal, or zero
		if e < -10 {
			return Half(sign)
		}
		m := mant | 0x800000
		shift := uint(14 - e)
		h := m >> shift
		rem, half := m&(1<<shift-1), uint32(1)<<(shift-1)
		if rem > half || rem == half && h&1 == 1 {
			h++ // may carry into the smallest normal, which is its encoding
		}
		return Half(sign | uint16(h))
	}
	m := mant + 0xfff + (mant>>13)&1 // round to nearest even at bit 13
	if m&0x800000 != 0 {
		m, e = 0, e+1
	}
	if e >= 0x1f {
		return Half(sign | 0x7c00)
	}
	return Half(sign | uint16(e)<<10 | uint16(m>>13))
}

// Float32 is h as a float32, exactly.
func (h Half) Float32() float32 { return half.ToFloat32(uint16(h)) }

// Element is the Go types of the element types a Value holds.
type Element interface {
	float32 | float64 | Half | int64 | int32 | uint8 | bool
}

// Value is a tensor of any of the element types in DTypes: a shape and its
// values in row-major order, in Data, a slice of the element type's Go type
// ([]float32, []float64, []Half, []int64, []int32, []uint8 or []bool). A
// Tensor is the float32 case; ValueOf and Value.Tensor convert between
// them without copying.
type Value struct {
	Shape []int64
	Data  any
}

// NewValue returns a value of the given shape backed by data. It returns an
// error if the shape's element count is not len(data).
func NewValue[T Element](data []T, shape ...int64) (Value, error) {
	n, err := elements(shape)
	if err != nil {
		return Value{}, err
	}
	if n != int64(len(data)) {
		return Value{}, fmt.Errorf("runtime: shape %v holds %d elements, data has %d", shape, n, len(data))
	}
	return Value{Shape: shape, Data: data}, nil
}

// ValueOf is t as a Value of float32, sharing its data.
func ValueOf(t Tensor) Value { return Value{Shape: t.Shape, Data: t.Data} }

// DType is the element type of v's data, or "" when Data is not a slice of
// one of the element types.
func (v Value) DType() DType {
	switch v.Data.(type) {
	case []float32:
		return Float32
	case []float64:
		return Float64
	case []Half:
		return Float16
	case []int64:
		return Int64
	case []int32:
		return Int32
	case []uint8:
		return Uint8
	case []bool:
		return Bool
	}
	return ""
}

// typeName names v's element type for an error message: its DType, or the
// Go type of a Data that is none of them.
func (v Value) typeName() string {
	if dt := v.DType(); dt != "" {
		return string(dt)
	}
	return fmt.Sprintf("%T (not an element type)", v.Data)
}

// Len is the number of values v holds, or -1 when Data is not a slice of
// one of the element types.
func (v Value) Len() int {
	switch d := v.Data.(type) {
	case []float32:
		return len(d)
	case []float64:
		return len(d)
	case []Half:
		return len(d)
	case []int64:
		return len(d)
	case []int32:
		return len(d)
	case []uint8:
		return len(d)
	case []bool:
		return len(d)
	}
	return -1
}

// Tensor is v as a float32 Tensor, sharing its data; it returns an error
// naming the element type when v is not float32.
func (v Value) Tensor() (Tensor, error) {
	d, ok := v.Data.([]float32)
	if !ok {
		return Tensor{}, fmt.Errorf("runtime: value of shape %s is %s, not float32", shapeString(v.Shape), v.typeName())
	}
	return Tensor{Shape: v.Shape, Data: d}, nil
}

// DataOf returns v's data as a []T, sharing it, or an error naming both
// element types when v holds another.
func DataOf[T Element](v Value) ([]T, error) {
	d, ok := v.Data.([]T)
	if !ok {
		return nil, fmt.Errorf("runtime: value of shape %s is %s, not %s", shapeString(v.Shape), v.typeName(), dtypeOf[T]())
	}
	return d, nil
}

func dtypeOf[T Element]() DType { return Value{Data: []T(nil)}.DType() }

// Float64s returns v's values as float64, converting each exactly (int64
// past 2⁵³ rounds; bool is 0 or 1), or nil when Data is not a slice of one
// of the element types.
func (v Value) Float64s() []float64 {
	switch d := v.Data.(type) {
	case []float32:
		return convert(d, func(x float32) float64 { return float64(x) })
	case []float64:
		return slices.Clone(d)
	case []Half:
		return convert(d, func(x Half) float64 { return float64(x.Float32()) })
	case []int64:
		return convert(d, func(x int64) float64 { return float64(x) })
	case []int32:
		return convert(d, func(x int32) float64 { return float64(x) })
	case []uint8:
		return convert(d, func(x uint8) float64 { return float64(x) })
	case []bool:
		return convert(d, func(x bool) float64 {
			if x {
				return 1
			}
			return 0
		})
	}
	return nil
}

func convert[T, U any](d []T, f func(T) U) []U {
	out := make([]U, len(d))
	for i, x := range d {
		out[i] = f(x)
	}
	return out
}

// sliceValue returns samples [lo, hi) of v, sharing v's data.
func sliceValue(v Value, lo, hi int64) Value {
	per := int64(v.Len()) / v.Shape[0]
	shape := append([]int64{hi - lo}, v.Shape[1:]...)
	a, b := lo*per, hi*per
	switch d := v.Data.(type) {
	case []float32:
		return Value{shape, d[a:b]}
	case []float64:
		return Value{shape, d[a:b]}
	case []Half:
		return Value{shape, d[a:b]}
	case []int64:
		return Value{shape, d[a:b]}
	case []int32:
		return Value{shape, d[a:b]}
	case []uint8:
		return Value{shape, d[a:b]}
	case []bool:
		return Value{shape, d[a:b]}
	}
	panic(fmt.Sprintf("runtime: sliceValue of %T", v.Data)) // checkValue refuses others first
}

// concatValues joins the data of vs, all of one element type, in order.
func concatValues(vs []Value) any {
	switch vs[0].Data.(type) {
	case []float32:
		return concatAs[float32](vs)
	case []float64:
		return concatAs[float64](vs)
	case []Half:
		return concatAs[Half](vs)
	case []int64:
		return concatAs[int64](vs)
	case []int32:
		return concatAs[int32](vs)
	case []uint8:
		return concatAs[uint8](vs)
	case []bool:
		return concatAs[bool](vs)
	}
	panic(fmt.Sprintf("runtime: concatValues of %T", vs[0].Data)) // run returns no others
}

func concatAs[T Element](vs []Value) []T {
	var out []T
	for _, v := range vs {
		out = append(out, v.Data.([]T)...)
	}
	return out
}
