//go:build !amd64 || noasm

package graph

// Relu writes max(x[i], 0) into y[i] for the len(x) elements of x: −0
// gives +0 and NaN stays NaN, the same bits in every build. It panics if
// y is shorter than x.
func Relu(y, x []float32) { reluGo(y[:len(x)], x) }

// ReluBack writes g[i] into out[i] where y[i] (a ReLU's output) is not +0,
// else 0, for the len(y) elements of y. It panics if out or g is shorter
// than y.
func ReluBack(out, g, y []float32) { reluBackGo(out[:len(y)], g[:len(y)], y) }

// MSEBlocks computes the MSE loss's gradient grad[i] = scale·(out[i] −
// target[i]) and the sum of the squared differences for as many leading
// elements as the kernel takes — all but the last len(out) & 3 on amd64,
// none elsewhere — and returns the sum and how many elements it took; the
// caller does the rest. The gradient has the bits of the Go expression;
// the sum is in float32 over blocks of 256, then in float64. It panics if
// grad or target is shorter than out.
func MSEBlocks(grad, out, target []float32, scale float32) (sum float64, done int) { return 0, 0 }
