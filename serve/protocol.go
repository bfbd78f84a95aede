package serve

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"net/http"
	"strconv"

	"github.com/aebridge/aebridge/runtime"
)

// RequestError reports a request the service refuses: the HTTP status (a
// 4xx), the request field at fault ("inputs[0].shape", "body", "model")
// and why. The response body is {"error": Error(), "field": Field}.
type RequestError struct {
	Status int
	Field  string
	Reason string
}

func (e *RequestError) Error() string {
	if e.Field == "" {
		return "serve: " + e.Reason
	}
	return "serve: " + e.Field + ": " + e.Reason
}

func badRequest(field, format string, args ...any) *RequestError {
	return &RequestError{Status: http.StatusBadRequest, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// The datatype names of the Open Inference Protocol that the service reads
// and writes. Models are fed float32 only (package runtime's rule).
const (
	dtypeFP32 = "FP32"
)

// tensorJSON is a tensor in a request or response, as the protocol writes
// it: a name, a shape, a datatype and the data, flat in row-major order
// (or nested, in requests), or, with the binary-tensor extension, a
// parameter binary_data_size giving the bytes it takes in the binary part.
type tensorJSON struct {
	Name       string                     `json:"name"`
	Shape      []int64                    `json:"shape"`
	Datatype   string                     `json:"datatype"`
	Parameters map[string]json.RawMessage `json:"parameters,omitempty"`
	Data       json.RawMessage            `json:"data,omitempty"`
}

// inferRequest is the body of POST /v2/models/{name}/infer.
type inferRequest struct {
	ID         string                     `json:"id,omitempty"`
	Parameters map[string]json.RawMessage `json:"parameters,omitempty"`
	Inputs     []tensorJSON               `json:"inputs"`
	Outputs    []struct {
		Name       string                     `json:"name"`
		Parameters map[string]json.RawMessage `json:"parameters,omitempty"`
	} `json:"outputs,omitempty"`
}

// decodeJSON reads one JSON value of b into v, refusing trailing data,
// and turns the decoder's errors into a RequestError naming the field.
func decodeJSON(b []byte, v any, what string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = what
			}
			return badRequest(field, "%s is not a %s", te.Value, te.Type)
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return badRequest(what, "malformed JSON at byte %d: %v", se.Offset, err)
		}
		return badRequest(what, "malformed JSON: %v", err)
	}
	if dec.More() {
		return badRequest(what, "data after the JSON value at byte %d", dec.InputOffset())
	}
	return nil
}

// elementCount returns the number of elements of shape, refusing negative
// dimensions and products beyond max (or an overflow).
func elementCount(shape []int64, max int64, field string) (int64, error) {
	n := uint64(1)
	for i, d := range shape {
		if d < 0 {
			return 0, badRequest(field, "dimension %d is %d: want a size ≥ 0", i, d)
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > uint64(max) {
			return 0, badRequest(field, "shape %v holds more than %d elements", shape, max)
		}
		n = lo
	}
	return int64(n), nil
}

// parseData reads the JSON data of a tensor, an array of numbers nested
// to any depth (the protocol allows flat or nested row-major data), as
// float32, each number rounded once to the nearest float32. want is the
// count the shape gives; raw was already checked to be valid JSON. Every
// element must be a finite number: a string, a boolean, null, an object,
// or a number beyond float32's range is refused, naming its index.
func parseData(raw []byte, want int64, field string) ([]float32, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		return nil, badRequest(field, "want an array of numbers")
	}
	// Every element takes at least two bytes ("0,"), so the shape's claim
	// is believed only as far as the bytes present can hold it.
	data := make([]float32, 0, max(0, min(want, int64(len(raw)/2+1))))
	depth := 0
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '[':
			depth++
			i++
		case c == ']':
			depth--
			i++
		case c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(raw) && (raw[j] == '.' || raw[j] == 'e' || raw[j] == 'E' || raw[j] == '+' || raw[j] == '-' || (raw[j] >= '0' && raw[j] <= '9')) {
				j++
			}
			if int64(len(data)) >= want {
				return nil, badRequest(field, "more than the %d elements the shape holds", want)
			}
			v, err := strconv.ParseFloat(string(raw[i:j]), 32)
			if err != nil {
				return nil, badRequest(fmt.Sprintf("%s[%d]", field, len(data)), "%s is beyond float32's range", clip(raw[i:j]))
			}
			data = append(data, float32(v))
			i = j
		default:
			kind := map[byte]string{'"': "a string", 't': "a boolean", 'f': "a boolean", 'n': "null", '{': "an object"}[c]
			if kind == "" {
				kind = fmt.Sprintf("%q", c)
			}
			if c == '"' && isNonFinite(raw[i:]) {
				return nil, badRequest(fmt.Sprintf("%s[%d]", field, len(data)), "%s: NaN and ±Inf are not accepted; want finite numbers", clip(raw[i:min(i+12, len(raw))]))
			}
			return nil, badRequest(fmt.Sprintf("%s[%d]", field, len(data)), "%s: want a number", kind)
		}
	}
	if depth != 0 {
		return nil, badRequest(field, "unbalanced brackets")
	}
	if int64(len(data)) != want {
		return nil, badRequest(field, "%d elements, but the shape holds %d", len(data), want)
	}
	return data, nil
}

// isNonFinite reports whether the JSON string at the start of b names NaN
// or an infinity, as some clients write them.
func isNonFinite(b []byte) bool {
	end := bytes.IndexByte(b[1:], '"')
	if end < 0 {
		return false
	}
	f, err := strconv.ParseFloat(string(b[1:1+end]), 64)
	return err == nil && (math.IsNaN(f) || math.IsInf(f, 0))
}

func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// checkFinite refuses NaN and ±Inf in data, naming the element.
func checkFinite(data []float32, field string) error {
	for i, v := range data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return badRequest(fmt.Sprintf("%s[%d]", field, i), "%v: NaN and ±Inf are not accepted; want finite numbers", v)
		}
	}
	return nil
}

// binarySize returns the parameter binary_data_size of a tensor, or -1
// when it has none.
func binarySize(params map[string]json.RawMessage, field string) (int64, error) {
	v, ok := params["binary_data_size"]
	if !ok {
		return -1, nil
	}
	var n int64
	if err := json.Unmarshal(v, &n); err != nil || n < 0 {
		return 0, badRequest(field+".parameters.binary_data_size", "%s: want a byte count ≥ 0", clip(v))
	}
	return n, nil
}

// boolParam returns a boolean parameter (false when absent).
func boolParam(params map[string]json.RawMessage, key, field string) (bool, error) {
	v, ok := params[key]
	if !ok {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return false, badRequest(field+".parameters."+key, "%s: want true or false", clip(v))
	}
	return b, nil
}

// readTensor turns a request tensor into a runtime.Tensor: its shape is
// checked (at most max elements), its data read from JSON or, with
// binary_data_size, from the front of *bin (little-endian FP32), which it
// then advances past.
func readTensor(t tensorJSON, bin *[]byte, max int64, field string) (runtime.Tensor, error) {
	if t.Datatype != dtypeFP32 {
		return runtime.Tensor{}, badRequest(field+".datatype", "%q: the models take FP32 tensors", t.Datatype)
	}
	if t.Shape == nil {
		return runtime.Tensor{}, badRequest(field+".shape", "missing")
	}
	n, err := elementCount(t.Shape, max, field+".shape")
	if err != nil {
		return runtime.Tensor{}, err
	}
	size, err := binarySize(t.Parameters, field)
	if err != nil {
		return runtime.Tensor{}, err
	}
	var data []float32
	switch {
	case size >= 0:
		if len(t.Data) > 0 {
			return runtime.Tensor{}, badRequest(field+".data", "given with binary_data_size; give one")
		}
		if size != 4*n {
			return runtime.Tensor{}, badRequest(field+".parameters.binary_data_size", "%d bytes, but shape %v of FP32 takes %d", size, t.Shape, 4*n)
		}
		if int64(len(*bin)) < size {
			return runtime.Tensor{}, badRequest(field+".parameters.binary_data_size", "%d bytes, but only %d remain in the binary part of the body", size, len(*bin))
		}
		data = make([]float32, n)
		for i := range data {
			data[i] = math.Float32frombits(binary.LittleEndian.Uint32((*bin)[4*i:]))
		}
		*bin = (*bin)[size:]
	case len(t.Data) == 0:
		return runtime.Tensor{}, badRequest(field+".data", "missing")
	default:
		if data, err = parseData(t.Data, n, field+".data"); err != nil {
			return runtime.Tensor{}, err
		}
	}
	if err := checkFinite(data, field+".data"); err != nil {
		return runtime.Tensor{}, err
	}
	return runtime.Tensor{Shape: t.Shape, Data: data}, nil
}

// appendData appends data as a JSON array, each value in the fewest digits
// that read back to the same float32. NaN and ±Inf have no JSON form:
// they give an error naming the element.
func appendData(b []byte, data []float32, field string) ([]byte, error) {
	b = append(b, '[')
	for i, v := range data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, &RequestError{Status: http.StatusUnprocessableEntity, Field: fmt.Sprintf("%s[%d]", field, i),
				Reason: fmt.Sprintf("the model gave %v, which JSON cannot carry; ask for binary output (binary_data_output)", v)}
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, float64(v), 'g', -1, 32)
	}
	return append(b, ']'), nil
}

// appendShape appends shape as a JSON array.
func appendShape(b []byte, shape []int64) []byte {
	b = append(b, '[')
	for i, d := range shape {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, d, 10)
	}
	return append(b, ']')
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}
