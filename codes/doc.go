// Package codes works with an autoencoder's codes — or any fixed-length
// feature vectors — once they are out of the model: principal component
// analysis (the linear baseline a code of the same size is measured
// against), linear probes and nearest-neighbour classifiers that measure
// how much of a labelling the features carry, and search in code space.
//
// Samples are float32 rows of a (n, d) matrix, row after row, as
// runtime.Model.Encode gives them; arithmetic is in float64. The package
// needs no ONNX Runtime and imports nothing from aebridge, so a Go program
// with features from elsewhere can use it alone. Inputs whose sizes do not
// pair up, or that hold NaN or ±Inf, are refused with an error.
package codes
