package trainer

import (
	"fmt"
	"slices"

	"github.com/aebridge/aebridge/internal/limits"
)

// maxWindow bounds each value of a layer's kernel, stride, dilation,
// padding, output padding and scale: far past any real network, and low
// enough that no output size computed from them overflows.
const maxWindow = 1 << 20

// builder makes layers from specs, tracking the per-sample shape between
// them and what later layers refer to (tied weights, pooling indices).
// A dry builder checks the specs and counts the parameters without
// allocating them: its weighted layers carry their sizes, not weights.
type builder struct {
	dry      bool
	params   int64 // parameters and buffers of the layers so far
	built    map[string]Layer
	inShapes map[string][]int // the shape entering each layer
	shape    []int
}

// reserve adds the parameters of a layer, tensors of the given shapes, to
// the model's count, refusing the layer when a tensor or the model would
// exceed limits.MaxParams. desc describes the layer for the error.
func (b *builder) reserve(name, desc string, shapes ...[]int) error {
	var n int64
	for _, s := range shapes {
		k, err := limits.ElementsInt(s)
		if err != nil {
			return fmt.Errorf("trainer: layer %s (%s): parameter %w", name, desc, err)
		}
		n += int64(k)
	}
	if b.params+n > limits.MaxParams {
		return fmt.Errorf("trainer: layer %s (%s): its %d parameters bring the model to %d, which %w of %d parameters", name, desc, n, b.params+n, limits.ErrTooLarge, limits.MaxParams)
	}
	b.params += n
	return nil
}

// checkWindow checks that every value of a layer's window setting (field,
// as config.json names it) is in [lo, maxWindow].
func checkWindow(name string, s LayerSpec, field string, v []int, lo int) error {
	for _, x := range v {
		if x < lo || x > maxWindow {
			return fmt.Errorf("trainer: layer %s: %s %s %v: each value must be in [%d, %d]", name, s.Type, field, v, lo, maxWindow)
		}
	}
	return nil
}

// fitsInput checks that a window of kernel k, dilation d and padding p
// (before each axis, then after) fits the spatial sizes in: PyTorch refuses
// a kernel larger than the padded input, where the output size formula
// would round to one element.
func fitsInput(name string, s LayerSpec, in, k, p, d []int) error {
	for i := range k {
		if in[i]+p[i]+p[len(k)+i] < d[i]*(k[i]-1)+1 {
			return fmt.Errorf("trainer: layer %s: %s kernel %v (dilation %v) is larger than the input %v with padding %v", name, s.Type, k, d, in, p)
		}
	}
	return nil
}

// checkGroups checks a convolution's channels and its groups, as NewConv
// and NewConvTranspose do.
func checkGroups(name string, s LayerSpec, in, out, groups int) error {
	if in <= 0 || out <= 0 {
		return fmt.Errorf("trainer: layer %s: %s in %d, out %d: channels must be positive", name, s.Type, in, out)
	}
	if groups <= 0 || in%groups != 0 || out%groups != 0 {
		return fmt.Errorf("trainer: layer %s: %d input and %d output channels do not split into %d groups", name, in, out, groups)
	}
	return nil
}

func (b *builder) stack(stack string, specs []LayerSpec) ([]Layer, error) {
	var layers []Layer
	for i, s := range specs {
		name := fmt.Sprintf("%s.%d", stack, i)
		l, err := b.layer(name, s)
		if err != nil {
			return nil, err
		}
		b.inShapes[name] = b.shape
		b.built[name] = l
		b.shape = l.OutShape(b.shape)
		for _, d := range b.shape {
			if d <= 0 {
				return nil, fmt.Errorf("trainer: layer %s (%s) gives the empty shape %v", name, s.Type, b.shape)
			}
		}
		if _, err := limits.ElementsInt(b.shape); err != nil {
			return nil, fmt.Errorf("trainer: layer %s (%s) gives a sample of %w", name, s.Type, err)
		}
		layers = append(layers, l)
	}
	return layers, nil
}

// orDefault returns v, or n copies of def when v is empty.
func orDefault(v []int, n, def int) []int {
	if len(v) > 0 {
		return v
	}
	out := make([]int, n)
	for i := range out {
		out[i] = def
	}
	return out
}

// layer builds one layer, checking it against the shape entering it.
func (b *builder) layer(name string, s LayerSpec) (Layer, error) {
	shape := b.shape
	dims := 0
	switch s.Type {
	case "conv1d", "conv_transpose1d", "maxpool1d", "maxunpool1d", "avgpool1d", "upsample1d":
		dims = 1
	case "conv2d", "conv_transpose2d", "maxpool2d", "maxunpool2d", "avgpool2d", "upsample2d":
		dims = 2
	}
	if dims > 0 && len(shape) != dims+1 {
		return nil, fmt.Errorf("trainer: layer %s: %s needs a (channels, %s) input, got shape %v", name, s.Type, map[int]string{1: "length", 2: "height, width"}[dims], shape)
	}
	for _, w := range []struct {
		field string
		v     []int
		lo    int
	}{{"kernel", s.Kernel, 1}, {"stride", s.Stride, 1}, {"padding", s.Padding, 0}, {"dilation", s.Dilation, 1}, {"output_padding", s.OutputPadding, 0}, {"scale", s.Scale, 1}} {
		if err := checkWindow(name, s, w.field, w.v, w.lo); err != nil {
			return nil, err
		}
	}
	if s.Groups < 0 || s.Groups > maxWindow {
		return nil, fmt.Errorf("trainer: layer %s: %s groups %d must be in [0, %d]", name, s.Type, s.Groups, maxWindow)
	}
	window := func() ([]int, []int, []int, []int) {
		return s.Kernel, orDefault(s.Stride, dims, 1), orDefault(s.Padding, 2*dims, 0), orDefault(s.Dilation, dims, 1)
	}
	groups := s.Groups
	if groups == 0 {
		groups = 1
	}
	switch s.Type {
	case "dense":
		if len(shape) != 1 {
			return nil, fmt.Errorf("trainer: layer %s: dense needs flat features, got shape %v (add a flatten layer)", name, shape)
		}
		if s.In != shape[0] || s.Out <= 0 {
			return nil, fmt.Errorf("trainer: layer %s: dense %d→%d does not follow %d features", name, s.In, s.Out, shape[0])
		}
		if s.TiedTo != "" {
			enc, ok := b.built[s.TiedTo].(*Dense)
			if !ok || enc.Tied || enc.In != s.Out || enc.Out != s.In {
				return nil, fmt.Errorf("trainer: layer %s: tied_to %q is not a dense %d→%d layer before it", name, s.TiedTo, s.Out, s.In)
			}
			if err := b.reserve(name, fmt.Sprintf("dense %d→%d, tied", s.In, s.Out), []int{s.Out}); err != nil {
				return nil, err
			}
			if b.dry {
				return &Dense{In: s.In, Out: s.Out, Tied: true}, nil
			}
			return NewTiedDense(name, enc), nil
		}
		if err := b.reserve(name, fmt.Sprintf("dense %d→%d", s.In, s.Out), []int{s.Out, s.In}, []int{s.Out}); err != nil {
			return nil, err
		}
		if b.dry {
			return &Dense{In: s.In, Out: s.Out}, nil
		}
		return NewDense(name, s.In, s.Out), nil
	case "conv1d", "conv2d":
		if shape[0] != s.In {
			return nil, fmt.Errorf("trainer: layer %s: %s takes %d channels, gets %d", name, s.Type, s.In, shape[0])
		}
		k, st, p, d := window()
		c := &Conv{Dims: dims, In: s.In, Out: s.Out, Groups: groups}
		if err := windowParams(dims, k, st, p, d, &c.K, &c.S, &c.D, &c.PadBeg, &c.PadEnd); err != nil {
			return nil, fmt.Errorf("trainer: layer %s: %w", name, err)
		}
		if err := checkGroups(name, s, s.In, s.Out, groups); err != nil {
			return nil, err
		}
		if err := fitsInput(name, s, shape[1:], k, p, d); err != nil {
			return nil, err
		}
		if err := b.reserve(name, fmt.Sprintf("%s %d→%d kernel %v groups %d", s.Type, s.In, s.Out, k, groups), append([]int{s.Out, s.In / groups}, k...), []int{s.Out}); err != nil {
			return nil, err
		}
		if b.dry {
			return c, nil
		}
		return NewConv(name, dims, s.In, s.Out, groups, k, st, p, d)
	case "conv_transpose1d", "conv_transpose2d":
		if shape[0] != s.In {
			return nil, fmt.Errorf("trainer: layer %s: %s takes %d channels, gets %d", name, s.Type, s.In, shape[0])
		}
		k, st, p, d := window()
		op := orDefault(s.OutputPadding, dims, 0)
		c := &ConvTranspose{Dims: dims, In: s.In, Out: s.Out, Groups: groups}
		if err := windowParams(dims, k, st, p, d, &c.K, &c.S, &c.D, &c.PadBeg, &c.PadEnd); err != nil {
			return nil, fmt.Errorf("trainer: layer %s: %w", name, err)
		}
		if err := checkGroups(name, s, s.In, s.Out, groups); err != nil {
			return nil, err
		}
		if len(op) != dims {
			return nil, fmt.Errorf("trainer: layer %s: output padding %v needs %d values", name, op, dims)
		}
		for i, v := range op {
			ax := 2 - dims + i
			if v >= c.S[ax] && v >= c.D[ax] {
				return nil, fmt.Errorf("trainer: layer %s: output padding %v must be smaller than the stride %v or the dilation %v", name, op, st, d)
			}
			c.OutPad[ax] = v
		}
		if err := b.reserve(name, fmt.Sprintf("%s %d→%d kernel %v groups %d", s.Type, s.In, s.Out, k, groups), append([]int{s.In, s.Out / groups}, k...), []int{s.Out}); err != nil {
			return nil, err
		}
		if b.dry {
			return c, nil
		}
		return NewConvTranspose(name, dims, s.In, s.Out, groups, k, st, p, op, d)
	case "maxpool1d", "maxpool2d":
		stride := s.Stride
		if len(stride) == 0 { // PyTorch's default stride is the kernel
			stride = s.Kernel
		}
		pool, err := NewMaxPool(name, dims, s.Kernel, stride, orDefault(s.Padding, 2*dims, 0))
		if err != nil {
			return nil, err
		}
		return pool, fitsInput(name, s, shape[1:], s.Kernel, orDefault(s.Padding, 2*dims, 0), ones(dims))
	case "avgpool1d", "avgpool2d":
		stride := s.Stride
		if len(stride) == 0 {
			stride = s.Kernel
		}
		pool, err := NewAvgPool(name, dims, s.Kernel, stride, orDefault(s.Padding, 2*dims, 0), s.CountIncludePad)
		if err != nil {
			return nil, err
		}
		return pool, fitsInput(name, s, shape[1:], s.Kernel, orDefault(s.Padding, 2*dims, 0), ones(dims))
	case "maxunpool1d", "maxunpool2d":
		pool, ok := b.built[s.Of].(*MaxPool)
		if !ok || pool.Dims != dims {
			return nil, fmt.Errorf("trainer: layer %s: of %q is not a %d-D max-pooling layer before it", name, s.Of, dims)
		}
		if want := pool.OutShape(b.inShapes[s.Of]); !slices.Equal(want, shape) {
			return nil, fmt.Errorf("trainer: layer %s: input shape %v is not the output shape %v of %s", name, shape, want, s.Of)
		}
		return &MaxUnpool{Pool: pool, Of: s.Of, Out: b.inShapes[s.Of]}, nil
	case "upsample1d", "upsample2d":
		return NewUpsample(name, dims, s.Scale)
	case "batchnorm":
		if len(shape) == 0 || shape[0] != s.In {
			return nil, fmt.Errorf("trainer: layer %s: batch norm over %d channels gets shape %v", name, s.In, shape)
		}
		momentum, eps := s.Momentum, s.Eps
		if momentum == 0 {
			momentum = 0.1 // PyTorch's default; 0 would freeze the statistics
		}
		if eps == 0 {
			eps = 1e-5
		}
		if err := b.reserve(name, fmt.Sprintf("batch norm over %d channels", s.In), []int{4, s.In}, nil); err != nil {
			return nil, err
		}
		if b.dry {
			if !(momentum >= 0 && momentum <= 1) || !(eps > 0) {
				return nil, fmt.Errorf("trainer: layer %s: batch norm over %d channels with momentum %v and eps %v (want channels > 0, momentum in [0, 1], eps > 0)", name, s.In, momentum, eps)
			}
			return &BatchNorm{C: s.In, Momentum: momentum, Eps: eps}, nil
		}
		return NewBatchNorm(name, s.In, momentum, eps)
	case "dropout":
		return NewDropout(name, s.P)
	case "condition":
		if len(shape) != 1 || s.In <= 0 || s.In > limits.MaxTensorElements {
			return nil, fmt.Errorf("trainer: layer %s: a condition of %d features needs flat features before it, got shape %v", name, s.In, shape)
		}
		return &Condition{K: s.In}, nil
	case "flatten":
		return &Reshape{Kind: "flatten"}, nil
	case "unflatten":
		if n, err := limits.ElementsInt(s.Shape); err != nil || n != product(shape) || len(s.Shape) == 0 || slices.Min(s.Shape) <= 0 {
			return nil, fmt.Errorf("trainer: layer %s: unflatten to %v does not hold the %d features of %v", name, s.Shape, product(shape), shape)
		}
		return &Reshape{Kind: "unflatten", Shape: append([]int(nil), s.Shape...)}, nil
	}
	a, err := NewActivation(s.Type)
	if err != nil {
		return nil, fmt.Errorf("trainer: layer %s: %w", name, err)
	}
	if s.Type == "leaky_relu" || s.Type == "elu" {
		a.Alpha = s.Alpha
	}
	if s.Type == "gelu" && s.Approximate != "" {
		if s.Approximate != "none" && s.Approximate != "tanh" {
			return nil, fmt.Errorf("trainer: layer %s: gelu approximate %q (want none or tanh)", name, s.Approximate)
		}
		a.Approximate = s.Approximate
	}
	return a, nil
}
