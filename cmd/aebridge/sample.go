package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/codes"
	"github.com/aebridge/aebridge/internal/imgrid"
	"github.com/aebridge/aebridge/internal/limits"
	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/runtime"
)

type sampleOptions struct {
	IO      *iostreams
	Library string
	Model   string // a model directory or a decoder ONNX file
	N       int
	Class   int // −1 for none
	Seed    uint64
	Out     string
	NPY     string
	Shape   []int
	Cols    int
}

func newCmdSample(f *factory, runF func(*sampleOptions) error) *cobra.Command {
	opts := &sampleOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "sample DIR|DECODER.onnx --n 64 [--class k] --out grid.png [--npy out.npy]",
		Short: "Draw codes from N(0, I) and decode them with a VAE decoder",
		Long: `Draw --n codes z ~ N(0, I) (seeded by --seed) and decode them with the
decoder of a trained VAE or CVAE directory (DIR/decoder.onnx) or any decoder
ONNX file whose first input is z (batch, latent) — a PyTorch export too.
A plain autoencoder, an encoder or a whole model is refused: their codes do
not follow N(0, I), or they are not decoders. A
conditional decoder's second input gets the one-hot --class. Writes a PNG
grid of the samples (image shape from the output, or --shape C,H,W) and,
with --npy, the samples as an array.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			opts.Library = f.Library
			if opts.N <= 0 {
				return &flagError{fmt.Errorf("--n %d must be positive", opts.N)}
			}
			if opts.Out == "" && opts.NPY == "" {
				return &flagError{errors.New("give --out grid.png, --npy out.npy or both")}
			}
			if !cmd.Flags().Changed("class") {
				opts.Class = -1
			} else if opts.Class < 0 {
				return &flagError{fmt.Errorf("--class %d must not be negative", opts.Class)}
			}
			if runF != nil {
				return runF(opts)
			}
			return sampleRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.IntVarP(&opts.N, "n", "n", 64, "number of samples")
	fl.IntVar(&opts.Class, "class", 0, "class k for a conditional decoder")
	fl.Uint64Var(&opts.Seed, "seed", 1, "seed of the codes")
	fl.StringVarP(&opts.Out, "out", "o", "", "PNG grid to write")
	fl.StringVar(&opts.NPY, "npy", "", "write the samples to this .npy file")
	fl.IntSliceVar(&opts.Shape, "shape", nil, "image shape C,H,W of a sample (default: from the output)")
	fl.IntVar(&opts.Cols, "cols", 8, "images per row of the grid")
	return cmd
}

// modelFile resolves a model directory to its file name, and returns any
// other path as it is.
func modelFile(path, name string) string {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return filepath.Join(path, name)
	}
	return path
}

func sampleRun(opts *sampleOptions) error {
	path := modelFile(opts.Model, "decoder.onnx")
	if err := checkGenerative(opts.Model, path); err != nil {
		return err
	}
	dec, err := runtime.Open(path, runtime.WithLibrary(opts.Library))
	if err != nil {
		return err
	}
	defer dec.Close()
	var x runtime.Tensor
	if prior, ok, err := readPrior(opts.Model); err != nil {
		return err
	} else if ok {
		// An ex-post density of the codes (rae): z from the mixture.
		z := prior.Sample(opts.N, rand.New(rand.NewPCG(opts.Seed, 0x7261)))
		if x, err = dec.Decode(runtime.Tensor{Shape: []int64{int64(opts.N), int64(prior.D)}, Data: z}); err != nil {
			return err
		}
	} else if _, x, err = dec.Sample(opts.N, opts.Class, opts.Seed); err != nil {
		return err
	}
	return writeImages(opts.IO, x, opts.Out, opts.NPY, opts.Shape, opts.Cols)
}

// checkGenerative checks that path (model's decoder file) is a generative
// decoder: for aebridge's exports, the decoder of a VAE or CVAE, as the
// metadata says; for other files, a graph that takes fewer values than it
// gives (not an encoder or a whole autoencoder).
func checkGenerative(model, path string) error {
	info, err := runtime.Inspect(path)
	if err != nil {
		return err
	}
	in, out := sampleSize(info.Inputs), sampleSize(info.Outputs)
	sizes := func(what string) error {
		return fmt.Errorf("%s takes %d values and gives %d: that is %s", path, in, out, what)
	}
	variant, part := info.Metadata["variant"], info.Metadata["part"]
	if info.Producer == "aebridge" && variant != "" {
		switch {
		case part == "encoder":
			return sizes("an encoder, give the decoder")
		case part == "full":
			return sizes("a whole autoencoder, give its decoder")
		case variant == "rae":
			if _, ok, err := readPrior(model); err != nil {
				return err
			} else if !ok {
				return fmt.Errorf("sample needs the density of an rae's codes, %s, which training writes", filepath.Join(model, priorFile))
			}
		case !vaeVariant(variant) && variant != "wae":
			return fmt.Errorf("sample needs the decoder of a model with a prior (vae, beta-vae, cvae, iwae, infovae, wae): %s is variant %s", model, variant)
		}
		return nil
	}
	switch {
	case in <= 0 || out <= 0: // shapes not given: let the run say
	case in > out:
		return sizes("an encoder, give the decoder")
	case in == out:
		return sizes("a whole autoencoder, give its decoder")
	}
	return nil
}

// sampleSize is the number of values per sample of the first of ios, or 0
// when its shape is not fixed.
func sampleSize(ios []runtime.IO) int {
	if len(ios) == 0 || !ios[0].HasShape || len(ios[0].Shape) < 2 {
		return 0
	}
	dims := make([]int64, len(ios[0].Shape)-1)
	for i, d := range ios[0].Shape[1:] {
		if d.Size <= 0 {
			return 0
		}
		dims[i] = d.Size
	}
	n, err := limits.Elements(dims)
	if err != nil {
		return 0
	}
	return int(n)
}

// writeImages writes samples as a PNG grid and/or a .npy array.
func writeImages(io *iostreams, x runtime.Tensor, png, npyPath string, shape []int, cols int) error {
	n := int(x.Shape[0])
	if npyPath != "" {
		dims := make([]int, len(x.Shape))
		for i, d := range x.Shape {
			dims[i] = int(d)
		}
		if err := npy.WriteFile(npyPath, dims, x.Data); err != nil {
			return err
		}
		fmt.Fprintf(io.Out, "wrote %s %v\n", npyPath, x.Shape)
	}
	if png == "" {
		return nil
	}
	if len(shape) == 0 {
		for _, d := range x.Shape[1:] {
			shape = append(shape, int(d))
		}
	}
	c, h, w, err := imgrid.Shape(shape)
	if err != nil {
		return err
	}
	if c*h*w*n != len(x.Data) {
		return fmt.Errorf("image shape %v does not fit samples of shape %v", shape, x.Shape[1:])
	}
	if err := imgrid.WriteFile(png, x.Data, n, c, h, w, cols); err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "wrote %s (%d images of %d×%d)\n", png, n, h, w)
	return nil
}

// priorFile is the ex-post density of an rae's codes in its directory: a
// Gaussian mixture fitted to the training codes, which sample draws from.
const priorFile = "prior.json"

// maxPriorBytes bounds prior.json: K·D² covariances of a few thousand
// values each.
const maxPriorBytes = 64 << 20

// readPrior reads DIR/prior.json if model is a directory holding one.
func readPrior(model string) (*codes.GaussianMixture, bool, error) {
	path := filepath.Join(model, priorFile)
	fh, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxPriorBytes+1))
	if err != nil {
		return nil, false, err
	}
	if len(b) > maxPriorBytes {
		return nil, false, fmt.Errorf("%s: more than %d bytes", path, maxPriorBytes)
	}
	g, err := codes.ReadGaussianMixture(b)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	return g, true, nil
}
