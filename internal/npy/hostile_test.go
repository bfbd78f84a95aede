package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/internal/limits"
)

// craft assembles a .npy file of the given format version (1, 2 or 3) from a
// header dict and data, without padding, claiming hlen as the header's length
// (or its real length when hlen < 0).
func craft(version byte, header string, hlen int64, data []byte) []byte {
	b := append([]byte{}, magic...)
	b = append(b, version, 0)
	if hlen < 0 {
		hlen = int64(len(header))
	}
	if version == 1 {
		b = binary.LittleEndian.AppendUint16(b, uint16(hlen))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(hlen))
	}
	b = append(b, header...)
	return append(b, data...)
}

func dict(descr, shape string) string {
	return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }\n"
}

// allocated returns the bytes f allocated on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// stream hides the size of the reader it wraps, as a pipe would.
type stream struct{ io.Reader }

// TestReadRefusesClaimsPastTheBytesPresent crafts tiny files whose headers
// claim gigabytes, at and past the limits, and checks each is refused, with
// an error naming the file, the field and the value, without allocating
// from the claim: from a file (whose size is known) and from a stream.
func TestReadRefusesClaimsPastTheBytesPresent(t *testing.T) {
	rank33 := strings.Repeat("1, ", limits.MaxRank+1)
	rank32 := strings.Repeat("1, ", limits.MaxRank-1) + "1048576"
	tests := []struct {
		name    string
		file    []byte
		wantSub string // in ReadFile's error
		wantStr string // in Read's error, if not wantSub
		tooBig  bool
	}{
		{"shape 2^34", craft(1, dict("<f4", "17179869184,"), -1, nil),
			"shape (17179869184,): shape [17179869184]: exceeds aebridge's limit of 2147483648 elements", "", true},
		{"just past MaxTensorElements", craft(1, dict("|u1", "2147483649,"), -1, []byte{1, 2, 3}),
			"shape (2147483649,): shape [2147483649]: exceeds aebridge's limit", "", true},
		{"at MaxTensorElements, 3 bytes present", craft(1, dict("|u1", "2147483648,"), -1, []byte{1, 2, 3}),
			"data truncated: shape (2147483648,) of uint8 needs 2147483648 bytes, file has 3", "", false},
		{"8 GiB of float64 at the limit", craft(1, dict("<f8", "65536, 32768"), -1, nil),
			"data truncated: shape (65536, 32768) of float64 needs 17179869184 bytes, file has 0", "", false},
		{"2^32 × 2^32 wraps to 0 in 64 bits", craft(1, dict("<f4", "4294967296, 4294967296"), -1, nil),
			"shape (4294967296, 4294967296): shape [4294967296 4294967296]: exceeds aebridge's limit", "", true},
		{"a zero does not excuse 2^40", craft(1, dict("<f4", "0, 1099511627776"), -1, nil),
			"exceeds aebridge's limit", "", true},
		{"rank past MaxRank", craft(1, dict("<f4", rank33), -1, nil),
			"has more than 32 dimensions", "", true},
		{"rank at MaxRank", craft(1, dict("<f4", rank32), -1, nil),
			"data truncated: shape (" + rank32 + ") of float32 needs 4194304 bytes, file has 0", "", false},
		{"header length at maxHeader", craft(2, "", maxHeader, []byte("{}")),
			"header length 16777216 does not fit a file of 14 bytes",
			"truncated header: header length 16777216, 2 bytes follow", false},
		{"header length past maxHeader", craft(3, "", maxHeader+1, nil),
			"header length 16777217 is past the limit of 16777216 bytes", "", false},
		{"trailing data", craft(1, dict("<f4", "2,"), -1, make([]byte, 12)),
			"trailing data: shape (2,) of float32 needs 8 bytes, file has 12", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hostile.npy")
			if err := os.WriteFile(path, tt.file, 0o644); err != nil {
				t.Fatal(err)
			}
			var err error
			if n := allocated(func() { _, err = ReadFile(path) }); n > 64<<20 {
				t.Errorf("ReadFile allocated %d bytes, want < 64 MiB", n)
			}
			var fe *FormatError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("ReadFile: got %v, want a *FormatError naming %s and %q", err, path, tt.wantSub)
			}
			if errors.Is(err, limits.ErrTooLarge) != tt.tooBig {
				t.Errorf("ReadFile: got %v, want errors.Is ErrTooLarge %v", err, tt.tooBig)
			}
			if n := allocated(func() { _, err = ReadFileTyped(path) }); n > 64<<20 {
				t.Errorf("ReadFileTyped allocated %d bytes, want < 64 MiB", n)
			}
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("ReadFileTyped: got %v, want a *FormatError naming %s and %q", err, path, tt.wantSub)
			}
			want := tt.wantStr
			if want == "" {
				want = tt.wantSub
			}
			if strings.HasPrefix(tt.wantSub, "trailing data") {
				// A stream may hold more after the array: Read stops at its end.
				if _, err := Read(stream{bytes.NewReader(tt.file)}); err != nil {
					t.Errorf("Read: got %v, want the array before the trailing bytes", err)
				}
				return
			}
			if n := allocated(func() { _, err = Read(stream{bytes.NewReader(tt.file)}) }); n > 64<<20 {
				t.Errorf("Read allocated %d bytes, want < 64 MiB", n)
			}
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), want) {
				t.Errorf("Read: got %v, want a *FormatError with %q", err, want)
			}
		})
	}
}

// TestReadGrowsAsBytesArrive reads a 4 MiB array from a stream of unknown
// size: the values come through whole, however the buffer grew.
func TestReadGrowsAsBytesArrive(t *testing.T) {
	data := make([]float32, 1<<20+3)
	for i := range data {
		data[i] = float32(i) - 0.5
	}
	var buf bytes.Buffer
	if err := Write(&buf, []int{len(data)}, data); err != nil {
		t.Fatal(err)
	}
	a, err := Read(stream{&buf})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Shape, []int{len(data)}) || !reflect.DeepEqual(a.Data, data) {
		t.Errorf("got shape %v and %d values, want [%d] and the values written", a.Shape, len(a.Data), len(data))
	}
}

// FuzzNPY feeds arbitrary bytes to the readers, from a file of known size
// and from a stream, as float32 (Read) and in the file's own dtype
// (ReadTyped). A read either fails with a *FormatError or returns an array
// that re-encodes to the same values (the typed one in its own dtype, which
// Read then gives as the same float32 values); it allocates in proportion
// to the bytes given, not to what they claim.
func FuzzNPY(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.npy"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add(craft(1, dict("<f4", "17179869184,"), -1, nil))
	f.Add(craft(2, dict(">f8", "1, 2"), -1, make([]byte, 16)))
	f.Add(craft(1, "{'descr': '<i2', 'fortran_order': True, 'shape': (2, 2), }", -1, make([]byte, 8)))
	f.Add(craft(1, dict("<f2", "2, 2"), -1, []byte{0, 0x3c, 0, 0x7e, 1, 0, 0, 0xfc}))
	f.Add(craft(1, dict(">f2", "1,"), -1, []byte{0x3c, 0}))
	f.Add(craft(1, dict("|b1", "3,"), -1, []byte{0, 1, 2}))
	f.Add(craft(1, dict(">i8", "1,"), -1, []byte{0x80, 0, 0, 0, 0, 0, 0, 1}))
	f.Add(craft(3, "{'descr': '<u2', 'fortran_order': True, 'shape': (1, 2), }", -1, []byte{1, 2, 3, 4}))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzTyped(t, b)
		var a, known *Array
		var err, errKnown error
		n := allocated(func() {
			a, err = Read(stream{bytes.NewReader(b)})
			known, errKnown = read(bytes.NewReader(b), int64(len(b)))
		})
		if limit := uint64(2*chunk + 64*len(b)); n > limit {
			t.Fatalf("reading %d bytes allocated %d, want at most %d", len(b), n, limit)
		}
		var fe *FormatError
		if err != nil {
			if !errors.As(err, &fe) {
				t.Fatalf("Read: got %T %v, want a *FormatError", err, err)
			}
			if errKnown == nil || !errors.As(errKnown, &fe) {
				t.Fatalf("read of a known size: got %v, want a *FormatError as Read gave (%v)", errKnown, err)
			}
			return
		}
		if errKnown != nil {
			if !errors.As(errKnown, &fe) || !strings.Contains(errKnown.Error(), "trailing data") {
				t.Fatalf("read of a known size: got %v, want the array Read gave or trailing data", errKnown)
			}
		} else if !sameArray(known, a) {
			t.Fatalf("read of a known size: got %v %v, Read gave %v %v", known.Shape, known.Data, a.Shape, a.Data)
		}
		if len(a.Data) > len(b) {
			t.Fatalf("%d values from %d bytes", len(a.Data), len(b))
		}
		var buf bytes.Buffer
		if err := Write(&buf, a.Shape, a.Data); err != nil {
			t.Fatalf("re-encode %v: %v", a.Shape, err)
		}
		again, err := Read(&buf)
		if err != nil {
			t.Fatalf("read the re-encoded array: %v", err)
		}
		if again.DType != "float32" || !sameArray(again, a) {
			t.Fatalf("re-encoded: got %v %v, want %v %v", again.Shape, again.Data, a.Shape, a.Data)
		}
	})
}

// fuzzTyped is FuzzNPY's check of ReadTyped on b.
func fuzzTyped(t *testing.T, b []byte) {
	var typed *Typed
	var err error
	if n := allocated(func() { typed, err = ReadTyped(stream{bytes.NewReader(b)}) }); n > uint64(2*chunk+64*len(b)) {
		t.Fatalf("ReadTyped of %d bytes allocated %d", len(b), n)
	}
	a, errFloat := Read(stream{bytes.NewReader(b)})
	var fe *FormatError
	if err != nil {
		if !errors.As(err, &fe) {
			t.Fatalf("ReadTyped: got %T %v, want a *FormatError", err, err)
		}
		if errFloat == nil && !strings.Contains(err.Error(), "not 0 or 1") {
			t.Fatalf("ReadTyped: got %v where Read read the array", err)
		}
		return
	}
	if errFloat != nil {
		t.Fatalf("Read: got %v where ReadTyped read the array", errFloat)
	}
	if typed.DType != a.DType || typed.Len() != len(a.Data) || !reflect.DeepEqual(typed.Shape, a.Shape) {
		t.Fatalf("ReadTyped gave %s %v of %d values, Read %s %v of %d", typed.DType, typed.Shape, typed.Len(), a.DType, a.Shape, len(a.Data))
	}
	var buf bytes.Buffer
	if err := WriteTyped(&buf, typed); err != nil {
		t.Fatalf("re-encode %s %v: %v", typed.DType, typed.Shape, err)
	}
	file := buf.Bytes()
	again, err := ReadTyped(bytes.NewReader(file))
	if err != nil {
		t.Fatalf("read the re-encoded array: %v", err)
	}
	var buf2 bytes.Buffer
	if err := WriteTyped(&buf2, again); err != nil || !bytes.Equal(buf2.Bytes(), file) {
		t.Fatalf("re-encoded twice: %v, or not the same bytes", err)
	}
	floats, err := Read(bytes.NewReader(file))
	if err != nil || floats.DType != a.DType || !sameArray(floats, a) {
		t.Fatalf("the re-encoded array as float32: got %v, or not the values Read gave", err)
	}
}

// sameArray reports whether a and b have the same shape and bitwise the
// same values (so that NaNs compare equal).
func sameArray(a, b *Array) bool {
	if len(a.Shape) != len(b.Shape) || len(a.Data) != len(b.Data) {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	for i := range a.Data {
		if math.Float32bits(a.Data[i]) != math.Float32bits(b.Data[i]) {
			return false
		}
	}
	return true
}
