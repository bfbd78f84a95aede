package dataset

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/internal/npy"
)

// writeUint8NPY writes a uint8 .npy of the given shape and bytes.
func writeUint8NPY(t *testing.T, path string, shape []int, data []byte) {
	t.Helper()
	dims := ""
	for _, d := range shape {
		dims += fmt.Sprintf("%d, ", d)
	}
	if len(shape) > 1 {
		dims = strings.TrimSuffix(dims, ", ")
	}
	header := fmt.Sprintf("{'descr': '|u1', 'fortran_order': False, 'shape': (%s), }", dims)
	for (10+len(header)+1)%64 != 0 {
		header += " "
	}
	header += "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(header)), byte(len(header)>>8))
	b = append(append(b, header...), data...)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeCache makes a data cache holding "mnist" with n training and m test
// images of 28×28, image i all of level i, label i%10, and points
// $AEBRIDGE_DATA at it.
func fakeCache(t *testing.T, n, m int) string {
	dir := t.TempDir()
	t.Setenv(DataEnv, dir)
	d := filepath.Join(dir, "mnist")
	os.MkdirAll(d, 0o755)
	for split, k := range map[string]int{"train": n, "test": m} {
		px := make([]byte, k*784)
		labels := make([]float32, k)
		for i := range k {
			for j := range 784 {
				px[i*784+j] = byte(i)
			}
			labels[i] = float32(i % 10)
		}
		writeUint8NPY(t, filepath.Join(d, split+"-images.npy"), []int{k, 28, 28}, px)
		if err := npy.WriteFile(filepath.Join(d, split+"-labels.npy"), []int{k}, labels); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestOpenBuiltinReferences(t *testing.T) {
	fakeCache(t, 30, 12)
	for _, c := range []struct {
		ref   string
		first int // level of the first sample
		n     int
	}{
		{"mnist:train", 0, 30},
		{"mnist:test", 0, 12},
		{"mnist:train[:5]", 0, 5},
		{"mnist:train[10:20]", 10, 10},
		{"mnist:test[7:]", 7, 5},
	} {
		t.Run(c.ref, func(t *testing.T) {
			s, err := Open(c.ref)
			if err != nil {
				t.Fatal(err)
			}
			if s.Len() != c.n || !reflect.DeepEqual(s.Shape, []int{1, 28, 28}) || !s.Bytes {
				t.Fatalf("got %d samples of %v (bytes %v), want %d of [1 28 28] (bytes true)", s.Len(), s.Shape, s.Bytes, c.n)
			}
			if got, want := s.X[0], float32(c.first)/255; got != want {
				t.Errorf("first value: got %v, want %v", got, want)
			}
			if got, want := s.X[len(s.X)-1], float32(c.first+c.n-1)/255; got != want {
				t.Errorf("last value: got %v, want %v", got, want)
			}
			if len(s.Labels) != c.n || s.Labels[0] != c.first%10 {
				t.Errorf("labels: got %d, first %v; want %d, first %d", len(s.Labels), s.Labels, c.n, c.first%10)
			}
		})
	}
}

func TestLoadBuiltinTrainSliceKeepsTheTestSplit(t *testing.T) {
	fakeCache(t, 30, 12)
	train, test, err := Load("mnist:train[:8]")
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 8 || test == nil || test.Len() != 12 {
		t.Fatalf("got %d train, test %v; want 8 and 12", train.Len(), test)
	}
	train, test, err = Load("mnist")
	if err != nil || train.Len() != 30 || test.Len() != 12 {
		t.Fatalf("mnist: got %v, %v, %v", train, test, err)
	}
	if train, test, err = Load("mnist:test[:3]"); err != nil || train.Len() != 3 || test != nil {
		t.Fatalf("mnist:test[:3]: got %v, %v, %v; want 3 samples and no test set", train, test, err)
	}
}

func TestReferenceErrorsNameThePart(t *testing.T) {
	fakeCache(t, 30, 12)
	for _, c := range []struct{ ref, want string }{
		{"fashion-mnist:tset", `dataset: fashion-mnist:tset: unknown split "tset", want train or test`},
		{"fashoin-mnist:test", `dataset: fashoin-mnist:test: unknown data set "fashoin-mnist" (want mnist or fashion-mnist) and no such file`},
		{"mnist:test[a:3]", `dataset: mnist:test[a:3]: slice [a:3]: "a" is not a sample index`},
		{"mnist:test[3]", `dataset: mnist:test[3]: slice [3]: want [lo:hi], [:hi] or [lo:]`},
		{"mnist:test[5:5]", `dataset: mnist:test[5:5]: slice [5:5] selects no samples`},
		{"mnist:test[:20]", `dataset: mnist:test[:20]: slice [0:20] is past the 12 samples of mnist:test`},
		{"mnist:test[12:]", `dataset: mnist:test[12:]: slice [12:] is past the 12 samples of mnist:test`},
		{"mnist", `dataset: mnist: name a split, mnist:train or mnist:test`},
		{"fashion-mnist:test", `dataset: fashion-mnist is not installed`},
		{"nothing.npy", `dataset: nothing.npy: no such file or folder, and not a data set`},
		{"", `dataset: empty data set reference`},
	} {
		t.Run(c.ref, func(t *testing.T) {
			_, err := Open(c.ref)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestOpenFileReferenceWithSlice(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.npy")
	if err := npy.WriteFile(p, []int{4, 2}, []float32{0, 1, 2, 3, 4, 5, 6, 7}); err != nil {
		t.Fatal(err)
	}
	s, err := Open(p + "[1:3]")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.X, []float32{2, 3, 4, 5}) || s.Bytes {
		t.Errorf("got %v (bytes %v), want [2 3 4 5] (bytes false)", s.X, s.Bytes)
	}
	if s, err = Open(p); err != nil || s.Len() != 4 {
		t.Errorf("whole file: got %v, %v", s, err)
	}
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func TestLoadPNGDir(t *testing.T) {
	t.Run("grey", func(t *testing.T) {
		dir := t.TempDir()
		for i, name := range []string{"b.png", "a.png"} {
			g := image.NewGray(image.Rect(0, 0, 3, 2))
			for j := range g.Pix {
				g.Pix[j] = byte(10*i + j)
			}
			writePNG(t, filepath.Join(dir, name), g)
		}
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		want := []float32{10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5} // a.png first
		for i := range want {
			want[i] /= 255
		}
		if !reflect.DeepEqual(s.Shape, []int{1, 2, 3}) || !reflect.DeepEqual(s.X, want) || s.Labels != nil || !s.Bytes {
			t.Errorf("got shape %v, %v, labels %v; want [1 2 3], %v, none", s.Shape, s.X, s.Labels, want)
		}
	})
	t.Run("rgb classes", func(t *testing.T) {
		dir := t.TempDir()
		for k, class := range []string{"cat", "dog"} {
			img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
			img.SetNRGBA(0, 0, color.NRGBA{255, 0, 51, 255})
			img.SetNRGBA(1, 0, color.NRGBA{0, byte(k), 0, 255})
			writePNG(t, filepath.Join(dir, class, "x.png"), img)
		}
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		want := []float32{1, 0, 0, 0, 0.2, 0, 1, 0, 0, 1.0 / 255, 0.2, 0} // planes R, G, B
		if !reflect.DeepEqual(s.Shape, []int{3, 1, 2}) || !reflect.DeepEqual(s.X, want) || !reflect.DeepEqual(s.Labels, []int{0, 1}) {
			t.Errorf("got shape %v, %v, labels %v; want [3 1 2], %v, [0 1]", s.Shape, s.X, s.Labels, want)
		}
	})
	t.Run("sizes differ", func(t *testing.T) {
		dir := t.TempDir()
		writePNG(t, filepath.Join(dir, "a.png"), image.NewGray(image.Rect(0, 0, 28, 28)))
		writePNG(t, filepath.Join(dir, "b.png"), image.NewGray(image.Rect(0, 0, 28, 28)))
		writePNG(t, filepath.Join(dir, "c.png"), image.NewGray(image.Rect(0, 0, 32, 28)))
		writePNG(t, filepath.Join(dir, "d.png"), image.NewGray(image.Rect(0, 0, 30, 28)))
		_, err := Open(dir)
		want := fmt.Sprintf("dataset: %s: 32×28 pixels, but %s (the first) has 28×28", filepath.Join(dir, "c.png"), filepath.Join(dir, "a.png"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want %q", err, want)
		}
	})
	t.Run("grey and colour", func(t *testing.T) {
		dir := t.TempDir()
		writePNG(t, filepath.Join(dir, "a.png"), image.NewGray(image.Rect(0, 0, 2, 2)))
		writePNG(t, filepath.Join(dir, "b.png"), image.NewNRGBA(image.Rect(0, 0, 2, 2)))
		_, err := Open(dir)
		if err == nil || !strings.Contains(err.Error(), "b.png: colour, but") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("not a png", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "a.png"), []byte("not a png"), 0o644)
		_, err := Open(dir)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "a.png")+": png:") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Open(dir)
		if err == nil || !strings.Contains(err.Error(), "no PNG images") {
			t.Errorf("got %v", err)
		}
	})
}

func TestLoadPNGDirRefusesAHeaderPastItsBytes(t *testing.T) {
	dir := t.TempDir()
	var buf strings.Builder
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1)))
	b := []byte(buf.String())
	// IHDR's width and height are at bytes 16 and 20; its CRC at 29.
	binaryPut := func(off int, v uint32) {
		b[off], b[off+1], b[off+2], b[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	binaryPut(16, 40000)
	binaryPut(20, 40000)
	binaryPut(29, crc32IEEE(b[12:29]))
	path := filepath.Join(dir, "huge.png")
	os.WriteFile(path, b, 0o644)
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	_, err := Open(dir)
	goruntime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "header claims 40000×40000 pixels, more than its") {
		t.Errorf("got %v", err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 64<<20 {
		t.Errorf("allocated %d bytes, want under 64 MiB", d)
	}
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

func TestInstalled(t *testing.T) {
	dir := fakeCache(t, 30, 12)
	st := Installed("mnist")
	if st.Err != nil || st.Dir != filepath.Join(dir, "mnist") || !reflect.DeepEqual(st.Sizes, map[string]int{"train": 30, "test": 12}) {
		t.Errorf("mnist: got %+v", st)
	}
	st = Installed("fashion-mnist")
	if st.Err == nil || st.Dir != "" || !strings.Contains(st.Err.Error(), "fashion-mnist is not installed (looked in "+filepath.Join(dir, "fashion-mnist")+")") {
		t.Errorf("fashion-mnist: got %+v", st)
	}
	if st := Installed("cifar"); st.Err == nil {
		t.Error("cifar: no error")
	}
	os.WriteFile(filepath.Join(dir, "mnist", "test-images.npy"), []byte("junk"), 0o644)
	if st := Installed("mnist"); st.Err == nil || !strings.Contains(st.Err.Error(), "test-images.npy: not a .npy file") {
		t.Errorf("junk: got %v", st.Err)
	}
}

// FuzzParseRef: any string parses to a reference or to an error of this
// package naming it; a parsed slice is well-formed and a built-in
// reference names a known data set and split.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"mnist:test", "fashion-mnist:train[:256]", "mnist:test[100:200]", "mnist:test[5:]", "mnist", "x.npy[1:3]",
		"fashion-mnist:tset", "mnist:test[a:b]", "mnist:test[3]", "mnist:test[9:2]", "[", "]", ":", "mnist:[:]", "mnist:test[-1:]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "dataset: ") {
				t.Fatalf("%q: error %q lacks the package prefix", s, err)
			}
			return
		}
		if r.Text != s {
			t.Fatalf("%q: Text %q", s, r.Text)
		}
		if r.Sliced && (r.Lo < 0 || (r.Hi >= 0 && r.Hi <= r.Lo)) {
			t.Fatalf("%q: slice [%d:%d]", s, r.Lo, r.Hi)
		}
		if r.Name != "" {
			info, ok := Lookup(r.Name)
			if !ok || (r.Split != "" && !slices.Contains(info.Splits, r.Split)) {
				t.Fatalf("%q: data set %q split %q", s, r.Name, r.Split)
			}
		} else if r.Path == "" {
			t.Fatalf("%q: neither a data set nor a path", s)
		}
	})
}

// FuzzLoadPNGDir: a folder holding one file of any bytes named a.png
// gives an error of this package or samples of the shape it reports, with
// values in [0, 1].
func FuzzLoadPNGDir(f *testing.F) {
	for _, img := range []image.Image{image.NewGray(image.Rect(0, 0, 2, 3)), image.NewNRGBA(image.Rect(0, 0, 3, 1)), image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.Black, color.White})} {
		var b bytes.Buffer
		png.Encode(&b, img)
		f.Add(b.Bytes())
	}
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "a.png"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := LoadPNGDir(dir)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "dataset: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			return
		}
		if len(s.Shape) != 3 || (s.Shape[0] != 1 && s.Shape[0] != 3) || s.Len() != 1 || len(s.X) != s.Dim() {
			t.Fatalf("shape %v, %d values", s.Shape, len(s.X))
		}
		for i, v := range s.X {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("value %d is %v", i, v)
			}
		}
	})
}
