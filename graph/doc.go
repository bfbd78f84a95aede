// Package graph holds the model as a graph: a DAG of nodes whose operators
// and attributes follow ONNX's operator set (Graph, Node), the operators'
// shape rules, Forward and Backward passes over float32 tensors, and the
// numerical foundation they are built from — the worker pool that runs
// parallel loops, the matrix product over gonum's blas32 (OpenBLAS in
// builds with the openblas tag), and vector kernels with SSE versions on
// amd64. It imports no protobuf code: it is ONNX-shaped, so that export and
// import are mechanical.
//
// A Graph has named inputs and outputs, parameters under PyTorch
// state-dict names, and marks naming the code (or μ and log σ²), so that
// encoder and decoder are the subgraphs on either side of it. Order sorts
// its nodes topologically and reports the node at fault (*NodeError) when
// they do not form a DAG over known tensors; Shapes infers every tensor's
// shape; Forward and Backward run the graph node by node, allocating as
// they go — the reference that the executor is tested against.
//
// The executor (Plan) plans a graph once per input shape: it keeps only
// the nodes the wanted outputs need, finds the nodes between the wanted
// gradients and the seeds of Backward (so that no gradient nobody wants is
// computed, such as the input's), allocates every buffer and each node's
// state once, and splits elementwise operators over the worker pool. Its
// Forward and Backward then allocate nothing, and give the reference's
// values bit for bit.
//
// Each operator family has one file: its shape rule (BroadcastShape,
// GemmShape, MatMulShape, TransposeShape, …), XForward(y, inputs…,
// attributes…) and directly below it XBackward(dinputs…, dy, saved
// tensors…, attributes…), and an init function that registers its op
// types: the attributes each reads (with their types: Float, Int, Ints, …;
// a node with another attribute, or one of another type, is refused), its
// shape rule and its passes over all of a node's outputs (Ops lists them).
// Tensors are float32, or int64 (Int64) where ONNX keeps shapes, axes and
// indices; shape inference computes int64 tensors that depend only on
// parameters and shapes before the graph runs, so shape subgraphs cost
// nothing per step and Reshape knows its target. Forward gives y its shape (Tensor.Resize);
// Backward adds (+=) into the gradients it is given, any of which may be
// nil, and never clears them. A naive reference loop sits beside each fast
// path for the tests.
//
// Describe gives every tensor's shape, type and known value with the batch
// dimension symbolic; Cut splits a graph at a tensor into encoder and
// decoder, and Bottleneck finds where to cut. Shape subgraphs (Shape,
// Gather, Unsqueeze, Concat, Slice, Cast, ConstantOfShape) fold before the
// graph runs, at any batch size; data-movement operators take float32 or
// int64; BatchNormalization and Dropout behave as ONNX's in Forward and as
// PyTorch's while the graph trains; operators may check input values each
// run (Gather's indices), and Forward returns a *NodeError for them.
// Trainable lists the parameters training changes (not shapes, scales or
// running statistics, which operators mark as fixed inputs).
//
// The graph is the one model of the project: trainer.Model.Graph builds
// it for every variant the trainer has, trainer.FromGraph trains any graph
// (imported or built by hand), export.Writer.Graph writes it as ONNX node
// by node, convert.ReadGraph reads ONNX models into it (upgrading older
// opsets to opset 18's forms), and backend.Graph runs it in pure Go.
//
// Tensors and slices are float32 in row-major order. Kernels write into
// buffers their callers own, destinations first, and never modify their
// inputs. A shape
// mismatch is a bug of the calling code and panics with ErrShape, or, for
// the vector kernels, with Go's index-out-of-range panic where a slice is
// too short.
//
// Matrix products go through blas32 only: gonum's pure-Go kernels, in tiles
// run on the calling goroutine, or OpenBLAS with one thread a call
// (graph/blas_openblas.go); Gemm splits each product over the worker pool.
// Parallel loops (ParallelFor, ParallelSum) split their work into chunks
// that depend only on its size and GOMAXPROCS (SetThreads), so the same
// seed, data and thread count give the same results, bit for bit.
//
// On amd64 the Adam update, Axpy, Dot, the sigmoid, ReLU, the MSE and BCE
// (from logits) loss blocks and 2×2 max pooling have SSE kernels in Go
// assembly. Each keeps a Go reference that gives the same bits (for the
// losses' sums, the same values to about 1e-7), tested bit for bit; the
// noasm build tag, and other architectures, use the Go versions. The
// sigmoid, tanh and logistic loss use float32 exp, log and tanh within 2
// ulp (Exp32, Log1p32, Tanh32), as PyTorch's vectorised kernels do.
package graph

// ErrShape is the value of the panics graph functions raise when the shapes
// of their arguments do not fit: a bug in the calling code, not bad input.
var ErrShape = ShapeError("graph: dimension mismatch")

// A ShapeError is a shape mismatch found by a graph function (ErrShape).
type ShapeError string

func (e ShapeError) Error() string { return string(e) }
