package onnxfile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/limits"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

// allocated returns how many bytes fn allocated in total.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

const allocLimit = 64 << 20

// TestHugeClaimedDimsAllocateNothing: a tensor whose dims claim 10¹² (or an
// overflowing number of) elements, backed by a few bytes, is refused before
// anything is allocated from the claim, whatever its storage.
func TestHugeClaimedDimsAllocateNothing(t *testing.T) {
	typ := func(dt onnxpb.TensorProto_DataType) *int32 { return proto.Int32(int32(dt)) }
	tera := []int64{1000000, 1000000}
	tests := []struct {
		name    string
		t       *onnxpb.TensorProto
		ints    bool
		wantSub string
	}{
		{"float raw_data", &onnxpb.TensorProto{Name: proto.String("w"), Dims: tera, DataType: typ(onnxpb.TensorProto_FLOAT), RawData: make([]byte, 16)}, false, "exceeds aebridge's limit"},
		{"float_data", &onnxpb.TensorProto{Name: proto.String("w"), Dims: tera, DataType: typ(onnxpb.TensorProto_FLOAT), FloatData: []float32{1}}, false, "exceeds aebridge's limit"},
		{"int64_data", &onnxpb.TensorProto{Name: proto.String("w"), Dims: tera, DataType: typ(onnxpb.TensorProto_INT64), Int64Data: []int64{1}}, true, "exceeds aebridge's limit"},
		{"int64 raw_data", &onnxpb.TensorProto{Name: proto.String("w"), Dims: tera, DataType: typ(onnxpb.TensorProto_INT64), RawData: make([]byte, 8)}, true, "exceeds aebridge's limit"},
		{"overflowing dims", &onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{1 << 40, 1 << 40, 1 << 40}, DataType: typ(onnxpb.TensorProto_FLOAT), RawData: make([]byte, 4)}, false, "exceeds aebridge's limit"},
		{"negative dim", &onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{-1, 4}, DataType: typ(onnxpb.TensorProto_FLOAT), FloatData: []float32{1}}, false, "negative dimension"},
		// Within the limit, but the 2³⁰ elements claimed are not present.
		{"large claim, few values", &onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{1 << 15, 1 << 15}, DataType: typ(onnxpb.TensorProto_FLOAT), FloatData: []float32{1}}, false, "float_data holds 1 values; dims [32768 32768] need 1073741824"},
		{"large claim, few bytes", &onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{1 << 15, 1 << 15}, DataType: typ(onnxpb.TensorProto_INT32), RawData: make([]byte, 4)}, true, "raw_data holds 4 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			n := allocated(func() {
				if tt.ints {
					_, err = Int64s(tt.t)
				} else {
					_, err = Float32s(tt.t)
				}
			})
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Tensor != "w" || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("got %v, want a FormatError on tensor w containing %q", err, tt.wantSub)
			}
			if n > allocLimit {
				t.Errorf("allocated %d bytes, want under %d", n, allocLimit)
			}
			if err := Check(tt.t); !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("Check: got %v, want a FormatError containing %q", err, tt.wantSub)
			}
		})
	}
}

// sideModel writes a model with one external float tensor of the given dims,
// offset and length into dir, and returns its path.
func sideModel(t *testing.T, dir, location string, dims []int64, offset, length string) string {
	t.Helper()
	ext := []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String(location)}}
	if offset != "" {
		ext = append(ext, &onnxpb.StringStringEntryProto{Key: proto.String("offset"), Value: proto.String(offset)})
	}
	if length != "" {
		ext = append(ext, &onnxpb.StringStringEntryProto{Key: proto.String("length"), Value: proto.String(length)})
	}
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: &onnxpb.GraphProto{Name: proto.String("g"),
		Initializer: []*onnxpb.TensorProto{{Name: proto.String("w"), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(), ExternalData: ext}}}}
	path := filepath.Join(dir, "m.onnx")
	if err := Save(path, m); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExternalDataClaimsAreChecked: offsets and lengths past the side file
// (including ones whose sum overflows) and dims claiming more than the
// bytes present are refused without allocating from them.
func TestExternalDataClaimsAreChecked(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), make([]byte, 16), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		dims           []int64
		offset, length string
		wantSub        string
	}{
		{"offset+length overflows", []int64{2}, "8", "9223372036854775807", "runs past the end"},
		{"offset past the end", []int64{2}, "9223372036854775807", "", "past the end"},
		{"length past the end", []int64{4}, "0", "1000000000000", "runs past the end"},
		{"dims claim 10^12 elements", []int64{1000000, 1000000}, "0", "16", "exceeds aebridge's limit"},
		{"dims disagree with length", []int64{8}, "0", "16", "holds 16 bytes; dims [8] of float32 need 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := sideModel(t, dir, "w.bin", tt.dims, tt.offset, tt.length)
			var err error
			n := allocated(func() { _, err = Load(path) })
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Tensor != "w" || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("got %v, want a FormatError on tensor w containing %q", err, tt.wantSub)
			}
			if n > allocLimit {
				t.Errorf("allocated %d bytes, want under %d", n, allocLimit)
			}
		})
	}
}

// withTimeout runs fn and fails the test if it has not returned within 5 s,
// so that a loader that blocks on a FIFO fails rather than hangs.
func withTimeout(t *testing.T, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("still blocked after 5 s (opened a FIFO?)")
		return nil
	}
}

// TestNonRegularFilesAreRefused: an external-data location or a model path
// that is a FIFO (with no writer: opening it for reading would block) or a
// directory is refused at once.
func TestNonRegularFilesAreRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "w.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "w.dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		location, wantSub string
	}{
		{"w.fifo", "is not a regular file (a named pipe)"},
		{"w.dir", "is not a regular file (a directory)"},
	}
	for _, tt := range tests {
		t.Run(tt.location, func(t *testing.T) {
			path := sideModel(t, dir, tt.location, []int64{4}, "0", "16")
			for name, load := range map[string]func(string) (*onnxpb.ModelProto, error){"Load": Load, "LoadStructure": LoadStructure} {
				err := withTimeout(t, func() error { _, err := load(path); return err })
				var fe *FormatError
				if !errors.As(err, &fe) || fe.Tensor != "w" || !strings.Contains(err.Error(), tt.wantSub) {
					t.Errorf("%s: got %v, want a FormatError on tensor w containing %q", name, err, tt.wantSub)
				}
			}
		})
	}
	t.Run("model is a FIFO", func(t *testing.T) {
		err := withTimeout(t, func() error { _, err := Load(fifo); return err })
		if err == nil || !strings.Contains(err.Error(), "is not a regular file (a named pipe)") {
			t.Errorf("got %v, want a not-a-regular-file error", err)
		}
	})
}

// TestModelFilePastProtobufsLimit: a model file larger than protobuf can
// hold is refused from its size, before a byte of it is read (the file is
// sparse: it takes no disk).
func TestModelFilePastProtobufsLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.onnx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(limits.MaxModelBytes + 1); err != nil {
		f.Close()
		t.Skipf("this file system cannot make a sparse file of 2 GiB: %v", err)
	}
	f.Close()
	var lerr error
	n := allocated(func() { _, lerr = Load(path) })
	if lerr == nil || !errors.Is(lerr, limits.ErrTooLarge) || !strings.Contains(lerr.Error(), "huge.onnx: 2147483649 bytes") {
		t.Errorf("got %v, want the file's size refused", lerr)
	}
	if n > 1<<20 {
		t.Errorf("allocated %d bytes, want under 1 MiB", n)
	}
}
