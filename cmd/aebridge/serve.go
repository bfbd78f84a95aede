package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/serve"
	"github.com/aebridge/aebridge/trainer"
)

type serveOptions struct {
	IO         *iostreams
	Library    string
	Models     []string // PATH or NAME=PATH
	Addr       string
	MaxBatch   int
	MaxDelay   time.Duration
	MaxBody    int64
	MaxSamples int64
	Timeout    time.Duration
	Grace      time.Duration
	TLSCert    string
	TLSKey     string
	TokenFile  string
	Threads    int
	Backend    string // "ort" or "go"

	// For tests: the context whose end stops the server (else SIGTERM or
	// SIGINT), and a function told the address once it listens.
	ctx     context.Context
	started func(addr string)
}

func newCmdServe(f *factory, runF func(*serveOptions) error) *cobra.Command {
	opts := &serveOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "serve MODEL|DIR|NAME=PATH... [--addr 127.0.0.1:8080]",
		Short: "Serve models over HTTP: the Open Inference Protocol, scores, codes and a page",
		Long: `Serve ONNX models over HTTP, each loaded once into ONNX Runtime and shared by
all requests. A model is a model directory (its model.onnx, with
encoder.onnx and decoder.onnx beside it for encode and decode), or an ONNX
file; it is named after the directory or the file, or NAME=PATH names it.

Endpoints (the Open Inference Protocol, KServe v2, over REST):
  GET  /v2/health/live, /v2/health/ready, /v2, /v2/models, /v2/models/NAME
  POST /v2/models/NAME/infer        JSON tensors, or the binary-tensor extension
  POST /v2/models/NAME/score        {"shape":[N,…],"data":[…]} or a .npy body: scores,
                                    labels against the calibrated threshold
  POST /v2/models/NAME/encode, /decode, /reconstruct
  GET  /metrics                     Prometheus text format
  GET  /                            a page: draw or upload an image, see its
                                    reconstruction and score

Every bad request gets a 4xx with a JSON error naming the field. One JSON
log record a request goes to stderr. SIGTERM or SIGINT stops accepting
connections and lets requests in flight finish (at most --grace).

--max-batch N gathers concurrent requests to a model into one ONNX Runtime
call of at most N samples, waiting at most --max-delay after the first.
--token-file FILE (or $AEBRIDGE_SERVE_TOKEN) makes every request but the
health checks and the page carry "Authorization: Bearer <token>".

--backend go runs the models in pure Go (the ONNX file read into a graph
and run by the graph's executor; no ONNX Runtime library needed) instead
of ONNX Runtime. A model directory then encodes and decodes with its
encoder.onnx and decoder.onnx; without them /encode and /decode answer 422.`,
		Example: `  aebridge serve out/ --addr 127.0.0.1:8080
  aebridge serve ae=out/ pt=mlp_ae.onnx --max-batch 64 --max-delay 2ms
  curl -s localhost:8080/v2/models/ae/score -d '{"shape":[1,784],"data":[…]}'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Models = args
			opts.Library = f.Library
			if opts.MaxBatch < 0 || opts.MaxDelay < 0 || opts.MaxBody < 0 || opts.MaxSamples < 0 || opts.Timeout < 0 || opts.Grace < 0 || opts.Threads < 0 {
				return &flagError{errors.New("--max-batch, --max-delay, --max-body, --max-samples, --timeout, --grace and --threads must not be negative")}
			}
			if !slices.Contains(serve.Backends, opts.Backend) {
				return &flagError{fmt.Errorf("--backend %q: want ort or go", opts.Backend)}
			}
			if opts.Backend != "ort" && cmd.Flags().Changed("threads") {
				return &flagError{errors.New("--threads applies to --backend ort")}
			}
			if (opts.TLSCert == "") != (opts.TLSKey == "") {
				return &flagError{errors.New("give both --tls-cert and --tls-key, or neither")}
			}
			if _, _, err := net.SplitHostPort(opts.Addr); err != nil {
				return &flagError{fmt.Errorf("--addr %q: want HOST:PORT", opts.Addr)}
			}
			if runF != nil {
				return runF(opts)
			}
			return serveRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Addr, "addr", "127.0.0.1:8080", "listen on `HOST:PORT`")
	fl.IntVar(&opts.MaxBatch, "max-batch", 0, "gather concurrent requests into ONNX Runtime calls of at most `N` samples (0: no batching)")
	fl.DurationVar(&opts.MaxDelay, "max-delay", 2*time.Millisecond, "wait at most `D` for a batch to fill")
	fl.Int64Var(&opts.MaxBody, "max-body", 64<<20, "refuse request bodies larger than `BYTES` (413)")
	fl.Int64Var(&opts.MaxSamples, "max-samples", 65536, "refuse requests of more than `N` samples")
	fl.DurationVar(&opts.Timeout, "timeout", 30*time.Second, "give up on a request after `D` (503)")
	fl.DurationVar(&opts.Grace, "grace", 30*time.Second, "on SIGTERM, let requests in flight finish for at most `D`")
	fl.StringVar(&opts.TLSCert, "tls-cert", "", "serve HTTPS with the certificate `FILE` (PEM)")
	fl.StringVar(&opts.TLSKey, "tls-key", "", "and its private key `FILE` (PEM)")
	fl.StringVar(&opts.TokenFile, "token-file", "", "require the bearer token held in `FILE`")
	fl.IntVar(&opts.Threads, "threads", 0, "ONNX Runtime intra-op threads per model (0: one per core)")
	fl.StringVar(&opts.Backend, "backend", "ort", "run the models with `ort` (ONNX Runtime) or go (the pure-Go graph backend)")
	return cmd
}

func serveRun(opts *serveOptions) error {
	token := os.Getenv("AEBRIDGE_SERVE_TOKEN")
	if opts.TokenFile != "" {
		b, err := readSmall(opts.TokenFile)
		if err != nil {
			return fmt.Errorf("--token-file: %w", err)
		}
		token = strings.TrimSpace(string(b))
		if token == "" {
			return fmt.Errorf("--token-file %s: empty", opts.TokenFile)
		}
	}
	var models []*serve.Model
	closeAll := func() {
		for _, m := range models {
			m.Close()
		}
	}
	for _, spec := range opts.Models {
		var m *serve.Model
		var err error
		if opts.Backend == "go" {
			m, err = serve.LoadGo(spec)
		} else {
			m, err = serve.Load(spec, runtime.WithLibrary(opts.Library), runtime.WithThreads(opts.Threads))
		}
		if err != nil {
			closeAll()
			return err
		}
		models = append(models, m)
	}
	log := slog.New(slog.NewJSONHandler(opts.IO.ErrOut, nil))
	srv, err := serve.New(models, serve.Options{
		MaxBatch: opts.MaxBatch, MaxDelay: opts.MaxDelay, MaxBodyBytes: opts.MaxBody, MaxSamples: opts.MaxSamples,
		Timeout: opts.Timeout, Token: token, Logger: log, Version: trainer.Version,
	})
	if err != nil {
		closeAll()
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return err
	}
	hs := srv.HTTPServer(opts.Addr)
	hs.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	scheme := "http"
	if opts.TLSCert != "" {
		scheme = "https"
	}
	for _, m := range models {
		fmt.Fprintf(opts.IO.Out, "model %s: %s (backend %s)\n", m.Name, m.Path, m.Backend())
	}
	fmt.Fprintf(opts.IO.Out, "serving %d models on %s://%s\n", len(models), scheme, ln.Addr())
	ctx := opts.ctx
	if ctx == nil {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
	}
	errc := make(chan error, 1)
	go func() {
		if opts.TLSCert != "" {
			errc <- hs.ServeTLS(ln, opts.TLSCert, opts.TLSKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	if opts.started != nil {
		opts.started(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(opts.IO.Out, "shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), opts.Grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(opts.IO.Out, "stopped")
	return nil
}
