package serve

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aebridge/aebridge/runtime"
)

// clients runs b.N calls of fn from c goroutines at once.
func clients(b *testing.B, c int, fn func() error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := fn(); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
}

// BenchmarkDirect calls runtime.Model.Run on one sample of mlp_ae from 1,
// 8 and 64 goroutines: the floor the service is measured against.
func BenchmarkDirect(b *testing.B) {
	m, err := runtime.Open(fixture("mlp_ae"))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	x := readNPYFile(b, filepath.Join(fixtures, "mlp_ae.in0.npy"))
	one := runtime.Tensor{Shape: []int64{1, 64}, Data: x.Data[:64]}
	for _, c := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("clients=%d", c), func(b *testing.B) {
			clients(b, c, func() error { _, err := m.Run(one); return err })
		})
	}
}

// BenchmarkHTTP posts one-sample infer requests for mlp_ae over loopback
// from 1, 8 and 64 clients, without and with dynamic batching.
func BenchmarkHTTP(b *testing.B) {
	x := readNPYFile(b, filepath.Join(fixtures, "mlp_ae.in0.npy"))
	body := tensorRequest([]string{"x"}, []runtime.Tensor{{Shape: []int64{1, 64}, Data: x.Data[:64]}}, false)
	for _, batch := range []int{0, 64} {
		_, ts := newTestServer(b, Options{MaxBatch: batch, MaxDelay: time.Millisecond}, "mlp_ae")
		url := ts.URL + "/v2/models/mlp_ae/infer"
		for _, c := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("max-batch=%d/clients=%d", batch, c), func(b *testing.B) {
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c}}
				clients(b, c, func() error {
					resp, err := client.Post(url, "application/json", bytes.NewReader(body))
					if err != nil {
						return err
					}
					defer resp.Body.Close()
					got, _ := io.ReadAll(resp.Body)
					if resp.StatusCode != 200 || !strings.Contains(string(got), `"outputs"`) {
						return fmt.Errorf("got %d %s", resp.StatusCode, got)
					}
					return nil
				})
			})
		}
	}
}
