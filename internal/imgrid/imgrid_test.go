package imgrid

import (
	"image/png"
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
