package main

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/runtime"
)

const fixtures = "../../testdata/pytorch"

// testFactory returns a factory writing into buffers.
func testFactory() (*factory, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	f := newFactory(&bytes.Buffer{}, out, errOut)
	return f, out, errOut
}

// parseArgs runs the command newCmd makes on args, with a run function that
// only records the parsed options, and returns them. With wantErr, the
// command must fail with an error containing it, and parseArgs returns nil;
// so it does, after failing the test, on any other error.
func parseArgs[O any](t *testing.T, newCmd func(*factory, func(*O) error) *cobra.Command, args []string, wantErr string) *O {
	t.Helper()
	f, _, _ := testFactory()
	var got *O
	cmd := newCmd(f, func(o *O) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	switch {
	case wantErr != "":
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%v: got %v, want an error containing %q", args, err, wantErr)
		}
		return nil
	case err != nil:
		t.Errorf("%v: %v", args, err)
		return nil
	}
	return got
}

func TestMainExitStatus(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    int
		wantErr string
	}{
		{"help", []string{"--help"}, 0, ""},
		{"unknown flag", []string{"inspect", "--nope", "m.onnx"}, 2, "aebridge: unknown flag: --nope\nRun 'aebridge inspect --help' for usage.\n"},
		{"missing argument", []string{"inspect"}, 2, "aebridge: accepts 1 arg(s), received 0\nRun 'aebridge inspect --help' for usage.\n"},
		{"missing file", []string{"inspect", "/no/such.onnx"}, 1, "aebridge: runtime: onnxfile: open /no/such.onnx: no such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if got := mainRun(tt.args, &bytes.Buffer{}, &out, &errOut); got != tt.want {
				t.Errorf("exit status: got %d, want %d (stderr %q)", got, tt.want, errOut.String())
			}
			if tt.wantErr != "" && errOut.String() != tt.wantErr {
				t.Errorf("stderr: got %q, want %q", errOut.String(), tt.wantErr)
			}
		})
	}
}

func readNPY(t *testing.T, path string) *npy.Array {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return 1e30
	}
	m := 0.0
	for i := range a {
		d := math.Abs(float64(a[i] - b[i]))
		if math.IsNaN(d) {
			return math.Inf(1) // a NaN on either side fails every tolerance
		}
		m = max(m, d)
	}
	return m
}

// ios describes outputs by name only.
func ios(names ...string) []runtime.IO {
	out := make([]runtime.IO, len(names))
	for i, n := range names {
		out[i] = runtime.IO{Name: n}
	}
	return out
}

// TestFlagValueNames checks that every flag's value name in the help pages
// is one word: pflag takes the first backquoted text of a usage string as
// the value name, so "the copy `make setup` installs" showed as
// "--onnxruntime make setup".
func TestFlagValueNames(t *testing.T) {
	f, _, _ := testFactory()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		check := func(fl *pflag.Flag) {
			name, _ := pflag.UnquoteUsage(fl)
			if strings.ContainsAny(name, " \t") {
				t.Errorf("%s --%s: got value name %q, want one word", c.CommandPath(), fl.Name, name)
			}
		}
		c.LocalFlags().VisitAll(check)
		c.PersistentFlags().VisitAll(check)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(f))
}
