package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/runtime"
)

type encodeOptions struct {
	IO        *iostreams
	Library   string
	Model     string // a model directory or an ONNX file
	Input     string
	Output    string
	Class     int // −1 for none
	Condition string
	RawInput  bool
}

func newCmdEncode(f *factory, runF func(*encodeOptions) error) *cobra.Command {
	opts := &encodeOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "encode MODEL|DIR --input X.npy --output codes.npy|csv",
		Short: "Write the codes of samples (μ for a VAE)",
		Long: `Encode each sample of --input and write its code: DIR/encoder.onnx of a
model directory, or an ONNX file — an encoder (PyTorch's too), or a full
model, which runs the encoder exported beside it (encoder.onnx, checked to
belong to the same model) unless its graph exposes the code as an output
"mu" or "z". The code is the output "mu" of a variational encoder (the
mean, deterministic), else "z", else the first output.

--output by extension: .npy, the codes in the encoder's shape; .csv, one
sample a row (flattened), with a header c0,c1,…. A conditional model takes
--class k or --condition FILE.npy. --input follows run's input-scaling
rule (see aebridge run --help).`,
		Example: `  aebridge encode out/ --input test.npy --output codes.npy`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			opts.Library = f.Library
			if opts.Input == "" || opts.Output == "" {
				return &flagError{errors.New("--input and --output are required")}
			}
			if err := checkExt("--output", opts.Output, ".npy", ".csv"); err != nil {
				return err
			}
			if err := checkClass(cmd, &opts.Class, opts.Condition); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return encodeRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Input, "input", "i", "", "samples to encode, `X.npy` or a data set reference (fashion-mnist:test[:256], a CSV or IDX file, a folder of PNG images)")
	fl.StringVarP(&opts.Output, "output", "o", "", "write the codes to `FILE` (.npy or .csv)")
	fl.IntVar(&opts.Class, "class", 0, "class `k` of every sample, for a conditional model")
	fl.StringVar(&opts.Condition, "condition", "", "class of each sample, for a conditional model: `FILE.npy`")
	fl.BoolVar(&opts.RawInput, "raw-input", false, "feed uint8 input unscaled, even to a model that divides it by 255")
	return cmd
}

func encodeRun(opts *encodeOptions) error {
	path := modelFile(opts.Model, runtime.EncoderFile)
	model, err := runtime.Open(path, runtime.WithLibrary(opts.Library))
	if err != nil {
		return err
	}
	defer model.Close()
	x, cond, _, err := readModelInput(opts.IO, model, "--input", opts.Input, opts.RawInput, opts.Class, opts.Condition)
	if err != nil {
		return err
	}
	z, err := model.Encode(x, cond...)
	if err != nil {
		return inputFlagError("--input", opts.Input, err)
	}
	if err := writeArray(opts.Output, z); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "encoded %d samples of %s -> %s %v\n", x.Shape[0], opts.Input, opts.Output, z.Shape)
	return nil
}
