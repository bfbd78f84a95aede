package npy

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const dir = "../../testdata/npy"

// want is the value make_npy.py stores at C-order index i.
func want(dtype string, i int) float32 {
	switch dtype {
	case "uint8":
		return float32(i)
	case "int64":
		return float32(i - 5)
	}
	return float32(i)*0.5 - 3
}

func TestReadFile(t *testing.T) {
	tests := []struct {
		file  string
		shape []int
		dtype string
	}{
		{"f4_c.npy", []int{2, 3, 4}, "float32"},
		{"f8_c.npy", []int{2, 3, 4}, "float64"},
		{"f4_big.npy", []int{2, 3, 4}, "float32"},
		{"u1_c.npy", []int{2, 3, 4}, "uint8"},
		{"i8_c.npy", []int{2, 3, 4}, "int64"},
		{"f4_fortran.npy", []int{2, 3, 4}, "float32"},
		{"f4_v2.npy", []int{2, 3, 4}, "float32"},
		{"f4_1d.npy", []int{7}, "float32"},
		{"f4_scalar.npy", nil, "float32"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			a, err := ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a.Shape, tt.shape) {
				t.Errorf("shape: got %v, want %v", a.Shape, tt.shape)
			}
			if a.DType != tt.dtype {
				t.Errorf("dtype: got %s, want %s", a.DType, tt.dtype)
			}
			if tt.shape == nil {
				if len(a.Data) != 1 || a.Data[0] != 2.5 {
					t.Errorf("scalar: got %v, want [2.5]", a.Data)
				}
				return
			}
			for i, v := range a.Data {
				if w := want(tt.dtype, i); v != w {
					t.Fatalf("element %d: got %v, want %v", i, v, w)
				}
			}
		})
	}
}

func TestReadErrorsNameFileAndProblem(t *testing.T) {
	tmp := t.TempDir()
	good, err := os.ReadFile(filepath.Join(dir, "f4_c.npy"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path, wantSub string
	}{
		{"complex dtype", filepath.Join(dir, "c8_unsupported.npy"), `unsupported dtype "<c8"`},
		{"truncated data", write("trunc.npy", good[:len(good)-5]), "data truncated: shape (2, 3, 4) of float32 needs 96 bytes, file has 91"},
		{"not npy", write("text.npy", []byte("hello world, not numpy")), "bad magic"},
		{"empty", write("empty.npy", nil), "too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFile(tt.path)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got error %v, want *FormatError", err)
			}
			if !strings.Contains(err.Error(), tt.wantSub) || !strings.Contains(err.Error(), tt.path) {
				t.Errorf("got %q, want it to name %q and %q", err, tt.path, tt.wantSub)
			}
		})
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	shapes := [][]int{{3}, {2, 5}, {2, 1, 3, 2}, {0, 4}}
	for _, shape := range shapes {
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(i)*1.25 - 7
		}
		var buf bytes.Buffer
		if err := Write(&buf, shape, data); err != nil {
			t.Fatal(err)
		}
		if buf.Len()%64 != (4*n)%64 {
			t.Errorf("shape %v: header not padded to 64 bytes (file is %d bytes)", shape, buf.Len())
		}
		a, err := Read(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a.Shape, shape) || !reflect.DeepEqual(a.Data, data) {
			t.Errorf("round trip of %v: got %v %v", shape, a.Shape, a.Data)
		}
	}
}

func TestWriteRejectsShapeMismatch(t *testing.T) {
	err := Write(&bytes.Buffer{}, []int{2, 3}, make([]float32, 5))
	if err == nil || !strings.Contains(err.Error(), "shape [2 3] holds 6 elements, data has 5") {
		t.Errorf("got %v, want the element-count error", err)
	}
}

// TestNumPyReadsWrittenFile checks the writer against NumPy itself, where
// Debian's python3-numpy is installed (make setup installs it).
func TestNumPyReadsWrittenFile(t *testing.T) {
	py := os.Getenv("AEBRIDGE_PYTHON")
	if py == "" {
		t.Skip("AEBRIDGE_PYTHON not set (make test sets it)")
	}
	path := filepath.Join(t.TempDir(), "w.npy")
	if err := WriteFile(path, []int{2, 3}, []float32{1, 2.5, -3, 4, 5, 6.75}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", `import numpy as np, sys; a = np.load(sys.argv[1]); print(a.dtype, a.shape, a.sum())`, path).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "float32 (2, 3) 16.25"; got != want {
		t.Errorf("numpy read: got %q, want %q", got, want)
	}
}
