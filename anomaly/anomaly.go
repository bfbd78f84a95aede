package anomaly

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrNotFitted is returned by Predict on a Detector that has no threshold
// yet.
var ErrNotFitted = errors.New("anomaly: detector has no threshold: call Fit or SetThreshold first")

// DefaultContamination is the contamination the zero Detector fits with,
// PyOD's default.
const DefaultContamination = 0.1

// Detector labels scores above its threshold as anomalies. Its zero value
// fits by contamination DefaultContamination.
type Detector struct {
	// Contamination is the fraction p of anomalies in the fitting data, in
	// (0, 1); Fit then puts the threshold at the (1 − p) quantile of the
	// scores. 0 means DefaultContamination, unless FPR is set.
	Contamination float64
	// FPR is the false-positive rate f, in (0, 1), that Fit allows on the
	// fitting data, taken to be normal. 0 means fit by Contamination;
	// setting both is an error.
	FPR float64

	threshold float64
	fitted    bool
}

// Fit sets the threshold from scores of the fitting data (see the package
// doc for the two rules). It returns an error for no scores, a NaN score,
// or a contamination or false-positive rate outside (0, 1).
func (d *Detector) Fit(scores []float32) error {
	p, f := d.Contamination, d.FPR
	switch {
	case p != 0 && f != 0:
		return fmt.Errorf("anomaly: contamination %v and false-positive rate %v both set; give one", p, f)
	case f != 0:
		if !(f > 0 && f < 1) {
			return fmt.Errorf("anomaly: false-positive rate %v is outside (0, 1)", f)
		}
	case p == 0:
		p = DefaultContamination
	case !(p > 0 && p < 1):
		return fmt.Errorf("anomaly: contamination %v is outside (0, 1)", p)
	}
	s, err := sorted(scores)
	if err != nil {
		return err
	}
	if f != 0 {
		d.threshold = fprThreshold(s, f)
	} else {
		d.threshold = Quantile(s, (100*(1-p))/100) // numpy.percentile(s, 100·(1 − p)), as PyOD writes it
	}
	d.fitted = true
	return nil
}

// sorted returns the scores as float64, ascending, or an error for none or
// a NaN.
func sorted(scores []float32) ([]float64, error) {
	if len(scores) == 0 {
		return nil, errors.New("anomaly: no scores to fit")
	}
	s := make([]float64, len(scores))
	for i, v := range scores {
		if math.IsNaN(float64(v)) {
			return nil, fmt.Errorf("anomaly: score %d is NaN", i)
		}
		s[i] = float64(v)
	}
	slices.Sort(s)
	return s, nil
}

// fprThreshold returns the smallest of the ascending scores s that at most
// ⌊f·n⌋ of them exceed.
func fprThreshold(s []float64, f float64) float64 {
	n := len(s)
	k := int(math.Floor(f*float64(n) + 1e-9)) // 1e-9: 0.29·100 is 28.999999999999996
	k = min(k, n-1)
	return s[n-1-k]
}

// Quantile returns the q quantile (q in [0, 1]) of the ascending values s,
// interpolated linearly between the order statistics at (n − 1)·q, as
// numpy.quantile's default ("linear") method computes it. It panics if s
// is empty or q is outside [0, 1].
func Quantile(s []float64, q float64) float64 {
	if len(s) == 0 || !(q >= 0 && q <= 1) {
		panic(fmt.Sprintf("anomaly: Quantile of %d values at %v", len(s), q))
	}
	h := float64(len(s)-1) * q
	lo := int(math.Floor(h))
	hi := min(lo+1, len(s)-1)
	a, b, t := s[lo], s[hi], h-float64(lo)
	// numpy's _lerp: from the nearer end, so that t = 1 gives b exactly.
	if t >= 0.5 {
		return b - (b-a)*(1-t)
	}
	return a + (b-a)*t
}

// SetThreshold sets the threshold directly, as a stored calibration gives
// it. It must be finite.
func (d *Detector) SetThreshold(t float64) error {
	if math.IsNaN(t) || math.IsInf(t, 0) {
		return fmt.Errorf("anomaly: threshold %v is not finite", t)
	}
	d.threshold, d.fitted = t, true
	return nil
}

// Threshold returns the threshold, or NaN before Fit or SetThreshold.
func (d *Detector) Threshold() float64 {
	if !d.fitted {
		return math.NaN()
	}
	return d.threshold
}

// Predict labels each score: true (an anomaly) when it is above the
// threshold. It returns ErrNotFitted before Fit or SetThreshold, and an
// error naming the first NaN score.
func (d *Detector) Predict(scores []float32) ([]bool, error) {
	if !d.fitted {
		return nil, ErrNotFitted
	}
	return above(scores, d.threshold)
}

func above(scores []float32, t float64) ([]bool, error) {
	out := make([]bool, len(scores))
	for i, v := range scores {
		if math.IsNaN(float64(v)) {
			return nil, fmt.Errorf("anomaly: score %d is NaN", i)
		}
		out[i] = float64(v) > t
	}
	return out, nil
}
