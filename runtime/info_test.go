package runtime

import (
	"reflect"
	"slices"
	"testing"
)

func TestInputScaling(t *testing.T) {
	x := []IO{{Name: "x"}}
	tests := []struct {
		name    string
		info    Info
		want    InputScaling
		wantErr string
	}{
		{"aebridge rule and range", Info{Path: "m.onnx", Producer: "aebridge", Inputs: x, Metadata: map[string]string{InputScaleKey: "1/255", InputRangeKey: "[0,1]"}},
			InputScaling{Input: "x", Divisor: 255, Range: []float64{0, 1}}, ""},
		{"none", Info{Path: "m.onnx", Producer: "aebridge", Inputs: x, Metadata: map[string]string{InputScaleKey: "none"}},
			InputScaling{Input: "x"}, ""},
		{"other producer with the key", Info{Path: "m.onnx", Producer: "pytorch", Inputs: []IO{{Name: "input"}}, Metadata: map[string]string{InputScaleKey: "1/65535", InputRangeKey: "[-1, 1]"}},
			InputScaling{Input: "input", Divisor: 65535, Range: []float64{-1, 1}}, ""},
		{"aebridge export from before the key", Info{Path: "m.onnx", Producer: "aebridge", Inputs: x, Metadata: map[string]string{"part": "encoder"}},
			InputScaling{Input: "x", Divisor: 255}, ""},
		{"aebridge decoder", Info{Path: "d.onnx", Producer: "aebridge", Inputs: []IO{{Name: "z"}}, Metadata: map[string]string{"part": "decoder"}},
			InputScaling{}, ""},
		{"pytorch", Info{Path: "p.onnx", Producer: "pytorch", Inputs: x, Metadata: map[string]string{}}, InputScaling{}, ""},
		{"no inputs", Info{Path: "p.onnx", Producer: "aebridge", Metadata: map[string]string{InputScaleKey: "bad"}}, InputScaling{}, ""},
		{"bad scale", Info{Path: "m.onnx", Inputs: x, Metadata: map[string]string{InputScaleKey: "0.5"}},
			InputScaling{}, `runtime: m.onnx: metadata aebridge.input_scale = "0.5": want "1/255" or "none"`},
		{"zero divisor", Info{Path: "m.onnx", Inputs: x, Metadata: map[string]string{InputScaleKey: "1/0"}},
			InputScaling{}, `runtime: m.onnx: metadata aebridge.input_scale = "1/0": want "1/255" or "none"`},
		{"infinite divisor", Info{Path: "m.onnx", Inputs: x, Metadata: map[string]string{InputScaleKey: "1/inf"}},
			InputScaling{}, `runtime: m.onnx: metadata aebridge.input_scale = "1/inf": want "1/255" or "none"`},
		{"reversed range", Info{Path: "m.onnx", Inputs: x, Metadata: map[string]string{InputScaleKey: "1/255", InputRangeKey: "[1,0]"}},
			InputScaling{}, `runtime: m.onnx: metadata aebridge.input_range = "[1,0]": want a pair [min,max] of finite numbers, min ≤ max`},
		{"range of three", Info{Path: "m.onnx", Inputs: x, Metadata: map[string]string{InputScaleKey: "1/255", InputRangeKey: "[0,1,2]"}},
			InputScaling{}, `runtime: m.onnx: metadata aebridge.input_range = "[0,1,2]": want a pair`},
		{"range not JSON", Info{Path: "m.onnx", Inputs: x, Metadata: map[string]string{InputScaleKey: "1/255", InputRangeKey: "0..1"}},
			InputScaling{}, `runtime: m.onnx: metadata aebridge.input_range = "0..1": want a pair`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.info.InputScaling()
			if tt.wantErr != "" {
				if err == nil || len(err.Error()) < len(tt.wantErr) || err.Error()[:len(tt.wantErr)] != tt.wantErr {
					t.Errorf("got %v, want an error starting %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, %v, want %+v", got, err, tt.want)
			}
		})
	}
}

// TestFitShape checks that samples take a fixed input's per-sample shape
// when they hold as many values, and are left alone otherwise.
func TestFitShape(t *testing.T) {
	in := IO{HasShape: true, Shape: []Dim{{Size: -1, Name: "batch"}, {Size: 784}}}
	img := Tensor{Shape: []int64{2, 28, 28}, Data: make([]float32, 2*784)}
	if got := in.FitShape(img); !slices.Equal(got.Shape, []int64{2, 784}) || &got.Data[0] != &img.Data[0] {
		t.Errorf("(2, 28, 28) for (batch, 784): got %v", got.Shape)
	}
	odd := Tensor{Shape: []int64{2, 27, 28}, Data: make([]float32, 2*27*28)}
	if got := in.FitShape(odd); !slices.Equal(got.Shape, odd.Shape) {
		t.Errorf("(2, 27, 28) for (batch, 784): got %v, want it unchanged", got.Shape)
	}
	free := IO{HasShape: true, Shape: []Dim{{Size: -1}, {Size: -1, Name: "n"}}}
	if got := free.FitShape(img); !slices.Equal(got.Shape, img.Shape) {
		t.Errorf("a free dimension: got %v, want it unchanged", got.Shape)
	}
}

// TestFitValue checks FitShape's rule on values of other element types.
func TestFitValue(t *testing.T) {
	in := IO{HasShape: true, Shape: []Dim{{Size: -1, Name: "batch"}, {Size: 1}, {Size: 2}, {Size: 2}}}
	u8 := Value{Shape: []int64{3, 4}, Data: make([]uint8, 12)}
	if got := in.FitValue(u8); !slices.Equal(got.Shape, []int64{3, 1, 2, 2}) || got.DType() != Uint8 {
		t.Errorf("(3, 4) uint8 for (batch, 1, 2, 2): got %v %s", got.Shape, got.DType())
	}
	short := Value{Shape: []int64{3, 4}, Data: make([]int64, 11)}
	if got := in.FitValue(short); !slices.Equal(got.Shape, short.Shape) {
		t.Errorf("11 values for (3, 4): got %v, want it unchanged", got.Shape)
	}
}
