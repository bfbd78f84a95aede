// Package limits holds the sizes past which aebridge refuses what a file
// claims, and overflow-checked products of claimed dimensions.
//
// A reader of untrusted bytes never allocates from a size a header claims
// before checking it: first against the bytes actually present (the file's
// size, a tensor's raw_data length), and where nothing backs the claim (a
// declared output shape, a compressed stream, a layer width in a config) against
// the limits below. Counts are multiplied with Elements, which reports
// overflow instead of wrapping.
package limits

import (
	"errors"
	"fmt"
	"math/bits"
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
