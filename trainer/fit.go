package trainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/atomicfile"
	"github.com/aebridge/aebridge/internal/safetensors"
)

// TrainConfig is how a model is trained. It is recorded in config.json.
type TrainConfig struct {
	// Optimizer is the optimizer, weight decay included
	// (Optimizer.WeightDecay).
	Optimizer OptimizerConfig `json:"optimizer"`
	Epochs    int             `json:"epochs"`
	Batch     int             `json:"batch"`
	Seed      uint64          `json:"seed"`
	// ValSplit is the fraction of the training data held out for
	// validation, chosen by the seed.
	ValSplit float64 `json:"val_split"`
	// Patience stops training after this many epochs without a lower
	// validation loss, keeping the best weights (0: no early stopping).
	Patience int `json:"patience,omitempty"`
	// Reg sets the penalties and the corruption of the regularised variants.
	Reg Regularization `json:"regularization,omitzero"`
	// PretrainEpochs, if positive, pre-trains each encoder layer of an MLP
	// autoencoder for this many epochs as a shallow autoencoder before
	// Epochs of end-to-end training (see pretrain).
	PretrainEpochs int `json:"pretrain_epochs,omitempty"`
	// Data, Labels and Limit record what the model was trained on.
	Data   string `json:"data,omitempty"`
	Labels string `json:"labels,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

// Check validates the configuration.
func (c TrainConfig) Check() error {
	switch {
	case c.Epochs <= 0:
		return fmt.Errorf("trainer: epochs %d must be positive", c.Epochs)
	case c.Batch <= 0:
		return fmt.Errorf("trainer: batch size %d must be positive", c.Batch)
	case c.PretrainEpochs < 0:
		return fmt.Errorf("trainer: pre-training epochs %d must not be negative", c.PretrainEpochs)
	case !(c.ValSplit >= 0 && c.ValSplit < 1):
		return fmt.Errorf("trainer: validation split %v must be in [0, 1)", c.ValSplit)
	case c.Patience < 0:
		return fmt.Errorf("trainer: patience %d must not be negative", c.Patience)
	case c.Patience > 0 && c.ValSplit == 0:
		return fmt.Errorf("trainer: early stopping (patience %d) needs a validation split", c.Patience)
	}
	if err := c.Reg.Check(); err != nil {
		return err
	}
	_, err := NewOptimizer(c.Optimizer)
	return err
}

// checkModel reports settings that do not fit the model: the KL penalty
// needs codes in (0, 1), the contractive one a dense encoder.
func (c TrainConfig) checkModel(m *Model) error {
	if c.PretrainEpochs > 0 {
		if _, _, err := pretrainable(m); err != nil {
			return err
		}
	}
	if m.isGraph() {
		return c.checkGraphModel(m)
	}
	if c.Reg.SparsityWeight > 0 {
		if a, ok := m.Encoder[len(m.Encoder)-1].(*Activation); !ok || a.Kind != "sigmoid" {
			kind := "none"
			if ok {
				kind = a.Kind
			}
			return fmt.Errorf("trainer: the KL sparsity penalty needs code activations in (0, 1), a sigmoid code layer; the code activation is %s", kind)
		}
	}
	if c.Reg.Contractive > 0 {
		return m.checkContractive()
	}
	return nil
}

// checkGraphModel is checkModel for a graph model: the penalties on the
// code need it marked (graph.MarkCode), the KL one as a sigmoid's output;
// the contractive penalty is for dense encoders.
func (c TrainConfig) checkGraphModel(m *Model) error {
	if c.Reg.Contractive > 0 {
		return fmt.Errorf("trainer: the contractive penalty needs a dense encoder; a graph model has none")
	}
	if c.Reg.L1 == 0 && c.Reg.SparsityWeight == 0 {
		return nil
	}
	code, ok := m.g.Marks[graph.MarkCode]
	if !ok {
		return fmt.Errorf("trainer: the penalties on the code need the graph's code tensor marked (%q); this graph marks none", graph.MarkCode)
	}
	if c.Reg.SparsityWeight > 0 {
		for _, n := range m.g.Nodes {
			if n.Outputs[0] == code && n.Op != "Sigmoid" {
				return fmt.Errorf("trainer: the KL sparsity penalty needs code activations in (0, 1); the code %q is the output of a %s node", code, n.Op)
			}
		}
	}
	return nil
}

// EpochMetrics is one epoch's line of metrics.jsonl. Losses are the
// reconstruction loss (without penalties): per element (the mean the
// optimizer minimises) and per sample (summed over a sample's elements).
type EpochMetrics struct {
	Epoch              int     `json:"epoch"`
	TrainLoss          float64 `json:"train_loss"`
	TrainLossPerSample float64 `json:"train_loss_per_sample"`
	Penalty            float64 `json:"penalty,omitempty"` // the regularisation term, averaged over the epoch's steps
	// Variational models: the KL term and the ELBO per sample, training
	// and validation (the validation loss is then −ELBO).
	KLPerSample      float64 `json:"kl_per_sample,omitempty"`
	ELBOPerSample    float64 `json:"elbo_per_sample,omitempty"`
	ValKLPerSample   float64 `json:"val_kl_per_sample,omitempty"`
	ValELBOPerSample float64 `json:"val_elbo_per_sample,omitempty"`
	ValLoss          float64 `json:"val_loss,omitempty"`
	ValLossPerSample float64 `json:"val_loss_per_sample,omitempty"`
	Best             bool    `json:"best,omitempty"` // the lowest validation loss so far
	Seconds          float64 `json:"seconds"`
	// GFLOPPerSecond is the matrix-product work of the epoch's training
	// steps (three times Model.FLOPs per sample) over the time of its
	// training loop (validation and checkpoints left out), in 10⁹/s.
	GFLOPPerSecond float64 `json:"gflop_per_s"`
}

// FitOptions are Fit's side channels.
type FitOptions struct {
	// Dir, if set, receives a checkpoint after every epoch: config.json and
	// model.safetensors (the current weights), then
	// train_state.safetensors (optimizer state, best weights, progress and
	// the configuration), each written atomically. The state file, written
	// last, makes the checkpoint: a run killed at any moment leaves either
	// a complete checkpoint or, before the first one, none (ReadCheckpoint
	// then reports ErrNoCheckpoint). A run that does not resume removes
	// Dir's earlier state file first, and every run removes the temporary
	// files that killed writes left there.
	Dir string
	// Resume continues from Dir's train_state.safetensors: the result is the
	// same as that of an uninterrupted run.
	Resume bool
	// Metrics receives one JSON line per epoch; nil for none.
	Metrics io.Writer
	// OnProgress, if set, is called after every optimizer step and once at
	// the end of each epoch, after its checkpoint (Progress.Metrics set).
	OnProgress func(Progress)
	// OnEpoch, if set, is called after each epoch's checkpoint; an error
	// stops training and is returned.
	OnEpoch func(EpochMetrics) error
	// Condition holds a conditional model's conditioning inputs, one row
	// per data row.
	Condition *Tensor
	// Context, if set, is checked before every optimizer step: once it is
	// done, Fit returns the Result of the epochs completed and an error
	// wrapping ErrInterrupted and the context's cause. The interrupted
	// epoch is dropped: Dir's checkpoint is the last complete epoch's (none
	// before the first), and resuming from it gives the weights of an
	// uninterrupted run. The model then holds the weights of the step it
	// stopped at, which are not to be saved.
	Context context.Context
}

// ErrInterrupted is the error Fit wraps when FitOptions.Context ends.
var ErrInterrupted = errors.New("trainer: training interrupted")

// Progress is an event of FitOptions.OnProgress.
type Progress struct {
	Epoch, Epochs int     // the epoch, from 1, and the last one of the run
	Step, Steps   int     // optimizer steps done in this epoch, of Steps
	Loss          float64 // the epoch's mean training loss per element so far
	// Metrics is set on the event that ends an epoch, after its checkpoint:
	// the epoch's line of metrics.
	Metrics *EpochMetrics
}

// Result summarises a training run.
type Result struct {
	Epochs    int            // epochs run in total (resumed ones included)
	BestEpoch int            // the epoch whose weights the model holds when early stopping or validation is on
	BestVal   float64        // its validation loss per element
	Stopped   bool           // training stopped early
	History   []EpochMetrics // the epochs run by this call
	// Warnings are the signs of a run gone wrong that did not stop it:
	// a loss on the training data that ended above where it began.
	Warnings []string
	// Pretrain is each layer's pre-training, when this call pre-trained.
	Pretrain []PretrainResult
}

// Split divides data, (N, features), into training and validation parts by a
// permutation drawn from seed; the validation part has round(N·frac) rows.
func Split(data *Tensor, frac float64, seed uint64) (train, val *Tensor) {
	tr, va := splitRows(data.Rows(), frac, seed)
	return gather(data, tr), gather(data, va)
}

func splitRows(n int, frac float64, seed uint64) (train, val []int) {
	perm := rand.New(rand.NewPCG(seed, 1)).Perm(n)
	nv := int(math.Round(float64(n) * frac))
	return perm[nv:], perm[:nv]
}

func gather(data *Tensor, idx []int) *Tensor {
	d := data.Cols()
	out := NewTensor(len(idx), d)
	for j, i := range idx {
		copy(out.Data[j*d:(j+1)*d], data.Data[i*d:(i+1)*d])
	}
	return out
}

// Fit trains m on data, (N, features), as cfg says: each epoch visits the
// training rows in an order drawn from (seed, epoch), in mini-batches, and
// takes one optimizer step per batch. With the same seed, data and thread
// count it gives the same weights, bit for bit.
func Fit(m *Model, data *Tensor, cfg TrainConfig, opts FitOptions) (*Result, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if err := cfg.checkModel(m); err != nil {
		return nil, err
	}
	if m.isGraph() && product(m.outShape) != product(m.Config.Input) {
		return nil, fmt.Errorf("trainer: the graph's output %q has %v per sample, its input %v: only an autoencoder, whose output is its input's size, trains", m.g.Outputs[0], m.outShape, m.Config.Input)
	}
	if data.Cols() != product(m.Config.Input) {
		return nil, fmt.Errorf("trainer: data has %d features per sample, the model takes %d", data.Cols(), product(m.Config.Input))
	}
	if data.Rows() == 0 {
		return nil, errors.New("trainer: no training data (0 samples)")
	}
	cond := opts.Condition
	if (cond != nil) != (m.Config.Condition > 0) || (cond != nil && (cond.Rows() != data.Rows() || cond.Cols() != m.Config.Condition)) {
		return nil, fmt.Errorf("trainer: the model takes a condition of %d features; given %v for %d samples", m.Config.Condition, shapeOf(cond), data.Rows())
	}
	if err := checkFinite(data, "data"); err != nil {
		return nil, err
	}
	if err := checkFinite(cond, "condition"); err != nil {
		return nil, err
	}
	train, val := data, (*Tensor)(nil)
	trainCond, valCond := cond, (*Tensor)(nil)
	if cfg.ValSplit > 0 {
		tr, va := splitRows(data.Rows(), cfg.ValSplit, cfg.Seed)
		if len(tr) == 0 || len(va) == 0 {
			return nil, fmt.Errorf("trainer: %d samples cannot be split %v for validation", data.Rows(), cfg.ValSplit)
		}
		train, val = gather(data, tr), gather(data, va)
		if cond != nil {
			trainCond, valCond = gather(cond, tr), gather(cond, va)
		}
	}
	variational := m.Config.Variational != nil
	opt, err := NewOptimizer(cfg.Optimizer)
	if err != nil {
		return nil, err
	}
	st := fitState{bestVal: math.Inf(1), initialLoss: math.NaN()}
	best := map[string][]float32{}
	if opts.Dir != "" {
		if err := atomicfile.RemoveStale(opts.Dir, ConfigFile, WeightsFile, StateFile); err != nil {
			return nil, fmt.Errorf("trainer: %w", err)
		}
	}
	switch {
	case opts.Resume && opts.Dir == "":
		return nil, errors.New("trainer: resume needs the checkpoint directory")
	case opts.Resume:
		path := filepath.Join(opts.Dir, StateFile)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("trainer: %w yet in %s (no %s)", ErrNoCheckpoint, opts.Dir, StateFile)
		}
		if err := st.load(path, m, opt, best); err != nil {
			return nil, err
		}
	default:
		if opts.Dir != "" {
			// The state of an earlier run would make a checkpoint of a run
			// killed before its first one.
			if err := os.Remove(filepath.Join(opts.Dir, StateFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("trainer: %w", err)
			}
		}
	}
	var pre []PretrainResult
	if !opts.Resume && cfg.PretrainEpochs > 0 {
		if pre, err = pretrain(m, train, cfg); err != nil {
			return nil, err
		}
	}
	if !opts.Resume {
		st.initialLoss = probeLoss(m, train, trainCond, cfg)
	}
	res := &Result{Epochs: st.epoch, BestEpoch: st.bestEpoch, BestVal: st.bestVal, Pretrain: pre}
	d := train.Cols()
	batch := NewTensor(cfg.Batch, d)
	condBatch := &Tensor{}
	noisy, mask, weight := &Tensor{}, &Tensor{}, &Tensor{}
	reg := cfg.Reg
	for epoch := st.epoch + 1; epoch <= cfg.Epochs && !st.stopped; epoch++ {
		start := time.Now()
		order := rand.New(rand.NewPCG(cfg.Seed, uint64(epoch)+1)).Perm(train.Rows())
		// Corruption and the contractive estimator draw from their own
		// stream, so that they do not change the order of the batches.
		rng := rand.New(rand.NewPCG(cfg.Seed^0x6e6f697365, uint64(epoch)))
		var sum, pen, kl float64
		steps, nSteps := 0, (len(order)+cfg.Batch-1)/cfg.Batch
		for lo := 0; lo < len(order); lo += cfg.Batch {
			if opts.Context != nil && opts.Context.Err() != nil {
				return res, fmt.Errorf("%w in epoch %d after %d of its %d steps (%w)", ErrInterrupted, epoch, steps, nSteps, context.Cause(opts.Context))
			}
			hi := min(lo+cfg.Batch, len(order))
			batch.Resize(hi-lo, d)
			for j, i := range order[lo:hi] {
				copy(batch.Data[j*d:(j+1)*d], train.Data[i*d:(i+1)*d])
			}
			b := Batch{X: batch, Target: batch}
			if trainCond != nil {
				k := trainCond.Cols()
				condBatch.Resize(hi-lo, k)
				for j, i := range order[lo:hi] {
					copy(condBatch.Data[j*k:(j+1)*k], trainCond.Data[i*k:(i+1)*k])
				}
				b.Cond = condBatch
			}
			if reg.Noise != "" {
				Corrupt(noisy, mask, batch, reg.Noise, reg.NoiseLevel, reg.NoiseClip, rng)
				b.X = noisy
				if reg.Alpha != nil {
					lossWeights(weight, mask, *reg.Alpha)
					b.Weight = weight
				}
			}
			m.ZeroGrad()
			l, p := m.TrainStep(b, &reg, rng)
			sum += l
			pen += p
			if variational && m.Config.Variant != "infovae" {
				kl += p / reg.klWeight()
			}
			steps++
			opt.Step(m.Params())
			if opts.OnProgress != nil {
				opts.OnProgress(Progress{Epoch: epoch, Epochs: cfg.Epochs, Step: steps, Steps: nSteps, Loss: sum / float64(hi*d)})
			}
		}
		loopSeconds := time.Since(start).Seconds()
		if err := checkLoss(epoch, "training loss", sum); err != nil {
			return nil, err
		}
		if err := checkLoss(epoch, "training penalty", pen); err != nil {
			return nil, err
		}
		em := EpochMetrics{Epoch: epoch, TrainLoss: sum / float64(train.Len()), TrainLossPerSample: sum / float64(train.Rows()), Penalty: pen / float64(steps)}
		if loopSeconds > 0 {
			em.GFLOPPerSecond = 3 * float64(m.FLOPs()) * float64(train.Rows()) / loopSeconds / 1e9
		}
		if variational && m.Config.Variant != "infovae" {
			em.Penalty = 0
			em.KLPerSample = kl / float64(train.Rows())
			em.ELBOPerSample = -(em.TrainLossPerSample + em.KLPerSample)
		}
		if val != nil {
			if m.Config.Variant == "iwae" {
				bound := EvaluateIWAE(m, val, reg.Samples, cfg.Batch, rand.New(rand.NewPCG(cfg.Seed^0x76616c, uint64(epoch))))
				em.ValELBOPerSample, em.ValLossPerSample = bound, -bound
				em.ValLoss = em.ValLossPerSample / float64(val.Cols())
			} else if variational {
				recon, vkl := EvaluateVAE(m, val, valCond, cfg.Batch, rand.New(rand.NewPCG(cfg.Seed^0x76616c, uint64(epoch))))
				em.ValKLPerSample, em.ValELBOPerSample = vkl, -(recon + vkl)
				em.ValLossPerSample = recon + vkl
				em.ValLoss = em.ValLossPerSample / float64(val.Cols())
			} else {
				vs := evaluate(m, val, cfg.Batch)
				em.ValLoss, em.ValLossPerSample = vs/float64(val.Len()), vs/float64(val.Rows())
			}
			if err := checkLoss(epoch, "validation loss", em.ValLossPerSample); err != nil {
				return nil, err
			}
			if em.ValLoss < st.bestVal {
				st.bestVal, st.bestEpoch, st.bad = em.ValLoss, epoch, 0
				em.Best = true
				for _, p := range m.state() {
					best[p.Name] = append(best[p.Name][:0], p.Value.Data...)
				}
			} else {
				st.bad++
				st.stopped = cfg.Patience > 0 && st.bad >= cfg.Patience
			}
		}
		em.Seconds = time.Since(start).Seconds()
		st.epoch = epoch
		if opts.Metrics != nil {
			b, err := json.Marshal(em)
			if err != nil {
				return nil, fmt.Errorf("trainer: epoch %d: metrics: %w", epoch, err)
			}
			if _, err := opts.Metrics.Write(append(b, '\n')); err != nil {
				return nil, fmt.Errorf("trainer: write metrics: %w", err)
			}
		}
		if opts.Dir != "" {
			if err := writeCheckpoint(opts.Dir, m, &cfg, &st, opt, best); err != nil {
				return nil, err
			}
		}
		res.History = append(res.History, em)
		res.Epochs, res.BestEpoch, res.BestVal, res.Stopped = st.epoch, st.bestEpoch, st.bestVal, st.stopped
		if opts.OnProgress != nil {
			opts.OnProgress(Progress{Epoch: epoch, Epochs: cfg.Epochs, Step: steps, Steps: nSteps, Loss: em.TrainLoss, Metrics: &em})
		}
		if opts.OnEpoch != nil {
			if err := opts.OnEpoch(em); err != nil {
				return res, err
			}
		}
	}
	// With validation, the model keeps the weights of its best epoch.
	if val != nil && st.bestEpoch > 0 {
		for _, p := range m.state() {
			copy(p.Value.Data, best[p.Name])
		}
	}
	if final := probeLoss(m, train, trainCond, cfg); final > st.initialLoss {
		res.Warnings = append(res.Warnings, fmt.Sprintf("the loss on the training data ended above where it began (%.6g per element before training, %.6g with the final weights): the run diverged; try a lower learning rate", st.initialLoss, final))
	}
	return res, nil
}

// probeRows is how many training rows probeLoss evaluates.
const probeRows = 2048

// probeLoss is m's loss per element (for variational models, the negative
// ELBO per element) on the first rows of the training data, where Fit
// compares the weights it ends with to those it began with. It draws from
// a stream of its own, so it does not change training.
func probeLoss(m *Model, train, cond *Tensor, cfg TrainConfig) float64 {
	n := min(train.Rows(), probeRows)
	d := train.Cols()
	x := &Tensor{Shape: []int{n, d}, Data: train.Data[:n*d]}
	if m.Config.Variational != nil {
		var c *Tensor
		if cond != nil {
			k := cond.Cols()
			c = &Tensor{Shape: []int{n, k}, Data: cond.Data[:n*k]}
		}
		recon, kl := EvaluateVAE(m, x, c, cfg.Batch, rand.New(rand.NewPCG(cfg.Seed^0x70726f6265, 0)))
		return (recon + kl) / float64(d)
	}
	return evaluate(m, x, cfg.Batch) / float64(x.Len())
}

// checkLoss reports a loss (or penalty) sum that is not a finite number.
func checkLoss(epoch int, what string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("trainer: epoch %d: %s is %v: training diverged (try a lower learning rate)", epoch, what, v)
	}
	return nil
}

// checkFinite reports the first value of t, (N, features), that is NaN or
// infinite, by row and column; what names the tensor.
func checkFinite(t *Tensor, what string) error {
	if t == nil {
		return nil
	}
	for i, v := range t.Data {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			d := t.Cols()
			return fmt.Errorf("trainer: %s row %d, column %d: %v is not a finite number", what, i/d, i%d, v)
		}
	}
	return nil
}

// klWeight is β, with 0 taken as 1.
func (r Regularization) klWeight() float64 {
	if r.Beta > 0 {
		return r.Beta
	}
	return 1
}

func shapeOf(t *Tensor) any {
	if t == nil {
		return "none"
	}
	return t.Shape
}

// evaluate returns the summed loss of m on data, in batches.
func evaluate(m *Model, data *Tensor, batch int) float64 {
	var sum float64
	d := data.Cols()
	for lo := 0; lo < data.Rows(); lo += batch {
		hi := min(lo+batch, data.Rows())
		x := &Tensor{Shape: []int{hi - lo, d}, Data: data.Data[lo*d : hi*d]}
		sum += m.Eval(x, x)
	}
	return sum
}

// Evaluate returns m's mean loss per element and per sample on data.
func Evaluate(m *Model, data *Tensor, batch int) (perElement, perSample float64) {
	s := evaluate(m, data, batch)
	return s / float64(data.Len()), s / float64(data.Rows())
}

// CheckpointEpoch returns the last epoch the checkpoint in dir holds.
func CheckpointEpoch(dir string) (int, error) {
	c, err := ReadCheckpoint(dir)
	if err != nil {
		return 0, err
	}
	return c.Epoch, nil
}

// fitState is the progress a checkpoint records beside the weights.
type fitState struct {
	epoch, bestEpoch, bad int
	bestVal               float64
	stopped               bool
	steps                 int     // optimizer steps taken
	initialLoss           float64 // probeLoss before training; NaN if unknown
}

// save writes the state file; config is config.json's content, recorded so
// that the state file alone makes a checkpoint.
func (s *fitState) save(path string, m *Model, opt Optimizer, best map[string][]float32, config string) error {
	tensors := map[string]safetensors.Tensor{}
	for _, p := range m.state() {
		tensors["model."+p.Name] = safetensors.Tensor{Shape: p.Value.Shape, Data: p.Value.Data}
		if b, ok := best[p.Name]; ok {
			tensors["best."+p.Name] = safetensors.Tensor{Shape: p.Value.Shape, Data: b}
		}
	}
	bufs, steps := opt.State()
	for k, v := range bufs {
		tensors["optim."+k] = safetensors.Tensor{Shape: []int{len(v)}, Data: v}
	}
	meta := map[string]string{
		"epoch": strconv.Itoa(s.epoch), "best_epoch": strconv.Itoa(s.bestEpoch), "bad_epochs": strconv.Itoa(s.bad),
		"best_val": strconv.FormatFloat(s.bestVal, 'g', -1, 64), "stopped": strconv.FormatBool(s.stopped),
		"optimizer_steps": strconv.Itoa(steps), metaConfig: config,
	}
	if !math.IsNaN(s.initialLoss) {
		meta["initial_loss"] = strconv.FormatFloat(s.initialLoss, 'g', -1, 64)
	}
	return safetensors.WriteFile(path, tensors, meta)
}

func (s *fitState) load(path string, m *Model, opt Optimizer, best map[string][]float32) error {
	tensors, meta, err := safetensors.ReadFile(path)
	if err != nil {
		return err
	}
	weights := map[string]safetensors.Tensor{}
	bufs := map[string][]float32{}
	for k, t := range tensors {
		switch {
		case strings.HasPrefix(k, "model."):
			weights[k[len("model."):]] = t
		case strings.HasPrefix(k, "best."):
			best[k[len("best."):]] = t.Data
		case strings.HasPrefix(k, "optim."):
			bufs[k[len("optim."):]] = t.Data
		default:
			return fmt.Errorf("trainer: %s: unexpected tensor %q", path, k)
		}
	}
	if err := m.loadTensors(weights, path); err != nil {
		return err
	}
	if err := s.parseMeta(path, meta); err != nil {
		return err
	}
	return opt.SetState(bufs, s.steps)
}

// parseMeta reads the progress from a state file's metadata.
func (s *fitState) parseMeta(path string, meta map[string]string) error {
	for _, f := range []struct {
		key string
		p   *int
	}{{"epoch", &s.epoch}, {"best_epoch", &s.bestEpoch}, {"bad_epochs", &s.bad}, {"optimizer_steps", &s.steps}} {
		v, err := strconv.Atoi(meta[f.key])
		if err != nil || v < 0 {
			return fmt.Errorf("trainer: %s: metadata %q = %q is not a count", path, f.key, meta[f.key])
		}
		*f.p = v
	}
	var err error
	if s.bestVal, err = strconv.ParseFloat(meta["best_val"], 64); err != nil {
		return fmt.Errorf("trainer: %s: metadata \"best_val\" = %q is not a number", path, meta["best_val"])
	}
	s.stopped = meta["stopped"] == "true"
	s.initialLoss = math.NaN()
	if v, ok := meta["initial_loss"]; ok {
		if s.initialLoss, err = strconv.ParseFloat(v, 64); err != nil {
			return fmt.Errorf("trainer: %s: metadata \"initial_loss\" = %q is not a number", path, v)
		}
	}
	return nil
}
