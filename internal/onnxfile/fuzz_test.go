package onnxfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxpb"
)

// FuzzLoad writes the fuzzer's bytes as a model file beside a 64-byte side
// file, w.bin, and loads it. Load must not panic or hang; its errors are
// *FormatErrors; a model it loads has no
// external tensors left, and every tensor of it reads through Float32s or
// Int64s either as a FormatError or as exactly the values its dims claim.
func FuzzLoad(f *testing.F) {
	dir := f.TempDir()
	side := make([]byte, 64)
	for i := range side {
		side[i] = byte(i)
	}
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), side, 0o644); err != nil {
		f.Fatal(err)
	}
	seed := func(dims []int64, ext ...string) {
		t := &onnxpb.TensorProto{Name: proto.String("w"), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}
		if len(ext) > 0 {
			t.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			for i := 0; i+1 < len(ext); i += 2 {
				t.ExternalData = append(t.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String(ext[i]), Value: proto.String(ext[i+1])})
			}
		} else {
			t.RawData = side[:4*len(dims)]
		}
		b, err := proto.Marshal(&onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: &onnxpb.GraphProto{Name: proto.String("g"), Initializer: []*onnxpb.TensorProto{t}}})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed([]int64{2, 2}, "location", "w.bin", "offset", "16", "length", "16")
	seed([]int64{16}, "location", "w.bin")
	seed([]int64{4})
	if b, err := os.ReadFile("../../testdata/pytorch/tied_ae.opset13.onnx"); err == nil {
		f.Add(b)
	}
	model := filepath.Join(dir, "m.onnx")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(model, data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := Load(model)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v (%T), want a *FormatError", err, err)
			}
			return
		}
		Tensors(m, func(tp *onnxpb.TensorProto) {
			if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
				t.Fatalf("tensor %q still external after Load", tp.GetName())
			}
			n, err := readValues(tp)
			if err != nil {
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("tensor %q: got %v (%T), want a *FormatError", tp.GetName(), err, err)
				}
				return
			}
			if int64(n) != ElementCount(tp) {
				t.Fatalf("tensor %q: got %d values, dims %v claim %d", tp.GetName(), n, tp.Dims, ElementCount(tp))
			}
		})
	})
}

// FuzzDecode decodes the fuzzer's bytes as a model and reads every tensor:
// no panic, errors are *FormatErrors, and a tensor Check accepts reads
// through Float32s (or Int64s) as exactly the values its dims claim.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"tied_ae.opset13.onnx", "conv1d_ae.opset13.onnx"} {
		if b, err := os.ReadFile(filepath.Join("../../testdata/pytorch", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data, "fuzz.onnx")
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v (%T), want a *FormatError", err, err)
			}
			return
		}
		Tensors(m, func(tp *onnxpb.TensorProto) {
			checked := Check(tp)
			switch onnxpb.TensorProto_DataType(tp.GetDataType()) {
			case onnxpb.TensorProto_STRING, onnxpb.TensorProto_COMPLEX64, onnxpb.TensorProto_COMPLEX128, onnxpb.TensorProto_UNDEFINED:
				return
			}
			n, err := readValues(tp)
			if err != nil {
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("tensor %q: got %v (%T), want a *FormatError", tp.GetName(), err, err)
				}
				if checked == nil && elemSize(tp.GetDataType()) > 0 {
					t.Fatalf("tensor %q: Check accepts it, but reading it fails: %v", tp.GetName(), err)
				}
				return
			}
			if checked != nil {
				t.Fatalf("tensor %q: reads as %d values, but Check refuses it: %v", tp.GetName(), n, checked)
			}
			if int64(n) != ElementCount(tp) {
				t.Fatalf("tensor %q: got %d values, dims %v claim %d", tp.GetName(), n, tp.Dims, ElementCount(tp))
			}
		})
	})
}

// readValues reads tp's values as the package's readers do, Int64s for
// integer and boolean tensors and Float32s otherwise, and returns how many.
func readValues(tp *onnxpb.TensorProto) (int, error) {
	switch onnxpb.TensorProto_DataType(tp.GetDataType()) {
	case onnxpb.TensorProto_INT64, onnxpb.TensorProto_INT32, onnxpb.TensorProto_BOOL:
		v, err := Int64s(tp)
		return len(v), err
	}
	v, err := Float32s(tp)
	return len(v), err
}
