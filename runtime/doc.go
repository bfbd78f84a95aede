// Package runtime runs ONNX autoencoders — aebridge's own exports, PyTorch's,
// Keras' — through ONNX Runtime, for Go programs that embed them.
//
// Open loads a model and describes it (Model.Info: inputs and outputs with
// their dynamic dimensions, opsets, producer, custom metadata;
// Info.InputScaling reads the rule aebridge's exports record for feeding
// 8-bit data, divided by 255 as they were trained). Run feeds
// float32 tensors of any batch size and checks them against the model's
// description before ONNX Runtime sees them. Reconstruct and Score are the
// autoencoder helpers: a reconstruction, and a per-sample reconstruction
// error (MSE, MAE, BCE) to use as an anomaly score. One opened Model is safe
// for concurrent use by many goroutines; each call has its own tensors.
//
// The ONNX Runtime shared library is loaded at run time, once per process,
// from the first of: WithLibrary, $ONNXRUNTIME_SHARED_LIBRARY_PATH, the copy
// `make setup` installs (.deps/onnxruntime above the working directory or
// the executable), LD_LIBRARY_PATH and the system library folders. When it is
// missing, the error lists those places and the command that installs it.
//
// WithCUDA asks for the CUDA execution provider. Where the loaded library has
// none, Open returns an error wrapping ErrNoCUDA, or, with WithCPUFallback,
// opens the model on the CPU and reports why in Model.Fallback.
//
// This package uses cgo: it needs a C compiler at build time.
package runtime
