package trainer

// FLOPs returns the floating-point operations of the matrix products in
// one sample's forward pass — dense layers, convolutions (either kind) and
// the variational heads — counting a multiply-add as two. A training step
// costs about three times as much: backward has two products for each one
// of forward. Elementwise layers, pooling and losses are not counted.
func (m *Model) FLOPs() int64 {
	var macs int64
	heads := func() {
		if m.mu != nil {
			macs += int64(m.mu.In*m.mu.Out) + int64(m.logvar.In*m.logvar.Out)
		}
	}
	shape := m.Config.Input
	for i, l := range m.layers() {
		if i == len(m.Encoder) {
			heads()
			shape = m.codeShape
		}
		macs += layerMACs(l, shape)
		shape = l.OutShape(shape)
	}
	if len(m.Decoder) == 0 {
		heads()
	}
	return 2 * macs
}

// layerMACs returns a layer's multiply-adds for one sample of per-sample
// shape in.
func layerMACs(l Layer, in []int) int64 {
	switch l := l.(type) {
	case *Dense:
		return int64(l.In * l.Out)
	case *Conv:
		out := l.OutShape(in)
		return int64(product(out[1:])) * int64(l.Out*(l.In/l.Groups)*l.K[0]*l.K[1])
	case *ConvTranspose:
		return int64(product(in[1:])) * int64(l.In*(l.Out/l.Groups)*l.K[0]*l.K[1])
	}
	return 0
}
