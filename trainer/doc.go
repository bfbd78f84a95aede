// Package trainer trains autoencoders in Go: float32 tensors, layers with
// forward and backward passes (dense, convolution and transposed
// convolution, pooling and unpooling, upsampling, batch norm, dropout,
// activations), losses, penalties and corruptions of the regularised
// variants, the variational bottleneck, optimizers that match PyTorch's,
// the training loop, and checkpoints.
//
// A model is one description, Config — the input shape, an encoder stack,
// the bottleneck (plain, or μ / log σ² heads), a decoder stack, the loss —
// with weights held by its layers under PyTorch-style state-dict names.
// MLP and ConvNet build the descriptions of the classic variants; Build
// makes a Model from any description; Save and Load keep it as config.json
// beside model.safetensors; Fit trains it.
//
// Tensors are (batch, features…) in row-major order. Layers write into
// buffers their callers own (Forward(dst, x), Backward(dx, dy)); Forward
// keeps references to x and dst for Backward, and inputs are never
// modified. Backward adds into parameter gradients; only ZeroGrad clears
// them. A model's passes return buffers of the model, valid until its next
// pass, and a Model is not safe for concurrent use. A shape mismatch inside
// this package is a bug of the calling code and panics with ErrShape; input
// read from files is checked before, with errors.
//
// The layers are built from package graph's kernels. Matrix products go
// through gonum's blas32 (graph.Gemm): gonum's pure-Go kernels, or OpenBLAS
// in builds with the openblas tag (graph/blas_openblas.go). The same seed,
// data and thread count give the same weights, bit for bit.
//
// Parallel work — the blocks of each matrix product, elementwise loops,
// im2col, pooling, the optimizer's update — runs on graph's one pool of
// GOMAXPROCS goroutines (SetThreads); OpenBLAS itself runs one thread per
// call, since its own threads busy-wait between calls and would take the
// cores from the rest of the step. Convolutions run sample by sample, each worker a share
// of the batch. A training step allocates nothing once its buffers exist.
// On amd64 graph's Adam update, axpy, dot, the sigmoid, ReLU, MSE, BCE from
// logits and 2×2 max pooling have SSE kernels (Go assembly; the noasm build
// tag leaves the Go versions, which give the same bits, or for the losses'
// sums the same values to about 1e-7), and the sigmoid, tanh and logistic
// loss use float32 exp, log and tanh within 2 ulp, as PyTorch's vectorised
// kernels do.
package trainer
