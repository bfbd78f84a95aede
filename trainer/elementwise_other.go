//go:build !amd64 || noasm

package trainer

// relu writes max(x, 0) into y (len(y) ≥ len(x)).
func relu(y, x []float32) { reluGo(y[:len(x)], x) }

// reluBack writes g where y (a ReLU's output) is not zero, else 0.
func reluBack(out, g, y []float32) { reluBackGo(out[:len(y)], g[:len(y)], y) }

// mseBlocks takes no elements here: lossJob.mse does them all.
func mseBlocks(grad, out, target []float32, scale float32) (sum float64, done int) { return 0, 0 }
