package half

import (
	"math"
	"testing"
)

func TestToFloat32(t *testing.T) {
	tests := []struct {
		bits uint16
		want float32
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xc000, -2},
		{0x3e00, 1.5},
		{0x7bff, 65504},                     // largest normal
		{0x0400, float32(math.Pow(2, -14))}, // smallest normal
		{0x0001, float32(math.Pow(2, -24))}, // smallest subnormal
		{0x8001, -float32(math.Pow(2, -24))},
		{0x7c00, float32(math.Inf(1))},
		{0xfc00, float32(math.Inf(-1))},
	}
	for _, tt := range tests {
		if got := ToFloat32(tt.bits); got != tt.want {
			t.Errorf("ToFloat32(%#04x): got %v, want %v", tt.bits, got, tt.want)
		}
	}
	if got := ToFloat32(0x7e00); got == got {
		t.Errorf("ToFloat32(0x7e00): got %v, want NaN", got)
	}
}
