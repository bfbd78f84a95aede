package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"math"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/internal/limits"
	"github.com/aebridge/aebridge/internal/npy"
)

// allocated returns the bytes f allocated on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// bomb returns a gzip file of about 1 MB that inflates to head followed by
// 1 GiB of zeros: head's member, then 1024 members of 1 MiB of zeros each.
func bomb(head []byte) []byte {
	zeros := gzipped(make([]byte, 1<<20))
	b := gzipped(head)
	for range 1024 {
		b = append(b, zeros...)
	}
	return b
}

// TestLoadIDXRefusesClaimsPastTheBytesPresent crafts small IDX files,
// plain and gzipped, whose dimensions claim gigabytes, at and past the
// limits, and checks each is refused with an error naming the file, the
// field and the value, having allocated little.
func TestLoadIDXRefusesClaimsPastTheBytesPresent(t *testing.T) {
	tests := []struct {
		name    string
		file    []byte
		gz      bool
		wantSub string
		tooBig  bool
	}{
		{"12 bytes claiming 2^32", idx(0x08, []uint32{65536, 65536}, nil), false,
			"IDX dims [65536 65536]: shape [65536 65536]: exceeds aebridge's limit of 2147483648 elements", true},
		{"12 bytes at MaxTensorElements", idx(0x08, []uint32{32768, 65536}, nil), false,
			"IDX data truncated: dims [32768 65536] need 2147483648 bytes, file has 0", false},
		{"just past MaxTensorElements", idx(0x08, []uint32{32769, 65536}, nil), false,
			"IDX dims [32769 65536]: shape [32769 65536]: exceeds aebridge's limit", true},
		{"float64 at MaxTensorElements", idx(0x0E, []uint32{32768, 65536}, []byte{1, 2, 3}), false,
			"IDX data truncated: dims [32768 65536] need 17179869184 bytes, file has 3", false},
		{"trailing data", idx(0x08, []uint32{2, 2}, make([]byte, 9)), false,
			"trailing data: IDX dims [2 2] need 4 bytes, file has 9", false},
		{"rank past MaxRank", idx(0x08, make([]uint32, limits.MaxRank+1), nil), false,
			"IDX rank 33 exceeds aebridge's limit of 32", true},
		{"gzip claiming 2^32", gzipped(idx(0x08, []uint32{65536, 65536}, nil)), true,
			"IDX dims [65536 65536]: shape [65536 65536]: exceeds aebridge's limit", true},
		{"gzip just past MaxDecompressedBytes", bomb(idx(0x08, []uint32{1024, 1<<20 + 1}, nil)), true,
			"IDX dims [1024 1048577] need 1073742848 bytes, exceeds aebridge's limit of 1073741824 decompressed bytes", true},
		{"gzip at MaxDecompressedBytes, 1 MiB present", append(gzipped(idx(0x08, []uint32{1024, 1 << 20}, nil)), gzipped(make([]byte, 1<<20))...), true,
			"IDX data truncated: dims [1024 1048576] need 1073741824 bytes, decompressed file has 1048576", false},
		{"1 MB gzip inflating to 1 GiB past its claim", bomb(idx(0x08, []uint32{5, 2}, make([]byte, 10))), true,
			"trailing data: IDX dims [5 2] need 10 bytes, decompressed file has more", false},
		{"gzip of float64 at MaxTensorElements", gzipped(idx(0x0E, []uint32{32768, 65536}, nil)), true,
			"IDX dims [32768 65536] need 17179869184 bytes, exceeds aebridge's limit of 1073741824 decompressed bytes", true},
		{"rank 1", idx(0x08, []uint32{3}, []byte{1, 2, 3}), false,
			"IDX dims [3] give one value per sample, as a labels file does (want N×D, samples × features, or N×C×H×W)", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "hostile-idx3-ubyte"
			if tt.gz {
				name += ".gz"
			}
			path := write(t, name, tt.file)
			var err error
			if n := allocated(func() { _, err = LoadIDX(path) }); n > 64<<20 {
				t.Errorf("LoadIDX allocated %d bytes, want < 64 MiB", n)
			}
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("got %v, want an error naming %s and %q", err, path, tt.wantSub)
			}
			if errors.Is(err, limits.ErrTooLarge) != tt.tooBig {
				t.Errorf("got %v, want errors.Is ErrTooLarge %v", err, tt.tooBig)
			}
		})
	}
}

// TestLoadIDXAtTheRankLimit reads an IDX file of MaxRank dimensions, the
// most it may have.
func TestLoadIDXAtTheRankLimit(t *testing.T) {
	dims := make([]uint32, limits.MaxRank)
	for i := range dims {
		dims[i] = 1
	}
	dims[0] = 2
	s, err := LoadIDX(write(t, "r-idx32-ubyte", idx(0x08, dims, []byte{0, 255})))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Shape) != limits.MaxRank-1 || s.Len() != 2 || s.X[1] != 1 {
		t.Errorf("got shape %v, %d samples, %v; want rank %d, 2 samples, [0 1]", s.Shape, s.Len(), s.X, limits.MaxRank-1)
	}
}

// TestLoadIDXGzipErrors checks that a corrupt checksum and bytes after the
// gzip stream are reported, not ignored.
func TestLoadIDXGzipErrors(t *testing.T) {
	good := gzipped(idx(0x08, []uint32{2, 2}, []byte{1, 2, 3, 4}))
	badCRC := append([]byte{}, good...)
	badCRC[len(badCRC)-8] ^= 0xff
	tests := []struct {
		name    string
		file    []byte
		wantSub string
	}{
		{"checksum", badCRC, "after the IDX data: gzip: invalid checksum"},
		{"garbage after the stream", append(append([]byte{}, good...), "junk after the stream"...), "after the IDX data: gzip: invalid header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := write(t, "x-idx3-ubyte.gz", tt.file)
			if _, err := LoadIDX(path); err == nil || !strings.Contains(err.Error(), tt.wantSub) || !strings.Contains(err.Error(), path) {
				t.Errorf("got %v, want an error naming %s and %q", err, path, tt.wantSub)
			}
		})
	}
	if _, err := LoadIDX(write(t, "x-idx3-ubyte.gz", good)); err != nil {
		t.Errorf("good file: got %v, want no error", err)
	}
}

func TestLoadNPYRefusesRankBelowTwo(t *testing.T) {
	tests := []struct {
		name    string
		shape   []int
		wantSub string
	}{
		{"784 values", []int{784}, "shape (784,) is one-dimensional (want N×D, samples × features, or N×C×H×W; for a single sample of 784 values, reshape it to (1, 784))"},
		{"scalar", nil, "shape () is a scalar, not a data set (want N×D, samples × features, or N×C×H×W)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 1
			for _, d := range tt.shape {
				n *= d
			}
			path := filepath.Join(t.TempDir(), "x.npy")
			if err := npy.WriteFile(path, tt.shape, make([]float32, n)); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadNPY(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("got %v, want an error naming %s and %q", err, path, tt.wantSub)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "one.npy")
	if err := npy.WriteFile(path, []int{1, 784}, make([]float32, 784)); err != nil {
		t.Fatal(err)
	}
	if s, err := LoadNPY(path); err != nil || s.Len() != 1 || s.Dim() != 784 {
		t.Errorf("(1, 784): got %v, want one sample of 784 values", err)
	}
}

// TestLoadersRefuseNonFinite puts a NaN or an infinity in each loader's
// data and checks the error names the file and where it is.
func TestLoadersRefuseNonFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	withAt := func(n, i int, v float32) []float32 {
		x := make([]float32, n)
		x[i] = v
		return x
	}
	npyFile := func(name string, shape []int, x []float32) func(t *testing.T) string {
		return func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), name)
			if err := npy.WriteFile(p, shape, x); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	raw := func(name string, b []byte) func(t *testing.T) string {
		return func(t *testing.T) string { return write(t, name, b) }
	}
	// A float64 .npy whose value overflows float32.
	f8 := append([]byte("\x93NUMPY\x01\x00"), 0, 0)
	h := "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }\n"
	binary.LittleEndian.PutUint16(f8[8:], uint16(len(h)))
	f8 = append(f8, h...)
	for i := range 4 {
		v := float64(i)
		if i == 3 {
			v = 1e300
		}
		f8 = binary.LittleEndian.AppendUint64(f8, math.Float64bits(v))
	}
	floatIDX := idx(0x0D, []uint32{2, 3}, nil)
	for i := range 6 {
		v := float32(i)
		if i == 4 {
			v = nan
		}
		floatIDX = binary.BigEndian.AppendUint32(floatIDX, math.Float32bits(v))
	}
	tests := []struct {
		name    string
		file    func(t *testing.T) string
		load    func(string) error
		wantSub string
	}{
		{"npy N×D", npyFile("x.npy", []int{20, 400}, withAt(8000, 17*400+301, nan)), loadNPY, "x.npy: row 17, column 301: NaN"},
		{"npy N×C×H×W", npyFile("x.npy", []int{4, 2, 3, 5}, withAt(120, 3*30+1*15+2*5+4, inf)), loadNPY, "x.npy: sample 3, feature 29 (index [3 1 2 4]): +Inf"},
		{"npy float64 past float32", raw("x.npy", f8), loadNPY, "x.npy: row 1, column 1: +Inf"},
		{"csv NaN", raw("x.csv", []byte("a,b,c\n1,2,3\n4,NaN,6\n")), loadCSV, "x.csv: line 3, column 2: NaN"},
		{"csv -Inf", raw("x.csv", []byte("1,2,3\n4,5,-inf\n")), loadCSV, "x.csv: line 2, column 3: -Inf"},
		{"csv past float32, in the first row", raw("x.csv", []byte("1e39,2\n")), loadCSV, `x.csv: line 1, column 1: "1e39" is out of float32's range`},
		{"idx float", raw("x-idx2-float", floatIDX), loadIDX, "x-idx2-float: row 1, column 1: NaN"},
		{"labels scores", npyFile("y.npy", []int{3, 2}, withAt(6, 5, nan)), loadLabels3, "y.npy: row 2, column 1: NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.file(t)
			if err := tt.load(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("got %v, want an error naming %s and %q", err, path, tt.wantSub)
			}
		})
	}
}

func loadNPY(p string) error     { _, err := LoadNPY(p); return err }
func loadCSV(p string) error     { _, err := LoadCSV(p); return err }
func loadIDX(p string) error     { _, err := LoadIDX(p); return err }
func loadLabels3(p string) error { _, err := LoadLabels(p, 3); return err }

// checkSet checks what a loader returned: a sample shape, a whole number
// of samples, finite values.
func checkSet(t *testing.T, s *Set) {
	t.Helper()
	if len(s.Shape) == 0 || s.Dim() == 0 || len(s.X)%s.Dim() != 0 || s.Len() == 0 {
		t.Fatalf("shape %v with %d values", s.Shape, len(s.X))
	}
	for i, v := range s.X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("value %d is %v", i, v)
		}
	}
}

// floatIDX encodes s as a float32 IDX file.
func floatIDX(s *Set) []byte {
	dims := []uint32{uint32(s.Len())}
	for _, d := range s.Shape {
		dims = append(dims, uint32(d))
	}
	b := idx(0x0D, dims, nil)
	for _, v := range s.X {
		b = binary.BigEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func sameSet(a, b *Set) bool {
	if len(a.Shape) != len(b.Shape) || len(a.X) != len(b.X) {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	for i := range a.X {
		if math.Float32bits(a.X[i]) != math.Float32bits(b.X[i]) {
			return false
		}
	}
	return true
}

func idxSeeds(f *testing.F) {
	f.Add(idx(0x08, []uint32{2, 2, 2}, []byte{0, 255, 51, 102, 1, 2, 3, 4}))
	f.Add(idx(0x0D, []uint32{1, 2}, []byte{0x3f, 0xc0, 0, 0, 0xc0, 0, 0, 0}))
	f.Add(idx(0x0E, []uint32{1, 1}, make([]byte, 8)))
	f.Add(idx(0x0B, []uint32{2, 1}, []byte{0xff, 0xfe, 0, 1}))
	f.Add(idx(0x08, []uint32{65536, 65536}, nil))
}

// FuzzIDX reads arbitrary bytes as a plain IDX file of known size: a read
// either fails or gives finite samples that re-encode to the same values,
// with allocation in proportion to the input.
func FuzzIDX(f *testing.F) {
	idxSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var s *Set
		var err error
		n := allocated(func() { s, err = readIDX("f", bytes.NewReader(b), int64(len(b)), false) })
		if limit := uint64(1<<20 + 16*len(b)); n > limit {
			t.Fatalf("reading %d bytes allocated %d, want at most %d", len(b), n, limit)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "dataset: f: ") {
				t.Fatalf("got %q, want an error naming the file", err)
			}
			return
		}
		checkSet(t, s)
		again, err := readIDX("g", bytes.NewReader(floatIDX(s)), -1, false)
		if err != nil || !sameSet(s, again) {
			t.Fatalf("re-encoded: got %v, %v; want %v %v", again, err, s.Shape, s.X)
		}
	})
}

// FuzzIDXGzip reads arbitrary bytes as a gzipped IDX file, and the same
// bytes gzipped: the latter must agree with reading them plain, and
// allocate in proportion to them.
func FuzzIDXGzip(f *testing.F) {
	idxSeeds(f)
	f.Add(gzipped(idx(0x08, []uint32{2, 2}, []byte{1, 2, 3, 4})))
	f.Fuzz(func(t *testing.T, b []byte) {
		if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			if s, err := readIDX("f.gz", zr, -1, true); err == nil {
				checkSet(t, s)
			} else if !strings.HasPrefix(err.Error(), "dataset: f.gz: ") {
				t.Fatalf("got %q, want an error naming the file", err)
			}
		}
		z := gzipped(b)
		var s *Set
		var err error
		n := allocated(func() {
			zr, zerr := gzip.NewReader(bytes.NewReader(z))
			if zerr != nil {
				t.Fatal(zerr)
			}
			s, err = readIDX("f.gz", zr, -1, true)
		})
		if limit := uint64(2<<20 + 16*len(b)); n > limit {
			t.Fatalf("reading %d bytes gzipped allocated %d, want at most %d", len(b), n, limit)
		}
		plain, perr := readIDX("f.gz", bytes.NewReader(b), int64(len(b)), false)
		if (err == nil) != (perr == nil) || err == nil && !sameSet(s, plain) {
			t.Fatalf("gzipped: got %v, %v; plain: %v, %v", s, err, plain, perr)
		}
	})
}

// FuzzCSV reads arbitrary bytes as CSV: a read either fails naming the
// file or gives finite samples that, written out again, read back the same.
func FuzzCSV(f *testing.F) {
	f.Add([]byte("a,b,c\n1,2,3\n\n4, 5.5 ,-6\n"))
	f.Add([]byte("1,2\n3\n"))
	f.Add([]byte("1e39,2\n"))
	f.Add([]byte("x\n1\nNaN\n"))
	f.Add([]byte("-0,0x1p-3,1_000\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := readCSV("f.csv", bytes.NewReader(b))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "dataset: f.csv") {
				t.Fatalf("got %q, want an error naming the file", err)
			}
			return
		}
		checkSet(t, s)
		var out strings.Builder
		for i, v := range s.X {
			out.WriteString(strconv.FormatFloat(float64(v), 'g', -1, 32))
			if (i+1)%s.Dim() == 0 {
				out.WriteByte('\n')
			} else {
				out.WriteByte(',')
			}
		}
		again, err := readCSV("g.csv", strings.NewReader(out.String()))
		if err != nil || !sameSet(s, again) {
			t.Fatalf("re-encoded %q: got %v, %v; want %v %v", out.String(), again, err, s.Shape, s.X)
		}
	})
}
