package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/internal/limits"
)

// allocated returns the bytes f allocated on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestReadFileRefusesClaimsPastTheFile crafts small files whose headers
// claim more than they hold, at and past the limits, and checks each is
// refused with an error naming the file, the tensor and the value, having
// allocated little.
func TestReadFileRefusesClaimsPastTheFile(t *testing.T) {
	four := make([]byte, 4)
	prefix := func(hlen uint64, rest string) []byte {
		return append(binary.LittleEndian.AppendUint64(nil, hlen), rest...)
	}
	tests := []struct {
		name    string
		file    []byte
		wantSub string
		tooBig  bool
	}{
		{"shape 2^62+1", file(`{"w":{"dtype":"F32","shape":[4611686018427387905],"data_offsets":[0,4]}}`, four),
			`tensor "w": shape: shape [4611686018427387905]: exceeds aebridge's limit of 2147483648 elements`, true},
		{"shape 2^32 × 2^32 wraps to 0", file(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil),
			`tensor "w": shape: shape [4294967296 4294967296]: exceeds aebridge's limit`, true},
		{"just past MaxTensorElements", file(`{"w":{"dtype":"F16","shape":[2147483649],"data_offsets":[0,4]}}`, four),
			`tensor "w": shape: shape [2147483649]: exceeds aebridge's limit`, true},
		{"at MaxTensorElements", file(`{"w":{"dtype":"F64","shape":[2147483648],"data_offsets":[0,17179869184]}}`, four),
			`tensor "w": data_offsets [0, 17179869184] outside the 4 data bytes`, false},
		{"at MaxTensorElements, offsets in the data", file(`{"w":{"dtype":"F64","shape":[65536,32768],"data_offsets":[0,4]}}`, four),
			`tensor "w": data_offsets [0, 4] hold 4 bytes; shape [65536 32768] of F64 needs 17179869184`, false},
		{"negative dimension", file(`{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, four),
			`tensor "w": shape: negative dimension -1 in [-1]`, false},
		{"rank past MaxRank", file(`{"w":{"dtype":"F32","shape":[`+strings.Repeat("1,", limits.MaxRank)+`1],"data_offsets":[0,4]}}`, four),
			`tensor "w": shape: rank 33 exceeds aebridge's limit of 32`, true},
		{"begin past end", file(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, four),
			`tensor "w": data_offsets [4, 0] outside the 4 data bytes`, false},
		{"negative begin", file(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, four),
			`tensor "w": data_offsets [-4, 0] outside the 4 data bytes`, false},
		{"end past the data", file(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, four),
			`tensor "w": data_offsets [0, 8] outside the 4 data bytes`, false},
		{"end - begin against the elements", file(`{"w":{"dtype":"BF16","shape":[1],"data_offsets":[0,4]}}`, four),
			`tensor "w": data_offsets [0, 4] hold 4 bytes; shape [1] of BF16 needs 2`, false},
		{"offsets past int64", file(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,9223372036854775808]}}`, four),
			`tensor "w": bad header entry`, false},
		{"header length at the limit", prefix(maxHeader, "{}"),
			"header length 104857600 does not fit a file of 10 bytes", false},
		{"header length past the limit", prefix(maxHeader+1, "{}"),
			"header length 104857601 does not fit a file of 10 bytes", false},
		{"header length 2^64-1", prefix(math.MaxUint64, "{}"),
			"header length 18446744073709551615 does not fit a file of 10 bytes", false},
		{"short prefix", []byte{1, 2, 3}, "file of 3 bytes is too short for a header", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hostile.safetensors")
			if err := os.WriteFile(path, tt.file, 0o644); err != nil {
				t.Fatal(err)
			}
			var err error
			if n := allocated(func() { _, _, err = ReadFile(path) }); n > 64<<20 {
				t.Errorf("ReadFile allocated %d bytes, want < 64 MiB", n)
			}
			var fe *FormatError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("got %v, want a *FormatError naming %s and %q", err, path, tt.wantSub)
			}
			if errors.Is(err, limits.ErrTooLarge) != tt.tooBig {
				t.Errorf("got %v, want errors.Is ErrTooLarge %v", err, tt.tooBig)
			}
		})
	}
}

// TestDecodeEntries checks what FuzzDecode found: an empty tensor overlaps
// nothing (our own writer puts one at the offset of the next), and an entry
// lacking a field is refused rather than read as a scalar at offset 0.
func TestDecodeEntries(t *testing.T) {
	four := make([]byte, 4)
	tests := []struct {
		name, header string
		wantSub      string // "" for success
	}{
		{"empty tensor at another's start", `{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, ""},
		{"empty tensor inside another", `{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"z":{"dtype":"F16","shape":[3,0],"data_offsets":[2,2]}}`, ""},
		{"no shape", `{"b":{"dtype":"F16","data_offsets":[2,4]}}`, `tensor "b": header entry has no "shape"`},
		{"null data_offsets", `{"b":{"dtype":"F32","shape":[1],"data_offsets":null}}`, `tensor "b": header entry has no "data_offsets"`},
		{"no dtype", `{"b":{"shape":[1],"data_offsets":[0,4]}}`, `tensor "b": header entry has no "dtype"`},
		{"null entry", `{"b":null}`, `tensor "b": header entry has no "dtype"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Decode(file(tt.header, four), "x.safetensors")
			if tt.wantSub == "" {
				if err != nil {
					t.Errorf("got %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantSub) || !strings.Contains(err.Error(), "x.safetensors") {
				t.Errorf("got %v, want an error naming x.safetensors and %q", err, tt.wantSub)
			}
		})
	}
	// Written by WriteFile, an empty tensor sorts before a full one at the
	// same offset.
	path := filepath.Join(t.TempDir(), "e.safetensors")
	in := map[string]Tensor{"Z": {Shape: []int{0}}, "b": {Shape: []int{1}, Data: []float32{2}}}
	if err := WriteFile(path, in, nil); err != nil {
		t.Fatal(err)
	}
	if out, _, err := ReadFile(path); err != nil || len(out["Z"].Data) != 0 || out["b"].Data[0] != 2 {
		t.Errorf("got %v, %v; want Z empty and b [2]", out, err)
	}
}

// TestDecodeAtTheRankLimit decodes a tensor of MaxRank dimensions, the
// most a shape may have.
func TestDecodeAtTheRankLimit(t *testing.T) {
	shape := strings.Repeat("1,", limits.MaxRank-1) + "2"
	tensors, _, err := Decode(file(`{"w":{"dtype":"F32","shape":[`+shape+`],"data_offsets":[0,8]}}`, make([]byte, 8)), "x")
	if err != nil {
		t.Fatal(err)
	}
	if w := tensors["w"]; len(w.Shape) != limits.MaxRank || len(w.Data) != 2 {
		t.Errorf("got shape %v and %d values, want rank %d and 2 values", w.Shape, len(w.Data), limits.MaxRank)
	}
}

// FuzzDecode decodes arbitrary bytes: a failure is a *FormatError; a
// success re-encodes to the same tensors and metadata, and allocation stays
// in proportion to the input.
func FuzzDecode(f *testing.F) {
	f.Add(file(`{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F64","shape":[],"data_offsets":[8,16]}}`, make([]byte, 16)))
	f.Add(file(`{"c":{"dtype":"F16","shape":[1,2],"data_offsets":[0,4]},"d":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]}}`, []byte{0, 0x3c, 0, 0x42, 0x80, 0xbf}))
	f.Add(file(`{"w":{"dtype":"F32","shape":[4611686018427387905],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add(file(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil))
	f.Add(file(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"F16","shape":[1],"data_offsets":[2,4]}}`, make([]byte, 4)))
	f.Fuzz(func(t *testing.T, b []byte) {
		var tensors map[string]Tensor
		var meta map[string]string
		var err error
		n := allocated(func() { tensors, meta, err = Decode(b, "f") })
		if limit := uint64(1<<20 + 64*len(b)); n > limit {
			t.Fatalf("decoding %d bytes allocated %d, want at most %d", len(b), n, limit)
		}
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %T %v, want a *FormatError", err, err)
			}
			return
		}
		hb, names, err := header("f", tensors, meta)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var buf bytes.Buffer
		if err := write(&buf, hb, names, tensors); err != nil {
			t.Fatal(err)
		}
		again, meta2, err := Decode(buf.Bytes(), "g")
		if err != nil {
			t.Fatalf("decode the re-encoded file: %v", err)
		}
		if len(again) != len(tensors) || len(meta2) != len(meta) {
			t.Fatalf("re-encoded: got %d tensors, %d metadata, want %d, %d", len(again), len(meta2), len(tensors), len(meta))
		}
		for k, v := range meta {
			if meta2[k] != v {
				t.Fatalf("metadata %q: got %q, want %q", k, meta2[k], v)
			}
		}
		for name, tt := range tensors {
			got, ok := again[name]
			if !ok || len(got.Shape) != len(tt.Shape) || len(got.Data) != len(tt.Data) {
				t.Fatalf("tensor %q: got %v, want %v", name, got, tt)
			}
			for i := range tt.Shape {
				if got.Shape[i] != tt.Shape[i] {
					t.Fatalf("tensor %q: got shape %v, want %v", name, got.Shape, tt.Shape)
				}
			}
			for i := range tt.Data {
				if math.Float32bits(got.Data[i]) != math.Float32bits(tt.Data[i]) {
					t.Fatalf("tensor %q element %d: got %v, want %v", name, i, got.Data[i], tt.Data[i])
				}
			}
		}
	})
}
