package convert

import (
	"maps"
	"slices"
)

// What ReadGraph reads, for the coverage table (aebridge ops): the range
// of ai.onnx opsets a node of an op type is read at, and the differences
// of older opsets that it rewrites into the graph's opset-18 forms.

// OpUpgrade is one rewrite of an op type's older form: a model whose
// ai.onnx opset is below Before has the older form, which What describes.
type OpUpgrade struct {
	Before int64
	What   string
}

// MaxOpsetRead is the newest ai.onnx opset ReadGraph reads.
const MaxOpsetRead = maxOpset

// firstOpsets are the opsets op types (of those the graph runs, or that
// ReadGraph rewrites into them) first appear in, where it is not 1.
var firstOpsets = map[string]int64{
	"ConstantOfShape": 9, "Erf": 9, "MaxUnpool": 9, "Expand": 8, "Resize": 10, "Upsample": 7,
	"HardSwish": 14, "LayerNormalization": 17, "Gelu": 20, "Range": 11, "Where": 9, "NonZero": 9,
	"CumSum": 11, "GatherElements": 11, "GatherND": 11, "ScatterND": 11, "Round": 11, "Celu": 12,
	"Einsum": 12, "Trilu": 14, "Mish": 18, "GroupNormalization": 18, "Sign": 9, "Shrink": 9,
	"ThresholdedRelu": 10, "Mod": 10, "CastLike": 15, "GreaterOrEqual": 12, "LessOrEqual": 12,
	"QuantizeLinear": 10, "DequantizeLinear": 10, "DynamicQuantizeLinear": 11, "MatMulInteger": 10,
	"ConvInteger": 10, "QLinearConv": 10, "QLinearMatMul": 10, "OneHot": 9, "Bernoulli": 15,
}

// OpsetsRead returns the opsets a node of op is read at: from the one it
// first appears in to MaxOpsetRead.
func OpsetsRead(op string) (from, to int64) {
	from = 1
	if v, ok := firstOpsets[op]; ok {
		from = v
	}
	return from, MaxOpsetRead
}

// Upgrades returns the rewrites of op's older forms, oldest first (those
// of every op type, such as consumed_inputs before opset 6, left out).
func Upgrades(op string) []OpUpgrade {
	var out []OpUpgrade
	for _, u := range upgrades[op] {
		out = append(out, OpUpgrade{Before: u.before, What: u.what})
	}
	return out
}

// UpgradedOps returns the op types that have upgrades, sorted.
func UpgradedOps() []string { return slices.Sorted(maps.Keys(upgrades)) }
