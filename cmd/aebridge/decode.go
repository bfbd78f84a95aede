package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/dataset"
	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/runtime"
)

type decodeOptions struct {
	IO        *iostreams
	Library   string
	Model     string // a model directory or an ONNX file
	Input     string
	Output    string
	Class     int // −1 for none
	Condition string
}

func newCmdDecode(f *factory, runF func(*decodeOptions) error) *cobra.Command {
	opts := &decodeOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "decode DIR|MODEL --input codes.npy|csv --output x.npy|csv",
		Short: "Decode codes into samples",
		Long: `Decode the codes of --input (a .npy, or a CSV of one code a row, as
aebridge encode writes them) with DIR/decoder.onnx of a model directory, or
an ONNX file: a decoder (PyTorch's too), or a full model or encoder, which
runs the decoder exported beside it (decoder.onnx, checked to belong to the
same model). Flat codes (N, n) are reshaped to a decoder's fixed code shape
of n values (a convolutional code). --output by extension: .npy, in the
decoder's output shape; .csv, one sample a row. A conditional model takes
--class k or --condition FILE.npy.`,
		Example: `  aebridge decode out/ --input codes.npy --output x.npy`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			opts.Library = f.Library
			if opts.Input == "" || opts.Output == "" {
				return &flagError{errors.New("--input and --output are required")}
			}
			if err := checkExt("--input", opts.Input, ".npy", ".csv"); err != nil {
				return err
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
			return decodeRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Input, "input", "i", "", "codes to decode, `FILE` (.npy or .csv)")
	fl.StringVarP(&opts.Output, "output", "o", "", "write the decoded samples to `FILE` (.npy or .csv)")
	fl.IntVar(&opts.Class, "class", 0, "class `k` of every sample, for a conditional model")
	fl.StringVar(&opts.Condition, "condition", "", "class of each sample, for a conditional model: `FILE.npy`")
	return cmd
}

func decodeRun(opts *decodeOptions) error {
	path := modelFile(opts.Model, runtime.DecoderFile)
	model, err := runtime.Open(path, runtime.WithLibrary(opts.Library))
	if err != nil {
		return err
	}
	defer model.Close()
	z, err := readCodes(opts.Input)
	if err != nil {
		return err
	}
	cond, err := conditionFor(model.Info(), z, opts.Class, opts.Condition)
	if err != nil {
		return err
	}
	x, err := model.Decode(z, cond...)
	if err != nil {
		return inputFlagError("--input", opts.Input, err)
	}
	if err := writeArray(opts.Output, x); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "decoded %d codes of %s -> %s %v\n", z.Shape[0], opts.Input, opts.Output, x.Shape)
	return nil
}

// readCodes reads codes from a .npy or CSV file, refusing NaN and ±Inf.
func readCodes(path string) (runtime.Tensor, error) {
	var z runtime.Tensor
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		s, err := dataset.LoadCSV(path)
		if err != nil {
			return runtime.Tensor{}, fmt.Errorf("--input %s: %w", path, err)
		}
		z.Shape = []int64{int64(s.Len())}
		for _, d := range s.Shape {
			z.Shape = append(z.Shape, int64(d))
		}
		z.Data = s.X
	} else {
		a, err := npy.ReadFile(path)
		if err != nil {
			return runtime.Tensor{}, fmt.Errorf("--input %s: %w", path, err)
		}
		for _, d := range a.Shape {
			z.Shape = append(z.Shape, int64(d))
		}
		z.Data = a.Data // codes are never scaled, whatever their dtype
	}
	return z, checkFiniteInput("--input", path, z)
}
