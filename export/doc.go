// Package export writes trainer models as ONNX graphs: the full autoencoder
// (x → x_hat), its encoder (x → z) and its decoder (z → x_hat).
//
// The graphs use operators that ONNX Runtime and onnx-go both run for MLP
// models: a dense layer is MatMul(x, Transpose(W)) + b, with W stored as
// PyTorch stores it, (out, in), under its state-dict name; a tied decoder
// layer is MatMul(z, W) on the same initializer. Biases are stored with
// shape (1, out), which both runtimes broadcast alike. The batch dimension is
// dynamic, named "batch". Custom metadata records the variant, the input
// shape, the code size, the loss, the model and training configuration as
// JSON, and the aebridge version, so that convert can read the model back
// exactly. The full model and the encoder also record how to feed them
// 8-bit data (aebridge.input_scale "1/255" for a model trained here, "none"
// otherwise) and, when known, the range of the values trained on
// (aebridge.input_range); runtime's Info.InputScaling reads them.
//
// The zero Writer writes opset 13; Writer.Opset picks another (11 to 18).
//
// Writer.Graph (MarshalGraph, WriteGraphFile) writes a graph.Graph node by
// node: each node's op type, inputs, outputs and typed attributes as the
// graph holds them, in topological order, its parameters as float32 and
// int64 initializers, its inputs with the batch dimension symbolic and its
// outputs with the shapes graph.Describe infers. The graph holds every
// node in its opset-18 form; below 18, the op types whose form changed
// are rewritten into the older one, each by its entry in one table
// (axes and split inputs become attributes, a Softmax along a middle axis
// gets a Transpose on either side below 13, Resize's axes are expanded
// below 18 and its roi and scales filled in below 13, …), and a node that
// the older form cannot express is an *UnsupportedError naming the node,
// its op type and the opset. The metadata records the aebridge version
// (aebridge_version), the training configuration (training), the
// input-scaling rule, and each of the graph's marks as
// "aebridge.mark.<role>" (aebridge.mark.code, aebridge.mark.mu,
// aebridge.mark.logvar) naming the marked tensor; the caller adds its own
// keys (variant, part, …).
package export
