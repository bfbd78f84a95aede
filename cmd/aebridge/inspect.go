package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/runtime"
)

type inspectOptions struct {
	IO    *iostreams
	Model string
	JSON  bool
}

func newCmdInspect(f *factory, runF func(*inspectOptions) error) *cobra.Command {
	opts := &inspectOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "inspect MODEL",
		Short: "Describe an ONNX model: producer, opsets, inputs and outputs, parameters, operators, metadata",
		Long: `Describe an ONNX model file without running it: producer, IR version, opsets,
inputs and outputs (dynamic dimensions by the names the file gives them),
parameter count, a histogram of operators, and custom metadata. Weights held
in external data files are not read. Names and text from the file that hold
control characters, other unprintable characters or invalid UTF-8 are printed
quoted, with those escaped (--json writes them as \uXXXX escapes).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			if runF != nil {
				return runF(opts)
			}
			return inspectRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the description as JSON")
	return cmd
}

func inspectRun(opts *inspectOptions) error {
	info, err := runtime.Inspect(opts.Model)
	if err != nil {
		return err
	}
	out := opts.IO.Out
	if opts.JSON {
		js, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return err
		}
		_, err = out.Write(append(jsonPrintable(js), '\n'))
		return err
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	var by []string
	for _, p := range []string{info.Producer, info.ProducerVersion} {
		if p != "" {
			by = append(by, printable(p))
		}
	}
	producer := strings.Join(by, " ")
	if producer == "" {
		producer = "(not given)"
	}
	var opsets []string
	for _, o := range info.Opsets {
		d := o.Domain
		if d == "" {
			d = "ai.onnx"
		}
		opsets = append(opsets, fmt.Sprintf("%s %d", printable(d), o.Version))
	}
	external := "(none)"
	if len(info.ExternalData) > 0 {
		files := make([]string, len(info.ExternalData))
		for i, f := range info.ExternalData {
			files[i] = printable(f)
		}
		external = strings.Join(files, ", ")
	}
	fmt.Fprintf(w, "model\t%s\n", info.Path)
	fmt.Fprintf(w, "producer\t%s\n", producer)
	fmt.Fprintf(w, "ir version\t%d\n", info.IRVersion)
	fmt.Fprintf(w, "opsets\t%s\n", strings.Join(opsets, ", "))
	fmt.Fprintf(w, "parameters\t%s\n", thousands(info.Parameters))
	fmt.Fprintf(w, "external data\t%s\n", external)
	w.Flush()
	for _, part := range []struct {
		title string
		ios   []runtime.IO
	}{{"inputs", info.Inputs}, {"outputs", info.Outputs}} {
		fmt.Fprintln(out, part.title)
		for _, io := range part.ios {
			fmt.Fprintf(w, "  %s\t%s\t%s\n", printable(io.Name), printable(io.Type), shapeText(io))
		}
		w.Flush()
	}
	fmt.Fprintf(out, "operators (%d nodes)\n", info.Nodes)
	ops := make([]string, 0, len(info.Ops))
	for op := range info.Ops {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool {
		if info.Ops[ops[i]] != info.Ops[ops[j]] {
			return info.Ops[ops[i]] > info.Ops[ops[j]]
		}
		return ops[i] < ops[j]
	})
	for _, op := range ops {
		fmt.Fprintf(w, "  %s\t%d\n", printable(op), info.Ops[op])
	}
	w.Flush()
	if len(info.Metadata) > 0 {
		fmt.Fprintln(out, "metadata")
		keys := make([]string, 0, len(info.Metadata))
		for k := range info.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s\t%s\n", printable(k), printable(info.Metadata[k]))
		}
		w.Flush()
	}
	return nil
}

// thousands formats n with commas between groups of three digits.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
