package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

func TestNewCmdInspect(t *testing.T) {
	tests := []struct {
		args []string
		want inspectOptions
	}{
		{[]string{"m.onnx"}, inspectOptions{Model: "m.onnx"}},
		{[]string{"m.onnx", "--json"}, inspectOptions{Model: "m.onnx", JSON: true}},
	}
	for _, tt := range tests {
		got := parseArgs(t, newCmdInspect, tt.args, "")
		if got == nil {
			continue
		}
		if got.Model != tt.want.Model || got.JSON != tt.want.JSON {
			t.Errorf("args %v: got %+v, want %+v", tt.args, *got, tt.want)
		}
	}
}

func TestInspectRun(t *testing.T) {
	f, out, _ := testFactory()
	path := filepath.Join(fixtures, "vae_encoder.opset13.onnx")
	if err := inspectRun(&inspectOptions{IO: f.IO, Model: path}); err != nil {
		t.Fatal(err)
	}
	// 64·32+32 + 2·(32·4+4) parameters.
	want := "model          " + path + "\n" +
		"producer       pytorch 1.13.0\n" +
		"ir version     7\n" +
		"opsets         ai.onnx 13\n" +
		"parameters     2,344\n" +
		"external data  (none)\n" +
		"inputs\n" +
		"  x  float32  [batch 64]\n" +
		"outputs\n" +
		"  mu      float32  [batch 4]\n" +
		"  logvar  float32  [batch 4]\n" +
		"operators (4 nodes)\n" +
		"  Gemm  3\n" +
		"  Relu  1\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestInspectRunJSON(t *testing.T) {
	f, out, _ := testFactory()
	if err := inspectRun(&inspectOptions{IO: f.IO, Model: "../../testdata/torch2-dynamo/dynamo_mlp_ae.onnx", JSON: true}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		IRVersion    int64    `json:"ir_version"`
		Parameters   int64    `json:"parameters"`
		ExternalData []string `json:"external_data"`
		Inputs       []struct {
			Shape []struct {
				Size int64  `json:"size"`
				Name string `json:"name"`
			} `json:"shape"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	// 196·96+96 + 96·12+12 + 12·96+96 + 96·196+196
	if got.IRVersion != 10 || got.Parameters != 40336 || len(got.ExternalData) != 1 {
		t.Errorf("got IR %d, %d parameters, external %v; want 10, 40336, one file", got.IRVersion, got.Parameters, got.ExternalData)
	}
	if d := got.Inputs[0].Shape; len(d) != 2 || d[0].Size != -1 || d[0].Name != "batch" || d[1].Size != 196 {
		t.Errorf("input shape: got %+v, want [batch 196]", d)
	}
}
