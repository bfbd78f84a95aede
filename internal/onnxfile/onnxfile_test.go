package onnxfile

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxpb"
)

func TestLoadResolvesExternalData(t *testing.T) {
	path := "../../testdata/torch2-dynamo/dynamo_mlp_ae.onnx"
	structure, err := LoadStructure(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := ExternalFiles(structure); len(got) != 1 || got[0] != "dynamo_mlp_ae.onnx.data" {
		t.Fatalf("external files: got %v, want [dynamo_mlp_ae.onnx.data]", got)
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	side, err := os.ReadFile(path + ".data")
	if err != nil {
		t.Fatal(err)
	}
	// Every byte of the side file belongs to some tensor; summing the loaded
	// raw data sizes must reach the file size, and the first weight's bytes
	// must be those at its offset.
	var total int64
	var params int64
	Tensors(m, func(tp *onnxpb.TensorProto) {
		if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
			t.Errorf("tensor %q still external after Load", tp.GetName())
		}
		total += int64(len(tp.RawData))
		params += ElementCount(tp)
	})
	// 196·96+96 + 96·12+12 + 12·96+96 + 96·196+196 = 40,336 parameters.
	if params < 40336 {
		t.Errorf("parameters: got %d, want at least 40336", params)
	}
	if total < int64(len(side)) {
		t.Errorf("loaded %d bytes of raw data, side file has %d", total, len(side))
	}
	for _, init := range structure.Graph.Initializer {
		if init.GetDataLocation() != onnxpb.TensorProto_EXTERNAL || externalField(init, "offset") != "0" {
			continue
		}
		loaded := findInit(m, init.GetName())
		vals, err := Float32s(loaded)
		if err != nil {
			t.Fatal(err)
		}
		if want := math.Float32frombits(binary.LittleEndian.Uint32(side)); vals[0] != want {
			t.Errorf("first value of %q: got %v, want %v", init.GetName(), vals[0], want)
		}
	}
}

func findInit(m *onnxpb.ModelProto, name string) *onnxpb.TensorProto {
	for _, t := range m.Graph.Initializer {
		if t.GetName() == name {
			return t
		}
	}
	return nil
}

// externalModel writes a model with one external tensor of 4 floats stored
// at location into dir, and returns the model's path.
func externalModel(t *testing.T, dir, location string) string {
	t.Helper()
	m := &onnxpb.ModelProto{
		IrVersion: proto.Int64(8),
		Graph: &onnxpb.GraphProto{
			Name: proto.String("g"),
			Initializer: []*onnxpb.TensorProto{{
				Name:         proto.String("w"),
				Dims:         []int64{2, 2},
				DataType:     proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
				DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(),
				ExternalData: []*onnxpb.StringStringEntryProto{
					{Key: proto.String("location"), Value: proto.String(location)},
					{Key: proto.String("offset"), Value: proto.String("0")},
					{Key: proto.String("length"), Value: proto.String("16")},
				},
			}},
		},
	}
	path := filepath.Join(dir, "m.onnx")
	if err := Save(path, m); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadRefusesExternalDataOutsideModelFolder(t *testing.T) {
	root := t.TempDir()
	secret := filepath.Join(root, "secret.bin")
	if err := os.WriteFile(secret, make([]byte, 16), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(root, "model")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(sub, "link.bin")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		location, wantSub string
	}{
		{"../secret.bin", "leaves the model's folder"},
		{"a/../../secret.bin", "leaves the model's folder"},
		{secret, "is absolute"},
		{"link.bin", "through a symbolic link"},
		{"missing.bin", "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.location, func(t *testing.T) {
			path := externalModel(t, sub, tt.location)
			for name, load := range map[string]func(string) (*onnxpb.ModelProto, error){"Load": Load, "LoadStructure": LoadStructure} {
				_, err := load(path)
				var fe *FormatError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.wantSub) || fe.Tensor != "w" {
					t.Errorf("%s: got %v, want a FormatError on tensor w containing %q", name, err, tt.wantSub)
				}
			}
		})
	}
}

func TestLoadRejectsShortExternalData(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), make([]byte, 12), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(externalModel(t, dir, "w.bin"))
	if err == nil || !strings.Contains(err.Error(), "runs past the end") {
		t.Errorf("got %v, want a runs-past-the-end error", err)
	}
}

func TestFloat32sReadsEveryStorage(t *testing.T) {
	want := []float32{1.5, -2, 0, 3.25}
	raw := make([]byte, 16)
	for i, v := range want {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	f16 := []int32{0x3e00, 0xc000, 0x0000, 0x4280} // 1.5, -2, 0, 3.25 as binary16
	bf16 := make([]byte, 8)
	for i, v := range want {
		binary.LittleEndian.PutUint16(bf16[2*i:], uint16(math.Float32bits(v)>>16))
	}
	typ := func(dt onnxpb.TensorProto_DataType) *int32 { return proto.Int32(int32(dt)) }
	tests := []struct {
		name string
		t    *onnxpb.TensorProto
		want []float32
	}{
		{"float raw_data", &onnxpb.TensorProto{Dims: []int64{4}, DataType: typ(onnxpb.TensorProto_FLOAT), RawData: raw}, want},
		{"float_data", &onnxpb.TensorProto{Dims: []int64{2, 2}, DataType: typ(onnxpb.TensorProto_FLOAT), FloatData: want}, want},
		{"double_data", &onnxpb.TensorProto{Dims: []int64{4}, DataType: typ(onnxpb.TensorProto_DOUBLE), DoubleData: []float64{1.5, -2, 0, 3.25}}, want},
		{"float16 int32_data", &onnxpb.TensorProto{Dims: []int64{4}, DataType: typ(onnxpb.TensorProto_FLOAT16), Int32Data: f16}, want},
		{"bfloat16 raw_data", &onnxpb.TensorProto{Dims: []int64{4}, DataType: typ(onnxpb.TensorProto_BFLOAT16), RawData: bf16}, want},
		{"int64_data", &onnxpb.TensorProto{Dims: []int64{3}, DataType: typ(onnxpb.TensorProto_INT64), Int64Data: []int64{-1, 0, 7}}, []float32{-1, 0, 7}},
		{"scalar", &onnxpb.TensorProto{DataType: typ(onnxpb.TensorProto_FLOAT), FloatData: []float32{9}}, []float32{9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Float32s(tt.t)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestTensorErrors(t *testing.T) {
	typ := func(dt onnxpb.TensorProto_DataType) *int32 { return proto.Int32(int32(dt)) }
	tests := []struct {
		name    string
		t       *onnxpb.TensorProto
		wantSub string
	}{
		{"count mismatch", &onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{2, 3}, DataType: typ(onnxpb.TensorProto_FLOAT), FloatData: []float32{1}}, "float_data holds 1 values; dims [2 3] need 6"},
		{"raw size mismatch", &onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{2}, DataType: typ(onnxpb.TensorProto_FLOAT), RawData: []byte{1, 2, 3}}, "raw_data holds 3 bytes; dims [2] of float32 need 8"},
		{"string type", &onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{1}, DataType: typ(onnxpb.TensorProto_STRING)}, "element type string is not a real number type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Float32s(tt.t)
			if err == nil || !strings.Contains(err.Error(), tt.wantSub) || !strings.Contains(err.Error(), `"w"`) {
				t.Errorf("got %v, want an error naming tensor \"w\" and %q", err, tt.wantSub)
			}
		})
	}
}

func TestInt64sKeepsLargeValues(t *testing.T) {
	raw := make([]byte, 8)
	neg := int32(-16777217)
	binary.LittleEndian.PutUint32(raw, uint32(neg))
	binary.LittleEndian.PutUint32(raw[4:], 16777217)
	got, err := Int64s(&onnxpb.TensorProto{Dims: []int64{2}, DataType: proto.Int32(int32(onnxpb.TensorProto_INT32)), RawData: raw})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != -16777217 || got[1] != 16777217 {
		t.Errorf("got %v, want [-16777217 16777217]", got)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m, err := Load("../../testdata/torch2-dynamo/dynamo_conv_bn_ae.onnx")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "inline.onnx")
	if err := Save(path, m); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(m, back) {
		t.Error("model saved with inline weights does not load back equal")
	}
	if got := ExternalFiles(back); len(got) != 0 {
		t.Errorf("saved model still references %v", got)
	}
}
