package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/convert"
	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/internal/check"
	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/trainer"
)

type convertOptions struct {
	IO               *iostreams
	Library          string
	Source           string // an ONNX file, or a model directory for --to-safetensors
	Out              string
	Split            bool
	Code             string
	Opset            int
	FromSafetensors  string
	Config           string
	ToSafetensors    string
	SkipVerification bool
}

func newCmdConvert(f *factory, runF func(*convertOptions) error) *cobra.Command {
	opts := &convertOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "convert MODEL.onnx --out DIR [--split [--code NAME]] | --from-safetensors W --config config.json --out DIR | SOURCE --to-safetensors FILE",
		Short: "Import ONNX graphs into trainer models; move weights to and from safetensors",
		Long: `Import an ONNX autoencoder (PyTorch's exports, any opset from 9 to 20,
external data included) into a trainer model directory, DIR/config.json and
DIR/model.safetensors, which train --from fine-tunes and export writes back
to ONNX. The Go forward pass is checked against ONNX Runtime on the original
file before anything is written as done.

--split also writes DIR/encoder.onnx and DIR/decoder.onnx, cut at the
bottleneck (the narrowest layer output, or the tensor --code names), and
checks that decoder(encoder(x)) equals the model's output.

--from-safetensors reads PyTorch state_dict weights (names as PyTorch writes
them: matched by name, else in order and by shape) into the architecture
--config describes. --to-safetensors writes the weights of a model
directory or an ONNX file.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Source = args[0]
			}
			opts.Library = f.Library
			switch {
			case opts.FromSafetensors != "":
				if opts.Config == "" || opts.Out == "" || opts.Source != "" {
					return &flagError{errors.New("--from-safetensors takes --config and --out, and no MODEL")}
				}
			case opts.ToSafetensors != "":
				if opts.Source == "" || opts.Out != "" || opts.Split {
					return &flagError{errors.New("--to-safetensors takes a model directory or ONNX file, and no --out or --split")}
				}
			default:
				if opts.Source == "" || opts.Out == "" {
					return &flagError{errors.New("give MODEL.onnx and --out DIR")}
				}
			}
			if opts.Code != "" && !opts.Split {
				return &flagError{errors.New("--code goes with --split")}
			}
			if runF != nil {
				return runF(opts)
			}
			return convertRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Out, "out", "o", "", "model directory to write")
	fl.BoolVar(&opts.Split, "split", false, "also write encoder.onnx and decoder.onnx")
	fl.StringVar(&opts.Code, "code", "", "with --split: the tensor to cut at (default: the narrowest layer output)")
	fl.IntVar(&opts.Opset, "opset", export.DefaultOpset, "opset of the split graphs")
	fl.StringVar(&opts.FromSafetensors, "from-safetensors", "", "weights `FILE` (safetensors) to load into --config's architecture")
	fl.StringVar(&opts.Config, "config", "", "config.json describing the architecture for --from-safetensors")
	fl.StringVar(&opts.ToSafetensors, "to-safetensors", "", "write the weights to this safetensors `FILE`")
	return cmd
}

func convertRun(opts *convertOptions) error {
	out := opts.IO.Out
	switch {
	case opts.FromSafetensors != "":
		return fromSafetensors(opts)
	case opts.ToSafetensors != "":
		var m *trainer.Model
		if st, err := os.Stat(opts.Source); err == nil && st.IsDir() {
			if m, _, err = trainer.Load(opts.Source); err != nil {
				return err
			}
		} else {
			imported, err := convert.Decode(opts.Source, convert.Options{})
			if err != nil {
				return err
			}
			m = imported.Model
		}
		if err := convert.SaveWeights(m, opts.ToSafetensors); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s (%d tensors)\n", opts.ToSafetensors, len(m.StateDict()))
		return nil
	}
	imported, err := convert.Decode(opts.Source, convert.Options{Code: opts.Code})
	if err != nil {
		return err
	}
	fmt.Fprint(out, imported.Model)
	// The Go forward pass must agree with ONNX Runtime on the original.
	info, err := runtime.Inspect(opts.Source)
	if err != nil {
		return err
	}
	inputs, err := check.RandomInputs(info, 8, 1)
	if err != nil {
		return err
	}
	ort, err := check.OpenORT(opts.Source, runtime.WithLibrary(opts.Library))
	if err != nil {
		return err
	}
	defer ort.Close()
	want, err := ort.Run(inputs)
	if err != nil {
		return err
	}
	got, err := check.NewImported(imported).Run(inputs)
	if err != nil {
		return err
	}
	names := imported.Outputs
	for _, name := range names {
		s, err := check.Compare(got[name], want[name], 1e-5, 1e-5)
		if err != nil {
			return fmt.Errorf("output %q: %w", name, err)
		}
		if !s.Pass {
			return fmt.Errorf("the imported model differs from ONNX Runtime on output %q: max |Δ| %.3g (%d elements out of tolerance); nothing written", name, s.MaxAbs, s.Failed)
		}
		fmt.Fprintf(out, "Go forward pass against ONNX Runtime, output %s: max |Δ| %.3g\n", name, s.MaxAbs)
	}
	if err := trainer.Save(opts.Out, imported.Model, nil); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s: config.json model.safetensors\n", opts.Out)
	if !opts.Split {
		return nil
	}
	if imported.Config.Part != "" {
		return fmt.Errorf("--split needs a full autoencoder graph; %s is a %s", opts.Source, partName(imported.Config))
	}
	w := export.Writer{Opset: opts.Opset}
	enc, dec := filepath.Join(opts.Out, "encoder.onnx"), filepath.Join(opts.Out, "decoder.onnx")
	if err := w.WriteFile(enc, imported.Model, export.Encoder); err != nil {
		return err
	}
	if err := w.WriteFile(dec, imported.Model, export.Decoder); err != nil {
		return err
	}
	s, err := check.VerifySplit(opts.Source, enc, dec, inputs, 1e-5, 1e-5, runtime.WithLibrary(opts.Library))
	if err != nil {
		return err
	}
	if !s.Pass {
		return fmt.Errorf("decoder(encoder(x)) differs from the model: max |Δ| %.3g", s.MaxAbs)
	}
	fmt.Fprintf(out, "wrote %s and %s, cut at code %v; decoder(encoder(x)) against the model: max |Δ| %.3g\n", enc, dec, imported.CodeShape(), s.MaxAbs)
	return nil
}

func partName(c trainer.Config) string {
	switch {
	case c.Variational != nil:
		return "variational " + map[string]string{"": "autoencoder", "encoder": "encoder", "decoder": "decoder"}[c.Part]
	case c.Part != "":
		return c.Part
	}
	return "autoencoder"
}

func fromSafetensors(opts *convertOptions) error {
	f, err := trainer.ReadConfigFile(opts.Config)
	if err != nil {
		return err
	}
	m, err := trainer.Build(f.Model)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Config, err)
	}
	mapping, err := convert.LoadWeights(m, opts.FromSafetensors)
	if err != nil {
		return err
	}
	if err := trainer.Save(opts.Out, m, f.Training); err != nil {
		return err
	}
	var names []string
	for k := range mapping {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if k != mapping[k] {
			fmt.Fprintf(opts.IO.Out, "%s -> %s\n", k, mapping[k])
		}
	}
	fmt.Fprintf(opts.IO.Out, "wrote %s: config.json model.safetensors (%d tensors)\n", opts.Out, len(mapping))
	return nil
}
