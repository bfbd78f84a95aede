package graph

// The convolutions' passes over the batch (the direct and per-sample paths
// of Conv, ConvTranspose): the batch cut into parts, one a worker, each
// worker with its own buffers and, backward, its own share of the weight
// and bias gradients, added in worker order afterwards — the same bits for
// the same thread count.

// batchPass is one pass over the batch: what it reads and writes.
type batchPass struct {
	backward bool
	x, y, dx []float32 // x; the output (Forward) or its gradient (Backward); dx or nil
	w, b     []float32 // the weights; the bias, nil for none
	dw, db   []float32 // the gradients of w and b wanted (Backward), nil for none
	n, parts int
}

func forwardPass(y, x, w, b *Tensor) batchPass {
	p := batchPass{x: x.Data, y: y.Data, w: w.Data, n: x.Shape[0]}
	if b != nil {
		p.b = b.Data
	}
	return p
}

func backwardPass(dx, dw, db, dy, x, w *Tensor) batchPass {
	p := batchPass{backward: true, x: x.Data, y: dy.Data, w: w.Data, n: x.Shape[0]}
	if dx != nil {
		p.dx = dx.Data
	}
	if dw != nil {
		p.dw = dw.Data
	}
	if db != nil {
		p.db = db.Data
	}
	return p
}

// bias is b[o], 0 where there is no bias.
func (b *batchPass) bias(o int) float32 {
	if b.b == nil {
		return 0
	}
	return b.b[o]
}

// runPass runs j, whose pass is b, over the worker pool, with buffers for
// each part in *scratch, then adds the parts' shares of the gradients into
// b.dw and b.db in part order.
func runPass(j Job, b *batchPass, scratch *[]convScratch) {
	b.parts = min(b.n, Workers())
	if len(*scratch) < b.parts {
		*scratch = append(*scratch, make([]convScratch, b.parts-len(*scratch))...)
	}
	ParallelFor(b.parts, 1, j)
	if !b.backward {
		return
	}
	for _, sc := range (*scratch)[:b.parts] {
		if b.dw != nil {
			Axpy(b.dw, sc.dw, 1)
		}
		if b.db != nil {
			Axpy(b.db, sc.db, 1)
		}
	}
}

// samples returns the samples [lo, hi) of part p.
func (b *batchPass) samples(p int) (lo, hi int) {
	return p * b.n / b.parts, (p + 1) * b.n / b.parts
}

// begin returns part p's buffers, its shares of the weight and bias
// gradients cleared for a backward pass (empty where they are not wanted).
func (b *batchPass) begin(scratch []convScratch, p int) *convScratch {
	sc := &scratch[p]
	if b.backward {
		clear(resize(&sc.dw, len(b.dw)))
		clear(resize(&sc.db, len(b.db)))
	}
	return sc
}

// convScratch is one worker's buffers.
type convScratch struct {
	xpad, dxpad []float32 // C padded planes (the direct path)
	acc         []float32 // Out output planes in padded rows (the direct path)
	col         []float32 // one sample's column matrix
	dw, db      []float32 // the worker's share of the weight and bias gradients
}

// resize returns (*buf)[:n], growing *buf when it is too short.
func resize(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	*buf = (*buf)[:n]
	return *buf
}
