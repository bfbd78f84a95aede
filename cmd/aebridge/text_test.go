package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/runtime"
)

func TestPrintable(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "x_hat", "x_hat"},
		{"PyTorch's names", "onnx::Gemm_12", "onnx::Gemm_12"},
		{"space", "my output", "my output"},
		{"non-ASCII letters", "σ²_μ", "σ²_μ"},
		{"empty", "", `""`},
		{"clear screen", "\x1b[2J", `"\x1b[2J"`},
		{"set title with BEL", "\x1b]0;owned\x07y", `"\x1b]0;owned\ay"`},
		{"newline", "a\nb", `"a\nb"`},
		{"tab", "a\tb", `"a\tb"`},
		{"carriage return", "ok\rFAIL", `"ok\rFAIL"`},
		{"C1 control CSI", "a\u009b2J", `"a\u009b2J"`},
		{"right-to-left override", "abc\u202edef", `"abc\u202edef"`},
		{"invalid UTF-8", "a\xffb", `"a\xffb"`},
		{"NUL", "a\x00", `"a\x00"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := printable(tt.in); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// Strings a hostile model file carries: each would clear the screen,
// retitle the terminal or blink if printed raw.
const (
	escOutput   = "\x1b[2J\x1b]0;owned\x07y"
	escDim      = "b\x1b[1A"
	escProducer = "\x1b[31mtorch"
	escKey      = "k\x1b[8m"
	escValue    = "v\x1b[0m\r\u009b2J\x7f\u202e"
	escOp       = "\x1b[5mIdentity"
	escDomain   = "d\x1b[K"
)

// writeHostileModel writes an ONNX model y = op(x) to dir/hostile.onnx, x
// and y float32 [b 4] with the dimension named escDim, the output named
// escOutput, the producer escProducer and metadata escKey = escValue. The
// op is in domain ("" for ONNX's, opset 13), e.g. escOp in escDomain, which
// no backend runs but inspect describes.
func writeHostileModel(t *testing.T, dir, op, domain string) string {
	t.Helper()
	vi := func(name string) *onnxpb.ValueInfoProto {
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			Shape: &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{
				{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: escDim}},
				{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 4}},
			}}}}}}
	}
	node := &onnxpb.NodeProto{OpType: proto.String(op), Input: []string{"x"}, Output: []string{escOutput}}
	opsets := []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(13)}}
	if domain != "" {
		node.Domain = proto.String(domain)
		opsets = append(opsets, &onnxpb.OperatorSetIdProto{Domain: proto.String(domain), Version: proto.Int64(1)})
	}
	m := &onnxpb.ModelProto{
		IrVersion: proto.Int64(7), ProducerName: proto.String(escProducer), OpsetImport: opsets,
		MetadataProps: []*onnxpb.StringStringEntryProto{{Key: proto.String(escKey), Value: proto.String(escValue)}},
		Graph: &onnxpb.GraphProto{Name: proto.String("g"), Node: []*onnxpb.NodeProto{node},
			Input: []*onnxpb.ValueInfoProto{vi("x")}, Output: []*onnxpb.ValueInfoProto{vi(escOutput)}},
	}
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "hostile.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// assertNoControl fails if out holds a control character other than
// newline, the one the commands themselves print.
func assertNoControl(t *testing.T, out string) {
	t.Helper()
	for i, r := range out {
		if r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)) {
			t.Errorf("output holds control character %U at byte %d:\n%q", r, i, out)
			return
		}
	}
}

func TestRunRunPrintsHostileNamesEscaped(t *testing.T) {
	dir := t.TempDir()
	model := writeHostileModel(t, dir, "Identity", "")
	x := filepath.Join(dir, "x.npy")
	writeNPYArray(t, x, []int{2, 4}, []float32{1, 2, 3, 4, 5, 6, 7, 8})
	f, out, _ := testFactory()
	if err := runRun(&runOptions{IO: f.IO, Model: model, Provider: "cpu", Inputs: []string{x}, OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "_2J_0_owned_y.npy")
	if got, want := out.String(), `"\x1b[2J\x1b]0;owned\ay" [2 4] -> `+path+"\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	assertNoControl(t, out.String())
	if y := readNPY(t, path); maxAbsDiff(y.Data, []float32{1, 2, 3, 4, 5, 6, 7, 8}) != 0 {
		t.Errorf("y: got %v, want x", y.Data)
	}
}

func TestInspectRunPrintsHostileStringsEscaped(t *testing.T) {
	model := writeHostileModel(t, t.TempDir(), escOp, escDomain)
	f, out, _ := testFactory()
	if err := inspectRun(&inspectOptions{IO: f.IO, Model: model}); err != nil {
		t.Fatal(err)
	}
	want := "model          " + model + "\n" +
		`producer       "\x1b[31mtorch"` + "\n" +
		"ir version     7\n" +
		`opsets         ai.onnx 13, "d\x1b[K" 1` + "\n" +
		"parameters     0\n" +
		"external data  (none)\n" +
		"inputs\n" +
		`  x  float32  ["b\x1b[1A" 4]` + "\n" +
		"outputs\n" +
		`  "\x1b[2J\x1b]0;owned\ay"  float32  ["b\x1b[1A" 4]` + "\n" +
		"operators (1 nodes)\n" +
		`  "d\x1b[K::\x1b[5mIdentity"  1` + "\n" +
		"metadata\n" +
		`  "k\x1b[8m"  "v\x1b[0m\r\u009b2J\x7f\u202e"` + "\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
	assertNoControl(t, out.String())
}

func TestInspectRunJSONEscapesHostileStrings(t *testing.T) {
	model := writeHostileModel(t, t.TempDir(), escOp, escDomain)
	f, out, _ := testFactory()
	if err := inspectRun(&inspectOptions{IO: f.IO, Model: model, JSON: true}); err != nil {
		t.Fatal(err)
	}
	assertNoControl(t, out.String())
	var got runtime.Info
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Producer != escProducer || got.Outputs[0].Name != escOutput || got.Metadata[escKey] != escValue || got.Ops[escDomain+"::"+escOp] != 1 {
		t.Errorf("got producer %q, output %q, metadata %q, ops %v; want %q, %q, %q = %q, %q",
			got.Producer, got.Outputs[0].Name, got.Metadata, got.Ops, escProducer, escOutput, escKey, escValue, escDomain+"::"+escOp)
	}
}

func TestJSONPrintable(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", `{"a": "b"}`, `{"a": "b"}`},
		{"newlines kept", "{\n  \"a\": 1\n}", "{\n  \"a\": 1\n}"},
		{"C1 CSI", "\"a\u009b2J\"", `"a\u009b2J"`},
		{"DEL", "\"a\x7f\"", `"a\u007f"`},
		{"right-to-left override", "\"\u202e\"", `"\u202e"`},
		{"beyond the BMP, unassigned", "\"\U000e0001\"", `"\udb40\udc01"`},
		{"printable beyond the BMP", "\"\U0001f600\"", "\"\U0001f600\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(jsonPrintable([]byte(tt.in))); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			var a, b any
			if json.Unmarshal([]byte(tt.in), &a) == nil {
				if err := json.Unmarshal(jsonPrintable([]byte(tt.in)), &b); err != nil || !reflect.DeepEqual(a, b) {
					t.Errorf("decodes to %v (%v), want %v", b, err, a)
				}
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain message", "plain message"},
		{"two\nlines\tand a tab", "two\nlines\tand a tab"},
		{"name \x1b[2J here", `name \x1b[2J here`},
		{"bell\a and CSI \u009b", `bell\a and CSI \u009b`},
		{"bad byte \xff end", `bad byte \xff end`},
		{"ünïcode ok", "ünïcode ok"},
	}
	for _, tt := range tests {
		if got := errorText(tt.in); got != tt.want {
			t.Errorf("errorText(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestMainEscapesErrors checks that an error carrying a path from the
// command line or a name from a file reaches stderr escaped.
func TestMainEscapesErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	code := mainRun([]string{"inspect", filepath.Join(t.TempDir(), "\x1b]0;owned\a.onnx")}, &bytes.Buffer{}, &out, &errOut)
	if code != 1 {
		t.Errorf("exit status: got %d, want 1", code)
	}
	if strings.ContainsAny(errOut.String(), "\x1b\a") {
		t.Errorf("stderr: got %q, want no raw escape or bell", errOut.String())
	}
	if !strings.Contains(errOut.String(), `\x1b]0;owned\a.onnx`) {
		t.Errorf("stderr: got %q, want the escaped file name", errOut.String())
	}
}
