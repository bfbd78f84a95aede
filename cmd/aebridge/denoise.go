package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/internal/imgrid"
	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/trainer"
)

type denoiseOptions struct {
	IO     *iostreams
	Model  string // a model directory
	Input  string
	Noise  string // "" for the model's training noise
	Seed   uint64
	Output string
	N      int
}

func newCmdDenoise(f *factory, runF func(*denoiseOptions) error) *cobra.Command {
	opts := &denoiseOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "denoise DIR --input X.npy [--noise gaussian:σ|masking:p|salt-pepper:p] [--seed N] --output grid.png",
		Short: "Corrupt inputs, reconstruct them and report the PSNR gain",
		Long: `Corrupt each sample of --input (values in [0, 1], or uint8 divided by 255)
with --noise, the same corruption as training uses (aebridge train
--noise): gaussian:σ adds N(0, σ²) to every value (clipped to [0, 1] when
the model was trained with --noise-clip); masking:p (or mask:p) sets each
value to 0 with probability p; salt-pepper:p sets it to 0 or 1. Without
--noise, the model's own training noise. The noise is drawn from --seed.

The model directory's Go model reconstructs the corrupted inputs (no ONNX
Runtime needed). Prints PSNR(noisy, clean), PSNR(reconstructed, clean)
and the gain in dB, PSNR = 10·log10(1/MSE) over all values, and writes a
PNG grid of the first --n samples: noisy, reconstructed and clean rows.`,
		Example: `  aebridge denoise out/ --input test.npy --noise gaussian:0.3 --output denoise.png`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			if opts.Input == "" || opts.Output == "" {
				return &flagError{errors.New("--input and --output are required")}
			}
			if err := checkExt("--output", opts.Output, ".png"); err != nil {
				return err
			}
			if opts.Noise != "" {
				if _, _, err := parseNoise(opts.Noise); err != nil {
					return &flagError{err}
				}
			}
			if opts.N <= 0 {
				return &flagError{fmt.Errorf("--n %d must be positive", opts.N)}
			}
			if runF != nil {
				return runF(opts)
			}
			return denoiseRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Input, "input", "i", "", "clean samples, `X.npy` or a data set reference (fashion-mnist:test[:256], a CSV or IDX file, a folder of PNG images)")
	fl.StringVar(&opts.Noise, "noise", "", "corruption `KIND:LEVEL`: gaussian:σ, masking:p or salt-pepper:p (default: the model's training noise)")
	fl.Uint64Var(&opts.Seed, "seed", 1, "seed of the noise")
	fl.StringVarP(&opts.Output, "output", "o", "", "PNG grid to write, `grid.png`")
	fl.IntVarP(&opts.N, "n", "n", 8, "samples in the grid")
	return cmd
}

// parseNoise parses a --noise value into trainer.Corrupt's kind and level.
func parseNoise(s string) (kind string, level float64, err error) {
	name, num, ok := strings.Cut(s, ":")
	bad := func(why string) error {
		return fmt.Errorf("--noise %q: %s (want gaussian:σ, masking:p or salt-pepper:p)", s, why)
	}
	if !ok {
		return "", 0, bad("no level")
	}
	level, err = strconv.ParseFloat(num, 64)
	if err != nil {
		return "", 0, bad("level " + strconv.Quote(num) + " is not a number")
	}
	switch name {
	case "gaussian":
		if !(level > 0) || math.IsInf(level, 0) {
			return "", 0, bad("σ must be positive and finite")
		}
		return "gaussian", level, nil
	case "masking", "mask", "salt-pepper":
		if !(level > 0 && level < 1) {
			return "", 0, bad("the probability must be in (0, 1)")
		}
		if name == "masking" {
			name = "mask"
		}
		return name, level, nil
	}
	return "", 0, bad("unknown kind " + strconv.Quote(name))
}

// denoiseResult is what a denoising run found.
type denoiseResult struct {
	Noisy, Reconstructed, Clean []float32 // (N, D) each
	N, D                        int
	PSNRNoisy, PSNRRecon        float64
}

func denoiseRun(opts *denoiseOptions) error {
	m, file, err := trainer.Load(opts.Model)
	if err != nil {
		return err
	}
	kind, level, clip := "", 0.0, false
	if file.Training != nil && file.Training.Reg.Noise != "" {
		kind, level, clip = file.Training.Reg.Noise, file.Training.Reg.NoiseLevel, file.Training.Reg.NoiseClip
	}
	if opts.Noise != "" {
		if kind, level, err = parseNoise(opts.Noise); err != nil {
			return &flagError{err}
		}
	} else if kind == "" {
		return &flagError{fmt.Errorf("%s was not trained with noise: give --noise gaussian:σ, masking:p or salt-pepper:p", opts.Model)}
	}
	clip = clip && kind == "gaussian"
	// The grid's image shape, checked before anything is printed.
	c, h, w, err := imageShape("denoise", opts.Model, m, modelInputSize(m))
	if err != nil {
		return err
	}
	arr, _, err := readArray("--input", opts.Input)
	if err != nil {
		return err
	}
	res, err := denoise(m, opts.Model, opts.Input, arr, kind, level, clip, opts.Seed)
	if err != nil {
		return err
	}
	noise := fmt.Sprintf("%s:%g", kind, level)
	fmt.Fprintf(opts.IO.Out, "noise %s on %d samples of %s\n", noise, res.N, opts.Input)
	fmt.Fprintf(opts.IO.Out, "PSNR(noisy, clean)          %.2f dB\n", res.PSNRNoisy)
	fmt.Fprintf(opts.IO.Out, "PSNR(reconstructed, clean)  %.2f dB\n", res.PSNRRecon)
	fmt.Fprintf(opts.IO.Out, "gain                        %+.2f dB\n", res.PSNRRecon-res.PSNRNoisy)

	n := min(opts.N, res.N)
	grid := make([]float32, 0, 3*n*res.D)
	for _, rows := range [][]float32{res.Noisy, res.Reconstructed, res.Clean} {
		grid = append(grid, rows[:n*res.D]...)
	}
	if err := imgrid.WriteFile(opts.Output, grid, 3*n, c, h, w, n); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "wrote %s (noisy, reconstructed and clean rows of %d images of %d×%d)\n", opts.Output, n, h, w)
	return nil
}

// denoise corrupts the samples of arr (read from input) and reconstructs
// them with m (from dir).
func denoise(m *trainer.Model, dir, input string, arr *npy.Array, kind string, level float64, clip bool, seed uint64) (*denoiseResult, error) {
	if m.Config.Part != "" {
		return nil, fmt.Errorf("denoise: %s is the %s of an autoencoder, not a whole one", dir, m.Config.Part)
	}
	if m.Config.Condition > 0 {
		return nil, fmt.Errorf("denoise: %s is a conditional model (condition of %d features), which denoise does not run", dir, m.Config.Condition)
	}
	d := modelInputSize(m)
	if out := trainerProduct(m.OutputShape()); out != d {
		return nil, fmt.Errorf("denoise: %s gives %v per sample for inputs of %v: not an autoencoder", dir, m.OutputShape(), m.Config.Input)
	}
	if len(arr.Shape) < 1 || arr.Shape[0] == 0 {
		return nil, fmt.Errorf("denoise: --input %s: shape %v holds no samples", input, arr.Shape)
	}
	n := arr.Shape[0]
	if trainerProduct(arr.Shape[1:]) != d {
		return nil, fmt.Errorf("denoise: --input %s: samples of shape %v, the model %s takes %v", input, arr.Shape[1:], dir, m.Config.Input)
	}
	clean := make([]float32, len(arr.Data))
	for i, v := range arr.Data {
		if arr.DType == "uint8" {
			v /= 255
		}
		if !(v >= 0 && v <= 1) {
			return nil, fmt.Errorf("denoise: --input %s: value %v at index %d is outside [0, 1]", input, arr.Data[i], i)
		}
		clean[i] = v
	}
	x := &trainer.Tensor{Shape: []int{n, d}, Data: clean}
	noisy := trainer.NewTensor(n, d)
	trainer.Corrupt(noisy, nil, x, kind, level, clip, rand.New(rand.NewPCG(seed, 0x6e6f697365)))
	recon := make([]float32, 0, n*d)
	const chunk = 256
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		in := &trainer.Tensor{Shape: []int{hi - lo, d}, Data: noisy.Data[lo*d : hi*d]}
		out := m.Forward(in)
		if len(out.Data) != (hi-lo)*d {
			return nil, fmt.Errorf("denoise: %s gave %v for a batch of %d samples", dir, out.Shape, hi-lo)
		}
		recon = append(recon, out.Data...)
	}
	return &denoiseResult{
		Noisy: noisy.Data, Reconstructed: recon, Clean: clean, N: n, D: d,
		PSNRNoisy: psnr(noisy.Data, clean), PSNRRecon: psnr(recon, clean),
	}, nil
}

// psnr is the peak signal-to-noise ratio of a against b, for data in
// [0, 1]: 10·log10(1/MSE) in dB, +Inf when they are equal.
func psnr(a, b []float32) float64 {
	var ss float64
	for i := range a {
		e := float64(a[i]) - float64(b[i])
		ss += e * e
	}
	mse := ss / float64(len(a))
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(1/mse)
}

// modelInputSize is the number of values of one sample of m's input.
func modelInputSize(m *trainer.Model) int {
	if len(m.Config.Input) > 0 && m.Config.Input[0] < 0 { // a graph input's batch
		return trainerProduct(m.Config.Input[1:])
	}
	return trainerProduct(m.Config.Input)
}
