package serve

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aebridge/aebridge/runtime"
)

// Options configure a Server. The zero value serves without dynamic
// batching, authentication or logs, with the defaults below.
type Options struct {
	// MaxBatch is the most samples gathered from concurrent requests into
	// one ONNX Runtime call; 0 or 1 runs each request on its own.
	MaxBatch int
	// MaxDelay is how long a batch waits for more requests after its
	// first (default 2ms when MaxBatch > 1).
	MaxDelay time.Duration
	// MaxBodyBytes bounds a request body (default 64 MiB); a larger one
	// gets 413.
	MaxBodyBytes int64
	// MaxSamples bounds the batch (first) dimension of a request's tensors
	// (default 65536).
	MaxSamples int64
	// Timeout bounds the time a request waits for its result (default
	// 30s); past it the request gets 503.
	Timeout time.Duration
	// Token, when set, is the bearer token every request but the health
	// checks and the page must carry: "Authorization: Bearer <Token>".
	Token string
	// Logger gets one structured record per request; nil logs nothing.
	Logger *slog.Logger
	// Version is reported by GET /v2.
	Version string
}

// Server serves models over HTTP; see the package documentation for the
// endpoints. Its methods may be called from many goroutines at once.
type Server struct {
	opts    Options
	models  map[string]*served
	order   []string
	mux     *http.ServeMux
	metrics *metrics
	log     *slog.Logger
	closed  atomic.Bool
}

type served struct {
	*Model
	batch *batcher // nil when requests run alone
	code  []int64  // the per-sample shape of its codes, or nil (see codeShape)
}

// New returns a Server for models, which it takes over: Close closes
// them. Names must be distinct.
func New(models []*Model, opts Options) (*Server, error) {
	if opts.MaxBatch < 0 || opts.MaxDelay < 0 || opts.MaxBodyBytes < 0 || opts.MaxSamples < 0 || opts.Timeout < 0 {
		return nil, fmt.Errorf("serve: options must not be negative: %+v", opts)
	}
	if opts.MaxDelay == 0 {
		opts.MaxDelay = 2 * time.Millisecond
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 64 << 20
	}
	if opts.MaxSamples == 0 {
		opts.MaxSamples = 65536
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, models: map[string]*served{}, mux: http.NewServeMux(), metrics: newMetrics(), log: log}
	for _, m := range models {
		if _, dup := s.models[m.Name]; dup {
			return nil, fmt.Errorf("serve: two models named %q (%s and %s); name them with NAME=PATH", m.Name, s.models[m.Name].Path, m.Path)
		}
		sm := &served{Model: m, code: codeShape(m)}
		if opts.MaxBatch > 1 && batchable(m.Info()) {
			name := m.Name
			sm.batch = newBatcher(m.model, opts.MaxBatch, opts.MaxDelay, func(n, r int) { s.metrics.batch(name, n, r) })
		}
		s.models[m.Name] = sm
		s.order = append(s.order, m.Name)
	}
	s.routes()
	return s, nil
}

// Close stops the batchers and closes the models. Requests still running
// get errors; call it after http.Server.Shutdown has let them finish.
func (s *Server) Close() error {
	s.closed.Store(true)
	var errs []error
	for _, name := range s.order {
		m := s.models[name]
		if m.batch != nil {
			m.batch.close()
		}
		errs = append(errs, m.Close())
	}
	return errors.Join(errs...)
}

// HTTPServer returns an http.Server for s on addr, with read, write and
// idle timeouts derived from the request timeout.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.opts.Timeout,
		WriteTimeout:      2*s.opts.Timeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 16,
	}
}

func (s *Server) routes() {
	s.mux.HandleFunc("/v2/health/live", s.get(func(w http.ResponseWriter, r *http.Request) error {
		return writeJSON(w, http.StatusOK, map[string]bool{"live": true})
	}))
	s.mux.HandleFunc("/v2/health/ready", s.get(func(w http.ResponseWriter, r *http.Request) error {
		ready := !s.closed.Load()
		code := http.StatusOK
		if !ready {
			code = http.StatusServiceUnavailable
		}
		return writeJSON(w, code, map[string]bool{"ready": ready})
	}))
	s.mux.HandleFunc("/v2", s.get(s.serverMetadata))
	s.mux.HandleFunc("/v2/models", s.get(s.modelList))
	s.mux.HandleFunc("/v2/models/{name}", s.get(s.modelMetadata))
	s.mux.HandleFunc("/v2/models/{name}/ready", s.get(func(w http.ResponseWriter, r *http.Request) error {
		if _, err := s.model(r); err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{"name": r.PathValue("name"), "ready": !s.closed.Load()})
	}))
	s.mux.HandleFunc("/v2/models/{name}/infer", s.post(s.infer))
	s.mux.HandleFunc("/v2/models/{name}/score", s.post(s.score))
	s.mux.HandleFunc("/v2/models/{name}/reconstruct", s.post(s.verb("reconstruct")))
	s.mux.HandleFunc("/v2/models/{name}/encode", s.post(s.verb("encode")))
	s.mux.HandleFunc("/v2/models/{name}/decode", s.post(s.verb("decode")))
	s.mux.HandleFunc("/metrics", s.get(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		return s.metrics.write(w)
	}))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			servePage(w, r)
			return
		}
		s.fail(w, r, &RequestError{Status: http.StatusNotFound, Field: "path", Reason: fmt.Sprintf("no endpoint %s %s", r.Method, clip([]byte(r.URL.Path)))})
	})
}

// public reports whether path is served without the bearer token: the
// health checks (for probes) and the page.
func public(r *http.Request) bool {
	return r.URL.Path == "/v2/health/live" || r.URL.Path == "/v2/health/ready" || (r.Method == http.MethodGet && r.URL.Path == "/")
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int64
	err   string // the error sent, for the log
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// ServeHTTP serves one request: the bearer token is checked, the handler
// runs with the request timeout, and the request is counted and logged.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			// A panic is our bug; the client still gets a JSON answer
			// and the process goes on serving.
			s.log.Error("panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
			s.metrics.error("panic")
			if sw.code == 0 {
				writeJSON(sw, http.StatusInternalServerError, map[string]string{"error": "serve: internal error"})
			}
		}
		d := time.Since(start)
		model, endpoint := s.routeOf(r)
		s.metrics.request(model, endpoint, sw.code, d)
		attrs := []any{"method", r.Method, "path", r.URL.Path, "status", sw.code, "bytes", sw.bytes,
			"duration_ms", float64(d.Microseconds()) / 1000, "remote", r.RemoteAddr}
		if model != "" {
			attrs = append(attrs, "model", model)
		}
		if sw.err != "" {
			attrs = append(attrs, "error", sw.err)
		}
		s.log.Info("request", attrs...)
	}()
	if s.opts.Token != "" && !public(r) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.Token)) != 1 {
			sw.Header().Set("WWW-Authenticate", `Bearer realm="aebridge"`)
			s.fail(sw, r, &RequestError{Status: http.StatusUnauthorized, Field: "Authorization", Reason: "missing or wrong bearer token"})
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
	defer cancel()
	s.mux.ServeHTTP(sw, r.WithContext(ctx))
}

// routeOf returns the model and the endpoint a request is for, for metrics
// and logs: the endpoint is the route with the model name left out
// ("/v2/models/{name}/infer"), or "other"; the model is "" unless it is
// one served, so that clients cannot add label values at will.
func (s *Server) routeOf(r *http.Request) (model, endpoint string) {
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/v2/models/"); ok {
		name, verb, _ := strings.Cut(rest, "/")
		if _, ok := s.models[name]; !ok {
			name = ""
		}
		if verb == "" {
			return name, "/v2/models/{name}"
		}
		switch verb {
		case "infer", "score", "encode", "decode", "reconstruct", "ready":
			return name, "/v2/models/{name}/" + verb
		}
		return name, "other"
	}
	switch p {
	case "/v2/health/live", "/v2/health/ready", "/v2", "/v2/models", "/metrics", "/":
		return "", p
	}
	return "", "other"
}

type handler func(w http.ResponseWriter, r *http.Request) error

func (s *Server) get(h handler) http.HandlerFunc  { return s.method(http.MethodGet, h) }
func (s *Server) post(h handler) http.HandlerFunc { return s.method(http.MethodPost, h) }

func (s *Server) method(m string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != m && !(m == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", m)
			s.fail(w, r, &RequestError{Status: http.StatusMethodNotAllowed, Field: "method", Reason: fmt.Sprintf("%s: %s takes %s", clip([]byte(r.Method)), r.URL.Path, m)})
			return
		}
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	}
}

// fail answers err as JSON: a RequestError with its status and field, a
// timeout with 503, anything else with 422 (handlers turn the errors of
// model calls into RequestErrors; see modelError).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var re *RequestError
	var ie *runtime.InputError
	switch {
	case errors.As(err, &re):
	case errors.As(err, &ie):
		re = &RequestError{Status: http.StatusBadRequest, Field: "inputs." + ie.Input, Reason: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		re = &RequestError{Status: http.StatusServiceUnavailable, Field: "", Reason: fmt.Sprintf("no result within %v", s.opts.Timeout)}
	case errors.Is(err, context.Canceled):
		re = &RequestError{Status: 499, Field: "", Reason: "the client went away"}
	default:
		re = &RequestError{Status: http.StatusUnprocessableEntity, Field: "", Reason: err.Error()}
	}
	s.metrics.error(errorKind(re.Status))
	if sw, ok := w.(*statusWriter); ok {
		sw.err = re.Error()
	}
	body := map[string]string{"error": re.Error()}
	if re.Field != "" {
		body["field"] = re.Field
	}
	writeJSON(w, re.Status, body)
}

func errorKind(code int) string {
	switch code {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnsupportedMediaType:
		return "media_type"
	case http.StatusUnprocessableEntity:
		return "model"
	case http.StatusServiceUnavailable:
		return "timeout"
	case 499:
		return "canceled"
	}
	return "other"
}

func writeJSON(w http.ResponseWriter, code int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, err = w.Write(append(b, '\n'))
	return err
}

func writeRaw(w http.ResponseWriter, code int, b []byte) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, err := w.Write(b)
	return err
}

// model returns the model the request's path names.
func (s *Server) model(r *http.Request) (*served, error) {
	name := r.PathValue("name")
	m, ok := s.models[name]
	if !ok {
		return nil, &RequestError{Status: http.StatusNotFound, Field: "model", Reason: fmt.Sprintf("no model %q (serving %s)", clip([]byte(name)), strings.Join(s.order, ", "))}
	}
	return m, nil
}

// readBody reads the request body, at most MaxBodyBytes.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	var me *http.MaxBytesError
	switch {
	case errors.As(err, &me):
		return nil, &RequestError{Status: http.StatusRequestEntityTooLarge, Field: "body", Reason: fmt.Sprintf("larger than the %d bytes allowed", me.Limit)}
	case err != nil:
		return nil, badRequest("body", "%v", err)
	}
	return b, nil
}

func (s *Server) serverMetadata(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{
		"name": "aebridge", "version": s.opts.Version,
		"extensions": []string{"binary_tensor_data", "aebridge_autoencoder"},
	})
}

func (s *Server) modelList(w http.ResponseWriter, r *http.Request) error {
	list := make([]map[string]any, 0, len(s.order))
	for _, name := range s.order {
		list = append(list, s.metadata(s.models[name]))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"models": list})
}

func (s *Server) modelMetadata(w http.ResponseWriter, r *http.Request) error {
	m, err := s.model(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.metadata(m))
}

// dtypes maps runtime's element types to the protocol's datatypes.
var dtypes = map[string]string{
	"float32": "FP32", "float64": "FP64", "float16": "FP16", "bfloat16": "BF16", "int8": "INT8", "int16": "INT16",
	"int32": "INT32", "int64": "INT64", "uint8": "UINT8", "uint16": "UINT16", "uint32": "UINT32", "uint64": "UINT64",
	"bool": "BOOL", "string": "BYTES",
}

func ioMetadata(ios []runtime.IO) []map[string]any {
	out := make([]map[string]any, len(ios))
	for i, io := range ios {
		dt, ok := dtypes[io.Type]
		if !ok {
			dt = strings.ToUpper(io.Type)
		}
		shape := make([]int64, len(io.Shape))
		for j, d := range io.Shape {
			shape[j] = d.Size
		}
		out[i] = map[string]any{"name": io.Name, "datatype": dt, "shape": shape}
	}
	return out
}

// metadata is the protocol's model metadata, with an "aebridge" object
// saying what the autoencoder verbs can do with the model.
func (s *Server) metadata(m *served) map[string]any {
	info := m.Info()
	ae := map[string]any{
		"part": info.Part(), "classes": info.Classes(), "batching": m.batch != nil,
	}
	if m.Calibration != nil {
		ae["calibration"] = m.Calibration
	}
	if m.Scaling.Divisor > 0 {
		ae["uint8_divisor"] = m.Scaling.Divisor
	}
	if m.Scaling.Range != nil {
		ae["input_range"] = m.Scaling.Range
	}
	if m.code != nil {
		ae["code_shape"] = m.code
	}
	platform := "onnxruntime_onnx"
	if m.Backend() == "go" {
		platform = "aebridge_go_onnx"
	}
	ae["backend"] = m.Backend()
	return map[string]any{
		"name": m.Name, "versions": []string{"1"}, "platform": platform,
		"inputs": ioMetadata(info.Inputs), "outputs": ioMetadata(info.Outputs), "aebridge": ae,
	}
}

// infer serves the protocol's inference request, JSON or with the
// binary-tensor extension (the header Inference-Header-Content-Length
// giving the JSON's length, the tensors' bytes after it).
func (s *Server) infer(w http.ResponseWriter, r *http.Request) error {
	m, err := s.model(r)
	if err != nil {
		return err
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	header, bin := body, []byte(nil)
	if h := r.Header.Get("Inference-Header-Content-Length"); h != "" {
		n, err := strconv.ParseInt(h, 10, 64)
		if err != nil || n < 0 || n > int64(len(body)) {
			return badRequest("Inference-Header-Content-Length", "%q: want the JSON's length, 0 to %d bytes", clip([]byte(h)), len(body))
		}
		header, bin = body[:n], body[n:]
	}
	var req inferRequest
	if err := decodeJSON(header, &req, "body"); err != nil {
		return err
	}
	info := m.Info()
	if len(req.Inputs) == 0 {
		return badRequest("inputs", "missing: the model takes %s", ioList(info.Inputs))
	}
	byName := map[string]runtime.Tensor{}
	maxElems := max(s.opts.MaxBodyBytes, 1)
	for i, t := range req.Inputs {
		field := fmt.Sprintf("inputs[%d]", i)
		k := slices.IndexFunc(info.Inputs, func(io runtime.IO) bool { return io.Name == t.Name })
		if k < 0 {
			return badRequest(field+".name", "%q: the model has no such input; its inputs are %s", clip([]byte(t.Name)), ioList(info.Inputs))
		}
		if _, dup := byName[t.Name]; dup {
			return badRequest(field+".name", "input %q given twice", t.Name)
		}
		if len(t.Shape) > 0 && t.Shape[0] > s.opts.MaxSamples {
			return badRequest(field+".shape", "%d samples, more than the %d allowed in one request", t.Shape[0], s.opts.MaxSamples)
		}
		x, err := readTensor(t, &bin, maxElems, field)
		if err != nil {
			return err
		}
		if err := s.checkInput(info.Inputs[k], x, field); err != nil {
			return err
		}
		byName[t.Name] = x
	}
	if len(bin) > 0 {
		return badRequest("body", "%d bytes after the tensors the binary_data_size parameters account for", len(bin))
	}
	inputs := make([]runtime.Tensor, len(info.Inputs))
	for i, io := range info.Inputs {
		t, ok := byName[io.Name]
		if !ok {
			return badRequest("inputs", "no input %q; the model takes %s", io.Name, ioList(info.Inputs))
		}
		inputs[i] = t
	}
	// Outputs asked for, in the order asked, and how each is sent.
	binaryAll, err := boolParam(req.Parameters, "binary_data_output", "parameters")
	if err != nil {
		return err
	}
	type want struct {
		k      int
		binary bool
	}
	var wants []want
	for i, o := range req.Outputs {
		field := fmt.Sprintf("outputs[%d]", i)
		k := slices.IndexFunc(info.Outputs, func(io runtime.IO) bool { return io.Name == o.Name })
		if k < 0 {
			return badRequest(field+".name", "%q: the model has no such output; its outputs are %s", clip([]byte(o.Name)), ioList(info.Outputs))
		}
		b, err := boolParam(o.Parameters, "binary_data", field)
		if err != nil {
			return err
		}
		wants = append(wants, want{k, b || binaryAll})
	}
	if len(wants) == 0 {
		for k := range info.Outputs {
			wants = append(wants, want{k, binaryAll})
		}
	}
	out, err := s.run(r.Context(), m, inputs)
	if err != nil {
		return modelError(err, "inputs", "inputs")
	}
	resp := []byte(`{"model_name":`)
	resp = appendString(resp, m.Name)
	resp = append(resp, `,"model_version":"1"`...)
	if req.ID != "" {
		resp = append(resp, `,"id":`...)
		resp = appendString(resp, req.ID)
	}
	resp = append(resp, `,"outputs":[`...)
	var tail []byte
	for i, wt := range wants {
		t := out[wt.k]
		if i > 0 {
			resp = append(resp, ',')
		}
		resp = append(resp, `{"name":`...)
		resp = appendString(resp, info.Outputs[wt.k].Name)
		resp = append(resp, `,"datatype":"FP32","shape":`...)
		resp = appendShape(resp, t.Shape)
		if wt.binary {
			resp = append(resp, `,"parameters":{"binary_data_size":`...)
			resp = strconv.AppendInt(resp, int64(4*len(t.Data)), 10)
			resp = append(resp, `}}`...)
			for _, v := range t.Data {
				tail = binary.LittleEndian.AppendUint32(tail, math.Float32bits(v))
			}
			continue
		}
		resp = append(resp, `,"data":`...)
		if resp, err = appendData(resp, t.Data, fmt.Sprintf("outputs[%d].data", i)); err != nil {
			return err
		}
		resp = append(resp, '}')
	}
	resp = append(resp, "]}"...)
	if tail == nil {
		return writeRaw(w, http.StatusOK, append(resp, '\n'))
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Inference-Header-Content-Length", strconv.Itoa(len(resp)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(resp); err != nil {
		return nil
	}
	w.Write(tail)
	return nil
}

// checkInput checks x against the model's description of input io, as
// the runtime does, naming the request's field, and bounds its batch.
func (s *Server) checkInput(io runtime.IO, x runtime.Tensor, field string) error {
	if io.Type != "float32" {
		return badRequest(field+".name", "input %q takes %s; this service feeds FP32 only", io.Name, io.Type)
	}
	if len(x.Shape) > 0 && x.Shape[0] > s.opts.MaxSamples {
		return badRequest(field+".shape", "%d samples, more than the %d allowed in one request", x.Shape[0], s.opts.MaxSamples)
	}
	if len(x.Shape) > 0 && x.Shape[0] == 0 {
		return badRequest(field+".shape", "%v: an empty batch", x.Shape)
	}
	if !io.HasShape {
		return nil
	}
	if len(x.Shape) != len(io.Shape) {
		return badRequest(field+".shape", "%v has rank %d; input %q is %s", x.Shape, len(x.Shape), io.Name, io.ShapeString())
	}
	for i, d := range io.Shape {
		if d.Size >= 0 && x.Shape[i] != d.Size {
			return badRequest(field+".shape", "%v: dimension %d is %d; input %q is %s", x.Shape, i, x.Shape[i], io.Name, io.ShapeString())
		}
	}
	return nil
}

// run runs the model, in a batch with other requests when it batches.
func (s *Server) run(ctx context.Context, m *served, inputs []runtime.Tensor) ([]runtime.Tensor, error) {
	if m.batch != nil {
		return m.batch.run(ctx, inputs)
	}
	out, err := m.model.Run(inputs...)
	if err == nil {
		if n, ok := samples(inputs); ok {
			s.metrics.batch(m.Name, int(n), 1)
		}
	}
	return out, err
}

func ioList(ios []runtime.IO) string {
	s := make([]string, len(ios))
	for i, io := range ios {
		s[i] = fmt.Sprintf("%q %s", io.Name, io.ShapeString())
	}
	return strings.Join(s, ", ")
}
