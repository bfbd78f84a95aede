//go:build openblas

package pipeline

// batchedReference is true: with OpenBLAS (the openblas build of the
// tests; Beam's workers build without cgo, so never with it) a matrix
// product's rounding depends on its shape, so the reference runs the
// pipeline's batches.
const batchedReference = true
