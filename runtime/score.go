package runtime

import (
	"fmt"
	"math"
	"slices"
)

// Metric is a per-sample reconstruction error, used as an anomaly score.
type Metric string

// The reconstruction metrics. Each is the mean, over a sample's elements, of
//
//	MSE: (x − x̂)²
//	MAE: |x − x̂|
//	BCE: −[x·log x̂ + (1 − x)·log(1 − x̂)], for x in [0, 1]
//
// with BCE's logarithms clamped at −100, as PyTorch's BCELoss does, so that
// a saturated x̂ of exactly 0 or 1 gives a large finite score.
const (
	MSE Metric = "mse"
	MAE Metric = "mae"
	BCE Metric = "bce"
)

// ParseMetric turns "mse", "mae" or "bce" into a Metric.
func ParseMetric(s string) (Metric, error) {
	switch m := Metric(s); m {
	case MSE, MAE, BCE:
		return m, nil
	}
	return "", fmt.Errorf("runtime: unknown metric %q (want mse, mae or bce)", s)
}

// Reconstruct runs a one-input autoencoder on x and returns its first
// output, which must have x's shape.
func (m *Model) Reconstruct(x Tensor) (Tensor, error) {
	if len(m.info.Inputs) != 1 {
		return Tensor{}, fmt.Errorf("runtime: %s has %d inputs (%s); Reconstruct needs a one-input autoencoder", m.info.Path, len(m.info.Inputs), ioNames(m.info.Inputs))
	}
	out, err := m.Run(x)
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

// Score reconstructs x and returns one reconstruction error per sample (x's
// first dimension), by metric. The reconstruction is made in memory pooled
// by the model and reused by later calls.
func (m *Model) Score(x Tensor, metric Metric) ([]float32, error) {
	if _, err := ParseMetric(string(metric)); err != nil {
		return nil, err
	}
	if len(m.info.Inputs) != 1 || (m.opts.batch > 0 && len(x.Shape) > 0 && x.Shape[0] > int64(m.opts.batch)) {
		xhat, err := m.Reconstruct(x)
		if err != nil {
			return nil, err
		}
		return Scores(x, xhat, metric)
	}
	if err := check(m.info.Inputs[0], x, m.opts.checkFinite); err != nil {
		return nil, err
	}
	out, err := m.run([]Tensor{x}, true)
	if err != nil {
		return nil, err
	}
	defer m.release(out)
	if err := m.checkReconstruction(out[0], x); err != nil {
		return nil, err
	}
	return Scores(x, out[0], metric)
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
			return nil, fmt.Errorf("runtime: unknown metric %q (want mse, mae or bce)", metric)
		}
		scores[s] = float32(sum / float64(per))
	}
	return scores, nil
}

func clampLog(p float64) float64 {
	return math.Max(math.Log(p), -100)
}
