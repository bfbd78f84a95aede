//go:build !noasm

package trainer

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

// relu writes max(x, 0) into y (len(y) ≥ len(x)).
func relu(y, x []float32) {
	n := len(x) &^ 3
	if n > 0 {
		reluSSE(y[:n], x[:n])
	}
	reluGo(y[n:len(x)], x[n:])
}

// reluBack writes g where y (a ReLU's output) is not zero, else 0.
func reluBack(out, g, y []float32) {
	n := len(y) &^ 3
	if n > 0 {
		reluBackSSE(out[:n], g[:n], y[:n])
	}
	reluBackGo(out[n:len(y)], g[n:len(y)], y[n:])
}

// mseBlocks is lossJob.mse without weights, with its gradient, for all but
// the last len & 3 elements: it returns their summed loss (in float32 over
// blocks of 256, then in float64) and how many they were.
func mseBlocks(grad, out, target []float32, scale float32) (sum float64, done int) {
	var acc [4]float32
	for len(out)-done >= 4 {
		n := min(256, (len(out)-done)&^3)
		mseSSE(grad[done:done+n], out[done:done+n], target[done:done+n], scale, &acc)
		sum += float64(acc[0]) + float64(acc[1]) + float64(acc[2]) + float64(acc[3])
		done += n
	}
	return sum, done
}
