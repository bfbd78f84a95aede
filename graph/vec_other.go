//go:build !amd64 || noasm

package graph

// Axpy adds a·x to y, element by element, over len(y) elements (with SSE
// on amd64; the same bits as the Go loop). It panics if x is shorter than
// y.
func Axpy(y, x []float32, a float32) { axpyGo(y, x, a) }

// Dot returns Σ x[i]·y[i] over len(x) elements, with eight running sums
// folded as dotGo folds them: the same bits in every build. It panics if y
// is shorter than x.
func Dot(x, y []float32) float32 { return dotGo(x, y) }
