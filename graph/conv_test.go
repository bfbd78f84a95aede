package graph

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// convCase is one Conv or ConvTranspose node: X's and W's shapes, whether
// it has a bias, and its attributes.
type convCase struct {
	name      string
	transpose bool
	x, w      []int
	bias      bool
	attrs     map[string]Attribute
	noORT     string // why ONNX Runtime cannot run the case, if it cannot
}

func (c convCase) op() string {
	if c.transpose {
		return "ConvTranspose"
	}
	return "Conv"
}

func (c convCase) node() *Node {
	n := &Node{Name: "n", Op: c.op(), Inputs: []string{"x", "w"}, Outputs: []string{"y"}, Attrs: c.attrs}
	if c.bias {
		n.Inputs = append(n.Inputs, "b")
	}
	return n
}

// bShape is B's shape: one an output channel.
func (c convCase) bShape() []int {
	if c.transpose {
		return []int{c.w[1] * int(c.node().Int("group", 1))}
	}
	return []int{c.w[0]}
}

// plan is the case's Conv and plan, as the operator resolves them.
func (c convCase) plan(t *testing.T) (*Conv, convPlan) {
	t.Helper()
	var cv Conv
	if err := cv.setAttrs(c.node(), c.x, c.w, c.transpose); err != nil {
		t.Fatal(err)
	}
	p, err := cv.plan(c.x, c.w, c.transpose)
	if err != nil {
		t.Fatal(err)
	}
	return &cv, p
}

// inputs are random X, W and B (nil without bias).
func (c convCase) inputs(r *rand.Rand) (x, w, b *Tensor) {
	x, w = randTensor(r, c.x...), randTensor(r, c.w...)
	if c.bias {
		b = randTensor(r, c.bShape()...)
	}
	return x, w, b
}

// ref is the reference loop nest of the case, in T.
func convRefOf[T float32 | float64](c convCase, p convPlan, x, w, b []T) []T {
	if c.transpose {
		return convTransposeRef(x, w, b, p)
	}
	return convRef(x, w, b, p)
}

var convCases = []convCase{
	{name: "direct_pads", x: []int{2, 3, 5, 6}, w: []int{2, 3, 3, 3}, bias: true, attrs: map[string]Attribute{"pads": Ints(1, 1, 1, 1)}},
	{name: "direct_asymmetric", x: []int{2, 2, 4, 5}, w: []int{1, 2, 2, 3}, bias: true, attrs: map[string]Attribute{"pads": Ints(0, 2, 1, 0)}},
	{name: "groups_strides_dilations", x: []int{2, 4, 7, 5}, w: []int{6, 2, 3, 2}, bias: true,
		attrs: map[string]Attribute{"group": Int(2), "strides": Ints(2, 1), "dilations": Ints(1, 2), "pads": Ints(0, 1, 2, 0)}},
	{name: "strides_no_bias", x: []int{3, 2, 6, 6}, w: []int{5, 2, 2, 2}, attrs: map[string]Attribute{"strides": Ints(2, 2)}},
	{name: "depthwise", x: []int{2, 4, 5, 5}, w: []int{8, 1, 3, 3}, bias: true, attrs: map[string]Attribute{"group": Int(4), "pads": Ints(1, 0, 1, 2)}},
	{name: "kernel_shape", x: []int{1, 2, 5, 4}, w: []int{6, 2, 3, 1}, bias: true, attrs: map[string]Attribute{"kernel_shape": Ints(3, 1)}},
	// The first kernel row's taps all fall in the padding above the image
	// (padding 4 over 2 output rows): im2col's rows start past the output.
	{name: "dilated_padding_past_output", x: []int{2, 2, 3, 5}, w: []int{3, 2, 2, 3}, bias: true, attrs: map[string]Attribute{"dilations": Ints(6, 1), "pads": Ints(4, 1, 1, 1)}},
	{name: "1d", x: []int{2, 3, 9}, w: []int{5, 3, 3}, bias: true, attrs: map[string]Attribute{"pads": Ints(2, 3), "strides": Ints(2), "dilations": Ints(2)}},
	{name: "1d_direct", x: []int{2, 3, 8}, w: []int{2, 3, 3}, bias: true, attrs: map[string]Attribute{"pads": Ints(1, 0)}},
	{name: "1d_groups", x: []int{2, 4, 8}, w: []int{6, 2, 3}, attrs: map[string]Attribute{"group": Int(2), "dilations": Ints(3), "pads": Ints(0, 1)}},
	{name: "same_upper", x: []int{1, 2, 5, 7}, w: []int{5, 2, 3, 2}, bias: true, attrs: map[string]Attribute{"auto_pad": String("SAME_UPPER"), "strides": Ints(2, 2)}},
	{name: "same_lower", x: []int{1, 2, 5, 7}, w: []int{5, 2, 3, 2}, bias: true, attrs: map[string]Attribute{"auto_pad": String("SAME_LOWER"), "strides": Ints(2, 3)}},
	{name: "same_upper_direct", x: []int{2, 2, 4, 6}, w: []int{2, 2, 2, 3}, bias: true, attrs: map[string]Attribute{"auto_pad": String("SAME_UPPER")}},
	{name: "same_lower_dilated_1d", x: []int{1, 2, 6}, w: []int{5, 2, 3}, attrs: map[string]Attribute{"auto_pad": String("SAME_LOWER"), "dilations": Ints(2)},
		noORT: "ONNX Runtime 1.30 refuses dilations with auto_pad SAME_UPPER or SAME_LOWER (ONNX pads for the dilated kernel)"},
	{name: "same_upper_stride_over_kernel_1d", x: []int{1, 2, 6}, w: []int{5, 2, 1}, attrs: map[string]Attribute{"auto_pad": String("SAME_UPPER"), "strides": Ints(3)}},
	{name: "valid", x: []int{2, 2, 6, 5}, w: []int{5, 2, 3, 3}, bias: true, attrs: map[string]Attribute{"auto_pad": String("VALID"), "strides": Ints(1, 2)}},

	{name: "transpose_output_padding", transpose: true, x: []int{2, 3, 4, 5}, w: []int{3, 2, 3, 3}, bias: true,
		attrs: map[string]Attribute{"strides": Ints(2, 2), "pads": Ints(1, 1, 1, 1), "output_padding": Ints(1, 1)}},
	{name: "transpose_groups_dilations", transpose: true, x: []int{2, 4, 3, 4}, w: []int{4, 3, 3, 2}, bias: true,
		attrs: map[string]Attribute{"group": Int(2), "strides": Ints(2, 1), "dilations": Ints(1, 2), "pads": Ints(0, 1, 2, 0)}},
	{name: "transpose_no_bias", transpose: true, x: []int{2, 2, 3, 3}, w: []int{2, 5, 2, 2}},
	{name: "transpose_dilated_padding_past_output", transpose: true, x: []int{2, 2, 3, 5}, w: []int{2, 3, 2, 3}, bias: true,
		attrs: map[string]Attribute{"dilations": Ints(6, 1), "pads": Ints(4, 1, 1, 1)}},
	{name: "transpose_1d", transpose: true, x: []int{2, 2, 5}, w: []int{2, 3, 4}, bias: true, attrs: map[string]Attribute{"strides": Ints(2), "pads": Ints(1, 2)}},
	{name: "transpose_1d_output_padding_dilation", transpose: true, x: []int{1, 2, 4}, w: []int{2, 1, 3}, bias: true,
		attrs: map[string]Attribute{"strides": Ints(2), "dilations": Ints(2), "output_padding": Ints(1)}},
	{name: "transpose_output_shape", transpose: true, x: []int{1, 2, 4, 5}, w: []int{2, 2, 3, 3}, bias: true,
		attrs: map[string]Attribute{"strides": Ints(2, 2), "output_shape": Ints(8, 10)}},
	{name: "transpose_output_shape_even", transpose: true, x: []int{1, 2, 4, 5}, w: []int{2, 2, 3, 3}, bias: true,
		attrs: map[string]Attribute{"strides": Ints(2, 2), "output_shape": Ints(7, 11)}},
	{name: "transpose_output_shape_1d", transpose: true, x: []int{2, 2, 4}, w: []int{2, 3, 3}, bias: true,
		attrs: map[string]Attribute{"strides": Ints(3), "output_padding": Ints(1), "output_shape": Ints(11)}},
	{name: "transpose_same_upper", transpose: true, x: []int{1, 2, 3, 4}, w: []int{2, 3, 4, 3}, bias: true,
		attrs: map[string]Attribute{"auto_pad": String("SAME_UPPER"), "strides": Ints(2, 2)}},
	{name: "transpose_same_lower", transpose: true, x: []int{1, 2, 3, 4}, w: []int{2, 3, 4, 3}, bias: true,
		attrs: map[string]Attribute{"auto_pad": String("SAME_LOWER"), "strides": Ints(2, 2)}},
	{name: "transpose_valid_1d", transpose: true, x: []int{2, 2, 3}, w: []int{2, 2, 3}, attrs: map[string]Attribute{"auto_pad": String("VALID"), "strides": Ints(3)}},
}

func TestOutputSize(t *testing.T) {
	tests := []struct{ in, k, s, d, pb, pe, want int }{
		{in: 5, k: 3, s: 1, d: 1, want: 3},
		{in: 5, k: 3, s: 2, d: 1, pb: 1, pe: 1, want: 3},
		{in: 6, k: 3, s: 2, d: 1, want: 2},
		{in: 7, k: 3, s: 2, d: 2, pb: 1, want: 2},
		// The window does not fit: the quotient is rounded down (truncated
		// towards zero, (2 − 3)/2 + 1 would be 1).
		{in: 2, k: 3, s: 2, d: 1, want: 0},
		{in: 1, k: 3, s: 3, d: 1, want: 0},
		{in: 1, k: 3, s: 1, d: 1, want: -1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt), func(t *testing.T) {
			if got := OutputSize(tt.in, tt.k, tt.s, tt.d, tt.pb, tt.pe); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// convCaseNamed is the case of convCases of the name.
func convCaseNamed(name string) convCase {
	for _, c := range convCases {
		if c.name == name {
			return c
		}
	}
	panic("no conv case " + name)
}

// TestConvPads checks the padding that auto_pad and output_shape resolve
// to, worked by hand from ONNX's rules.
func TestConvPads(t *testing.T) {
	tests := []struct {
		name       string
		begin, end [2]int
		shape      []int
	}{
		// ⌈5/2⌉ = 3 rows: 2·2 + 3 − 5 = 2 padding, 1 each side; ⌈7/2⌉ = 4
		// columns: 3·2 + 2 − 7 = 1, at the end.
		{"same_upper", [2]int{1, 0}, [2]int{1, 1}, []int{1, 5, 3, 4}},
		// Strides (2, 3): rows as above; ⌈7/3⌉ = 3 columns: 2·3 + 2 − 7 =
		// 1, at the beginning.
		{"same_lower", [2]int{1, 1}, [2]int{1, 0}, []int{1, 5, 3, 3}},
		// Dilation 2, the kernel spans 5: 5·1 + 5 − 6 = 4, 2 each side.
		{"same_lower_dilated_1d", [2]int{2}, [2]int{2}, []int{1, 5, 6}},
		// Stride 3 over a kernel of 1: (2 − 1)·3 + 1 − 6 = −2, no padding.
		{"same_upper_stride_over_kernel_1d", [2]int{0}, [2]int{0}, []int{1, 5, 2}},
		// To (8, 10) from 4×5, stride 2, kernel 3: 2·3 + 3 = 9 and 2·4 + 3
		// = 11 without padding, 1 too many each, which goes at the
		// beginning (total − total/2).
		{"transpose_output_shape", [2]int{1, 1}, [2]int{0, 0}, []int{1, 2, 8, 10}},
		{"transpose_output_shape_even", [2]int{1, 0}, [2]int{1, 0}, []int{1, 2, 7, 11}},
		// 3·3 + 1 + 3 = 13 without padding, 11 wanted.
		{"transpose_output_shape_1d", [2]int{1}, [2]int{1}, []int{2, 3, 11}},
		// SAME: 3·2 = 6 rows and 4·2 = 8 columns, of 2·2 + 4 = 8 and 3·2 +
		// 3 = 9 without padding; SAME_UPPER puts total/2 at the
		// beginning, SAME_LOWER total − total/2.
		{"transpose_same_upper", [2]int{1, 0}, [2]int{1, 1}, []int{1, 3, 6, 8}},
		{"transpose_same_lower", [2]int{1, 1}, [2]int{1, 0}, []int{1, 3, 6, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := convCaseNamed(tt.name)
			cv, p := c.plan(t)
			if cv.PadBegin != tt.begin || cv.PadEnd != tt.end {
				t.Errorf("pads: got %v %v, want %v %v", cv.PadBegin, cv.PadEnd, tt.begin, tt.end)
			}
			if got := outShape(p, c.transpose); !slices.Equal(got, tt.shape) {
				t.Errorf("shape: got %v, want %v", got, tt.shape)
			}
		})
	}
}

// TestConvForward compares the kernels (the direct and the per-sample
// paths, ConvTranspose) with the reference loop nests in float64.
func TestConvForward(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	for _, c := range convCases {
		t.Run(c.name, func(t *testing.T) {
			cv, p := c.plan(t)
			x, w, b := c.inputs(r)
			var y Tensor
			if c.transpose {
				ConvTransposeForward(&y, x, w, b, cv)
			} else {
				ConvForward(&y, x, w, b, cv)
			}
			if want := outShape(p, c.transpose); !slices.Equal(y.Shape, want) {
				t.Fatalf("shape: got %v, want %v", y.Shape, want)
			}
			var b64 []float64
			if b != nil {
				b64 = to64(b.Data)
			}
			want := convRefOf(c, p, to64(x.Data), to64(w.Data), b64)
			got := to64(y.Data)
			for i := range got {
				if d := math.Abs(got[i] - want[i]); !(d <= 1e-5+1e-5*math.Abs(want[i])) {
					t.Fatalf("element %d: got %v, want %v", i, got[i], want[i])
				}
			}
		})
	}
}

// TestConvBackward checks the gradients of X, W and B against finite
// differences of the float64 reference, added into buffers holding values.
func TestConvBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(63, 64))
	for _, c := range convCases {
		t.Run(c.name, func(t *testing.T) {
			cv, p := c.plan(t)
			x, w, b := c.inputs(r)
			var y Tensor
			bShape := []int(nil)
			if b != nil {
				bShape = b.Shape
			}
			if c.transpose {
				ConvTransposeForward(&y, x, w, b, cv)
			} else {
				ConvForward(&y, x, w, b, cv)
			}
			dy := randTensor(r, y.Shape...)
			grads, start := filled(r, x.Shape, w.Shape, bShape)
			if c.transpose {
				ConvTransposeBackward(grads[0], grads[1], grads[2], dy, x, w, cv)
			} else {
				ConvBackward(grads[0], grads[1], grads[2], dy, x, w, cv)
			}
			added(grads, start)
			in := [][]float64{to64(x.Data), to64(w.Data), nil}
			if b != nil {
				in[2] = to64(b.Data)
			}
			f := func(in [][]float64) []float64 { return convRefOf(c, p, in[0], in[1], in[2]) }
			checkGradients(t, f, in, to64(dy.Data), grads)
		})
	}
}

// TestConvBackwardSome checks that gradients left out (nil) are not
// computed and do not change the others.
func TestConvBackwardSome(t *testing.T) {
	r := rand.New(rand.NewPCG(65, 66))
	for _, c := range []convCase{convCaseNamed("direct_pads"), convCaseNamed("groups_strides_dilations"), convCaseNamed("transpose_output_padding")} {
		t.Run(c.name, func(t *testing.T) {
			cv, _ := c.plan(t)
			x, w, b := c.inputs(r)
			backward := ConvBackward
			var y Tensor
			if c.transpose {
				backward = ConvTransposeBackward
				ConvTransposeForward(&y, x, w, b, cv)
			} else {
				ConvForward(&y, x, w, b, cv)
			}
			dy := randTensor(r, y.Shape...)
			all := []*Tensor{NewTensor(x.Shape...), NewTensor(w.Shape...), NewTensor(b.Shape...)}
			backward(all[0], all[1], all[2], dy, x, w, cv)
			for k := range all {
				some := []*Tensor{nil, nil, nil}
				some[k] = NewTensor(all[k].Shape...)
				backward(some[0], some[1], some[2], dy, x, w, cv)
				checkClose(t, fmt.Sprintf("gradient %d alone", k), some[k].Data, all[k].Data, 0, 0)
			}
		})
	}
}

// TestConvGraph runs the cases through the op table: Graph.Forward against
// the kernels, and Graph.Backward against ConvBackward.
func TestConvGraph(t *testing.T) {
	r := rand.New(rand.NewPCG(67, 68))
	for _, c := range convCases {
		t.Run(c.name, func(t *testing.T) {
			cv, _ := c.plan(t)
			x, w, b := c.inputs(r)
			g := &Graph{Inputs: []Value{{Name: "x", Shape: c.x}}, Outputs: []string{"y"}, Params: map[string]*Tensor{"w": w}, Nodes: []*Node{c.node()}}
			if b != nil {
				g.Params["b"] = b
			}
			values, err := g.Forward(map[string]*Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			forward, backward := ConvForward, ConvBackward
			if c.transpose {
				forward, backward = ConvTransposeForward, ConvTransposeBackward
			}
			var y Tensor
			forward(&y, x, w, b, cv)
			checkClose(t, "Forward", values["y"].Data, y.Data, 0, 0)
			dy := randTensor(r, y.Shape...)
			grads, err := g.Backward(values, map[string]*Tensor{"y": dy})
			if err != nil {
				t.Fatal(err)
			}
			want := []*Tensor{NewTensor(x.Shape...), NewTensor(w.Shape...), nil}
			names := []string{"x", "w", "b"}
			if b != nil {
				want[2] = NewTensor(b.Shape...)
			}
			backward(want[0], want[1], want[2], dy, x, w, cv)
			for k, wt := range want {
				if wt != nil {
					checkClose(t, "gradient of "+names[k], grads[names[k]].Data, wt.Data, 0, 0)
				}
			}
		})
	}
}

// TestConvShapesError checks that Shapes refuses attributes and inputs
// that do not fit, naming the attribute or input and its value.
func TestConvShapesError(t *testing.T) {
	tests := []struct {
		op     string
		attrs  map[string]Attribute
		shapes [][]int
		reason string
	}{
		{"Conv", map[string]Attribute{"group": Int(3)}, [][]int{{1, 4, 5, 5}, {2, 2, 3, 3}}, "attribute group = 3: X of shape [1 4 5 5] has 4 channels, W of shape [2 2 3 3] takes 2×3"},
		{"Conv", map[string]Attribute{"group": Int(2)}, [][]int{{1, 4, 5, 5}, {3, 2, 3, 3}}, "attribute group = 2: does not divide W's 3 output channels (W of shape [3 2 3 3])"},
		{"Conv", map[string]Attribute{"group": Int(0)}, [][]int{{1, 4, 5, 5}, {3, 2, 3, 3}}, "attribute group = 0: must be in [1, 1048576]"},
		{"Conv", nil, [][]int{{1, 1, 2, 2}, {1, 1, 3, 3}}, "input W of shape [1 1 3 3]: kernel [3 3] with dilations [1 1] is larger than X's [2 2] with pads [0 0 0 0]"},
		{"Conv", map[string]Attribute{"dilations": Ints(3), "pads": Ints(0, 0)}, [][]int{{1, 1, 6}, {1, 1, 3}}, "input W of shape [1 1 3]: kernel [3] with dilations [3] is larger than X's [6] with pads [0 0]"},
		// (2 − 3)/2 + 1 truncated towards zero would be one output.
		{"Conv", map[string]Attribute{"strides": Ints(2, 2)}, [][]int{{1, 1, 2, 2}, {1, 1, 3, 3}}, "input W of shape [1 1 3 3]: kernel [3 3] with dilations [1 1] is larger than X's [2 2] with pads [0 0 0 0]"},
		{"Conv", map[string]Attribute{"pads": Ints(-1, 0, 0, 0)}, [][]int{{1, 1, 5, 5}, {1, 1, 3, 3}}, "attribute pads = [-1 0 0 0]: each value must be in [0, 1048576]"},
		{"Conv", map[string]Attribute{"pads": Ints(1, 1)}, [][]int{{1, 1, 5, 5}, {1, 1, 3, 3}}, "attribute pads = [1 1]: want 4 values, the beginning and the end of each spatial axis of X [1 1 5 5]"},
		{"Conv", map[string]Attribute{"strides": Ints(1)}, [][]int{{1, 1, 5, 5}, {1, 1, 3, 3}}, "attribute strides = [1]: want 2 values, one a spatial axis of X [1 1 5 5]"},
		{"Conv", map[string]Attribute{"strides": Ints(0, 1)}, [][]int{{1, 1, 5, 5}, {1, 1, 3, 3}}, "attribute strides = [0 1]: each value must be in [1, 1048576]"},
		{"Conv", map[string]Attribute{"dilations": Ints(1 << 40)}, [][]int{{1, 1, 5}, {1, 1, 3}}, "attribute dilations = [1099511627776]: each value must be in [1, 1048576]"},
		{"Conv", map[string]Attribute{"kernel_shape": Ints(2, 2)}, [][]int{{1, 1, 5, 5}, {1, 1, 3, 3}}, "attribute kernel_shape = [2 2]: W has shape [1 1 3 3]"},
		{"Conv", map[string]Attribute{"auto_pad": String("SAME")}, [][]int{{1, 1, 5, 5}, {1, 1, 3, 3}}, "attribute auto_pad = SAME: want NOTSET, SAME_UPPER, SAME_LOWER or VALID"},
		{"Conv", map[string]Attribute{"auto_pad": String("SAME_UPPER"), "pads": Ints(1, 1, 1, 1)}, [][]int{{1, 1, 5, 5}, {1, 1, 3, 3}}, "attribute pads = [1 1 1 1]: given with auto_pad SAME_UPPER"},
		{"Conv", nil, [][]int{{1, 1, 3, 3, 3}, {1, 1, 2, 2, 2}}, "input X of shape [1 1 3 3 3]: want (N, C, L) or (N, C, H, W): 1-D or 2-D convolutions"},
		{"ConvTranspose", nil, [][]int{{1, 1, 0, 3}, {1, 1, 3, 3}}, "input X of shape [1 1 0 3]: spatial dimensions must be positive"},
		{"Conv", nil, [][]int{{1, 1, 3, 3}, {1, 1, 2}}, "input W of shape [1 1 2]: want rank 4, as X's [1 1 3 3]"},
		{"Conv", nil, [][]int{{1, 1, 3, 3}, {1, 1, 0, 2}}, "input W of shape [1 1 0 2]: kernel [0 2]: each value must be in [1, 1048576]"},
		{"Conv", nil, [][]int{{1, 1, 5, 5}, {2, 1, 3, 3}, {3}}, "input B of shape [3]: want (2), one bias an output channel"},
		{"ConvTranspose", map[string]Attribute{"group": Int(2)}, [][]int{{1, 3, 5, 5}, {3, 2, 3, 3}}, "attribute group = 2: does not divide X's 3 channels"},
		{"ConvTranspose", nil, [][]int{{1, 3, 5, 5}, {2, 2, 3, 3}}, "input W of shape [2 2 3 3]: want 3 input channels first, as X's [1 3 5 5] has"},
		{"ConvTranspose", map[string]Attribute{"pads": Ints(2, 1)}, [][]int{{1, 1, 1}, {1, 1, 3}}, "attribute pads = [2 1]: leave ConvTranspose of X [1 1 1], W [1 1 3] (strides [1], dilations [1], output_padding [0]) an empty output"},
		{"ConvTranspose", map[string]Attribute{"output_padding": Ints(-1, 0)}, [][]int{{1, 1, 5, 5}, {1, 1, 3, 3}}, "attribute output_padding = [-1 0]: each value must be in [0, 1048576]"},
		{"ConvTranspose", map[string]Attribute{"strides": Ints(2, 2), "output_shape": Ints(12, 11)}, [][]int{{1, 1, 5, 5}, {1, 1, 3, 3}}, "attribute output_shape = [12 11]: larger than the 11 values ConvTranspose gives along axis 0 without padding"},
		{"ConvTranspose", map[string]Attribute{"output_shape": Ints(0, 7)}, [][]int{{1, 1, 5, 5}, {1, 1, 3, 3}}, "attribute output_shape = [0 7]: each value must be positive"},
		{"ConvTranspose", map[string]Attribute{"output_shape": Ints(7)}, [][]int{{1, 1, 5, 5}, {1, 1, 3, 3}}, "attribute output_shape = [7]: want 2 values, one a spatial axis of X [1 1 5 5]"},
		{"ConvTranspose", map[string]Attribute{"auto_pad": String("SAME_UPPER"), "strides": Ints(3)}, [][]int{{1, 1, 5}, {1, 1, 1}}, "attribute auto_pad = SAME_UPPER: ConvTranspose of X [1 1 5] would need negative padding -2 along axis 0 (strides [3], kernel [1])"},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			checkShapesError(t, tt.op, tt.attrs, tt.reason, tt.shapes...)
		})
	}
}

// TestConvKernelPanics checks that the kernels panic with ErrShape on
// shapes that do not fit (our own callers' bug).
func TestConvKernelPanics(t *testing.T) {
	x, w := NewTensor(1, 2, 5, 5), NewTensor(3, 2, 3, 3)
	var y Tensor
	tests := []struct {
		name string
		f    func()
	}{
		{"bias", func() {
			ConvForward(&y, x, w, NewTensor(2), &Conv{Group: 1, Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}})
		}},
		{"group", func() { ConvForward(&y, x, w, nil, &Conv{Group: 2, Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}}) }},
		{"stride", func() { ConvForward(&y, x, w, nil, &Conv{Group: 1, Dilations: [2]int{1, 1}}) }},
		{"dy", func() {
			ConvBackward(nil, nil, nil, NewTensor(1, 3, 2, 2), x, w, &Conv{Group: 1, Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}})
		}},
		{"dw", func() {
			ConvTransposeBackward(nil, NewTensor(2), nil, NewTensor(1, 9, 7, 7), NewTensor(1, 3, 5, 5), w, &Conv{Group: 1, Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if got := recover(); got != ErrShape {
					t.Errorf("got panic %v, want %v", got, ErrShape)
				}
			}()
			tt.f()
		})
	}
}

// TestConvAllocs checks that a node's Forward and Backward, called again
// with the same state and tensors (as a planned executor calls them),
// allocate nothing.
func TestConvAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(69, 70))
	for _, name := range []string{"direct_pads", "groups_strides_dilations", "1d_direct", "same_upper", "transpose_output_padding", "transpose_1d_output_padding_dilation", "transpose_output_shape_1d"} {
		c := convCaseNamed(name)
		t.Run(c.name, func(t *testing.T) {
			n := c.node()
			op := operators[n.Op]
			x, w, b := c.inputs(r)
			in := []*Tensor{x, w}
			if b != nil {
				in = append(in, b)
			}
			s, out := &state{}, []*Tensor{new(Tensor)}
			op.forward(s, n, out, in)
			din := []*Tensor{NewTensor(x.Shape...), NewTensor(w.Shape...), nil}
			if b != nil {
				din[2] = NewTensor(b.Shape...)
			}
			dout := []*Tensor{randTensor(r, out[0].Shape...)}
			step := func() {
				op.forward(s, n, out, in)
				op.backward(s, n, din[:len(in)], dout, out, in)
			}
			step()
			if got := testing.AllocsPerRun(10, step); got != 0 {
				t.Errorf("got %v allocations a step, want 0", got)
			}
		})
	}
}

// convF32 is x in float32.
func convF32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

// FuzzConvShapes builds Conv and ConvTranspose nodes from small random
// shapes and attributes (as a model file might hold them) and checks that
// Shapes either refuses them with a *NodeError or accepts them, and then
// Forward gives the output the shape Shapes inferred and the values of the
// reference loop nest, and Backward runs.
func FuzzConvShapes(f *testing.F) {
	f.Add(false, uint8(2), uint8(2), uint8(3), uint8(4), uint8(5), uint8(6), uint8(3), uint8(3), int8(1), int8(1), int8(1), int8(1), int8(1), int8(1), int8(1), int8(1), int8(1), int8(0), int8(0), uint8(0), int8(0), int8(0))
	f.Add(true, uint8(2), uint8(1), uint8(4), uint8(2), uint8(3), uint8(4), uint8(3), uint8(2), int8(2), int8(2), int8(1), int8(1), int8(2), int8(0), int8(1), int8(0), int8(1), int8(1), int8(0), uint8(0), int8(0), int8(0))
	f.Add(true, uint8(1), uint8(1), uint8(2), uint8(2), uint8(1), uint8(5), uint8(1), uint8(3), int8(1), int8(1), int8(2), int8(1), int8(1), int8(0), int8(0), int8(0), int8(0), int8(0), int8(1), uint8(4), int8(0), int8(11))
	f.Add(false, uint8(2), uint8(1), uint8(2), uint8(2), uint8(2), uint8(2), uint8(3), uint8(3), int8(1), int8(2), int8(2), int8(1), int8(1), int8(0), int8(0), int8(0), int8(0), int8(0), int8(0), uint8(2), int8(0), int8(0))
	f.Add(false, uint8(1), uint8(1), uint8(2), uint8(2), uint8(1), uint8(7), uint8(1), uint8(2), int8(1), int8(1), int8(3), int8(1), int8(2), int8(0), int8(0), int8(0), int8(0), int8(0), int8(0), uint8(3), int8(0), int8(0))
	autoPads := []string{"", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "SAME"}
	f.Fuzz(func(t *testing.T, transpose bool, dims, n, c, m, h, w, kh, kw uint8, group, sh, sw, dh, dw, p0, p1, p2, p3, op0, op1 int8, autoPad uint8, os0, os1 int8) {
		d := int(dims%3) + 1 // 3 dims: refused
		spatial := []int{int(h % 8), int(w % 8), 2}[:d]
		kernel := []int{int(kh % 5), int(kw % 5), 1}[:d]
		x := append([]int{int(n % 3), int(c%5) + 1}, spatial...)
		wshape := append([]int{int(m%5) + 1, int(c%5) + 1}, kernel...)
		attrs := map[string]Attribute{"group": Int(int64(group))}
		list := func(v ...int8) []int64 {
			out := make([]int64, 0, len(v))
			for _, e := range v {
				out = append(out, int64(e))
			}
			return out
		}
		if sh != 0 {
			attrs["strides"] = Ints(list(sh, sw, 1)[:d]...)
		}
		if dh != 0 {
			attrs["dilations"] = Ints(list(dh, dw, 1)[:d]...)
		}
		if p0 != 0 || p1 != 0 || p2 != 0 || p3 != 0 {
			attrs["pads"] = Ints(list(p0, p1, p2, p3, 0, 0)[:2*d]...)
		}
		if a := autoPads[int(autoPad)%len(autoPads)]; a != "" {
			attrs["auto_pad"] = String(a)
		}
		op := "Conv"
		if transpose {
			op = "ConvTranspose"
			if op0 != 0 || op1 != 0 {
				attrs["output_padding"] = Ints(list(op0, op1, 0)[:d]...)
			}
			if os0 != 0 || os1 != 0 {
				attrs["output_shape"] = Ints(list(os0, os1, 1)[:d]...)
			}
		}
		g := &Graph{Inputs: []Value{{Name: "x", Shape: x}}, Outputs: []string{"y"}, Params: map[string]*Tensor{"w": NewTensor(wshape...)},
			Nodes: []*Node{{Name: "n", Op: op, Inputs: []string{"x", "w"}, Outputs: []string{"y"}, Attrs: attrs}}}
		shapes, err := g.Shapes(map[string][]int{"x": x})
		if err != nil {
			var ne *NodeError
			if !errors.As(err, &ne) {
				t.Fatalf("got error %v of type %T, want a *NodeError", err, err)
			}
			return
		}
		r := rand.New(rand.NewPCG(1, 2))
		g.Params["w"] = randTensor(r, wshape...)
		values, err := g.Forward(map[string]*Tensor{"x": randTensor(r, x...)})
		if err != nil {
			t.Fatal(err)
		}
		if got := values["y"].Shape; !slices.Equal(got, shapes["y"]) {
			t.Fatalf("Forward's shape: got %v, want %v", got, shapes["y"])
		}
		var cv Conv
		if err := cv.setAttrs(g.Nodes[0], x, wshape, transpose); err != nil {
			t.Fatal(err)
		}
		p, err := cv.plan(x, wshape, transpose)
		if err != nil {
			t.Fatal(err)
		}
		want := convRefOf(convCase{transpose: transpose}, p, to64(values["x"].Data), to64(values["w"].Data), nil)
		checkClose(t, "Forward against the reference", values["y"].Data, convF32(want), 1e-4, 1e-4)
		if _, err := g.Backward(values, map[string]*Tensor{"y": randTensor(r, shapes["y"]...)}); err != nil {
			t.Fatal(err)
		}
	})
}
