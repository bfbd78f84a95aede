// Package convert reads ONNX graphs written by others — PyTorch's
// exporters first — back into trainer models, so that a model trained in
// Python can be inspected, fine-tuned, split and re-exported in Go; and it
// moves weights between trainer models and safetensors files.
//
// ReadFile (a path, with external data) and Decode (an io.Reader)
// recognise the graphs PyTorch's TorchScript exporter (opsets
// 9–17) and dynamo exporter (opsets 18–20, external data) write for
// autoencoders: Gemm and MatMul (+ Add) dense layers, the transposed-weight
// pattern of tied layers, the activations (ReLU, LeakyReLU, ELU, sigmoid,
// tanh, softplus, GELU as Gelu or its erf expansion, SiLU as x·σ(x)),
// Conv and ConvTranspose (1-D and 2-D), BatchNormalization, MaxPool (with
// indices for MaxUnpool), AveragePool, Resize/Upsample (nearest, integer
// scales), Flatten and Reshape — including the Shape → Gather/Slice →
// Unsqueeze → Concat → Reshape chains of x.view(x.size(0), -1) and
// nn.Unflatten, which it evaluates with the batch size kept symbolic —,
// Dropout and Identity, and constants folded from initializers and
// Constant nodes. An encoder with two outputs from one hidden tensor (μ and
// log σ²) becomes a variational model; a second input concatenated to the
// features becomes a conditional one. Anything else is an
// *UnsupportedError listing every node it could not place.
//
// A graph written by aebridge carries its model description in its
// metadata; ReadFile and Decode then rebuild that description exactly.
package convert
