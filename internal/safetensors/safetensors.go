// Package safetensors reads and writes the safetensors format
// (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length, a JSON header mapping each tensor name to its dtype, shape
// and byte range, an optional "__metadata__" map of strings, then the raw
// little-endian data.
//
// Write stores float32 ("F32") tensors. Read accepts F32, F64, F16 and BF16
// and returns float32 values. Nothing is sized from the header before it is
// checked against the file: the header length must fit the file (and be at
// most 100 MiB), each tensor's element count is overflow-checked and at
// most limits.MaxTensorElements (rank at most limits.MaxRank), and its
// data_offsets must lie within the data and hold exactly its elements, with
// no two tensors overlapping. A file's tensors thus take at most twice its
// size in float32s.
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
	"github.com/aebridge/aebridge/internal/limits"
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
	Err    error // the cause, such as limits.ErrTooLarge, or nil
}

func (e *FormatError) Error() string {
	s := "safetensors: " + e.File
	if e.Tensor != "" {
		s += fmt.Sprintf(": tensor %q", e.Tensor)
	}
	return s + ": " + e.Reason
}

// Unwrap returns the cause, if any.
func (e *FormatError) Unwrap() error { return e.Err }

type entry struct {
	DType   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// maxHeader bounds the header length a file may announce (100 MiB, as the
// reference implementation does).
const maxHeader = 100 << 20

// WriteFile writes tensors and metadata to path atomically, tensors in name
// order. It returns an error if a tensor's shape does not match its data.
func WriteFile(path string, tensors map[string]Tensor, metadata map[string]string) error {
	hb, names, err := header(path, tensors, metadata)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		return write(w, hb, names, tensors)
	})
}

// header returns the JSON header describing tensors and metadata, padded
// to 8 bytes, and the tensor names in the order their data follows it.
func header(path string, tensors map[string]Tensor, metadata map[string]string) ([]byte, []string, error) {
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
		count, err := limits.ElementsInt(t.Shape)
		if err != nil {
			return nil, nil, fmt.Errorf("safetensors: %s: tensor %q: %w", path, n, err)
		}
		if count != len(t.Data) || n == "__metadata__" {
			return nil, nil, fmt.Errorf("safetensors: %s: tensor %q: shape %v holds %d values, data has %d", path, n, t.Shape, count, len(t.Data))
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
		return nil, nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	// Pad the header with spaces so the data starts 8-byte aligned.
	if pad := (8 - len(hb)%8) % 8; pad > 0 {
		hb = append(hb, bytes.Repeat([]byte(" "), pad)...)
	}
	return hb, names, nil
}

// write writes the header hb and then the tensors' data in names order.
func write(w io.Writer, hb []byte, names []string, tensors map[string]Tensor) error {
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
}

// ReadFile reads every tensor and the metadata of the file at path. It
// checks the header length the file's first 8 bytes give against the
// file's size before reading further.
func ReadFile(path string) (map[string]Tensor, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, nil, &FormatError{File: path, Reason: "not a regular file"}
	}
	size := st.Size()
	var pre [8]byte
	if _, err := io.ReadFull(f, pre[:]); err != nil {
		return nil, nil, &FormatError{File: path, Reason: fmt.Sprintf("file of %d bytes is too short for a header", size)}
	}
	if err := checkHeaderLength(binary.LittleEndian.Uint64(pre[:]), size); err != nil {
		return nil, nil, &FormatError{File: path, Reason: err.Error()}
	}
	b := make([]byte, size)
	copy(b, pre[:])
	if n, err := io.ReadFull(f, b[8:]); err != nil {
		return nil, nil, &FormatError{File: path, Reason: fmt.Sprintf("file of %d bytes ended after %d", size, 8+n)}
	}
	return Decode(b, path)
}

// checkHeaderLength checks the header length a file of size bytes gives.
func checkHeaderLength(hlen uint64, size int64) error {
	if size < 8 || hlen > maxHeader || hlen > uint64(size-8) {
		return fmt.Errorf("header length %d does not fit a file of %d bytes (nor the limit of %d)", hlen, size, maxHeader)
	}
	return nil
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
	if err := checkHeaderLength(hlen, int64(len(b))); err != nil {
		return nil, nil, bad("", "%v", err)
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
		var present map[string]json.RawMessage
		_ = json.Unmarshal(r, &present) // an object, as the line above showed
		for _, field := range []string{"dtype", "shape", "data_offsets"} {
			if v, ok := present[field]; !ok || string(v) == "null" {
				return nil, nil, bad(n, "header entry has no %q", field)
			}
		}
		size := map[string]int{"F32": 4, "F64": 8, "F16": 2, "BF16": 2}[e.DType]
		if size == 0 {
			return nil, nil, bad(n, "unsupported dtype %q (want F32, F64, F16 or BF16)", e.DType)
		}
		c, err := limits.ElementsInt(e.Shape)
		if err != nil {
			return nil, nil, &FormatError{File: name, Tensor: n, Reason: "shape: " + err.Error(), Err: err}
		}
		count := int64(c)
		need := count * int64(size) // at most 2³¹ × 8
		lo, hi := e.Offsets[0], e.Offsets[1]
		if lo < 0 || hi < lo || hi > int64(len(data)) {
			return nil, nil, bad(n, "data_offsets [%d, %d] outside the %d data bytes", lo, hi, len(data))
		}
		if hi-lo != need {
			return nil, nil, bad(n, "data_offsets [%d, %d] hold %d bytes; shape %v of %s needs %d", lo, hi, hi-lo, e.Shape, e.DType, need)
		}
		if lo < hi { // an empty tensor overlaps nothing
			spans = append(spans, span{n, lo, hi})
		}
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
