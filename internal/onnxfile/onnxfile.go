// Package onnxfile loads and saves ONNX model files as onnxpb messages.
//
// Load reads a model and the external data its tensors reference (the side
// files that large exports, and PyTorch's dynamo exporter, write beside the
// model, such as model.onnx.data), refusing any reference that leaves the
// model's folder. Float32s and Int64s read a tensor's values whatever its
// storage: raw_data or the typed repeated fields. Save writes atomically.
package onnxfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/atomicfile"
	"github.com/aebridge/aebridge/internal/limits"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

// FormatError reports a malformed or unsafe model file.
type FormatError struct {
	File   string // the model file; empty from Float32s, Int64s and Check
	Tensor string // the tensor involved, if any
	Reason string
}

func (e *FormatError) Error() string {
	s := "onnxfile"
	if e.File != "" { // empty for a tensor read on its own
		s += ": " + e.File
	}
	if e.Tensor != "" {
		s += ": tensor " + strconv.Quote(e.Tensor)
	}
	return s + ": " + e.Reason
}

// Decode parses a serialized ModelProto. name is used in error messages.
func Decode(data []byte, name string) (*onnxpb.ModelProto, error) {
	m := new(onnxpb.ModelProto)
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, &FormatError{File: name, Reason: "not an ONNX model: " + err.Error()}
	}
	if m.Graph == nil {
		return nil, &FormatError{File: name, Reason: "model has no graph"}
	}
	return m, nil
}

// Load reads the model at path, loading every external tensor into raw_data
// so that the returned model is self-contained.
func Load(path string) (*onnxpb.ModelProto, error) {
	m, err := LoadStructure(path)
	if err != nil {
		return nil, err
	}
	r := &externalReader{dir: filepath.Dir(path), model: path, files: map[string]*os.File{}}
	defer r.close()
	var ferr error
	Tensors(m, func(t *onnxpb.TensorProto) {
		if ferr == nil && t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
			ferr = r.load(t)
		}
	})
	if ferr != nil {
		return nil, ferr
	}
	return m, nil
}

// LoadStructure reads the model at path without its external data: external
// tensors keep their references, which are checked to stay inside the
// model's folder.
func LoadStructure(path string) (*onnxpb.ModelProto, error) {
	data, err := readRegular(path)
	if err != nil {
		return nil, fmt.Errorf("onnxfile: %w", err)
	}
	m, err := Decode(data, path)
	if err != nil {
		return nil, err
	}
	var ferr error
	Tensors(m, func(t *onnxpb.TensorProto) {
		if ferr == nil && t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
			_, ferr = externalPath(path, t)
		}
	})
	if ferr != nil {
		return nil, ferr
	}
	return m, nil
}

// ExternalFiles lists, in first-use order, the side files the model's
// external tensors reference, relative to the model's folder.
func ExternalFiles(m *onnxpb.ModelProto) []string {
	var files []string
	seen := map[string]bool{}
	Tensors(m, func(t *onnxpb.TensorProto) {
		if t.GetDataLocation() != onnxpb.TensorProto_EXTERNAL {
			return
		}
		loc := externalField(t, "location")
		if !seen[loc] {
			seen[loc] = true
			files = append(files, loc)
		}
	})
	return files
}

// Tensors calls fn for every tensor the model holds: the initializers of the
// main graph and of every subgraph, and the tensors in node attributes
// (Constant values and the like), including those of model-local functions.
func Tensors(m *onnxpb.ModelProto, fn func(*onnxpb.TensorProto)) {
	var walkGraph func(g *onnxpb.GraphProto)
	walkNodes := func(nodes []*onnxpb.NodeProto) {
		for _, n := range nodes {
			for _, a := range n.Attribute {
				if a.T != nil {
					fn(a.T)
				}
				for _, t := range a.Tensors {
					fn(t)
				}
				if a.G != nil {
					walkGraph(a.G)
				}
				for _, g := range a.Graphs {
					walkGraph(g)
				}
			}
		}
	}
	walkGraph = func(g *onnxpb.GraphProto) {
		if g == nil {
			return
		}
		for _, t := range g.Initializer {
			fn(t)
		}
		walkNodes(g.Node)
	}
	walkGraph(m.Graph)
	for _, f := range m.Functions {
		walkNodes(f.Node)
	}
}

func externalField(t *onnxpb.TensorProto, key string) string {
	for _, kv := range t.ExternalData {
		if kv.GetKey() == key {
			return kv.GetValue()
		}
	}
	return ""
}

// externalPath resolves t's external location against the model's folder and
// refuses locations that are absolute or lead outside that folder, lexically
// or through symbolic links.
func externalPath(model string, t *onnxpb.TensorProto) (string, error) {
	loc := externalField(t, "location")
	bad := func(why string) error {
		return &FormatError{File: model, Tensor: t.GetName(), Reason: fmt.Sprintf("external data location %q %s", loc, why)}
	}
	if loc == "" {
		return "", bad("is empty")
	}
	if filepath.IsAbs(loc) || strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, `\`) {
		return "", bad("is absolute; it must be relative to the model's folder")
	}
	clean := filepath.Clean(filepath.FromSlash(loc))
	if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", bad("leaves the model's folder")
	}
	dir := filepath.Dir(model)
	full := filepath.Join(dir, clean)
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", bad("cannot be checked: " + err.Error())
	}
	realFull, err := filepath.EvalSymlinks(full)
	if err != nil {
		if os.IsNotExist(err) {
			return "", bad("names a file that does not exist (" + full + ")")
		}
		return "", bad("cannot be checked: " + err.Error())
	}
	rel, err := filepath.Rel(realDir, realFull)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", bad("leaves the model's folder through a symbolic link")
	}
	st, err := os.Stat(realFull)
	if err != nil {
		return "", bad("cannot be checked: " + err.Error())
	}
	if !st.Mode().IsRegular() {
		return "", bad(fmt.Sprintf("is not a regular file (%s)", kind(st.Mode())))
	}
	return full, nil
}

type externalReader struct {
	dir, model string
	files      map[string]*os.File
}

func (r *externalReader) close() {
	for _, f := range r.files {
		f.Close()
	}
}

func (r *externalReader) load(t *onnxpb.TensorProto) error {
	path, err := externalPath(r.model, t)
	if err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return &FormatError{File: r.model, Tensor: t.GetName(), Reason: fmt.Sprintf(format, args...)}
	}
	f := r.files[path]
	if f == nil {
		if f, err = openRegular(path); err != nil {
			return bad("external data: %v", err)
		}
		r.files[path] = f
	}
	st, err := f.Stat()
	if err != nil {
		return bad("external data: %v", err)
	}
	var off, length int64
	if s := externalField(t, "offset"); s != "" {
		if off, err = strconv.ParseInt(s, 10, 64); err != nil || off < 0 {
			return bad("external data offset %q is not a non-negative integer", s)
		}
	}
	if off > st.Size() {
		return bad("external data offset %d is past the end of %s (%d bytes)", off, path, st.Size())
	}
	length = st.Size() - off
	if s := externalField(t, "length"); s != "" {
		if length, err = strconv.ParseInt(s, 10, 64); err != nil || length < 0 {
			return bad("external data length %q is not a non-negative integer", s)
		}
	}
	// off ≤ size, so size−off cannot overflow where off+length could.
	if length > st.Size()-off {
		return bad("external data at offset %d, length %d runs past the end of %s (%d bytes)", off, length, path, st.Size())
	}
	if size := elemSize(t.GetDataType()); size > 0 {
		n, err := limits.Elements(t.Dims)
		if err != nil {
			return bad("dims: %v", err)
		}
		if n*int64(size) != length {
			return bad("external data holds %d bytes; dims %v of %s need %d", length, t.Dims, DataTypeName(t.GetDataType()), n*int64(size))
		}
	}
	buf := make([]byte, length)
	if k, err := f.ReadAt(buf, off); err != nil && (err != io.EOF || int64(k) != length) {
		return bad("external data: %v", err)
	}
	t.RawData = buf
	t.ExternalData = nil
	t.DataLocation = nil
	return nil
}

// readRegular reads the whole file at path, refusing anything but a regular
// file: a FIFO, a device or a directory would block or never end.
func readRegular(path string) ([]byte, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limits.MaxModelBytes {
		return nil, fmt.Errorf("%s: %d bytes: %w of %d bytes for an ONNX file (protobuf's limit; keep weights in external data)", path, st.Size(), limits.ErrTooLarge, int64(limits.MaxModelBytes))
	}
	return io.ReadAll(io.LimitReader(f, limits.MaxModelBytes+1))
}

// openRegular opens path for reading without blocking (a FIFO with no
// writer blocks a plain open) and returns an error unless the opened file is
// a regular file.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|nonblock, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, kind(st.Mode()))
	}
	return f, nil
}

// kind names a non-regular file mode.
func kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "mode " + m.String()
}

// Save writes m to path atomically (all tensors inline).
func Save(path string, m *onnxpb.ModelProto) error {
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("onnxfile: encode %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, data)
}
