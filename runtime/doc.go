// Package runtime runs ONNX autoencoders — aebridge's own exports, PyTorch's,
// Keras' — through ONNX Runtime, for Go programs that embed them.
//
// Open loads a model and describes it (Model.Info: inputs and outputs with
// their dynamic dimensions, opsets, producer, custom metadata;
// Info.InputScaling reads the rule aebridge's exports record for feeding
// 8-bit data, divided by 255 as they were trained). Run feeds
// float32 tensors of any batch size and checks them against the model's
// description before ONNX Runtime sees them. RunValues does the same for
// models with inputs or outputs of other element types (DTypes: float32,
// float64, float16, int64, int32, uint8, bool), an int64 class label in or
// a uint8 image out: a Value holds a shape and a typed slice (NewValue,
// DataOf; Half for float16), and each input must have the type the model
// declares (IO.Type), or it is an *InputError naming the input and both
// types: the runtime converts nothing. Outputs whose shape the file does
// not give, scalars included, come back with the shape ONNX Runtime
// computed. Encode, Decode, Reconstruct
// and Score are the autoencoder helpers: codes (μ for a VAE), decoded
// codes, a reconstruction, and a per-sample reconstruction error (MSE, MAE,
// BCE, L2) to use as an anomaly score, with FeatureScores for the error of
// each input. They work on each file of a model directory (model.onnx,
// encoder.onnx, decoder.onnx): a part that needs another (a full model's
// codes, an encoder's reconstruction) opens the other file beside it,
// after checking from aebridge's metadata that it belongs to the same
// model. Conditional models take their one-hot condition (OneHot) as an
// extra argument. Detect labels anomalies by the threshold `aebridge
// calibrate` stores in the model (Info.Calibration); package anomaly fits
// thresholds and measures them. One opened Model is safe for concurrent
// use by many goroutines; each call has its own tensors.
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
