package graph

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// A Job is work over the indices [0, n) that ParallelFor splits into
// chunks. Hot paths pass jobs held in their layer or operator (a pointer,
// or a struct of one pointer), which costs no allocation; others wrap a
// closure in JobFunc.
type Job interface{ Run(lo, hi int) }

// A SumJob is a Job whose chunks each return their part of a sum.
type SumJob interface{ Sum(lo, hi int) float64 }

// JobFunc is a closure as a Job.
type JobFunc func(lo, hi int)

// Run calls f(lo, hi).
func (f JobFunc) Run(lo, hi int) { f(lo, hi) }

// SumFunc is a closure as a SumJob.
type SumFunc func(lo, hi int) float64

// Sum returns f(lo, hi).
func (f SumFunc) Sum(lo, hi int) float64 { return f(lo, hi) }

// Grain is the least work (elements) worth a chunk of its own.
const Grain = 16384

// chunks returns how ParallelFor splits n indices: count chunks of step
// indices (the last may be shorter). They depend only on n, grain and
// GOMAXPROCS, so work that writes each index once, or sums chunk by chunk
// in order, gives the same result for a given thread count.
func chunks(n, grain int) (count, step int) {
	workers := runtime.GOMAXPROCS(0)
	if workers <= 1 || n < 2*grain {
		return 1, n
	}
	workers = min(workers, n/grain)
	step = (n + workers - 1) / workers
	return (n + step - 1) / step, step
}

// Workers is how many goroutines a parallel loop may use: GOMAXPROCS.
func Workers() int { return runtime.GOMAXPROCS(0) }

// ParallelFor runs j on chunks that cover [0, n), each of at least grain
// indices: the first on this goroutine, the others on the worker pool. The
// chunks depend only on n, grain and GOMAXPROCS. It returns when every
// chunk is done; a chunk may start loops of its own.
func ParallelFor(n, grain int, j Job) {
	count, step := chunks(n, grain)
	if count == 1 {
		j.Run(0, n)
		return
	}
	r := startRegion(count)
	for k := 1; k < count; k++ {
		r.submit(task{j: j, lo: k * step, hi: min((k+1)*step, n), r: r})
	}
	j.Run(0, step)
	r.wait()
	r.free()
}

// ParallelSum is ParallelFor for a sum: each chunk returns its part, and
// the parts are added in chunk order, so the result depends only on n,
// grain and GOMAXPROCS.
func ParallelSum(n, grain int, j SumJob) float64 {
	count, step := chunks(n, grain)
	if count == 1 {
		return j.Sum(0, n)
	}
	r := startRegion(count)
	for k := 1; k < count; k++ {
		r.submit(task{s: j, lo: k * step, hi: min((k+1)*step, n), r: r, part: k})
	}
	r.parts[0] = j.Sum(0, step)
	r.wait()
	var sum float64
	for _, p := range r.parts[:count] {
		sum += p
	}
	r.free()
	return sum
}

// The worker pool: long-lived goroutines, as many as GOMAXPROCS has asked
// for less one (the caller runs a chunk itself), that take chunks from one
// queue. A parallel loop costs no goroutine and no allocation.
var (
	queue   = make(chan task, 256)
	workers atomic.Int32
	spawnMu sync.Mutex
	regions = make(chan *region, 64) // free regions: unlike a sync.Pool, kept across collections
)

// A task is one chunk of a Job (or SumJob) and the region it belongs to.
type task struct {
	j      Job
	s      SumJob
	lo, hi int
	r      *region
	part   int
}

func (t task) exec() {
	if t.s != nil {
		t.r.parts[t.part] = t.s.Sum(t.lo, t.hi)
	} else {
		t.j.Run(t.lo, t.hi)
	}
	if t.r.pending.Add(-1) == 0 {
		t.r.done <- struct{}{}
	}
}

// A region is one parallel loop in flight: the chunks its caller waits
// for, and the parts of a sum.
type region struct {
	pending atomic.Int32  // chunks submitted and not yet done
	done    chan struct{} // receives a token when pending reaches zero
	parts   []float64
}

// wait returns when every chunk submitted to r is done. Meanwhile the
// caller runs queued chunks itself — its own loop's, or another's — so
// that a loop whose chunks start loops of their own cannot deadlock the
// pool, and a chunk does not wait for a worker to wake.
func (r *region) wait() {
	for {
		select {
		case <-r.done:
			return
		case t := <-queue:
			t.exec()
		}
	}
}

func startRegion(count int) *region {
	if int(workers.Load()) < count-1 {
		spawnMu.Lock()
		for int(workers.Load()) < count-1 {
			go func() {
				for t := range queue {
					t.exec()
				}
			}()
			workers.Add(1)
		}
		spawnMu.Unlock()
	}
	var r *region
	select {
	case r = <-regions:
	default:
		r = new(region)
	}
	if cap(r.parts) < count {
		r.parts = make([]float64, count)
	}
	r.parts = r.parts[:count]
	if r.done == nil {
		r.done = make(chan struct{}, 1)
	}
	r.pending.Store(int32(count - 1))
	return r
}

// submit queues t, or runs it here when the queue is full (other loops are
// keeping the workers busy).
func (r *region) submit(t task) {
	select {
	case queue <- t:
	default:
		t.exec()
	}
}

// free returns r to the free regions (or to the collector, if there are
// many).
func (r *region) free() {
	select {
	case regions <- r:
	default:
	}
}
