//go:build !noasm

#include "textflag.h"

// func adamSSE(w, g, m, v []float32, k *AdamConsts)
// len(w) is a multiple of 4; g, m and v are at least as long.
TEXT ·adamSSE(SB), NOSPLIT, $0-104
	MOVQ w_base+0(FP), DI
	MOVQ w_len+8(FP), CX
	MOVQ g_base+24(FP), SI
	MOVQ m_base+48(FP), R8
	MOVQ v_base+72(FP), R9
	MOVQ k+96(FP), AX

	// Broadcast the constants: X8 β₁, X9 1−β₁, X10 β₂, X11 1−β₂,
	// X12 step, X13 1/√bc2, X14 ε, X15 decay.
	MOVSS  0(AX), X8
	SHUFPS $0, X8, X8
	MOVSS  4(AX), X9
	SHUFPS $0, X9, X9
	MOVSS  8(AX), X10
	SHUFPS $0, X10, X10
	MOVSS  12(AX), X11
	SHUFPS $0, X11, X11
	MOVSS  16(AX), X12
	SHUFPS $0, X12, X12
	MOVSS  20(AX), X13
	SHUFPS $0, X13, X13
	MOVSS  24(AX), X14
	SHUFPS $0, X14, X14
	MOVSS  28(AX), X15
	SHUFPS $0, X15, X15

	XORQ BX, BX
	SHRQ $2, CX
	JZ   done

loop:
	MOVUPS (SI)(BX*4), X0 // g
	MOVUPS (R8)(BX*4), X1 // m
	MOVUPS (R9)(BX*4), X2 // v

	// m = β₁·m + (1−β₁)·g
	MULPS X8, X1
	MOVAPS X0, X3
	MULPS X9, X3
	ADDPS X3, X1
	MOVUPS X1, (R8)(BX*4)

	// v = β₂·v + ((1−β₂)·g)·g
	MULPS X10, X2
	MOVAPS X0, X4
	MULPS X11, X4
	MULPS X0, X4
	ADDPS X4, X2
	MOVUPS X2, (R9)(BX*4)

	// w = w·decay − (step·m) / (√v·(1/√bc2) + ε)
	SQRTPS X2, X5
	MULPS  X13, X5
	ADDPS  X14, X5
	MULPS  X12, X1
	DIVPS  X5, X1
	MOVUPS (DI)(BX*4), X6
	MULPS  X15, X6
	SUBPS  X1, X6
	MOVUPS X6, (DI)(BX*4)

	ADDQ $4, BX
	DECQ CX
	JNZ  loop

done:
	RET
