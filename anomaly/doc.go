// Package anomaly turns anomaly scores — an autoencoder's reconstruction
// errors, as runtime.Model.Score gives them — into labels, and measures
// how well scores separate labelled anomalies from normal samples.
//
// A Detector holds a threshold: a score above it is an anomaly. Fit sets
// the threshold from scores of training data, by one of two conventions:
//
//   - Contamination p, PyOD's: the training data is taken to hold a
//     fraction p of anomalies, and the threshold is the (1 − p) quantile of
//     its scores, interpolated linearly between order statistics as
//     numpy.percentile does (PyOD's threshold_).
//   - False-positive rate f: the training data is taken to be normal, and
//     the threshold is the smallest of its scores above which at most a
//     fraction f of them lie, so the false-positive rate on the fitting
//     scores is at most f.
//
// Predict labels new scores with the threshold, as PyOD's predict does:
// score > threshold.
//
// ROCAUC, AveragePrecision and ConfusionAt measure scores against labels
// (true for an anomaly): the area under the ROC curve, with ties counted
// as half (average ranks, the trapezoidal curve), as
// sklearn.metrics.roc_auc_score computes it; the area under the
// precision-recall curve as average precision, sklearn's
// average_precision_score (a step function, not interpolated); and the
// confusion matrix at a threshold.
//
// The package is plain arithmetic on float32 scores: it needs no ONNX
// Runtime and imports nothing else from aebridge, so a Go program that has
// scores from elsewhere can use it alone. NaN scores are refused, never
// labelled.
package anomaly
