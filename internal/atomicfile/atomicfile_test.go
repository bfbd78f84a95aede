package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestWriteReplacesWholeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.bin")
	if err := WriteBytes(path, []byte("first version")); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(path, []byte("second")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "second" {
		t.Errorf("got %q, want %q", got, "second")
	}
}

func TestWriteFailureLeavesOldFileAndNoTemporary(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.bin")
	if err := WriteBytes(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(path, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got error %v, want %v", err, boom)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "old" {
		t.Errorf("got %q, want %q", got, "old")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("got %d files in folder, want 1 (temporary left behind?)", len(entries))
	}
}

// TestRemoveStale: the temporary files a killed Write leaves for the named
// files go; everything else stays.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	// A Write killed before its rename leaves the file CreateTemp made.
	f, err := os.CreateTemp(dir, ".model.onnx.tmp*")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	stale := filepath.Base(f.Name())
	keep := []string{"model.onnx", ".model.onnx.tmp", ".model.onnx.tmpx1", ".other.tmp123", "config.json"}
	for _, name := range append(keep, ".config.json.tmp42") {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := RemoveStale(dir, "model.onnx", "config.json"); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := slices.Clone(keep)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v (%s and .config.json.tmp42 removed)", got, want, stale)
	}
	if err := RemoveStale(filepath.Join(dir, "missing"), "x"); err != nil {
		t.Errorf("missing dir: got %v, want nil", err)
	}
}
