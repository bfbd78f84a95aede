package anomaly

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestReadLabels(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    []bool
		wantErr string
	}{
		{"plain", "0\n1\n1\n0\n", []bool{false, true, true, false}, ""},
		{"header, CRLF, blank lines, savetxt", "label\r\n1.000000000000000000e+00\r\n\r\n0.0\r\n", []bool{true, false}, ""},
		{"no final newline", "1\n0", []bool{true, false}, ""},
		{"two", "0\n2\n", nil, `anomaly: labels y.csv: line 2: "2": want 0 (normal) or 1 (anomaly)`},
		{"NaN", "nan\n", nil, `anomaly: labels y.csv: line 1: "nan": want 0 (normal) or 1 (anomaly)`},
		{"word after the first line", "0\nyes\n", nil, `line 2: "yes": not a number`},
		{"two columns", "0,1\n", nil, `line 1: "0,1": want one label a line`},
		{"empty", "\n\n", nil, "anomaly: labels y.csv: line 2: no labels"},
		{"only a header", "label\n", nil, "no labels"},
		{"long line", strings.Repeat("0", 5000), nil, "line 1: line longer than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadLabels(strings.NewReader(tt.text), "y.csv")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got %v, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestLabels(t *testing.T) {
	got, err := Labels([]float32{0, 1, 1}, "y.npy")
	if err != nil || !slices.Equal(got, []bool{false, true, true}) {
		t.Errorf("got %v, %v; want [false true true]", got, err)
	}
	_, err = Labels([]float32{0, 0.5}, "y.npy")
	if want := `anomaly: labels y.npy: label 1: "0.5": want 0 (normal) or 1 (anomaly)`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

// FuzzReadLabels reads arbitrary bytes as a labels file: it either fails
// with a *LabelError, or gives labels that, written back one a line, read
// back the same, no more of them than the input has lines.
func FuzzReadLabels(f *testing.F) {
	for _, s := range []string{"0\n1\n", "label\n1\n0\n", "1.0\r\n0e0\n", "0,1\n", "nan\n", "", "\n1", "y\n2\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		labels, err := ReadLabels(bytes.NewReader(b), "fuzz")
		if err != nil {
			var le *LabelError
			if !errors.As(err, &le) {
				t.Fatalf("error %v (%T) is not a *LabelError", err, err)
			}
			return
		}
		if len(labels) == 0 || len(labels) > bytes.Count(b, []byte("\n"))+1 {
			t.Fatalf("%d labels from %d lines", len(labels), bytes.Count(b, []byte("\n"))+1)
		}
		var out bytes.Buffer
		for _, l := range labels {
			if l {
				out.WriteString("1\n")
			} else {
				out.WriteString("0\n")
			}
		}
		again, err := ReadLabels(&out, "again")
		if err != nil || !slices.Equal(again, labels) {
			t.Fatalf("round trip: got %v, %v; want %v", again, err, labels)
		}
	})
}
