//go:build !noasm

package graph

import "math"

// sigmoidConsts are the constants of sigmoidSSE, each four times (one
// SSE register's worth), in the order the assembly reads them.
var sigmoidConsts = func() (c [15][4]uint32) {
	f := func(v float32) [4]uint32 { b := math.Float32bits(v); return [4]uint32{b, b, b, b} }
	c[0] = f(1.44269504088896341) // log₂e
	c[1] = f(0x1.8p23)            // rounding constant
	c[2] = f(0.693359375)         // ln 2, high part
	c[3] = f(-2.12194440e-4)      // ln 2, low part
	c[4] = f(1.9875691500e-4)     // the polynomial's coefficients
	c[5] = f(1.3981999507e-3)
	c[6] = f(8.3334519073e-3)
	c[7] = f(4.1665795894e-2)
	c[8] = f(1.6666665459e-1)
	c[9] = f(5.0000001201e-1)
	c[10] = f(1)
	c[11] = f(-103.97208404541016) // Exp32's minArg
	c[12] = f(0x1p-64)
	c[13] = [4]uint32{64 + 127, 64 + 127, 64 + 127, 64 + 127}
	c[14] = [4]uint32{1 << 31, 1 << 31, 1 << 31, 1 << 31}
	return c
}()

// sigmoidSSE writes Sigmoid32 of the first len(x) &^ 3 elements of x into
// y, four at a time, with Exp32's operations in Exp32's order: the same
// bits (NaN stays NaN).
//
//go:noescape
func sigmoidSSE(y, x []float32, c *[15][4]uint32)

// Sigmoids writes Sigmoid32(x[i]) into y[i] for the len(x) elements of x,
// the same bits in every build. It panics if y is shorter than x.
func Sigmoids(y, x []float32) {
	y = y[:len(x)]
	n := len(x) &^ 3
	if n > 0 {
		sigmoidSSE(y[:n], x[:n], &sigmoidConsts)
	}
	for i := n; i < len(x); i++ {
		y[i] = Sigmoid32(x[i])
	}
}
