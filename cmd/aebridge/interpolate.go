package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/runtime"
)

type interpolateOptions struct {
	IO       *iostreams
	Library  string
	Model    string // a model directory or an encoder ONNX file
	Decoder  string // with an encoder file
	From, To string
	Steps    int
	Class    int
	Out, NPY string
	Codes    string // write the interpolated codes here
	Shape    []int
	RawInput bool
}

func newCmdInterpolate(f *factory, runF func(*interpolateOptions) error) *cobra.Command {
	opts := &interpolateOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "interpolate DIR|ENCODER.onnx [--decoder DECODER.onnx] --from a.npy --to b.npy --steps 10 --out strip.png",
		Short: "Decode a straight line between the codes of two inputs",
		Long: `Encode two inputs (one sample each), take their codes (the encoder's output
"mu", or its first output), and decode --steps codes evenly spaced between
them, ends included. Uses DIR/encoder.onnx and DIR/decoder.onnx of a model
directory, or an encoder file with --decoder — PyTorch exports too. A
conditional model gets the one-hot --class. A flat sample (784 values) is
reshaped to a convolutional encoder's image shape (1×28×28).

--from and --to follow run's input-scaling rule (see aebridge run --help):
a uint8 .npy is divided by 255 for a model trained here, unless
--raw-input.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			opts.Library = f.Library
			if opts.From == "" || opts.To == "" {
				return &flagError{errors.New("--from and --to are required")}
			}
			if opts.Steps < 2 {
				return &flagError{fmt.Errorf("--steps %d: want at least 2", opts.Steps)}
			}
			if opts.Out == "" && opts.NPY == "" {
				return &flagError{errors.New("give --out strip.png, --npy out.npy or both")}
			}
			if !cmd.Flags().Changed("class") {
				opts.Class = -1
			}
			if runF != nil {
				return runF(opts)
			}
			return interpolateRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Decoder, "decoder", "", "decoder ONNX file (default: DIR/decoder.onnx)")
	fl.StringVar(&opts.From, "from", "", "first input `a.npy` or a data set reference (mnist:test[0:1])")
	fl.StringVar(&opts.To, "to", "", "second input `b.npy` or a data set reference")
	fl.IntVar(&opts.Steps, "steps", 10, "number of decoded points, ends included")
	fl.IntVar(&opts.Class, "class", 0, "class k for a conditional model")
	fl.StringVarP(&opts.Out, "out", "o", "", "PNG strip to write")
	fl.StringVar(&opts.NPY, "npy", "", "write the decoded points to this .npy file")
	fl.StringVar(&opts.Codes, "codes", "", "write the interpolated codes to this .npy `FILE`")
	fl.IntSliceVar(&opts.Shape, "shape", nil, "image shape C,H,W of a sample (default: from the output)")
	fl.BoolVar(&opts.RawInput, "raw-input", false, "feed uint8 input unscaled, even to a model that divides it by 255")
	return cmd
}

func interpolateRun(opts *interpolateOptions) error {
	decPath := opts.Decoder
	if decPath == "" {
		decPath = modelFile(opts.Model, "decoder.onnx")
		if decPath == opts.Model {
			return &flagError{errors.New("--decoder is required with an encoder file")}
		}
	}
	enc, err := runtime.Open(modelFile(opts.Model, "encoder.onnx"), runtime.WithLibrary(opts.Library))
	if err != nil {
		return err
	}
	defer enc.Close()
	dec, err := runtime.Open(decPath, runtime.WithLibrary(opts.Library))
	if err != nil {
		return err
	}
	defer dec.Close()
	rule, err := newInputRule(enc.Info().Path, enc.Info(), opts.RawInput, opts.IO)
	if err != nil {
		return err
	}
	a, _, err := readRef(rule, "--from", opts.From)
	if err != nil {
		return err
	}
	b, _, err := readRef(rule, "--to", opts.To)
	if err != nil {
		return err
	}
	z, x, err := runtime.Interpolate(enc, dec, a, b, opts.Steps, opts.Class)
	if err != nil {
		return err
	}
	if opts.Codes != "" {
		dims := make([]int, len(z.Shape))
		for i, d := range z.Shape {
			dims[i] = int(d)
		}
		if err := npy.WriteFile(opts.Codes, dims, z.Data); err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.Out, "wrote %s %v\n", opts.Codes, z.Shape)
	}
	return writeImages(opts.IO, x, opts.Out, opts.NPY, opts.Shape, opts.Steps)
}
