//go:build !amd64 || noasm

package trainer

// bceLogitsSSE takes no elements here: lossJob.bceLogits does them all.
func bceLogitsSSE(grad, z, t []float32, scale float32) (sum float64, done int) { return 0, 0 }
