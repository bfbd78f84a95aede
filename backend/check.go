// Package backend owns the backends behind `aebridge run` and `check` —
// ONNX Runtime ("ort"), aebridge's own Go forward pass ("go") and, in
// binaries built with the onnxgo tag, the onnx-go interpreter ("onnx-go")
// — and their comparison: it runs the same inputs through several of them
// and compares their outputs with each other and with expected values.
// Without the onnxgo tag, onnx-go and gorgonia are not linked in (OnnxGoBuilt
// is false, and asking for onnx-go gives ErrOnnxGoNotBuilt).
//
// An element fails a comparison only when its error exceeds both the
// absolute tolerance and the relative one times the reference's magnitude
// (Polygraphy's rule): |a − b| > atol and |a − b| > rtol·|b|. A NaN or an
// infinity on either side fails unless the caller allows the same
// non-finite value at the same position on both. Values of other element
// types than float32 (runtime.Value, through ValueBackend and
// Tolerance.CompareValues) compare as floats under the same rule when they
// are float16 or float64, and exactly when they are integers or bools;
// two values of different element types never pass.
package backend

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/limits"
	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/trainer"
)

// Names are the backends this package opens: "ort" (ONNX Runtime), "go"
// (aebridge's own forward pass) and "onnx-go" (the onnx-go interpreter, in
// binaries built with the onnxgo tag; others say so when it is asked for).
var Names = []string{"ort", "go", "onnx-go"}

// Known reports whether name is one of Names.
func Known(name string) bool { return slices.Contains(Names, name) }

// Backend runs a model: inputs in the model's input order, outputs by name.
type Backend interface {
	Name() string
	OutputNames() []string
	Run(inputs []runtime.Tensor) (map[string]runtime.Tensor, error)
	Close() error
}

// Tolerance is how far a candidate may stray from a reference. An element
// fails when its error exceeds both Atol and Rtol times the reference's
// magnitude (Polygraphy's rule): |a − b| > Atol and |a − b| > Rtol·|b|.
//
// NaN and infinities fail wherever they appear, in the candidate or the
// reference, unless AllowNonFinite is set; then NaN matches NaN, +Inf
// matches +Inf and −Inf matches −Inf at the same position, and any other
// pairing with a non-finite value still fails.
type Tolerance struct {
	Atol, Rtol     float64
	AllowNonFinite bool
}

// NonFinite counts the NaN and infinite elements of a tensor.
type NonFinite struct {
	NaN, PosInf, NegInf int
}

// Total is the number of non-finite elements.
func (n NonFinite) Total() int { return n.NaN + n.PosInf + n.NegInf }

// CountNonFinite counts the NaN, +Inf and −Inf elements of data.
func CountNonFinite(data []float32) NonFinite {
	var n NonFinite
	for _, v := range data {
		switch f := float64(v); {
		case math.IsNaN(f):
			n.NaN++
		case math.IsInf(f, 1):
			n.PosInf++
		case math.IsInf(f, -1):
			n.NegInf++
		}
	}
	return n
}

// Stats is the comparison of one output between a candidate and a
// reference.
type Stats struct {
	Elements                int     // elements compared
	MaxAbs, MeanAbs, MaxRel float64 // +Inf when an element fails for a NaN or an infinity
	Worst                   int     // flat index of the element with the largest error relative to its tolerance
	Got, Want               float32 // the candidate's and the reference's values there
	Failed                  int     // elements that fail, NonFinite included
	NonFinite               int     // elements that fail because one side or both is NaN or infinite
	Pass                    bool    // no element fails
	Exact                   bool    // integer or bool elements, compared for equality (CompareValues)
}

// Compare compares got with the reference want under atol and rtol, with
// NaN and infinities failing: it is Tolerance{Atol: atol, Rtol: rtol}.Compare.
func Compare(got, want runtime.Tensor, atol, rtol float64) (Stats, error) {
	return Tolerance{Atol: atol, Rtol: rtol}.Compare(got, want)
}

// Compare compares got with the reference want. It returns an error, and
// Stats that do not pass, if a tolerance is negative or not finite, if a tensor's
// data does not fill its shape, if the shapes differ, or if the tensors
// have no elements: none of these is a comparison that passed.
func (tol Tolerance) Compare(got, want runtime.Tensor) (Stats, error) {
	if !(tol.Atol >= 0 && tol.Rtol >= 0) || math.IsInf(tol.Atol, 1) || math.IsInf(tol.Rtol, 1) {
		return Stats{}, fmt.Errorf("backend: tolerances atol %v and rtol %v must be finite and not negative", tol.Atol, tol.Rtol)
	}
	for _, t := range []struct {
		side string
		t    runtime.Tensor
	}{{"candidate", got}, {"reference", want}} {
		n, err := limits.Elements(t.t.Shape)
		if err != nil {
			return Stats{}, fmt.Errorf("backend: %s: %w", t.side, err)
		}
		if n != int64(len(t.t.Data)) {
			return Stats{}, fmt.Errorf("backend: %s of shape %v holds %d values, want %d", t.side, t.t.Shape, len(t.t.Data), n)
		}
		if n == 0 {
			return Stats{}, fmt.Errorf("backend: %s of shape %v has no elements: nothing to compare", t.side, t.t.Shape)
		}
	}
	if !slices.Equal(got.Shape, want.Shape) {
		return Stats{}, fmt.Errorf("backend: shapes differ: %v against %v", got.Shape, want.Shape)
	}
	s := Stats{Elements: len(got.Data)}
	var sum float64
	worstRatio := -1.0
	for i, g := range got.Data {
		w := want.Data[i]
		g64, w64 := float64(g), float64(w)
		var d, ratio float64
		if finite(g64) && finite(w64) {
			d = math.Abs(g64 - w64)
			limit := math.Max(tol.Atol, tol.Rtol*math.Abs(w64))
			if d > limit {
				s.Failed++
			}
			if ref := math.Abs(w64); ref > 0 {
				s.MaxRel = math.Max(s.MaxRel, d/ref)
			} else if d > 0 {
				s.MaxRel = math.Inf(1)
			}
			ratio = d / math.Max(limit, math.SmallestNonzeroFloat64)
		} else if tol.AllowNonFinite && (math.IsNaN(g64) && math.IsNaN(w64) || g64 == w64) {
			// The same NaN or infinity on both sides, as allowed: no error.
		} else {
			d, ratio = math.Inf(1), math.Inf(1)
			s.MaxRel = d
			s.Failed++
			s.NonFinite++
		}
		sum += d
		s.MaxAbs = math.Max(s.MaxAbs, d)
		if ratio > worstRatio {
			worstRatio, s.Worst, s.Got, s.Want = ratio, i, g, w
		}
	}
	s.MeanAbs = sum / float64(len(got.Data))
	s.Pass = s.Failed == 0
	return s, nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// ORT runs an ONNX file through ONNX Runtime.
type ORT struct {
	model *runtime.Model
}

// OpenORT opens path in ONNX Runtime with opts.
func OpenORT(path string, opts ...runtime.Option) (*ORT, error) {
	m, err := runtime.Open(path, opts...)
	if err != nil {
		return nil, err
	}
	return &ORT{model: m}, nil
}

// Name is "ort".
func (b *ORT) Name() string { return "ort" }

// Model is the opened model.
func (b *ORT) Model() *runtime.Model { return b.model }

// OutputNames lists the model's outputs.
func (b *ORT) OutputNames() []string {
	var names []string
	for _, o := range b.model.Info().Outputs {
		names = append(names, o.Name)
	}
	return names
}

// Run runs the model. An input given flat, (batch, features), for an input
// of higher rank with fixed dimensions is viewed with the model's shape.
func (b *ORT) Run(inputs []runtime.Tensor) (map[string]runtime.Tensor, error) {
	ios := b.model.Info().Inputs
	if len(inputs) == len(ios) {
		inputs = append([]runtime.Tensor(nil), inputs...)
		for i, in := range inputs {
			if view, ok := viewAs(in, ios[i]); ok {
				inputs[i] = view
			}
		}
	}
	out, err := b.model.Run(inputs...)
	if err != nil {
		return nil, err
	}
	named := map[string]runtime.Tensor{}
	for i, name := range b.OutputNames() {
		named[name] = out[i]
	}
	return named, nil
}

// RunValues runs the model on inputs of any element type the runtime
// holds, each of the type the model declares for it (runtime's
// Model.RunValues), and returns the outputs in their own types. Inputs are
// viewed as Run views them.
func (b *ORT) RunValues(inputs []runtime.Value) (map[string]runtime.Value, error) {
	ios := b.model.Info().Inputs
	if len(inputs) == len(ios) {
		inputs = append([]runtime.Value(nil), inputs...)
		for i, in := range inputs {
			if shape, ok := viewShape(in.Shape, ios[i]); ok {
				inputs[i] = runtime.Value{Shape: shape, Data: in.Data}
			}
		}
	}
	out, err := b.model.RunValues(inputs...)
	if err != nil {
		return nil, err
	}
	named := map[string]runtime.Value{}
	for i, name := range b.OutputNames() {
		named[name] = out[i]
	}
	return named, nil
}

// Close closes the model.
func (b *ORT) Close() error { return b.model.Close() }

// viewAs reshapes a (batch, features) tensor to io's shape when io's
// dimensions after the batch are fixed and hold that many features.
func viewAs(t runtime.Tensor, io runtime.IO) (runtime.Tensor, bool) {
	shape, ok := viewShape(t.Shape, io)
	if !ok {
		return t, false
	}
	return runtime.Tensor{Shape: shape, Data: t.Data}, true
}

// viewShape is viewAs on a shape: io's shape with the batch of shape, or
// false.
func viewShape(s []int64, io runtime.IO) ([]int64, bool) {
	if len(s) != 2 || !io.HasShape || len(io.Shape) <= 2 {
		return nil, false
	}
	shape := []int64{s[0]}
	n := int64(1)
	for _, d := range io.Shape[1:] {
		if d.Size < 0 {
			return nil, false
		}
		shape = append(shape, d.Size)
		n *= d.Size
	}
	if n != s[1] {
		return nil, false
	}
	return shape, true
}

// OpenDir opens the backends named in names for a trained model directory:
// "go" runs the model's graph as export writes it to model.onnx (every
// input and output, named as there), "ort" ONNX Runtime and "onnx-go"
// onnx-go on DIR/model.onnx.
func OpenDir(dir string, names []string, opts ...runtime.Option) ([]Backend, error) {
	var out []Backend
	for _, n := range names {
		switch n {
		case "go":
			m, _, err := trainer.Load(dir)
			if err == nil {
				var g *graph.Graph
				if g, err = export.PartGraph(m, export.Full); err == nil {
					out = append(out, NewGraph(g))
				}
			}
			if err != nil {
				closeAll(out)
				return nil, err
			}
		case "ort", "onnx-go":
			b, err := OpenFile(filepath.Join(dir, "model.onnx"), []string{n}, opts...)
			if err != nil {
				closeAll(out)
				return nil, err
			}
			out = append(out, b...)
		default:
			closeAll(out)
			return nil, fmt.Errorf("backend: unknown backend %q (want one of %s)", n, strings.Join(Names, ", "))
		}
	}
	return out, nil
}

func closeAll(bs []Backend) {
	for _, b := range bs {
		b.Close()
	}
}

// maxRandomValues is the most values RandomInputs draws for one input
// (256 MiB of float32): the shape comes from the model file, and a check
// on random samples needs no more.
const maxRandomValues = 1 << 26

// RandomInputs returns n samples for each of the model's inputs, uniform
// in [0, 1) from seed; an input whose shape is (batch, k) and that follows
// the first is taken for a condition and gets one-hot rows. It returns an
// error for an input whose declared shape would need more than
// maxRandomValues values.
func RandomInputs(info *runtime.Info, n int, seed uint64) ([]runtime.Tensor, error) {
	rng := rand.New(rand.NewPCG(seed, 7))
	var out []runtime.Tensor
	for i, io := range info.Inputs {
		if !io.HasShape || len(io.Shape) == 0 {
			return nil, fmt.Errorf("backend: input %q has no shape to draw samples for", io.Name)
		}
		shape := []int64{int64(n)}
		for _, d := range io.Shape[1:] {
			if d.Size <= 0 {
				return nil, fmt.Errorf("backend: input %q %s has a dynamic dimension after the batch", io.Name, io.ShapeString())
			}
			shape = append(shape, d.Size)
		}
		size, err := limits.Elements(shape)
		if err == nil && size > maxRandomValues {
			err = fmt.Errorf("%d values, past the %d a check on random samples draws", size, maxRandomValues)
		}
		if err != nil {
			return nil, fmt.Errorf("backend: input %q %s: %d samples: %w", io.Name, io.ShapeString(), n, err)
		}
		t := runtime.Tensor{Shape: shape, Data: make([]float32, size)}
		if i > 0 && len(shape) == 2 {
			k := int(shape[1])
			for r := 0; r < n; r++ {
				t.Data[r*k+rng.IntN(k)] = 1
			}
		} else {
			for j := range t.Data {
				t.Data[j] = float32(rng.Float64())
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// VerifySplit runs the original autoencoder and, on the same inputs, its
// encoder then its decoder (both through ONNX Runtime) and compares
// decoder(encoder(x)) with model(x). The encoder's outputs feed the
// decoder's inputs in order (the code, then any pooling indices); a
// condition input is passed to both.
func VerifySplit(model, encoder, decoder string, inputs []runtime.Tensor, atol, rtol float64, opts ...runtime.Option) (Stats, error) {
	open := func(p string) (*runtime.Model, error) { return runtime.Open(p, opts...) }
	orig, err := open(model)
	if err != nil {
		return Stats{}, err
	}
	defer orig.Close()
	enc, err := open(encoder)
	if err != nil {
		return Stats{}, err
	}
	defer enc.Close()
	dec, err := open(decoder)
	if err != nil {
		return Stats{}, err
	}
	defer dec.Close()
	want, err := orig.Run(inputs...)
	if err != nil {
		return Stats{}, err
	}
	encIn := inputs[:len(enc.Info().Inputs)]
	code, err := enc.Run(encIn...)
	if err != nil {
		return Stats{}, err
	}
	// A variational encoder's μ is the code; log σ² is not fed on.
	n := len(dec.Info().Inputs)
	decIn := code[:min(n, len(code))]
	if n > len(code) {
		decIn = append(append([]runtime.Tensor(nil), code...), inputs[1:1+n-len(code)]...)
	}
	got, err := dec.Run(decIn...)
	if err != nil {
		return Stats{}, err
	}
	return Compare(got[0], want[0], atol, rtol)
}
