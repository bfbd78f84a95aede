package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/aebridge/aebridge/anomaly"
	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/runtime"
)

// aeRequest is the body of the autoencoder verbs: samples (or codes, for
// decode) as a shape and data, the condition of a conditional model, and
// for score a metric and a threshold.
type aeRequest struct {
	Shape     []int64         `json:"shape"`
	Data      json.RawMessage `json:"data"`
	Class     *int            `json:"class,omitempty"`
	Classes   []int           `json:"classes,omitempty"`
	Metric    string          `json:"metric,omitempty"`
	Threshold *float64        `json:"threshold,omitempty"`
}

// npyMagic starts every .npy file.
var npyMagic = []byte("\x93NUMPY")

// readAE reads an autoencoder verb's request: a .npy body (Content-Type
// application/x-npy, or any body that starts with .npy's magic) with
// class, metric and threshold in the query, or else JSON, whatever the
// Content-Type says (curl -d sends application/x-www-form-urlencoded). forData says
// whether the tensor is the model's data input (uint8 .npy values then
// follow the model's input-scaling rule); decode's codes are not.
func (s *Server) readAE(w http.ResponseWriter, r *http.Request, m *served, forData bool) (aeRequest, runtime.Tensor, error) {
	var req aeRequest
	body, err := s.readBody(w, r)
	if err != nil {
		return req, runtime.Tensor{}, err
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-npy" || ct == "application/npy" || bytes.HasPrefix(body, npyMagic) {
		return s.readNPY(r, m, body, forData)
	}
	if err := decodeJSON(body, &req, "body"); err != nil {
		return req, runtime.Tensor{}, err
	}
	if req.Shape == nil {
		return req, runtime.Tensor{}, badRequest("shape", "missing")
	}
	n, err := elementCount(req.Shape, max(s.opts.MaxBodyBytes, 1), "shape")
	if err != nil {
		return req, runtime.Tensor{}, err
	}
	if len(req.Data) == 0 {
		return req, runtime.Tensor{}, badRequest("data", "missing")
	}
	data, err := parseData(req.Data, n, "data")
	if err != nil {
		return req, runtime.Tensor{}, err
	}
	x := runtime.Tensor{Shape: req.Shape, Data: data}
	return req, x, s.checkSamples(x, "data")
}

func (s *Server) readNPY(r *http.Request, m *served, body []byte, forData bool) (aeRequest, runtime.Tensor, error) {
	var req aeRequest
	a, err := npy.Read(bytes.NewReader(body))
	if err != nil {
		return req, runtime.Tensor{}, badRequest("body", "%v", err)
	}
	q := r.URL.Query()
	if v := q.Get("class"); v != "" {
		c, err := strconv.Atoi(v)
		if err != nil {
			return req, runtime.Tensor{}, badRequest("class", "%q: want an integer", clip([]byte(v)))
		}
		req.Class = &c
	}
	req.Metric = q.Get("metric")
	if v := q.Get("threshold"); v != "" {
		t, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return req, runtime.Tensor{}, badRequest("threshold", "%q: want a number", clip([]byte(v)))
		}
		req.Threshold = &t
	}
	if a.DType == "uint8" && forData && m.Scaling.Divisor > 0 {
		for i := range a.Data {
			a.Data[i] /= m.Scaling.Divisor
		}
	}
	shape := make([]int64, len(a.Shape))
	for i, d := range a.Shape {
		shape[i] = int64(d)
	}
	x := runtime.Tensor{Shape: shape, Data: a.Data}
	if err := checkFinite(x.Data, "data"); err != nil {
		return req, runtime.Tensor{}, err
	}
	return req, x, s.checkSamples(x, "data")
}

// checkSamples checks that x is a non-empty batch, (N, …), of at most
// MaxSamples samples.
func (s *Server) checkSamples(x runtime.Tensor, field string) error {
	switch {
	case len(x.Shape) < 1 || x.Shape[0] == 0:
		return badRequest("shape", "%v: want a batch of samples, (N, …)", x.Shape)
	case x.Shape[0] > s.opts.MaxSamples:
		return badRequest("shape", "%d samples, more than the %d allowed in one request", x.Shape[0], s.opts.MaxSamples)
	}
	return nil
}

// condition returns the one-hot condition of a conditional model for n
// samples, from the request's class or classes.
func condition(m *served, req aeRequest, n int64) ([]runtime.Tensor, error) {
	k := m.Info().Classes()
	if k == 0 {
		if req.Class != nil || req.Classes != nil {
			return nil, badRequest("class", "%s takes no condition (inputs %s)", m.Name, ioList(m.Info().Inputs))
		}
		return nil, nil
	}
	classes := req.Classes
	switch {
	case req.Class != nil && req.Classes != nil:
		return nil, badRequest("class", "give class or classes, not both")
	case req.Class != nil:
		classes = make([]int, n)
		for i := range classes {
			classes[i] = *req.Class
		}
	case req.Classes == nil:
		return nil, badRequest("class", "%s is conditional (inputs %s): give class (one for all samples) or classes (one per sample)", m.Name, ioList(m.Info().Inputs))
	case int64(len(classes)) != n:
		return nil, badRequest("classes", "%d classes for %d samples", len(classes), n)
	}
	for i, c := range classes {
		if c < 0 || c >= k {
			field := "class"
			if req.Class == nil {
				field = fmt.Sprintf("classes[%d]", i)
			}
			return nil, badRequest(field, "%d: %s has %d classes, 0 to %d", c, m.Name, k, k-1)
		}
	}
	t, err := runtime.OneHot(classes, k)
	if err != nil {
		return nil, badRequest("classes", "%v", err)
	}
	return []runtime.Tensor{t}, nil
}

// dataInput returns the model's data input: its first, unless it is a
// decoder.
func dataInput(m *served) (runtime.IO, bool) {
	if m.Info().Part() == "decoder" {
		return runtime.IO{}, false
	}
	return m.Info().Inputs[0], true
}

// reconstruct reconstructs x as runtime.Model.Reconstruct does; a full
// model (or one that records no part) runs through the batcher when it
// has one.
func (s *Server) reconstruct(ctx context.Context, m *served, x runtime.Tensor, cond []runtime.Tensor) (runtime.Tensor, error) {
	info := m.Info()
	if p := info.Part(); m.batch == nil || p == "encoder" || p == "decoder" || len(info.Inputs) != 1+len(cond) {
		return m.model.Reconstruct(x, cond...)
	}
	io := info.Inputs[0]
	if err := s.checkInput(io, x, "data"); err != nil {
		var re *RequestError
		if errors.As(err, &re) {
			re.Field = "data" // as the runtime's own check is reported unbatched
		}
		return runtime.Tensor{}, err
	}
	out, err := m.batch.run(ctx, append([]runtime.Tensor{x}, cond...))
	if err != nil {
		return runtime.Tensor{}, err
	}
	if !slices.Equal(out[0].Shape, x.Shape) {
		return runtime.Tensor{}, fmt.Errorf("serve: %s: output %q has shape %v, input %q has %v; not an autoencoder's reconstruction", m.Name, info.Outputs[0].Name, out[0].Shape, io.Name, x.Shape)
	}
	return out[0], nil
}

// modelError turns an error of a model call into a RequestError: one the
// runtime found in the request's tensors is a 400 naming field; any other
// (the model cannot do what was asked, or ONNX Runtime refused the
// tensors) a 422 naming other. A RequestError or the end of the request's
// context is returned as it is.
func modelError(err error, field, other string) error {
	var ie *runtime.InputError
	var re *RequestError
	switch {
	case errors.As(err, &re), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return err
	case errors.As(err, &ie):
		return badRequest(field, "%v", err)
	}
	return &RequestError{Status: http.StatusUnprocessableEntity, Field: other, Reason: err.Error()}
}

// score serves POST /v2/models/{name}/score: the reconstruction error of
// each sample, as aebridge score computes it, and a label against the
// request's threshold or the model's calibrated one.
func (s *Server) score(w http.ResponseWriter, r *http.Request) error {
	m, err := s.model(r)
	if err != nil {
		return err
	}
	req, x, err := s.readAE(w, r, m, true)
	if err != nil {
		return err
	}
	metric := runtime.Metric(req.Metric)
	if req.Metric != "" {
		if _, err := runtime.ParseMetric(req.Metric); err != nil {
			return badRequest("metric", "%q: want mse, mae, bce or l2", clip([]byte(req.Metric)))
		}
	}
	threshold, source := math.NaN(), ""
	switch cal := m.Calibration; {
	case req.Threshold != nil:
		if math.IsNaN(*req.Threshold) || math.IsInf(*req.Threshold, 0) {
			return badRequest("threshold", "%v: want a finite number", *req.Threshold)
		}
		threshold, source = *req.Threshold, "request"
		if metric == "" {
			metric = runtime.MSE
		}
	case cal != nil && (metric == "" || metric == cal.Metric):
		threshold, source, metric = cal.Threshold, "calibration", cal.Metric
	case cal != nil:
		return badRequest("metric", "%s: %s is calibrated for %s; give a threshold for %s", metric, m.Name, cal.Metric, metric)
	case metric == "":
		metric = runtime.MSE
	}
	if io, ok := dataInput(m); ok {
		x = io.FitShape(x)
	}
	cond, err := condition(m, req, x.Shape[0])
	if err != nil {
		return err
	}
	xhat, err := s.reconstruct(r.Context(), m, x, cond)
	if err != nil {
		return modelError(err, "data", "model")
	}
	scores, err := runtime.Scores(x, xhat, metric)
	if err != nil {
		return badRequest("data", "%v", err)
	}
	resp := []byte(`{"model_name":`)
	resp = appendString(resp, m.Name)
	resp = append(resp, `,"metric":`...)
	resp = appendString(resp, string(metric))
	resp = append(resp, `,"scores":`...)
	if resp, err = appendData(resp, scores, "scores"); err != nil {
		return err
	}
	if source != "" {
		resp = append(resp, `,"threshold":`...)
		resp = strconv.AppendFloat(resp, threshold, 'g', -1, 64)
		resp = append(resp, `,"threshold_source":`...)
		resp = appendString(resp, source)
		var d anomaly.Detector
		if err := d.SetThreshold(threshold); err != nil {
			return badRequest("threshold", "%v", err)
		}
		labels, err := d.Predict(scores)
		if err != nil {
			return err
		}
		resp = append(resp, `,"labels":[`...)
		for i, a := range labels {
			if i > 0 {
				resp = append(resp, ',')
			}
			resp = append(resp, "01"[b2i(a)])
		}
		resp = append(resp, ']')
	}
	return writeRaw(w, http.StatusOK, append(resp, "}\n"...))
}

// verb serves reconstruct, encode and decode: {"shape", "data"} in and out.
func (s *Server) verb(name string) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		m, err := s.model(r)
		if err != nil {
			return err
		}
		req, x, err := s.readAE(w, r, m, name != "decode")
		if err != nil {
			return err
		}
		if name != "decode" {
			if io, ok := dataInput(m); ok {
				x = io.FitShape(x)
			}
		}
		cond, err := condition(m, req, x.Shape[0])
		if err != nil {
			return err
		}
		var y runtime.Tensor
		switch name {
		case "reconstruct":
			y, err = s.reconstruct(r.Context(), m, x, cond)
		case "encode":
			y, err = m.model.Encode(x, cond...)
		case "decode":
			y, err = m.model.Decode(x, cond...)
		}
		if err != nil {
			return modelError(err, "data", "model")
		}
		resp := []byte(`{"model_name":`)
		resp = appendString(resp, m.Name)
		resp = append(resp, `,"shape":`...)
		resp = appendShape(resp, y.Shape)
		resp = append(resp, `,"data":`...)
		if resp, err = appendData(resp, y.Data, "data"); err != nil {
			return err
		}
		return writeRaw(w, http.StatusOK, append(resp, "}\n"...))
	}
}

// codeShape returns the per-sample shape of the model's codes, the first
// input of the decoder exported with it (decoder.onnx in its directory),
// or nil when it has none.
func codeShape(m *Model) []int64 {
	info := m.Info()
	var dec *runtime.Info
	switch info.Part() {
	case "decoder":
		dec = info
	case "full", "encoder":
		d, err := runtime.Inspect(filepath.Join(filepath.Dir(info.Path), runtime.DecoderFile))
		if err != nil || d.Part() != "decoder" {
			return nil
		}
		dec = d
	default:
		return nil
	}
	if len(dec.Inputs) == 0 || !dec.Inputs[0].HasShape || len(dec.Inputs[0].Shape) < 2 {
		return nil
	}
	var dims []int64
	for _, d := range dec.Inputs[0].Shape[1:] {
		if d.Size <= 0 {
			return nil
		}
		dims = append(dims, d.Size)
	}
	return dims
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
