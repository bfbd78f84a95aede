package anomaly

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestFitContaminationIsPyODsPercentile(t *testing.T) {
	ramp := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	tests := []struct {
		name   string
		scores []float32
		p      float64
		want   float64 // numpy.percentile(scores, 100·(1 − p)), worked by hand
	}{
		// h = (n − 1)·q = 9·0.9 = 8.1: 9 + 0.1·(10 − 9).
		{"default contamination", ramp, 0, 9.1},
		{"p 0.5", ramp, 0.5, 5.5},
		// 4·0.75 = 3, an order statistic.
		{"on an order statistic", []float32{4, 0, 3, 1, 2}, 0.25, 3},
		{"ties", []float32{1, 2, 2, 2, 3}, 0.4, 2},
		{"one score", []float32{0.5}, 0.2, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Detector{Contamination: tt.p}
			if err := d.Fit(tt.scores); err != nil {
				t.Fatal(err)
			}
			if got := d.Threshold(); !(math.Abs(got-tt.want) <= 1e-12) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFitFPR(t *testing.T) {
	ramp := []float32{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}
	tests := []struct {
		name   string
		scores []float32
		f      float64
		want   float64
	}{
		{"one of ten above", ramp, 0.1, 9},
		{"still one", ramp, 0.15, 9},
		{"none above", ramp, 0.05, 10},
		{"0.3·10 rounds down to 3", ramp, 0.3, 7},
		{"ties", []float32{1, 2, 2, 2, 3}, 0.4, 2},
		{"ties, one above allowed", []float32{1, 2, 2, 2, 3}, 0.2, 2},
		{"ties, none above allowed", []float32{1, 2, 2, 2, 3}, 0.1, 3},
		{"nearly all", ramp, 0.999999999999, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Detector{FPR: tt.f}
			if err := d.Fit(tt.scores); err != nil {
				t.Fatal(err)
			}
			if got := d.Threshold(); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFitFPRBruteForce checks the FPR rule on random scores with ties: at
// most ⌊f·n⌋ fitting scores lie above the threshold, which is a fitting
// score, and any smaller fitting score would let more through.
func TestFitFPRBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(40)
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.IntN(8))
		}
		f := 0.01 + 0.98*rng.Float64()
		d := Detector{FPR: f}
		if err := d.Fit(s); err != nil {
			t.Fatal(err)
		}
		th := d.Threshold()
		allowed := int(math.Floor(f*float64(n) + 1e-9))
		count := func(t float64) int {
			c := 0
			for _, v := range s {
				if float64(v) > t {
					c++
				}
			}
			return c
		}
		if !slices.Contains(s, float32(th)) || count(th) > allowed {
			t.Fatalf("scores %v, f %v: threshold %v lets %d through, want ≤ %d and a fitting score", s, f, th, count(th), allowed)
		}
		for _, v := range s {
			if float64(v) < th && count(float64(v)) <= allowed {
				t.Fatalf("scores %v, f %v: got threshold %v, want %v (smaller, still within f)", s, f, th, v)
			}
		}
	}
}

func TestFitErrors(t *testing.T) {
	tests := []struct {
		name    string
		d       Detector
		scores  []float32
		wantErr string
	}{
		{"contamination 1", Detector{Contamination: 1}, []float32{1}, "contamination 1 is outside (0, 1)"},
		{"negative contamination", Detector{Contamination: -0.1}, []float32{1}, "contamination -0.1 is outside (0, 1)"},
		{"NaN contamination", Detector{Contamination: math.NaN()}, []float32{1}, "contamination NaN is outside (0, 1)"},
		{"FPR 0 with contamination", Detector{Contamination: 0.1, FPR: 0.2}, []float32{1}, "both set"},
		{"FPR 1.5", Detector{FPR: 1.5}, []float32{1}, "false-positive rate 1.5 is outside (0, 1)"},
		{"no scores", Detector{}, nil, "no scores to fit"},
		{"NaN score", Detector{}, []float32{1, float32(math.NaN())}, "score 1 is NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.Fit(tt.scores)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
			if !math.IsNaN(tt.d.Threshold()) {
				t.Errorf("threshold after a failed fit: got %v, want NaN", tt.d.Threshold())
			}
		})
	}
}

func TestPredict(t *testing.T) {
	var d Detector
	if _, err := d.Predict([]float32{1}); !errors.Is(err, ErrNotFitted) {
		t.Errorf("before Fit: got %v, want ErrNotFitted", err)
	}
	if err := d.SetThreshold(9.1); err != nil {
		t.Fatal(err)
	}
	got, err := d.Predict([]float32{9, 9.1, 9.2, 100, -1})
	if err != nil {
		t.Fatal(err)
	}
	// float32(9.1) is 9.1000003814697265625 > 9.1: above.
	if want := []bool{false, true, true, true, false}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := d.Predict([]float32{0, float32(math.NaN())}); err == nil || err.Error() != "anomaly: score 1 is NaN" {
		t.Errorf("NaN: got %v", err)
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1)} {
		if err := d.SetThreshold(bad); err == nil {
			t.Errorf("SetThreshold(%v): got no error", bad)
		}
	}
}

func TestROCAUCAndAveragePrecision(t *testing.T) {
	tests := []struct {
		name    string
		scores  []float32
		labels  []bool
		auc, ap float64 // worked by hand
	}{
		// sklearn's documented example: roc_auc_score 0.75,
		// average_precision_score 0.8333.
		{"sklearn's example", []float32{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75, 5.0 / 6},
		// Pairs: 2 beats 1, ties 2 (½), 3 beats both: 3.5/4. AP: at 3,
		// R ½, P 1; at 2, R 1, P ⅔: ½ + ⅓.
		{"a tie across classes", []float32{1, 2, 2, 3}, []bool{false, false, true, true}, 0.875, 5.0 / 6},
		{"all tied", []float32{5, 5, 5, 5}, []bool{true, false, true, false}, 0.5, 0.5},
		{"perfect", []float32{0, 1, 2, 3}, []bool{false, false, true, true}, 1, 1},
		// AP: at 3 only the normal sample, R 0; at 2, P ½, R ½; at 1,
		// P ⅔, R 1: ½·½ + ½·⅔.
		{"reversed", []float32{1, 2, 3}, []bool{true, true, false}, 0, 0.25 + 1.0/3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auc, err := ROCAUC(tt.scores, tt.labels)
			if err != nil {
				t.Fatal(err)
			}
			if !(math.Abs(auc-tt.auc) <= 1e-12) {
				t.Errorf("ROC-AUC: got %v, want %v", auc, tt.auc)
			}
			ap, err := AveragePrecision(tt.scores, tt.labels)
			if err != nil {
				t.Fatal(err)
			}
			if !(math.Abs(ap-tt.ap) <= 1e-12) {
				t.Errorf("AP: got %v, want %v", ap, tt.ap)
			}
		})
	}
}

// bruteAUC is the Mann–Whitney probability over all (anomaly, normal)
// pairs: 1 when the anomaly scores higher, ½ on a tie.
func bruteAUC(s []float32, y []bool) float64 {
	var sum, pairs float64
	for i := range s {
		for j := range s {
			if !y[i] || y[j] {
				continue
			}
			pairs++
			switch {
			case s[i] > s[j]:
				sum++
			case s[i] == s[j]:
				sum += 0.5
			}
		}
	}
	return sum / pairs
}

// bruteAP is the mean, over the anomalies, of the precision among the
// samples scoring at least as high: average precision with tied scores
// as one threshold.
func bruteAP(s []float32, y []bool) float64 {
	var sum, pos float64
	for i := range s {
		if !y[i] {
			continue
		}
		pos++
		var tp, all float64
		for j := range s {
			if s[j] >= s[i] {
				all++
				if y[j] {
					tp++
				}
			}
		}
		sum += tp / all
	}
	return sum / pos
}

func TestMetricsAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 300; trial++ {
		n := 2 + rng.IntN(60)
		s, y := make([]float32, n), make([]bool, n)
		for i := range s {
			s[i] = float32(rng.IntN(1 + rng.IntN(20))) // many ties
			y[i] = rng.IntN(3) == 0
		}
		y[0], y[1] = true, false
		auc, err := ROCAUC(s, y)
		if err != nil {
			t.Fatal(err)
		}
		if want := bruteAUC(s, y); !(math.Abs(auc-want) <= 1e-12) {
			t.Fatalf("ROC-AUC of %v, %v: got %v, want %v", s, y, auc, want)
		}
		ap, err := AveragePrecision(s, y)
		if err != nil {
			t.Fatal(err)
		}
		if want := bruteAP(s, y); !(math.Abs(ap-want) <= 1e-12) {
			t.Fatalf("AP of %v, %v: got %v, want %v", s, y, ap, want)
		}
	}
}

func TestMetricErrors(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name    string
		fn      func() error
		wantErr string
	}{
		{"AUC length", func() error { _, err := ROCAUC([]float32{1, 2}, []bool{true}); return err }, "2 scores but 1 labels"},
		{"AUC one class", func() error { _, err := ROCAUC([]float32{1, 2}, []bool{true, true}); return err }, "2 anomalies and 0 normal samples"},
		{"AUC NaN", func() error { _, err := ROCAUC([]float32{1, nan}, []bool{true, false}); return err }, "score 1 is NaN"},
		{"AP no anomaly", func() error { _, err := AveragePrecision([]float32{1, 2}, []bool{false, false}); return err }, "no anomaly"},
		{"AP empty", func() error { _, err := AveragePrecision(nil, nil); return err }, "no scores"},
		{"confusion length", func() error { _, err := ConfusionAt([]float32{1}, nil, 0); return err }, "1 scores but 0 labels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.fn(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestConfusionAt(t *testing.T) {
	scores := []float32{0.1, 0.5, 0.5, 0.9, 0.2, 0.7}
	labels := []bool{false, false, true, true, true, false}
	c, err := ConfusionAt(scores, labels, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	// Above 0.5: 0.9 (anomaly), 0.7 (normal); 0.5 itself is not above.
	if want := (Confusion{TP: 1, FP: 1, TN: 2, FN: 2}); c != want {
		t.Errorf("got %+v, want %+v", c, want)
	}
	if c.Precision() != 0.5 || c.Recall() != 1.0/3 || c.FPR() != 1.0/3 {
		t.Errorf("precision, recall, FPR: got %v %v %v, want 0.5 0.333 0.333", c.Precision(), c.Recall(), c.FPR())
	}
	if p := (Confusion{TN: 3}).Precision(); !math.IsNaN(p) {
		t.Errorf("precision with nothing predicted: got %v, want NaN", p)
	}
}

// TestFitMatchesNumPy compares Fit's threshold by contamination with
// numpy.percentile(scores, 100·(1 − p)), PyOD's threshold_, on the random
// cases testdata/make_percentile.py wrote.
func TestFitMatchesNumPy(t *testing.T) {
	b, err := os.ReadFile("testdata/percentile.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Scores        []float32 `json:"scores"`
			Contamination float64   `json:"contamination"`
			Threshold     float64   `json:"threshold"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) == 0 {
		t.Fatal("no cases")
	}
	for i, c := range ref.Cases {
		d := Detector{Contamination: c.Contamination}
		if err := d.Fit(c.Scores); err != nil {
			t.Fatal(err)
		}
		if got := d.Threshold(); !(math.Abs(got-c.Threshold) <= 1e-15*math.Abs(c.Threshold)) {
			t.Errorf("case %d (%d scores, p %v): got %v, want %v", i, len(c.Scores), c.Contamination, got, c.Threshold)
		}
	}
}
