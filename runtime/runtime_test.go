package runtime

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aebridge/aebridge/internal/npy"
)

const fixtures = "../testdata/pytorch"

type manifest struct {
	Opsets []int `json:"opsets"`
	Models []struct {
		Name   string            `json:"name"`
		Inputs []fixtureIO       `json:"inputs"`
		Output []fixtureIO       `json:"outputs"`
		Files  map[string]string `json:"files"`
	} `json:"models"`
}

type fixtureIO struct {
	Name string `json:"name"`
	File string `json:"file"`
}

func readManifest(t *testing.T, dir string) manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Models) == 0 {
		t.Fatal("manifest lists no models")
	}
	return m
}

func readTensor(t *testing.T, path string) Tensor {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	shape := make([]int64, len(a.Shape))
	for i, d := range a.Shape {
		shape[i] = int64(d)
	}
	return Tensor{Shape: shape, Data: a.Data}
}

// open opens a model, failing the test if ONNX Runtime cannot be loaded:
// make test installs it, and a silent skip would hide a broken setup.
func open(t *testing.T, path string, opts ...Option) *Model {
	t.Helper()
	m, err := Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// allClose reports the worst element where |got − want| > atol + rtol·|want|
// (Polygraphy's rule), with the largest absolute difference.
func allClose(t *testing.T, what string, got, want Tensor, atol, rtol float64) {
	t.Helper()
	if !slices.Equal(got.Shape, want.Shape) {
		t.Fatalf("%s: shape: got %v, want %v", what, got.Shape, want.Shape)
	}
	worst, maxDiff := -1, 0.0
	for i := range got.Data {
		d := math.Abs(float64(got.Data[i]) - float64(want.Data[i]))
		if d > maxDiff || math.IsNaN(d) {
			maxDiff = d
		}
		if !(d <= atol+rtol*math.Abs(float64(want.Data[i]))) && worst < 0 {
			worst = i
		}
	}
	if worst >= 0 {
		t.Errorf("%s: element %d: got %v, want %v (max |Δ| = %.3g)", what, worst, got.Data[worst], want.Data[worst], maxDiff)
	}
}

func TestPyTorchFixturesMatchInONNXRuntime(t *testing.T) {
	checkFixtures(t, fixtures, fixtures)
}

// checkFixtures runs every model of the manifest in onnxDir on the inputs in
// refDir and compares with PyTorch's outputs saved in refDir.
func checkFixtures(t *testing.T, onnxDir, refDir string) {
	man := readManifest(t, onnxDir)
	for _, fm := range man.Models {
		var inputs, want []Tensor
		for _, in := range fm.Inputs {
			inputs = append(inputs, readTensor(t, filepath.Join(refDir, in.File)))
		}
		for _, out := range fm.Output {
			want = append(want, readTensor(t, filepath.Join(refDir, out.File)))
		}
		for _, opset := range man.Opsets {
			file, ok := fm.Files[itoa(opset)]
			if !ok {
				continue // PyTorch could not export this model at this opset
			}
			t.Run(file, func(t *testing.T) {
				m := open(t, filepath.Join(onnxDir, file))
				if got := m.Info().Opsets[0].Version; got != int64(opset) {
					t.Errorf("opset: got %d, want %d", got, opset)
				}
				got, err := m.Run(inputs...)
				if err != nil {
					t.Fatal(err)
				}
				for j := range want {
					allClose(t, fm.Output[j].Name, got[j], want[j], 1e-5, 1e-5)
				}
			})
		}
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// TestLiveExportMatchesFixtures re-exports the fixtures with the installed
// PyTorch and checks that PyTorch's fresh outputs and ONNX Runtime on the
// fresh exports still match the committed references.
func TestLiveExportMatchesFixtures(t *testing.T) {
	py := os.Getenv("AEBRIDGE_PYTHON")
	if py == "" {
		t.Skip("AEBRIDGE_PYTHON not set (make test sets it to /usr/bin/python3)")
	}
	dir := t.TempDir()
	cmd := exec.Command(py, filepath.Join(fixtures, "make_fixtures.py"), "--out", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make_fixtures.py: %v\n%s", err, out)
	}
	man := readManifest(t, dir)
	for _, fm := range man.Models {
		for _, f := range append(fm.Inputs, fm.Output...) {
			allClose(t, "fresh "+f.File, readTensor(t, filepath.Join(dir, f.File)), readTensor(t, filepath.Join(fixtures, f.File)), 1e-6, 1e-6)
		}
	}
	checkFixtures(t, dir, fixtures)
}

func TestDynamoExportsWithExternalData(t *testing.T) {
	for _, name := range []string{"dynamo_mlp_ae", "dynamo_conv_bn_ae"} {
		t.Run(name, func(t *testing.T) {
			dir := "../testdata/torch2-dynamo"
			m := open(t, filepath.Join(dir, name+".onnx"))
			info := m.Info()
			if info.IRVersion != 10 || info.Opsets[0].Version != 20 {
				t.Errorf("IR %d opset %v, want IR 10 opset 20", info.IRVersion, info.Opsets)
			}
			if len(info.ExternalData) != 1 || info.ExternalData[0] != name+".onnx.data" {
				t.Errorf("external data: got %v", info.ExternalData)
			}
			x := readTensor(t, filepath.Join(dir, name+".in0.npy"))
			got, err := m.Reconstruct(x)
			if err != nil {
				t.Fatal(err)
			}
			allClose(t, "y", got, readTensor(t, filepath.Join(dir, name+".out0.npy")), 1e-5, 1e-5)
		})
	}
}

func TestOpenRefusesExternalDataOutsideFolder(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../testdata/torch2-dynamo/dynamo_mlp_ae.onnx")
	if err != nil {
		t.Fatal(err)
	}
	// Same length as the real name, so the protobuf stays well formed.
	bad := strings.ReplaceAll(string(src), "dynamo_mlp_ae.onnx.data", "../../../../../etc/pass")
	path := filepath.Join(dir, "evil.onnx")
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(path)
	if err == nil || !strings.Contains(err.Error(), "leaves the model's folder") {
		t.Errorf("got %v, want a refusal naming the escaping location", err)
	}
}

func TestInspectDescribesFixture(t *testing.T) {
	info, err := Inspect(filepath.Join(fixtures, "mlp_ae.opset13.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	// 64·32+32 + 32·8+8 + 8·32+32 + 32·64+64
	const params = 4744
	if info.Parameters != params {
		t.Errorf("parameters: got %d, want %d", info.Parameters, params)
	}
	if info.Producer != "pytorch" || len(info.Opsets) != 1 || info.Opsets[0].Version != 13 {
		t.Errorf("producer %q opsets %v, want pytorch, opset 13", info.Producer, info.Opsets)
	}
	wantOps := map[string]int{"Gemm": 4, "Relu": 3, "Sigmoid": 1}
	for op, n := range wantOps {
		if info.Ops[op] != n {
			t.Errorf("ops[%s]: got %d, want %d (all: %v)", op, info.Ops[op], n, info.Ops)
		}
	}
	if len(info.Inputs) != 1 || info.Inputs[0].ShapeString() != "[batch 64]" || info.Inputs[0].Type != "float32" {
		t.Errorf("inputs: got %+v, want x [batch 64] float32", info.Inputs)
	}
}

func TestRunRejectsBadInputsBeforeONNXRuntime(t *testing.T) {
	mlp := open(t, filepath.Join(fixtures, "mlp_ae.opset13.onnx"), WithFiniteCheck())
	cvae := open(t, filepath.Join(fixtures, "cvae_decoder.opset13.onnx"))
	nan := make([]float32, 64)
	nan[7] = float32(math.NaN())
	tests := []struct {
		name    string
		run     func() error
		wantSub string
	}{
		{"inner dimension", func() error { _, err := mlp.Run(Tensor{Shape: []int64{2, 63}, Data: make([]float32, 126)}); return err },
			`input "x": dimension 1 is 63, want 64 (model expects [batch 64], given [2 63])`},
		{"rank", func() error { _, err := mlp.Run(Tensor{Shape: []int64{128}, Data: make([]float32, 128)}); return err },
			`input "x": rank 1, want 2 (model expects [batch 64], given [128])`},
		{"element count", func() error { _, err := mlp.Run(Tensor{Shape: []int64{2, 64}, Data: make([]float32, 100)}); return err },
			`input "x": shape [2 64] holds 128 elements, but 100 values were given`},
		{"NaN", func() error { _, err := mlp.Run(Tensor{Shape: []int64{1, 64}, Data: nan}); return err },
			`input "x": element 7 is NaN`},
		{"input count", func() error { _, err := cvae.Run(Tensor{Shape: []int64{1, 4}, Data: make([]float32, 4)}); return err },
			`takes 2 inputs ("z" [batch 4], "c" [batch 10]), given 1`},
		{"missing name", func() error {
			_, err := cvae.RunNamed(map[string]Tensor{"z": {Shape: []int64{1, 4}, Data: make([]float32, 4)}})
			return err
		}, `input "c": missing`},
		{"unknown name", func() error {
			_, err := cvae.RunNamed(map[string]Tensor{"z": {Shape: []int64{1, 4}, Data: make([]float32, 4)}, "c": {Shape: []int64{1, 10}, Data: make([]float32, 10)}, "label": {}})
			return err
		}, `input "label": the model has no such input`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("got %v, want error containing %q", err, tt.wantSub)
			}
		})
	}
}

func TestBatchedRunEqualsOneRun(t *testing.T) {
	for _, name := range []string{"conv_upsample_ae", "vae_encoder", "cvae_decoder"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(fixtures, name+".opset17.onnx")
			whole := open(t, path)
			batched := open(t, path, WithBatchSize(2))
			man := readManifest(t, fixtures)
			var inputs []Tensor
			for _, fm := range man.Models {
				if fm.Name == name {
					for _, in := range fm.Inputs {
						inputs = append(inputs, readTensor(t, filepath.Join(fixtures, in.File)))
					}
				}
			}
			want, err := whole.Run(inputs...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := batched.Run(inputs...)
			if err != nil {
				t.Fatal(err)
			}
			for j := range want {
				allClose(t, "output", got[j], want[j], 1e-6, 0)
			}
		})
	}
}

func TestConcurrentRunsAgree(t *testing.T) {
	m := open(t, filepath.Join(fixtures, "conv_transposed_ae.opset13.onnx"), WithThreads(1))
	x := readTensor(t, filepath.Join(fixtures, "conv_transposed_ae.in0.npy"))
	want, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				got, err := m.Run(x)
				if err != nil {
					errs <- err
					return
				}
				for k := range got[0].Data {
					if got[0].Data[k] != want[0].Data[k] {
						errs <- errors.New("a concurrent run gave a different output")
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCUDAUnavailable(t *testing.T) {
	path := filepath.Join(fixtures, "mlp_ae.opset13.onnx")
	lib, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range lib.Providers {
		if p == "cuda" {
			t.Skip("this ONNX Runtime library has a CUDA provider")
		}
	}
	_, err = Open(path, WithCUDA(0))
	if !errors.Is(err, ErrNoCUDA) || !strings.Contains(err.Error(), "CUDA was requested, but the ONNX Runtime library") {
		t.Fatalf("got %v, want an error wrapping ErrNoCUDA that says so", err)
	}
	m := open(t, path, WithCUDA(0), WithCPUFallback())
	if m.Provider() != CPU || !errors.Is(m.Fallback(), ErrNoCUDA) {
		t.Errorf("provider %s, fallback %v; want cpu and the reason", m.Provider(), m.Fallback())
	}
	got, err := m.Run(readTensor(t, filepath.Join(fixtures, "mlp_ae.in0.npy")))
	if err != nil {
		t.Fatal(err)
	}
	allClose(t, "y", got[0], readTensor(t, filepath.Join(fixtures, "mlp_ae.out0.npy")), 1e-5, 1e-5)
}

func TestRunAfterCloseFails(t *testing.T) {
	m, err := Open(filepath.Join(fixtures, "mlp_ae.opset13.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(Tensor{Shape: []int64{1, 64}, Data: make([]float32, 64)}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("got %v, want a closed-model error", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestScoresClosedForm(t *testing.T) {
	x := Tensor{Shape: []int64{2, 2}, Data: []float32{0, 1, 0.5, 0.25}}
	xhat := Tensor{Shape: []int64{2, 2}, Data: []float32{0.5, 0.5, 0.5, 0.75}}
	bce0 := -(math.Log(0.5) + math.Log(0.5)) / 2
	bce1 := -((0.5*math.Log(0.5) + 0.5*math.Log(0.5)) + (0.25*math.Log(0.75) + 0.75*math.Log(0.25))) / 2
	tests := []struct {
		metric Metric
		want   []float64
	}{
		{MSE, []float64{0.25, 0.125}},
		{MAE, []float64{0.5, 0.25}},
		{L2, []float64{math.Sqrt(0.5), math.Sqrt(0.25)}},
		{BCE, []float64{bce0, bce1}},
	}
	for _, tt := range tests {
		t.Run(string(tt.metric), func(t *testing.T) {
			got, err := Scores(x, xhat, tt.metric)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				if !(math.Abs(float64(got[i])-tt.want[i]) <= 1e-6) {
					t.Errorf("sample %d: got %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
	// Saturated reconstructions give PyTorch's clamped value, 100 per element.
	got, err := Scores(Tensor{Shape: []int64{1, 1}, Data: []float32{1}}, Tensor{Shape: []int64{1, 1}, Data: []float32{0}}, BCE)
	if err != nil || got[0] != 100 {
		t.Errorf("saturated BCE: got %v, %v; want 100", got, err)
	}
	if _, err := Scores(Tensor{Shape: []int64{1, 1}, Data: []float32{2}}, Tensor{Shape: []int64{1, 1}, Data: []float32{0.5}}, BCE); err == nil || !strings.Contains(err.Error(), "element 0 is 2") {
		t.Errorf("BCE outside [0,1]: got %v", err)
	}
}

func TestScoreMatchesReferenceReconstruction(t *testing.T) {
	x := readTensor(t, filepath.Join(fixtures, "mlp_ae.in0.npy"))
	ref := readTensor(t, filepath.Join(fixtures, "mlp_ae.out0.npy"))
	// In batches of 2 (through Reconstruct), and in one call into pooled
	// memory, each metric twice so that the second call reuses the first's.
	for _, opts := range [][]Option{{WithBatchSize(2)}, nil} {
		m := open(t, filepath.Join(fixtures, "mlp_ae.opset17.onnx"), opts...)
		for _, metric := range []Metric{MSE, MAE, BCE, MSE, MAE, BCE} {
			got, err := m.Score(x, metric)
			if err != nil {
				t.Fatal(err)
			}
			want, err := Scores(x, ref, metric)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if !(math.Abs(float64(got[i]-want[i])) <= 1e-5*(1+math.Abs(float64(want[i])))) {
					t.Errorf("%s sample %d: got %v, want %v", metric, i, got[i], want[i])
				}
			}
		}
	}
}

func TestFindLibrary(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "repo")
	lib := filepath.Join(repo, SetupPath)
	if err := os.MkdirAll(filepath.Dir(lib), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lib, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sys := filepath.Join(root, "sys")
	os.MkdirAll(sys, 0o755)
	sysLib := filepath.Join(sys, "libonnxruntime.so")
	os.WriteFile(sysLib, nil, 0o644)
	deep := filepath.Join(repo, "runtime", "sub")
	os.MkdirAll(deep, 0o755)
	elsewhere := filepath.Join(root, "elsewhere")
	os.MkdirAll(elsewhere, 0o755)

	tests := []struct {
		name            string
		explicit, env   string
		starts, dirs    []string
		want, wantErrIn string
	}{
		{name: "explicit wins", explicit: sysLib, env: "/nope", starts: []string{deep}, want: sysLib},
		{name: "explicit missing", explicit: "/no/lib.so", starts: []string{deep}, wantErrIn: "/no/lib.so does not exist"},
		{name: "env", env: sysLib, starts: []string{deep}, want: sysLib},
		{name: "env missing", env: "/no/env.so", wantErrIn: "$ONNXRUNTIME_SHARED_LIBRARY_PATH names /no/env.so, which does not exist"},
		{name: "setup copy above working dir", starts: []string{deep}, dirs: []string{sys}, want: lib},
		{name: "system dir", starts: []string{elsewhere}, dirs: []string{sys}, want: sysLib},
		{name: "none", starts: []string{elsewhere}, dirs: []string{elsewhere}, wantErrIn: filepath.Join(elsewhere, "libonnxruntime.so.1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findLibrary(tt.explicit, tt.env, tt.starts, tt.dirs)
			if tt.wantErrIn != "" {
				var le *LibraryError
				if !errors.As(err, &le) || !strings.Contains(err.Error(), tt.wantErrIn) || !strings.Contains(err.Error(), "make setup") {
					t.Errorf("got %v, want a LibraryError mentioning %q and make setup", err, tt.wantErrIn)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestSampleAndInterpolateWithPyTorchExports runs the helpers on the
// PyTorch fixtures: the conditional decoder (z, c → x̂) and, as an encoder
// whose μ has the decoder's code size, the VAE encoder.
func TestSampleAndInterpolateWithPyTorchExports(t *testing.T) {
	dec := open(t, filepath.Join(fixtures, "cvae_decoder.opset13.onnx"))
	enc := open(t, filepath.Join(fixtures, "vae_encoder.opset13.onnx"))
	z, x, err := dec.Sample(6, 3, 42)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(z.Shape, []int64{6, 4}) || !slices.Equal(x.Shape, []int64{6, 64}) {
		t.Fatalf("shapes: z %v, x %v", z.Shape, x.Shape)
	}
	// The same codes run by hand give the same samples.
	c, _ := dec.condition(1, 6, 3)
	want, err := dec.Run(z, c)
	if err != nil {
		t.Fatal(err)
	}
	allClose(t, "samples", x, want[0], 0, 0)
	if _, _, err := dec.Sample(2, -1, 1); err == nil || !strings.Contains(err.Error(), "is conditional") {
		t.Errorf("no class for a conditional decoder: got %v", err)
	}
	if _, _, err := dec.Sample(2, 10, 1); err == nil || !strings.Contains(err.Error(), "class 10 is outside the condition's 10 classes") {
		t.Errorf("class out of range: got %v", err)
	}

	in := readTensor(t, filepath.Join(fixtures, "vae_encoder.in0.npy"))
	a := Tensor{Shape: []int64{64}, Data: in.Data[:64]}
	b := Tensor{Shape: []int64{1, 64}, Data: in.Data[64:128]}
	zs, xs, err := Interpolate(enc, dec, a, b, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	mu := readTensor(t, filepath.Join(fixtures, "vae_encoder.out0.npy"))
	// The ends are the codes PyTorch computed; the middle is their mean.
	allClose(t, "first code", Tensor{Shape: []int64{4}, Data: zs.Data[:4]}, Tensor{Shape: []int64{4}, Data: mu.Data[:4]}, 1e-5, 1e-5)
	allClose(t, "last code", Tensor{Shape: []int64{4}, Data: zs.Data[16:]}, Tensor{Shape: []int64{4}, Data: mu.Data[4:8]}, 1e-5, 1e-5)
	for j := 0; j < 4; j++ {
		if m := (mu.Data[j] + mu.Data[4+j]) / 2; !(math.Abs(float64(zs.Data[8+j]-m)) <= 1e-6) {
			t.Errorf("middle code %d: got %v, want %v", j, zs.Data[8+j], m)
		}
	}
	if !slices.Equal(xs.Shape, []int64{5, 64}) {
		t.Errorf("decoded shape %v", xs.Shape)
	}
}
