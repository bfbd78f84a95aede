package dataset

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aebridge/aebridge/internal/limits"
)

// LoadPNGDir reads a folder of PNG images, in the order of their names, as
// samples of shape (1, H, W) when every image is greyscale and (3, H, W),
// RGB planes, otherwise (an alpha channel is dropped); values are the 8-bit
// levels divided by 255. A folder that holds no PNG files but subfolders of
// them is read as one class a subfolder, in the order of the subfolders'
// names (PyTorch's ImageFolder layout), and gives their labels. Every image
// must have the first one's size and kind, else the error names the first
// that differs. Sizes are read from the headers and checked against
// limits.MaxTensorElements before any image is decoded.
func LoadPNGDir(dir string) (*Set, error) {
	files, err := pngFiles(dir)
	if err != nil {
		return nil, err
	}
	var labels []int
	if len(files) == 0 {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		class := 0
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			sub, err := pngFiles(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, err
			}
			if len(sub) == 0 {
				continue
			}
			files = append(files, sub...)
			for range sub {
				labels = append(labels, class)
			}
			class++
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("dataset: %s: no PNG images (*.png) in the folder or its subfolders", dir)
		}
	}
	// Headers first: the sizes and kinds must agree before anything is
	// decoded or allocated.
	var w, h, c int
	for i, f := range files {
		cw, ch, cc, err := pngHeader(f)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			w, h, c = cw, ch, cc
			continue
		}
		if cw != w || ch != h {
			return nil, fmt.Errorf("dataset: %s: %d×%d pixels, but %s (the first) has %d×%d: the images of a folder must have one size", f, cw, ch, files[0], w, h)
		}
		if cc != c {
			return nil, fmt.Errorf("dataset: %s: %s, but %s (the first) is %s: the images of a folder must be all grey or all colour", f, kind(cc), files[0], kind(c))
		}
	}
	n, err := limits.ElementsInt([]int{len(files), c, h, w})
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %d images of %d×%d×%d: %w", dir, len(files), c, h, w, err)
	}
	x := make([]float32, 0, n)
	for _, f := range files {
		img, err := decodePNG(f)
		if err != nil {
			return nil, err
		}
		if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
			return nil, fmt.Errorf("dataset: %s: decodes to %d×%d pixels, its header says %d×%d", f, b.Dx(), b.Dy(), w, h)
		}
		x = appendPixels(x, img, c)
	}
	return &Set{Name: dir, Shape: []int{c, h, w}, X: x, Labels: labels, Bytes: true}, nil
}

func kind(c int) string {
	if c == 1 {
		return "greyscale"
	}
	return "colour"
}

// pngFiles lists the .png files directly in dir, sorted by name.
func pngFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".png") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(files)
	return files, nil
}

// pngHeader returns a PNG file's size and channel count (1 for a greyscale
// image, 3 otherwise).
func pngHeader(path string) (w, h, c int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("dataset: %s: %w", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return 0, 0, 0, fmt.Errorf("dataset: %s: %d×%d pixels", path, cfg.Width, cfg.Height)
	}
	c = channels(cfg.ColorModel)
	// Deflate shrinks data at most 1032:1: a header claiming more pixels
	// than the file's bytes can hold is refused before png.Decode sizes
	// its buffers by it.
	st, err := f.Stat()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("dataset: %w", err)
	}
	if claim, room := int64(cfg.Width)*int64(cfg.Height), maxDeflateRatio*st.Size(); claim > room {
		return 0, 0, 0, fmt.Errorf("dataset: %s: header claims %d×%d pixels, more than its %d bytes can hold", path, cfg.Width, cfg.Height, st.Size())
	}
	return cfg.Width, cfg.Height, c, nil
}

// maxDeflateRatio bounds how many pixels a PNG file's byte can carry:
// deflate's largest ratio is 1032:1, and a pixel takes at least one byte
// (an 8-bit grey one; a row adds its filter byte).
const maxDeflateRatio = 1032

func channels(m color.Model) int {
	switch m {
	case color.GrayModel, color.Gray16Model:
		return 1
	}
	if p, ok := m.(color.Palette); ok {
		for _, col := range p {
			r, g, b, _ := col.RGBA()
			if r != g || g != b {
				return 3
			}
		}
		return 1
	}
	return 3
}

func decodePNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", path, err)
	}
	return img, nil
}

// appendPixels appends img's c planes of 8-bit levels divided by 255.
func appendPixels(x []float32, img image.Image, c int) []float32 {
	b := img.Bounds()
	if c == 1 {
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for xx := b.Min.X; xx < b.Max.X; xx++ {
				g := color.GrayModel.Convert(img.At(xx, y)).(color.Gray)
				x = append(x, float32(g.Y)/255)
			}
		}
		return x
	}
	start := len(x)
	plane := b.Dx() * b.Dy()
	x = append(x, make([]float32, 3*plane)...)
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for xx := b.Min.X; xx < b.Max.X; xx++ {
			p := color.NRGBAModel.Convert(img.At(xx, y)).(color.NRGBA)
			x[start+i] = float32(p.R) / 255
			x[start+plane+i] = float32(p.G) / 255
			x[start+2*plane+i] = float32(p.B) / 255
			i++
		}
	}
	return x
}
