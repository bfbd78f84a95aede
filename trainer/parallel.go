package trainer

import (
	"runtime"
	"sync"
)

// parallelFor calls fn on [lo, hi) chunks that cover [0, n), on up to
// GOMAXPROCS goroutines when n is at least grain, else on this one. The
// chunks depend only on n and GOMAXPROCS, so work that writes each index
// once gives the same result for a given thread count.
func parallelFor(n, grain int, fn func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers <= 1 || n < 2*grain {
		fn(0, n)
		return
	}
	workers = min(workers, n/grain)
	var wg sync.WaitGroup
	step := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += step {
		hi := min(lo+step, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

// parallelSum is parallelFor for a sum: each chunk returns its part, and
// the parts are added in chunk order.
func parallelSum(n, grain int, fn func(lo, hi int) float64) float64 {
	workers := runtime.GOMAXPROCS(0)
	if workers <= 1 || n < 2*grain {
		return fn(0, n)
	}
	workers = min(workers, n/grain)
	step := (n + workers - 1) / workers
	parts := make([]float64, (n+step-1)/step)
	var wg sync.WaitGroup
	for k := range parts {
		lo, hi := k*step, min((k+1)*step, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[k] = fn(lo, hi)
		}()
	}
	wg.Wait()
	var sum float64
	for _, p := range parts {
		sum += p
	}
	return sum
}

// grain is the least work (elements) worth a goroutine.
const grain = 16384
