package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"

	"github.com/aebridge/aebridge/internal/atomicfile"
)

// writeFn writes one output shard, PREFIX-SSSSS-of-NNNNN.jsonl (or .csv),
// from the chunks of lines grouped under its key. A local file is written
// to a temporary file and renamed, so that no half-written shard is left;
// a remote one (gs://, s3://) is committed when its writer closes.
type writeFn struct {
	Prefix string
	Shards int
	Format string
	Labels bool
}

// ShardName is the name of output shard k of n for prefix and format.
func ShardName(prefix string, k, n int, format string) string {
	return fmt.Sprintf("%s-%05d-of-%05d.%s", prefix, k, n, format)
}

func (fn *writeFn) ProcessElement(ctx context.Context, k int, chunks func(*string) bool) error {
	name := ShardName(fn.Prefix, k, fn.Shards, fn.Format)
	fill := func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<16)
		if fn.Format == "csv" {
			if fn.Labels {
				bw.WriteString("file,row,score,label\n")
			} else {
				bw.WriteString("file,row,score\n")
			}
		}
		var c string
		for chunks(&c) {
			bw.WriteString(c)
		}
		return bw.Flush()
	}
	if isLocal(name) {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return fmt.Errorf("pipeline: --output: %w", err)
		}
		if err := atomicfile.Write(name, fill); err != nil {
			return fmt.Errorf("pipeline: --output %s: %w", name, err)
		}
		return nil
	}
	fs, err := filesystem.New(ctx, name)
	if err != nil {
		return fmt.Errorf("pipeline: --output %s: %w", name, err)
	}
	defer fs.Close()
	w, err := fs.OpenWrite(ctx, name)
	if err != nil {
		return fmt.Errorf("pipeline: --output %s: %w", name, err)
	}
	if err := fill(w); err != nil {
		w.Close()
		return fmt.Errorf("pipeline: --output %s: %w", name, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("pipeline: --output %s: %w", name, err)
	}
	return nil
}
