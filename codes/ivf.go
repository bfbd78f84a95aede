package codes

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// IVF is an approximate index, an inverted file: the rows are grouped by
// their nearest of Lists centroids (k-means, under the index's metric), and
// a query is compared only with the rows of its Probe nearest groups. With
// Probe = Lists it is exact; Recall measures what fewer probes lose.
type IVF struct {
	*Index
	Lists     int
	Probe     int
	centroids *Index
	members   [][]int // rows of each list
}

// NewIVF groups the rows of exact index ix into lists by k-means
// (iterations rounds of Lloyd's algorithm from a maximin start: one row
// drawn by seed, then each time the row farthest from those chosen)
// and searches probe lists per query. It needs 1 ≤ probe ≤ lists ≤ rows.
func NewIVF(ix *Index, lists, probe, iterations int, seed uint64) (*IVF, error) {
	n, d := ix.Len(), ix.D
	if lists < 1 || lists > n || probe < 1 || probe > lists {
		return nil, fmt.Errorf("codes: ivf: %d lists probed %d at a time over %d rows; want 1 ≤ probe ≤ lists ≤ rows", lists, probe, n)
	}
	// Maximin start: a row drawn by seed, then each next centroid the row
	// farthest from those chosen (so that separated clusters each get one).
	rng := rand.New(rand.NewPCG(seed, 0x697666)) // "ivf"
	cent := make([]float32, 0, lists*d)
	far := make([]float64, n)
	for i := range far {
		far[i] = math.Inf(1)
	}
	next := rng.IntN(n)
	for c := 0; c < lists; c++ {
		row := ix.rows[next*d : (next+1)*d]
		cent = append(cent, row...)
		rn := norm(row)
		for i := range far {
			far[i] = min(far[i], ix.distance(row, rn, i))
		}
		for i, f := range far {
			if f > far[next] {
				next = i
			}
		}
	}
	assign := make([]int, n)
	for it := 0; ; it++ {
		cix, err := NewIndex(cent, d, ix.Metric)
		if err != nil {
			return nil, err
		}
		nbs, err := cix.Search(ix.rows, 1, nil)
		if err != nil {
			return nil, err
		}
		for i, nb := range nbs {
			assign[i] = nb[0].Index
		}
		if it == iterations {
			v := &IVF{Index: ix, Lists: lists, Probe: probe, centroids: cix, members: make([][]int, lists)}
			for i, c := range assign {
				v.members[c] = append(v.members[c], i)
			}
			return v, nil
		}
		// Each centroid moves to its rows' mean; an empty one stays.
		sum := make([]float64, lists*d)
		count := make([]int, lists)
		for i, c := range assign {
			count[c]++
			for j, x := range ix.rows[i*d : (i+1)*d] {
				sum[c*d+j] += float64(x)
			}
		}
		for c := range count {
			if count[c] > 0 {
				for j := 0; j < d; j++ {
					cent[c*d+j] = float32(sum[c*d+j] / float64(count[c]))
				}
			}
		}
		cent = append([]float32(nil), cent...) // the old index keeps its rows
	}
}

// Search returns, for each of the m rows of queries, the k nearest rows
// among those of its Probe nearest lists, nearest first, as Index.Search
// orders them.
func (v *IVF) Search(queries []float32, k int) ([][]Neighbor, error) {
	if k < 1 {
		return nil, fmt.Errorf("codes: search: k = %d; want at least 1", k)
	}
	lists, err := v.centroids.Search(queries, v.Probe, nil)
	if err != nil {
		return nil, err
	}
	m := len(lists)
	out := make([][]Neighbor, m)
	workers := min(runtime.GOMAXPROCS(0), m)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for qi := w; qi < m; qi += workers {
				q := queries[qi*v.D : (qi+1)*v.D]
				qn := norm(q)
				best := make([]Neighbor, 0, k)
				for _, l := range lists[qi] {
					for _, i := range v.members[l.Index] {
						best = insert(best, Neighbor{i, v.distance(q, qn, i)}, k)
					}
				}
				out[qi] = best
			}
		}()
	}
	wg.Wait()
	return out, nil
}

// insert adds nb to the sorted list best of at most k neighbours.
func insert(best []Neighbor, nb Neighbor, k int) []Neighbor {
	if len(best) == k && !less(nb, best[k-1]) {
		return best
	}
	if len(best) < k {
		best = append(best, nb)
	} else {
		best[k-1] = nb
	}
	for j := len(best) - 1; j > 0 && less(best[j], best[j-1]); j-- {
		best[j], best[j-1] = best[j-1], best[j]
	}
	return best
}

// Recall returns the mean over queries of the fraction of the exact
// neighbours that the approximate lists also hold: recall@k, k the length
// of each exact list. It returns an error when the counts differ.
func Recall(approx, exact [][]Neighbor) (float64, error) {
	if len(approx) != len(exact) || len(exact) == 0 {
		return 0, fmt.Errorf("codes: recall: %d approximate and %d exact neighbour lists", len(approx), len(exact))
	}
	var sum float64
	for qi, ex := range exact {
		if len(ex) == 0 {
			return 0, fmt.Errorf("codes: recall: query %d has no exact neighbours", qi)
		}
		found := map[int]bool{}
		for _, nb := range approx[qi] {
			found[nb.Index] = true
		}
		hit := 0
		for _, nb := range ex {
			if found[nb.Index] {
				hit++
			}
		}
		sum += float64(hit) / float64(len(ex))
	}
	return sum / float64(len(exact)), nil
}
