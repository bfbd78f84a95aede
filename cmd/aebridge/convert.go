package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/backend"
	"github.com/aebridge/aebridge/convert"
	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/graph"
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
		Long: `Import an ONNX autoencoder (PyTorch's and Keras' exports, opsets 7 to 21,
external data included) into a model directory, DIR/config.json and
DIR/model.safetensors: the graph read node by node (skips, several inputs,
shape subgraphs and all), which train --from fine-tunes and export writes
back to ONNX. The Go graph is checked against ONNX Runtime on the original
file before anything is written as done.

--split also writes DIR/encoder.onnx and DIR/decoder.onnx, cut at the code
(the tensor --code names, the one the file marks, or else the narrowest
tensor every path goes through), and checks that decoder(encoder(x))
equals the model's output.

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
		} else if m, err = importGraph(opts.Source, "", false); err != nil {
			return err
		}
		if err := convert.SaveWeights(m, opts.ToSafetensors); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s (%d tensors)\n", opts.ToSafetensors, len(m.StateDict()))
		return nil
	}
	m, err := importGraph(opts.Source, opts.Code, opts.Split)
	if err != nil {
		return err
	}
	g, _ := m.Graph()
	fmt.Fprint(out, m)
	// The Go graph must agree with ONNX Runtime on the original.
	info, err := runtime.Inspect(opts.Source)
	if err != nil {
		return err
	}
	inputs, err := backend.RandomInputs(info, 8, 1)
	if err != nil {
		return err
	}
	ort, err := backend.OpenORT(opts.Source, runtime.WithLibrary(opts.Library))
	if err != nil {
		return err
	}
	defer ort.Close()
	want, err := ort.Run(inputs)
	if err != nil {
		return err
	}
	got, err := backend.NewGraph(g).Run(inputs)
	if err != nil {
		return err
	}
	var report []string
	for _, name := range g.Outputs {
		s, err := backend.Compare(got[name], want[name], 1e-5, 1e-5)
		if err != nil {
			return fmt.Errorf("output %q: %w", name, err)
		}
		if !s.Pass {
			return fmt.Errorf("the imported model differs from ONNX Runtime on output %q: max |Δ| %.3g (%d elements out of tolerance); nothing written", name, s.MaxAbs, s.Failed)
		}
		fmt.Fprintf(out, "Go forward pass against ONNX Runtime, output %s: max |Δ| %.3g\n", name, s.MaxAbs)
	}
	// Everything is written into a staging folder beside --out and moved
	// there only once every check has passed.
	stage, err := newStaging(opts.Out)
	if err != nil {
		return err
	}
	defer stage.discard()
	if err := trainer.Save(stage.dir, m, nil); err != nil {
		return err
	}
	report = append(report, fmt.Sprintf("wrote %s: config.json model.safetensors\n", opts.Out))
	if opts.Split {
		w := export.Writer{Opset: opts.Opset}
		enc, dec := filepath.Join(stage.dir, "encoder.onnx"), filepath.Join(stage.dir, "decoder.onnx")
		if err := w.WriteFile(enc, m, export.Encoder); err != nil {
			return fmt.Errorf("--split at %q: %w; nothing written", g.Marks[graph.MarkCode], err)
		}
		if err := w.WriteFile(dec, m, export.Decoder); err != nil {
			return fmt.Errorf("--split at %q: %w; nothing written", g.Marks[graph.MarkCode], err)
		}
		s, err := backend.VerifySplit(opts.Source, enc, dec, inputs, 1e-5, 1e-5, runtime.WithLibrary(opts.Library))
		if err != nil {
			return err
		}
		if !s.Pass {
			return fmt.Errorf("decoder(encoder(x)) differs from the model: max |Δ| %.3g; nothing written", s.MaxAbs)
		}
		report = append(report, fmt.Sprintf("wrote %s and %s at tensor %q, cut at code %v; decoder(encoder(x)) against the model: max |Δ| %.3g\n",
			filepath.Join(opts.Out, "encoder.onnx"), filepath.Join(opts.Out, "decoder.onnx"), g.Marks[graph.MarkCode], m.CodeShape(), s.MaxAbs))
	}
	if err := stage.commit(); err != nil {
		return err
	}
	for _, line := range report {
		fmt.Fprint(out, line)
	}
	return nil
}

// importGraph reads the ONNX file into a graph model: the graph read node
// by node (convert.ReadGraph) and its code marked — the tensor code names,
// the one the file's metadata marks, or else the bottleneck found. With
// split, the graph must be a full autoencoder (its output of its input's
// size) with a code to cut at.
func importGraph(path, code string, split bool) (*trainer.Model, error) {
	g, _, err := convert.ReadGraph(path, convert.Options{Code: code})
	if err != nil {
		return nil, err
	}
	if g.Marks == nil {
		g.Marks = map[string]string{}
	}
	m, err := trainer.FromGraph(g, trainer.MSE)
	if err != nil {
		return nil, err
	}
	size := func(shape []int) int {
		n := 1
		for _, d := range shape {
			n *= d
		}
		return n
	}
	if split && size(m.OutputShape()) != size(m.Config.Input) {
		return nil, fmt.Errorf("--split needs a full autoencoder; %s gives %v from %v, not its input's size (an encoder or a decoder?); nothing written", path, m.OutputShape(), m.Config.Input)
	}
	if _, ok := g.Marks[graph.MarkCode]; !ok && g.Marks[graph.MarkMu] == "" {
		b, err := g.Bottleneck()
		switch {
		case err == nil:
			g.Marks[graph.MarkCode] = b
			return trainer.FromGraph(g, trainer.MSE) // with the code's shape
		case split:
			return nil, fmt.Errorf("--split: %s: %w; name the code with --code; nothing written", path, err)
		}
	}
	return m, nil
}

// staging is a folder beside a model directory to write into, moved into
// place by commit once everything in it has been checked, and removed by
// discard otherwise.
type staging struct {
	dir, out string
	done     bool
}

// newStaging makes a staging folder for the model directory out, in the
// nearest folder above out that exists (so that moving it is a rename on
// one file system). It creates nothing else. out may not exist, or be a
// directory; anything else is refused at once.
func newStaging(out string) (*staging, error) {
	if st, err := os.Stat(out); err == nil && !st.IsDir() {
		return nil, fmt.Errorf("--out %s exists and is not a directory", out)
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return nil, err
	}
	parent := filepath.Dir(abs)
	for {
		if st, err := os.Stat(parent); err == nil && st.IsDir() {
			break
		}
		up := filepath.Dir(parent)
		if up == parent {
			return nil, fmt.Errorf("no folder above %s exists", out)
		}
		parent = up
	}
	dir, err := os.MkdirTemp(parent, "."+filepath.Base(abs)+".partial-")
	if err != nil {
		return nil, err
	}
	return &staging{dir: dir, out: abs}, nil
}

// commit moves the staged files into out: the whole folder if out does not
// exist yet, else file by file (each a rename, replacing a file of that
// name).
func (s *staging) commit() error {
	if _, err := os.Stat(s.out); os.IsNotExist(err) {
		if err := os.MkdirAll(filepath.Dir(s.out), 0o755); err != nil {
			return err
		}
		if err := os.Rename(s.dir, s.out); err != nil {
			return err
		}
		s.done = true
		return nil
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Rename(filepath.Join(s.dir, e.Name()), filepath.Join(s.out, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// discard removes what is left of the staging folder.
func (s *staging) discard() {
	if !s.done {
		os.RemoveAll(s.dir)
	}
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
	stage, err := newStaging(opts.Out)
	if err != nil {
		return err
	}
	defer stage.discard()
	if err := trainer.Save(stage.dir, m, f.Training); err != nil {
		return err
	}
	if err := stage.commit(); err != nil {
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
