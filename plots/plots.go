// Package plots draws the pictures of a training run as PNG images with
// gonum's plot: the loss curve (training and validation loss per epoch), a
// grid of inputs over their reconstructions, and a 2-D scatter of codes
// coloured by class (the codes' two dimensions, or their first two
// principal components when the code is wider).
//
// Each picture has a function that computes the data it plots (LossSeries,
// Project2D) and one that draws it to an io.Writer; the Write* functions
// write a file atomically (a temporary file renamed into place).
package plots

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/aebridge/aebridge/internal/atomicfile"
	"github.com/aebridge/aebridge/internal/imgrid"
)

// DPI is the resolution the plots are drawn at: a plot of Width × Height
// points is that many pixels.
const DPI = 72

// Size is a plot's size in pixels.
type Size struct{ Width, Height int }

// DefaultSize is the size of the loss curve and the code scatter.
var DefaultSize = Size{Width: 640, Height: 480}

func (s Size) check() error {
	if s.Width < 64 || s.Height < 64 || s.Width > 8192 || s.Height > 8192 {
		return fmt.Errorf("plots: size %d×%d: want 64 to 8192 pixels a side", s.Width, s.Height)
	}
	return nil
}

// Epoch is one epoch's losses, as the trainer reports them.
type Epoch struct {
	Epoch     int
	TrainLoss float64
	ValLoss   float64 // NaN when there is no validation split
}

// LossSeries returns the points the loss curve plots: (epoch, training
// loss) for every epoch, and (epoch, validation loss) for those that have
// one.
func LossSeries(epochs []Epoch) (train, val plotter.XYs) {
	for _, e := range epochs {
		train = append(train, plotter.XY{X: float64(e.Epoch), Y: e.TrainLoss})
		if !math.IsNaN(e.ValLoss) {
			val = append(val, plotter.XY{X: float64(e.Epoch), Y: e.ValLoss})
		}
	}
	return train, val
}

// LossCurve draws the training and validation loss per epoch; what names
// the loss ("mse per element") on the y axis.
func LossCurve(w io.Writer, epochs []Epoch, what string, size Size) error {
	if err := size.check(); err != nil {
		return err
	}
	if len(epochs) == 0 {
		return errors.New("plots: loss curve: no epochs")
	}
	train, val := LossSeries(epochs)
	for _, s := range []plotter.XYs{train, val} {
		for _, p := range s {
			if math.IsNaN(p.Y) || math.IsInf(p.Y, 0) {
				return fmt.Errorf("plots: loss curve: epoch %v has loss %v", p.X, p.Y)
			}
		}
	}
	p := plot.New()
	p.Title.Text = "loss"
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = what
	p.Add(plotter.NewGrid())
	if err := addLine(p, "train", train, 0); err != nil {
		return err
	}
	if len(val) > 0 {
		if err := addLine(p, "validation", val, 1); err != nil {
			return err
		}
	}
	p.Legend.Top = true
	if n := len(epochs); n < 10 {
		ticks := make([]plot.Tick, 0, n)
		for _, e := range epochs {
			ticks = append(ticks, plot.Tick{Value: float64(e.Epoch), Label: fmt.Sprint(e.Epoch)})
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
	}
	if len(epochs) == 1 { // one point: give the axis some width
		p.X.Min, p.X.Max = float64(epochs[0].Epoch)-1, float64(epochs[0].Epoch)+1
	}
	return writePNG(w, p, size)
}

func addLine(p *plot.Plot, name string, xys plotter.XYs, k int) error {
	l, s, err := plotter.NewLinePoints(xys)
	if err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	l.Color = plotutil.Color(k)
	l.Width = vg.Points(2)
	s.Color = plotutil.Color(k)
	s.Shape = draw.CircleGlyph{}
	p.Add(l, s)
	p.Legend.Add(name, l, s)
	return nil
}

// Project2D returns the points the code scatter plots for n codes of d
// values: the codes themselves when d is 2, else their first two principal
// components (the codes centred and projected on the two directions of
// largest variance; each direction's sign chosen so that its largest
// coefficient is positive, so the picture does not flip from run to run).
// d = 1 gives (code, 0).
func Project2D(z []float32, n, d int) ([][2]float64, error) {
	if n <= 0 || d <= 0 || len(z) != n*d {
		return nil, fmt.Errorf("plots: %d values for %d codes of %d", len(z), n, d)
	}
	out := make([][2]float64, n)
	switch {
	case d == 1:
		for i := range out {
			out[i] = [2]float64{float64(z[i]), 0}
		}
		return out, nil
	case d == 2:
		for i := range out {
			out[i] = [2]float64{float64(z[2*i]), float64(z[2*i+1])}
		}
		return out, nil
	case n < 2:
		return nil, fmt.Errorf("plots: principal components of %d code", n)
	}
	a := mat.NewDense(n, d, nil)
	for i := range n {
		for j := range d {
			a.Set(i, j, float64(z[i*d+j]))
		}
	}
	var pc stat.PC
	if !pc.PrincipalComponents(a, nil) {
		return nil, errors.New("plots: principal components: the decomposition failed")
	}
	var vecs mat.Dense
	pc.VectorsTo(&vecs)
	k := min(2, vecs.RawMatrix().Cols)
	dirs := make([][]float64, k)
	for c := range k {
		dir := make([]float64, d)
		big := 0
		for j := range d {
			dir[j] = vecs.At(j, c)
			if math.Abs(dir[j]) > math.Abs(dir[big]) {
				big = j
			}
		}
		if dir[big] < 0 {
			for j := range dir {
				dir[j] = -dir[j]
			}
		}
		dirs[c] = dir
	}
	mean := make([]float64, d)
	for i := range n {
		for j := range d {
			mean[j] += a.At(i, j) / float64(n)
		}
	}
	for i := range n {
		for c, dir := range dirs {
			var s float64
			for j := range d {
				s += (a.At(i, j) - mean[j]) * dir[j]
			}
			out[i][c] = s
		}
	}
	return out, nil
}

// CodeScatter draws points (from Project2D) coloured by class; labels may
// be nil (one colour). pca says the axes are principal components.
func CodeScatter(w io.Writer, points [][2]float64, labels []int, pca bool, size Size) error {
	if err := size.check(); err != nil {
		return err
	}
	if len(points) == 0 {
		return errors.New("plots: code scatter: no points")
	}
	if labels != nil && len(labels) != len(points) {
		return fmt.Errorf("plots: code scatter: %d labels for %d points", len(labels), len(points))
	}
	for i, pt := range points {
		for _, v := range pt {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("plots: code scatter: point %d is %v", i, pt)
			}
		}
	}
	p := plot.New()
	p.Title.Text = "codes"
	p.X.Label.Text, p.Y.Label.Text = "z₁", "z₂"
	if pca {
		p.X.Label.Text, p.Y.Label.Text = "principal component 1", "principal component 2"
	}
	p.Add(plotter.NewGrid())
	groups := map[int]plotter.XYs{}
	for i, pt := range points {
		c := 0
		if labels != nil {
			c = labels[i]
		}
		groups[c] = append(groups[c], plotter.XY{X: pt[0], Y: pt[1]})
	}
	classes := make([]int, 0, len(groups))
	for c := range groups {
		classes = append(classes, c)
	}
	slices.Sort(classes)
	for k, c := range classes {
		s, err := plotter.NewScatter(groups[c])
		if err != nil {
			return fmt.Errorf("plots: %w", err)
		}
		s.Color = classColor(k)
		s.Shape = draw.CircleGlyph{}
		s.Radius = vg.Points(2)
		p.Add(s)
		if labels != nil {
			p.Legend.Add(fmt.Sprint(c), s)
		}
	}
	p.Legend.Top = true
	return writePNG(w, p, size)
}

// classColor is the colour of the k-th class: Tableau's ten, then
// plotutil's palette.
func classColor(k int) color.Color {
	tab := []color.RGBA{{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255},
		{140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255}}
	if k < len(tab) {
		return tab[k]
	}
	return plotutil.Color(k)
}

func writePNG(w io.Writer, p *plot.Plot, size Size) error {
	wd, ht := vg.Length(size.Width)*vg.Inch/DPI, vg.Length(size.Height)*vg.Inch/DPI
	c := vgimg.NewWith(vgimg.UseWH(wd, ht), vgimg.UseDPI(DPI), vgimg.UseBackgroundColor(color.White))
	p.Draw(draw.New(c))
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(w); err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	return nil
}

// ReconstructionGrid draws n inputs (c×h×w values in [0, 1], planar) in a
// row above their n reconstructions, each pixel a scale×scale block.
func ReconstructionGrid(w io.Writer, inputs, recons []float32, n, c, h, wd, scale int) error {
	img, err := reconstructionImage(inputs, recons, n, c, h, wd, scale)
	if err != nil {
		return err
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	return nil
}

// GridRows is the values ReconstructionGrid draws: the inputs, then the
// reconstructions, each row n images.
func GridRows(inputs, recons []float32) []float32 {
	return append(slices.Clone(inputs), recons...)
}

func reconstructionImage(inputs, recons []float32, n, c, h, w, scale int) (image.Image, error) {
	size := c * h * w
	switch {
	case n <= 0 || size <= 0:
		return nil, fmt.Errorf("plots: grid of %d images of %d×%d×%d", n, c, h, w)
	case len(inputs) != n*size || len(recons) != n*size:
		return nil, fmt.Errorf("plots: grid: %d inputs and %d reconstructed values for %d images of %d×%d×%d", len(inputs), len(recons), n, c, h, w)
	case scale < 1 || scale > 32:
		return nil, fmt.Errorf("plots: grid scale %d: want 1 to 32", scale)
	}
	g, err := imgrid.Grid(GridRows(inputs, recons), 2*n, c, h, w, n)
	if err != nil {
		return nil, fmt.Errorf("plots: %w", err)
	}
	if scale == 1 {
		return g, nil
	}
	b := g.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx()*scale, b.Dy()*scale))
	for y := 0; y < b.Dy()*scale; y++ {
		for x := 0; x < b.Dx()*scale; x++ {
			out.Set(x, y, g.At(x/scale, y/scale))
		}
	}
	return out, nil
}

// WriteLossCurve writes LossCurve's picture to path atomically.
func WriteLossCurve(path string, epochs []Epoch, what string, size Size) error {
	return atomicfile.Write(path, func(w io.Writer) error { return LossCurve(w, epochs, what, size) })
}

// WriteCodeScatter writes CodeScatter's picture to path atomically.
func WriteCodeScatter(path string, points [][2]float64, labels []int, pca bool, size Size) error {
	return atomicfile.Write(path, func(w io.Writer) error { return CodeScatter(w, points, labels, pca, size) })
}

// WriteReconstructionGrid writes ReconstructionGrid's picture to path
// atomically.
func WriteReconstructionGrid(path string, inputs, recons []float32, n, c, h, w, scale int) error {
	return atomicfile.Write(path, func(out io.Writer) error { return ReconstructionGrid(out, inputs, recons, n, c, h, w, scale) })
}
