package main

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/dataset"
	"github.com/aebridge/aebridge/trainer"
)

// sequenceOptions are train's settings of the sequence autoencoders
// (--variant lstm and gru); the hidden size is --hidden's one value, the
// code size --latent (0: the encoder's final state), the windows' stride
// --stride.
type sequenceOptions struct {
	Layers        int
	Bidirectional bool
	Window        int  // cut a CSV series into windows of this many steps (0: the data's rows are the samples)
	Standardize   bool // standardise each feature with the training data's mean and std
}

// sequenceFlags are the flags of the sequence variants only.
var sequenceFlags = []string{"layers", "bidirectional", "window", "standardize"}

// sequenceVariant reports whether v is a sequence autoencoder.
func sequenceVariant(v string) bool { return slices.Contains(trainer.SequenceVariants, v) }

func addSequenceFlags(cmd *cobra.Command, o *sequenceOptions) {
	fl := cmd.Flags()
	fl.IntVar(&o.Layers, "layers", 1, "lstm, gru: recurrent layers of the encoder and of the decoder (--hidden: their one size)")
	fl.BoolVar(&o.Bidirectional, "bidirectional", false, "lstm, gru: a bidirectional encoder")
	fl.IntVar(&o.Window, "window", 0, "lstm, gru: cut --data, a CSV of one series (a row per step), into windows of `W` steps every --stride steps")
	fl.BoolVar(&o.Standardize, "standardize", true, "lstm, gru: standardise each feature by the training data's mean and std (recorded in config.json as model.sequence.mean and .std; run and score take inputs standardised so)")
}

// checkSequenceFlags checks and completes the options of the sequence
// variants (hidden, the sizes parsed from --hidden), and refuses their
// flags for the other variants.
func (o *trainOptions) checkSequenceFlags(cmd *cobra.Command, hidden []int) error {
	fl := cmd.Flags()
	if !sequenceVariant(o.Model.Variant) {
		for _, name := range sequenceFlags {
			if fl.Changed(name) {
				return fmt.Errorf("--%s applies to --variant %v", name, trainer.SequenceVariants)
			}
		}
		return nil
	}
	for _, name := range []string{"tied", "arch", "channels", "kernel", "pool", "decoder", "batchnorm", "dropout", "pretrain-epochs", "contractive", "activation", "code-activation", "output-activation"} {
		if fl.Changed(name) {
			return fmt.Errorf("--%s does not apply to --variant %s", name, o.Model.Variant)
		}
	}
	switch {
	case !fl.Changed("hidden"):
		hidden = []int{64}
	case len(hidden) != 1:
		return fmt.Errorf("--hidden %v: --variant %s takes one size, that of every recurrent layer (--layers sets how many)", hidden, o.Model.Variant)
	}
	o.Model.Hidden = hidden
	if !fl.Changed("latent") {
		o.Model.Latent = 0 // the encoder's final state is the code
	}
	switch {
	case o.Model.Latent < 0:
		return fmt.Errorf("--latent must not be negative, got %d (0: the encoder's final state is the code)", o.Model.Latent)
	case o.Seq.Layers < 1:
		return fmt.Errorf("--layers must be at least 1, got %d", o.Seq.Layers)
	case o.Seq.Window < 0:
		return fmt.Errorf("--window must not be negative, got %d (0: the data's rows are the samples)", o.Seq.Window)
	case fl.Changed("stride") && o.Seq.Window == 0:
		return fmt.Errorf("--stride applies to a series cut into windows: give --window too")
	case o.Seq.Window > 0 && o.Conv.Stride < 1:
		return fmt.Errorf("--stride must be at least 1, got %d", o.Conv.Stride)
	}
	return nil
}

// sequenceConfig is the description of a sequence autoencoder for samples
// of the given shape: (steps) or (steps, features).
func (o *trainOptions) sequenceConfig(shape []int) (trainer.Config, error) {
	var steps, features int
	switch len(shape) {
	case 1:
		steps, features = shape[0], 1
	case 2:
		steps, features = shape[0], shape[1]
	default:
		return trainer.Config{}, fmt.Errorf("variant %s needs sequences (N×T×F or N×T data, or a CSV series with --window); %s has samples of shape %v", o.Model.Variant, o.Training.Data, shape)
	}
	if len(o.Model.Hidden) != 1 {
		return trainer.Config{}, fmt.Errorf("variant %s takes one hidden size; got %v", o.Model.Variant, o.Model.Hidden)
	}
	s := &trainer.Sequence{Steps: steps, Features: features, Hidden: o.Model.Hidden[0], Layers: o.Seq.Layers, Bidirectional: o.Seq.Bidirectional, Latent: o.Model.Latent}
	if o.Seq.Window > 0 {
		s.Stride = o.Conv.Stride
	}
	c := trainer.Config{Variant: o.Model.Variant, Input: []int{steps, features}, Loss: o.Model.Loss, Sequence: s}
	return c, c.Check()
}

// windowData cuts the data, a CSV series, into windows of window steps
// every stride steps.
func windowData(data *trainData, name string, window, stride int) error {
	cut := func(t *trainer.Tensor) (*trainer.Tensor, error) {
		if t == nil {
			return nil, nil
		}
		w, err := dataset.Windows(&dataset.Set{Name: name, Shape: data.shape, X: t.Data}, window, stride)
		if err != nil {
			return nil, err
		}
		return &trainer.Tensor{Shape: []int{w.Len(), w.Dim()}, Data: w.X}, nil
	}
	var err error
	if data.train, err = cut(data.train); err != nil {
		return err
	}
	if data.test, err = cut(data.test); err != nil {
		return err
	}
	data.shape = []int{window, product(data.shape)}
	return nil
}

func product(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// sequenceData prepares the data of a sequence model as its config
// records it: the windows of a CSV series (model.sequence.stride set),
// standardised by model.sequence.mean and .std.
func sequenceData(data *trainData, name string, s *trainer.Sequence) error {
	if s.Stride > 0 {
		if err := windowData(data, name, s.Steps, s.Stride); err != nil {
			return err
		}
	}
	for _, t := range []*trainer.Tensor{data.train, data.test} {
		if t != nil {
			s.Standardize(t)
		}
	}
	return nil
}

// newSequenceModel is trainRun's model for a sequence variant: the data
// cut into windows if asked for, the model's description from its shape,
// the standardisation from the training data, recorded.
func newSequenceModel(opts *trainOptions, data *trainData) (trainer.Config, error) {
	if opts.Seq.Window > 0 {
		if err := windowData(data, opts.Training.Data, opts.Seq.Window, opts.Conv.Stride); err != nil {
			return trainer.Config{}, err
		}
	}
	c, err := opts.sequenceConfig(data.shape)
	if err != nil {
		return c, err
	}
	if opts.Seq.Standardize {
		c.Sequence.Mean, c.Sequence.Std = trainer.Standardization(data.train, c.Sequence.Features)
	}
	if err := c.Check(); err != nil {
		return c, err
	}
	// Windowing is done: standardise only.
	return c, sequenceData(data, opts.Training.Data, &trainer.Sequence{Mean: c.Sequence.Mean, Std: c.Sequence.Std})
}
