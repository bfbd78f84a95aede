//go:build !amd64 || noasm

package trainer

// sigmoids writes sigmoid32(x[i]) into y[i].
func sigmoids(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = sigmoid32(v)
	}
}
