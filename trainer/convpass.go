package trainer

import "github.com/aebridge/aebridge/graph"

// The convolution layers' passes over the batch (the direct and
// per-sample paths of Conv, ConvTranspose): the batch cut into parts, one a
// worker, each worker with its own buffers and, backward, its own share of
// the parameter gradients, added in worker order afterwards — the same
// bits for the same thread count.

// batchPass is one pass over the batch: what it reads and writes.
type batchPass struct {
	backward bool
	x, y, dx []float32 // x; the output (Forward) or its gradient (Backward); dx or nil
	n, parts int
}

func forwardPass(x, dst *Tensor) batchPass {
	return batchPass{x: x.Data, y: dst.Data, n: x.Rows()}
}

func backwardPass(x, dy, dx *Tensor) batchPass {
	b := batchPass{backward: true, x: x.Data, y: dy.Data, n: x.Rows()}
	if dx != nil {
		b.dx = dx.Data
	}
	return b
}

// runPass runs j, whose pass is b, over the worker pool, with buffers for
// each part in *scratch, and returns how many parts it cut the batch into.
func runPass(j graph.Job, b *batchPass, scratch *[]convScratch) int {
	b.parts = min(b.n, graph.Workers())
	if len(*scratch) < b.parts {
		*scratch = append(*scratch, make([]convScratch, b.parts-len(*scratch))...)
	}
	graph.ParallelFor(b.parts, 1, j)
	return b.parts
}

// samples returns the samples [lo, hi) of part p.
func (b *batchPass) samples(p int) (lo, hi int) {
	return p * b.n / b.parts, (p + 1) * b.n / b.parts
}

// begin returns part p's buffers, its shares of w's and bias's gradients
// cleared for a backward pass.
func (b *batchPass) begin(scratch []convScratch, p int, w, bias *Param) *convScratch {
	sc := &scratch[p]
	if b.backward {
		clear(resize(&sc.dw, len(w.Grad.Data)))
		clear(resize(&sc.db, len(bias.Grad.Data)))
	}
	return sc
}

// convScratch is one worker's buffers on the direct path.
type convScratch struct {
	xpad, dxpad []float32 // C padded planes
	acc         []float32 // Out output planes in padded rows
	col         []float32 // one sample's column matrix (the per-sample path)
	dw, db      []float32 // the worker's share of the parameter gradients
}

// addPartials adds the workers' shares of the gradients of w and b, in
// worker order.
func addPartials(scratch []convScratch, w, b *Param) {
	for p := range scratch {
		graph.Axpy(w.Grad.Data, scratch[p].dw, 1)
		graph.Axpy(b.Grad.Data, scratch[p].db, 1)
	}
}
