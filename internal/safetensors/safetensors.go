// Package safetensors reads and writes the safetensors format
// (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length, a JSON header mapping each tensor name to its dtype, shape
// and byte range, an optional "__metadata__" map of strings, then the raw
// little-endian data.
//
// Write stores float32 ("F32") tensors. Read accepts F32, F64, F16 and BF16
// and returns float32 values; it checks every byte range against the file.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/aebridge/aebridge/internal/atomicfile"
	"github.com/aebridge/aebridge/internal/half"
)

// Tensor is one named array.
type Tensor struct {
	Shape []int
	Data  []float32
}

// FormatError reports a malformed file.
type FormatError struct {
	File   string
	Tensor string // the tensor involved, if any
	Reason string
}

func (e *FormatError) Error() string {
	s := "safetensors: " + e.File
	if e.Tensor != "" {
		s += fmt.Sprintf(": tensor %q", e.Tensor)
	}
	return s + ": " + e.Reason
}

type entry struct {
	DType   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// maxHeader bounds the header length a file may announce (100 MB, as the
// reference implementation does).
const maxHeader = 100 << 20

// WriteFile writes tensors and metadata to path atomically, tensors in name
// order. It returns an error if a tensor's shape does not match its data.
func WriteFile(path string, tensors map[string]Tensor, metadata map[string]string) error {
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	for _, n := range names {
		t := tensors[n]
		count := 1
		for _, d := range t.Shape {
			count *= d
		}
		if count != len(t.Data) || n == "__metadata__" {
			return fmt.Errorf("safetensors: %s: tensor %q: shape %v holds %d values, data has %d", path, n, t.Shape, count, len(t.Data))
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		size := int64(4 * len(t.Data))
		header[n] = entry{DType: "F32", Shape: shape, Offsets: [2]int64{off, off + size}}
		off += size
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	// Pad the header with spaces so the data starts 8-byte aligned.
	if pad := (8 - len(hb)%8) % 8; pad > 0 {
		hb = append(hb, bytes.Repeat([]byte(" "), pad)...)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(hb)))
		if _, err := w.Write(n[:]); err != nil {
			return err
		}
		if _, err := w.Write(hb); err != nil {
			return err
		}
		buf := make([]byte, 0, 1<<16)
		for _, name := range names {
			for _, v := range tensors[name].Data {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
				if len(buf) == cap(buf) {
					if _, err := w.Write(buf); err != nil {
						return err
					}
					buf = buf[:0]
				}
			}
		}
		_, err := w.Write(buf)
		return err
	})
}

// ReadFile reads every tensor and the metadata of the file at path.
func ReadFile(path string) (map[string]Tensor, map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	return Decode(b, path)
}

// Decode parses a safetensors file held in b; name is used in errors.
func Decode(b []byte, name string) (map[string]Tensor, map[string]string, error) {
	bad := func(tensor, format string, args ...any) error {
		return &FormatError{File: name, Tensor: tensor, Reason: fmt.Sprintf(format, args...)}
	}
	if len(b) < 8 {
		return nil, nil, bad("", "file of %d bytes is too short for a header", len(b))
	}
	hlen := binary.LittleEndian.Uint64(b)
	if hlen > maxHeader || hlen > uint64(len(b)-8) {
		return nil, nil, bad("", "header length %d does not fit a file of %d bytes", hlen, len(b))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+hlen], &raw); err != nil {
		return nil, nil, bad("", "header is not a JSON object: %v", err)
	}
	data := b[8+hlen:]
	var meta map[string]string
	if m, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, nil, bad("", "__metadata__ is not a map of strings: %v", err)
		}
		delete(raw, "__metadata__")
	}
	type span struct {
		name   string
		lo, hi int64
	}
	var spans []span
	tensors := make(map[string]Tensor, len(raw))
	for n, r := range raw {
		var e entry
		if err := json.Unmarshal(r, &e); err != nil {
			return nil, nil, bad(n, "bad header entry: %v", err)
		}
		size := map[string]int{"F32": 4, "F64": 8, "F16": 2, "BF16": 2}[e.DType]
		if size == 0 {
			return nil, nil, bad(n, "unsupported dtype %q (want F32, F64, F16 or BF16)", e.DType)
		}
		count := int64(1)
		for _, d := range e.Shape {
			if d < 0 {
				return nil, nil, bad(n, "negative dimension in shape %v", e.Shape)
			}
			count *= int64(d)
		}
		lo, hi := e.Offsets[0], e.Offsets[1]
		if lo < 0 || hi < lo || hi > int64(len(data)) {
			return nil, nil, bad(n, "data_offsets [%d, %d] outside the %d data bytes", lo, hi, len(data))
		}
		if hi-lo != count*int64(size) {
			return nil, nil, bad(n, "data_offsets [%d, %d] hold %d bytes; shape %v of %s needs %d", lo, hi, hi-lo, e.Shape, e.DType, count*int64(size))
		}
		spans = append(spans, span{n, lo, hi})
		out := make([]float32, count)
		src := data[lo:hi]
		for i := range out {
			switch e.DType {
			case "F32":
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
			case "F64":
				out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
			case "BF16":
				out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
			case "F16":
				out[i] = half.ToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
			}
		}
		tensors[n] = Tensor{Shape: append([]int{}, e.Shape...), Data: out}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].lo < spans[j].lo })
	for i := 1; i < len(spans); i++ {
		if spans[i].lo < spans[i-1].hi {
			return nil, nil, bad(spans[i].name, "data overlaps tensor %q", spans[i-1].name)
		}
	}
	return tensors, meta, nil
}
