package codes

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

// logisticFixture is testdata/logistic.json, written by
// testdata/make_logistic_fixture.py with PyTorch.
type logisticFixture struct {
	X             []float32 `json:"x"`
	D             int       `json:"d"`
	Labels        []int     `json:"labels"`
	L2            float64   `json:"l2"`
	W             []float64 `json:"W"`
	B             []float64 `json:"b"`
	Loss          float64   `json:"loss"`
	TrainAccuracy float64   `json:"train_accuracy"`
	Queries       []float32 `json:"queries"`
	QueryClasses  []int     `json:"query_classes"`
}

func TestFitLogisticMatchesPyTorch(t *testing.T) {
	b, err := os.ReadFile("testdata/logistic.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx logisticFixture
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	m, err := FitLogistic(fx.X, fx.D, fx.Labels, 0, LogisticOptions{L2: fx.L2, GradTol: 1e-10})
	if err != nil {
		t.Fatal(err)
	}
	const tol = 1e-6
	var worst float64
	for i, want := range fx.W {
		worst = max(worst, math.Abs(m.W.RawMatrix().Data[i]-want))
	}
	for i, want := range fx.B {
		worst = max(worst, math.Abs(m.B[i]-want))
	}
	if worst > tol {
		t.Errorf("max |Δ| of W and b against PyTorch: got %v, want ≤ %v (W %v, b %v; PyTorch W %v, b %v)", worst, tol, m.W.RawMatrix().Data, m.B, fx.W, fx.B)
	}
	pred, err := m.Predict(fx.X)
	if err != nil {
		t.Fatal(err)
	}
	if got := Accuracy(pred, fx.Labels); got != fx.TrainAccuracy {
		t.Errorf("training accuracy: got %v, want %v", got, fx.TrainAccuracy)
	}
	q, err := m.Predict(fx.Queries)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(q, fx.QueryClasses) {
		t.Errorf("query classes: got %v, want %v", q, fx.QueryClasses)
	}
}

// TestFitLogisticTwoClassClosedForm checks the optimum's stationarity
// conditions where they have a closed form: one feature, labels 0 at x = −1
// and 1 at x = +1, and no penalty on b. By symmetry b = 0, and the
// gradient in w, −σ(−w) + λw, vanishes: λ·w = σ(−w) for both classes,
// since the logits are ±w/2 apart per class in softmax form.
func TestFitLogisticTwoClassClosedForm(t *testing.T) {
	const lam = 0.1
	m, err := FitLogistic([]float32{-1, 1}, 1, []int{0, 1}, 2, LogisticOptions{L2: lam, GradTol: 1e-12})
	if err != nil {
		t.Fatal(err)
	}
	// With W = (w₀, w₁) the margin is u = w₁ − w₀, and by symmetry
	// w₁ = −w₀ = u/2 and b₀ = b₁. The loss is log(1 + e^{−u}) + λu²/4,
	// stationary where σ(−u) = λu/2.
	w0, w1 := m.W.At(0, 0), m.W.At(1, 0)
	u := w1 - w0
	if r := 1/(1+math.Exp(u)) - lam*u/2; math.Abs(r) > 1e-9 {
		t.Errorf("σ(−u) − λu/2 at u = %v: got %v, want 0", u, r)
	}
	if math.Abs(w0+w1) > 1e-9 || math.Abs(m.B[0]-m.B[1]) > 1e-9 {
		t.Errorf("symmetry: got W %v, b %v, want w₀ = −w₁ and b₀ = b₁", []float64{w0, w1}, m.B)
	}
}

func TestFitLogisticRefuses(t *testing.T) {
	cases := []struct {
		name    string
		x       []float32
		labels  []int
		classes int
		l2      float64
		want    string
	}{
		{"labels short", []float32{1, 2}, []int{0}, 0, 0.1, "2 rows but 1 labels"},
		{"negative label", []float32{1, 2}, []int{0, -1}, 2, 0.1, "label 1 is -1"},
		{"label past classes", []float32{1, 2}, []int{0, 2}, 2, 0.1, "label 1 is 2; want 0 to 1"},
		{"one class", []float32{1, 2}, []int{0, 0}, 0, 0.1, "1 class"},
		{"negative penalty", []float32{1, 2}, []int{0, 1}, 0, -1, "L2 weight -1"},
		{"a huge label", []float32{1, 2}, []int{0, 1 << 30}, 0, 0.1, "1073741825 classes of 1 features make more than 67108864 parameters"},
		{"Inf", []float32{1, float32(math.Inf(1))}, []int{0, 1}, 0, 0.1, "row 1, feature 0 is +Inf"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := FitLogistic(c.x, 1, c.labels, c.classes, LogisticOptions{L2: c.l2})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestStandardizer(t *testing.T) {
	// Feature 0: 1, 3 → mean 2, σ 1 (population); feature 1 constant.
	s, err := FitStandardizer([]float32{1, 5, 3, 5}, 2)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Apply([]float32{1, 5, 4, 6})
	want := []float32{-1, 0, 2, 1}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
