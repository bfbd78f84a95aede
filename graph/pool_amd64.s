//go:build !noasm

#include "textflag.h"

// func pool2x2SSE(out []float32, idx []int, r0, r1 []float32, at, w int) int
TEXT ·pool2x2SSE(SB), NOSPLIT, $0-120
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ idx_base+24(FP), R8
	MOVQ r0_base+48(FP), SI
	MOVQ r1_base+72(FP), DX
	MOVQ at+96(FP), AX
	MOVQ w+104(FP), BX
	XORQ R9, R9 // windows done

	// X15 = w, X14 = w+1, X13 = 1 (int32 lanes); X12 = at + (0, 2, 4, 6);
	// X11 = 8; X10 = 0.
	MOVL    BX, X15
	PSHUFD  $0, X15, X15
	MOVL    $1, R10
	MOVL    R10, X13
	PSHUFD  $0, X13, X13
	MOVO    X15, X14
	PADDL   X13, X14
	MOVL    AX, X12
	PSHUFD  $0, X12, X12
	MOVL    $0, R10
	MOVL    R10, X0
	MOVL    $2, R10
	MOVL    R10, X1
	PUNPCKLLQ X1, X0      // (0, 2, ·, ·)
	MOVL    $4, R10
	MOVL    R10, X1
	MOVL    $6, R10
	MOVL    R10, X2
	PUNPCKLLQ X2, X1      // (4, 6, ·, ·)
	PUNPCKLQDQ X1, X0     // (0, 2, 4, 6)
	PADDL   X0, X12
	MOVL    $8, R10
	MOVL    R10, X11
	PSHUFD  $0, X11, X11
	PXOR    X10, X10

	SHRQ $2, CX
	JZ   done

loop:
	MOVUPS (SI), X0   // r0[0:4]
	MOVUPS 16(SI), X1 // r0[4:8]
	MOVUPS (DX), X3   // r1[0:4]
	MOVUPS 16(DX), X4 // r1[4:8]

	// Leave four windows holding a NaN or an infinity to the Go code:
	// their sum is then not finite (a false alarm only sends finite
	// windows there too).
	MOVAPS X0, X5
	ADDPS  X1, X5
	ADDPS  X3, X5
	ADDPS  X4, X5
	SUBPS  X5, X5      // 0 if finite, NaN if not
	CMPPS  X5, X5, $3  // unordered
	MOVMSKPS X5, R10
	TESTL  R10, R10
	JNZ    done

	MOVAPS X0, X2
	SHUFPS $0x88, X1, X2 // a = r0 evens (the best so far)
	SHUFPS $0xDD, X1, X0 // b = r0 odds
	MOVAPS X3, X1
	SHUFPS $0x88, X4, X1 // c = r1 evens
	SHUFPS $0xDD, X4, X3 // d = r1 odds
	PXOR   X4, X4        // offsets

	// b: where best < b, take b and offset 1.
	MOVAPS X2, X5
	CMPPS  X0, X5, $1
	MOVAPS X2, X6
	XORPS  X0, X6
	ANDPS  X5, X6
	XORPS  X6, X2
	MOVO   X4, X6
	PXOR   X13, X6
	PAND   X5, X6
	PXOR   X6, X4

	// c: offset w.
	MOVAPS X2, X5
	CMPPS  X1, X5, $1
	MOVAPS X2, X6
	XORPS  X1, X6
	ANDPS  X5, X6
	XORPS  X6, X2
	MOVO   X4, X6
	PXOR   X15, X6
	PAND   X5, X6
	PXOR   X6, X4

	// d: offset w+1.
	MOVAPS X2, X5
	CMPPS  X3, X5, $1
	MOVAPS X2, X6
	XORPS  X3, X6
	ANDPS  X5, X6
	XORPS  X6, X2
	MOVO   X4, X6
	PXOR   X14, X6
	PAND   X5, X6
	PXOR   X6, X4

	MOVUPS X2, (DI)

	// Indices: at + 2i + offset, widened to int64.
	PADDL  X12, X4
	MOVO   X4, X5
	PUNPCKLLQ X10, X4
	PUNPCKHLQ X10, X5
	MOVOU  X4, (R8)
	MOVOU  X5, 16(R8)

	PADDL  X11, X12
	ADDQ   $32, SI
	ADDQ   $32, DX
	ADDQ   $16, DI
	ADDQ   $32, R8
	ADDQ   $4, R9
	DECQ   CX
	JNZ    loop

done:
	MOVQ R9, ret+112(FP)
	RET
