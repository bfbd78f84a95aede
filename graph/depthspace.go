package graph

import "fmt"

func init() {
	register(map[string]operator{
		"DepthToSpace": {inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, attrs: map[string]AttrType{"blocksize": AttrInt, "mode": AttrString},
			infer: func(n *Node, in []arg) ([]arg, error) {
				b, _, err := depthSpaceAttrs(n, true)
				if err != nil {
					return nil, err
				}
				s, err := DepthToSpaceShape(in[0].shape, b)
				if err != nil {
					return nil, attrError("blocksize", b, "%v", err)
				}
				return []arg{{shape: s, typ: in[0].typ}}, nil
			},
			forward: func(_ *state, n *Node, out, in []*Tensor) {
				b, crd, _ := depthSpaceAttrs(n, true)
				DepthToSpaceForward(out[0], in[0], b, crd)
			},
			backward: func(_ *state, n *Node, din, dout, out, in []*Tensor) {
				if din[0] != nil && dout[0] != nil {
					b, crd, _ := depthSpaceAttrs(n, true)
					DepthToSpaceBackward(din[0], dout[0], b, crd)
				}
			}},
		"SpaceToDepth": {inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, attrs: map[string]AttrType{"blocksize": AttrInt},
			infer: func(n *Node, in []arg) ([]arg, error) {
				b, _, err := depthSpaceAttrs(n, false)
				if err != nil {
					return nil, err
				}
				s, err := SpaceToDepthShape(in[0].shape, b)
				if err != nil {
					return nil, attrError("blocksize", b, "%v", err)
				}
				return []arg{{shape: s, typ: in[0].typ}}, nil
			},
			forward: func(_ *state, n *Node, out, in []*Tensor) {
				b, _, _ := depthSpaceAttrs(n, false)
				SpaceToDepthForward(out[0], in[0], b)
			},
			backward: func(_ *state, n *Node, din, dout, out, in []*Tensor) {
				if din[0] != nil && dout[0] != nil {
					b, _, _ := depthSpaceAttrs(n, false)
					SpaceToDepthBackward(din[0], dout[0], b)
				}
			}},
	})
}

// DepthToSpace and SpaceToDepth: ONNX's moves between channels and
// blocks of pixels of NCHW data (float32 or int64), the pixel shuffle of
// super-resolution decoders. DepthToSpace takes (N, C·b², H, W) to
// (N, C, H·b, W·b): in mode DCR (the default) channel (i·b + j)·C + c
// goes to pixel (i, j) of each block of output channel c, in mode CRD
// (PyTorch's PixelShuffle) channel c·b² + i·b + j does. SpaceToDepth is
// DCR's inverse. Both are permutations: Backward moves the gradient back.

// depthSpaceAttrs returns the node's blocksize and whether its mode is
// CRD, or an error naming the attribute.
func depthSpaceAttrs(n *Node, modes bool) (int, bool, error) {
	a, ok := n.Attrs["blocksize"]
	if !ok {
		return 0, false, fmt.Errorf("attribute blocksize: missing")
	}
	if a.Int < 1 || a.Int > 1<<20 {
		return 0, false, attrError("blocksize", a.Int, "want at least 1 (and at most 2²⁰)")
	}
	crd := false
	if m, ok := n.Attrs["mode"]; ok && modes {
		switch m.String {
		case "DCR":
		case "CRD":
			crd = true
		default:
			return 0, false, attrError("mode", fmt.Sprintf("%q", m.String), "want DCR or CRD")
		}
	}
	return int(a.Int), crd, nil
}

// DepthToSpaceShape returns the shape of x (N, C·b², H, W) after
// DepthToSpace, or an error naming the shape.
func DepthToSpaceShape(x []int, b int) ([]int, error) {
	s, err := depthToSpaceOut(x, b)
	return s[:], err
}

func depthToSpaceOut(x []int, b int) ([4]int, error) {
	if len(x) != 4 {
		return [4]int{}, fmt.Errorf("the data of shape %v, want 4-D (N, C, H, W)", x)
	}
	if x[1]%(b*b) != 0 {
		return [4]int{}, fmt.Errorf("the data of shape %v: channels %d not a multiple of %d", x, x[1], b*b)
	}
	s := [4]int{x[0], x[1] / (b * b), x[2] * b, x[3] * b}
	if _, ok := checkedElements(s[:]); !ok || x[2] > maxElements/b || x[3] > maxElements/b {
		return [4]int{}, fmt.Errorf("the data of shape %v: more than %d elements", x, maxElements)
	}
	return s, nil
}

// SpaceToDepthShape returns the shape of x (N, C, H, W) after
// SpaceToDepth, or an error naming the shape.
func SpaceToDepthShape(x []int, b int) ([]int, error) {
	s, err := spaceToDepthOut(x, b)
	return s[:], err
}

func spaceToDepthOut(x []int, b int) ([4]int, error) {
	if len(x) != 4 {
		return [4]int{}, fmt.Errorf("the data of shape %v, want 4-D (N, C, H, W)", x)
	}
	if x[2]%b != 0 || x[3]%b != 0 {
		return [4]int{}, fmt.Errorf("the data of shape %v: height %d and width %d not multiples of it", x, x[2], x[3])
	}
	s := [4]int{x[0], x[1] * b * b, x[2] / b, x[3] / b}
	if _, ok := checkedElements(s[:]); !ok || x[1] > maxElements/(b*b) {
		return [4]int{}, fmt.Errorf("the data of shape %v: more than %d elements", x, maxElements)
	}
	return s, nil
}

// depthToSpaceView writes the output viewed as (N, C, H, b, W, b) and the
// strides at which each of its elements reads x (N, C·b², H, W).
func depthToSpaceView(shape, st []int, x []int, b int, crd bool) {
	n, c, h, w := x[0], x[1]/(b*b), x[2], x[3]
	copy(shape, []int{n, c, h, b, w, b})
	hw := h * w
	sc, si, sj := hw, b*c*hw, c*hw // DCR: channel (i·b + j)·C + c
	if crd {
		sc, si, sj = b*b*hw, b*hw, hw // CRD: channel c·b² + i·b + j
	}
	copy(st, []int{c * b * b * hw, sc, w, si, 1, sj})
}

// spaceToDepthView writes the output viewed as (N, b, b, C, H/b, W/b)
// and the strides at which each of its elements reads x (N, C, H, W).
func spaceToDepthView(shape, st []int, x []int, b int) {
	n, c, h, w := x[0], x[1], x[2], x[3]
	copy(shape, []int{n, b, b, c, h / b, w / b})
	copy(st, []int{c * h * w, w, 1, h * w, b * w, b})
}

// DepthToSpaceForward writes y = x (N, C·b², H, W) rearranged to
// (N, C, H·b, W·b), in mode CRD or DCR; y takes x's element type. It
// panics with ErrShape if DepthToSpaceShape refuses x.
func DepthToSpaceForward(y, x *Tensor, b int, crd bool) {
	checkAny(x)
	if _, err := depthToSpaceOut(x.Shape, b); err != nil {
		panic(ErrShape)
	}
	var v, st [6]int
	depthToSpaceView(v[:], st[:], x.Shape, b, crd)
	resizeAs(y, x.Type, v[0], v[1], v[2]*b, v[4]*b)
	if x.Type == Int64 {
		strided(y.Int64, x.Int64, v[:], st[:], 0)
	} else {
		strided(y.Data, x.Data, v[:], st[:], 0)
	}
}

// DepthToSpaceBackward adds dy (of the rearranged shape) into dx (of x's)
// at the elements they came from. It panics with ErrShape if the shapes
// do not fit.
func DepthToSpaceBackward(dx, dy *Tensor, b int, crd bool) {
	checkLen(dx, dy)
	if _, err := depthToSpaceOut(dx.Shape, b); err != nil {
		panic(ErrShape)
	}
	var v, st [6]int
	depthToSpaceView(v[:], st[:], dx.Shape, b, crd)
	if len(dy.Shape) != 4 || dy.Shape[0] != v[0] || dy.Shape[1] != v[1] || dy.Shape[2] != v[2]*b || dy.Shape[3] != v[4]*b {
		panic(ErrShape)
	}
	stridedAdd(dx.Data, dy.Data, v[:], st[:], 0)
}

// SpaceToDepthForward writes y = x (N, C, H, W) rearranged to
// (N, C·b², H/b, W/b); y takes x's element type. It panics with ErrShape
// if SpaceToDepthShape refuses x.
func SpaceToDepthForward(y, x *Tensor, b int) {
	checkAny(x)
	if _, err := spaceToDepthOut(x.Shape, b); err != nil {
		panic(ErrShape)
	}
	var v, st [6]int
	spaceToDepthView(v[:], st[:], x.Shape, b)
	resizeAs(y, x.Type, v[0], v[3]*b*b, v[4], v[5])
	if x.Type == Int64 {
		strided(y.Int64, x.Int64, v[:], st[:], 0)
	} else {
		strided(y.Data, x.Data, v[:], st[:], 0)
	}
}

// SpaceToDepthBackward adds dy into dx (of x's shape) at the elements
// they came from. It panics with ErrShape if the shapes do not fit.
func SpaceToDepthBackward(dx, dy *Tensor, b int) {
	checkLen(dx, dy)
	if _, err := spaceToDepthOut(dx.Shape, b); err != nil {
		panic(ErrShape)
	}
	var v, st [6]int
	spaceToDepthView(v[:], st[:], dx.Shape, b)
	if len(dy.Shape) != 4 || dy.Shape[0] != v[0] || dy.Shape[1] != v[3]*b*b || dy.Shape[2] != v[4] || dy.Shape[3] != v[5] {
		panic(ErrShape)
	}
	stridedAdd(dx.Data, dy.Data, v[:], st[:], 0)
}
