package convert

import (
	"slices"
	"testing"
)

func TestOpsetsRead(t *testing.T) {
	tests := []struct {
		op       string
		from, to int64
	}{
		{"Relu", 1, 21}, {"HardSwish", 14, 21}, {"LayerNormalization", 17, 21}, {"Resize", 10, 21}, {"Erf", 9, 21},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			if from, to := OpsetsRead(tt.op); from != tt.from || to != tt.to {
				t.Errorf("got %d–%d, want %d–%d", from, to, tt.from, tt.to)
			}
		})
	}
}

func TestUpgradesListed(t *testing.T) {
	if got, want := Upgrades("Clip"), []OpUpgrade{{11, "min, max: attributes → inputs 1, 2"}}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := Upgrades("ReduceL2"); len(got) != 1 || got[0].Before != 18 {
		t.Errorf("got %v, want one upgrade before 18", got)
	}
	if got := Upgrades("Relu"); got != nil {
		t.Errorf("got %v, want none", got)
	}
	if ops := UpgradedOps(); !slices.IsSorted(ops) || !slices.Contains(ops, "Softmax") {
		t.Errorf("got %v, want the op types with upgrades, sorted", ops)
	}
}
