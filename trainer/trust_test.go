package trainer

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// killRun is the tiny run of the checkpoint tests: 3 epochs of a small
// tied autoencoder on 120 random rows.
func killRun(t testing.TB) (MLP, TrainConfig, *Tensor) {
	t.Helper()
	data := randTensor(rand.New(rand.NewPCG(11, 12)), 0, 1, 120, 12)
	return MLP{Variant: "tied", Input: 12, Hidden: []int{8}, Latent: 3},
		TrainConfig{Optimizer: OptimizerConfig{Name: "adam", LR: 1e-2}, Epochs: 3, Batch: 16, Seed: 4, ValSplit: 0.25}, data
}

// uninterrupted returns the weights the kill run ends with.
func uninterrupted(t *testing.T) []float32 {
	t.Helper()
	o, cfg, data := killRun(t)
	m := newMLP(t, o, 2)
	if _, err := Fit(m, data, cfg, FitOptions{}); err != nil {
		t.Fatal(err)
	}
	return weights(m)
}

// resumeDir resumes the checkpoint in dir as a new process would, from the
// checkpoint alone, and returns the weights; ErrNoCheckpoint comes back as
// the error.
func resumeDir(t *testing.T, dir string) ([]float32, error) {
	t.Helper()
	_, _, data := killRun(t)
	ck, err := ReadCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	m, err := Build(ck.File.Model)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Fit(m, data, *ck.File.Training, FitOptions{Dir: dir, Resume: true}); err != nil {
		t.Fatal(err)
	}
	return weights(m), nil
}

func sameBits(t *testing.T, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d weights, want %d", len(got), len(want))
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("weight %d: got %v, want %v (uninterrupted)", i, got[i], want[i])
		}
	}
}

// TestCheckpointStatesAfterAKill builds, from the files of real
// checkpoints, every state a kill during a checkpoint can leave (any
// subset of the three files, in any order of completion, beside stale
// temporary files) and checks that each either resumes to the weights of
// an uninterrupted run or reports that there is no checkpoint yet.
func TestCheckpointStatesAfterAKill(t *testing.T) {
	want := uninterrupted(t)
	o, cfg, data := killRun(t)
	// The files of the checkpoints of epochs 1 and 2.
	files := map[int]map[string][]byte{}
	src := t.TempDir()
	m := newMLP(t, o, 2)
	_, err := Fit(m, data, cfg, FitOptions{Dir: src, OnEpoch: func(e EpochMetrics) error {
		files[e.Epoch] = map[string][]byte{}
		for _, name := range []string{ConfigFile, WeightsFile, StateFile} {
			b, err := os.ReadFile(filepath.Join(src, name))
			if err != nil {
				return err
			}
			files[e.Epoch][name] = b
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{ConfigFile, WeightsFile, StateFile}
	stale := []string{"." + StateFile + ".tmp123456", "." + ConfigFile + ".tmp9", "." + WeightsFile + ".tmp4242"}
	for mask := 0; mask < 8; mask++ {
		for _, later := range []bool{false, true} {
			// later: the first checkpoint is complete and the second one
			// was interrupted; the files of mask come from epoch 2.
			present := []string{}
			for i, n := range names {
				if mask&(1<<i) != 0 {
					present = append(present, n)
				}
			}
			name := strings.Join(present, "+")
			if name == "" {
				name = "none"
			}
			t.Run(fmt.Sprintf("later=%v/%s", later, name), func(t *testing.T) {
				dir := t.TempDir()
				write := func(name string, b []byte) {
					if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if later {
					for _, n := range names {
						write(n, files[1][n])
					}
				}
				epoch := map[bool]int{false: 1, true: 2}[later]
				for _, n := range present {
					write(n, files[epoch][n])
				}
				for _, n := range stale {
					write(n, files[epoch][StateFile][:100]) // a half-written file
				}
				got, err := resumeDir(t, dir)
				if !later && !slices.Contains(present, StateFile) {
					wantErr := "trainer: no checkpoint yet in " + dir + " (no train_state.safetensors)"
					if !errors.Is(err, ErrNoCheckpoint) || err.Error() != wantErr {
						t.Fatalf("got %v, want %s", err, wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				sameBits(t, got, want)
				for _, n := range stale {
					if _, err := os.Stat(filepath.Join(dir, n)); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("stale %s: got %v, want it removed", n, err)
					}
				}
			})
		}
	}
}

// TestFreshRunForgetsTheOldCheckpoint: a run that does not resume, killed
// before its first checkpoint, leaves no checkpoint, not that of the run
// that used the directory before.
func TestFreshRunForgetsTheOldCheckpoint(t *testing.T) {
	o, cfg, data := killRun(t)
	dir := t.TempDir()
	if _, err := Fit(newMLP(t, o, 2), data, cfg, FitOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	cfg.Seed++
	calls := 0
	_, err := Fit(newMLP(t, o, 3), data, cfg, FitOptions{Dir: dir, OnProgress: func(Progress) {
		if calls++; calls == 1 {
			// As a kill in the first epoch would leave it.
			if _, err := ReadCheckpoint(dir); !errors.Is(err, ErrNoCheckpoint) {
				t.Errorf("during the first epoch of a new run: got %v, want ErrNoCheckpoint", err)
			}
		}
	}, OnEpoch: func(EpochMetrics) error { return stop }})
	if !errors.Is(err, stop) {
		t.Fatal(err)
	}
	ck, err := ReadCheckpoint(dir)
	if err != nil || ck.Epoch != 1 || ck.File.Training.Seed != cfg.Seed {
		t.Errorf("after the first epoch of the new run: got %+v, %v; want epoch 1 of seed %d", ck, err, cfg.Seed)
	}
}

// TestKillDuringTraining kills a training process (this test binary,
// re-executed) with SIGKILL at several moments, then resumes: the weights
// are those of an uninterrupted run, or there is no checkpoint yet.
func TestKillDuringTraining(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	want := uninterrupted(t)
	for _, at := range []string{"1:" + ConfigFile, "1:" + StateFile, "2:" + ConfigFile, "2:" + StateFile, "3:" + ConfigFile, "step:5", "step:12"} {
		t.Run(at, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), "AEBRIDGE_KILL_CHILD="+dir+"|"+at)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child: got %v, want it killed by SIGKILL\n%s", err, out)
			}
			got, err := resumeDir(t, dir)
			if at == "1:"+ConfigFile || at == "step:5" {
				if !errors.Is(err, ErrNoCheckpoint) {
					t.Fatalf("got %v, want no checkpoint yet", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, got, want)
		})
	}
}

// TestKillChild is the process TestKillDuringTraining kills: it trains the
// kill run into a directory and kills itself at the moment given, after a
// checkpoint's file ("EPOCH:FILE") or after an optimizer step ("step:N",
// counted over the run; an epoch has 6).
func TestKillChild(t *testing.T) {
	env := os.Getenv("AEBRIDGE_KILL_CHILD")
	if env == "" {
		t.Skip("run by TestKillDuringTraining")
	}
	dir, at, _ := strings.Cut(env, "|")
	kill := func() { syscall.Kill(os.Getpid(), syscall.SIGKILL) }
	epoch := 1
	checkpointHook = func(file string) {
		if at == strconv.Itoa(epoch)+":"+file {
			kill()
		}
		if file == StateFile {
			epoch++
		}
	}
	steps := 0
	o, cfg, data := killRun(t)
	_, err := Fit(newMLP(t, o, 2), data, cfg, FitOptions{Dir: dir, OnProgress: func(p Progress) {
		if p.Metrics == nil {
			if steps++; at == "step:"+strconv.Itoa(steps) {
				kill()
			}
		}
	}})
	t.Fatalf("not killed at %s: Fit returned %v", at, err)
}

func TestFitRefusesNonFiniteData(t *testing.T) {
	tests := []struct {
		name      string
		row, col  int
		v         float32
		wantErr   string
		condition bool
	}{
		{name: "NaN in a validation row", row: 7, col: 3, v: float32(math.NaN()), wantErr: "trainer: data row 7, column 3: NaN is not a finite number"},
		{name: "Inf", row: 0, col: 11, v: float32(math.Inf(1)), wantErr: "trainer: data row 0, column 11: +Inf is not a finite number"},
		{name: "-Inf in a condition", row: 2, col: 1, v: float32(math.Inf(-1)), condition: true, wantErr: "trainer: condition row 2, column 1: -Inf is not a finite number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, cfg, data := killRun(t)
			var opts FitOptions
			if tt.condition {
				o = MLP{Variant: "cvae", Input: 12, Hidden: []int{8}, Latent: 2, Condition: 3, Loss: BCE}
				opts.Condition = NewTensor(data.Rows(), 3)
				opts.Condition.Data[tt.row*3+tt.col] = tt.v
			} else {
				data.Data[tt.row*data.Cols()+tt.col] = tt.v
			}
			_, err := Fit(newMLP(t, o, 1), data, cfg, opts)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("got %v, want %s", err, tt.wantErr)
			}
		})
	}
}

// TestFitStopsOnANonFiniteLoss: an identity output trained by SGD at a
// huge learning rate overflows; Fit stops, naming the epoch and the phase.
func TestFitStopsOnANonFiniteLoss(t *testing.T) {
	o, cfg, data := killRun(t)
	o.Variant, o.Hidden = "ae", nil
	o.OutputActivation = "identity"
	cfg.Optimizer = OptimizerConfig{Name: "sgd", LR: 1e6}
	var lines []string
	_, err := Fit(newMLP(t, o, 1), data, cfg, FitOptions{Metrics: writerFunc(func(b []byte) { lines = append(lines, string(b)) })})
	want := "trainer: epoch 1: training loss is NaN: training diverged (try a lower learning rate)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if len(lines) != 0 {
		t.Errorf("metrics: got %q, want no line for the diverged epoch", lines)
	}
}

type writerFunc func([]byte)

func (w writerFunc) Write(b []byte) (int, error) { w(slices.Clone(b)); return len(b), nil }

// TestFitWarnsWhenTheLossEndsAboveItsStart: a run whose loss ends above
// where it began says so in the result, with the losses before and after
// (checked against Evaluate on the rows Fit compares); a run that learns
// has no warning.
func TestFitWarnsWhenTheLossEndsAboveItsStart(t *testing.T) {
	for _, tt := range []struct {
		name string
		lr   float64
		warn bool
	}{{"diverging", 1e6, true}, {"learning", 1e-2, false}} {
		t.Run(tt.name, func(t *testing.T) {
			o, cfg, data := killRun(t)
			o.Variant, o.Hidden = "ae", []int{16}
			cfg.Optimizer = OptimizerConfig{Name: "sgd", LR: tt.lr}
			m := newMLP(t, o, 1)
			train, _ := Split(data, cfg.ValSplit, cfg.Seed)
			before, _ := Evaluate(m, train, cfg.Batch)
			res, err := Fit(m, data, cfg, FitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			after, _ := Evaluate(m, train, cfg.Batch)
			var want []string
			if tt.warn {
				want = []string{fmt.Sprintf("the loss on the training data ended above where it began (%.6g per element before training, %.6g with the final weights): the run diverged; try a lower learning rate", before, after)}
			}
			if !reflect.DeepEqual(res.Warnings, want) {
				t.Errorf("got %q, want %q", res.Warnings, want)
			}
			if tt.warn && !(after > before) || !tt.warn && !(after < before) {
				t.Errorf("loss %v before, %v after: the case does not test what it says", before, after)
			}
		})
	}
}

// TestFitReportsProgress: one event per optimizer step, with the running
// loss, and one per epoch carrying the epoch's metrics.
func TestFitReportsProgress(t *testing.T) {
	o, cfg, data := killRun(t)
	cfg.Epochs = 2
	var events []Progress
	res, err := Fit(newMLP(t, o, 1), data, cfg, FitOptions{OnProgress: func(p Progress) { events = append(events, p) }})
	if err != nil {
		t.Fatal(err)
	}
	// 90 training rows in batches of 16: 6 steps, the last of 10 rows.
	if len(events) != 14 {
		t.Fatalf("got %d events, want 2 × (6 steps + 1 end)", len(events))
	}
	for e := 0; e < 2; e++ {
		for s := 0; s < 6; s++ {
			p := events[7*e+s]
			if p.Epoch != e+1 || p.Epochs != 2 || p.Step != s+1 || p.Steps != 6 || p.Metrics != nil || !(p.Loss > 0) {
				t.Errorf("event %d: got %+v, want epoch %d/2 step %d/6 with a loss", 7*e+s, p, e+1, s+1)
			}
		}
		end := events[7*e+6]
		if end.Metrics == nil || !reflect.DeepEqual(*end.Metrics, res.History[e]) || end.Step != 6 || end.Loss != res.History[e].TrainLoss {
			t.Errorf("end of epoch %d: got %+v, want the metrics %+v", e+1, end, res.History[e])
		}
		if last := events[7*e+5].Loss; !(math.Abs(last-res.History[e].TrainLoss) <= 1e-12*last) {
			t.Errorf("epoch %d: last step's running loss %v, epoch's train loss %v", e+1, last, res.History[e].TrainLoss)
		}
	}
}
