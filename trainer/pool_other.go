//go:build !amd64 || noasm

package trainer

// pool2x2 pools len(out) 2×2 windows side by side, the first with its top
// left corner at in[at], rows w apart.
func pool2x2(out []float32, idx []int, in []float32, at, w int) { pool2x2Go(out, idx, in, at, w) }
