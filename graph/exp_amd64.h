// EXP_NEG computes X6 = Exp32(X1) lane by lane for X1 ≤ 0, with Exp32's
// operations in Exp32's order (the same bits): n = round(a·log₂e) by
// adding and taking away 1.5·2²³, r = a − n·ln2hi − n·ln2lo, the
// polynomial p·r·r + r + 1, then ·2ⁿ as ·2ⁿ⁺⁶⁴ (exact) and ·2⁻⁶⁴ (one
// rounding, into the subnormals where it must), and 0 below minArg.
// AX points at sigmoidConsts; X8 = log₂e, X9 = round, X10 = 1,
// X11 = minArg; X2–X5 and X7 are overwritten.
#define EXP_NEG \
	MOVAPS X1, X2; \
	MULPS  X8, X2; \
	ADDPS  X9, X2; \
	SUBPS  X9, X2; \
	CVTTPS2PL X2, X3; \
	MOVUPS 32(AX), X4; \
	MULPS  X2, X4; \
	MOVAPS X1, X5; \
	SUBPS  X4, X5; \
	MOVUPS 48(AX), X4; \
	MULPS  X2, X4; \
	SUBPS  X4, X5; \
	MOVUPS 64(AX), X6; \
	MULPS  X5, X6; \
	MOVUPS 80(AX), X7; \
	ADDPS  X7, X6; \
	MULPS  X5, X6; \
	MOVUPS 96(AX), X7; \
	ADDPS  X7, X6; \
	MULPS  X5, X6; \
	MOVUPS 112(AX), X7; \
	ADDPS  X7, X6; \
	MULPS  X5, X6; \
	MOVUPS 128(AX), X7; \
	ADDPS  X7, X6; \
	MULPS  X5, X6; \
	MOVUPS 144(AX), X7; \
	ADDPS  X7, X6; \
	MULPS  X5, X6; \
	MULPS  X5, X6; \
	ADDPS  X5, X6; \
	ADDPS  X10, X6; \
	MOVUPS 208(AX), X7; \
	PADDL  X7, X3; \
	PSLLL  $23, X3; \
	MULPS  X3, X6; \
	MOVUPS 192(AX), X7; \
	MULPS  X7, X6; \
	MOVAPS X1, X7; \
	CMPPS  X11, X7, $5; \
	ANDPS  X7, X6

// SIGMOID_FROM_EXP computes X7 = σ(X0) from X6 = e^−|X0|: (X0 < 0 ? e :
// 1)/(1 + e), NaN in X0 giving NaN, and leaves 1 + e in X5. X10 = 1;
// X4 is overwritten.
#define SIGMOID_FROM_EXP \
	MOVAPS X0, X7; \
	PSRAL  $31, X7; \
	MOVAPS X7, X4; \
	ANDPS  X6, X4; \
	ANDNPS X10, X7; \
	ORPS   X4, X7; \
	MOVAPS X6, X5; \
	ADDPS  X10, X5; \
	DIVPS  X5, X7; \
	MOVAPS X0, X4; \
	CMPPS  X0, X4, $3; \
	ANDPS  X0, X4; \
	ORPS   X4, X7
