package trainer

import (
	"fmt"
	"slices"
)

// builder makes layers from specs, tracking the per-sample shape between
// them and what later layers refer to (tied weights, pooling indices).
type builder struct {
	built    map[string]Layer
	inShapes map[string][]int // the shape entering each layer
	shape    []int
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
			return NewTiedDense(name, enc), nil
		}
		return NewDense(name, s.In, s.Out), nil
	case "conv1d", "conv2d":
		if shape[0] != s.In {
			return nil, fmt.Errorf("trainer: layer %s: %s takes %d channels, gets %d", name, s.Type, s.In, shape[0])
		}
		k, st, p, d := window()
		return NewConv(name, dims, s.In, s.Out, groups, k, st, p, d)
	case "conv_transpose1d", "conv_transpose2d":
		if shape[0] != s.In {
			return nil, fmt.Errorf("trainer: layer %s: %s takes %d channels, gets %d", name, s.Type, s.In, shape[0])
		}
		k, st, p, d := window()
		return NewConvTranspose(name, dims, s.In, s.Out, groups, k, st, p, orDefault(s.OutputPadding, dims, 0), d)
	case "maxpool1d", "maxpool2d":
		stride := s.Stride
		if len(stride) == 0 { // PyTorch's default stride is the kernel
			stride = s.Kernel
		}
		return NewMaxPool(name, dims, s.Kernel, stride, orDefault(s.Padding, 2*dims, 0))
	case "avgpool1d", "avgpool2d":
		stride := s.Stride
		if len(stride) == 0 {
			stride = s.Kernel
		}
		return NewAvgPool(name, dims, s.Kernel, stride, orDefault(s.Padding, 2*dims, 0), s.CountIncludePad)
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
		return NewBatchNorm(name, s.In, momentum, eps)
	case "dropout":
		return NewDropout(name, s.P)
	case "condition":
		if len(shape) != 1 || s.In <= 0 {
			return nil, fmt.Errorf("trainer: layer %s: a condition of %d features needs flat features before it, got shape %v", name, s.In, shape)
		}
		return &Condition{K: s.In}, nil
	case "flatten":
		return &Reshape{Kind: "flatten"}, nil
	case "unflatten":
		if product(s.Shape) != product(shape) || len(s.Shape) == 0 {
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
