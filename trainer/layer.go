package trainer

import "math/rand/v2"

// Layer is one step of an encoder or decoder stack, with its forward and
// backward passes.
//
// Forward computes dst from x, both (batch, features), resizing dst to the
// layer's output shape, and keeps references to x and dst for Backward:
// neither may be modified until Backward has run.
//
// Backward takes dy, the gradient of the loss with respect to the last
// Forward's dst, adds the gradients of the layer's parameters into their
// Grad tensors, and, if dx is not nil, writes the gradient with respect to
// x into dx (resized to x's shape).
type Layer interface {
	Forward(dst, x *Tensor)
	Backward(dx, dy *Tensor)
	// OutShape is the per-sample output shape for a per-sample input shape.
	OutShape(in []int) []int
	// Params are the layer's trainable parameters (none for activations).
	Params() []*Param
	// Spec describes the layer for the model configuration.
	Spec() LayerSpec
}

// Param is a trainable tensor and its gradient.
type Param struct {
	Name  string  // the state-dict name, such as "encoder.0.weight"
	Value *Tensor // the weights
	Grad  *Tensor // the gradient, same shape; Backward adds to it
	// Decay reports whether L2 weight decay applies (weights, not biases).
	Decay bool
}

func newParam(name string, decay bool, shape ...int) *Param {
	return &Param{Name: name, Value: NewTensor(shape...), Grad: NewTensor(shape...), Decay: decay}
}

// LayerSpec is the serialisable description of a layer: its type and the
// sizes and settings needed to rebuild it. Weights are stored apart, under
// the layer's state-dict names.
type LayerSpec struct {
	// Type is "dense" or an activation: "identity", "relu", "leaky_relu",
	// "elu", "sigmoid", "tanh", "softplus", "gelu", "silu".
	Type string `json:"type"`
	In   int    `json:"in,omitempty"`  // dense: input features
	Out  int    `json:"out,omitempty"` // dense: output features
	// TiedTo names the dense layer ("encoder.0") whose weight matrix this
	// decoder layer uses, transposed; it then owns only its bias.
	TiedTo string `json:"tied_to,omitempty"`
	// Alpha is LeakyReLU's negative slope or ELU's α.
	Alpha float64 `json:"alpha,omitempty"`
	// Approximate is GELU's form: "none" (exact, with erf) or "tanh".
	Approximate string `json:"approximate,omitempty"`

	// Convolution and pooling layers (In and Out are channels for conv
	// layers). Sizes are per spatial axis: one value for 1-D layers
	// (length), two for 2-D ones (height, width). Padding holds the
	// padding before each axis, then after it, as ONNX's pads do.
	Kernel        []int `json:"kernel,omitempty"`
	Stride        []int `json:"stride,omitempty"`
	Padding       []int `json:"padding,omitempty"`
	Dilation      []int `json:"dilation,omitempty"`
	OutputPadding []int `json:"output_padding,omitempty"` // transposed convolutions
	Groups        int   `json:"groups,omitempty"`
	// CountIncludePad makes average pooling divide by the whole window,
	// padding included.
	CountIncludePad bool `json:"count_include_pad,omitempty"`
	// Scale is the integer upsampling factor per axis.
	Scale []int `json:"scale,omitempty"`
	// Of names the max-pooling layer ("encoder.2") whose indices a
	// max-unpooling layer uses.
	Of string `json:"of,omitempty"`
	// Momentum and Eps are batch normalisation's, as PyTorch defines them
	// (0 means PyTorch's defaults, 0.1 and 1e-5).
	Momentum float64 `json:"momentum,omitempty"`
	Eps      float64 `json:"eps,omitempty"`
	// P is dropout's probability of zeroing an element.
	P float64 `json:"p,omitempty"`
	// Shape is the per-sample output shape of an unflatten layer.
	Shape []int `json:"shape,omitempty"`
}

// modal is implemented by layers that behave differently in training (batch
// normalisation, dropout); rng draws dropout's masks.
type modal interface {
	setTraining(training bool, rng *rand.Rand)
}

// stateful is implemented by layers with saved state that is not trained
// (batch normalisation's running statistics).
type stateful interface {
	Buffers() []*Param
}
