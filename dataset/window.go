package dataset

import (
	"fmt"

	"github.com/aebridge/aebridge/internal/limits"
)

// Windows cuts s, one series of s.Len() time steps of s.Dim() features
// (a CSV of one row per step), into the windows of window consecutive
// steps that start every stride steps: a set of per-sample shape (window,
// features). The steps after the last whole window are left out. It
// returns an error naming the sizes when s is not one series of vectors,
// window or stride is below 1, the series is shorter than a window, or the
// windows would hold more than limits.MaxTensorElements values.
func Windows(s *Set, window, stride int) (*Set, error) {
	switch {
	case len(s.Shape) != 1:
		return nil, fmt.Errorf("dataset: %s: windows need one series of vectors (a CSV row per step); its samples have shape %v", s.Name, s.Shape)
	case window < 1 || stride < 1:
		return nil, fmt.Errorf("dataset: %s: window %d and stride %d must be at least 1", s.Name, window, stride)
	case s.Len() < window:
		return nil, fmt.Errorf("dataset: %s: %d steps, shorter than a window of %d", s.Name, s.Len(), window)
	}
	f := s.Dim()
	n := (s.Len()-window)/stride + 1
	total, err := limits.ElementsInt([]int{n, window, f})
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %d windows of %d steps of %d features: %w", s.Name, n, window, f, err)
	}
	out := &Set{Name: s.Name, Shape: []int{window, f}, X: make([]float32, 0, total)}
	for i := range n {
		start := i * stride * f
		out.X = append(out.X, s.X[start:start+window*f]...)
	}
	return out, nil
}
