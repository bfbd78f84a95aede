//go:build !openblas

package pipeline

// batchedReference is false: in pure Go a row's reconstruction does not
// depend on the batch it is in, so the reference scores all the rows at
// once and the pipeline must match it bit for bit.
const batchedReference = false
