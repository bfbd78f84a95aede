package imgrid

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestShape(t *testing.T) {
	tests := []struct {
		dims    []int
		c, h, w int
		bad     bool
	}{
		{[]int{784}, 1, 28, 28, false},
		{[]int{1, 28, 28}, 1, 28, 28, false},
		{[]int{3, 4, 5}, 3, 4, 5, false},
		{[]int{6, 7}, 1, 6, 7, false},
		{[]int{700}, 0, 0, 0, true},
		{[]int{2, 4, 4}, 0, 0, 0, true},
	}
	for _, tt := range tests {
		c, h, w, err := Shape(tt.dims)
		if (err != nil) != tt.bad || (!tt.bad && (c != tt.c || h != tt.h || w != tt.w)) {
			t.Errorf("Shape(%v): got %d %d %d, %v", tt.dims, c, h, w, err)
		}
	}
}

func TestWriteFileLaysOutTheGrid(t *testing.T) {
	// Three 2×2 gray images, two to a row: 0, 0.5 and 1 (clipped from 2).
	data := []float32{0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5, 2, 2, 2, 2}
	path := filepath.Join(t.TempDir(), "g.png")
	if err := WriteFile(path, data, 3, 1, 2, 2, 2); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 7 || b.Dy() != 7 {
		t.Fatalf("size %v, want 7×7 (2 columns, 2 rows of 2×2 with borders)", b)
	}
	gray := func(x, y int) uint32 { r, _, _, _ := img.At(x, y).RGBA(); return r >> 8 }
	for _, tt := range []struct {
		x, y int
		want uint32
	}{{1, 1, 0}, {4, 2, 128}, {1, 4, 255}, {0, 0, 255}, {4, 5, 255}} {
		if got := gray(tt.x, tt.y); got != tt.want {
			t.Errorf("pixel (%d, %d): got %d, want %d", tt.x, tt.y, got, tt.want)
		}
	}
}

// TestWriteFileRefusesNaN checks that a NaN pixel is an error naming the
// image, the channel and the pixel, and that no file is written, while
// infinities are drawn as the clipped levels Grid documents.
func TestWriteFileRefusesNaN(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name    string
		data    []float32
		c       int
		wantErr string
	}{
		{"gray", []float32{0, 0, 0, 0, 0.5, 0.5, nan, 0.5}, 1, "imgrid: image 1, channel 0, pixel (x 0, y 1) is NaN"},
		{"rgb green", append(make([]float32, 4+1), nan, 0, 0, 0, 0, 0, 0), 3, "imgrid: image 0, channel 1, pixel (x 1, y 0) is NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "g.png")
			n := len(tt.data) / (tt.c * 4)
			err := WriteFile(path, tt.data, n, tt.c, 2, 2, n)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("got %v, want %q", err, tt.wantErr)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("got a file at %s (%v), want none", path, err)
			}
		})
	}
	t.Run("infinities", func(t *testing.T) {
		img, err := Grid([]float32{float32(math.Inf(1)), float32(math.Inf(-1)), 0, 1}, 1, 1, 2, 2, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			x, y int
			want uint32
		}{{1, 1, 255}, {2, 1, 0}} {
			if r, _, _, _ := img.At(tt.x, tt.y).RGBA(); r>>8 != tt.want {
				t.Errorf("pixel (%d, %d): got %d, want %d", tt.x, tt.y, r>>8, tt.want)
			}
		}
	})
}
