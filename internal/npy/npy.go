// Package npy reads and writes NumPy .npy files.
//
// The format is described in numpy/lib/format.py: a magic string, a version,
// a Python dict literal header giving dtype ('descr'), 'fortran_order' and
// 'shape', then the raw array data. The readers accept versions 1.0 to 3.0,
// little- and big-endian data of the dtypes float16 ('<f2'), float32,
// float64, bool ('|b1', each byte 0 or 1), uint8, int8 and the 16-, 32- and
// 64-bit integers, in C or Fortran order, and return values in C order: Read
// and ReadFile as float32 (Array), ReadTyped and ReadFileTyped in the
// file's own element type (Typed). Write writes float32 arrays and
// WriteTyped arrays of any of those dtypes, in version 1.0, C order,
// little-endian ('<f2' for float16, '|b1' for bool).
//
// Nothing is sized from a header before it is checked: the element count
// against limits.MaxTensorElements (overflow-checked) and then against the
// bytes the file holds, or, from a stream, the buffer grows as bytes arrive.
// The internal/limits package doc lists the limits each reader applies.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/aebridge/aebridge/internal/atomicfile"
	"github.com/aebridge/aebridge/internal/half"
	"github.com/aebridge/aebridge/internal/limits"
)

// Array is an n-dimensional array read from or written to a .npy file.
type Array struct {
	// Shape holds the dimensions, outermost first; an empty shape is a scalar.
	Shape []int
	// DType is the NumPy type the file stored, such as "float32" or "uint8".
	DType string
	// Data holds the values in C (row-major) order, converted to float32.
	Data []float32
}

// FormatError reports a malformed .npy file.
type FormatError struct {
	File   string // the file name, or "" when reading a stream
	Reason string
	Err    error // the cause, such as limits.ErrTooLarge, or nil
}

func (e *FormatError) Error() string {
	if e.File == "" {
		return "npy: invalid file: " + e.Reason
	}
	return "npy: " + e.File + ": " + e.Reason
}

// Unwrap returns the cause, if any.
func (e *FormatError) Unwrap() error { return e.Err }

var magic = []byte("\x93NUMPY")

// maxHeader bounds the header length a version 2.0 or 3.0 file may claim
// (16 MiB); version 1.0 headers are at most 64 KiB by construction.
const maxHeader = 1 << 24

// chunk is the most Read allocates ahead of the bytes that have arrived
// when it does not know how many the stream holds (limits.ReadN's step).
const chunk = 1 << 20

var (
	descrRE   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	fortranRE = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	shapeRE   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

type dtype struct {
	name  string
	size  int
	order binary.ByteOrder
	kind  byte // 'f', 'u', 'i' or 'b'
}

// dtypes maps a descr's kind and size to the NumPy name.
var dtypes = map[string]string{
	"f2": "float16", "f4": "float32", "f8": "float64", "b1": "bool",
	"u1": "uint8", "u2": "uint16", "u4": "uint32", "u8": "uint64",
	"i1": "int8", "i2": "int16", "i4": "int32", "i8": "int64",
}

func parseDescr(descr string) (dtype, error) {
	if len(descr) < 3 {
		return dtype{}, fmt.Errorf("unsupported dtype %q", descr)
	}
	var order binary.ByteOrder = binary.LittleEndian
	switch descr[0] {
	case '<', '|', '=':
	case '>':
		order = binary.BigEndian
	default:
		return dtype{}, fmt.Errorf("unsupported dtype %q", descr)
	}
	kind := descr[1]
	size, err := strconv.Atoi(descr[2:])
	if err != nil {
		return dtype{}, fmt.Errorf("unsupported dtype %q", descr)
	}
	name, ok := dtypes[descr[1:]]
	if !ok {
		return dtype{}, fmt.Errorf("unsupported dtype %q (want float16, float32, float64, bool or an integer type)", descr)
	}
	return dtype{name: name, size: size, order: order, kind: kind}, nil
}

// ReadFile reads the .npy file at path. The data the header claims must
// be exactly the bytes the file holds after the header: a shorter file is
// "data truncated", a longer one "trailing data", both reported before any
// buffer is sized from the header. The element count is bounded by
// limits.MaxTensorElements and the rank by limits.MaxRank.
func ReadFile(path string) (*Array, error) {
	r, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return r.array(), nil
}

// ReadFileTyped reads the .npy file at path as ReadFile does, keeping the
// values in the element type the file stores (Typed).
func ReadFileTyped(path string) (*Typed, error) {
	r, err := readFile(path)
	if err != nil {
		return nil, err
	}
	t, err := r.typed()
	if err != nil {
		return nil, &FormatError{File: path, Reason: err.Error()}
	}
	return t, nil
}

func readFile(path string) (*rawArray, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	a, err := readRaw(bufio.NewReaderSize(f, 1<<16), size)
	var fe *FormatError
	if errors.As(err, &fe) && fe.File == "" {
		fe.File = path
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Read reads one .npy array from r, which may hold more after it. Not
// knowing how many bytes r holds, it allocates as they arrive, at most 1 MiB
// or as much again as has arrived ahead of them, never from the header's
// claim alone; the element count is bounded by limits.MaxTensorElements and
// the rank by limits.MaxRank.
func Read(r io.Reader) (*Array, error) {
	return read(r, -1)
}

// ReadTyped reads one .npy array from r as Read does, keeping the values in
// the element type the stream stores (Typed).
func ReadTyped(r io.Reader) (*Typed, error) {
	raw, err := readRaw(r, -1)
	if err != nil {
		return nil, err
	}
	t, err := raw.typed()
	if err != nil {
		return nil, &FormatError{Reason: err.Error()}
	}
	return t, nil
}

// read reads an array from r, a stream of size bytes, or of unknown size
// when size < 0.
func read(r io.Reader, size int64) (*Array, error) {
	raw, err := readRaw(r, size)
	if err != nil {
		return nil, err
	}
	return raw.array(), nil
}

// rawArray is an array as the file holds it: its bytes, not yet decoded.
type rawArray struct {
	shape   []int
	dt      dtype
	n       int
	fortran bool
	raw     []byte
}

// array decodes r to float32 values in C order.
func (r *rawArray) array() *Array {
	data := decode(r.raw, r.dt, r.n)
	if r.fortran && len(r.shape) > 1 {
		data = fromFortran(data, r.shape)
	}
	return &Array{Shape: r.shape, DType: r.dt.name, Data: data}
}

// readRaw reads the header and the bytes it claims from r, a stream of
// size bytes, or of unknown size when size < 0.
func readRaw(r io.Reader, size int64) (*rawArray, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, &FormatError{Reason: "too short for a .npy header"}
	}
	if !bytes.Equal(pre[:6], magic) {
		return nil, &FormatError{Reason: fmt.Sprintf("bad magic %q, not a .npy file", pre[:6])}
	}
	var hlen int64
	off := int64(len(pre))
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, &FormatError{Reason: "truncated header length"}
		}
		hlen = int64(binary.LittleEndian.Uint16(b[:]))
		off += 2
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, &FormatError{Reason: "truncated header length"}
		}
		hlen = int64(binary.LittleEndian.Uint32(b[:]))
		off += 4
		if hlen > maxHeader {
			return nil, &FormatError{Reason: fmt.Sprintf("header length %d is past the limit of %d bytes", hlen, maxHeader)}
		}
	default:
		return nil, &FormatError{Reason: fmt.Sprintf("unsupported format version %d.%d", pre[6], pre[7])}
	}
	if size >= 0 && hlen > size-off {
		return nil, &FormatError{Reason: fmt.Sprintf("header length %d does not fit a file of %d bytes", hlen, size)}
	}
	hb, err := limits.ReadN(r, hlen, size >= 0)
	if err != nil {
		return nil, &FormatError{Reason: fmt.Sprintf("truncated header: header length %d, %d bytes follow", hlen, len(hb))}
	}
	off += hlen
	header := string(hb)
	m := descrRE.FindStringSubmatch(header)
	if m == nil {
		return nil, &FormatError{Reason: fmt.Sprintf("header %s has no 'descr'", quote(header))}
	}
	dt, err := parseDescr(m[1])
	if err != nil {
		return nil, &FormatError{Reason: err.Error()}
	}
	fm := fortranRE.FindStringSubmatch(header)
	if fm == nil {
		return nil, &FormatError{Reason: fmt.Sprintf("header %s has no 'fortran_order'", quote(header))}
	}
	fortran := fm[1] == "True"
	sm := shapeRE.FindStringSubmatch(header)
	if sm == nil {
		return nil, &FormatError{Reason: fmt.Sprintf("header %s has no 'shape'", quote(header))}
	}
	var shape []int
	for _, f := range strings.Split(sm[1], ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if len(shape) == limits.MaxRank {
			return nil, &FormatError{Reason: fmt.Sprintf("shape (%s) has more than %d dimensions", clip(sm[1]), limits.MaxRank), Err: limits.ErrTooLarge}
		}
		f = strings.TrimSuffix(f, "L")
		d, err := strconv.Atoi(f)
		if err != nil || d < 0 {
			return nil, &FormatError{Reason: fmt.Sprintf("bad dimension %s in shape (%s)", quote(f), clip(sm[1]))}
		}
		shape = append(shape, d)
	}
	n, err := limits.ElementsInt(shape)
	if err != nil {
		return nil, &FormatError{Reason: fmt.Sprintf("shape (%s): %v", clip(sm[1]), err), Err: err}
	}
	need := int64(n) * int64(dt.size) // at most 2³¹ × 8
	if size >= 0 {
		switch have := size - off; {
		case have < need:
			return nil, &FormatError{Reason: fmt.Sprintf("data truncated: shape (%s) of %s needs %d bytes, file has %d", sm[1], dt.name, need, have)}
		case have > need:
			return nil, &FormatError{Reason: fmt.Sprintf("trailing data: shape (%s) of %s needs %d bytes, file has %d", sm[1], dt.name, need, have)}
		}
	}
	raw, err := limits.ReadN(r, need, size >= 0)
	if err != nil {
		return nil, &FormatError{Reason: fmt.Sprintf("data truncated: shape (%s) of %s needs %d bytes, file has %d", sm[1], dt.name, need, len(raw))}
	}
	return &rawArray{shape: shape, dt: dt, n: n, fortran: fortran, raw: raw}, nil
}

// quote quotes s for an error message, cut to its first 200 bytes.
func quote(s string) string {
	return strconv.Quote(clip(strings.TrimSpace(s)))
}

// clip cuts s to its first 200 bytes for an error message.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

func decode(raw []byte, dt dtype, n int) []float32 {
	out := make([]float32, n)
	o := dt.order
	for i := range out {
		b := raw[i*dt.size : (i+1)*dt.size]
		switch dt.name {
		case "float16":
			out[i] = half.ToFloat32(o.Uint16(b))
		case "bool":
			out[i] = float32(min(b[0], 1))
		case "float32":
			out[i] = math.Float32frombits(o.Uint32(b))
		case "float64":
			out[i] = float32(math.Float64frombits(o.Uint64(b)))
		case "uint8":
			out[i] = float32(b[0])
		case "int8":
			out[i] = float32(int8(b[0]))
		case "uint16":
			out[i] = float32(o.Uint16(b))
		case "int16":
			out[i] = float32(int16(o.Uint16(b)))
		case "uint32":
			out[i] = float32(o.Uint32(b))
		case "int32":
			out[i] = float32(int32(o.Uint32(b)))
		case "uint64":
			out[i] = float32(o.Uint64(b))
		case "int64":
			out[i] = float32(int64(o.Uint64(b)))
		}
	}
	return out
}

// fromFortran reorders column-major data into row-major order.
func fromFortran[T any](data []T, shape []int) []T {
	out := make([]T, len(data))
	rank := len(shape)
	idx := make([]int, rank)
	// Walk the C-order index; compute the Fortran-order offset.
	fstride := make([]int, rank)
	s := 1
	for d := 0; d < rank; d++ {
		fstride[d] = s
		s *= shape[d]
	}
	for i := range out {
		off := 0
		for d := 0; d < rank; d++ {
			off += idx[d] * fstride[d]
		}
		out[i] = data[off]
		for d := rank - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

// Write writes data with the given shape as a float32, C-order, version 1.0
// .npy array. It returns an error if the shape's element count is not
// len(data).
func Write(w io.Writer, shape []int, data []float32) error {
	n, err := limits.ElementsInt(shape)
	if err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	if n != len(data) {
		return fmt.Errorf("npy: shape %v holds %d elements, data has %d", shape, n, len(data))
	}
	if err := writeHeader(w, "<f4", shape); err != nil {
		return err
	}
	body := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(body[4*i:], math.Float32bits(v))
	}
	_, err = w.Write(body)
	return err
}

// writeHeader writes the magic, version 1.0 and the header of a C-order
// array of descr and shape.
func writeHeader(w io.Writer, descr string, shape []int) error {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, tuple)
	// Pad with spaces so that magic+version+len+header+'\n' is a multiple of 64.
	total := len(magic) + 2 + 2 + len(header) + 1
	if pad := (64 - total%64) % 64; pad > 0 {
		header += strings.Repeat(" ", pad)
	}
	header += "\n"
	if len(header) > math.MaxUint16 {
		return fmt.Errorf("npy: shape %v gives a header too long for format 1.0", shape)
	}
	buf := make([]byte, 0, len(magic)+4+len(header))
	buf = append(buf, magic...)
	buf = append(buf, 1, 0)
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(header)))
	buf = append(buf, header...)
	_, err := w.Write(buf)
	return err
}

// WriteFile writes data to path as Write does, atomically: path holds either
// its old content or the whole new array.
func WriteFile(path string, shape []int, data []float32) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		return Write(w, shape, data)
	})
}
