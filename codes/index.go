package codes

import (
	"fmt"
	"math"
	"runtime"
	"sync"
)

// Metric is a distance between codes.
type Metric string

const (
	// L2 is the Euclidean distance ‖a − b‖.
	L2 Metric = "l2"
	// Cosine is the cosine distance 1 − a·b / (‖a‖‖b‖); a zero vector is
	// at distance 1 from everything.
	Cosine Metric = "cosine"
)

// ParseMetric returns the metric named s: "l2" or "cosine".
func ParseMetric(s string) (Metric, error) {
	switch m := Metric(s); m {
	case L2, Cosine:
		return m, nil
	}
	return "", fmt.Errorf("codes: unknown metric %q (want l2 or cosine)", s)
}

// Neighbor is one search result: the row of the index and its distance to
// the query.
type Neighbor struct {
	Index    int
	Distance float64
}

// Index holds n rows of D features for exact nearest-neighbour search:
// every query is compared with every row.
type Index struct {
	D      int
	Metric Metric
	rows   []float32
	norms  []float64 // ‖row‖, for cosine
}

// NewIndex indexes n rows x of d features (x is kept, not copied).
func NewIndex(x []float32, d int, metric Metric) (*Index, error) {
	n, err := checkRows("index", x, d)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("codes: index: no rows")
	}
	if _, err := ParseMetric(string(metric)); err != nil {
		return nil, err
	}
	ix := &Index{D: d, Metric: metric, rows: x, norms: make([]float64, n)}
	for i := range ix.norms {
		ix.norms[i] = norm(x[i*d : (i+1)*d])
	}
	return ix, nil
}

// Len is the number of rows.
func (ix *Index) Len() int { return len(ix.norms) }

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// distance returns the metric's distance between a vector q (of norm qn),
// a query or a row, and row i.
func (ix *Index) distance(q []float32, qn float64, i int) float64 {
	row := ix.rows[i*ix.D : (i+1)*ix.D]
	if ix.Metric == Cosine {
		if qn == 0 || ix.norms[i] == 0 {
			return 1
		}
		var dot float64
		for j, v := range q {
			dot += float64(v) * float64(row[j])
		}
		return 1 - dot/(qn*ix.norms[i])
	}
	var s float64
	for j, v := range q {
		e := float64(v) - float64(row[j])
		s += e * e
	}
	return math.Sqrt(s)
}

// Search returns, for each of the m rows of queries (D features each), its
// k nearest rows of the index (all if k ≥ Len), nearest first; equal
// distances are in row order. skip, if not nil, gives for each query a row
// to leave out (−1 for none): the query itself, when the queries are the
// indexed rows.
func (ix *Index) Search(queries []float32, k int, skip []int) ([][]Neighbor, error) {
	m, err := checkRows("search", queries, ix.D)
	if err != nil {
		return nil, err
	}
	if k < 1 {
		return nil, fmt.Errorf("codes: search: k = %d; want at least 1", k)
	}
	if skip != nil && len(skip) != m {
		return nil, fmt.Errorf("codes: search: %d queries but %d rows to skip", m, len(skip))
	}
	out := make([][]Neighbor, m)
	workers := min(runtime.GOMAXPROCS(0), m)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for qi := w; qi < m; qi += workers {
				s := -1
				if skip != nil {
					s = skip[qi]
				}
				out[qi] = ix.nearest(queries[qi*ix.D:(qi+1)*ix.D], k, s)
			}
		}()
	}
	wg.Wait()
	return out, nil
}

// less orders neighbours by distance, then row.
func less(a, b Neighbor) bool {
	return a.Distance < b.Distance || a.Distance == b.Distance && a.Index < b.Index
}

// nearest returns the k nearest rows to q but row skip, nearest first,
// keeping the best k in a sorted list as it scans.
func (ix *Index) nearest(q []float32, k, skip int) []Neighbor {
	qn := norm(q)
	best := make([]Neighbor, 0, min(k, ix.Len()))
	for i := 0; i < ix.Len(); i++ {
		if i == skip {
			continue
		}
		best = insert(best, Neighbor{i, ix.distance(q, qn, i)}, k)
	}
	return best
}

// Vote returns the class the neighbours' labels elect: the most frequent,
// and on a tie the class of the nearest neighbour among the tied ones. It
// panics if neighbors is empty.
func Vote(neighbors []Neighbor, labels []int) int {
	if len(neighbors) == 0 {
		panic("codes: Vote of no neighbours")
	}
	count := map[int]int{}
	best := 0
	for _, nb := range neighbors {
		count[labels[nb.Index]]++
		best = max(best, count[labels[nb.Index]])
	}
	for _, nb := range neighbors { // nearest first
		if count[labels[nb.Index]] == best {
			return labels[nb.Index]
		}
	}
	panic("unreachable")
}

// KNN classifies each query by the Vote of its k nearest rows of the
// index, whose rows carry labels.
func KNN(ix *Index, labels []int, queries []float32, k int) ([]int, error) {
	if len(labels) != ix.Len() {
		return nil, fmt.Errorf("codes: k-NN: %d indexed rows but %d labels", ix.Len(), len(labels))
	}
	nbs, err := ix.Search(queries, k, nil)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(nbs))
	for i, nb := range nbs {
		out[i] = Vote(nb, labels)
	}
	return out, nil
}

// PrecisionAtK returns the mean over queries of the fraction of their
// neighbours whose label is the query's: precision@k for k the length of
// each neighbour list. It returns an error when the counts do not pair up
// or a query has no neighbours.
func PrecisionAtK(neighbors [][]Neighbor, indexLabels, queryLabels []int) (float64, error) {
	if len(neighbors) != len(queryLabels) || len(neighbors) == 0 {
		return 0, fmt.Errorf("codes: precision@k: %d neighbour lists for %d query labels", len(neighbors), len(queryLabels))
	}
	var sum float64
	for qi, nbs := range neighbors {
		if len(nbs) == 0 {
			return 0, fmt.Errorf("codes: precision@k: query %d has no neighbours", qi)
		}
		hit := 0
		for _, nb := range nbs {
			if nb.Index < 0 || nb.Index >= len(indexLabels) {
				return 0, fmt.Errorf("codes: precision@k: neighbour %d of query %d is row %d of %d labels", qi, nb.Index, nb.Index, len(indexLabels))
			}
			if indexLabels[nb.Index] == queryLabels[qi] {
				hit++
			}
		}
		sum += float64(hit) / float64(len(nbs))
	}
	return sum / float64(len(neighbors)), nil
}
