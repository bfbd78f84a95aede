package export

// What Writer writes, for the coverage table (aebridge ops).

// OpsetsWritten returns the opsets from which through MaxOpset a node of
// op is written (from > MaxOpset: at none), and whether its form is
// rewritten below opset 18 (lowered: some attributes or inputs then
// must be constants or have their defaults, else the export fails with an
// *UnsupportedError naming the node).
func OpsetsWritten(op string) (from, to int, lowered bool) {
	from = MinOpset
	_, lowered = lowerings[op]
	if v, ok := introduced[op]; ok && v > from {
		from = v
	}
	return from, MaxOpset, lowered
}
