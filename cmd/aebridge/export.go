package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/trainer"
)

type exportOptions struct {
	IO    *iostreams
	Dir   string
	Out   string
	Part  string
	Opset int
}

func newCmdExport(f *factory, runF func(*exportOptions) error) *cobra.Command {
	opts := &exportOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "export DIR --out FILE.onnx [--part full|encoder|decoder] [--opset N]",
		Short: "Write a trained model directory as an ONNX graph",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			if opts.Out == "" {
				return &flagError{errors.New("--out FILE.onnx is required")}
			}
			if _, err := export.ParsePart(opts.Part); err != nil {
				return &flagError{err}
			}
			if opts.Opset < export.MinOpset || opts.Opset > export.MaxOpset {
				return &flagError{fmt.Errorf("--opset %d: want %d to %d", opts.Opset, export.MinOpset, export.MaxOpset)}
			}
			if runF != nil {
				return runF(opts)
			}
			return exportRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Out, "out", "o", "", "the ONNX `FILE` to write")
	cmd.Flags().StringVar(&opts.Part, "part", "full", "full (x → x_hat), encoder (x → z) or decoder (z → x_hat)")
	cmd.Flags().IntVar(&opts.Opset, "opset", export.DefaultOpset, "ONNX opset")
	return cmd
}

func exportRun(opts *exportOptions) error {
	m, f, err := trainer.Load(opts.Dir)
	if err != nil {
		return err
	}
	w := export.Writer{Opset: opts.Opset, Training: f.Training}
	if err := w.WriteFile(opts.Out, m, export.Part(opts.Part)); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "wrote %s (%s graph, opset %d)\n", opts.Out, opts.Part, opts.Opset)
	return nil
}
