package backend

import (
	"fmt"
	"math"
	"slices"

	"github.com/aebridge/aebridge/internal/limits"
	"github.com/aebridge/aebridge/runtime"
)

// ValueBackend is a Backend that runs inputs of any element type the
// runtime holds (runtime.DTypes) and returns its outputs in their own
// types: ORT and Graph are.
type ValueBackend interface {
	Backend
	RunValues(inputs []runtime.Value) (map[string]runtime.Value, error)
}

// RunValues runs b on inputs, in the model's input order: through its
// RunValues when b is a ValueBackend, else through Run, which takes float32
// inputs only (an input of another type is an error naming it and its
// type).
func RunValues(b Backend, inputs []runtime.Value) (map[string]runtime.Value, error) {
	if vb, ok := b.(ValueBackend); ok {
		return vb.RunValues(inputs)
	}
	ts := make([]runtime.Tensor, len(inputs))
	for i, v := range inputs {
		t, err := v.Tensor()
		if err != nil {
			return nil, fmt.Errorf("backend: %s takes float32 inputs only: input %d: %w", b.Name(), i, err)
		}
		ts[i] = t
	}
	out, err := b.Run(ts)
	if err != nil {
		return nil, err
	}
	named := make(map[string]runtime.Value, len(out))
	for k, t := range out {
		named[k] = runtime.ValueOf(t)
	}
	return named, nil
}

// CountNonFiniteValue counts the NaN, +Inf and −Inf elements of a float16,
// float32 or float64 value; other element types have none.
func CountNonFiniteValue(v runtime.Value) NonFinite {
	switch d := v.Data.(type) {
	case []float32:
		return CountNonFinite(d)
	case []float64, []runtime.Half:
		var n NonFinite
		for _, f := range v.Float64s() {
			switch {
			case math.IsNaN(f):
				n.NaN++
			case math.IsInf(f, 1):
				n.PosInf++
			case math.IsInf(f, -1):
				n.NegInf++
			}
		}
		return n
	}
	return NonFinite{}
}

// isFloat reports whether dt is a floating-point element type.
func isFloat(dt runtime.DType) bool {
	return dt == runtime.Float32 || dt == runtime.Float64 || dt == runtime.Float16
}

// CompareValues compares got with the reference want, values of any
// element type. Both must have the same element type: a mismatch is an
// error, and Stats that do not pass. Floating-point values (float16,
// float32, float64) are compared as Compare does, under the tolerances;
// integers and bools must be equal, element for element, whatever the
// tolerances (Stats.Exact). The other errors are Compare's.
func (tol Tolerance) CompareValues(got, want runtime.Value) (Stats, error) {
	gt, wt := got.DType(), want.DType()
	if gt == "" || wt == "" {
		return Stats{}, fmt.Errorf("backend: values hold %T and %T, not element types the runtime holds", got.Data, want.Data)
	}
	if gt != wt {
		return Stats{}, fmt.Errorf("backend: element types differ: %s against %s", gt, wt)
	}
	if gt == runtime.Float32 {
		g, _ := got.Tensor()
		w, _ := want.Tensor()
		return tol.Compare(g, w)
	}
	if isFloat(gt) {
		return tol.compare(got.Shape, want.Shape, got.Float64s(), want.Float64s(), nil, nil)
	}
	return tol.compare(got.Shape, want.Shape, got.Float64s(), want.Float64s(), exactInts(got), exactInts(want))
}

// exactInts is an integer or bool value's elements as int64, exactly.
func exactInts(v runtime.Value) []int64 {
	switch d := v.Data.(type) {
	case []int64:
		return d
	case []int32:
		return widen(d)
	case []uint8:
		return widen(d)
	case []bool:
		out := make([]int64, len(d))
		for i, b := range d {
			if b {
				out[i] = 1
			}
		}
		return out
	}
	return nil
}

func widen[T int32 | uint8](d []T) []int64 {
	out := make([]int64, len(d))
	for i, x := range d {
		out[i] = int64(x)
	}
	return out
}

// compare is Compare on float64 values. With the integers gi and wi (the
// same values, exactly), an element fails whenever they differ, even where
// float64 cannot tell them apart (past 2⁵³).
func (tol Tolerance) compare(gotShape, wantShape []int64, got, want []float64, gi, wi []int64) (Stats, error) {
	exact := gi != nil
	if !(tol.Atol >= 0 && tol.Rtol >= 0) || math.IsInf(tol.Atol, 1) || math.IsInf(tol.Rtol, 1) {
		return Stats{}, fmt.Errorf("backend: tolerances atol %v and rtol %v must be finite and not negative", tol.Atol, tol.Rtol)
	}
	for _, t := range []struct {
		side  string
		shape []int64
		n     int
	}{{"candidate", gotShape, len(got)}, {"reference", wantShape, len(want)}} {
		n, err := limits.Elements(t.shape)
		if err != nil {
			return Stats{}, fmt.Errorf("backend: %s: %w", t.side, err)
		}
		if n != int64(t.n) {
			return Stats{}, fmt.Errorf("backend: %s of shape %v holds %d values, want %d", t.side, t.shape, t.n, n)
		}
		if n == 0 {
			return Stats{}, fmt.Errorf("backend: %s of shape %v has no elements: nothing to compare", t.side, t.shape)
		}
	}
	if !slices.Equal(gotShape, wantShape) {
		return Stats{}, fmt.Errorf("backend: shapes differ: %v against %v", gotShape, wantShape)
	}
	s := Stats{Elements: len(got), Exact: exact}
	var sum float64
	worstRatio := -1.0
	for i, g := range got {
		w := want[i]
		var d, ratio float64
		switch {
		case exact:
			d = math.Abs(g - w)
			if gi[i] != wi[i] {
				s.Failed++
				ratio = math.Inf(1)
			}
			if ref := math.Abs(w); ref > 0 {
				s.MaxRel = math.Max(s.MaxRel, d/ref)
			} else if d > 0 {
				s.MaxRel = math.Inf(1)
			}
		case finite(g) && finite(w):
			d = math.Abs(g - w)
			limit := math.Max(tol.Atol, tol.Rtol*math.Abs(w))
			if d > limit {
				s.Failed++
			}
			if ref := math.Abs(w); ref > 0 {
				s.MaxRel = math.Max(s.MaxRel, d/ref)
			} else if d > 0 {
				s.MaxRel = math.Inf(1)
			}
			ratio = d / math.Max(limit, math.SmallestNonzeroFloat64)
		case tol.AllowNonFinite && (math.IsNaN(g) && math.IsNaN(w) || g == w):
		default:
			d, ratio = math.Inf(1), math.Inf(1)
			s.MaxRel = d
			s.Failed++
			s.NonFinite++
		}
		sum += d
		s.MaxAbs = math.Max(s.MaxAbs, d)
		if ratio > worstRatio {
			worstRatio, s.Worst, s.Got, s.Want = ratio, i, float32(g), float32(w)
		}
	}
	s.MeanAbs = sum / float64(len(got))
	s.Pass = s.Failed == 0
	return s, nil
}
