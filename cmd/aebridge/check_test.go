package main

import (
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/backend"
	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/trainer"
)

// writeNPY writes a float32 array filled with v.
func writeNPY(t *testing.T, path string, shape []int, v float32) {
	t.Helper()
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = v
	}
	writeNPYArray(t, path, shape, data)
}

func writeNPYArray(t *testing.T, path string, shape []int, data []float32) {
	t.Helper()
	if err := npy.WriteFile(path, shape, data); err != nil {
		t.Fatal(err)
	}
}

func TestNewCmdCheck(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    checkOptions
		wantErr string
	}{
		{name: "defaults", args: []string{"d", "-i", "x.npy"}, want: checkOptions{Model: "d", Inputs: []string{"x.npy"}, Backends: []string{"ort", "go"}, Atol: 1e-5, Rtol: 1e-5}},
		{name: "expect with one backend", args: []string{"m.onnx", "-i", "x.npy", "--expect", "y.npy", "--backends", "ort", "--atol", "0.001", "--rtol", "0"},
			want: checkOptions{Model: "m.onnx", Inputs: []string{"x.npy"}, Expect: []string{"y.npy"}, Backends: []string{"ort"}, BackendsGiven: true, Atol: 1e-3}},
		{name: "backends named as the default", args: []string{"m.onnx", "-i", "x.npy", "--backends", "ort,go"},
			want: checkOptions{Model: "m.onnx", Inputs: []string{"x.npy"}, Backends: []string{"ort", "go"}, BackendsGiven: true, Atol: 1e-5, Rtol: 1e-5}},
		{name: "allow skip and non-finite", args: []string{"m.onnx", "-i", "x.npy", "--backends", "ort,go,onnx-go", "--allow-skip", "--allow-nonfinite"},
			want: checkOptions{Model: "m.onnx", Inputs: []string{"x.npy"}, Backends: []string{"ort", "go", "onnx-go"}, BackendsGiven: true, AllowSkip: true, AllowNonFinite: true, Atol: 1e-5, Rtol: 1e-5}},
		{name: "nothing to compare", args: []string{"m.onnx", "-i", "x.npy", "--backends", "ort"}, wantErr: "nothing to compare"},
		{name: "unknown backend", args: []string{"m.onnx", "-i", "x.npy", "--backends", "ort,tvm"}, wantErr: `unknown backend "tvm"`},
		{name: "backend twice", args: []string{"m.onnx", "-i", "x.npy", "--backends", "ort,ort"}, wantErr: `"ort" given twice`},
		{name: "three backends", args: []string{"m.onnx", "-i", "x.npy", "--backends", "ort,go,onnx-go"}, want: checkOptions{Model: "m.onnx", Inputs: []string{"x.npy"}, Backends: []string{"ort", "go", "onnx-go"}, BackendsGiven: true, Atol: 1e-5, Rtol: 1e-5}},
		{name: "no input", args: []string{"m.onnx"}, wantErr: "at least one --input is required"},
		{name: "NaN atol", args: []string{"m.onnx", "-i", "x.npy", "--atol", "NaN"}, wantErr: "--atol NaN and --rtol 1e-05 must be finite and not negative"},
		{name: "infinite rtol", args: []string{"m.onnx", "-i", "x.npy", "--rtol", "inf"}, wantErr: "--atol 1e-05 and --rtol +Inf must be finite and not negative"},
		{name: "negative atol", args: []string{"m.onnx", "-i", "x.npy", "--atol", "-1"}, wantErr: "must be finite and not negative"},
		{name: "raw input", args: []string{"d", "-i", "x.npy", "--raw-input"}, want: checkOptions{Model: "d", Inputs: []string{"x.npy"}, Backends: []string{"ort", "go"}, Atol: 1e-5, Rtol: 1e-5, RawInput: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseArgs(t, newCmdCheck, tt.args, tt.wantErr)
			if got == nil {
				return
			}
			got.IO = nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

// matchLines compares the report with want line by line. In a wanted line
// {e} stands for a number as %.3e prints it, {g} for one as %.7g does,
// {idx} for coordinates and {*} for any text (a reason another package
// words).
func matchLines(t *testing.T, got string, want []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	ok := len(lines) == len(want)
	for i := 0; ok && i < len(want); i++ {
		re := regexp.QuoteMeta(want[i])
		for k, v := range map[string]string{`\{e\}`: `[0-9]\.[0-9]{3}e[-+][0-9]{2}`, `\{g\}`: `-?[0-9.]+(e[-+][0-9]+)?`, `\{idx\}`: `\[[0-9 ]*\]`, `\{\*\}`: `.*`} {
			re = strings.ReplaceAll(re, k, v)
		}
		ok = regexp.MustCompile("^" + re + "$").MatchString(lines[i])
	}
	if !ok {
		t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	assertNoControl(t, got)
}

// TestCheckRun runs check on PyTorch exports and on crafted models and
// .npy files, and checks the exact report and verdict.
func TestCheckRun(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, shape []int, data []float32) string {
		p := filepath.Join(dir, name)
		writeNPYArray(t, p, shape, data)
		return p
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	mlp := filepath.Join(fixtures, "mlp_ae.opset13.onnx")
	mlpX, mlpY := filepath.Join(fixtures, "mlp_ae.in0.npy"), filepath.Join(fixtures, "mlp_ae.out0.npy")
	x, y := readNPY(t, mlpX), readNPY(t, mlpY)
	with := func(a *npy.Array, f func([]float32)) []float32 {
		d := append([]float32(nil), a.Data...)
		f(d)
		return d
	}
	fill := func(v float32) func([]float32) {
		return func(d []float32) {
			for i := range d {
				d[i] = v
			}
		}
	}
	row := func(r int, v float32) func([]float32) {
		return func(d []float32) {
			for i := r * 64; i < (r+1)*64; i++ {
				d[i] = v
			}
		}
	}
	nanY := file("nan_y.npy", y.Shape, with(y, fill(nan)))
	nanX := file("nan_x.npy", x.Shape, with(x, fill(nan)))
	row0NaNX := file("row0_nan_x.npy", x.Shape, with(x, row(0, nan)))
	row0NaNY := file("row0_nan_y.npy", y.Shape, with(y, row(0, nan)))
	row1NaNY := file("row1_nan_y.npy", y.Shape, with(y, row(1, nan)))
	infY := file("inf_y.npy", y.Shape, with(y, func(d []float32) { d[2*64+3], d[4*64+63] = inf, -inf }))
	emptyY := file("empty_y.npy", []int{0, 64}, nil)
	narrowY := file("narrow_y.npy", []int{5, 32}, make([]float32, 160))

	floor := writeHostileModel(t, t.TempDir(), "Floor", "") // ONNX Runtime runs it, the Go importer does not
	strange := writeHostileModel(t, t.TempDir(), escOp, escDomain)
	hostileX := file("hostile_x.npy", []int{2, 4}, []float32{1, 2, 3, 4, 5, 6, 7, 8})
	hostileY := file("hostile_y.npy", []int{2, 4}, []float32{1, 2, 3, 4, 5, 6, 7, 8})
	convT, convTX := filepath.Join(fixtures, "conv_transposed_ae.opset13.onnx"), filepath.Join(fixtures, "conv_transposed_ae.in0.npy")

	finitePass := "max abs {e}  mean abs {e}  max rel {e}  worst {idx}: {g} vs {g}  PASS"
	tests := []struct {
		name    string
		opts    checkOptions
		want    []string
		wantErr string
	}{
		{"all-NaN expect against finite outputs", checkOptions{Model: mlp, Inputs: []string{mlpX}, Expect: []string{nanY}}, []string{
			"output y [5 64]",
			"  expect         320 NaN, 0 +Inf, 0 -Inf in 320 elements",
			"  ort vs go      " + finitePass,
			"  ort vs expect  max abs +Inf  mean abs +Inf  max rel +Inf  worst [0 0]: {g} vs NaN  FAIL (320 of 320 elements, 320 with NaN or Inf)",
			"  go vs expect   max abs +Inf  mean abs +Inf  max rel +Inf  worst [0 0]: {g} vs NaN  FAIL (320 of 320 elements, 320 with NaN or Inf)",
		}, "check: 2 comparison(s) failed (atol 1e-05, rtol 1e-05)"},
		{"NaN from both backends", checkOptions{Model: mlp, Inputs: []string{nanX}}, []string{
			"output y [5 64]",
			"  ort            320 NaN, 0 +Inf, 0 -Inf in 320 elements",
			"  go             320 NaN, 0 +Inf, 0 -Inf in 320 elements",
			"  ort vs go      max abs +Inf  mean abs +Inf  max rel +Inf  worst [0 0]: NaN vs NaN  FAIL (320 of 320 elements, 320 with NaN or Inf)",
		}, "check: 1 comparison(s) failed (atol 1e-05, rtol 1e-05)"},
		{"NaN from both backends, allowed", checkOptions{Model: mlp, Inputs: []string{nanX}, AllowNonFinite: true}, []string{
			"output y [5 64]",
			"  ort            320 NaN, 0 +Inf, 0 -Inf in 320 elements",
			"  go             320 NaN, 0 +Inf, 0 -Inf in 320 elements",
			"  ort vs go      max abs 0.000e+00  mean abs 0.000e+00  max rel 0.000e+00  worst [0 0]: NaN vs NaN  PASS",
			"all comparisons pass (atol 1e-05, rtol 1e-05, matching NaN and Inf allowed)",
		}, ""},
		{"NaN at the same positions, allowed", checkOptions{Model: mlp, Inputs: []string{row0NaNX}, Expect: []string{row0NaNY}, AllowNonFinite: true}, []string{
			"output y [5 64]",
			"  ort            64 NaN, 0 +Inf, 0 -Inf in 320 elements",
			"  go             64 NaN, 0 +Inf, 0 -Inf in 320 elements",
			"  expect         64 NaN, 0 +Inf, 0 -Inf in 320 elements",
			"  ort vs go      " + finitePass,
			"  ort vs expect  " + finitePass,
			"  go vs expect   " + finitePass,
			"all comparisons pass (atol 1e-05, rtol 1e-05, matching NaN and Inf allowed)",
		}, ""},
		{"NaN at other positions, allowed", checkOptions{Model: mlp, Inputs: []string{row0NaNX}, Expect: []string{row1NaNY}, AllowNonFinite: true}, []string{
			"output y [5 64]",
			"  ort            64 NaN, 0 +Inf, 0 -Inf in 320 elements",
			"  go             64 NaN, 0 +Inf, 0 -Inf in 320 elements",
			"  expect         64 NaN, 0 +Inf, 0 -Inf in 320 elements",
			"  ort vs go      " + finitePass,
			"  ort vs expect  max abs +Inf  mean abs +Inf  max rel +Inf  worst [0 0]: NaN vs {g}  FAIL (128 of 320 elements, 128 with NaN or Inf)",
			"  go vs expect   max abs +Inf  mean abs +Inf  max rel +Inf  worst [0 0]: NaN vs {g}  FAIL (128 of 320 elements, 128 with NaN or Inf)",
		}, "check: 2 comparison(s) failed (atol 1e-05, rtol 1e-05, matching NaN and Inf allowed)"},
		{"infinities in the expected output", checkOptions{Model: mlp, Inputs: []string{mlpX}, Expect: []string{infY}, Backends: []string{"ort"}, BackendsGiven: true}, []string{
			"output y [5 64]",
			"  expect         0 NaN, 1 +Inf, 1 -Inf in 320 elements",
			"  ort vs expect  max abs +Inf  mean abs +Inf  max rel +Inf  worst [2 3]: {g} vs +Inf  FAIL (2 of 320 elements, 2 with NaN or Inf)",
		}, "check: 1 comparison(s) failed (atol 1e-05, rtol 1e-05)"},
		{"empty expected output", checkOptions{Model: mlp, Inputs: []string{mlpX}, Expect: []string{emptyY}, Backends: []string{"ort"}, BackendsGiven: true}, []string{
			"output y [5 64]",
			"  ort vs expect  FAIL: reference of shape [0 64] has no elements: nothing to compare",
		}, "check: 1 comparison(s) failed (atol 1e-05, rtol 1e-05)"},
		{"expected output of another shape", checkOptions{Model: mlp, Inputs: []string{mlpX}, Expect: []string{narrowY}, Backends: []string{"ort"}, BackendsGiven: true}, []string{
			"output y [5 64]",
			"  ort vs expect  FAIL: shapes differ: [5 64] against [5 32]",
		}, "check: 1 comparison(s) failed (atol 1e-05, rtol 1e-05)"},
		{"default backends: one cannot run, expect decides", checkOptions{Model: floor, Inputs: []string{hostileX}, Expect: []string{hostileY}}, []string{
			"backend go SKIPPED: {*}",
			`output "\x1b[2J\x1b]0;owned\ay" [2 4]`,
			"  ort vs expect  max abs 0.000e+00  mean abs 0.000e+00  max rel 0.000e+00  worst [0 0]: 1 vs 1  PASS",
			"all comparisons pass (atol 1e-05, rtol 1e-05); skipped: go",
		}, ""},
		{"default backends: one cannot run, nothing compared", checkOptions{Model: floor, Inputs: []string{hostileX}}, []string{
			"backend go SKIPPED: {*}",
			`output "\x1b[2J\x1b]0;owned\ay" [2 4]`,
			"  not compared: one backend ran and no --expect for this output",
		}, "check: nothing was compared: only ort ran, and no --expect was given (atol 1e-05, rtol 1e-05)"},
		{"default backends: none can run", checkOptions{Model: strange, Inputs: []string{hostileX}, Expect: []string{hostileY}}, []string{
			"backend ort SKIPPED: {*}",
			"backend go SKIPPED: {*}",
		}, "check: nothing was compared: no backend ran (atol 1e-05, rtol 1e-05)"},
		{"named backend cannot run", checkOptions{Model: convT, Inputs: []string{convTX}, Backends: []string{"ort", "go", "onnx-go"}, BackendsGiven: true}, []string{
			"backend onnx-go SKIPPED: onnx-go cannot run {*}ConvTranspose{*}",
			"output y [5 1 16 16]",
			"  ort vs go      " + finitePass,
		}, "check: onnx-go named in --backends could not run, and --allow-skip was not given (atol 1e-05, rtol 1e-05)"},
		{"named backend cannot run, skip allowed", checkOptions{Model: convT, Inputs: []string{convTX}, Backends: []string{"ort", "go", "onnx-go"}, BackendsGiven: true, AllowSkip: true}, []string{
			"backend onnx-go SKIPPED: onnx-go cannot run {*}ConvTranspose{*}",
			"output y [5 1 16 16]",
			"  ort vs go      " + finitePass,
			"all comparisons pass (atol 1e-05, rtol 1e-05); skipped: onnx-go",
		}, ""},
		{"named backend cannot run, skip allowed, nothing compared", checkOptions{Model: convT, Inputs: []string{convTX}, Backends: []string{"ort", "onnx-go"}, BackendsGiven: true, AllowSkip: true}, []string{
			"backend onnx-go SKIPPED: onnx-go cannot run {*}ConvTranspose{*}",
			"output y [5 1 16 16]",
			"  not compared: one backend ran and no --expect for this output",
		}, "check: nothing was compared: only ort ran, and no --expect was given (atol 1e-05, rtol 1e-05)"},
		{"named backend cannot run and nothing compared", checkOptions{Model: convT, Inputs: []string{convTX}, Backends: []string{"ort", "onnx-go"}, BackendsGiven: true}, []string{
			"backend onnx-go SKIPPED: onnx-go cannot run {*}ConvTranspose{*}",
			"output y [5 1 16 16]",
			"  not compared: one backend ran and no --expect for this output",
		}, "check: onnx-go named in --backends could not run, and --allow-skip was not given; nothing was compared: only ort ran, and no --expect was given (atol 1e-05, rtol 1e-05)"},
		{"one backend, expect for one of two outputs", checkOptions{Model: filepath.Join(fixtures, "vae_encoder.opset13.onnx"), Inputs: []string{filepath.Join(fixtures, "vae_encoder.in0.npy")}, Expect: []string{filepath.Join(fixtures, "vae_encoder.out0.npy")}, Backends: []string{"ort"}, BackendsGiven: true}, []string{
			"output mu [5 4]",
			"  ort vs expect  {*}  PASS",
			"output logvar [5 4]",
			"  not compared: one backend ran and no --expect for this output",
			"all comparisons pass (atol 1e-05, rtol 1e-05); not compared: logvar",
		}, ""},
		{"three backends against PyTorch", checkOptions{Model: mlp, Inputs: []string{mlpX}, Expect: []string{mlpY}, Backends: []string{"ort", "go", "onnx-go"}, BackendsGiven: true}, []string{
			"output y [5 64]",
			"  ort vs go         " + finitePass,
			"  ort vs onnx-go    " + finitePass,
			"  go vs onnx-go     " + finitePass,
			"  ort vs expect     " + finitePass,
			"  go vs expect      " + finitePass,
			"  onnx-go vs expect " + finitePass,
			"all comparisons pass (atol 1e-05, rtol 1e-05)",
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if slices.Contains(tt.opts.Backends, "onnx-go") && !backend.OnnxGoBuilt {
				t.Skip("onnx-go is not built in (the onnxgo tag): TestCheckRunOnnxGoNotBuilt covers this build")
			}
			f, out, _ := testFactory()
			opts := tt.opts
			opts.IO, opts.Atol, opts.Rtol = f.IO, 1e-5, 1e-5
			if opts.Backends == nil {
				opts.Backends = defaultBackends
			}
			err := checkRun(&opts)
			if got := fmt.Sprint(err); (tt.wantErr == "" && err != nil) || (tt.wantErr != "" && got != tt.wantErr) {
				t.Errorf("error: got %v, want %q", err, tt.wantErr)
			}
			matchLines(t, out.String(), tt.want)
		})
	}
}

// TestCheckReport feeds the report outputs no backend here gives: missing
// from one backend, of different shapes, empty on both sides.
func TestCheckReport(t *testing.T) {
	vec := func(v ...float32) runtime.Value { return runtime.Value{Shape: []int64{int64(len(v))}, Data: v} }
	ints := func(v ...int64) runtime.Value { return runtime.Value{Shape: []int64{int64(len(v))}, Data: v} }
	empty := runtime.Value{Shape: []int64{0, 4}, Data: []float32{}}
	tests := []struct {
		name    string
		results []checkResult
		expect  []runtime.Value
		want    []string
		wantErr string
	}{
		{"output missing from one backend", []checkResult{
			{"ort", []string{"y", "z"}, map[string]runtime.Value{"y": vec(1), "z": vec(2)}},
			{"go", []string{"y"}, map[string]runtime.Value{"y": vec(1)}},
		}, nil, []string{
			"output y [1]",
			"  ort vs go      max abs 0.000e+00  mean abs 0.000e+00  max rel 0.000e+00  worst [0]: 1 vs 1  PASS",
			"output z [1]",
			"  ort vs go      FAIL: no output from go",
		}, "check: 1 comparison(s) failed (atol 1e-05, rtol 1e-05)"},
		{"output missing from the first backend", []checkResult{
			{"ort", []string{"y"}, map[string]runtime.Value{}},
			{"go", []string{"y"}, map[string]runtime.Value{"y": vec(1)}},
		}, []runtime.Value{vec(1)}, []string{
			"output y [1]",
			"  ort vs go      FAIL: no output from ort",
			"  ort vs expect  FAIL: no output from ort",
			"  go vs expect   max abs 0.000e+00  mean abs 0.000e+00  max rel 0.000e+00  worst [0]: 1 vs 1  PASS",
		}, "check: 2 comparison(s) failed (atol 1e-05, rtol 1e-05)"},
		{"backends of different shapes", []checkResult{
			{"ort", []string{"y"}, map[string]runtime.Value{"y": {Shape: []int64{2, 2}, Data: make([]float32, 4)}}},
			{"go", []string{"y"}, map[string]runtime.Value{"y": vec(0, 0, 0, 0)}},
		}, nil, []string{
			"output y [2 2]",
			"  ort vs go      FAIL: shapes differ: [2 2] against [4]",
		}, "check: 1 comparison(s) failed (atol 1e-05, rtol 1e-05)"},
		{"empty on both sides", []checkResult{
			{"ort", []string{"y"}, map[string]runtime.Value{"y": empty}},
			{"go", []string{"y"}, map[string]runtime.Value{"y": empty}},
		}, []runtime.Value{empty}, []string{
			"output y [0 4]",
			"  ort vs go      FAIL: candidate of shape [0 4] has no elements: nothing to compare",
			"  ort vs expect  FAIL: candidate of shape [0 4] has no elements: nothing to compare",
			"  go vs expect   FAIL: candidate of shape [0 4] has no elements: nothing to compare",
		}, "check: 3 comparison(s) failed (atol 1e-05, rtol 1e-05)"},
		{"int64 outputs equal, exactly", []checkResult{
			{"ort", []string{"code"}, map[string]runtime.Value{"code": ints(3, -1, 1<<53+1)}},
			{"go", []string{"code"}, map[string]runtime.Value{"code": ints(3, -1, 1<<53+1)}},
		}, []runtime.Value{ints(3, -1, 1<<53+1)}, []string{
			"output code [3] int64",
			"  ort vs go      max abs 0.000e+00  mean abs 0.000e+00  max rel 0.000e+00  worst [0]: 3 vs 3  PASS (exact)",
			"  ort vs expect  max abs 0.000e+00  mean abs 0.000e+00  max rel 0.000e+00  worst [0]: 3 vs 3  PASS (exact)",
			"  go vs expect   max abs 0.000e+00  mean abs 0.000e+00  max rel 0.000e+00  worst [0]: 3 vs 3  PASS (exact)",
			"all comparisons pass (atol 1e-05, rtol 1e-05)",
		}, ""},
		{"int64 outputs one apart past 2^53", []checkResult{
			{"ort", []string{"code"}, map[string]runtime.Value{"code": ints(3, 1<<53)}},
			{"go", []string{"code"}, map[string]runtime.Value{"code": ints(3, 1<<53+1)}},
		}, nil, []string{
			"output code [2] int64",
			"  ort vs go      max abs 0.000e+00  mean abs 0.000e+00  max rel 0.000e+00  worst [1]: 9.007199e+15 vs 9.007199e+15  FAIL (1 of 2 elements)",
		}, "check: 1 comparison(s) failed (atol 1e-05, rtol 1e-05)"},
		{"int64 against float32 of the same values", []checkResult{
			{"ort", []string{"code"}, map[string]runtime.Value{"code": ints(1, 2)}},
			{"go", []string{"code"}, map[string]runtime.Value{"code": vec(1, 2)}},
		}, []runtime.Value{vec(1, 2)}, []string{
			"output code [2] int64",
			"  ort vs go      FAIL: element types differ: int64 against float32",
			"  ort vs expect  FAIL: element types differ: int64 against float32",
			"  go vs expect   max abs 0.000e+00  mean abs 0.000e+00  max rel 0.000e+00  worst [0]: 1 vs 1  PASS",
		}, "check: 2 comparison(s) failed (atol 1e-05, rtol 1e-05)"},
		{"float64 expect for a float32 output", []checkResult{
			{"ort", []string{"y"}, map[string]runtime.Value{"y": vec(0.5, 2)}},
		}, []runtime.Value{{Shape: []int64{2}, Data: []float64{0.5, 2}}}, []string{
			"output y [2]",
			"  ort vs expect  max abs 0.000e+00  mean abs 0.000e+00  max rel 0.000e+00  worst [0]: 0.5 vs 0.5  PASS",
			"all comparisons pass (atol 1e-05, rtol 1e-05)",
		}, ""},
		{"backends with no outputs", []checkResult{{"ort", nil, nil}, {"go", nil, nil}}, nil, nil,
			"check: nothing was compared: the backends gave no outputs (atol 1e-05, rtol 1e-05)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, out, _ := testFactory()
			err := checkReport(&checkOptions{IO: f.IO, Atol: 1e-5, Rtol: 1e-5}, tt.results, nil, tt.expect)
			if got := fmt.Sprint(err); (tt.wantErr == "" && err != nil) || (tt.wantErr != "" && got != tt.wantErr) {
				t.Errorf("error: got %v, want %q", err, tt.wantErr)
			}
			if len(tt.want) == 0 {
				if out.Len() != 0 {
					t.Errorf("got:\n%s\nwant nothing", out)
				}
				return
			}
			matchLines(t, out.String(), tt.want)
		})
	}
}

// TestCheckRunAgainstPyTorchOutputs checks a PyTorch export against
// PyTorch's saved outputs: it passes at the default tolerance and fails,
// naming the failures, at a tolerance no float32 pipeline meets.
func TestCheckRunAgainstPyTorchOutputs(t *testing.T) {
	model := filepath.Join(fixtures, "vae_encoder.opset13.onnx")
	in := filepath.Join(fixtures, "vae_encoder.in0.npy")
	mu, logvar := filepath.Join(fixtures, "vae_encoder.out0.npy"), filepath.Join(fixtures, "vae_encoder.out1.npy")

	f, out, _ := testFactory()
	opts := &checkOptions{IO: f.IO, Model: model, Inputs: []string{in}, Expect: []string{mu, logvar}, Backends: []string{"ort"}, Atol: 1e-5, Rtol: 1e-5}
	if err := checkRun(opts); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 || lines[0] != "output mu [5 4]" || lines[2] != "output logvar [5 4]" || !strings.HasSuffix(lines[1], "PASS") || !strings.HasSuffix(lines[3], "PASS") ||
		lines[4] != "all comparisons pass (atol 1e-05, rtol 1e-05)" {
		t.Errorf("got:\n%s", out)
	}

	// Swapped expectations must fail, and say where.
	f, out, _ = testFactory()
	opts = &checkOptions{IO: f.IO, Model: model, Inputs: []string{in}, Expect: []string{logvar, mu}, Backends: []string{"ort"}, Atol: 1e-5, Rtol: 1e-5}
	err := checkRun(opts)
	if err == nil || err.Error() != "check: 2 comparison(s) failed (atol 1e-05, rtol 1e-05)" {
		t.Errorf("got %v", err)
	}
	if !strings.Contains(out.String(), "FAIL (20 of 20 elements)") {
		t.Errorf("got:\n%s", out)
	}

	// All three backends agree on it, and with PyTorch.
	if !backend.OnnxGoBuilt {
		return // onnx-go is not built in (the onnxgo tag)
	}
	f, out, _ = testFactory()
	opts = &checkOptions{IO: f.IO, Model: model, Inputs: []string{in}, Expect: []string{mu, logvar}, Backends: []string{"ort", "go", "onnx-go"}, Atol: 1e-5, Rtol: 1e-5}
	if err := checkRun(opts); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := strings.Count(out.String(), "PASS"); n != 12 {
		t.Errorf("got %d passing comparisons, want 12 (3 pairs and 3 against PyTorch, for 2 outputs):\n%s", n, out)
	}
}

// TestCheckRunScalesUint8Input checks that check feeds a uint8 input to a
// model trained here divided by 255, as run does: both backends match the
// output run gives for the input divided by 255 in float32 (unscaled, the
// check fails).
func TestCheckRunScalesUint8Input(t *testing.T) {
	dir := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 16, Hidden: []int{8}, Latent: 3}))
	tmp := t.TempDir()
	raw, scaled := make([]uint8, 2*16), make([]float32, 2*16)
	for i := range raw {
		raw[i] = uint8(250 - 17*i)
		scaled[i] = float32(raw[i]) / 255
	}
	u8, f32 := filepath.Join(tmp, "u8.npy"), filepath.Join(tmp, "f32.npy")
	writeUint8NPY(t, u8, []int{2, 16}, raw)
	writeNPYArray(t, f32, []int{2, 16}, scaled)
	want, _ := runOutput(t, filepath.Join(dir, "model.onnx"), false, f32)
	expect := filepath.Join(tmp, "expect.npy")
	writeNPYArray(t, expect, want.Shape, want.Data)

	f, out, errOut := testFactory()
	opts := &checkOptions{IO: f.IO, Model: dir, Inputs: []string{u8}, Expect: []string{expect}, Backends: []string{"ort", "go"}, Atol: 1e-5, Rtol: 1e-5}
	if err := checkRun(opts); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got, want := errOut.String(), u8+": uint8 values divided by 255 for input \"x\", as "+filepath.Join(dir, "model.onnx")+" asks (--raw-input feeds them unscaled)\n"; got != want {
		t.Errorf("stderr: got %q, want %q", got, want)
	}
}

// TestCheckRunOnnxGoNotBuilt checks that a binary without onnx-go (no
// onnxgo tag, as released) says so when onnx-go is named, and fails the
// check unless skipping is allowed.
func TestCheckRunOnnxGoNotBuilt(t *testing.T) {
	if backend.OnnxGoBuilt {
		t.Skip("onnx-go is built in (the onnxgo tag): TestCheckRun covers this build")
	}
	model, in := filepath.Join(fixtures, "mlp_ae.opset13.onnx"), filepath.Join(fixtures, "mlp_ae.in0.npy")
	f, out, _ := testFactory()
	opts := &checkOptions{IO: f.IO, Model: model, Inputs: []string{in}, Backends: []string{"ort", "go", "onnx-go"}, BackendsGiven: true, Atol: 1e-5, Rtol: 1e-5}
	err := checkRun(opts)
	want := "check: onnx-go named in --backends could not run, and --allow-skip was not given (atol 1e-05, rtol 1e-05)"
	if fmt.Sprint(err) != want {
		t.Errorf("error: got %v, want %q", err, want)
	}
	if !strings.Contains(out.String(), "backend onnx-go SKIPPED: onnx-go is not built into this binary (build with -tags onnxgo)") {
		t.Errorf("got:\n%s", out)
	}
}

// TestCheckRunElementTypes checks models with int64 and uint8 edges
// (testdata/dtypes) through ONNX Runtime and the Go graph: int64 outputs
// compared exactly and passing, a backend that cannot hold uint8 reported
// and failing the check, an --expect of another element type failing, and
// (N, 8, 8) samples fed to a (batch, 64) model as run feeds them.
func TestCheckRunElementTypes(t *testing.T) {
	d := func(name string) string { return filepath.Join(dtypesDir, name) }
	code := readTyped(t, d("code.npy"))
	codeF32 := writeTyped(t, t.TempDir(), "code_f32.npy", &npy.Typed{Shape: code.Shape, DType: "float32", Data: code.Float32s()})
	x := readNPY(t, filepath.Join(fixtures, "mlp_ae.in0.npy"))
	img := filepath.Join(t.TempDir(), "img.npy")
	if err := npy.WriteFile(img, []int{x.Shape[0], 8, 8}, x.Data); err != nil {
		t.Fatal(err)
	}
	finitePass := "max abs {e}  mean abs {e}  max rel {e}  worst {idx}: {g} vs {g}  PASS"
	exactPass := "max abs 0.000e+00  mean abs 0.000e+00  max rel 0.000e+00  worst {idx}: {g} vs {g}  PASS (exact)"
	tests := []struct {
		name    string
		opts    checkOptions
		want    []string
		wantErr string
	}{
		{"int64 labels in, int64 out, ort and go", checkOptions{Model: d("labels.onnx"), Inputs: []string{d("label.npy"), d("x.npy")}, Expect: []string{d("y.npy"), d("code.npy")}, Backends: []string{"ort", "go"}, BackendsGiven: true}, []string{
			"output y [5 4]",
			"  ort vs go      " + finitePass,
			"  ort vs expect  " + finitePass,
			"  go vs expect   " + finitePass,
			"output code [5 4] int64",
			"  ort vs go      " + exactPass,
			"  ort vs expect  " + exactPass,
			"  go vs expect   " + exactPass,
			"all comparisons pass (atol 1e-05, rtol 1e-05)",
		}, ""},
		{"an int64 output against a float32 expect", checkOptions{Model: d("labels.onnx"), Inputs: []string{d("label.npy"), d("x.npy")}, Expect: []string{d("y.npy"), codeF32}, Backends: []string{"ort"}, BackendsGiven: true}, []string{
			"output y [5 4]",
			"  ort vs expect  " + finitePass,
			"output code [5 4] int64",
			"  ort vs expect  FAIL: element types differ: int64 against float32",
		}, "check: 1 comparison(s) failed (atol 1e-05, rtol 1e-05)"},
		{"a uint8 image out: the go graph cannot run it", checkOptions{Model: d("dtypes.onnx"), Inputs: []string{d("label.npy")}, Expect: []string{d("emb.npy"), d("img.npy")}, Backends: []string{"ort", "go"}, BackendsGiven: true}, []string{
			"backend go SKIPPED: {*}dtypes.onnx{*}",
			"output emb [5 4]",
			"  ort vs expect  " + finitePass,
			"output img [5 4] uint8",
			"  ort vs expect  " + exactPass,
		}, "check: go named in --backends could not run, and --allow-skip was not given (atol 1e-05, rtol 1e-05)"},
		{"(N, 8, 8) samples for a (batch, 64) model", checkOptions{Model: filepath.Join(fixtures, "mlp_ae.opset13.onnx"), Inputs: []string{img}, Expect: []string{filepath.Join(fixtures, "mlp_ae.out0.npy")}, Backends: []string{"ort", "go"}, BackendsGiven: true}, []string{
			"output y [5 64]",
			"  ort vs go      " + finitePass,
			"  ort vs expect  " + finitePass,
			"  go vs expect   " + finitePass,
			"all comparisons pass (atol 1e-05, rtol 1e-05)",
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, out, _ := testFactory()
			opts := tt.opts
			opts.IO, opts.Atol, opts.Rtol = f.IO, 1e-5, 1e-5
			err := checkRun(&opts)
			if got := fmt.Sprint(err); (tt.wantErr == "" && err != nil) || (tt.wantErr != "" && got != tt.wantErr) {
				t.Errorf("error: got %v, want %q", err, tt.wantErr)
			}
			matchLines(t, out.String(), tt.want)
		})
	}
}
