package anomaly

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// check checks that scores and labels pair up, hold no NaN and, with
// both, hold both classes; it returns the number of anomalies.
func check(scores []float32, labels []bool, both bool) (int, error) {
	if len(scores) != len(labels) {
		return 0, fmt.Errorf("anomaly: %d scores but %d labels", len(scores), len(labels))
	}
	if len(scores) == 0 {
		return 0, errors.New("anomaly: no scores")
	}
	pos := 0
	for i, v := range scores {
		if math.IsNaN(float64(v)) {
			return 0, fmt.Errorf("anomaly: score %d is NaN", i)
		}
		if labels[i] {
			pos++
		}
	}
	if both && (pos == 0 || pos == len(labels)) {
		return 0, fmt.Errorf("anomaly: the labels hold %d anomalies and %d normal samples; the measure needs both", pos, len(labels)-pos)
	}
	return pos, nil
}

// ROCAUC returns the area under the ROC curve of scores against labels
// (true for an anomaly, which should score higher): the probability that a
// random anomaly scores above a random normal sample, ties counting one
// half — the Mann–Whitney U statistic over P·N, computed from average
// ranks; equal to sklearn.metrics.roc_auc_score. It returns an error when
// the lengths differ, a score is NaN, or the labels lack a class.
func ROCAUC(scores []float32, labels []bool) (float64, error) {
	pos, err := check(scores, labels, true)
	if err != nil {
		return 0, err
	}
	idx := order(scores)
	// Rank sum of the anomalies, ties given the average of their ranks.
	var rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avg := float64(i+1+j) / 2 // ranks i+1 … j
		for _, k := range idx[i:j] {
			if labels[k] {
				rankSum += avg
			}
		}
		i = j
	}
	p, n := float64(pos), float64(len(labels)-pos)
	return (rankSum - p*(p+1)/2) / (p * n), nil
}

// order returns the indices of scores, ascending by score.
func order(scores []float32) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	return idx
}

// AveragePrecision returns the area under the precision-recall curve as
// average precision, sklearn.metrics.average_precision_score's definition:
//
//	AP = Σₖ (Rₖ − Rₖ₋₁)·Pₖ
//
// over the distinct scores taken as thresholds from the highest down
// (score ≥ threshold predicts an anomaly), Pₖ and Rₖ the precision and
// recall there, R₀ = 0. Tied scores form one threshold. It returns an
// error when the lengths differ, a score is NaN, or there is no anomaly.
func AveragePrecision(scores []float32, labels []bool) (float64, error) {
	pos, err := check(scores, labels, false)
	if err != nil {
		return 0, err
	}
	if pos == 0 {
		return 0, fmt.Errorf("anomaly: the labels hold no anomaly; average precision needs one")
	}
	idx := order(scores)
	var ap, prevRecall float64
	tp, seen := 0, 0
	for i := len(idx) - 1; i >= 0; {
		j := i
		for j >= 0 && scores[idx[j]] == scores[idx[i]] {
			if labels[idx[j]] {
				tp++
			}
			seen++
			j--
		}
		recall := float64(tp) / float64(pos)
		ap += (recall - prevRecall) * float64(tp) / float64(seen)
		prevRecall = recall
		i = j
	}
	return ap, nil
}

// Confusion counts labelled samples by prediction. Positive means anomaly.
type Confusion struct {
	TP int // anomalies predicted anomalous
	FP int // normal samples predicted anomalous
	TN int // normal samples predicted normal
	FN int // anomalies predicted normal
}

// ConfusionAt returns the confusion matrix of scores against labels (true
// for an anomaly) when a score above threshold predicts an anomaly, as
// Detector.Predict does. It returns an error when the lengths differ or a
// score is NaN.
func ConfusionAt(scores []float32, labels []bool, threshold float64) (Confusion, error) {
	if _, err := check(scores, labels, false); err != nil {
		return Confusion{}, err
	}
	var c Confusion
	for i, v := range scores {
		switch pred := float64(v) > threshold; {
		case pred && labels[i]:
			c.TP++
		case pred:
			c.FP++
		case labels[i]:
			c.FN++
		default:
			c.TN++
		}
	}
	return c, nil
}

// Precision is TP / (TP + FP), or NaN when nothing is predicted anomalous.
func (c Confusion) Precision() float64 { return ratio(c.TP, c.TP+c.FP) }

// Recall is the true-positive rate TP / (TP + FN), or NaN without
// anomalies.
func (c Confusion) Recall() float64 { return ratio(c.TP, c.TP+c.FN) }

// FPR is the false-positive rate FP / (FP + TN), or NaN without normal
// samples.
func (c Confusion) FPR() float64 { return ratio(c.FP, c.FP+c.TN) }

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}
