package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/internal/imgrid"
	"github.com/aebridge/aebridge/trainer"
)

type filtersOptions struct {
	IO     *iostreams
	Model  string // a model directory
	Output string
	Scale  int
	Cols   int
}

func newCmdFilters(f *factory, runF func(*filtersOptions) error) *cobra.Command {
	opts := &filtersOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "filters DIR|MODEL.onnx --output filters.png [--scale S]",
		Short: "Draw the first dense layer's filters as images",
		Long: `Draw the filters of the first dense layer of a model directory or an ONNX
model (an autoencoder or an encoder, aebridge's or PyTorch's): for unit j
with weights Wⱼ (row j of the weight matrix), xⱼ = Wⱼ/‖Wⱼ‖, the input of
unit norm that activates the unit most. Each filter is scaled from its
minimum to its maximum onto black to white (a constant filter is mid grey)
and drawn in a grid, each pixel --scale times as large.

The first layer of the model must be dense (an MLP variant's encoder.0, or
a graph model's first Gemm or MatMul) and its input an image: C×H×W, H×W,
or a square number of features.`,
		Example: `  aebridge filters out/ --output filters.png --scale 2`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			if opts.Output == "" {
				return &flagError{errors.New("--output is required")}
			}
			if err := checkExt("--output", opts.Output, ".png"); err != nil {
				return err
			}
			if opts.Scale < 1 || opts.Scale > 64 {
				return &flagError{fmt.Errorf("--scale %d: want 1 to 64", opts.Scale)}
			}
			if opts.Cols < 0 {
				return &flagError{fmt.Errorf("--cols %d must not be negative", opts.Cols)}
			}
			if runF != nil {
				return runF(opts)
			}
			return filtersRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Output, "output", "o", "", "PNG grid to write, `filters.png`")
	fl.IntVar(&opts.Scale, "scale", 1, "draw each weight as an `S`×S block of pixels")
	fl.IntVar(&opts.Cols, "cols", 0, "filters per row of the grid (default: a square grid)")
	return cmd
}

func filtersRun(opts *filtersOptions) error {
	m, err := loadFiltersModel(opts.Model)
	if err != nil {
		return err
	}
	w, err := firstDense(opts.Model, m)
	if err != nil {
		return err
	}
	units, inputs := w.Shape[0], w.Shape[1]
	c, h, wd, err := imageShape("filters", opts.Model, m, inputs)
	if err != nil {
		return err
	}
	x := filterImages(w.Data, units, inputs)
	s := opts.Scale
	big := upscale(x, units*c, h, wd, s)
	cols := opts.Cols
	if cols == 0 {
		cols = int(math.Ceil(math.Sqrt(float64(units))))
	}
	if err := imgrid.WriteFile(opts.Output, big, units, c, h*s, wd*s, cols); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "wrote %s (%d filters of %d×%d)\n", opts.Output, units, h, wd)
	return nil
}

// loadFiltersModel loads a model directory, or reads an ONNX file into a
// graph model.
func loadFiltersModel(path string) (*trainer.Model, error) {
	if st, err := os.Stat(path); err == nil && !st.IsDir() && strings.EqualFold(filepath.Ext(path), ".onnx") {
		return importGraph(path, "", false)
	}
	m, _, err := trainer.Load(path)
	return m, err
}

// firstDense returns the weight matrix (units, inputs) of m's first layer,
// or an error when that layer is not dense.
func firstDense(dir string, m *trainer.Model) (*trainer.Tensor, error) {
	params := map[string]*trainer.Tensor{}
	for _, p := range m.Params() {
		params[p.Name] = p.Value
	}
	if m.Config.Variant != trainer.GraphVariant {
		if len(m.Config.Encoder) == 0 || m.Config.Encoder[0].Type != "dense" {
			first := "none"
			if len(m.Config.Encoder) > 0 {
				first = m.Config.Encoder[0].Type
			}
			return nil, fmt.Errorf("filters: %s: the first layer is %s, not dense (variant %s)", dir, first, m.Config.Variant)
		}
		w := params["encoder.0.weight"]
		if w == nil || len(w.Shape) != 2 {
			return nil, fmt.Errorf("filters: %s: no 2-D weight encoder.0.weight", dir)
		}
		return w, nil
	}
	if m.Config.Graph == nil {
		return nil, fmt.Errorf("filters: %s: a graph model without a graph", dir)
	}
	for _, n := range m.Config.Graph.Nodes {
		var weight string
		transposed := false // the weight is stored (inputs, units)
		switch n.Op {
		case "Gemm":
			if len(n.Inputs) < 2 {
				return nil, fmt.Errorf("filters: %s: Gemm node %q has %d inputs", dir, n.Name, len(n.Inputs))
			}
			if a, ok := n.Attrs["transA"]; ok && a.Int != 0 {
				return nil, fmt.Errorf("filters: %s: Gemm node %q transposes its input (transA = %d)", dir, n.Name, a.Int)
			}
			weight = n.Inputs[1]
			transposed = n.Attrs["transB"].Int == 0
		case "MatMul":
			if len(n.Inputs) < 2 {
				return nil, fmt.Errorf("filters: %s: MatMul node %q has %d inputs", dir, n.Name, len(n.Inputs))
			}
			weight, transposed = n.Inputs[1], true
		default:
			for _, in := range n.Inputs {
				if params[in] != nil { // a layer with weights: Conv, BatchNormalization, …
					return nil, fmt.Errorf("filters: %s: the first layer is the %s node %q, not dense", dir, n.Op, n.Name)
				}
			}
			continue // shapes, activations and the like
		}
		w := params[weight]
		if w == nil || len(w.Shape) != 2 {
			return nil, fmt.Errorf("filters: %s: the weight %q of %s node %q is not a 2-D parameter", dir, weight, n.Op, n.Name)
		}
		if !transposed {
			return w, nil
		}
		in, units := w.Shape[0], w.Shape[1]
		t := trainer.NewTensor(units, in)
		for i := range in {
			for j := range units {
				t.Data[j*in+i] = w.Data[i*units+j]
			}
		}
		return t, nil
	}
	return nil, fmt.Errorf("filters: %s: the graph has no dense layer (Gemm or MatMul)", dir)
}

// imageShape is the image shape of inputs values of m's input (all of it,
// or what its first layer takes), for the command cmd's errors.
func imageShape(cmd, dir string, m *trainer.Model, inputs int) (c, h, w int, err error) {
	shape := m.Config.Input
	if len(shape) > 0 && shape[0] < 0 { // a graph input's batch
		shape = shape[1:]
	}
	if trainerProduct(shape) != inputs {
		shape = []int{inputs}
	}
	c, h, w, err = imgrid.Shape(shape)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s: %s: %d values (model input %v) are not an image: %w", cmd, dir, inputs, m.Config.Input, err)
	}
	return c, h, w, nil
}

func trainerProduct(s []int) int {
	p := 1
	for _, d := range s {
		p *= d
	}
	return p
}

// filterImages returns, for each row Wⱼ of the (units, inputs) matrix w,
// xⱼ = Wⱼ/‖Wⱼ‖ scaled from its minimum to its maximum onto [0, 1]; a
// constant row is 0.5 throughout.
func filterImages(w []float32, units, inputs int) []float32 {
	out := make([]float32, units*inputs)
	for j := range units {
		row := w[j*inputs : (j+1)*inputs]
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		norm := math.Sqrt(ss)
		x := make([]float64, inputs)
		lo, hi := math.Inf(1), math.Inf(-1)
		for i, v := range row {
			if norm > 0 {
				x[i] = float64(v) / norm
			}
			lo, hi = min(lo, x[i]), max(hi, x[i])
		}
		dst := out[j*inputs : (j+1)*inputs]
		for i, v := range x {
			if hi > lo {
				dst[i] = float32((v - lo) / (hi - lo))
			} else {
				dst[i] = 0.5
			}
		}
	}
	return out
}

// upscale enlarges n planes of h×w values s times in each direction.
func upscale(x []float32, n, h, w, s int) []float32 {
	if s == 1 {
		return x
	}
	out := make([]float32, n*h*s*w*s)
	for k := range n {
		for y := range h * s {
			for xx := range w * s {
				out[k*h*s*w*s+y*w*s+xx] = x[k*h*w+(y/s)*w+xx/s]
			}
		}
	}
	return out
}
