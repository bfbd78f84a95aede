//go:build !noasm

package graph

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

// Axpy adds a·x to y, element by element, over len(y) elements (with SSE
// on amd64; the same bits as the Go loop). It panics if x is shorter than
// y.
func Axpy(y, x []float32, a float32) {
	x = x[:len(y)]
	n := len(y) &^ 7
	if n > 0 {
		axpySSE(y[:n], x[:n], a)
	}
	axpyGo(y[n:], x[n:], a)
}

// Dot returns Σ x[i]·y[i] over len(x) elements, with eight running sums
// folded as dotGo folds them: the same bits in every build. It panics if y
// is shorter than x.
func Dot(x, y []float32) float32 {
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
