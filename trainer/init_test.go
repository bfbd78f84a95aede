package trainer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// initFixture is testdata/pytorch/init.json, made by make_init_fixture.py:
// PyTorch's default initialisation of layers of several shapes.
type initFixture struct {
	Torch string `json:"torch"`
	Cases []struct {
		Layer  LayerSpec `json:"layer"`
		Params map[string]struct {
			Shape  []int     `json:"shape"`
			Bound  *float64  `json:"bound"` // nil for constants (batch norm)
			MaxAbs float64   `json:"max_abs"`
			MeanSq float64   `json:"mean_sq"`
			N      int       `json:"n"`
			Values []float64 `json:"values"`
		} `json:"params"`
	} `json:"cases"`
}

func readInitFixture(t *testing.T, b []byte) initFixture {
	t.Helper()
	var fx initFixture
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Cases) == 0 {
		t.Fatal("init fixture: no cases")
	}
	return fx
}

// oneLayer is a model whose encoder is the layer s alone (an encoder
// part, so that its output need not be the input's shape), with the input
// shape s takes.
func oneLayer(t *testing.T, s LayerSpec, scheme string, seed uint64) *Model {
	t.Helper()
	in := []int{s.In}
	switch {
	case strings.HasSuffix(s.Type, "1d"):
		in = []int{s.In, 16}
	case strings.HasSuffix(s.Type, "2d"):
		in = []int{s.In, 12, 12}
	}
	m, err := Build(Config{Variant: "ae", Input: in, Encoder: []LayerSpec{s}, Loss: MSE, Part: "encoder", Init: scheme, InitSeed: seed})
	if err != nil {
		t.Fatalf("%+v: %v", s, err)
	}
	return m
}

// uniformStats returns the largest |w| and the mean of w² over draws.
func uniformStats(draws [][]float32) (maxAbs, meanSq float64, n int) {
	for _, d := range draws {
		for _, v := range d {
			maxAbs = max(maxAbs, math.Abs(float64(v)))
			meanSq += float64(v) * float64(v)
		}
		n += len(d)
	}
	return maxAbs, meanSq / float64(n), n
}

// checkUniform checks values drawn from U(−b, b) against its closed form:
// max |w| ≤ b and, with probability 1 − 10⁻⁹, above b·(1 − ε) where
// (1 − ε)ⁿ = 10⁻⁹; mean 0 and E[w²] = b²/3 within 6 standard errors (the
// variance of w is b²/3, that of w² is 4b⁴/45).
func checkUniform(t *testing.T, what string, data []float32, b float64) {
	t.Helper()
	n := float64(len(data))
	var maxAbs, sum, sumSq float64
	for _, v := range data {
		maxAbs = max(maxAbs, math.Abs(float64(v)))
		sum += float64(v)
		sumSq += float64(v) * float64(v)
	}
	mean, meanSq := sum/n, sumSq/n
	if maxAbs > b*(1+1e-6) {
		t.Errorf("%s: max |w| %v, want ≤ bound %v", what, maxAbs, b)
	}
	if lo := b * math.Pow(1e-9, 1/n); maxAbs < lo {
		t.Errorf("%s: max |w| %v of %v values, want ≥ %v (bound %v)", what, maxAbs, n, lo, b)
	}
	if se := math.Sqrt(b * b / 3 / n); !(math.Abs(mean) <= 6*se) {
		t.Errorf("%s: mean %v, want 0 ± %v", what, mean, 6*se)
	}
	if se := math.Sqrt(4 * b * b * b * b / 45 / n); !(math.Abs(meanSq-b*b/3) <= 6*se) {
		t.Errorf("%s: variance %v, want b²/3 = %v ± %v", what, meanSq, b*b/3, 6*se)
	}
}

// pytorchFanIn is PyTorch's _calculate_fan_in_and_fan_out for a weight of
// the given shape (PyTorch's layout, which trainer's weights keep): the
// size of dimension 1 times the receptive field.
func pytorchFanIn(shape []int) int {
	f := shape[1]
	for _, d := range shape[2:] {
		f *= d
	}
	return f
}

// TestInitPyTorchClosedForm builds layers of several shapes under the
// pytorch scheme and checks every weight and bias against U(−b, b) with
// b = 1/√fan_in, PyTorch's bound, for several seeds.
func TestInitPyTorchClosedForm(t *testing.T) {
	specs := []LayerSpec{
		{Type: "dense", In: 784, Out: 128},
		{Type: "dense", In: 3, Out: 200},
		{Type: "conv2d", In: 3, Out: 32, Kernel: []int{3, 3}},
		{Type: "conv2d", In: 8, Out: 16, Kernel: []int{5, 3}, Groups: 4},
		{Type: "conv1d", In: 4, Out: 64, Kernel: []int{7}},
		{Type: "conv_transpose2d", In: 16, Out: 8, Kernel: []int{4, 4}},
		{Type: "conv_transpose1d", In: 6, Out: 90, Kernel: []int{3}, Groups: 3},
	}
	for _, s := range specs {
		for _, seed := range []uint64{1, 2, 3} {
			t.Run(fmt.Sprintf("%s %d→%d k%v g%d seed %d", s.Type, s.In, s.Out, s.Kernel, s.Groups, seed), func(t *testing.T) {
				m := oneLayer(t, s, InitPyTorch, seed)
				sd := m.StateDict()
				w, b := sd["encoder.0.weight"], sd["encoder.0.bias"]
				bound := 1 / math.Sqrt(float64(pytorchFanIn(w.Shape)))
				checkUniform(t, "weight", w.Data, bound)
				checkUniform(t, "bias", b.Data, bound)
			})
		}
	}
}

// TestInitMatchesPyTorch compares the pytorch scheme with what PyTorch
// drew in testdata/pytorch/init.json: the parameters' shapes, PyTorch's
// bound, and the largest |w| and mean w² over as many values as PyTorch
// drew.
func TestInitMatchesPyTorch(t *testing.T) {
	b, err := os.ReadFile("../testdata/pytorch/init.json")
	if err != nil {
		t.Fatal(err)
	}
	fx := readInitFixture(t, b)
	for _, c := range fx.Cases {
		t.Run(fmt.Sprintf("%s %d→%d k%v g%d", c.Layer.Type, c.Layer.In, c.Layer.Out, c.Layer.Kernel, c.Layer.Groups), func(t *testing.T) {
			draws := map[string][][]float32{}
			var shapes map[string][]int
			for seed := uint64(1); len(draws["weight"]) == 0 || len(draws["weight"])*len(draws["weight"][0]) < c.Params["weight"].N; seed++ {
				m := oneLayer(t, c.Layer, InitPyTorch, seed)
				shapes = map[string][]int{}
				for name, p := range m.StateDict() {
					role := strings.TrimPrefix(name, "encoder.0.")
					draws[role] = append(draws[role], slices.Clone(p.Data))
					shapes[role] = p.Shape
				}
			}
			for role, want := range c.Params {
				if !slices.Equal(shapes[role], want.Shape) {
					t.Errorf("%s: shape %v, PyTorch's %v", role, shapes[role], want.Shape)
				}
				if want.Bound == nil {
					// Constants: batch norm's weight 1, bias 0.
					for _, d := range draws[role] {
						for i, v := range d {
							if float64(v) != want.Values[i] {
								t.Fatalf("%s[%d]: got %v, PyTorch's %v", role, i, v, want.Values[i])
							}
						}
					}
					continue
				}
				bound := *want.Bound
				if got := 1 / math.Sqrt(float64(pytorchFanIn(shapes["weight"]))); !(math.Abs(got-bound) <= 1e-12*bound) {
					t.Errorf("%s: bound %v, PyTorch's %v", role, got, bound)
				}
				maxAbs, meanSq, n := uniformStats(draws[role])
				if n != want.N {
					t.Fatalf("%s: %d values drawn, PyTorch drew %d", role, n, want.N)
				}
				// Both maxima lie in [b(1 − ε), b] with probability 1 − 10⁻⁹.
				eps := 1 - math.Pow(1e-9, 1/float64(n))
				if maxAbs > bound*(1+1e-6) || want.MaxAbs > bound*(1+1e-6) || !(math.Abs(maxAbs-want.MaxAbs) <= eps*bound) {
					t.Errorf("%s: max |w| %v, PyTorch's %v (bound %v, ε %v)", role, maxAbs, want.MaxAbs, bound, eps)
				}
				// The two means of w² differ by 6 standard errors at most.
				if se := math.Sqrt(2 * 4 * math.Pow(bound, 4) / 45 / float64(n)); !(math.Abs(meanSq-want.MeanSq) <= 6*se) {
					t.Errorf("%s: mean w² %v, PyTorch's %v (± %v; b²/3 = %v)", role, meanSq, want.MeanSq, 6*se, bound*bound/3)
				}
			}
		})
	}
}

// TestInitFixtureIsPyTorchs reruns make_init_fixture.py under the PyTorch
// of AEBRIDGE_PYTHON and checks that it gives the committed fixture's
// shapes and bounds (the drawn statistics vary with PyTorch's generator).
// CI sets AEBRIDGE_PYTHON (make test does); without it the test fails
// under CI and is skipped elsewhere.
func TestInitFixtureIsPyTorchs(t *testing.T) {
	py := os.Getenv("AEBRIDGE_PYTHON")
	if py == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("AEBRIDGE_PYTHON is not set: CI must run this test against PyTorch (make test sets it)")
		}
		t.Skip("AEBRIDGE_PYTHON not set (make test sets it): the committed fixture was not rechecked against PyTorch")
	}
	var stderr bytes.Buffer
	cmd := exec.Command(py, "../testdata/pytorch/make_init_fixture.py")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile("../testdata/pytorch/init.json")
	if err != nil {
		t.Fatal(err)
	}
	live, committed := readInitFixture(t, out), readInitFixture(t, b)
	if len(live.Cases) != len(committed.Cases) {
		t.Fatalf("PyTorch %s gives %d cases, the fixture has %d", live.Torch, len(live.Cases), len(committed.Cases))
	}
	for i, c := range live.Cases {
		for role, p := range c.Params {
			q := committed.Cases[i].Params[role]
			if !slices.Equal(p.Shape, q.Shape) || (p.Bound == nil) != (q.Bound == nil) || (p.Bound != nil && !(math.Abs(*p.Bound-*q.Bound) <= 1e-12)) || p.N != q.N {
				t.Errorf("case %d %s: PyTorch %s gives shape %v bound %v n %d; the fixture has %v %v %d", i, role, live.Torch, p.Shape, p.Bound, p.N, q.Shape, q.Bound, q.N)
			}
		}
	}
}

// TestInitSchemes checks the other schemes' weights against their closed
// forms: xavier U(±√(6/(fan_in+fan_out))), he N(0, 2/fan_in), and
// by-activation He uniform before a ReLU; their biases are 0.
func TestInitSchemes(t *testing.T) {
	build := func(t *testing.T, scheme string) *Model {
		m, err := Build(Config{Variant: "ae", Input: []int{300}, Encoder: []LayerSpec{{Type: "dense", In: 300, Out: 200}, {Type: "relu"}},
			Decoder: []LayerSpec{{Type: "dense", In: 200, Out: 300}}, Loss: MSE, Init: scheme, InitSeed: 9})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	t.Run("xavier", func(t *testing.T) {
		sd := build(t, InitXavier).StateDict()
		checkUniform(t, "encoder.0.weight", sd["encoder.0.weight"].Data, math.Sqrt(6.0/500))
		checkUniform(t, "decoder.0.weight", sd["decoder.0.weight"].Data, math.Sqrt(6.0/500))
	})
	t.Run("by-activation", func(t *testing.T) {
		sd := build(t, InitByActivation).StateDict()
		checkUniform(t, "encoder.0.weight (before a ReLU)", sd["encoder.0.weight"].Data, math.Sqrt(2)*math.Sqrt(3.0/300))
		checkUniform(t, "decoder.0.weight (identity after)", sd["decoder.0.weight"].Data, math.Sqrt(6.0/500))
	})
	t.Run("he", func(t *testing.T) {
		sd := build(t, InitHe).StateDict()
		for name, fanIn := range map[string]float64{"encoder.0.weight": 300, "decoder.0.weight": 200} {
			d := sd[name].Data
			n := float64(len(d))
			var sum, sumSq, sum4 float64
			for _, v := range d {
				x := float64(v)
				sum, sumSq, sum4 = sum+x, sumSq+x*x, sum4+x*x*x*x
			}
			v := 2 / fanIn // N(0, v): E[w⁴] = 3v², so Var(w²) = 2v²
			if !(math.Abs(sum/n) <= 6*math.Sqrt(v/n)) || !(math.Abs(sumSq/n-v) <= 6*math.Sqrt(2*v*v/n)) || !(math.Abs(sum4/n-3*v*v) <= 6*math.Sqrt(96*v*v*v*v/n)) {
				t.Errorf("%s: mean %v, E[w²] %v, E[w⁴] %v; want 0, %v, %v", name, sum/n, sumSq/n, sum4/n, v, 3*v*v)
			}
		}
	})
	for _, scheme := range []string{InitXavier, InitHe, InitByActivation} {
		t.Run(scheme+" biases", func(t *testing.T) {
			sd := build(t, scheme).StateDict()
			for _, name := range []string{"encoder.0.bias", "decoder.0.bias"} {
				if slices.ContainsFunc(sd[name].Data, func(v float32) bool { return v != 0 }) {
					t.Errorf("%s: got %v, want zeros", name, sd[name].Data[:4])
				}
			}
		})
	}
	if _, err := Build(Config{Variant: "ae", Input: []int{2}, Encoder: []LayerSpec{{Type: "dense", In: 2, Out: 2}}, Loss: MSE, Init: "orthogonal"}); err == nil || !strings.Contains(err.Error(), `init "orthogonal"`) {
		t.Errorf("unknown scheme: got %v, want an error naming it", err)
	}
}
