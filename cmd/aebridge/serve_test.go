package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/trainer"
)

func TestNewCmdServe(t *testing.T) {
	def := serveOptions{Addr: "127.0.0.1:8080", MaxDelay: 2 * time.Millisecond, MaxBody: 64 << 20, MaxSamples: 65536, Timeout: 30 * time.Second, Grace: 30 * time.Second, Backend: "ort"}
	with := func(f func(o *serveOptions)) serveOptions {
		o := def
		f(&o)
		return o
	}
	tests := []struct {
		name    string
		args    []string
		want    serveOptions
		wantErr string
	}{
		{name: "defaults", args: []string{"out/"}, want: with(func(o *serveOptions) { o.Models = []string{"out/"} })},
		{name: "everything", args: []string{"a=out/", "m.onnx", "--addr", ":9000", "--max-batch", "64", "--max-delay", "5ms", "--max-body", "1024",
			"--max-samples", "10", "--timeout", "1s", "--grace", "2s", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--token-file", "tok", "--threads", "2"},
			want: serveOptions{Models: []string{"a=out/", "m.onnx"}, Addr: ":9000", MaxBatch: 64, MaxDelay: 5 * time.Millisecond, MaxBody: 1024, MaxSamples: 10,
				Timeout: time.Second, Grace: 2 * time.Second, TLSCert: "c.pem", TLSKey: "k.pem", TokenFile: "tok", Threads: 2, Backend: "ort"}},
		{name: "go backend", args: []string{"out/", "--backend", "go"}, want: with(func(o *serveOptions) { o.Models = []string{"out/"}; o.Backend = "go" })},
		{name: "unknown backend", args: []string{"out/", "--backend", "onnx-go"}, wantErr: `--backend "onnx-go": want ort or go`},
		{name: "threads with go", args: []string{"out/", "--backend", "go", "--threads", "2"}, wantErr: "--threads applies to --backend ort"},
		{name: "no model", args: nil, wantErr: "requires at least 1 arg(s), only received 0"},
		{name: "cert without key", args: []string{"out/", "--tls-cert", "c.pem"}, wantErr: "give both --tls-cert and --tls-key, or neither"},
		{name: "negative batch", args: []string{"out/", "--max-batch", "-1"}, wantErr: "must not be negative"},
		{name: "bad addr", args: []string{"out/", "--addr", "8080"}, wantErr: `--addr "8080": want HOST:PORT`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseArgs(t, newCmdServe, tt.args, tt.wantErr)
			if got == nil {
				return
			}
			got.IO = nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

// startServe runs serveRun in the background until the test ends (or
// stop is called) and returns the base URL and the function that stops
// it and returns serveRun's error and its stdout.
func startServe(t *testing.T, opts serveOptions) (string, func() (error, string)) {
	t.Helper()
	f, out, _ := testFactory()
	f.IO.ErrOut = io.Discard
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	opts.IO, opts.ctx, opts.Addr = f.IO, ctx, "127.0.0.1:0"
	opts.started = func(a string) { addr <- a }
	if opts.MaxDelay == 0 {
		opts.MaxDelay = 2 * time.Millisecond
	}
	if opts.Grace == 0 {
		opts.Grace = 10 * time.Second
	}
	done := make(chan error, 1)
	go func() { done <- serveRun(&opts) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	stopped := false
	stop := func() (error, string) {
		if stopped {
			return nil, out.String()
		}
		stopped = true
		cancel()
		return <-done, out.String()
	}
	t.Cleanup(func() { stop() })
	return base, stop
}

func postJSON(t *testing.T, url string, body []byte, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func floatList(v []float32) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(float64(x), 'g', -1, 32)
	}
	return "[" + strings.Join(s, ",") + "]"
}

// TestServeRunMatchesRunAndScore serves a calibrated model directory and
// checks that /infer gives what aebridge run writes and /score what
// aebridge score writes (scores and labels), bit for bit, with dynamic
// batching off and on, behind a bearer token.
func TestServeRunMatchesRunAndScore(t *testing.T) {
	const n, d = 6, 8
	fx := newScoreFixture(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: d, Hidden: []int{6}, Latent: 2}), n, d)
	calibrate(t, calibrateOptions{Dir: fx.dir, Input: fx.x, Metric: "l2", Contamination: 0.3})
	run, _ := runOutput(t, filepath.Join(fx.dir, "model.onnx"), false, fx.x)
	f, _, _ := testFactory()
	scoresPath := filepath.Join(t.TempDir(), "scores.npy")
	if err := scoreRun(&scoreOptions{IO: f.IO, Model: fx.dir, Input: fx.x, Output: scoresPath, Class: -1}); err != nil {
		t.Fatal(err)
	}
	scored := readNPY(t, scoresPath) // (n, 2): score, label
	codesPath := filepath.Join(t.TempDir(), "codes.npy")
	if err := encodeRun(&encodeOptions{IO: f.IO, Model: fx.dir, Input: fx.x, Output: codesPath, Class: -1}); err != nil {
		t.Fatal(err)
	}
	codes := readNPY(t, codesPath)
	decodedPath := filepath.Join(t.TempDir(), "decoded.npy")
	if err := decodeRun(&decodeOptions{IO: f.IO, Model: fx.dir, Input: codesPath, Output: decodedPath, Class: -1}); err != nil {
		t.Fatal(err)
	}
	decoded := readNPY(t, decodedPath)
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, batch := range []int{0, 8} {
		t.Run(fmt.Sprintf("max-batch=%d", batch), func(t *testing.T) {
			base, stop := startServe(t, serveOptions{Models: []string{"ae=" + fx.dir}, MaxBatch: batch, TokenFile: token, MaxBody: 1 << 20, MaxSamples: 100, Timeout: 10 * time.Second})
			body := fmt.Sprintf(`{"inputs":[{"name":"x","shape":[%d,%d],"datatype":"FP32","data":%s}]}`, n, d, floatList(fx.xs))
			code, b := postJSON(t, base+"/v2/models/ae/infer", []byte(body), "tok")
			var inf struct {
				Outputs []struct {
					Shape []int64
					Data  []float32
				}
			}
			if err := json.Unmarshal(b, &inf); code != 200 || err != nil || len(inf.Outputs) != 1 {
				t.Fatalf("infer: got %d %s", code, b)
			}
			if !sameBits(inf.Outputs[0].Data, run.Data) {
				t.Errorf("infer: got %v, want aebridge run's %v", inf.Outputs[0].Data, run.Data)
			}
			code, b = postJSON(t, base+"/v2/models/ae/score", []byte(fmt.Sprintf(`{"shape":[%d,%d],"data":%s}`, n, d, floatList(fx.xs))), "tok")
			var sc struct {
				Metric          string
				Scores          []float32
				Labels          []int
				ThresholdSource string `json:"threshold_source"`
			}
			if err := json.Unmarshal(b, &sc); code != 200 || err != nil {
				t.Fatalf("score: got %d %s", code, b)
			}
			var wantScores []float32
			var wantLabels []int
			for i := 0; i < n; i++ {
				wantScores = append(wantScores, scored.Data[2*i])
				wantLabels = append(wantLabels, int(scored.Data[2*i+1]))
			}
			if sc.Metric != "l2" || sc.ThresholdSource != "calibration" || !sameBits(sc.Scores, wantScores) || !reflect.DeepEqual(sc.Labels, wantLabels) {
				t.Errorf("score: got %s %v %v (%s), want l2 %v %v (calibration), as aebridge score writes", sc.Metric, sc.Scores, sc.Labels, sc.ThresholdSource, wantScores, wantLabels)
			}
			// encode and decode give what aebridge encode and decode write.
			code, b = postJSON(t, base+"/v2/models/ae/encode", []byte(fmt.Sprintf(`{"shape":[%d,%d],"data":%s}`, n, d, floatList(fx.xs))), "tok")
			var enc struct {
				Shape []int64
				Data  []float32
			}
			if err := json.Unmarshal(b, &enc); code != 200 || err != nil {
				t.Fatalf("encode: got %d %s", code, b)
			}
			if !reflect.DeepEqual(enc.Shape, []int64{n, 2}) || !sameBits(enc.Data, codes.Data) {
				t.Errorf("encode: got %v %v, want aebridge encode's %v %v", enc.Shape, enc.Data, codes.Shape, codes.Data)
			}
			code, b = postJSON(t, base+"/v2/models/ae/decode", []byte(fmt.Sprintf(`{"shape":[%d,2],"data":%s}`, n, floatList(codes.Data))), "tok")
			var dec struct {
				Shape []int64
				Data  []float32
			}
			if err := json.Unmarshal(b, &dec); code != 200 || err != nil {
				t.Fatalf("decode: got %d %s", code, b)
			}
			if !reflect.DeepEqual(dec.Shape, []int64{n, d}) || !sameBits(dec.Data, decoded.Data) {
				t.Errorf("decode: got %v, want aebridge decode's %v", dec.Data, decoded.Data)
			}
			if code, b := postJSON(t, base+"/v2/models/ae/score", []byte(`{}`), ""); code != 401 {
				t.Errorf("without the token: got %d %s, want 401", code, b)
			}
			err, out := stop()
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"model ae: " + filepath.Join(fx.dir, "model.onnx"), "serving 1 models on http://127.0.0.1:", "stopped"} {
				if !strings.Contains(out, want) {
					t.Errorf("got stdout %q, want it to contain %q", out, want)
				}
			}
		})
	}
}

// TestServeRunFinishesRequestsOnShutdown stops the server while a request
// waits in a batch (max-delay 500ms): the request must still get its
// answer, and serveRun return without error.
func TestServeRunFinishesRequestsOnShutdown(t *testing.T) {
	const d = 8
	fx := newScoreFixture(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: d, Hidden: []int{6}, Latent: 2}), 2, d)
	base, stop := startServe(t, serveOptions{Models: []string{"ae=" + fx.dir}, MaxBatch: 64, MaxDelay: 500 * time.Millisecond, MaxBody: 1 << 20, MaxSamples: 100, Timeout: 10 * time.Second})
	type result struct {
		code int
		body []byte
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Post(base+"/v2/models/ae/reconstruct", "application/json", strings.NewReader(fmt.Sprintf(`{"shape":[1,%d],"data":%s}`, d, floatList(fx.xs[:d]))))
		if err != nil {
			res <- result{0, []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		res <- result{resp.StatusCode, b}
	}()
	time.Sleep(150 * time.Millisecond) // the request is in the batch, waiting
	start := time.Now()
	err, out := stop()
	if err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r.code != 200 || !strings.Contains(string(r.body), `"shape":[1,8]`) {
		t.Errorf("in-flight request: got %d %s, want 200 with the reconstruction", r.code, r.body)
	}
	if !strings.Contains(out, "shutting down: finishing requests in flight") || time.Since(start) > 5*time.Second {
		t.Errorf("got stdout %q after %v", out, time.Since(start))
	}
	if _, err := http.Get(base + "/v2/health/live"); err == nil {
		t.Errorf("the server still answers after shutdown")
	}
}

// TestServeRunTLS serves HTTPS with a self-signed certificate made in the
// test and checks a client that trusts it gets an answer.
func TestServeRunTLS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	fx := newScoreFixture(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{6}, Latent: 2}), 2, 8)
	base, stop := startServe(t, serveOptions{Models: []string{"ae=" + fx.dir}, TLSCert: certPath, TLSKey: keyPath, MaxBody: 1 << 20, MaxSamples: 10, Timeout: 10 * time.Second})
	base = strings.Replace(base, "http://", "https://", 1)
	pool := x509.NewCertPool()
	pool.AddCert(must(x509.ParseCertificate(der)))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(base + "/v2/models/ae")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"name":"ae"`) || resp.TLS == nil {
		t.Errorf("got %d %s over TLS %v, want the metadata over TLS", resp.StatusCode, b, resp.TLS != nil)
	}
	if err, out := stop(); err != nil || !strings.Contains(out, "serving 1 models on https://127.0.0.1:") {
		t.Errorf("got %v, stdout %q; want https in the banner", err, out)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// within reports whether got and want have the same length and differ by
// at most tol everywhere.
func within(got, want []float32, tol float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !(math.Abs(float64(got[i])-float64(want[i])) <= tol) {
			return false
		}
	}
	return true
}

// TestServeRunGoBackend serves a model directory trained here with
// --backend go: /infer gives what aebridge run --backend go writes, bit
// for bit, and ONNX Runtime's output within 1e-5; /score the scores of
// the go reconstruction (runtime.Scores), within 1e-5 of aebridge score's;
// /encode and /decode run encoder.onnx and decoder.onnx and agree with
// aebridge encode and decode within 1e-5. A directory holding only
// model.onnx answers encode and decode with 422 naming the missing files.
func TestServeRunGoBackend(t *testing.T) {
	const n, d = 6, 8
	fx := newScoreFixture(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: d, Hidden: []int{6}, Latent: 2}), n, d)
	calibrate(t, calibrateOptions{Dir: fx.dir, Input: fx.x, Metric: "l2", Contamination: 0.3})
	ort, _ := runOutput(t, filepath.Join(fx.dir, "model.onnx"), false, fx.x)
	f, _, _ := testFactory()
	goRun := filepath.Join(t.TempDir(), "go.npy")
	if err := runRun(&runOptions{IO: f.IO, Model: filepath.Join(fx.dir, "model.onnx"), Inputs: []string{fx.x}, Output: goRun, Backend: "go"}); err != nil {
		t.Fatal(err)
	}
	gorun := readNPY(t, goRun)
	scoresPath := filepath.Join(t.TempDir(), "scores.npy")
	if err := scoreRun(&scoreOptions{IO: f.IO, Model: fx.dir, Input: fx.x, Output: scoresPath, Class: -1}); err != nil {
		t.Fatal(err)
	}
	scored := readNPY(t, scoresPath) // (n, 2): score, label
	codesPath := filepath.Join(t.TempDir(), "codes.npy")
	if err := encodeRun(&encodeOptions{IO: f.IO, Model: fx.dir, Input: fx.x, Output: codesPath, Class: -1}); err != nil {
		t.Fatal(err)
	}
	codes := readNPY(t, codesPath)
	decodedPath := filepath.Join(t.TempDir(), "decoded.npy")
	if err := decodeRun(&decodeOptions{IO: f.IO, Model: fx.dir, Input: codesPath, Output: decodedPath, Class: -1}); err != nil {
		t.Fatal(err)
	}
	decoded := readNPY(t, decodedPath)
	// A directory with model.onnx alone.
	bare := filepath.Join(t.TempDir(), "bare")
	if err := os.Mkdir(bare, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bare, "model.onnx"), must(os.ReadFile(filepath.Join(fx.dir, "model.onnx"))), 0o644); err != nil {
		t.Fatal(err)
	}
	samples := []byte(fmt.Sprintf(`{"shape":[%d,%d],"data":%s}`, n, d, floatList(fx.xs)))
	for _, batch := range []int{0, 8} {
		t.Run(fmt.Sprintf("max-batch=%d", batch), func(t *testing.T) {
			base, stop := startServe(t, serveOptions{Models: []string{"ae=" + fx.dir, "bare=" + bare}, Backend: "go", MaxBatch: batch, MaxBody: 1 << 20, MaxSamples: 100, Timeout: 10 * time.Second})
			body := fmt.Sprintf(`{"inputs":[{"name":"x","shape":[%d,%d],"datatype":"FP32","data":%s}]}`, n, d, floatList(fx.xs))
			code, b := postJSON(t, base+"/v2/models/ae/infer", []byte(body), "")
			var inf struct {
				Outputs []struct {
					Shape []int64
					Data  []float32
				}
			}
			if err := json.Unmarshal(b, &inf); code != 200 || err != nil || len(inf.Outputs) != 1 {
				t.Fatalf("infer: got %d %s", code, b)
			}
			if !sameBits(inf.Outputs[0].Data, gorun.Data) {
				t.Errorf("infer: got %v, want aebridge run --backend go's %v", inf.Outputs[0].Data, gorun.Data)
			}
			if !within(inf.Outputs[0].Data, ort.Data, 1e-5) {
				t.Errorf("infer: got %v, want ONNX Runtime's %v within 1e-5", inf.Outputs[0].Data, ort.Data)
			}
			code, b = postJSON(t, base+"/v2/models/ae/score", samples, "")
			var sc struct {
				Metric          string
				Scores          []float32
				Labels          []int
				ThresholdSource string `json:"threshold_source"`
			}
			if err := json.Unmarshal(b, &sc); code != 200 || err != nil {
				t.Fatalf("score: got %d %s", code, b)
			}
			want, err := runtime.Scores(runtime.Tensor{Shape: []int64{n, d}, Data: fx.xs}, runtime.Tensor{Shape: []int64{n, d}, Data: gorun.Data}, runtime.L2)
			if err != nil {
				t.Fatal(err)
			}
			var ortScores []float32
			for i := 0; i < n; i++ {
				ortScores = append(ortScores, scored.Data[2*i])
			}
			if sc.Metric != "l2" || sc.ThresholdSource != "calibration" || len(sc.Labels) != n || !sameBits(sc.Scores, want) {
				t.Errorf("score: got %s %v %v (%s), want l2 %v (calibration) with %d labels", sc.Metric, sc.Scores, sc.Labels, sc.ThresholdSource, want, n)
			}
			if !within(sc.Scores, ortScores, 1e-5) {
				t.Errorf("score: got %v, want aebridge score's %v within 1e-5", sc.Scores, ortScores)
			}
			code, b = postJSON(t, base+"/v2/models/ae/encode", samples, "")
			var enc struct {
				Shape []int64
				Data  []float32
			}
			if err := json.Unmarshal(b, &enc); code != 200 || err != nil {
				t.Fatalf("encode: got %d %s", code, b)
			}
			if !reflect.DeepEqual(enc.Shape, []int64{n, 2}) || !within(enc.Data, codes.Data, 1e-5) {
				t.Errorf("encode: got %v %v, want aebridge encode's %v %v within 1e-5", enc.Shape, enc.Data, codes.Shape, codes.Data)
			}
			code, b = postJSON(t, base+"/v2/models/ae/decode", []byte(fmt.Sprintf(`{"shape":[%d,2],"data":%s}`, n, floatList(codes.Data))), "")
			var dec struct {
				Shape []int64
				Data  []float32
			}
			if err := json.Unmarshal(b, &dec); code != 200 || err != nil {
				t.Fatalf("decode: got %d %s", code, b)
			}
			if !reflect.DeepEqual(dec.Shape, []int64{n, d}) || !within(dec.Data, decoded.Data, 1e-5) {
				t.Errorf("decode: got %v, want aebridge decode's %v within 1e-5", dec.Data, decoded.Data)
			}
			for _, verb := range []string{"encode", "decode"} {
				code, b := postJSON(t, base+"/v2/models/bare/"+verb, samples, "")
				var e struct{ Error, Field string }
				if err := json.Unmarshal(b, &e); err != nil || code != 422 || e.Field != "model" ||
					!strings.Contains(e.Error, "the go backend needs encoder.onnx and decoder.onnx") {
					t.Errorf("%s without encoder.onnx and decoder.onnx: got %d %s, want 422 naming them", verb, code, b)
				}
			}
			if code, b := postJSON(t, base+"/v2/models/bare/score", samples, ""); code != 200 {
				t.Errorf("score of model.onnx alone: got %d %s, want 200", code, b)
			}
			err, out := stop()
			if err != nil {
				t.Fatal(err)
			}
			if want := "model ae: " + filepath.Join(fx.dir, "model.onnx") + " (backend go)"; !strings.Contains(out, want) {
				t.Errorf("got stdout %q, want it to contain %q", out, want)
			}
		})
	}
}

// TestServeRunGoBackendStrayParts checks that the go backend does not take
// an encoder.onnx that is not the full model's own for it: another part,
// or the same configuration with other weights (trained again since).
func TestServeRunGoBackendStrayParts(t *testing.T) {
	const n, d = 2, 8
	fx := newScoreFixture(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: d, Hidden: []int{6}, Latent: 2}), n, d)
	copyDir := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "m")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"model.onnx", "encoder.onnx", "decoder.onnx"} {
			if err := os.WriteFile(filepath.Join(dir, f), must(os.ReadFile(filepath.Join(fx.dir, f))), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	tests := []struct {
		name  string
		stray func(t *testing.T, dir string)
		want  string
	}{
		{name: "a decoder as encoder.onnx", want: "encoder.onnx is not the encoder of", stray: func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "encoder.onnx"), must(os.ReadFile(filepath.Join(dir, "decoder.onnx"))), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "other weights", want: "hold different weights", stray: func(t *testing.T, dir string) {
			path := filepath.Join(dir, "encoder.onnx")
			mp := must(onnxfile.Load(path))
			for _, w := range mp.Graph.Initializer {
				if w.GetDataType() != int32(onnxpb.TensorProto_FLOAT) {
					continue
				}
				v := must(onnxfile.Float32s(w))
				v[0] += 1
				w.FloatData, w.RawData = v, nil
				break
			}
			if err := onnxfile.Save(path, mp); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "weights the full model lacks", want: `holds weights \"stray\" that`, stray: func(t *testing.T, dir string) {
			path := filepath.Join(dir, "encoder.onnx")
			mp := must(onnxfile.Load(path))
			name, dt := "stray", int32(onnxpb.TensorProto_FLOAT)
			mp.Graph.Initializer = append(mp.Graph.Initializer, &onnxpb.TensorProto{Name: &name, DataType: &dt, Dims: []int64{1}, FloatData: []float32{1}})
			if err := onnxfile.Save(path, mp); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t)
			tt.stray(t, dir)
			base, _ := startServe(t, serveOptions{Models: []string{"ae=" + dir}, Backend: "go", MaxBody: 1 << 20, MaxSamples: 100, Timeout: 10 * time.Second})
			code, b := postJSON(t, base+"/v2/models/ae/encode", []byte(fmt.Sprintf(`{"shape":[%d,%d],"data":%s}`, n, d, floatList(fx.xs))), "")
			if code != 422 || !strings.Contains(string(b), tt.want) {
				t.Errorf("got %d %s, want 422 saying %q", code, b, tt.want)
			}
		})
	}
}
