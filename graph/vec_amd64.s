//go:build !noasm

#include "textflag.h"

// func axpySSE(y, x []float32, a float32)
// len(y) is a multiple of 8; x is as long.
TEXT ·axpySSE(SB), NOSPLIT, $0-52
	MOVQ   y_base+0(FP), DI
	MOVQ   y_len+8(FP), CX
	MOVQ   x_base+24(FP), SI
	MOVSS  a+48(FP), X0
	SHUFPS $0, X0, X0
	SHRQ   $3, CX
	JZ     axpydone

axpyloop:
	MOVUPS (SI), X1
	MOVUPS 16(SI), X2
	MULPS  X0, X1
	MULPS  X0, X2
	MOVUPS (DI), X3
	MOVUPS 16(DI), X4
	ADDPS  X1, X3
	ADDPS  X2, X4
	MOVUPS X3, (DI)
	MOVUPS X4, 16(DI)
	ADDQ   $32, SI
	ADDQ   $32, DI
	DECQ   CX
	JNZ    axpyloop

axpydone:
	RET

// func dotSSE(x, y []float32) float32
// len(x) is a multiple of 8; y is as long.
TEXT ·dotSSE(SB), NOSPLIT, $0-52
	MOVQ  x_base+0(FP), SI
	MOVQ  x_len+8(FP), CX
	MOVQ  y_base+24(FP), DI
	XORPS X0, X0 // sums of lanes 0–3
	XORPS X1, X1 // sums of lanes 4–7
	SHRQ  $3, CX
	JZ    dotfold

dotloop:
	MOVUPS (SI), X2
	MOVUPS 16(SI), X3
	MOVUPS (DI), X4
	MOVUPS 16(DI), X5
	MULPS  X4, X2
	MULPS  X5, X3
	ADDPS  X2, X0
	ADDPS  X3, X1
	ADDQ   $32, SI
	ADDQ   $32, DI
	DECQ   CX
	JNZ    dotloop

dotfold:
	ADDPS   X1, X0     // v = (s0+s4, s1+s5, s2+s6, s3+s7)
	MOVAPS  X0, X1
	MOVHLPS X0, X1     // (v2, v3, …)
	ADDPS   X1, X0     // (v0+v2, v1+v3, …)
	MOVAPS  X0, X1
	SHUFPS  $0x55, X1, X1 // v1+v3
	ADDSS   X1, X0
	MOVSS   X0, ret+48(FP)
	RET
