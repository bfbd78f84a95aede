package dataset

import (
	"reflect"
	"strings"
	"testing"
)

func TestWindows(t *testing.T) {
	series := &Set{Name: "s.csv", Shape: []int{2}, X: []float32{0, 10, 1, 11, 2, 12, 3, 13, 4, 14}}
	tests := []struct {
		name           string
		window, stride int
		want           []float32
		wantErr        string
	}{
		{"stride 1", 3, 1, []float32{0, 10, 1, 11, 2, 12, 1, 11, 2, 12, 3, 13, 2, 12, 3, 13, 4, 14}, ""},
		{"stride 2, tail left out", 2, 3, []float32{0, 10, 1, 11, 3, 13, 4, 14}, ""},
		{"whole series", 5, 1, series.X, ""},
		{"too long", 6, 1, nil, "s.csv: 5 steps, shorter than a window of 6"},
		{"zero stride", 2, 0, nil, "window 2 and stride 0 must be at least 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Windows(series, tc.window, tc.stride)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Shape, []int{tc.window, 2}) || !reflect.DeepEqual(got.X, tc.want) {
				t.Errorf("got %v %v, want [%d 2] %v", got.Shape, got.X, tc.window, tc.want)
			}
		})
	}
	if _, err := Windows(&Set{Name: "img", Shape: []int{1, 2}, X: make([]float32, 4)}, 1, 1); err == nil || !strings.Contains(err.Error(), "one series of vectors") {
		t.Errorf("got %v, want the series error", err)
	}
}
