//go:build !noasm

#include "textflag.h"
#include "exp_amd64.h"

// func bceSSE(grad, z, t []float32, c *[16][4]uint32, acc *[8]float32)
// len(z) is a multiple of 4 (at most 256); grad and t are as long. The
// constants are sigmoidSSE's (c[0]–c[14]) and the gradient's scale
// (c[15]); e = e^−|z| is computed as there, with the same bits.
TEXT ·bceSSE(SB), NOSPLIT, $0-88
	MOVQ grad_base+0(FP), DI
	MOVQ z_base+24(FP), SI
	MOVQ z_len+32(FP), CX
	MOVQ t_base+48(FP), R8
	MOVQ c+72(FP), AX
	MOVQ acc+80(FP), BX
	MOVUPS 0(AX), X8    // log₂e
	MOVUPS 16(AX), X9   // round
	MOVUPS 160(AX), X10 // one
	MOVUPS 176(AX), X11 // minArg
	MOVUPS 224(AX), X12 // sign bit
	XORPS  X14, X14     // Σ max(z, 0) − z·t, four lanes
	MOVAPS X10, X15     // Π (1 + e), four lanes
	SHRQ $2, CX
	JZ   done

loop:
	MOVUPS (SI), X0 // z
	MOVAPS X0, X1
	ORPS   X12, X1  // a = −|z|

	EXP_NEG          // X6 = e = e^−|z|
	SIGMOID_FROM_EXP // X7 = σ(z), X5 = 1 + e

	// grad = (σ(z) − t)·scale.
	MOVUPS (R8), X13 // t
	SUBPS  X13, X7
	MOVUPS 240(AX), X4
	MULPS  X4, X7
	MOVUPS X7, (DI)

	// The loss: max(z, 0) − z·t into the sums, 1 + e into the products.
	XORPS  X4, X4
	MAXPS  X0, X4   // max(z, 0)
	MULPS  X0, X13  // z·t
	SUBPS  X13, X4
	ADDPS  X4, X14
	MULPS  X5, X15

	ADDQ   $16, SI
	ADDQ   $16, DI
	ADDQ   $16, R8
	DECQ   CX
	JNZ    loop

done:
	MOVUPS X14, (BX)
	MOVUPS X15, 16(BX)
	RET
