package anomaly

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// LabelError reports a label that is not 0 or 1.
type LabelError struct {
	File   string // the file, or "" for values given in memory
	Line   int    // 1-based line of a text file; 0 for values in memory
	Index  int    // the label's position, from 0
	Value  string // the offending text or value
	Reason string
}

func (e *LabelError) Error() string {
	s := "anomaly: labels"
	if e.File != "" {
		s += " " + e.File
	}
	if e.Line > 0 {
		s += fmt.Sprintf(": line %d", e.Line)
	} else {
		s += fmt.Sprintf(": label %d", e.Index)
	}
	if e.Value != "" {
		s += fmt.Sprintf(": %q", e.Value)
	}
	return s + ": " + e.Reason
}

// maxLine bounds one line of a labels file.
const maxLine = 4096

// ReadLabels reads anomaly labels as text, one a line: 0 (normal) or 1
// (an anomaly), written as any number equal to them ("1", "1.0",
// "1.000000000000000000e+00" as numpy.savetxt writes it). A first line that
// is not a number is taken as a CSV header and skipped; blank lines are
// skipped; a line with more than one comma-separated field is refused.
// name is used in errors, which are *LabelError or the reader's.
func ReadLabels(r io.Reader, name string) ([]bool, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxLine)
	var labels []bool
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		fail := func(reason string) error {
			return &LabelError{File: name, Line: line, Index: len(labels), Value: clip(text), Reason: reason}
		}
		if strings.Contains(text, ",") {
			return nil, fail("want one label a line, 0 or 1")
		}
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			if line == 1 && isHeader(text) {
				continue
			}
			return nil, fail("not a number; want 0 (normal) or 1 (anomaly)")
		}
		if v != 0 && v != 1 {
			return nil, fail("want 0 (normal) or 1 (anomaly)")
		}
		labels = append(labels, v == 1)
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return nil, &LabelError{File: name, Line: line + 1, Index: len(labels), Reason: fmt.Sprintf("line longer than %d bytes", maxLine)}
		}
		return nil, fmt.Errorf("anomaly: labels %s: %w", name, err)
	}
	if len(labels) == 0 {
		return nil, &LabelError{File: name, Line: max(line, 1), Reason: "no labels"}
	}
	return labels, nil
}

// isHeader reports whether text reads as a column name: letters, digits
// and _ . - only, starting with a letter (not "nan" or "inf", which
// ParseFloat reads).
func isHeader(text string) bool {
	for i, r := range text {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if i == 0 && !letter || !letter && !(r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Labels turns numeric labels (read from a .npy file, say) into booleans:
// each value must be exactly 0 (normal) or 1 (an anomaly). name is used in
// errors, which are *LabelError.
func Labels(values []float32, name string) ([]bool, error) {
	out := make([]bool, len(values))
	for i, v := range values {
		if v != 0 && v != 1 {
			return nil, &LabelError{File: name, Index: i, Value: strconv.FormatFloat(float64(v), 'g', -1, 32), Reason: "want 0 (normal) or 1 (anomaly)"}
		}
		out[i] = v == 1
	}
	return out, nil
}
