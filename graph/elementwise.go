package graph

import "math"

// reluGo writes max(x, 0) into y without a branch (the sign of x is no
// better than a coin toss): x with its bits cleared where the sign is set,
// so −0 gives +0 and NaN stays NaN.
func reluGo(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = math.Float32frombits(math.Float32bits(v) &^ SignMask(v))
	}
}

// reluBackGo writes g where y is not +0, else 0: y = relu(x) is +0
// exactly where x ≤ 0.
func reluBackGo(out, g, y []float32) {
	out, g = out[:len(y)], g[:len(y)]
	for i, v := range y {
		keep := uint32(0)
		if math.Float32bits(v) != 0 {
			keep = ^uint32(0)
		}
		out[i] = math.Float32frombits(math.Float32bits(g[i]) & keep)
	}
}
