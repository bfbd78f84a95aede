//go:build !noasm

#include "textflag.h"

// func reluSSE(y, x []float32)
TEXT ·reluSSE(SB), NOSPLIT, $0-48
	MOVQ y_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	SHRQ $2, CX
	JZ   reludone

reluloop:
	MOVUPS (SI), X0
	MOVAPS X0, X1
	PSRAL  $31, X1 // all ones where the sign is set
	PANDN  X0, X1  // x without those lanes
	MOVUPS X1, (DI)
	ADDQ   $16, SI
	ADDQ   $16, DI
	DECQ   CX
	JNZ    reluloop

reludone:
	RET

// func reluBackSSE(out, g, y []float32)
TEXT ·reluBackSSE(SB), NOSPLIT, $0-72
	MOVQ out_base+0(FP), DI
	MOVQ g_base+24(FP), SI
	MOVQ y_base+48(FP), DX
	MOVQ y_len+56(FP), CX
	PXOR X2, X2
	SHRQ $2, CX
	JZ   backdone

backloop:
	MOVUPS  (DX), X0
	PCMPEQL X2, X0 // all ones where y is +0
	MOVUPS  (SI), X1
	PANDN   X1, X0 // g elsewhere
	MOVUPS  X0, (DI)
	ADDQ    $16, SI
	ADDQ    $16, DX
	ADDQ    $16, DI
	DECQ    CX
	JNZ     backloop

backdone:
	RET

// func mseSSE(grad, out, target []float32, scale float32, acc *[4]float32)
TEXT ·mseSSE(SB), NOSPLIT, $0-88
	MOVQ   grad_base+0(FP), DI
	MOVQ   out_base+24(FP), SI
	MOVQ   out_len+32(FP), CX
	MOVQ   target_base+48(FP), DX
	MOVSS  scale+72(FP), X3
	SHUFPS $0, X3, X3
	MOVQ   acc+80(FP), BX
	XORPS  X4, X4 // Σ d², four lanes
	SHRQ   $2, CX
	JZ     msedone

mseloop:
	MOVUPS (SI), X0
	MOVUPS (DX), X1
	SUBPS  X1, X0 // d = out − target
	MOVAPS X0, X1
	MULPS  X0, X1
	ADDPS  X1, X4
	MULPS  X3, X0 // scale·d
	MOVUPS X0, (DI)
	ADDQ   $16, SI
	ADDQ   $16, DX
	ADDQ   $16, DI
	DECQ   CX
	JNZ    mseloop

msedone:
	MOVUPS X4, (BX)
	RET
