//go:build !noasm

#include "textflag.h"
#include "exp_amd64.h"

// func sigmoidSSE(y, x []float32, c *[15][4]uint32)
// len(y) is a multiple of 4; x is as long. The constants c[k] are at
// 16·k(AX): 0 log₂e, 1 round, 2 ln2hi, 3 ln2lo, 4–9 the polynomial, 10 one,
// 11 minArg, 12 2⁻⁶⁴, 13 the integers 191, 14 the sign bit.
TEXT ·sigmoidSSE(SB), NOSPLIT, $0-56
	MOVQ y_base+0(FP), DI
	MOVQ y_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	MOVQ c+48(FP), AX
	MOVUPS 0(AX), X8    // log₂e
	MOVUPS 16(AX), X9   // round
	MOVUPS 160(AX), X10 // one
	MOVUPS 176(AX), X11 // minArg
	MOVUPS 224(AX), X12 // sign bit
	SHRQ $2, CX
	JZ   done

loop:
	MOVUPS (SI), X0 // v
	MOVAPS X0, X1
	ORPS   X12, X1  // a = −|v|

	EXP_NEG          // X6 = e^−|v|
	SIGMOID_FROM_EXP // X7 = σ(v)

	MOVUPS X7, (DI)
	ADDQ   $16, SI
	ADDQ   $16, DI
	DECQ   CX
	JNZ    loop

done:
	RET
