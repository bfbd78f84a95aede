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
package export
