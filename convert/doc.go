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
//
// ReadGraph and DecodeGraph read any ONNX graph node by node into a
// graph.Graph instead, the model the trainer is moving onto: each node of
// the ai.onnx domain becomes a graph node of the same op type, inputs,
// outputs and typed attributes; initializers and Constant nodes become
// float32 or int64 parameters (float16, bfloat16 and the integer types up
// to 32 bits exactly, float64 with a note in GraphInfo), so that the
// graph's shape inference folds shape subgraphs; the first dimension of
// each input without a fixed size is the batch; the metadata keys
// aebridge.mark.<role> (MarkKeyPrefix) mark tensors. The graph holds
// opset 18's forms: nodes written at older opsets (7 to 17, and what
// opsets 1 to 6 share with them) are rewritten by the upgrades table in
// opset.go — Unsqueeze, Squeeze, Reduce* and Split attributes to inputs,
// Dropout's ratio, Clip's min and max, Pad's pads, Slice's starts and
// ends to inputs, Upsample and opset 10's Resize to Resize with asymmetric
// coordinates, Softmax, LogSoftmax and Hardmax's 2-D coercion, and
// BatchNormalization's spatial attribute and training-only outputs. Every
// node the graph package does not run is listed in one *UnsupportedError.
package convert
