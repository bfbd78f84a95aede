//go:build !noasm

package trainer

// axpySSE adds a·x to y for the first len(y) &^ 7 elements, eight at a
// time with SSE.
//
//go:noescape
func axpySSE(y, x []float32, a float32)

// dotSSE returns the eight running sums of x[i]·y[i] over the first
// len(x) &^ 7 elements, folded as dotGo folds them.
//
//go:noescape
func dotSSE(x, y []float32) float32

// axpy adds a·x to y (len(x) ≥ len(y)).
func axpy(y, x []float32, a float32) {
	x = x[:len(y)]
	n := len(y) &^ 7
	if n > 0 {
		axpySSE(y[:n], x[:n], a)
	}
	axpyGo(y[n:], x[n:], a)
}

// dot returns Σ x[i]·y[i] over len(x) elements (len(y) ≥ len(x)), the
// same bits as dotGo.
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	n := len(x) &^ 7
	var r float32
	if n > 0 {
		r = dotSSE(x[:n], y[:n])
	}
	for i := n; i < len(x); i++ {
		r += x[i] * y[i]
	}
	return r
}
