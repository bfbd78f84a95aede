package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/safetensors"
	"github.com/aebridge/aebridge/trainer"
)

func TestNewCmdExport(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    exportOptions
		wantErr string
	}{
		{name: "onnx", args: []string{"d", "--out", "m.onnx"}, want: exportOptions{Dir: "d", Out: "m.onnx", Part: "full", Opset: 13}},
		{name: "pytorch", args: []string{"d", "--pytorch", "pt"}, want: exportOptions{Dir: "d", PyTorch: "pt", Part: "full", Opset: 13}},
		{name: "neither", args: []string{"d"}, wantErr: "--out FILE.onnx or --pytorch OUT/ is required"},
		{name: "pytorch and out", args: []string{"d", "--pytorch", "pt", "--out", "m.onnx"}, wantErr: "--pytorch OUT/ takes no --out, --part or --opset"},
		{name: "pytorch and opset", args: []string{"d", "--pytorch", "pt", "--opset", "17"}, wantErr: "--pytorch OUT/ takes no --out, --part or --opset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseArgs(t, newCmdExport, tt.args, tt.wantErr)
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

// TestExportRunPyTorch writes the package of a model trained here and of
// one imported with convert, and checks the report, that the weights are
// the model's under its state-dict names (renamed ones as model.py's
// GRAPH_NAMES says), and the recipe train.py carries.
func TestExportRunPyTorch(t *testing.T) {
	vae := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "vae", Input: 8, Hidden: []int{6}, Latent: 2, Loss: trainer.BCE}))
	imported := filepath.Join(t.TempDir(), "imported")
	f, _, _ := testFactory()
	if err := convertRun(&convertOptions{IO: f.IO, Source: filepath.Join(fixtures, "activations_ae.opset17.onnx"), Out: imported, Opset: 13}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, wantOut string
		renamed            map[string]string
		recipe             []string
	}{
		{name: "trained vae", dir: vae, wantOut: "wrote %s: model.py, train.py, model.safetensors (10 tensors), README.md\n",
			recipe: []string{`"loss": "bce"`, `"optimizer": "adam"`, `"lr": 0.001`, `"batch": 8`, `"kl_weight": 1`}},
		{name: "imported", dir: imported, wantOut: "wrote %s: model.py, train.py, model.safetensors (23 tensors), README.md\n7 parameter(s) renamed in the state dict (model.py's GRAPH_NAMES)\n",
			renamed: map[string]string{"encoder_encoder_1_Constant_output_0": "/encoder/encoder.1/Constant_output_0"},
			recipe:  []string{`"optimizer": "adam"`, `"batch": 64`, "no training configuration is recorded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "pt")
			f, stdout, _ := testFactory()
			if err := exportRun(&exportOptions{IO: f.IO, Dir: tt.dir, PyTorch: out}); err != nil {
				t.Fatal(err)
			}
			if got, want := stdout.String(), fmt.Sprintf(tt.wantOut, out); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
			got, _, err := safetensors.ReadFile(filepath.Join(out, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			m, _, err := trainer.Load(tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			model, err := os.ReadFile(filepath.Join(out, "model.py"))
			if err != nil {
				t.Fatal(err)
			}
			graphName := map[string]string{}
			for key := range got {
				graphName[key] = key
			}
			for _, kv := range regexp.MustCompile(`(?m)^    "([^"]+)": "([^"]+)",$`).FindAllStringSubmatch(string(model), -1) {
				graphName[kv[1]] = kv[2]
			}
			sd := m.StateDict()
			for key, g := range got {
				w, ok := sd[graphName[key]]
				if !ok || !reflect.DeepEqual(g.Data, w.Data) {
					t.Errorf("tensor %s: got %v, want the model's %s %v", key, g.Data, graphName[key], w.Data)
				}
			}
			for key, name := range tt.renamed {
				if line := fmt.Sprintf("%q: %q,", key, name); !bytes.Contains(model, []byte(line)) {
					t.Errorf("model.py: no %s in GRAPH_NAMES", line)
				}
			}
			train, err := os.ReadFile(filepath.Join(out, "train.py"))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.recipe {
				if !bytes.Contains(train, []byte(s)) {
					t.Errorf("train.py: no %s", s)
				}
			}
		})
	}
}

// freePort returns a TCP port of the loopback interface nobody listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// launchRanks starts train.py of pkg as world processes, as torchrun would
// (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT; Debian's
// torchrun itself crashes under Python 3.11), and waits for all of them.
func launchRanks(t *testing.T, py, pkg string, world int, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	port := freePort(t)
	var wg sync.WaitGroup
	errs := make([]error, world)
	logs := make([]bytes.Buffer, world)
	for r := 0; r < world; r++ {
		cmd := exec.CommandContext(ctx, py, append([]string{filepath.Join(pkg, "train.py")}, args...)...)
		cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "MASTER_ADDR=127.0.0.1", fmt.Sprintf("MASTER_PORT=%d", port),
			fmt.Sprintf("RANK=%d", r), fmt.Sprintf("LOCAL_RANK=%d", r), fmt.Sprintf("WORLD_SIZE=%d", world))
		cmd.Stdout, cmd.Stderr = &logs[r], &logs[r]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs[r] = cmd.Wait() }()
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d of %d: %v\n%s", r, world, err, logs[r].String())
		}
	}
}

// ddpData writes n rows of d values in [0, 1] as x.npy in dir.
func ddpData(t *testing.T, dir string, n, d int) string {
	t.Helper()
	xs := make([]float32, n*d)
	for i := range xs {
		xs[i] = float32((i*7)%11) / 10
	}
	p := filepath.Join(dir, "x.npy")
	writeNPYArray(t, p, []int{n, d}, xs)
	return p
}

// TestExportPyTorchTrainsOnTwoRanks exports a VAE trained here, trains it
// a few steps on two processes (gloo over loopback) from the exported
// weights, and brings the ONNX file train.py writes back with convert:
// check passes on it (ONNX Runtime and the Go backend agree), and the
// weights moved from the exported ones.
func TestExportPyTorchTrainsOnTwoRanks(t *testing.T) {
	py := pythonForTest(t)
	dir := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "vae", Input: 8, Hidden: []int{6}, Latent: 2, Loss: trainer.BCE}))
	tmp := t.TempDir()
	pkg, run, back := filepath.Join(tmp, "pt"), filepath.Join(tmp, "run"), filepath.Join(tmp, "back")
	f, _, _ := testFactory()
	if err := exportRun(&exportOptions{IO: f.IO, Dir: dir, PyTorch: pkg}); err != nil {
		t.Fatal(err)
	}
	x := ddpData(t, tmp, 32, 8)
	launchRanks(t, py, pkg, 2, "--data", x, "--out", run, "--epochs", "2", "--batch", "8", "--lr", "0.01")
	b, err := os.ReadFile(filepath.Join(run, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var last struct {
		Epoch     int     `json:"epoch"`
		WorldSize int     `json:"world_size"`
		TrainLoss float64 `json:"train_loss"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || last.Epoch != 2 || last.WorldSize != 2 || !(last.TrainLoss > 0) {
		t.Errorf("metrics.jsonl: got %q, want 2 epochs on world size 2 with a positive loss", b)
	}
	start, _, err := safetensors.ReadFile(filepath.Join(pkg, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	end, _, err := safetensors.ReadFile(filepath.Join(run, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if moved := maxDiff(t, start, end); !(moved > 1e-4) {
		t.Errorf("weights moved by at most %g in 8 steps, want more than 1e-4", moved)
	}
	// check on PyTorch's ONNX file (ONNX Runtime against the Go backend),
	// convert (which checks its graph against ONNX Runtime before writing),
	// and check on the converted model exported again.
	onnxFile := filepath.Join(run, "model.onnx")
	checkPasses(t, onnxFile, x)
	f, stdout, _ := testFactory()
	if err := convertRun(&convertOptions{IO: f.IO, Source: onnxFile, Out: back, Opset: 13}); err != nil {
		t.Fatalf("convert: %v\n%s", err, stdout.String())
	}
	f, _, _ = testFactory()
	if err := exportRun(&exportOptions{IO: f.IO, Dir: back, Out: filepath.Join(back, "model.onnx"), Part: "full", Opset: 13}); err != nil {
		t.Fatal(err)
	}
	checkPasses(t, back, x)
}

// checkPasses runs check on model with both backends and fails the test
// unless it passes.
func checkPasses(t *testing.T, model, x string) {
	t.Helper()
	f, stdout, _ := testFactory()
	if err := checkRun(&checkOptions{IO: f.IO, Model: model, Inputs: []string{x}, Backends: []string{"ort", "go"}, BackendsGiven: true, Atol: 1e-5, Rtol: 1e-5}); err != nil {
		t.Fatalf("check %s: %v\n%s", model, err, stdout.String())
	}
	t.Logf("check %s:\n%s", model, stdout.String())
	if !strings.Contains(stdout.String(), "PASS") {
		t.Errorf("check %s: got %q, want a PASS", model, stdout.String())
	}
}

// TestExportPyTorchDDPStepEqualsOneProcess takes one SGD step on two
// ranks, each on half of a batch of 8, and one step on one process on the
// whole batch: the weights agree to float32 rounding, and the step moved
// them by far more than that.
func TestExportPyTorchDDPStepEqualsOneProcess(t *testing.T) {
	py := pythonForTest(t)
	c := mlpConfig(t, trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{6}, Latent: 3, Activation: "tanh", Loss: trainer.MSE})
	m, err := trainer.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	dir := t.TempDir()
	tc := &trainer.TrainConfig{Optimizer: trainer.OptimizerConfig{Name: "sgd", LR: 0.5}, Epochs: 1, Batch: 8, Seed: 1}
	if err := trainer.Save(dir, m, tc); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	pkg := filepath.Join(tmp, "pt")
	f, _, _ := testFactory()
	if err := exportRun(&exportOptions{IO: f.IO, Dir: dir, PyTorch: pkg}); err != nil {
		t.Fatal(err)
	}
	x := ddpData(t, tmp, 8, 8)
	args := []string{"--data", x, "--steps", "1", "--no-shuffle", "--no-onnx", "--out"}
	launchRanks(t, py, pkg, 2, append(args, filepath.Join(tmp, "ddp"))...)
	launchRanks(t, py, pkg, 1, append(args, filepath.Join(tmp, "one"))...)
	read := func(p string) map[string]safetensors.Tensor {
		ts, _, err := safetensors.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	start, ddp, one := read(filepath.Join(pkg, "model.safetensors")), read(filepath.Join(tmp, "ddp", "model.safetensors")), read(filepath.Join(tmp, "one", "model.safetensors"))
	for name, w := range one {
		d := ddp[name]
		for i := range w.Data {
			if diff := math.Abs(float64(d.Data[i] - w.Data[i])); !(diff <= 1e-6*(1+math.Abs(float64(w.Data[i])))) {
				t.Fatalf("%s[%d]: got %v after the DDP step, want %v (one process)", name, i, d.Data[i], w.Data[i])
			}
		}
	}
	if moved := maxDiff(t, start, one); !(moved > 1e-3) {
		t.Errorf("the step moved the weights by at most %g, want more than 1e-3", moved)
	}
}

// maxDiff is the largest difference between the tensors of a and b of the
// same name; every tensor of a must be in b with its size.
func maxDiff(t *testing.T, a, b map[string]safetensors.Tensor) float64 {
	t.Helper()
	worst := 0.0
	for name, x := range a {
		y, ok := b[name]
		if !ok || len(y.Data) != len(x.Data) {
			t.Fatalf("tensor %s: missing or resized", name)
		}
		for i := range x.Data {
			worst = max(worst, math.Abs(float64(x.Data[i]-y.Data[i])))
		}
	}
	return worst
}

// pythonForTest returns AEBRIDGE_PYTHON; under CI a missing one fails the
// test, elsewhere it skips it.
func pythonForTest(t *testing.T) string {
	t.Helper()
	py := os.Getenv("AEBRIDGE_PYTHON")
	if py == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("AEBRIDGE_PYTHON is not set: CI must run this test against PyTorch (make test sets it)")
		}
		t.Skip("AEBRIDGE_PYTHON not set (make test sets it): train.py not run")
	}
	return py
}

// TestExportRunPyTorchUnsupported exports a graph model with a node the
// generator does not write: the error names the node and the directory,
// and nothing is written.
func TestExportRunPyTorchUnsupported(t *testing.T) {
	g := &graph.Graph{
		Inputs:  []graph.Value{{Name: "x", Shape: []int{-1, 6}}},
		Outputs: []string{"y"},
		Params: map[string]*graph.Tensor{
			"starts": graph.NewInt64Tensor([]int64{-1}, 1), "ends": graph.NewInt64Tensor([]int64{-100}, 1),
			"axes": graph.NewInt64Tensor([]int64{1}, 1), "steps": graph.NewInt64Tensor([]int64{-1}, 1),
		},
		Nodes: []*graph.Node{{Name: "rev", Op: "Slice", Inputs: []string{"x", "starts", "ends", "axes", "steps"}, Outputs: []string{"y"}}},
	}
	m, err := trainer.FromGraph(g, trainer.MSE)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "reversed")
	if err := trainer.Save(dir, m, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "pt")
	f, stdout, _ := testFactory()
	err = exportRun(&exportOptions{IO: f.IO, Dir: dir, PyTorch: out})
	want := fmt.Sprintf("pytorch: 1 node(s) not supported:\n  Slice \"rev\": step -1: only positive steps are written (in %s)", dir)
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) || stdout.Len() > 0 {
		t.Errorf("got %v and output %q, want nothing written", err, stdout.String())
	}
}

// TestExportPyTorchStepEqualsGo takes one optimizer step with train.py (one
// process, the whole batch) and one with the Go trainer (TrainStep and the
// recipe's optimizer) from the same weights on the same batch, for recipes
// without randomness: the loss per element (MSE, BCE), the L1 and KL
// sparsity penalties, SGD with Nesterov momentum and weight decay. The
// weights agree to float32 rounding, and moved by far more.
func TestExportPyTorchStepEqualsGo(t *testing.T) {
	py := pythonForTest(t)
	sgd := trainer.OptimizerConfig{Name: "sgd", LR: 0.5}
	tests := []struct {
		name string
		mlp  trainer.MLP
		opt  trainer.OptimizerConfig
		reg  trainer.Regularization
	}{
		{"bce nesterov weight decay", trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{6}, Latent: 3, Activation: "tanh", Loss: trainer.BCE},
			trainer.OptimizerConfig{Name: "sgd", LR: 0.5, Momentum: 0.9, Nesterov: true, WeightDecay: 0.01}, trainer.Regularization{}},
		{"sparse-l1", trainer.MLP{Variant: "sparse-l1", Input: 8, Hidden: []int{6}, Latent: 3, Activation: "relu", Loss: trainer.MSE}, sgd, trainer.Regularization{L1: 0.05}},
		{"sparse-kl", trainer.MLP{Variant: "sparse-kl", Input: 8, Hidden: []int{6}, Latent: 3, Activation: "relu", Loss: trainer.BCE}, sgd, trainer.Regularization{Rho: 0.1, SparsityWeight: 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := trainer.Build(mlpConfig(t, tt.mlp))
			if err != nil {
				t.Fatal(err)
			}
			m.Init(5)
			dir, tmp := t.TempDir(), t.TempDir()
			tc := &trainer.TrainConfig{Optimizer: tt.opt, Epochs: 1, Batch: 8, Seed: 1, Reg: tt.reg}
			if err := trainer.Save(dir, m, tc); err != nil {
				t.Fatal(err)
			}
			pkg := filepath.Join(tmp, "pt")
			f, _, _ := testFactory()
			if err := exportRun(&exportOptions{IO: f.IO, Dir: dir, PyTorch: pkg}); err != nil {
				t.Fatal(err)
			}
			x := ddpData(t, tmp, 8, 8)
			launchRanks(t, py, pkg, 1, "--data", x, "--steps", "1", "--no-shuffle", "--no-onnx", "--out", filepath.Join(tmp, "run"))
			got, _, err := safetensors.ReadFile(filepath.Join(tmp, "run", "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			start := map[string]safetensors.Tensor{}
			for name, w := range m.StateDict() {
				start[name] = safetensors.Tensor{Shape: w.Shape, Data: append([]float32(nil), w.Data...)}
			}
			batch := trainer.NewTensor(8, 8)
			copy(batch.Data, readNPY(t, x).Data)
			opt, err := trainer.NewOptimizer(tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			m.ZeroGrad()
			m.TrainStep(trainer.Batch{X: batch, Target: batch}, &tc.Reg, nil)
			opt.Step(m.Params())
			want := m.StateDict()
			for name, g := range got {
				w := want[name]
				for i := range w.Data {
					if d := math.Abs(float64(g.Data[i] - w.Data[i])); !(d <= 1e-5*(1+math.Abs(float64(w.Data[i])))) {
						t.Fatalf("%s[%d]: got %v after train.py's step, want %v (Go)", name, i, g.Data[i], w.Data[i])
					}
				}
			}
			if moved := maxDiff(t, got, start); !(moved > 1e-3) {
				t.Errorf("the step moved the weights by at most %g, want more than 1e-3", moved)
			}
		})
	}
}
