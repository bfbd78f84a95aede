package limits

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

func TestElements(t *testing.T) {
	tests := []struct {
		name    string
		dims    []int64
		want    int64
		tooBig  bool
		wantErr bool
	}{
		{"scalar", nil, 1, false, false},
		{"matrix", []int64{3, 4}, 12, false, false},
		{"zero", []int64{0, 1 << 40}, 0, true, true}, // checked as it goes: 1<<40 alone is too large
		{"at the limit", []int64{1 << 16, 1 << 15}, 1 << 31, false, false},
		{"past the limit", []int64{1<<31 + 1}, 0, true, true},
		{"wraps to zero in 64 bits", []int64{1 << 32, 1 << 32}, 0, true, true},
		{"2^62+1", []int64{1<<62 + 1}, 0, true, true},
		{"negative", []int64{2, -1}, 0, false, true},
		{"rank", make([]int64, MaxRank+1), 0, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Elements(tt.dims)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Elements(%v): got error %v, want error %v", tt.dims, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Elements(%v): got %d, want %d", tt.dims, got, tt.want)
			}
			if errors.Is(err, ErrTooLarge) != tt.tooBig {
				t.Errorf("Elements(%v): got %v, want ErrTooLarge %v", tt.dims, err, tt.tooBig)
			}
		})
	}
	if n, err := ElementsInt([]int{2, 3, 5}); n != 30 || err != nil {
		t.Errorf("ElementsInt: got %d, %v, want 30, nil", n, err)
	}
}

// TestLimitsNest checks the limits against each other: a decompressed
// stream at its limit holds no more bytes than a tensor at its limit has
// elements, so a reader refusing the former never sizes past the latter.
func TestLimitsNest(t *testing.T) {
	if MaxDecompressedBytes > MaxTensorElements {
		t.Errorf("MaxDecompressedBytes: got %d, want at most MaxTensorElements (%d)", MaxDecompressedBytes, MaxTensorElements)
	}
	if MaxParams > MaxTensorElements {
		t.Errorf("MaxParams: got %d, want at most MaxTensorElements (%d)", MaxParams, MaxTensorElements)
	}
}

// TestReadN: a claim the stream does not back costs about what the stream
// holds, not what the header says, and a short stream is an error.
func TestReadN(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b, err := ReadN(strings.NewReader("abc"), 1<<40, false)
	runtime.ReadMemStats(&after)
	if string(b) != "abc" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("got %q, %v, want \"abc\", io.ErrUnexpectedEOF", b, err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 2*readChunk {
		t.Errorf("allocated %d bytes for 3 present, want at most %d", d, 2*readChunk)
	}
	big := strings.Repeat("x", 3*readChunk+5)
	for _, known := range []bool{true, false} {
		b, err := ReadN(strings.NewReader(big+"tail"), int64(len(big)), known)
		if string(b) != big || err != nil {
			t.Errorf("known %v: got %d bytes, %v, want %d, nil", known, len(b), err, len(big))
		}
	}
}

// FuzzReadN: whatever the claim, ReadN returns the prefix of the stream up
// to it, an error exactly when the stream is shorter, and allocates about
// what the stream holds rather than what is claimed.
func FuzzReadN(f *testing.F) {
	f.Add([]byte("abc"), int64(3), false)
	f.Add([]byte("abc"), int64(1<<40), false)
	f.Add([]byte(""), int64(0), true)
	f.Fuzz(func(t *testing.T, data []byte, n int64, known bool) {
		if n < 0 || n > MaxTensorElements {
			return
		}
		if known && n > int64(len(data)) {
			known = false // known promises the stream holds n bytes
		}
		var b []byte
		var err error
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b, err = ReadN(bytes.NewReader(data), n, known)
		runtime.ReadMemStats(&after)
		want := data[:min(int64(len(data)), n)]
		if !bytes.Equal(b, want) {
			t.Fatalf("got %d bytes, want the first %d", len(b), len(want))
		}
		if (err != nil) != (int64(len(data)) < n) {
			t.Fatalf("got error %v for %d bytes present and %d claimed", err, len(data), n)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > uint64(4*len(data)+3*readChunk) {
			t.Fatalf("allocated %d bytes for %d present (%d claimed)", d, len(data), n)
		}
	})
}
