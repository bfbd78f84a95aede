package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/aebridge/aebridge/internal/limits"
	"github.com/aebridge/aebridge/internal/npy"
)

// LoadNPY reads an array of shape (N, D…) from a .npy file: the first
// dimension counts samples, and there must be at least one more (N×D or
// N×C×H×W; a rank-1 array is refused rather than taken as N samples of one
// value). uint8 data is scaled to [0, 1]. NaN and ±Inf are refused, naming
// the sample and the position. The file's size bounds what the header may
// claim (see internal/npy and internal/limits).
func LoadNPY(path string) (*Set, error) {
	a, err := npy.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	switch len(a.Shape) {
	case 0:
		return nil, fmt.Errorf("dataset: %s: shape () is a scalar, not a data set (want N×D, samples × features, or N×C×H×W)", path)
	case 1:
		return nil, fmt.Errorf("dataset: %s: shape (%d,) is one-dimensional (want N×D, samples × features, or N×C×H×W; for a single sample of %d values, reshape it to (1, %d))", path, a.Shape[0], a.Shape[0], a.Shape[0])
	}
	if a.Shape[0] == 0 {
		return nil, fmt.Errorf("dataset: %s: shape %v has no samples (want N×D or N×C×H×W)", path, a.Shape)
	}
	shape := a.Shape[1:]
	if a.DType == "uint8" {
		for i, v := range a.Data {
			a.Data[i] = v / 255
		}
	}
	if err := checkFinite(path, shape, a.Data); err != nil {
		return nil, err
	}
	return &Set{Name: path, Shape: shape, X: a.Data, Bytes: a.DType == "uint8"}, nil
}

// checkFinite returns an error naming the first NaN or ±Inf in x, samples
// of the given shape: its row and column for N×D data, else its sample, its
// flat feature index and its full index.
func checkFinite(path string, shape []int, x []float32) error {
	d := 1
	for _, s := range shape {
		d *= s
	}
	for i, v := range x {
		if !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) {
			continue
		}
		s, j := i/d, i%d
		if len(shape) == 1 {
			return fmt.Errorf("dataset: %s: row %d, column %d: %v", path, s, j, v)
		}
		idx := make([]int, len(shape))
		for k, r := len(shape)-1, j; k >= 0; k-- {
			idx[k] = r % shape[k]
			r /= shape[k]
		}
		return fmt.Errorf("dataset: %s: sample %d, feature %d (index %v): %v", path, s, j, append([]int{s}, idx...), v)
	}
	return nil
}

// LoadCSV reads a CSV file of numbers, one sample a row. A first row with
// any non-numeric field is taken as a header and skipped; blank lines are
// skipped. Every row must have the same number of fields, and every value
// must be a finite float32: NaN, ±Inf and numbers past float32's range are
// refused, naming the line and the column (both counted from 1). Lines may
// be up to 256 MiB long; what is kept grows with the rows read.
func LoadCSV(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	return readCSV(path, f)
}

func readCSV(path string, r io.Reader) (*Set, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<28)
	var x []float32
	width := -1
	line := 0
	first := true // no non-blank line read yet: a header may come
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		fields := strings.Split(text, ",")
		row := make([]float32, len(fields))
		header := false
		for i, fld := range fields {
			v, err := strconv.ParseFloat(strings.TrimSpace(fld), 32)
			if errors.Is(err, strconv.ErrRange) {
				return nil, fmt.Errorf("dataset: %s: line %d, column %d: %q is out of float32's range", path, line, i+1, fld)
			}
			if err != nil {
				if first {
					header = true
					break
				}
				return nil, fmt.Errorf("dataset: %s: line %d, column %d: %q is not a number", path, line, i+1, fld)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("dataset: %s: line %d, column %d: %v", path, line, i+1, float32(v))
			}
			row[i] = float32(v)
		}
		first = false
		if header {
			continue
		}
		if width < 0 {
			width = len(row)
		} else if len(row) != width {
			return nil, fmt.Errorf("dataset: %s: line %d has %d fields, earlier rows have %d", path, line, len(row), width)
		}
		x = append(x, row...)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", path, err)
	}
	if width <= 0 {
		return nil, fmt.Errorf("dataset: %s: no rows of numbers", path)
	}
	return &Set{Name: path, Shape: []int{width}, X: x}, nil
}

// LoadIDX reads an IDX file (the format of the original MNIST files), gzip
// compressed (a name ending in .gz) or not: a magic number giving the
// element type and rank, big-endian dimension sizes, then big-endian data.
// Unsigned-byte data is scaled to [0, 1]. The first dimension counts
// samples, and there must be at least one more: a rank-1 file (such as
// MNIST's labels) is refused. NaN and ±Inf are refused, naming the sample
// and the position.
//
// The data must be exactly what the dimensions claim, checked before
// anything is sized from them: against the file's size for a plain file;
// for a gzipped one, the claim must be at most limits.MaxDecompressedBytes,
// the buffer grows as bytes are inflated, and inflating stops one byte past
// the claim, which is then reported as trailing data. Dimensions are bounded
// by limits.MaxTensorElements and the rank by limits.MaxRank.
func LoadIDX(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	var r io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(strings.ToLower(path), ".gz") {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("dataset: %s: %w", path, err)
		}
		defer gz.Close()
		return readIDX(path, gz, -1, true)
	}
	return readIDX(path, r, size, false)
}

// readIDX reads an IDX file from r, which holds size bytes, or an unknown
// number when size < 0; inflated says r inflates a compressed file.
func readIDX(path string, r io.Reader, size int64, inflated bool) (*Set, error) {
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, fmt.Errorf("dataset: %s: too short for an IDX header", path)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("dataset: %s: magic % x is not an IDX file's", path, magic)
	}
	sizes := map[byte]int{0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}
	elem, ok := sizes[magic[2]]
	if !ok {
		return nil, fmt.Errorf("dataset: %s: unknown IDX element type %#02x", path, magic[2])
	}
	rank := int(magic[3])
	switch {
	case rank == 0:
		return nil, fmt.Errorf("dataset: %s: IDX rank 0", path)
	case rank > limits.MaxRank:
		return nil, fmt.Errorf("dataset: %s: IDX rank %d %w of %d", path, rank, limits.ErrTooLarge, limits.MaxRank)
	}
	dims := make([]int, rank)
	for i := range dims {
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("dataset: %s: truncated IDX dimensions", path)
		}
		d := binary.BigEndian.Uint32(b[:])
		if d == 0 {
			return nil, fmt.Errorf("dataset: %s: IDX dimension %d is 0", path, i)
		}
		dims[i] = int(d)
	}
	n, err := limits.ElementsInt(dims)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: IDX dims %v: %w", path, dims, err)
	}
	if rank == 1 {
		return nil, fmt.Errorf("dataset: %s: IDX dims %v give one value per sample, as a labels file does (want N×D, samples × features, or N×C×H×W)", path, dims)
	}
	need := int64(n) * int64(elem) // at most 2³¹ × 8
	what := "file"
	if inflated {
		what = "decompressed file"
		if need > limits.MaxDecompressedBytes {
			return nil, fmt.Errorf("dataset: %s: IDX dims %v need %d bytes, %w of %d decompressed bytes", path, dims, need, limits.ErrTooLarge, limits.MaxDecompressedBytes)
		}
	}
	if size >= 0 {
		switch have := size - int64(4+4*rank); {
		case have < need:
			return nil, fmt.Errorf("dataset: %s: IDX data truncated: dims %v need %d bytes, file has %d", path, dims, need, have)
		case have > need:
			return nil, fmt.Errorf("dataset: %s: trailing data: IDX dims %v need %d bytes, file has %d", path, dims, need, have)
		}
	}
	raw, err := limits.ReadN(r, need, size >= 0)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("dataset: %s: IDX data truncated: dims %v need %d bytes, %s has %d", path, dims, need, what, len(raw))
		}
		return nil, fmt.Errorf("dataset: %s: IDX data: %w", path, err)
	}
	if size < 0 {
		// Read one byte past the claim: the end of the stream (and, for
		// gzip, its checksum) must come there.
		var one [1]byte
		switch m, err := io.ReadFull(r, one[:]); {
		case m > 0:
			return nil, fmt.Errorf("dataset: %s: trailing data: IDX dims %v need %d bytes, %s has more", path, dims, need, what)
		case err != io.EOF:
			return nil, fmt.Errorf("dataset: %s: after the IDX data: %w", path, err)
		}
	}
	x := make([]float32, n)
	be := binary.BigEndian
	for i := range x {
		b := raw[i*elem:]
		switch magic[2] {
		case 0x08:
			x[i] = float32(b[0]) / 255
		case 0x09:
			x[i] = float32(int8(b[0]))
		case 0x0B:
			x[i] = float32(int16(be.Uint16(b)))
		case 0x0C:
			x[i] = float32(int32(be.Uint32(b)))
		case 0x0D:
			x[i] = math.Float32frombits(be.Uint32(b))
		case 0x0E:
			x[i] = float32(math.Float64frombits(be.Uint64(b)))
		}
	}
	shape := dims[1:]
	if err := checkFinite(path, shape, x); err != nil {
		return nil, err
	}
	return &Set{Name: path, Shape: shape, X: x, Bytes: magic[2] == 0x08}, nil
}
