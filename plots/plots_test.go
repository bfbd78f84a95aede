package plots

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"
)

// decode decodes a PNG and checks its size and that it is not blank: it
// has at least `colours` distinct colours and some dark pixels.
func decode(t *testing.T, b []byte, w, h, colours int) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got != (image.Point{w, h}) {
		t.Fatalf("size: got %v, want %dx%d", got, w, h)
	}
	seen := map[color.RGBA]bool{}
	dark := 0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			seen[c] = true
			if int(c.R)+int(c.G)+int(c.B) < 300 {
				dark++
			}
		}
	}
	if len(seen) < colours || dark == 0 {
		t.Errorf("picture looks blank: %d colours (want ≥ %d), %d dark pixels", len(seen), colours, dark)
	}
	return img
}

func TestLossSeries(t *testing.T) {
	epochs := []Epoch{{1, 0.5, 0.6}, {2, 0.25, 0.3}, {3, 0.125, math.NaN()}}
	train, val := LossSeries(epochs)
	wantTrain := plotter.XYs{{X: 1, Y: 0.5}, {X: 2, Y: 0.25}, {X: 3, Y: 0.125}}
	wantVal := plotter.XYs{{X: 1, Y: 0.6}, {X: 2, Y: 0.3}}
	if len(train) != 3 || len(val) != 2 {
		t.Fatalf("got %v, %v", train, val)
	}
	for i := range wantTrain {
		if train[i] != wantTrain[i] {
			t.Errorf("train %d: got %v, want %v", i, train[i], wantTrain[i])
		}
	}
	for i := range wantVal {
		if val[i] != wantVal[i] {
			t.Errorf("val %d: got %v, want %v", i, val[i], wantVal[i])
		}
	}
}

func TestLossCurvePNG(t *testing.T) {
	for _, n := range []int{1, 3, 25} {
		var epochs []Epoch
		for e := 1; e <= n; e++ {
			epochs = append(epochs, Epoch{e, 1 / float64(e), 1.1 / float64(e)})
		}
		var b bytes.Buffer
		if err := LossCurve(&b, epochs, "mse per element", Size{400, 300}); err != nil {
			t.Fatal(err)
		}
		decode(t, b.Bytes(), 400, 300, 3)
	}
	var b bytes.Buffer
	if err := LossCurve(&b, []Epoch{{1, math.NaN(), 1}}, "mse", DefaultSize); err == nil || !strings.Contains(err.Error(), "epoch 1 has loss NaN") {
		t.Errorf("NaN: got %v", err)
	}
	if err := LossCurve(&b, nil, "mse", DefaultSize); err == nil {
		t.Error("no epochs: got no error")
	}
	if err := LossCurve(&b, []Epoch{{1, 1, 1}}, "mse", Size{10, 10}); err == nil {
		t.Error("tiny size: got no error")
	}
}

// TestProject2D: 2-D codes are kept; wider codes built as a·u + b·v + c
// (u, v orthonormal, each with a positive largest coefficient; a, b
// centred and uncorrelated, var a > var b) project to (a, b).
func TestProject2D(t *testing.T) {
	z := []float32{1, 2, 3, 4, 5, 6}
	p, err := Project2D(z, 3, 2)
	if err != nil || p[1] != [2]float64{3, 4} {
		t.Errorf("2-D: got %v, %v", p, err)
	}
	const n, d = 50, 4
	u := []float64{0.6, 0.8, 0, 0}  // largest coefficient positive
	v := []float64{0, 0, -0.6, 0.8} // likewise
	rng := rand.New(rand.NewPCG(1, 2))
	a, b := make([]float64, n), make([]float64, n)
	for i := range n {
		a[i], b[i] = 3*rng.NormFloat64(), 0.5*rng.NormFloat64()
	}
	// Centre both and make b uncorrelated with a in the sample, so that u
	// and v are exactly the principal directions.
	center := func(x []float64) {
		var m float64
		for _, v := range x {
			m += v / n
		}
		for i := range x {
			x[i] -= m
		}
	}
	center(a)
	center(b)
	var ab, aa float64
	for i := range n {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
	}
	for i := range n {
		b[i] -= ab / aa * a[i]
	}
	zs := make([]float32, n*d)
	for i := range n {
		for j := range d {
			zs[i*d+j] = float32(a[i]*u[j] + b[i]*v[j] + 7)
		}
	}
	p, err = Project2D(zs, n, d)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if got, want := p[i][0], a[i]; math.Abs(got-want) > 1e-5 {
			t.Errorf("sample %d, component 1: got %v, want %v", i, got, want)
		}
		if got, want := p[i][1], b[i]; math.Abs(got-want) > 1e-5 {
			t.Errorf("sample %d, component 2: got %v, want %v", i, got, want)
		}
	}
	if _, err := Project2D(zs[:7], n, d); err == nil {
		t.Error("short data: got no error")
	}
}

func TestCodeScatterPNG(t *testing.T) {
	pts := make([][2]float64, 40)
	labels := make([]int, 40)
	for i := range pts {
		labels[i] = i % 4
		pts[i] = [2]float64{float64(labels[i]) + 0.1*float64(i%3), float64(i)}
	}
	var b bytes.Buffer
	if err := CodeScatter(&b, pts, labels, true, DefaultSize); err != nil {
		t.Fatal(err)
	}
	decode(t, b.Bytes(), 640, 480, 5) // white, black and the four classes' colours
	b.Reset()
	if err := CodeScatter(&b, pts, nil, false, Size{200, 200}); err != nil {
		t.Fatal(err)
	}
	decode(t, b.Bytes(), 200, 200, 3)
	if err := CodeScatter(&b, pts, labels[:3], false, DefaultSize); err == nil || !strings.Contains(err.Error(), "3 labels for 40 points") {
		t.Errorf("got %v", err)
	}
}

// TestReconstructionGrid checks the grid pixel by pixel: inputs in the
// first row, reconstructions in the second, each value a scale×scale block
// inside one-pixel borders.
func TestReconstructionGrid(t *testing.T) {
	const n, h, w, scale = 3, 2, 2, 3
	in := make([]float32, n*h*w)
	rec := make([]float32, n*h*w)
	for i := range in {
		in[i] = float32(i) / float32(len(in))
		rec[i] = 1 - in[i]
	}
	path := filepath.Join(t.TempDir(), "grid.png")
	if err := WriteReconstructionGrid(path, in, rec, n, 1, h, w, scale); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	W, H := (n*(w+1)+1)*scale, (2*(h+1)+1)*scale
	img := decode(t, b, W, H, 3)
	for row, vals := range [][]float32{in, rec} {
		for k := range n {
			for y := range h {
				for x := range w {
					want := uint8(math.Round(float64(vals[k*h*w+y*w+x]) * 255))
					px := ((k*(w+1)+1+x)*scale + scale/2)
					py := ((row*(h+1)+1+y)*scale + scale/2)
					got := color.GrayModel.Convert(img.At(px, py)).(color.Gray).Y
					if got != want {
						t.Errorf("row %d, image %d, (%d, %d): got %d, want %d", row, k, x, y, got, want)
					}
				}
			}
		}
	}
	if err := WriteReconstructionGrid(path, in, rec[:3], n, 1, h, w, scale); err == nil {
		t.Error("short reconstructions: got no error")
	}
	if got := GridRows(in, rec); len(got) != 2*len(in) || got[0] != in[0] || got[len(in)] != rec[0] {
		t.Errorf("GridRows: got %v", got)
	}
}
