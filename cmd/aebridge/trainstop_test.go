package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/aebridge/aebridge/plots"
	"github.com/aebridge/aebridge/trainer"
)

// parsedTrain parses a train command line (without "train") into options
// writing to fresh buffers.
func parsedTrain(t *testing.T, args []string) (*trainOptions, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	opts := parseArgs(t, newCmdTrain, args, "")
	if opts == nil {
		t.FailNow()
	}
	f, out, errOut := testFactory()
	opts.IO = f.IO
	return opts, out, errOut
}

func pictureSize(t *testing.T, path string) (int, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	seen := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[r>>8<<16|g>>8<<8|bl>>8] = true
		}
	}
	if len(seen) < 3 {
		t.Errorf("%s looks blank: %d colours", path, len(seen))
	}
	return b.Dx(), b.Dy()
}

// TestTrainPictures trains on a data set reference with labels and checks
// the three pictures: their sizes and content, and that they are drawn
// from the numbers the run reported (metrics.jsonl) and the saved model
// gives (its reconstructions and codes of the test samples, bit for bit).
func TestTrainPictures(t *testing.T) {
	fakeMNIST(t, 60)
	for _, latent := range []int{2, 3} {
		t.Run(fmt.Sprintf("latent %d", latent), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			opts, out, _ := parsedTrain(t, []string{"--data", "mnist:train", "--out", dir, "--hidden", "8", "--latent", fmt.Sprint(latent),
				"--epochs", "3", "--batch", "16", "--val-split", "0.25", "--scale", "3", "--plot-images", "4"})
			got := map[string]any{}
			var curves [][]plots.Epoch
			opts.plotted = func(file string, data any) {
				got[file] = data
				if file == lossFile {
					curves = append(curves, data.([]plots.Epoch))
				}
			}
			if err := trainRun(opts); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "metrics.jsonl loss.png reconstructions.png codes.png\n") {
				t.Errorf("output: %s", out.String())
			}
			// The loss curve: one drawing per epoch and one at the end, of
			// the numbers in metrics.jsonl.
			b, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			var want []plots.Epoch
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				var em trainer.EpochMetrics
				if err := json.Unmarshal([]byte(line), &em); err != nil {
					t.Fatal(err)
				}
				want = append(want, plots.Epoch{Epoch: em.Epoch, TrainLoss: em.TrainLoss, ValLoss: em.ValLoss})
			}
			if len(curves) != 4 {
				t.Fatalf("loss curve drawn %d times, want 4 (3 epochs and the end)", len(curves))
			}
			for i, c := range curves {
				n := min(i+1, 3)
				if !reflect.DeepEqual(c, want[:n]) {
					t.Errorf("drawing %d: got %v, want %v", i, c, want[:n])
				}
			}
			if w, h := pictureSize(t, filepath.Join(dir, lossFile)); w != 640 || h != 480 {
				t.Errorf("%s: %dx%d, want 640x480", lossFile, w, h)
			}
			// The grid: the first 4 test samples over the saved model's
			// reconstructions.
			m, _, err := trainer.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			px := fakeMNISTTest(t)
			in := &trainer.Tensor{Shape: []int{4, 784}, Data: px[:4*784]}
			recon := m.Forward(in).Data
			grid := got[gridFile].([2][]float32)
			if !sameBits(grid[0], in.Data) || !sameBits(grid[1], recon) {
				t.Errorf("grid: not the test samples and the saved model's reconstructions")
			}
			if w, h := pictureSize(t, filepath.Join(dir, gridFile)); w != (4*29+1)*3 || h != (2*29+1)*3 {
				t.Errorf("%s: %dx%d, want %dx%d", gridFile, w, h, (4*29+1)*3, (2*29+1)*3)
			}
			// The scatter: the codes of the 60 test samples, by label.
			sd := got[codesFile].(scatterData)
			all := &trainer.Tensor{Shape: []int{60, 784}, Data: px}
			if z := m.Encode(all).Data; !sameBits(sd.Codes, z) {
				t.Errorf("codes: not the saved model's codes of the test samples")
			}
			pts, err := plots.Project2D(sd.Codes, 60, latent)
			if err != nil || !reflect.DeepEqual(pts, sd.Points) {
				t.Errorf("points: not Project2D of the codes (%v)", err)
			}
			if latent == 2 && (sd.Points[5][0] != float64(sd.Codes[10]) || sd.Points[5][1] != float64(sd.Codes[11])) {
				t.Errorf("2-D codes: point 5 is %v, code %v", sd.Points[5], sd.Codes[10:12])
			}
			for i, l := range sd.Labels {
				if l != i%10 {
					t.Fatalf("label %d: got %d, want %d", i, l, i%10)
				}
			}
			if len(sd.Labels) != 60 {
				t.Errorf("labels: got %d, want 60", len(sd.Labels))
			}
			if w, h := pictureSize(t, filepath.Join(dir, codesFile)); w != 640 || h != 480 {
				t.Errorf("%s: %dx%d, want 640x480", codesFile, w, h)
			}
		})
	}
}

// fakeMNISTTest reads back the test images fakeMNIST wrote, scaled.
func fakeMNISTTest(t *testing.T) []float32 {
	t.Helper()
	a := readNPY(t, filepath.Join(os.Getenv("AEBRIDGE_DATA"), "mnist", "test-images.npy"))
	x := make([]float32, len(a.Data))
	for i, v := range a.Data {
		x[i] = v / 255
	}
	return x
}

// TestTrainPicturesOff: --plots=false writes none; samples that are not
// images give no grid, with a note.
func TestTrainPicturesOff(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if code, _, errOut := runMain(append(tinyRun(t, dir), "--plots=false")...); code != 0 {
		t.Fatal(errOut)
	}
	for _, name := range []string{lossFile, gridFile, codesFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s written with --plots=false", name)
		}
	}
	x := filepath.Join(t.TempDir(), "x.npy")
	writeNPY(t, x, []int{40, 5}, 0.5)
	code, _, errOut := runMain("train", "--data", x, "--out", dir, "--hidden", "4", "--latent", "2", "--epochs", "1", "--quiet")
	if code != 0 || !strings.Contains(errOut, "note: no reconstructions.png: samples of shape [5] are not images") {
		t.Errorf("status %d, errors %q", code, errOut)
	}
}

// TestTrainCtrlC interrupts runs through the options' signal channel after
// k optimizer steps — once (stop at the epoch's end) or twice (stop after
// the batch) — and checks the message, the checkpoint and that the
// printed command continues the run to the files of an uninterrupted one.
func TestTrainCtrlC(t *testing.T) {
	ref := filepath.Join(t.TempDir(), "ref")
	args := tinyRun(t, ref)[1:] // without "train"; 10 steps an epoch
	if code, _, errOut := runMain(append([]string{"train"}, args...)...); code != 0 {
		t.Fatal(errOut)
	}
	tests := []struct {
		name    string
		step    int // the step after which Ctrl-C is pressed
		presses int
		epoch   int // the epoch the checkpoint holds; 0 for none
	}{
		{"once in epoch 2", 13, 1, 2},
		{"twice in epoch 2", 13, 2, 1},
		{"twice on epoch 1's last step", 10, 2, 1},
		{"twice in epoch 1", 4, 2, 0},
		{"once in the last epoch", 25, 1, 3}, // the run ends as it would have
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			a := append(args[:len(args):len(args)], "--out", dir, "--threads", "1")
			opts, _, errOut := parsedTrain(t, a)
			opts.signals = make(chan os.Signal, 4)
			steps := 0
			opts.afterStep = func(trainer.Progress) {
				if steps++; steps == tt.step {
					for range tt.presses {
						opts.signals <- os.Interrupt
					}
				}
			}
			err := trainRun(opts)
			if tt.epoch == 3 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if tt.epoch == 0 {
				want := "training interrupted before its first checkpoint; start again with: aebridge train " + shellJoin(opts.args)
				if err == nil || err.Error() != want {
					t.Fatalf("got %v, want %q", err, want)
				}
				return
			}
			want := fmt.Sprintf("training interrupted after epoch %d; continue with: aebridge train --resume --out %s --threads=1", tt.epoch, dir)
			if err == nil || err.Error() != want {
				t.Fatalf("got %v, want %q\n%s", err, want, errOut)
			}
			if !strings.Contains(errOut.String(), "interrupt: stopping at the end of this epoch") {
				t.Errorf("errors lack the first press's line: %s", errOut)
			}
			if ep, err := trainer.CheckpointEpoch(dir); err != nil || ep != tt.epoch {
				t.Errorf("checkpoint: epoch %d, %v; want %d", ep, err, tt.epoch)
			}
			if _, err := os.Stat(filepath.Join(dir, "model.onnx")); err == nil {
				t.Error("an interrupted run exported model.onnx")
			}
			cmd := strings.Fields(strings.SplitN(err.Error(), "continue with: ", 2)[1])
			if code, _, errOut := runMain(cmd[1:]...); code != 0 {
				t.Fatalf("%v: %s", cmd, errOut)
			}
			for _, name := range []string{"config.json", "model.safetensors", "model.onnx", "encoder.onnx", "decoder.onnx"} {
				want, err := os.ReadFile(filepath.Join(ref, name))
				if err != nil {
					t.Fatal(err)
				}
				if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s differs from the uninterrupted run's (%v)", name, err)
				}
			}
			b, _ := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
			if n := strings.Count(string(b), "\n"); n != 3 {
				t.Errorf("metrics.jsonl: %d lines, want 3", n)
			}
		})
	}
}

// TestTrainSIGINT sends a real SIGINT to a training process (this test
// binary re-executed as the command): it stops cleanly, prints the resume
// command, and that command finishes with the uninterrupted run's files.
func TestTrainSIGINT(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ref := filepath.Join(t.TempDir(), "ref")
	args := append(tinyRun(t, ref), "--epochs", "20")
	if code, _, errOut := runMain(args...); code != 0 {
		t.Fatal(errOut)
	}
	dir := filepath.Join(t.TempDir(), "run")
	child := exec.Command(os.Args[0], "-test.run=^TestTrainChild$", "-test.count=1")
	child.Env = append(os.Environ(), "AEBRIDGE_TRAIN_CHILD="+strings.Join(append(args[:len(args):len(args)], "--out", dir), "\x1f"))
	stderr, err := child.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	sc.Scan() // epoch 1's line
	child.Process.Signal(syscall.SIGINT)
	var rest bytes.Buffer
	io.Copy(&rest, stderr)
	err = child.Wait()
	text := rest.String()
	if err == nil {
		t.Skipf("the run ended before the signal arrived: %s", text)
	}
	i := strings.Index(text, "continue with: ")
	if i < 0 || !strings.Contains(text, "interrupt: stopping at the end of this epoch") {
		t.Fatalf("errors: %s", text)
	}
	cmd := strings.Fields(strings.TrimSpace(text[i+len("continue with: "):]))
	if want := []string{"aebridge", "train", "--resume", "--out", dir}; !reflect.DeepEqual(cmd, want) {
		t.Fatalf("command: got %q, want %q", cmd, want)
	}
	if code, _, errOut := runMain(cmd[1:]...); code != 0 {
		t.Fatal(errOut)
	}
	for _, name := range []string{"model.safetensors", "model.onnx"} {
		want, _ := os.ReadFile(filepath.Join(ref, name))
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from the uninterrupted run's (%v)", name, err)
		}
	}
}
