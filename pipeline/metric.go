package pipeline

import (
	"fmt"
	"math"
)

// The reconstruction metrics, as runtime.Metric defines them (repeated
// here: runtime needs cgo). MSE, MAE and BCE are the mean over a sample's
// elements of (x − x̂)², |x − x̂| and −[x·log x̂ + (1 − x)·log(1 − x̂)]
// (logarithms clamped at −100, as PyTorch's BCELoss); L2 is ‖x − x̂‖₂.
// Each is summed in float64 and rounded to float32 once, in the order
// runtime.Scores sums, so that the scores are the same bits.
const (
	MSE = "mse"
	MAE = "mae"
	BCE = "bce"
	L2  = "l2"
)

// ParseMetric checks a metric name.
func ParseMetric(s string) (string, error) {
	switch s {
	case MSE, MAE, BCE, L2:
		return s, nil
	}
	return "", fmt.Errorf("pipeline: unknown metric %q (want mse, mae, bce or l2)", s)
}

// scores returns the per-sample error of n samples x against their
// reconstruction xhat (as many values), by metric.
func scores(x, xhat []float32, n int, metric string) ([]float32, error) {
	if len(x) != len(xhat) || n <= 0 || len(x)%n != 0 {
		return nil, fmt.Errorf("pipeline: scores of %d samples: %d values against %d", n, len(x), len(xhat))
	}
	per := len(x) / n
	out := make([]float32, n)
	for s := range out {
		xs := x[s*per : (s+1)*per]
		ys := xhat[s*per : (s+1)*per]
		var sum float64
		switch metric {
		case L2:
			for i, v := range xs {
				d := float64(v) - float64(ys[i])
				sum += d * d
			}
			out[s] = float32(math.Sqrt(sum))
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
					return nil, fmt.Errorf("pipeline: BCE score needs inputs in [0, 1]; sample %d, element %d is %v", s, i, v)
				}
				p := float64(ys[i])
				sum -= t*clampLog(p) + (1-t)*clampLog(1-p)
			}
		default:
			return nil, fmt.Errorf("pipeline: unknown metric %q (want mse, mae, bce or l2)", metric)
		}
		out[s] = float32(sum / float64(per))
	}
	return out, nil
}

func clampLog(p float64) float64 { return math.Max(math.Log(p), -100) }
