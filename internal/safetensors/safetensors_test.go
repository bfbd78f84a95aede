package safetensors

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// file assembles a safetensors file from a header and data, as the format
// specification lays it out.
func file(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestDecodeEveryDType(t *testing.T) {
	var data []byte
	data = binary.LittleEndian.AppendUint32(data, 0x3fc00000)         // F32 1.5
	data = binary.LittleEndian.AppendUint32(data, 0xc0000000)         // F32 -2
	data = binary.LittleEndian.AppendUint64(data, 0x3fd0000000000000) // F64 0.25
	data = binary.LittleEndian.AppendUint16(data, 0x3c00)             // F16 1
	data = binary.LittleEndian.AppendUint16(data, 0x4200)             // F16 3
	data = binary.LittleEndian.AppendUint16(data, 0xbf80)             // BF16 -1
	header := `{"__metadata__":{"format":"pt"},` +
		`"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},` +
		`"b":{"dtype":"F64","shape":[],"data_offsets":[8,16]},` +
		`"c":{"dtype":"F16","shape":[1,2],"data_offsets":[16,20]},` +
		`"d":{"dtype":"BF16","shape":[1],"data_offsets":[20,22]}}`
	tensors, meta, err := Decode(file(header, data), "x.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Tensor{
		"a": {Shape: []int{2}, Data: []float32{1.5, -2}},
		"b": {Shape: []int{}, Data: []float32{0.25}},
		"c": {Shape: []int{1, 2}, Data: []float32{1, 3}},
		"d": {Shape: []int{1}, Data: []float32{-1}},
	}
	if !reflect.DeepEqual(tensors, want) {
		t.Errorf("got %v, want %v", tensors, want)
	}
	if meta["format"] != "pt" {
		t.Errorf("metadata: got %v", meta)
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	in := map[string]Tensor{
		"encoder.0.weight": {Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		"encoder.0.bias":   {Shape: []int{2}, Data: []float32{-1, 0.5}},
	}
	if err := WriteFile(path, in, map[string]string{"epoch": "3"}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if hlen := binary.LittleEndian.Uint64(raw); hlen%8 != 0 {
		t.Errorf("header length %d is not 8-byte aligned", hlen)
	}
	out, meta, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) || meta["epoch"] != "3" {
		t.Errorf("got %v %v, want %v", out, meta, in)
	}
}

func TestDecodeRejectsMalformedFiles(t *testing.T) {
	four := make([]byte, 4)
	tests := []struct {
		name, header string
		data         []byte
		wantSub      string
	}{
		{"offsets past end", `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, four, `tensor "w": data_offsets [0, 8] outside the 4 data bytes`},
		{"size mismatch", `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, four, "hold 4 bytes; shape [2] of F32 needs 8"},
		{"dtype", `{"w":{"dtype":"I64","shape":[1],"data_offsets":[0,4]}}`, four, `unsupported dtype "I64"`},
		{"overlap", `{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"F16","shape":[1],"data_offsets":[2,4]}}`, four, "overlaps"},
		{"not json", `{"w":`, four, "header is not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Decode(file(tt.header, tt.data), "bad.safetensors")
			var fe *FormatError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.wantSub) || !strings.Contains(err.Error(), "bad.safetensors") {
				t.Errorf("got %v, want a FormatError naming the file and %q", err, tt.wantSub)
			}
		})
	}
	if _, _, err := Decode([]byte{200, 0, 0, 0, 0, 0, 0, 0, '{', '}'}, "short"); err == nil || !strings.Contains(err.Error(), "header length 200") {
		t.Errorf("oversized header length: got %v", err)
	}
}

func TestWriteRejectsShapeMismatch(t *testing.T) {
	err := WriteFile(filepath.Join(t.TempDir(), "x"), map[string]Tensor{"w": {Shape: []int{3}, Data: []float32{1}}}, nil)
	if err == nil || !strings.Contains(err.Error(), `tensor "w": shape [3] holds 3 values, data has 1`) {
		t.Errorf("got %v", err)
	}
}
