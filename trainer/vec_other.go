//go:build !amd64 || noasm

package trainer

// axpy adds a·x to y (len(x) ≥ len(y)).
func axpy(y, x []float32, a float32) { axpyGo(y, x, a) }

// dot returns Σ x[i]·y[i] over len(x) elements (len(y) ≥ len(x)).
func dot(x, y []float32) float32 { return dotGo(x, y) }
