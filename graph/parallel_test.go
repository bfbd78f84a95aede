package graph

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestParallelLoops checks that ParallelFor covers every index once and
// ParallelSum adds its chunks in order, for loops run from many goroutines
// at once and loops started from inside other loops' chunks (the caller
// runs queued chunks while it waits, so nesting cannot deadlock the pool).
func TestParallelLoops(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	const n = 100000
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := 0; rep < 20; rep++ {
				seen := make([]int32, n)
				ParallelFor(n, 1000, JobFunc(func(lo, hi int) {
					for i := lo; i < hi; i++ {
						atomic.AddInt32(&seen[i], 1)
					}
					// A nested loop inside each chunk.
					var inner atomic.Int64
					ParallelFor(4000, 1000, JobFunc(func(lo, hi int) { inner.Add(int64(hi - lo)) }))
					if inner.Load() != 4000 {
						t.Errorf("nested loop covered %d of 4000 indices", inner.Load())
					}
				}))
				for i, c := range seen {
					if c != 1 {
						t.Errorf("index %d run %d times", i, c)
						return
					}
				}
				sum := ParallelSum(n, 1000, SumFunc(func(lo, hi int) float64 {
					var s float64
					for i := lo; i < hi; i++ {
						s += float64(i)
					}
					return s
				}))
				if want := float64(n) * (n - 1) / 2; sum != want {
					t.Errorf("sum %v, want %v", sum, want)
				}
			}
		}()
	}
	wg.Wait()
}
