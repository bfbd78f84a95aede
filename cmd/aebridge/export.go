package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/export/pytorch"
	"github.com/aebridge/aebridge/trainer"
)

type exportOptions struct {
	IO      *iostreams
	Dir     string
	Out     string
	Part    string
	Opset   int
	PyTorch string // the directory of a PyTorch package, instead of Out
}

func newCmdExport(f *factory, runF func(*exportOptions) error) *cobra.Command {
	opts := &exportOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "export DIR --out FILE.onnx [--part full|encoder|decoder] [--opset N] | DIR --pytorch OUT/",
		Short: "Write a model directory as an ONNX graph, or as a PyTorch package",
		Long: `Write a model directory (trained here or imported with convert) as an ONNX
graph, or with --pytorch as a self-contained PyTorch package:

  OUT/model.py           the graph as an nn.Module (PyTorch's layers where a
                         node is one), whose state_dict() keys are the
                         graph's parameter names (renamed ones listed in its
                         GRAPH_NAMES), and load(), reading the weights without
                         the safetensors package
  OUT/model.safetensors  the weights under those keys
  OUT/train.py           trains the module with the recipe of config.json
                         (loss, optimizer, batch, epochs, the VAE's KL with β,
                         sparsity penalties, denoising) under
                         DistributedDataParallel, launched by torchrun or by
                         RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT, and exports
                         ONNX (opset 17, dynamic batch) that convert reads back
  OUT/README.md          how to run it, and what of the recipe is not carried

A node the generator does not write as PyTorch code fails the export,
listing every such node; nothing is written then.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			if opts.PyTorch != "" {
				if opts.Out != "" || cmd.Flags().Changed("part") || cmd.Flags().Changed("opset") {
					return &flagError{errors.New("--pytorch OUT/ takes no --out, --part or --opset")}
				}
				if runF != nil {
					return runF(opts)
				}
				return exportRun(opts)
			}
			if opts.Out == "" {
				return &flagError{errors.New("--out FILE.onnx or --pytorch OUT/ is required")}
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
	cmd.Flags().StringVar(&opts.PyTorch, "pytorch", "", "write a PyTorch package (model.py, train.py, weights) into `DIR`")
	return cmd
}

func exportRun(opts *exportOptions) error {
	m, f, err := trainer.Load(opts.Dir)
	if err != nil {
		return err
	}
	if opts.PyTorch != "" {
		return exportPyTorch(opts, m, f)
	}
	w := export.Writer{Opset: opts.Opset, Training: f.Training}
	if err := w.WriteFile(opts.Out, m, export.Part(opts.Part)); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "wrote %s (%s graph, opset %d)\n", opts.Out, opts.Part, opts.Opset)
	return nil
}

// exportPyTorch writes the PyTorch package of model m, read from
// opts.Dir with its config.json f.
func exportPyTorch(opts *exportOptions, m *trainer.Model, f *trainer.File) error {
	g, err := m.Graph()
	if err != nil {
		return err
	}
	o := pytorch.Options{Source: filepath.Base(filepath.Clean(opts.Dir)), Version: trainer.Version}
	if v := f.Model.Variational; v != nil {
		o.LogVarMin, o.LogVarMax = v.LogVarMin, v.LogVarMax
	}
	p, err := pytorch.Generate(g, pyTorchRecipe(f), o)
	if err != nil {
		return fmt.Errorf("%w (in %s)", err, opts.Dir)
	}
	if err := p.WriteDir(opts.PyTorch); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "wrote %s: %s, %s, %s (%d tensors), %s\n", opts.PyTorch, pytorch.ModelFile, pytorch.TrainFile, pytorch.WeightsFile, len(p.Weights), pytorch.ReadmeFile)
	if len(p.Names) > 0 {
		fmt.Fprintf(opts.IO.Out, "%d parameter(s) renamed in the state dict (model.py's GRAPH_NAMES)\n", len(p.Names))
	}
	return nil
}

// pyTorchRecipe is the training recipe of config.json for train.py: the
// recorded training configuration, or for a model without one (imported)
// the defaults; what train.py does not carry is listed.
func pyTorchRecipe(f *trainer.File) pytorch.Recipe {
	r := pytorch.DefaultRecipe(string(f.Model.Loss))
	tc := f.Training
	if tc == nil {
		r.NotCarried = append(r.NotCarried, "no training configuration is recorded (an imported model): Adam at lr 1e-3, batch 64, 10 epochs")
		return r
	}
	o := tc.Optimizer
	r.Optimizer, r.LR, r.Momentum, r.Nesterov = o.Name, o.LR, o.Momentum, o.Nesterov
	r.Beta1, r.Beta2, r.Eps, r.WeightDecay = o.Beta1, o.Beta2, o.Eps, o.WeightDecay
	r.Batch, r.Epochs, r.Seed = tc.Batch, tc.Epochs, tc.Seed
	reg := tc.Reg
	if reg.Beta > 0 {
		r.KLWeight = reg.Beta
	}
	r.L1, r.Rho, r.SparsityWeight = reg.L1, reg.Rho, reg.SparsityWeight
	r.Noise, r.NoiseLevel, r.NoiseClip, r.Alpha = reg.Noise, reg.NoiseLevel, reg.NoiseClip, reg.Alpha
	if reg.Contractive > 0 {
		r.NotCarried = append(r.NotCarried, fmt.Sprintf("the contractive penalty (λ = %g): its Jacobian term is not written", reg.Contractive))
	}
	switch {
	case tc.Patience > 0:
		r.NotCarried = append(r.NotCarried, fmt.Sprintf("the validation split %g and early stopping (patience %d): train.py trains on all of --data", tc.ValSplit, tc.Patience))
	case tc.ValSplit > 0:
		r.NotCarried = append(r.NotCarried, fmt.Sprintf("the validation split %g: train.py trains on all of --data", tc.ValSplit))
	}
	r.NotCarried = append(r.NotCarried, "the trainer's random streams: PyTorch's generators order the samples and draw the noise and the VAE's ε")
	return r
}
