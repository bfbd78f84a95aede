package pipeline

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/aebridge/aebridge/backend"
	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/runtime"
)

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// BenchmarkScore scores 8 shards of 4,096 rows of 64 values with a
// 64-128-16 MLP autoencoder: in one process on the pure-Go backend
// (reading the shards, one graph run per 256 rows, the scores), with the
// pipeline on the direct and prism runners (--batch 256, 4 output shards,
// writing the output), and with aebridge score (ONNX Runtime, one process
// on the shards concatenated, its start included) when ONNX Runtime is
// installed. It reports each one's rows a second and the ratios to the
// single pure-Go process.
func BenchmarkScore(b *testing.B) {
	const d, rows, files = 64, 4096, 8
	dir := b.TempDir()
	model := benchModel(b, dir, d)
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		b.Fatal(err)
	}
	var all []float32
	for k := range files {
		x := make([]float32, rows*d)
		for i := range x {
			x[i] = float32((i*7+k*13)%101) / 100
		}
		if err := npy.WriteFile(filepath.Join(data, "part-"+string(rune('a'+k))+".npy"), []int{rows, d}, x); err != nil {
			b.Fatal(err)
		}
		all = append(all, x...)
	}
	concat := filepath.Join(dir, "all.npy")
	if err := npy.WriteFile(concat, []int{rows * files, d}, all); err != nil {
		b.Fatal(err)
	}
	n := float64(rows * files)
	single := func() {
		g, err := backend.OpenGraph(filepath.Join(model, "model.onnx"))
		if err != nil {
			b.Fatal(err)
		}
		names, _ := filepath.Glob(filepath.Join(data, "*.npy"))
		for _, name := range names {
			a, err := npy.ReadFile(name)
			if err != nil {
				b.Fatal(err)
			}
			for s := 0; s < a.Shape[0]; s += 256 {
				e := min(s+256, a.Shape[0])
				x := runtime.Tensor{Shape: []int64{int64(e - s), d}, Data: a.Data[s*d : e*d]}
				out, err := g.Run([]runtime.Tensor{x})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := runtime.Scores(x, out[g.OutputNames()[0]], runtime.MSE); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	run := func(runner string) func() {
		return func() {
			p, s := beam.NewPipelineWithRoot()
			o := Options{Model: model, Input: filepath.Join(data, "*.npy"), Output: filepath.Join(dir, "out", runner), Batch: 256, Shards: 4, Threshold: 0.1, HasThreshold: true}
			if _, err := Score(context.Background(), s, o, func(string) {}); err != nil {
				b.Fatal(err)
			}
			if _, err := beam.Run(context.Background(), runner, p); err != nil {
				b.Fatal(err)
			}
		}
	}
	cases := []struct {
		name string
		fn   func()
	}{{"single", single}, {"direct", run("direct")}, {"prism", run("prism")}}
	if lib := os.Getenv("ONNXRUNTIME_SHARED_LIBRARY_PATH"); lib != "" {
		if _, err := os.Stat(lib); err == nil {
			ort := filepath.Join(dir, "ort")
			if out, err := exec.Command("go", "build", "-C", "..", "-o", ort, "./cmd/aebridge").CombinedOutput(); err != nil {
				b.Fatalf("go build: %v\n%s", err, out)
			}
			cases = append(cases, struct {
				name string
				fn   func()
			}{"aebridge-score", func() {
				if out, err := exec.Command(ort, "score", model, "--input", concat, "--output", filepath.Join(dir, "ref.csv"), "--threshold", "0.1").CombinedOutput(); err != nil {
					b.Fatalf("aebridge score: %v\n%s", err, out)
				}
			}})
		}
	}
	b.Logf("CPU %s, %d rows of %d values in %d shards", cpuModel(), rows*files, d, files)
	total := make([]time.Duration, len(cases))
	for i := 0; i < b.N; i++ {
		for k, c := range cases {
			start := time.Now()
			c.fn()
			total[k] += time.Since(start)
		}
	}
	for k, c := range cases {
		rate := n * float64(b.N) / total[k].Seconds()
		b.ReportMetric(rate, c.name+"-rows/s")
		if k > 0 {
			b.ReportMetric(total[0].Seconds()/total[k].Seconds(), c.name+"/single")
		}
	}
}

// benchModel writes a 64-128-16 MLP autoencoder's model directory.
func benchModel(b *testing.B, dir string, d int) string {
	b.Helper()
	out := filepath.Join(dir, "model")
	if err := os.Mkdir(out, 0o755); err != nil {
		b.Fatal(err)
	}
	writeMLPModel(b, out, d, []int{128}, 16)
	return out
}
