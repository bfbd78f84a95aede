package graph

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
)

func init() {
	register(map[string]operator{
		"Shape": {inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, attrs: map[string]AttrType{"start": AttrInt, "end": AttrInt},
			infer: func(n *Node, in []arg) ([]arg, error) {
				v := NewInt64Tensor(nil, 0)
				ShapeForward(v, in[0].shape, n.Int("start", 0), n.Int("end", math.MaxInt64))
				return []arg{{shape: v.Shape, typ: Int64, value: v}}, nil
			},
			forward: func(_ *state, n *Node, out, in []*Tensor) {
				ShapeForward(out[0], in[0].Shape, n.Int("start", 0), n.Int("end", math.MaxInt64))
			},
			backward: noBackward},
		"Constant": {inputs: [2]int{0, 0}, outputs: [2]int{1, 1},
			attrs: map[string]AttrType{"value": AttrTensor, "value_float": AttrFloat, "value_floats": AttrFloats, "value_int": AttrInt, "value_ints": AttrInts},
			infer: func(n *Node, in []arg) ([]arg, error) {
				v, err := constantValue(n)
				if err != nil {
					return nil, err
				}
				return []arg{{shape: slices.Clone(v.Shape), typ: v.Type}}, nil
			},
			forward: func(_ *state, n *Node, out, in []*Tensor) {
				v, err := constantValue(n)
				if err != nil {
					panic(ErrShape) // Shapes refused the node
				}
				copyTensor(out[0], v)
			},
			backward: noBackward},
		"ConstantOfShape": {inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, fixed: []int{0}, attrs: map[string]AttrType{"value": AttrTensor},
			infer: func(n *Node, in []arg) ([]arg, error) {
				shape, err := knownInts(n, in, 0)
				if err != nil {
					return nil, err
				}
				v, err := fillValue(n)
				if err != nil {
					return nil, err
				}
				if len(in[0].shape) != 1 {
					return nil, inputError(n, 0, shape, "of shape %v, want 1-D", in[0].shape)
				}
				s, err := dimsOf(n, 0, shape)
				if err != nil {
					return nil, err
				}
				return []arg{{shape: s, typ: v.Type}}, nil
			},
			forward: func(_ *state, n *Node, out, in []*Tensor) {
				v, _ := fillValue(n)
				ConstantOfShapeForward(out[0], in[0].Int64, v)
			},
			backward: noBackward},
		"Cast": {inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, attrs: map[string]AttrType{"to": AttrInt},
			infer: func(n *Node, in []arg) ([]arg, error) {
				to, ok := castType(n)
				if !ok {
					return nil, attrError("to", n.Int("to", 0), "casts to FLOAT (%d) and INT64 (%d) only", onnxFloat, onnxInt64)
				}
				return []arg{{shape: slices.Clone(in[0].shape), typ: to}}, nil
			},
			forward: func(_ *state, n *Node, out, in []*Tensor) {
				to, _ := castType(n)
				CastForward(out[0], in[0], to)
			},
			backward: func(_ *state, n *Node, din, dout, out, in []*Tensor) {
				// Only float32 → float32 passes a gradient: an int64 side
				// is a constant for training.
				if din[0] != nil && dout[0] != nil {
					IdentityBackward(din[0], dout[0])
				}
			}},
	})
}

// Shape, Constant, ConstantOfShape and Cast: the sources of ONNX's shape
// subgraphs, and the helpers the data-movement operators (Reshape, Gather,
// Slice, Expand, Tile, Squeeze, Unsqueeze, Concat) share for tensors of
// either element type.
//
// Shape's shape rule sets its value from the input's shape, so what is
// computed from it (Gather, Unsqueeze, Concat, Slice, Cast of int64 values)
// is folded before the graph runs. Constant's value is its attribute:
// value (a tensor), value_float(s) or value_int(s), exactly one of them.
// ConstantOfShape fills the shape its int64 input holds with the one value
// of its value attribute (float32 0 without one). Cast converts between
// float32 and int64 (to = 1 or 7; float to int truncates toward zero, as
// ONNX Runtime does); other element types are refused, the graph holding
// no others.

// The ONNX TensorProto.DataType codes of the graph's element types.
const (
	onnxFloat = 1
	onnxInt64 = 7
)

// maxElements bounds the tensors that operators make from values (a shape
// input of ConstantOfShape, Expand, Tile): 2³¹ elements (8 GiB of
// float32), so that a hostile shape gives an error rather than an
// allocation that cannot succeed.
const maxElements = 1 << 31

func noBackward(*state, *Node, []*Tensor, []*Tensor, []*Tensor, []*Tensor) {}

// inputError is the error of a shape rule for the value v of n's input k.
func inputError(n *Node, k int, v any, format string, args ...any) error {
	return fmt.Errorf("input %d (%q) = %v: %s", k, n.Inputs[k], v, fmt.Sprintf(format, args...))
}

// knownInts returns the value of n's int64 input k, or an error if it is
// not int64 or not known before the graph runs (a parameter, a constant,
// or computed from them and from shapes).
func knownInts(n *Node, in []arg, k int) ([]int64, error) {
	a := in[k]
	if a.typ != Int64 {
		return nil, fmt.Errorf("input %d (%q) is %v, want int64", k, n.Inputs[k], a.typ)
	}
	if a.value == nil {
		return nil, fmt.Errorf("input %d (%q) is not known before the graph runs (want a parameter, a constant or a value computed from shapes)", k, n.Inputs[k])
	}
	return a.value.Int64, nil
}

// dimsOf returns the int64 values v of n's input k as a shape, or an error
// naming them if one is negative or there are more than maxElements
// elements.
func dimsOf(n *Node, k int, v []int64) ([]int, error) {
	s := make([]int, len(v))
	for i, d := range v {
		if d < 0 {
			return nil, inputError(n, k, v, "dimension %d is negative", d)
		}
		s[i] = toInt(d)
	}
	if _, ok := checkedElements(s); !ok {
		return nil, inputError(n, k, v, "more than %d elements", maxElements)
	}
	return s, nil
}

// checkedElements is the product of the shape's dimensions (all ≥ 0), or
// false if it is over maxElements (or overflows).
func checkedElements(shape []int) (int, bool) {
	if slices.ContainsFunc(shape, func(d int) bool { return d < 0 }) {
		return 0, false
	}
	if slices.Contains(shape, 0) {
		return 0, true
	}
	p := uint64(1)
	for _, d := range shape {
		hi, lo := bits.Mul64(p, uint64(d))
		if hi != 0 || lo > maxElements {
			return 0, false
		}
		p = lo
	}
	return int(p), true
}

// resizeAs gives t the element type and the shape, reusing its values'
// storage where it is large enough (the values are then not cleared).
func resizeAs(t *Tensor, typ DType, shape ...int) {
	if typ == Float32 {
		t.Type, t.Int64 = Float32, nil
		t.Resize(shape...)
		return
	}
	n := elements(shape)
	if cap(t.Int64) < n {
		t.Int64 = make([]int64, n)
	}
	t.Type, t.Data, t.Int64 = Int64, nil, t.Int64[:n]
	t.Shape = append(t.Shape[:0], shape...)
}

// checkAny panics with ErrShape unless each t holds as many values of its
// element type as its shape says.
func checkAny(ts ...*Tensor) {
	for _, t := range ts {
		if t != nil && t.Len() != elements(t.Shape) || t != nil && t.Type != Float32 && t.Type != Int64 {
			panic(ErrShape)
		}
	}
}

// copyTensor writes y = x, of x's type and shape.
func copyTensor(y, x *Tensor) {
	checkAny(x)
	resizeAs(y, x.Type, x.Shape...)
	copy(y.Data, x.Data)
	copy(y.Int64, x.Int64)
}

// ints is a slice of n ints in buf where n fits, so that the kernels'
// per-dimension bookkeeping stays off the heap for tensors of rank ≤ 8.
func ints(buf *[8]int, n int) []int {
	if n <= len(buf) {
		s := buf[:n]
		clear(s)
		return s
	}
	return make([]int, n)
}

// rowStrides writes into st the row-major strides of a tensor of the
// shape and returns st.
func rowStrides(st, shape []int) []int {
	step := 1
	for d := len(shape) - 1; d >= 0; d-- {
		st[d] = step
		step *= shape[d]
	}
	return st
}

// strided writes y, row-major over shape, from x: the element at index
// idx is x[base + Σ idx[d]·st[d]] (strides may be 0 or negative).
func strided[T float32 | int64](y, x []T, shape, st []int, base int) {
	walkRows(len(y), shape, st, base, func(i, off, n, step int) {
		row := y[i : i+n]
		if step == 1 {
			copy(row, x[off:off+n])
			return
		}
		for j := range row {
			row[j] = x[off]
			off += step
		}
	})
}

// stridedAdd adds dy, row-major over shape, into dx at the offsets strided
// reads from: dx[base + Σ idx[d]·st[d]] += dy[idx] (several elements of
// dy may add into one of dx).
func stridedAdd(dx, dy []float32, shape, st []int, base int) {
	walkRows(len(dy), shape, st, base, func(i, off, n, step int) {
		row := dy[i : i+n]
		if step == 1 {
			Axpy(dx[off:off+n], row, 1)
			return
		}
		for _, v := range row {
			dx[off] += v
			off += step
		}
	})
}

// walkRows calls f(i, off, n, step) for each row (last dimension) of a
// tensor of shape, of total elements: i is the row's first element, off
// the offset of its first element in the strided tensor, n its length and
// step the stride along it.
func walkRows(total int, shape, st []int, base int, f func(i, off, n, step int)) {
	if total == 0 {
		return
	}
	r := len(shape)
	if r == 0 {
		f(0, base, 1, 1)
		return
	}
	var buf [8]int
	idx := ints(&buf, r)
	last, step := shape[r-1], st[r-1]
	off := base
	for i := 0; i < total; i += last {
		f(i, off, last, step)
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			off += st[d]
			if idx[d] < shape[d] {
				break
			}
			off -= st[d] * shape[d]
			idx[d] = 0
		}
	}
}

// ShapeForward writes y = the dimensions of shape from start to end as a
// 1-D int64 tensor (ONNX Shape; negative start and end count from the end,
// both are clamped to [0, r]; an empty range gives an empty tensor).
func ShapeForward(y *Tensor, shape []int, start, end int64) {
	r := int64(len(shape))
	clampAxis := func(a int64) int64 {
		if a < 0 {
			a += r
		}
		return min(max(a, 0), r)
	}
	lo, hi := clampAxis(start), clampAxis(end)
	hi = max(hi, lo)
	resizeAs(y, Int64, int(hi-lo))
	for i, d := range shape[lo:hi] {
		y.Int64[i] = int64(d)
	}
}

// constantValue returns Constant's value, or an error naming the
// attributes if it has none or several, or a value tensor that holds the
// wrong number of values or another element type.
func constantValue(n *Node) (*Tensor, error) {
	var set []string
	for _, name := range sortedKeys(n.Attrs) {
		set = append(set, name)
	}
	if len(set) != 1 {
		return nil, fmt.Errorf("attributes %v: want exactly one of value, value_float, value_floats, value_int, value_ints", set)
	}
	a := n.Attrs[set[0]]
	switch set[0] {
	case "value_float":
		return &Tensor{Shape: []int{}, Data: []float32{a.Float}}, nil
	case "value_floats":
		return &Tensor{Shape: []int{len(a.Floats)}, Data: a.Floats}, nil
	case "value_int":
		return &Tensor{Shape: []int{}, Type: Int64, Int64: []int64{a.Int}}, nil
	case "value_ints":
		return &Tensor{Shape: []int{len(a.Ints)}, Type: Int64, Int64: a.Ints}, nil
	}
	return tensorAttr(n, set[0])
}

// tensorAttr returns n's tensor attribute name, or an error naming it if
// it is nil, of another element type or its values are not its shape's.
func tensorAttr(n *Node, name string) (*Tensor, error) {
	t := n.Attrs[name].Tensor
	switch {
	case t == nil:
		return nil, fmt.Errorf("attribute %s: no tensor", name)
	case t.Type != Float32 && t.Type != Int64:
		return nil, attrError(name, t.Type, "element type not float32 or int64")
	case slices.ContainsFunc(t.Shape, func(d int) bool { return d < 0 }):
		return nil, attrError(name, fmt.Sprintf("tensor of shape %v", t.Shape), "negative dimension")
	}
	if c, ok := checkedElements(t.Shape); !ok || c != t.Len() {
		return nil, attrError(name, fmt.Sprintf("tensor of shape %v", t.Shape), "holds %d values", t.Len())
	}
	return t, nil
}

// fillValue is ConstantOfShape's value: its one-element value attribute,
// float32 0 without one.
func fillValue(n *Node) (*Tensor, error) {
	if _, ok := n.Attrs["value"]; !ok {
		return &Tensor{Shape: []int{1}, Data: []float32{0}}, nil
	}
	t, err := tensorAttr(n, "value")
	if err != nil {
		return nil, err
	}
	if t.Len() != 1 {
		return nil, attrError("value", fmt.Sprintf("tensor of shape %v", t.Shape), "want one element")
	}
	return t, nil
}

// ConstantOfShapeForward writes y = the shape filled with value's one
// element; y takes value's element type. It panics with ErrShape if a
// dimension is negative or value has not one element.
func ConstantOfShapeForward(y *Tensor, shape []int64, value *Tensor) {
	checkAny(value)
	if value.Len() != 1 {
		panic(ErrShape)
	}
	var buf [8]int
	s := ints(&buf, len(shape))
	for i, d := range shape {
		if d < 0 {
			panic(ErrShape)
		}
		s[i] = toInt(d)
	}
	resizeAs(y, value.Type, s...)
	if value.Type == Int64 {
		fill(y.Int64, value.Int64[0])
	} else {
		fill(y.Data, value.Data[0])
	}
}

func fill[T any](s []T, v T) {
	for i := range s {
		s[i] = v
	}
}

// castType is Cast's target type, or false for one the graph does not
// hold.
func castType(n *Node) (DType, bool) {
	switch n.Int("to", 0) {
	case onnxFloat:
		return Float32, true
	case onnxInt64:
		return Int64, true
	}
	return 0, false
}

// CastForward writes y = x converted to the element type to: int64 to
// float32 rounds to nearest, float32 to int64 truncates toward zero (NaN
// and values outside int64's range are undefined in ONNX; here they give
// Go's conversion's result, whatever it is on the machine).
func CastForward(y, x *Tensor, to DType) {
	checkAny(x)
	switch {
	case x.Type == to:
		copyTensor(y, x)
	case to == Int64:
		resizeAs(y, Int64, x.Shape...)
		for i, v := range x.Data {
			y.Int64[i] = int64(v)
		}
	default:
		resizeAs(y, Float32, x.Shape...)
		for i, v := range x.Int64 {
			y.Data[i] = float32(v)
		}
	}
}
