//go:build !noasm

#include "textflag.h"

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

	// exp32(a), a ≤ 0: n = round(a·log₂e) by adding and taking away 1.5·2²³.
	MOVAPS X1, X2
	MULPS  X8, X2
	ADDPS  X9, X2
	SUBPS  X9, X2   // fn
	CVTTPS2PL X2, X3 // n
	MOVUPS 32(AX), X4
	MULPS  X2, X4
	MOVAPS X1, X5
	SUBPS  X4, X5   // r = a − fn·ln2hi
	MOVUPS 48(AX), X4
	MULPS  X2, X4
	SUBPS  X4, X5   // r −= fn·ln2lo

	MOVUPS 64(AX), X6 // p = c₀
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
	ADDPS  X7, X6   // p = ((((c₀r + c₁)r + c₂)r + c₃)r + c₄)r + c₅
	MULPS  X5, X6
	MULPS  X5, X6
	ADDPS  X5, X6
	ADDPS  X10, X6  // p·r·r + r + 1

	// ·2ⁿ as ·2ⁿ⁺⁶⁴ (exact) then ·2⁻⁶⁴ (one rounding, into the
	// subnormals where it must).
	MOVUPS 208(AX), X7
	PADDL  X7, X3
	PSLLL  $23, X3
	MULPS  X3, X6
	MOVUPS 192(AX), X7
	MULPS  X7, X6   // e

	// e = 0 below minArg.
	MOVAPS X1, X7
	CMPPS  X11, X7, $5 // a ≥ minArg (or NaN)
	ANDPS  X7, X6

	// σ = (v < 0 ? e : 1)/(1 + e), the choice by v's sign bit.
	MOVAPS X0, X7
	PSRAL  $31, X7  // all ones where v's sign is set
	MOVAPS X7, X4
	ANDPS  X6, X4   // e where negative
	ANDNPS X10, X7  // 1 where not
	ORPS   X4, X7
	MOVAPS X6, X5
	ADDPS  X10, X5
	DIVPS  X5, X7

	// NaN in, NaN out.
	MOVAPS X0, X4
	CMPPS  X0, X4, $3 // unordered: v is NaN
	ANDPS  X0, X4
	ORPS   X4, X7

	MOVUPS X7, (DI)
	ADDQ   $16, SI
	ADDQ   $16, DI
	DECQ   CX
	JNZ    loop

done:
	RET
