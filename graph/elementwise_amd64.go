//go:build !noasm

package graph

// reluSSE, reluBackSSE and mseSSE take the first len &^ 3 elements of their
// slices (all as long as the first), four at a time, with the Go loops'
// results (reluGo, reluBackGo; mseSSE's gradient bit for bit, its four
// lane sums of d² in float32).
//
//go:noescape
func reluSSE(y, x []float32)

//go:noescape
func reluBackSSE(out, g, y []float32)

//go:noescape
func mseSSE(grad, out, target []float32, scale float32, acc *[4]float32)

// Relu writes max(x[i], 0) into y[i] for the len(x) elements of x: −0
// gives +0 and NaN stays NaN, the same bits in every build. It panics if
// y is shorter than x.
func Relu(y, x []float32) {
	n := len(x) &^ 3
	if n > 0 {
		reluSSE(y[:n], x[:n])
	}
	reluGo(y[n:len(x)], x[n:])
}

// ReluBack writes g[i] into out[i] where y[i] (a ReLU's output) is not +0,
// else 0, for the len(y) elements of y. It panics if out or g is shorter
// than y.
func ReluBack(out, g, y []float32) {
	n := len(y) &^ 3
	if n > 0 {
		reluBackSSE(out[:n], g[:n], y[:n])
	}
	reluBackGo(out[n:len(y)], g[n:len(y)], y[n:])
}

// MSEBlocks computes the MSE loss's gradient grad[i] = scale·(out[i] −
// target[i]) and the sum of the squared differences for as many leading
// elements as the kernel takes — all but the last len(out) & 3 on amd64,
// none elsewhere — and returns the sum and how many elements it took; the
// caller does the rest. The gradient has the bits of the Go expression;
// the sum is in float32 over blocks of 256, then in float64. It panics if
// grad or target is shorter than out.
func MSEBlocks(grad, out, target []float32, scale float32) (sum float64, done int) {
	var acc [4]float32
	for len(out)-done >= 4 {
		n := min(256, (len(out)-done)&^3)
		mseSSE(grad[done:done+n], out[done:done+n], target[done:done+n], scale, &acc)
		sum += float64(acc[0]) + float64(acc[1]) + float64(acc[2]) + float64(acc[3])
		done += n
	}
	return sum, done
}
