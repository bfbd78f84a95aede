// Package convert reads ONNX graphs written by others — PyTorch's and
// Keras' exporters first — into graph.Graph, the model aebridge trains,
// exports and runs, so that a model trained in Python can be inspected,
// fine-tuned (trainer.FromGraph), split (graph.Cut) and re-exported in Go;
// and it moves weights between trainer models and safetensors files.
//
// ReadGraph (a path, with external data) and DecodeGraph (an io.Reader)
// read any ONNX graph node by node: each node of the ai.onnx domain
// becomes a graph node of the same op type, inputs, outputs and typed
// attributes; initializers and Constant nodes become float32 or int64
// parameters (float16, bfloat16 and the integer types up to 32 bits
// exactly, float64 with a note in GraphInfo), so that the graph's shape
// inference folds shape subgraphs (x.view(x.size(0), -1), nn.Unflatten)
// with the batch size kept symbolic; the first dimension of each input
// without a fixed size is the batch; the metadata keys aebridge.mark.<role>
// (MarkKeyPrefix) mark tensors. The graph holds opset 18's forms: nodes
// written at older opsets (7 to 17, and what opsets 1 to 6 share with
// them) are rewritten by the upgrades table in opset.go — Unsqueeze,
// Squeeze, Reduce* and Split attributes to inputs, Dropout's ratio, Clip's
// min and max, Pad's pads, Slice's starts and ends to inputs, Upsample and
// opset 10's Resize to Resize with asymmetric coordinates, Softmax,
// LogSoftmax and Hardmax's 2-D coercion, and BatchNormalization's spatial
// attribute and training-only outputs. Every node the graph package does
// not run is listed in one *UnsupportedError; a malformed model is a
// *FormatError naming the file, the node and the field; a graph whose
// computed output shape is not the one its file declares is refused.
package convert
