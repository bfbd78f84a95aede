// Package limits holds the sizes past which aebridge refuses what a file
// claims, and overflow-checked products of claimed dimensions.
//
// A reader of untrusted bytes never allocates from a size a header claims
// before checking it: first against the bytes actually present (the file's
// size, a tensor's raw_data length), and where nothing backs the claim (a
// declared output shape, a compressed stream, a layer width in a config) against
// the limits below. Counts are multiplied with Elements, which reports
// overflow instead of wrapping.
//
// # What each reader applies
//
// The data readers, and so the largest tensor a hostile file can make
// aebridge allocate:
//
//   - .npy (internal/npy, and dataset.LoadNPY, LoadLabels): rank at most
//     MaxRank, elements at most MaxTensorElements, and the bytes the header
//     claims must be exactly those after it in the file (shorter: "data
//     truncated", longer: "trailing data"), checked before anything is
//     sized from the header; the header length must fit the file and be at
//     most 16 MiB. From a stream of unknown size (npy.Read) the buffer grows
//     as bytes arrive, at most 1 MiB ahead of them. A file thus yields at
//     most 4 bytes of float32 per byte it holds (uint8 data), twice that in
//     Fortran order while reordering.
//   - safetensors (internal/safetensors): the 8-byte header length must fit
//     the file and be at most 100 MiB, checked before the header is read;
//     each tensor has rank at most MaxRank and at most MaxTensorElements
//     elements, and its data_offsets must satisfy 0 ≤ begin ≤ end ≤ the data
//     length and end − begin = elements × dtype size, with no two tensors
//     overlapping: at most 2 bytes of float32 per byte of file (F16, BF16).
//   - IDX (dataset.LoadIDX): rank at most MaxRank, elements at most
//     MaxTensorElements; a plain file's claim must be exactly the bytes
//     after its header. A gzipped file's claim must be at most
//     MaxDecompressedBytes; its buffer grows as bytes are inflated, and
//     inflating stops one byte past the claim ("trailing data"), so a
//     decompression bomb costs at most the claim.
//   - CSV (dataset.LoadCSV): nothing is claimed; lines may be up to
//     256 MiB, and what is kept grows with the rows read.
//   - ONNX files (internal/onnxfile): at most MaxModelBytes, regular files
//     only; each tensor's dims are checked against MaxTensorElements and
//     against the values present (raw_data, the typed fields, or the
//     external file's size past the offset) before anything is allocated;
//     external data must be a regular file inside the model's folder.
//   - ONNX graphs imported into Go (convert, the go backend): at most
//     MaxNodes nodes; every attribute and shape value is checked (node,
//     op and field named in a *convert.FormatError).
//   - config.json (trainer.ReadConfigFile) and aebridge's ONNX metadata: the
//     file at most 16 MiB; the model it describes is counted layer by layer
//     with overflow checks before any weight is allocated, and refused past
//     MaxParams parameters.
//   - Declared graph output shapes (runtime.Model.Run): an output is
//     preallocated from its declared shape only up to 2²⁴ elements or the
//     inputs' element count, whichever is larger; past that ONNX Runtime
//     allocates what the graph computes.
package limits

import (
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
)

const (
	// MaxTensorElements is the most elements one tensor may have: 2³¹,
	// 8 GiB of float32, past anything an autoencoder or its data set
	// needs on one machine.
	MaxTensorElements = 1 << 31

	// MaxRank is the most dimensions one tensor may have.
	MaxRank = 32

	// MaxParams is the most parameters (weights and buffers together) a
	// model described by a config or by metadata may have: 2³⁰, 4 GiB of
	// float32.
	MaxParams = 1 << 30

	// MaxDecompressedBytes is the most bytes a reader inflates from a
	// compressed stream, whose size nothing on disk bounds: 1 GiB, about
	// twice the largest IDX file in use (EMNIST ByClass, 547 MB). A header
	// claiming more is refused before anything is inflated.
	MaxDecompressedBytes = 1 << 30

	// MaxModelBytes is the largest ONNX file read: 2 GiB, protobuf's own
	// limit on one message (larger models keep their weights in external
	// data files, which are checked tensor by tensor).
	MaxModelBytes = 1 << 31

	// MaxNodes is the most nodes a graph imported into Go may have: 2¹⁵.
	// Published autoencoders have hundreds to a few thousand (PyTorch 2's
	// shape subgraphs included); each imported node costs a few
	// kilobytes, so a small file of a million trivial nodes would
	// otherwise cost gigabytes.
	MaxNodes = 1 << 15
)

// ErrTooLarge reports a claimed size past a limit of this package.
var ErrTooLarge = errors.New("exceeds aebridge's limit")

// Elements returns the product of dims. It returns an error if a dimension
// is negative, if there are more than MaxRank of them, or if one dimension
// or the product exceeds MaxTensorElements or overflows (errors.Is
// ErrTooLarge then; a zero dimension does not excuse a huge one).
func Elements(dims []int64) (int64, error) {
	if len(dims) > MaxRank {
		return 0, fmt.Errorf("rank %d %w of %d", len(dims), ErrTooLarge, MaxRank)
	}
	n := uint64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in %v", d, dims)
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if d > MaxTensorElements || hi != 0 || lo > MaxTensorElements {
			return 0, fmt.Errorf("shape %v: %w of %d elements", dims, ErrTooLarge, MaxTensorElements)
		}
		n = lo
	}
	return int64(n), nil
}

// ElementsInt is Elements for int dimensions.
func ElementsInt(dims []int) (int, error) {
	d := make([]int64, len(dims))
	for i, v := range dims {
		d[i] = int64(v)
	}
	n, err := Elements(d)
	return int(n), err
}

// readChunk is the most ReadN allocates ahead of the bytes that have
// arrived when it does not know how many the stream holds.
const readChunk = 1 << 20

// ReadN reads the n bytes a header claims from r. When known is true, r
// has been checked to hold them and one buffer of n bytes is read into;
// otherwise the buffer grows as bytes arrive, at most 1 MiB ahead of them,
// so a claim that the stream does not back costs little. On a short read
// it returns the bytes read and the error (io.ErrUnexpectedEOF or io.EOF).
func ReadN(r io.Reader, n int64, known bool) ([]byte, error) {
	if known {
		b := make([]byte, n)
		got, err := io.ReadFull(r, b)
		return b[:got], err
	}
	b := make([]byte, 0, min(n, readChunk))
	for int64(len(b)) < n {
		if len(b) == cap(b) {
			b = slices.Grow(b, int(min(n-int64(len(b)), max(int64(len(b)), readChunk))))
		}
		got, err := io.ReadFull(r, b[len(b):int(min(int64(cap(b)), n))])
		b = b[:len(b)+got]
		if err != nil {
			return b, err
		}
	}
	return b, nil
}
