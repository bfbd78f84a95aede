package npy

import (
	"bytes"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// typedSamples holds six values of each dtype, the extremes included
// (float16 as its bits: 1, −2, 65504, the smallest subnormal, +Inf, NaN).
var typedSamples = map[string]any{
	"float16": []uint16{0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x7e00},
	"float32": []float32{1.5, -2, math.MaxFloat32, math.SmallestNonzeroFloat32, float32(math.Inf(-1)), 0},
	"float64": []float64{1.5, -2, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), 1.0 / 3},
	"bool":    []bool{true, false, false, true, true, false},
	"uint8":   []uint8{0, 1, 127, 128, 254, 255},
	"int8":    []int8{-128, -1, 0, 1, 100, 127},
	"uint16":  []uint16{0, 1, 255, 256, 65534, 65535},
	"int16":   []int16{-32768, -1, 0, 1, 300, 32767},
	"uint32":  []uint32{0, 1, 1 << 24, 1<<24 + 1, 1<<32 - 2, 1<<32 - 1},
	"int32":   []int32{math.MinInt32, -1, 0, 1, 1<<24 + 1, math.MaxInt32},
	"uint64":  []uint64{0, 1, 1 << 53, 1<<53 + 1, 1<<64 - 2, 1<<64 - 1},
	"int64":   []int64{math.MinInt64, -1, 0, 1, 1<<53 + 1, math.MaxInt64},
}

// TestTypedRoundTrip writes each dtype and reads it back, in its own type
// (exactly: int64 past 2⁵³, float16 NaN bits) and as float32.
func TestTypedRoundTrip(t *testing.T) {
	for _, dt := range DTypes {
		t.Run(dt, func(t *testing.T) {
			in := &Typed{Shape: []int{2, 3}, DType: dt, Data: typedSamples[dt]}
			var buf bytes.Buffer
			if err := WriteTyped(&buf, in); err != nil {
				t.Fatal(err)
			}
			if buf.Len()%64 != (elemSize(dt)*6)%64 {
				t.Errorf("header not padded to 64 bytes (file is %d bytes)", buf.Len())
			}
			file := buf.Bytes()
			got, err := ReadTyped(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, in) {
				t.Errorf("got %+v, want %+v", got, in)
			}
			a, err := Read(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			if want := asFloat32(t, in); a.DType != dt || !sameArray(a, &Array{Shape: in.Shape, Data: want}) {
				t.Errorf("as float32: got %s %v, want %s %v", a.DType, a.Data, dt, want)
			}
			if f := got.Float32s(); !sameArray(&Array{Shape: in.Shape, Data: f}, a) {
				t.Errorf("Float32s: got %v, want Read's %v", f, a.Data)
			}
			ints := got.Int64s()
			if isFloat := dt == "float16" || dt == "float32" || dt == "float64"; isFloat != (ints == nil) {
				t.Errorf("Int64s: got %v for %s", ints, dt)
			}
			for i, v := range ints {
				if f := got.Float64s()[i]; dt != "int64" && dt != "uint64" && float64(v) != f {
					t.Errorf("Int64s()[%d] = %d, Float64s()[%d] = %v", i, v, i, f)
				}
			}
		})
	}
}

func elemSize(dt string) int {
	s := descrs[dt]
	return int(s[2] - '0')
}

// asFloat32 is what Read gives for a typed array: each value converted.
func asFloat32(t *testing.T, in *Typed) []float32 {
	var out []float32
	switch d := in.Data.(type) {
	case []float32:
		return d
	case []float64:
		for _, v := range d {
			out = append(out, float32(v))
		}
	case []bool:
		for _, v := range d {
			out = append(out, map[bool]float32{false: 0, true: 1}[v])
		}
	case []uint16:
		if in.DType == "float16" {
			// 1, −2, 65504, 2⁻²⁴, +Inf, NaN (quiet, payload 0x200)
			return []float32{1, -2, 65504, 1.0 / (1 << 24), float32(math.Inf(1)), math.Float32frombits(0x7fc00000)}
		}
		for _, v := range d {
			out = append(out, float32(v))
		}
	case []uint8:
		for _, v := range d {
			out = append(out, float32(v))
		}
	case []int8:
		for _, v := range d {
			out = append(out, float32(v))
		}
	case []int16:
		for _, v := range d {
			out = append(out, float32(v))
		}
	case []uint32:
		for _, v := range d {
			out = append(out, float32(v))
		}
	case []int32:
		for _, v := range d {
			out = append(out, float32(v))
		}
	case []uint64:
		for _, v := range d {
			out = append(out, float32(v))
		}
	case []int64:
		for _, v := range d {
			out = append(out, float32(v))
		}
	default:
		t.Fatalf("data %T", in.Data)
	}
	return out
}

// TestReadTypedBigEndianAndFortran reads each multi-byte dtype written
// big-endian ('>') in Fortran order: the values come back in C order.
func TestReadTypedBigEndianAndFortran(t *testing.T) {
	for _, dt := range DTypes {
		t.Run(dt, func(t *testing.T) {
			var le bytes.Buffer
			// Shape (2, 3) in C order is (3, 2) transposed in Fortran order.
			if err := WriteTyped(&le, &Typed{Shape: []int{6}, DType: dt, Data: typedSamples[dt]}); err != nil {
				t.Fatal(err)
			}
			size := elemSize(dt)
			body := le.Bytes()[le.Len()-6*size:]
			be := make([]byte, len(body))
			for i := 0; i < 6; i++ {
				for k := 0; k < size; k++ {
					be[i*size+k] = body[i*size+size-1-k]
				}
			}
			descr := ">" + descrs[dt][1:]
			file := craft(1, "{'descr': '"+descr+"', 'fortran_order': True, 'shape': (3, 2), }", -1, be)
			path := filepath.Join(t.TempDir(), "be.npy")
			if err := os.WriteFile(path, file, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadFileTyped(path)
			if err != nil {
				t.Fatal(err)
			}
			// Fortran element (i, j) is flat i + 3j; C order walks j fastest.
			want := &Typed{Shape: []int{3, 2}, DType: dt, Data: typedSamples[dt]}
			want.Data = reorder(want.Data, []int{3, 2})
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

// TestTypedErrors checks the errors of a malformed bool, a Data slice that
// is not DType's and an unknown dtype.
func TestTypedErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.npy")
	if err := os.WriteFile(path, craft(1, dict("|b1", "3,"), -1, []byte{0, 1, 2}), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFileTyped(path)
	var fe *FormatError
	if want := path + ": bool element 2 is byte 2, not 0 or 1"; !errors.As(err, &fe) || !strings.Contains(err.Error(), want) {
		t.Errorf("ReadFileTyped: got %v, want a *FormatError with %q", err, want)
	}
	tests := []struct {
		name string
		t    *Typed
		want string
	}{
		{"float16 as float32", &Typed{Shape: []int{1}, DType: "float16", Data: []float32{1}}, "npy: dtype float16 holds its values in []uint16, given []float32"},
		{"int64 as int32", &Typed{Shape: []int{1}, DType: "int64", Data: []int32{1}}, "npy: dtype int64 holds its values in []int64, given []int32"},
		{"complex", &Typed{Shape: []int{1}, DType: "complex64", Data: []complex64{1}}, `npy: dtype "complex64": want one of`},
		{"count", &Typed{Shape: []int{2, 2}, DType: "bool", Data: []bool{true}}, "npy: shape [2 2] holds 4 elements, data has 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteTyped(&bytes.Buffer{}, tt.t)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// TestNumPyAgreesOnEveryDType has NumPy read what WriteTyped wrote, and
// write the same values for ReadFileTyped, for each dtype.
func TestNumPyAgreesOnEveryDType(t *testing.T) {
	py := os.Getenv("AEBRIDGE_PYTHON")
	if py == "" {
		t.Skip("AEBRIDGE_PYTHON not set (make test sets it)")
	}
	for _, dt := range DTypes {
		t.Run(dt, func(t *testing.T) {
			dir := t.TempDir()
			ours, theirs := filepath.Join(dir, "ours.npy"), filepath.Join(dir, "theirs.npy")
			in := &Typed{Shape: []int{2, 3}, DType: dt, Data: typedSamples[dt]}
			if err := WriteFileTyped(ours, in); err != nil {
				t.Fatal(err)
			}
			// NumPy loads ours, checks the dtype, and saves the same values
			// big-endian for the reader.
			script := `import numpy as np, sys
a = np.load(sys.argv[1])
assert str(a.dtype) == sys.argv[3], a.dtype
np.save(sys.argv[2], a.astype(a.dtype.newbyteorder('>')) if a.dtype.itemsize > 1 else a)
print(a.dtype.str)`
			out, err := exec.Command(py, "-c", script, ours, theirs, dt).CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got, want := strings.TrimSpace(string(out)), descrs[dt]; got != want {
				t.Errorf("numpy's descr: got %q, want %q", got, want)
			}
			got, err := ReadFileTyped(theirs)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, in) {
				t.Errorf("got %+v, want %+v", got, in)
			}
		})
	}
}
