package backend

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/runtime"
)

const dtypesDir = "../testdata/dtypes"

// readValue reads a .npy file of testdata/dtypes (float32 or an integer
// type) as a runtime.Value of its own type.
func readValue(t *testing.T, name string) runtime.Value {
	t.Helper()
	a, err := npy.ReadFileTyped(filepath.Join(dtypesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	v := runtime.Value{Shape: int64s(a.Shape), Data: a.Data}
	if string(v.DType()) != a.DType {
		t.Fatalf("%s: dtype %s", name, a.DType)
	}
	return v
}

// TestBackendsRunInt64Labels runs labels.onnx (an int64 label feeding a
// Gather embedding; a float32 and an int64 output) through ONNX Runtime
// and the Go graph: each matches NumPy's closed form, the int64 output
// exactly, and the two backends match each other.
func TestBackendsRunInt64Labels(t *testing.T) {
	path := filepath.Join(dtypesDir, "labels.onnx")
	bs, err := OpenFile(path, []string{"ort", "go"}, runtime.WithLibrary(""))
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(bs)
	in := []runtime.Value{readValue(t, "label.npy"), readValue(t, "x.npy")}
	tol := Tolerance{Atol: 1e-6, Rtol: 1e-6}
	var outs []map[string]runtime.Value
	for _, b := range bs {
		out, err := RunValues(b, in)
		if err != nil {
			t.Fatalf("%s: %v", b.Name(), err)
		}
		outs = append(outs, out)
		for _, o := range []struct {
			name, file string
			exact      bool
		}{{"y", "y.npy", false}, {"code", "code.npy", true}} {
			s, err := tol.CompareValues(out[o.name], readValue(t, o.file))
			if err != nil || !s.Pass || s.Exact != o.exact {
				t.Errorf("%s: %s against NumPy: got %+v, %v; want a pass, exact %v", b.Name(), o.name, s, err, o.exact)
			}
		}
	}
	for _, name := range []string{"y", "code"} {
		if s, err := tol.CompareValues(outs[1][name], outs[0][name]); err != nil || !s.Pass {
			t.Errorf("go vs ort: %s: got %+v, %v; want a pass", name, s, err)
		}
	}
	// Run, the float32 interface, says where RunValues is needed.
	if _, err := bs[1].Run([]runtime.Tensor{{Shape: []int64{1}, Data: []float32{1}}, {Shape: []int64{1, 4}, Data: make([]float32, 4)}}); err == nil ||
		!strings.Contains(err.Error(), `input "label": element type float32 given, the graph wants int64`) {
		t.Errorf("go: Run with float32 labels: got %v, want an error naming the input and both types", err)
	}
}

// TestGraphRefusesDTypesItDoesNotHold checks the Go backend's errors: an
// input of another type than the graph's, one of a type the graph holds
// none of, and models with such inputs or operators.
func TestGraphRefusesDTypesItDoesNotHold(t *testing.T) {
	b, err := OpenGraph(filepath.Join(dtypesDir, "labels.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	x := readValue(t, "x.npy")
	tests := []struct {
		name  string
		label runtime.Value
		want  string
	}{
		{"float32 labels", runtime.Value{Shape: []int64{2}, Data: []float32{1, 2}}, `backend: go: input "label": element type float32 given, the graph wants int64`},
		{"uint8 labels", runtime.Value{Shape: []int64{2}, Data: []uint8{1, 2}}, `backend: go: input "label": element type uint8: the Go graph holds float32 and int64 tensors only`},
		{"int32 labels", runtime.Value{Shape: []int64{2}, Data: []int32{1, 2}}, `element type int32: the Go graph holds float32 and int64 tensors only`},
		{"count", runtime.Value{Shape: []int64{3}, Data: []int64{1, 2}}, `input "label": shape [3] does not hold its 2 values`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.RunValues([]runtime.Value{tt.label, x})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
	for file, want := range map[string]string{
		"passthrough.onnx": `graph input "f64": element type float64 (graph inputs are float32 or int64)`,
		"dtypes.onnx":      `attribute to = 2: casts to FLOAT (1) and INT64 (7) only`, // its uint8 output
	} {
		if _, err := OpenGraph(filepath.Join(dtypesDir, file)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("OpenGraph(%s): got %v, want an error with %q", file, err, want)
		}
	}
}

// TestCompareValues checks that integers and bools compare exactly,
// whatever the tolerances, floats under them, and that values of two
// element types never pass.
func TestCompareValues(t *testing.T) {
	v := func(data any) runtime.Value { return runtime.Value{Shape: []int64{2}, Data: data} }
	big := int64(1) << 53
	tol := Tolerance{Atol: 10, Rtol: 0.5}
	tests := []struct {
		name      string
		got, want runtime.Value
		pass      bool
		failed    int
		err       string
	}{
		{"int64 equal", v([]int64{3, -7}), v([]int64{3, -7}), true, 0, ""},
		{"int64 off by one past 2^53", v([]int64{big, 1}), v([]int64{big + 1, 1}), false, 1, ""},
		{"uint8 off by one within atol", v([]uint8{0, 255}), v([]uint8{1, 255}), false, 1, ""},
		{"int32", v([]int32{1, 2}), v([]int32{1, 3}), false, 1, ""},
		{"bool", v([]bool{true, false}), v([]bool{true, true}), false, 1, ""},
		{"float64 within tolerance", v([]float64{1, 100}), v([]float64{2, 120}), true, 0, ""},
		{"float64 past it", v([]float64{1, 100}), v([]float64{30, 100}), false, 1, ""},
		{"float16 NaN", v([]runtime.Half{0x7e00, 0x3c00}), v([]runtime.Half{0x3c00, 0x3c00}), false, 1, ""},
		{"int64 against float32", v([]int64{1, 2}), v([]float32{1, 2}), false, 0, "backend: element types differ: int64 against float32"},
		{"float64 against float32", v([]float64{1, 2}), v([]float32{1, 2}), false, 0, "backend: element types differ: float64 against float32"},
		{"uint8 against int64", v([]uint8{1, 2}), v([]int64{1, 2}), false, 0, "backend: element types differ: uint8 against int64"},
		{"shapes", runtime.Value{Shape: []int64{1, 2}, Data: []int64{1, 2}}, v([]int64{1, 2}), false, 0, "backend: shapes differ: [1 2] against [2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tol.CompareValues(tt.got, tt.want)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err || s.Pass {
					t.Errorf("got %+v, %v; want error %q and no pass", s, err, tt.err)
				}
				return
			}
			if err != nil || s.Pass != tt.pass || s.Failed != tt.failed {
				t.Errorf("got %+v, %v; want pass %v with %d failed", s, err, tt.pass, tt.failed)
			}
		})
	}
	if n := CountNonFiniteValue(v([]float64{math.NaN(), math.Inf(-1)})); n != (NonFinite{NaN: 1, NegInf: 1}) {
		t.Errorf("CountNonFiniteValue: got %+v, want 1 NaN, 1 -Inf", n)
	}
}
