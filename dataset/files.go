package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/aebridge/aebridge/internal/npy"
)

// LoadNPY reads an array of shape (N, D…) from a .npy file: the first
// dimension counts samples. uint8 data is scaled to [0, 1].
func LoadNPY(path string) (*Set, error) {
	a, err := npy.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if len(a.Shape) == 0 || a.Shape[0] == 0 {
		return nil, fmt.Errorf("dataset: %s: shape %v has no samples (want N×D or N×C×H×W)", path, a.Shape)
	}
	shape := a.Shape[1:]
	if len(shape) == 0 {
		shape = []int{1}
	}
	if a.DType == "uint8" {
		for i, v := range a.Data {
			a.Data[i] = v / 255
		}
	}
	return &Set{Name: path, Shape: shape, X: a.Data}, nil
}

// LoadCSV reads a CSV file of numbers, one sample a row. A first row with
// any non-numeric field is taken as a header and skipped; blank lines are
// skipped. Every row must have the same number of fields.
func LoadCSV(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
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
			if err != nil {
				if first {
					header = true
					break
				}
				return nil, fmt.Errorf("dataset: %s: line %d, column %d: %q is not a number", path, line, i+1, fld)
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
// compressed or not: a magic number giving the element type and rank,
// big-endian dimension sizes, then big-endian data. Unsigned-byte data is
// scaled to [0, 1]; a rank-1 file gives one value per sample.
func LoadIDX(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(strings.ToLower(path), ".gz") {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("dataset: %s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, fmt.Errorf("dataset: %s: too short for an IDX header", path)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("dataset: %s: magic % x is not an IDX file's", path, magic)
	}
	sizes := map[byte]int{0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}
	size, ok := sizes[magic[2]]
	if !ok {
		return nil, fmt.Errorf("dataset: %s: unknown IDX element type %#02x", path, magic[2])
	}
	rank := int(magic[3])
	if rank == 0 {
		return nil, fmt.Errorf("dataset: %s: IDX rank 0", path)
	}
	dims := make([]int, rank)
	n := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(r, binary.BigEndian, &d); err != nil {
			return nil, fmt.Errorf("dataset: %s: truncated IDX dimensions", path)
		}
		if d == 0 || d > 1<<30 || n > (1<<34)/int(d) {
			return nil, fmt.Errorf("dataset: %s: IDX dimension %d is %d", path, i, d)
		}
		dims[i] = int(d)
		n *= int(d)
	}
	raw := make([]byte, n*size)
	if got, err := io.ReadFull(r, raw); err != nil {
		return nil, fmt.Errorf("dataset: %s: IDX data truncated: dims %v need %d bytes, file has %d", path, dims, len(raw), got)
	}
	x := make([]float32, n)
	be := binary.BigEndian
	for i := range x {
		b := raw[i*size:]
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
	if len(shape) == 0 {
		shape = []int{1}
	}
	return &Set{Name: path, Shape: shape, X: x}, nil
}
