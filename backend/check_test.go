package backend

import (
	"math"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/runtime"
)

func TestComparePolygraphyRule(t *testing.T) {
	want := runtime.Tensor{Shape: []int64{2, 2}, Data: []float32{1, 100, 0, -4}}
	tests := []struct {
		name       string
		got        []float32
		atol, rtol float64
		failed     int
		worst      int
		maxAbs     float64
	}{
		// 100 → 100.5: |Δ| 0.5 > atol 0.1 but ≤ rtol 0.01·100, so it passes.
		{"relative saves it", []float32{1, 100.5, 0, -4}, 0.1, 0.01, 0, 1, 0.5},
		// 0 → 0.05: |Δ| ≤ atol although the relative error is infinite.
		{"absolute saves it", []float32{1, 100, 0.05, -4}, 0.1, 0.01, 0, 2, 0.05},
		// −4 → −3: 1 exceeds both 0.1 and 0.04.
		{"both exceeded", []float32{1, 100, 0, -3}, 0.1, 0.01, 1, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compare(runtime.Tensor{Shape: []int64{2, 2}, Data: tt.got}, want, tt.atol, tt.rtol)
			if err != nil {
				t.Fatal(err)
			}
			if s.Failed != tt.failed || s.Pass != (tt.failed == 0) || s.Worst != tt.worst || !(math.Abs(s.MaxAbs-tt.maxAbs) <= 1e-6) {
				t.Errorf("got %+v, want %d failed, worst %d, max abs %v", s, tt.failed, tt.worst, tt.maxAbs)
			}
		})
	}
	s, _ := Compare(runtime.Tensor{Shape: []int64{1}, Data: []float32{float32(math.NaN())}}, runtime.Tensor{Shape: []int64{1}, Data: []float32{1}}, 1, 1)
	if s.Pass {
		t.Error("a NaN against a number passed")
	}
	if _, err := Compare(runtime.Tensor{Shape: []int64{4}, Data: make([]float32, 4)}, want, 0, 0); err == nil {
		t.Error("different shapes: got nil error")
	}
}

// TestRandomInputsRefusesHugeShapes: the declared shape comes from the
// model file, so a shape past what a random check needs, or one whose
// product overflows, is an error before anything is allocated.
func TestRandomInputsRefusesHugeShapes(t *testing.T) {
	dims := func(sizes ...int64) []runtime.Dim {
		d := []runtime.Dim{{Size: -1, Name: "batch"}}
		for _, s := range sizes {
			d = append(d, runtime.Dim{Size: s})
		}
		return d
	}
	tests := []struct {
		name    string
		shape   []runtime.Dim
		wantErr string
	}{
		{"fits", dims(1, 28, 28), ""},
		{"past the limit", dims(1, 4096, 4096), "past the 67108864 a check on random samples draws"},
		{"overflows", dims(1<<40, 1<<40), "exceeds aebridge's limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := &runtime.Info{Inputs: []runtime.IO{{Name: "x", Type: "float32", Shape: tt.shape, HasShape: true}}}
			var before, after goruntime.MemStats
			goruntime.ReadMemStats(&before)
			in, err := RandomInputs(info, 8, 1)
			goruntime.ReadMemStats(&after)
			if tt.wantErr == "" {
				if err != nil || len(in) != 1 || len(in[0].Data) != 8*28*28 {
					t.Fatalf("got %d inputs, %v, want one of 8×784 values", len(in), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
			if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
				t.Errorf("allocated %d bytes, want under 1 MiB", d)
			}
		})
	}
}
