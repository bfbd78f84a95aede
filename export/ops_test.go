package export

import "testing"

// TestOpsetsWritten checks the export's coverage: an op newer than
// MinOpset is written from the opset it came in unless it is lowered, and
// one after MaxOpset at none.
func TestOpsetsWritten(t *testing.T) {
	tests := []struct {
		op       string
		from, to int
		lowered  bool
	}{
		{"Relu", 11, 18, false}, {"HardSwish", 11, 18, true}, {"LayerNormalization", 11, 18, true},
		{"Mish", 18, 18, false}, {"Trilu", 14, 18, false}, {"AffineGrid", 20, 18, false}, {"ReduceSum", 11, 18, true},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			from, to, lowered := OpsetsWritten(tt.op)
			if from != tt.from || to != tt.to || lowered != tt.lowered {
				t.Errorf("got %d, %d, %v, want %d, %d, %v", from, to, lowered, tt.from, tt.to, tt.lowered)
			}
		})
	}
}
