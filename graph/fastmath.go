package graph

import "math"

// Exp32 returns eˣ in float32 arithmetic, within 1 ulp of the correctly
// rounded result over the whole float32 range (TestExp32 sweeps it): Cody
// and Waite's reduction x = n·ln 2 + r, |r| ≤ ½ln 2, and the minimax
// polynomial of Cephes' expf for eʳ, then eʳ·2ⁿ. Underflow gives 0
// (through subnormals), overflow +Inf, NaN NaN. It is what lets the
// sigmoid and the logistic losses run at the speed of PyTorch's vectorised
// float32 kernels, which are no more exact.
func Exp32(x float32) float32 {
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

// Sigmoid32 returns 1/(1 + e⁻ˣ) in float32 arithmetic, without overflow
// for any x.
func Sigmoid32(x float32) float32 {
	// 1/(1 + e^−|x|) for x ≥ 0, e^−|x|/(1 + e^−|x|) below: the numerator
	// is chosen without a branch.
	e := Exp32(math.Float32frombits(math.Float32bits(x) | 1<<31))
	neg := SignMask(x)
	num := 0x3f800000&^neg | math.Float32bits(e)&neg // 1 or e
	return math.Float32frombits(num) / (1 + e)
}

// SignMask returns all ones if x's sign bit is set (x < 0, −0, or a
// negative NaN), else zero: a mask for choosing without a branch.
func SignMask(x float32) uint32 { return uint32(int32(math.Float32bits(x)) >> 31) }

// Log1p32 returns log(1 + x) for x in [0, 1] in float32 arithmetic, within
// 2 ulp (TestLog1p32): log of u = 1 + x by Cephes' logf polynomial,
// scaled by x/(u − 1) to undo the rounding of 1 + x (Goldberg's trick).
func Log1p32(x float32) float32 {
	u := 1 + x
	if u == 1 {
		return x
	}
	return log32(u) * (x / (u - 1))
}

// log32 returns the natural logarithm of a positive normal float32, within
// 1 ulp: x = m·2ᵉ with m in [√½, √2), log x = log m + e·ln 2, log m by
// Cephes' logf minimax polynomial.
func log32(x float32) float32 {
	const (
		sqrtHalf = 0.70710678118654752440
		ln2hi    = 0.693359375
		ln2lo    = -2.12194440e-4
	)
	b := math.Float32bits(x)
	e := int32(b>>23) - 126
	m := math.Float32frombits(b&0x007fffff | 0x3f000000) // in [½, 1)
	// m < √½: e − 1 and 2m − 1, else m − 1, chosen by a mask (the branch
	// would be a coin toss on a loss's inputs).
	less := SignMask(m - sqrtHalf)
	e += int32(less)
	m = (m + math.Float32frombits(math.Float32bits(m)&less)) - 1
	z := m * m
	y := float32(7.0376836292e-2)
	y = y*m - 1.1514610310e-1
	y = y*m + 1.1676998740e-1
	y = y*m - 1.2420140846e-1
	y = y*m + 1.4249322787e-1
	y = y*m - 1.6668057665e-1
	y = y*m + 2.0000714765e-1
	y = y*m - 2.4999993993e-1
	y = y*m + 3.3333331174e-1
	y *= m * z
	fe := float32(e)
	y += ln2lo * fe
	y -= 0.5 * z
	return m + y + ln2hi*fe
}

// Tanh32 returns tanh x in float32 arithmetic, within 2 ulp
// (TestTanh32): Cephes' tanhf, an odd minimax polynomial for |x| < 0.625
// and 1 − 2/(e^{2|x|} + 1) above, both computed and one chosen by a mask.
func Tanh32(x float32) float32 {
	ax := math.Float32frombits(math.Float32bits(x) &^ (1 << 31))
	big := 1 - 2/(Exp32(2*ax)+1)
	big = math.Float32frombits(math.Float32bits(big) | math.Float32bits(x)&(1<<31))
	z := x * x
	p := float32(-5.70498872745e-3)
	p = p*z + 2.06390887954e-2
	p = p*z - 5.37397155531e-2
	p = p*z + 1.33314422036e-1
	p = p*z - 3.33332819422e-1
	small := p*z*x + x
	sel := SignMask(0.625 - ax) // all ones where |x| > 0.625
	r := math.Float32bits(small)&^sel | math.Float32bits(big)&sel
	if x != x {
		return x
	}
	return math.Float32frombits(r)
}
