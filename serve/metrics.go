package serve

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// latencyBuckets are the upper bounds, in seconds, of the request-latency
// histogram's buckets.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// batchBuckets are the upper bounds of the batch-size histogram's buckets,
// in samples.
var batchBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}

type histogram struct {
	bounds []float64
	counts []uint64 // per bucket, not cumulative; one more for +Inf
	sum    float64
	n      uint64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v) // the first bound ≥ v
	h.counts[i]++
	h.sum += v
	h.n++
}

// metrics counts what the service did, for /metrics in Prometheus' text
// exposition format (version 0.0.4), written by hand.
type metrics struct {
	mu       sync.Mutex
	requests map[[3]string]uint64  // model, endpoint, status code
	latency  map[string]*histogram // by endpoint
	batches  map[string]*histogram // samples per ONNX Runtime call, by model
	batchReq map[string]*histogram // requests per ONNX Runtime call, by model
	errors   map[string]uint64     // by kind
}

func newMetrics() *metrics {
	return &metrics{requests: map[[3]string]uint64{}, latency: map[string]*histogram{},
		batches: map[string]*histogram{}, batchReq: map[string]*histogram{}, errors: map[string]uint64{}}
}

func (m *metrics) request(model, endpoint string, code int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[[3]string{model, endpoint, strconv.Itoa(code)}]++
	h, ok := m.latency[endpoint]
	if !ok {
		h = newHistogram(latencyBuckets)
		m.latency[endpoint] = h
	}
	h.observe(d.Seconds())
}

func (m *metrics) batch(model string, samples, requests int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.batches[model]
	if !ok {
		h = newHistogram(batchBuckets)
		m.batches[model] = h
		m.batchReq[model] = newHistogram(batchBuckets)
	}
	h.observe(float64(samples))
	m.batchReq[model].observe(float64(requests))
}

func (m *metrics) error(kind string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.errors[kind]++
}

// write writes every metric in the text format, series sorted by label.
func (m *metrics) write(w io.Writer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	b.WriteString("# HELP aebridge_requests_total HTTP requests by model, endpoint and status code.\n# TYPE aebridge_requests_total counter\n")
	keys := make([][3]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return strings.Join(keys[i][:], "\x00") < strings.Join(keys[j][:], "\x00") })
	for _, k := range keys {
		fmt.Fprintf(&b, "aebridge_requests_total{model=%s,endpoint=%s,code=%s} %d\n", label(k[0]), label(k[1]), label(k[2]), m.requests[k])
	}
	writeHistograms(&b, "aebridge_request_duration_seconds", "Request latency in seconds, by endpoint.", "endpoint", m.latency)
	writeHistograms(&b, "aebridge_batch_samples", "Samples per ONNX Runtime call, by model.", "model", m.batches)
	writeHistograms(&b, "aebridge_batch_requests", "Requests joined into one ONNX Runtime call, by model.", "model", m.batchReq)
	b.WriteString("# HELP aebridge_errors_total Refused or failed requests by kind.\n# TYPE aebridge_errors_total counter\n")
	kinds := make([]string, 0, len(m.errors))
	for k := range m.errors {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&b, "aebridge_errors_total{kind=%s} %d\n", label(k), m.errors[k])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeHistograms(b *strings.Builder, name, help, key string, hs map[string]*histogram) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	names := make([]string, 0, len(hs))
	for k := range hs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		h := hs[k]
		var cum uint64
		for i, c := range h.counts {
			cum += c
			le := "+Inf"
			if i < len(h.bounds) {
				le = strconv.FormatFloat(h.bounds[i], 'g', -1, 64)
			}
			fmt.Fprintf(b, "%s_bucket{%s=%s,le=%q} %d\n", name, key, label(k), le, cum)
		}
		fmt.Fprintf(b, "%s_sum{%s=%s} %s\n", name, key, label(k), formatValue(h.sum))
		fmt.Fprintf(b, "%s_count{%s=%s} %d\n", name, key, label(k), h.n)
	}
}

// label quotes a label value as the text format wants: backslash, double
// quote and newline escaped.
func label(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
