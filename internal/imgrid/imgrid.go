// Package imgrid lays images out in a grid and writes them as a PNG file.
package imgrid

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"

	"github.com/aebridge/aebridge/internal/atomicfile"
)

// Shape returns the (channels, height, width) of the samples of a batch
// whose per-sample shape is dims: (C, H, W) as given, (H, W) as one channel,
// and (D) as one square channel when D is a square (784 → 1×28×28). It
// returns an error for other shapes and for channel counts other than 1
// and 3.
func Shape(dims []int) (c, h, w int, err error) {
	switch len(dims) {
	case 3:
		c, h, w = dims[0], dims[1], dims[2]
	case 2:
		c, h, w = 1, dims[0], dims[1]
	case 1:
		side := int(math.Round(math.Sqrt(float64(dims[0]))))
		if side*side != dims[0] {
			return 0, 0, 0, fmt.Errorf("imgrid: %d values per sample is not a square image; give the image shape", dims[0])
		}
		c, h, w = 1, side, side
	default:
		return 0, 0, 0, fmt.Errorf("imgrid: samples of shape %v are not images", dims)
	}
	if c != 1 && c != 3 {
		return 0, 0, 0, fmt.Errorf("imgrid: %d channels (want 1 or 3)", c)
	}
	return c, h, w, nil
}

// Grid draws n images of c×h×w values in [0, 1] (planar), cols to a row,
// with a one-pixel border. Values outside [0, 1] are clipped to it, +Inf
// drawn white and −Inf black; a NaN has no level to draw and is an error
// naming the image, the channel and the pixel.
func Grid(data []float32, n, c, h, w, cols int) (image.Image, error) {
	if len(data) != n*c*h*w {
		return nil, fmt.Errorf("imgrid: %d values for %d images of %d×%d×%d", len(data), n, c, h, w)
	}
	for i, v := range data {
		if v != v {
			k, r := i/(c*h*w), i%(c*h*w)
			return nil, fmt.Errorf("imgrid: image %d, channel %d, pixel (x %d, y %d) is NaN", k, r/(h*w), r%w, r%(h*w)/w)
		}
	}
	if cols <= 0 || cols > n {
		cols = n
	}
	rows := (n + cols - 1) / cols
	img := image.NewRGBA(image.Rect(0, 0, cols*(w+1)+1, rows*(h+1)+1))
	for i := range img.Pix {
		img.Pix[i] = 255 // white border
	}
	level := func(v float32) uint8 {
		return uint8(math.Round(float64(min(max(v, 0), 1)) * 255))
	}
	for k := 0; k < n; k++ {
		x0, y0 := (k%cols)*(w+1)+1, (k/cols)*(h+1)+1
		sample := data[k*c*h*w : (k+1)*c*h*w]
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if c == 1 {
					g := level(sample[y*w+x])
					img.Set(x0+x, y0+y, color.RGBA{g, g, g, 255})
				} else {
					img.Set(x0+x, y0+y, color.RGBA{level(sample[y*w+x]), level(sample[h*w+y*w+x]), level(sample[2*h*w+y*w+x]), 255})
				}
			}
		}
	}
	return img, nil
}

// WriteFile writes the grid of Grid to path as a PNG, atomically; on an
// error (a NaN, too few values) it writes nothing.
func WriteFile(path string, data []float32, n, c, h, w, cols int) error {
	img, err := Grid(data, n, c, h, w, cols)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(out io.Writer) error { return png.Encode(out, img) })
}
