package trainer

import "math"

// exp32 returns eˣ in float32 arithmetic, within 1 ulp of the correctly
// rounded result over the whole float32 range (TestExp32 sweeps it): Cody
// and Waite's reduction x = n·ln 2 + r, |r| ≤ ½ln 2, and the minimax
// polynomial of Cephes' expf for eʳ, then eʳ·2ⁿ. Underflow gives 0
// (through subnormals), overflow +Inf, NaN NaN. It is what lets the
// sigmoid and the logistic losses run at the speed of PyTorch's vectorised
// float32 kernels, which are no more exact.
func exp32(x float32) float32 {
	const (
		log2e  = 1.44269504088896341
		ln2hi  = 0.693359375 // few bits: n·ln2hi is exact
		ln2lo  = -2.12194440e-4
		maxArg = 88.72283935546875 // largest x with a finite eˣ
		minArg = -103.97208404541016
	)
	switch {
	case x > maxArg:
		return float32(math.Inf(1))
	case x < minArg:
		return 0
	case x != x:
		return x
	}
	// n = round(x·log₂e) by the float32 addition of 1.5·2²³, which leaves
	// no fraction bits: no branch on the sign (a coin toss for the
	// sigmoid's inputs), which would stall the pipeline.
	const round = 0x1.8p23
	fn := (x*log2e + round) - round
	n := int32(fn)
	r := x - fn*ln2hi
	r -= fn * ln2lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*r*r + r + 1
	// 2ⁿ for n in [−150, 128], in two steps where one would leave the
	// normal exponents.
	switch {
	case n < -126:
		return p * math.Float32frombits(uint32(n+64+127)<<23) * 0x1p-64
	case n > 127:
		return p * math.Float32frombits(uint32(n-1+127)<<23) * 2
	}
	return p * math.Float32frombits(uint32(n+127)<<23)
}

// sigmoid32 returns 1/(1 + e⁻ˣ) in float32 arithmetic, without overflow
// for any x.
func sigmoid32(x float32) float32 {
	// 1/(1 + e^−|x|) for x ≥ 0, e^−|x|/(1 + e^−|x|) below: the numerator
	// is chosen without a branch.
	e := exp32(math.Float32frombits(math.Float32bits(x) | 1<<31))
	neg := signMask(x)
	num := 0x3f800000&^neg | math.Float32bits(e)&neg // 1 or e
	return math.Float32frombits(num) / (1 + e)
}

// signMask returns all ones if x's sign bit is set (x < 0, −0, or a
// negative NaN), else zero: a mask for choosing without a branch.
func signMask(x float32) uint32 { return uint32(int32(math.Float32bits(x)) >> 31) }
