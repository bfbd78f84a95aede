package serve

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aebridge/aebridge/runtime"
)

// batchWorkers is how many batches of one model may run at once: while
// one runs in ONNX Runtime, the next is gathered.
const batchWorkers = 2

// A batcher gathers concurrent runs of one model into one ONNX Runtime
// call: the first request waiting opens a batch, which takes further
// requests whose inputs have the same per-sample shapes until it holds
// maxBatch samples or maxDelay has passed since it opened; the inputs are
// joined along the first (batch) dimension, run once, and each request
// gets its rows of every output back. It serves only models whose inputs
// and outputs all have a dynamic first dimension (see batchable).
type batcher struct {
	model    runner
	maxBatch int64
	maxDelay time.Duration
	observe  func(samples, requests int) // called for each batch run

	reqs chan *batchRequest
	stop chan struct{}
	wg   sync.WaitGroup
}

type batchRequest struct {
	ctx    context.Context
	inputs []runtime.Tensor
	n      int64 // samples: every input's first dimension
	done   chan batchResult
}

type batchResult struct {
	outputs []runtime.Tensor
	err     error
}

// batchable reports whether runs of the model described by info can be
// joined: every input and output has a known shape whose first dimension
// is dynamic.
func batchable(info *runtime.Info) bool {
	for _, ios := range [][]runtime.IO{info.Inputs, info.Outputs} {
		for _, io := range ios {
			if !io.HasShape || len(io.Shape) == 0 || io.Shape[0].Size >= 0 {
				return false
			}
		}
	}
	return true
}

func newBatcher(m runner, maxBatch int, maxDelay time.Duration, observe func(samples, requests int)) *batcher {
	b := &batcher{model: m, maxBatch: int64(maxBatch), maxDelay: maxDelay, observe: observe,
		reqs: make(chan *batchRequest), stop: make(chan struct{})}
	b.wg.Add(batchWorkers)
	for range batchWorkers {
		go b.loop()
	}
	return b
}

// close stops the workers once the batches they hold have run.
func (b *batcher) close() {
	close(b.stop)
	b.wg.Wait()
}

// run runs the model on inputs, in a batch with others when they fit. It
// returns ctx's error if ctx ends before the batch is run.
func (b *batcher) run(ctx context.Context, inputs []runtime.Tensor) ([]runtime.Tensor, error) {
	n, ok := samples(inputs)
	if !ok || n >= b.maxBatch {
		return b.model.Run(inputs...)
	}
	r := &batchRequest{ctx: ctx, inputs: inputs, n: n, done: make(chan batchResult, 1)}
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.stop:
		return nil, fmt.Errorf("serve: the server is shutting down")
	}
	select {
	case res := <-r.done:
		return res.outputs, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// samples returns the batch size of inputs: their common first dimension,
// or false when they have none in common.
func samples(inputs []runtime.Tensor) (int64, bool) {
	n := int64(-1)
	for _, t := range inputs {
		if len(t.Shape) == 0 || (n >= 0 && t.Shape[0] != n) {
			return 0, false
		}
		n = t.Shape[0]
	}
	return n, n > 0
}

// fits reports whether r's inputs have the per-sample shapes of first's.
func fits(first, r *batchRequest) bool {
	if len(first.inputs) != len(r.inputs) {
		return false
	}
	for i, t := range first.inputs {
		if !slices.Equal(t.Shape[1:], r.inputs[i].Shape[1:]) {
			return false
		}
	}
	return true
}

func (b *batcher) loop() {
	defer b.wg.Done()
	var next *batchRequest // a request that did not fit the last batch
	for {
		first := next
		next = nil
		if first == nil {
			select {
			case first = <-b.reqs:
			case <-b.stop:
				return
			}
		}
		batch := []*batchRequest{first}
		total := first.n
		timer := time.NewTimer(b.maxDelay)
	gather:
		for total < b.maxBatch {
			select {
			case r := <-b.reqs:
				if !fits(first, r) || total+r.n > b.maxBatch {
					next = r
					break gather
				}
				batch = append(batch, r)
				total += r.n
			case <-timer.C:
				break gather
			case <-b.stop: // run what was gathered without waiting
				break gather
			}
		}
		timer.Stop()
		b.runBatch(batch)
	}
}

// runBatch runs the requests of batch still waiting as one call and
// hands each its rows of the outputs.
func (b *batcher) runBatch(batch []*batchRequest) {
	live := batch[:0]
	for _, r := range batch {
		if r.ctx.Err() == nil {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	if len(live) == 1 {
		out, err := b.model.Run(live[0].inputs...)
		b.observe(int(live[0].n), 1)
		live[0].done <- batchResult{out, err}
		return
	}
	var total int64
	for _, r := range live {
		total += r.n
	}
	joined := make([]runtime.Tensor, len(live[0].inputs))
	for i := range joined {
		size := 0
		for _, r := range live {
			size += len(r.inputs[i].Data)
		}
		data := make([]float32, 0, size)
		for _, r := range live {
			data = append(data, r.inputs[i].Data...)
		}
		joined[i] = runtime.Tensor{Shape: append([]int64{total}, live[0].inputs[i].Shape[1:]...), Data: data}
	}
	out, err := b.model.Run(joined...)
	b.observe(int(total), len(live))
	if err == nil {
		for j, t := range out {
			if len(t.Shape) == 0 || t.Shape[0] != total {
				err = fmt.Errorf("serve: output %q of a batch of %d has shape %v: it cannot be split back into requests", b.model.Info().Outputs[j].Name, total, t.Shape)
				break
			}
		}
	}
	if err != nil {
		// One request's bad input fails the whole call: run each alone,
		// so that each gets its own result or error.
		for _, r := range live {
			out, err := b.model.Run(r.inputs...)
			r.done <- batchResult{out, err}
		}
		return
	}
	var lo int64
	for _, r := range live {
		res := make([]runtime.Tensor, len(out))
		for j, t := range out {
			per := int64(len(t.Data)) / total
			res[j] = runtime.Tensor{Shape: append([]int64{r.n}, t.Shape[1:]...), Data: t.Data[lo*per : (lo+r.n)*per : (lo+r.n)*per]}
		}
		lo += r.n
		r.done <- batchResult{res, nil}
	}
}
