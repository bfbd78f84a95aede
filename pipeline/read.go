package pipeline

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/fileio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"

	"github.com/aebridge/aebridge/dataset"
	"github.com/aebridge/aebridge/internal/npy"
)

// Batch is up to --batch consecutive rows (samples) of one input shard.
type Batch struct {
	File  string    // the shard, as the glob matched it
	Start int64     // the index of the first row in the file, from 0
	Rows  int64     // the rows it holds
	Shape []int64   // one sample's shape
	Data  []float32 // Rows × the product of Shape values, row-major
}

// readFn reads an input shard whole (by its extension: .npy, .csv) and
// emits its rows in batches of Batch. uint8 .npy values are divided by
// Divisor when it is not 0, the model's input-scaling rule.
type readFn struct {
	Batch   int
	Divisor float32
}

// maxShardBytes bounds a remote shard that readFn copies to a local
// temporary file (the local readers bound what they allocate by the bytes
// present).
const maxShardBytes = 1 << 34

// ProcessElement reads the shard f.
func (fn *readFn) ProcessElement(ctx context.Context, f fileio.FileMetadata, emit func(Batch)) error {
	p := f.Path
	local := p
	if !isLocal(p) {
		tmp, err := copyToTemp(ctx, p)
		if err != nil {
			return err
		}
		defer os.Remove(tmp)
		local = tmp
	}
	shape, data, err := fn.read(ctx, p, local)
	if err != nil {
		return err
	}
	per := 1
	for _, d := range shape[1:] {
		per *= d
	}
	sample := make([]int64, len(shape)-1)
	for i, d := range shape[1:] {
		sample[i] = int64(d)
	}
	n := shape[0]
	for start := 0; start < n; start += fn.Batch {
		end := min(start+fn.Batch, n)
		emit(Batch{File: p, Start: int64(start), Rows: int64(end - start), Shape: sample, Data: data[start*per : end*per]})
	}
	return nil
}

// read reads the shard p (local holds its bytes) as (N, …) samples,
// refusing NaN and ±Inf as aebridge score does.
func (fn *readFn) read(ctx context.Context, p, local string) ([]int, []float32, error) {
	switch strings.ToLower(path.Ext(p)) {
	case ".npy":
		a, err := npy.ReadFile(local)
		if err != nil {
			if local != p {
				return nil, nil, fmt.Errorf("pipeline: %s: %w", p, err)
			}
			return nil, nil, fmt.Errorf("pipeline: %w", err)
		}
		if len(a.Shape) < 2 || a.Shape[0] == 0 {
			return nil, nil, fmt.Errorf("pipeline: --input %s: shape %v: want a batch of samples, (N, …), N ≥ 1", p, a.Shape)
		}
		if a.DType == "uint8" {
			if fn.Divisor > 0 {
				for i := range a.Data {
					a.Data[i] /= fn.Divisor
				}
			} else {
				log.Warnf(ctx, "%s: uint8 values fed unchanged (0 to 255): the model records no input scaling for them", p)
			}
		}
		per := len(a.Data) / a.Shape[0]
		for i, v := range a.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, nil, fmt.Errorf("pipeline: --input %s: sample %d, element %d is %v", p, i/per, i%per, v)
			}
		}
		return a.Shape, a.Data, nil
	case ".csv":
		set, err := dataset.LoadCSV(local)
		if err != nil {
			if local != p {
				return nil, nil, fmt.Errorf("pipeline: %s: %w", p, err)
			}
			return nil, nil, fmt.Errorf("pipeline: %w", err)
		}
		return append([]int{set.Len()}, set.Shape...), set.X, nil
	}
	return nil, nil, fmt.Errorf("pipeline: --input %s: want a .npy or .csv file", p)
}

// copyToTemp copies the remote file p to a local temporary file and
// returns its name.
func copyToTemp(ctx context.Context, p string) (string, error) {
	fs, err := filesystem.New(ctx, p)
	if err != nil {
		return "", fmt.Errorf("pipeline: %s: %w", p, err)
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, p)
	if err != nil {
		return "", fmt.Errorf("pipeline: %s: %w", p, err)
	}
	defer r.Close()
	f, err := os.CreateTemp("", "aebridge-shard-*"+path.Ext(p))
	if err != nil {
		return "", fmt.Errorf("pipeline: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(r, maxShardBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > maxShardBytes {
		err = fmt.Errorf("more than %d bytes: split it into smaller shards", int64(maxShardBytes))
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("pipeline: %s: %w", p, err)
	}
	return f.Name(), nil
}
