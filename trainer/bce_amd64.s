//go:build !noasm

#include "textflag.h"

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

	// e = exp32(a), as in sigmoidSSE.
	MOVAPS X1, X2
	MULPS  X8, X2
	ADDPS  X9, X2
	SUBPS  X9, X2
	CVTTPS2PL X2, X3
	MOVUPS 32(AX), X4
	MULPS  X2, X4
	MOVAPS X1, X5
	SUBPS  X4, X5
	MOVUPS 48(AX), X4
	MULPS  X2, X4
	SUBPS  X4, X5
	MOVUPS 64(AX), X6
	MULPS  X5, X6
	MOVUPS 80(AX), X7
	ADDPS  X7, X6
	MULPS  X5, X6
	MOVUPS 96(AX), X7
	ADDPS  X7, X6
	MULPS  X5, X6
	MOVUPS 112(AX), X7
	ADDPS  X7, X6
	MULPS  X5, X6
	MOVUPS 128(AX), X7
	ADDPS  X7, X6
	MULPS  X5, X6
	MOVUPS 144(AX), X7
	ADDPS  X7, X6
	MULPS  X5, X6
	MULPS  X5, X6
	ADDPS  X5, X6
	ADDPS  X10, X6
	MOVUPS 208(AX), X7
	PADDL  X7, X3
	PSLLL  $23, X3
	MULPS  X3, X6
	MOVUPS 192(AX), X7
	MULPS  X7, X6
	MOVAPS X1, X7
	CMPPS  X11, X7, $5
	ANDPS  X7, X6   // e

	// grad = (σ(z) − t)·scale, σ = (z < 0 ? e : 1)/(1 + e), NaN kept.
	MOVAPS X0, X7
	PSRAL  $31, X7
	MOVAPS X7, X4
	ANDPS  X6, X4
	ANDNPS X10, X7
	ORPS   X4, X7
	MOVAPS X6, X5
	ADDPS  X10, X5  // 1 + e
	DIVPS  X5, X7
	MOVAPS X0, X4
	CMPPS  X0, X4, $3
	ANDPS  X0, X4
	ORPS   X4, X7   // σ
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
