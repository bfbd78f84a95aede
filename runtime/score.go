package runtime

import (
	"fmt"
	"math"
	"slices"
)

// Metric is a per-sample reconstruction error, used as an anomaly score.
type Metric string

// The reconstruction metrics. MSE, MAE and BCE are the mean, over a
// sample's elements, of its feature scores
//
//	MSE: (x − x̂)²
//	MAE: |x − x̂|
//	BCE: −[x·log x̂ + (1 − x)·log(1 − x̂)], for x in [0, 1]
//
// with BCE's logarithms clamped at −100, as PyTorch's BCELoss does, so that
// a saturated x̂ of exactly 0 or 1 gives a large finite score. L2 is the
// Euclidean distance ‖x − x̂‖₂, PyOD's AutoEncoder score: the square root of
// the sum of its feature scores (x − x̂)².
const (
	MSE Metric = "mse"
	MAE Metric = "mae"
	BCE Metric = "bce"
	L2  Metric = "l2"
)

// ParseMetric turns "mse", "mae", "bce" or "l2" into a Metric.
func ParseMetric(s string) (Metric, error) {
	switch m := Metric(s); m {
	case MSE, MAE, BCE, L2:
		return m, nil
	}
	return "", fmt.Errorf("runtime: unknown metric %q (want mse, mae, bce or l2)", s)
}

// Reconstruct returns the autoencoder's reconstruction of x, which must
// have x's shape. cond is the condition of a conditional model (its
// one-hot (batch, classes) input), and nothing otherwise. A full model runs
// itself (its first output); an encoder or a decoder runs with its
// companion, the other part exported with it in its directory (see Encode):
// the decoder on the encoder's code, as the full model does (on μ for a
// VAE).
func (m *Model) Reconstruct(x Tensor, cond ...Tensor) (Tensor, error) {
	switch m.info.Part() {
	case "encoder":
		dec, err := m.companion("decoder")
		if err != nil {
			return Tensor{}, err
		}
		return chain(m, dec, x, cond)
	case "decoder":
		enc, err := m.companion("encoder")
		if err != nil {
			return Tensor{}, err
		}
		return chain(enc, m, x, cond)
	}
	in, err := m.feed(x, cond)
	if err != nil {
		return Tensor{}, err
	}
	out, err := m.Run(in...)
	if err != nil {
		return Tensor{}, err
	}
	if err := m.checkReconstruction(out[0], x); err != nil {
		return Tensor{}, err
	}
	return out[0], nil
}

// checkReconstruction checks that output 0, xhat, has the shape of x.
func (m *Model) checkReconstruction(xhat, x Tensor) error {
	if !slices.Equal(xhat.Shape, x.Shape) {
		return fmt.Errorf("runtime: %s: output %q has shape %s, input %q has %s; not an autoencoder's reconstruction",
			m.info.Path, m.info.Outputs[0].Name, shapeString(xhat.Shape), m.info.Inputs[0].Name, shapeString(x.Shape))
	}
	return nil
}

// Score reconstructs x, as Reconstruct does, and returns one
// reconstruction error per sample (x's first dimension), by metric. cond is
// the condition of a conditional model. A full one-input model makes the
// reconstruction in memory pooled by the model and reused by later calls.
func (m *Model) Score(x Tensor, metric Metric, cond ...Tensor) ([]float32, error) {
	if _, err := ParseMetric(string(metric)); err != nil {
		return nil, err
	}
	if len(m.info.Inputs) != 1 || len(cond) > 0 || (m.opts.batch > 0 && len(x.Shape) > 0 && x.Shape[0] > int64(m.opts.batch)) ||
		m.info.Part() == "encoder" || m.info.Part() == "decoder" {
		xhat, err := m.Reconstruct(x, cond...)
		if err != nil {
			return nil, err
		}
		return Scores(x, xhat, metric)
	}
	if err := check(m.info.Inputs[0], x, m.opts.checkFinite); err != nil {
		return nil, err
	}
	out, err := m.run([]Value{ValueOf(x)}, true)
	if err != nil {
		return nil, err
	}
	defer m.release(out)
	xhat, err := m.tensors(out)
	if err != nil {
		return nil, err
	}
	if err := m.checkReconstruction(xhat[0], x); err != nil {
		return nil, err
	}
	return Scores(x, xhat[0], metric)
}

// Scores returns the per-sample error between x and its reconstruction xhat,
// which must have the same shape, with at least one dimension (the batch).
// For BCE, x must lie in [0, 1].
func Scores(x, xhat Tensor, metric Metric) ([]float32, error) {
	if len(x.Shape) == 0 || !slices.Equal(x.Shape, xhat.Shape) {
		return nil, fmt.Errorf("runtime: scores need two tensors of one shape with a batch dimension, given %s and %s", shapeString(x.Shape), shapeString(xhat.Shape))
	}
	if len(x.Data) != len(xhat.Data) {
		return nil, fmt.Errorf("runtime: scores: %d values against %d", len(x.Data), len(xhat.Data))
	}
	n := int(x.Shape[0])
	if n == 0 {
		return nil, nil
	}
	per := len(x.Data) / n
	scores := make([]float32, n)
	for s := range scores {
		xs := x.Data[s*per : (s+1)*per]
		ys := xhat.Data[s*per : (s+1)*per]
		var sum float64
		switch metric {
		case L2:
			for i, v := range xs {
				d := float64(v) - float64(ys[i])
				sum += d * d
			}
			scores[s] = float32(math.Sqrt(sum))
			continue
		case MSE:
			for i, v := range xs {
				d := float64(v) - float64(ys[i])
				sum += d * d
			}
		case MAE:
			for i, v := range xs {
				sum += math.Abs(float64(v) - float64(ys[i]))
			}
		case BCE:
			for i, v := range xs {
				t := float64(v)
				if !(t >= 0 && t <= 1) {
					return nil, fmt.Errorf("runtime: BCE score needs inputs in [0, 1]; sample %d, element %d is %v", s, i, v)
				}
				p := float64(ys[i])
				sum -= t*clampLog(p) + (1-t)*clampLog(1-p)
			}
		default:
			return nil, fmt.Errorf("runtime: unknown metric %q (want mse, mae, bce or l2)", metric)
		}
		scores[s] = float32(sum / float64(per))
	}
	return scores, nil
}

// FeatureScores returns, for each element of x, its share of the error
// between x and its reconstruction xhat (same shape): (x − x̂)² for MSE
// and L2, |x − x̂| for MAE, the binary cross-entropy for BCE — the terms
// that Scores averages (MSE, MAE, BCE) or sums under a square root (L2),
// so they show which inputs carry a sample's error, as Alibi Detect's
// feature scores do. The result has x's shape.
func FeatureScores(x, xhat Tensor, metric Metric) (Tensor, error) {
	if len(x.Shape) == 0 || !slices.Equal(x.Shape, xhat.Shape) || len(x.Data) != len(xhat.Data) {
		return Tensor{}, fmt.Errorf("runtime: feature scores need two tensors of one shape with a batch dimension, given %s and %s", shapeString(x.Shape), shapeString(xhat.Shape))
	}
	if _, err := ParseMetric(string(metric)); err != nil {
		return Tensor{}, err
	}
	per := 1
	if x.Shape[0] > 0 {
		per = len(x.Data) / int(x.Shape[0])
	}
	out := Tensor{Shape: slices.Clone(x.Shape), Data: make([]float32, len(x.Data))}
	for i, v := range x.Data {
		t, p := float64(v), float64(xhat.Data[i])
		switch metric {
		case MSE, L2:
			out.Data[i] = float32((t - p) * (t - p))
		case MAE:
			out.Data[i] = float32(math.Abs(t - p))
		case BCE:
			if !(t >= 0 && t <= 1) {
				return Tensor{}, fmt.Errorf("runtime: BCE score needs inputs in [0, 1]; sample %d, element %d is %v", i/per, i%per, v)
			}
			out.Data[i] = float32(-(t*clampLog(p) + (1-t)*clampLog(1-p)))
		}
	}
	return out, nil
}

func clampLog(p float64) float64 {
	return math.Max(math.Log(p), -100)
}
