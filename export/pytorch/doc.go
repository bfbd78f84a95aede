// Package pytorch writes a graph as a self-contained PyTorch package:
// model.py, an nn.Module generated node by node (PyTorch's own layers
// where a node is one: nn.Linear, nn.ConvNd, nn.ConvTransposeNd,
// nn.BatchNormNd, pooling, nn.Upsample, nn.Embedding; functional code for
// the rest), whose state_dict() keys are the graph's parameter names;
// model.safetensors, the weights under those keys, which model.py reads
// without the safetensors package; and train.py, which trains the module
// with a Recipe (the loss, the optimizer, the variational and sparsity
// terms) under DistributedDataParallel and exports the result to ONNX.
//
// Shape subgraphs (Shape, Gather, Concat on int64 tensors feeding a
// Reshape) are not written: the generated code reshapes to the shape
// that shape inference gives, with the batch dimension symbolic. A node
// the generator cannot write makes Generate return an *UnsupportedError
// listing every such node; it never writes code that computes something
// else.
package pytorch
