package main

// The pictures train writes and its clean stop on Ctrl-C.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/aebridge/aebridge/internal/imgrid"
	"github.com/aebridge/aebridge/plots"
	"github.com/aebridge/aebridge/trainer"
)

// The pictures of a run, beside metrics.jsonl.
const (
	lossFile  = "loss.png"
	gridFile  = "reconstructions.png"
	codesFile = "codes.png"
)

// scatterSamples is the most test samples codes.png shows.
const scatterSamples = 2000

// interrupt turns Ctrl-C into a clean stop: the first press stops training
// at the end of the current epoch (after its checkpoint), a second one at
// the end of the current batch (the epoch's progress is dropped and the
// checkpoint of the epoch before stands). Signals are looked at after
// every optimizer step (poll), so the stop is the same whatever the timing
// within a step.
type interrupt struct {
	sig        chan os.Signal
	own        bool // the channel is signal.Notify's, to be stopped
	ctx        context.Context
	cancel     context.CancelCauseFunc
	presses    int
	afterEpoch bool // stop at the end of the epoch
	w          io.Writer
	terminal   bool
	released   bool
}

var (
	errStopAfterEpoch = errors.New("stopped at the end of the epoch (Ctrl-C)")
	errCtrlC          = errors.New("Ctrl-C pressed twice")
)

func newInterrupt(opts *trainOptions) *interrupt {
	it := &interrupt{sig: opts.signals, w: opts.IO.ErrOut, terminal: opts.Progress}
	if it.sig == nil {
		it.sig = make(chan os.Signal, 4)
		signal.Notify(it.sig, os.Interrupt)
		it.own = true
	}
	it.ctx, it.cancel = context.WithCancelCause(context.Background())
	return it
}

// poll takes the presses that arrived since the last step.
func (it *interrupt) poll() {
	for {
		select {
		case <-it.sig:
			it.presses++
			if it.terminal {
				fmt.Fprint(it.w, "\r\033[K")
			}
			if it.presses == 1 {
				it.afterEpoch = true
				fmt.Fprintln(it.w, "interrupt: stopping at the end of this epoch, after its checkpoint (Ctrl-C again to stop after this batch, dropping the epoch's progress)")
			} else {
				it.cancel(errCtrlC)
			}
		default:
			return
		}
	}
}

// release stops listening for the signal: a Ctrl-C after training (while
// the final files are written, each atomically) ends the process.
func (it *interrupt) release() {
	if it == nil || it.released {
		return
	}
	it.released = true
	if it.own {
		signal.Stop(it.sig)
	}
	it.cancel(nil)
}

// interrupted reports a run stopped by Ctrl-C: what the checkpoint holds
// and the exact command that continues it.
func interrupted(opts *trainOptions, cfg trainer.TrainConfig, res *trainer.Result, err error) error {
	w := opts.IO.ErrOut
	if errors.Is(err, trainer.ErrInterrupted) {
		fmt.Fprintf(w, "interrupt: %s\n", strings.TrimPrefix(err.Error(), "trainer: "))
	}
	ep, ckErr := trainer.CheckpointEpoch(opts.Out)
	if ckErr != nil {
		fmt.Fprintf(w, "no checkpoint was written: the first epoch did not end\n")
		return fmt.Errorf("training interrupted before its first checkpoint; start again with: %s", shellJoin(append([]string{"aebridge", "train"}, opts.args...)))
	}
	msg := fmt.Sprintf("the checkpoint in %s holds epoch %d of %d", opts.Out, ep, cfg.Epochs)
	if res != nil && cfg.ValSplit > 0 && res.BestEpoch > 0 {
		msg += fmt.Sprintf(", and the weights of epoch %d, the best so far (validation loss %.6f)", res.BestEpoch, res.BestVal)
	}
	fmt.Fprintln(w, msg)
	return fmt.Errorf("training interrupted after epoch %d; continue with: %s", ep, resumeCommand(opts))
}

// resumeFlags are the flags a resumed run takes again: those that do not
// describe the model or its training (the checkpoint records those).
var resumeFlags = []string{"threads", "opset", "quiet", "plots", "scale", "plot-images"}

// resumeCommand is the command line that continues the run of opts.
func resumeCommand(opts *trainOptions) string {
	args := []string{"aebridge", "train", "--resume", "--out", opts.Out}
	for _, a := range opts.args {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if slices.Contains(resumeFlags, name) {
			args = append(args, a)
		}
	}
	return shellJoin(args)
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:=,+@%-]+$`)

// shellJoin joins args as a POSIX shell reads them back.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if shellSafe.MatchString(a) {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

// curvePoint is an epoch's point of the loss curve: the reconstruction
// loss per element, training and validation, or for a variational model
// −ELBO per sample (the validation loss is −ELBO; the training loss alone
// leaves out the KL term).
func curvePoint(em trainer.EpochMetrics, variational, val bool) plots.Epoch {
	p := plots.Epoch{Epoch: em.Epoch, TrainLoss: em.TrainLoss, ValLoss: math.NaN()}
	if variational {
		p.TrainLoss = -em.ELBOPerSample
	}
	if val {
		p.ValLoss = em.ValLoss
		if variational {
			p.ValLoss = -em.ValELBOPerSample
		}
	}
	return p
}

func curveLabel(m *trainer.Model) string {
	if m.Config.Variational != nil {
		return "−ELBO per sample"
	}
	return string(m.Config.Loss) + " per element"
}

// readCurve reads the loss curve's points from metrics.jsonl.
func readCurve(path string, variational, val bool) ([]plots.Epoch, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var curve []plots.Epoch
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var em trainer.EpochMetrics
		if err := json.Unmarshal(sc.Bytes(), &em); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", path, line, err)
		}
		curve = append(curve, curvePoint(em, variational, val))
	}
	return curve, sc.Err()
}

func writeLossCurve(opts *trainOptions, curve []plots.Epoch, m *trainer.Model) error {
	if opts.plotted != nil {
		opts.plotted(lossFile, slices.Clone(curve))
	}
	return plots.WriteLossCurve(filepath.Join(opts.Out, lossFile), curve, curveLabel(m), plots.DefaultSize)
}

// writePictures writes the run's pictures at its end: the loss curve, the
// first test samples over their reconstructions, and the test codes in
// 2-D, coloured by class (training samples where there is no test split).
// A picture the data does not allow (samples that are not images) is left
// out with a note; the names written are returned, each after a space.
func writePictures(opts *trainOptions, m *trainer.Model, data *trainData, curve []plots.Epoch, cfg trainer.TrainConfig) (string, error) {
	var written string
	if len(curve) == 0 { // a resumed run with nothing left to train
		var err error
		if curve, err = readCurve(filepath.Join(opts.Out, "metrics.jsonl"), m.Config.Variational != nil, cfg.ValSplit > 0); err != nil {
			return "", err
		}
	}
	if len(curve) > 0 {
		if err := writeLossCurve(opts, curve, m); err != nil {
			return "", err
		}
		written += " " + lossFile
	}
	x, cond, labels := data.test, data.testCond, data.testLabels
	if x == nil {
		x, cond, labels = data.train, data.trainCond, data.trainLabels
	}
	d := x.Cols()
	// The grid.
	c, h, w, err := imgrid.Shape(data.shape)
	if err != nil {
		fmt.Fprintf(opts.IO.ErrOut, "note: no %s: samples of shape %v are not images\n", gridFile, data.shape)
	} else {
		n := min(opts.PlotImages, x.Rows())
		in := &trainer.Tensor{Shape: []int{n, d}, Data: x.Data[:n*d]}
		if cond != nil {
			m.SetCondition(rowsOf(cond, 0, n))
		}
		recon := slices.Clone(m.Forward(in).Data)
		inputs := slices.Clone(in.Data)
		if opts.plotted != nil {
			opts.plotted(gridFile, [2][]float32{inputs, recon})
		}
		if err := plots.WriteReconstructionGrid(filepath.Join(opts.Out, gridFile), inputs, recon, n, c, h, w, opts.Scale); err != nil {
			return "", err
		}
		written += " " + gridFile
	}
	// The codes.
	code := 1
	for _, v := range m.CodeShape() {
		code *= v
	}
	if len(m.CodeShape()) == 0 || code <= 0 {
		fmt.Fprintf(opts.IO.ErrOut, "note: no %s: the model has no code to draw\n", codesFile)
		return written, nil
	}
	n := min(scatterSamples, x.Rows())
	z := make([]float32, 0, n*code)
	for lo := 0; lo < n; lo += 256 {
		hi := min(lo+256, n)
		if cond != nil {
			m.SetCondition(rowsOf(cond, lo, hi))
		}
		z = append(z, m.Encode(rowsOf(x, lo, hi)).Data...)
	}
	pts, err := plots.Project2D(z, n, code)
	if err != nil {
		return "", err
	}
	if labels != nil {
		labels = labels[:n]
	}
	if opts.plotted != nil {
		opts.plotted(codesFile, scatterData{Codes: z, Points: pts, Labels: labels})
	}
	if err := plots.WriteCodeScatter(filepath.Join(opts.Out, codesFile), pts, labels, code > 2, plots.DefaultSize); err != nil {
		fmt.Fprintf(opts.IO.ErrOut, "warning: no %s: %v\n", codesFile, err)
		return written, nil
	}
	return written + " " + codesFile, nil
}

// scatterData is what codes.png is drawn from.
type scatterData struct {
	Codes  []float32 // the codes, one row a sample
	Points [][2]float64
	Labels []int
}

// rowsOf is rows [lo, hi) of t, sharing its storage.
func rowsOf(t *trainer.Tensor, lo, hi int) *trainer.Tensor {
	d := t.Cols()
	return &trainer.Tensor{Shape: []int{hi - lo, d}, Data: t.Data[lo*d : hi*d]}
}
