package serve_test

import (
	"context"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/serve"
)

// ExampleNew serves a model directory and a PyTorch export on
// 127.0.0.1:8080, batching concurrent requests, until SIGTERM, when the
// requests in flight finish first.
func ExampleNew() {
	var models []*serve.Model
	for _, spec := range []string{"out/", "pt=mlp_ae.onnx"} {
		m, err := serve.Load(spec, runtime.WithThreads(4))
		if err != nil {
			log.Fatal(err)
		}
		models = append(models, m)
	}
	s, err := serve.New(models, serve.Options{
		MaxBatch: 64, MaxDelay: 2 * time.Millisecond,
		Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	hs := s.HTTPServer("127.0.0.1:8080")
	go hs.ListenAndServe()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	hs.Shutdown(context.Background())
}

// ExampleRequestError shows the JSON error a bad request gets.
func ExampleRequestError() {
	err := &serve.RequestError{Status: 400, Field: "inputs[0].shape", Reason: "dimension 1 is 63; input \"x\" is [batch 64]"}
	log.SetFlags(0)
	log.SetOutput(os.Stdout)
	log.Print(err)
	// Output: serve: inputs[0].shape: dimension 1 is 63; input "x" is [batch 64]
}
