package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseData reads fuzzed tensor data: it is refused with a
// *RequestError, or every value read is finite and, written back as
// appendData writes it, reads back to the same bits.
func FuzzParseData(f *testing.F) {
	for _, s := range []string{`[1,2,3]`, `[[1.5,-2],[3e-3,4E+2]]`, `[]`, `[1,"NaN"]`, `[1e39]`, `[[1],[2]`, `[null]`, `{"a":1}`, `[-0,1e-50]`} {
		f.Add([]byte(s), int64(3))
	}
	f.Fuzz(func(t *testing.T, raw []byte, want int64) {
		if !json.Valid(raw) {
			return // parseData reads what the JSON decoder has checked
		}
		data, err := parseData(raw, want, "data")
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) || re.Status != 400 || !strings.HasPrefix(re.Field, "data") {
				t.Fatalf("got %v (%T), want a 400 *RequestError naming data", err, err)
			}
			return
		}
		if int64(len(data)) != want {
			t.Fatalf("got %d values, want %d", len(data), want)
		}
		out, err := appendData(nil, data, "data")
		if err != nil {
			t.Fatalf("values read do not write back: %v", err)
		}
		again, err := parseData(out, want, "data")
		if err != nil || !sameBits(again, data) {
			t.Fatalf("%s reads back as %v (%v), want %v", out, again, err, data)
		}
	})
}

// FuzzInfer sends fuzzed bodies to /infer and /score: every answer is a
// 200 or a 4xx whose body is a JSON error of the package, never a 5xx.
func FuzzInfer(f *testing.F) {
	row := strings.Repeat("0.5,", 63) + "0.5"
	for _, s := range []string{
		`{"inputs":[{"name":"x","shape":[1,64],"datatype":"FP32","data":[` + row + `]}]}`,
		`{"inputs":[{"name":"x","shape":[1,64],"datatype":"FP32","parameters":{"binary_data_size":256}}]}`,
		`{"shape":[1,64],"data":[` + row + `],"metric":"l2"}`,
		`{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1,"NaN"]}]}`,
		`{"inputs":[`, `{}`, `[]`, "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1, 64), }",
	} {
		f.Add([]byte(s), int64(-1), false)
		f.Add([]byte(s), int64(len(s)), true)
	}
	s, _ := newTestServer(f, Options{MaxBodyBytes: 1 << 16, MaxSamples: 64}, "mlp_ae")
	f.Fuzz(func(t *testing.T, body []byte, headerLen int64, score bool) {
		path := "/v2/models/mlp_ae/infer"
		if score {
			path = "/v2/models/mlp_ae/score"
		}
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		if headerLen >= 0 {
			req.Header.Set("Inference-Header-Content-Length", strconv.FormatInt(headerLen, 10))
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		switch code := w.Code; {
		case code == 200:
			if !json.Valid(bytes.TrimSpace(w.Body.Bytes())) && w.Header().Get("Inference-Header-Content-Length") == "" {
				t.Fatalf("200 with a body that is not JSON: %q", w.Body.Bytes())
			}
		case code >= 400 && code < 500:
			var e struct{ Error string }
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || !strings.HasPrefix(e.Error, "serve: ") {
				t.Fatalf("%d with body %q: want a JSON error", code, w.Body.Bytes())
			}
		default:
			t.Fatalf("got %d %q for %q, want 200 or a 4xx", code, w.Body.Bytes(), body)
		}
	})
}
