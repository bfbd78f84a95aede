//go:build !amd64 || noasm

package graph

// Sigmoids writes Sigmoid32(x[i]) into y[i] for the len(x) elements of x,
// the same bits in every build. It panics if y is shorter than x.
func Sigmoids(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = Sigmoid32(v)
	}
}
