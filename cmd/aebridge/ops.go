package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/convert"
	"github.com/aebridge/aebridge/export"
	"github.com/aebridge/aebridge/graph"
)

type opsOptions struct {
	IO     *iostreams
	Format string
}

func newCmdOps(f *factory, runF func(*opsOptions) error) *cobra.Command {
	opts := &opsOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "ops",
		Short: "List the ONNX operators aebridge imports, runs in Go, trains through and exports",
		Long: `List every operator the graph package runs (in its ONNX opset-18 form): the
ai.onnx opsets convert reads it at (older forms are rewritten, as the last
column says), whether the Go backend runs it forward and backward
("constant": an integer or shape op, whose outputs are constants for
training), and the opsets export writes it at ("lowered": rewritten into
the older opsets' forms). An operator not listed is refused by convert and
the go backend with an error naming every such node. --format markdown
writes the table in README.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Format != "text" && opts.Format != "markdown" {
				return &flagError{fmt.Errorf("--format %q: want text or markdown", opts.Format)}
			}
			if runF != nil {
				return runF(opts)
			}
			return opsRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "text", "text or markdown")
	return cmd
}

// opsReadAs are op types convert reads by rewriting them into another op
// type the graph runs.
var opsReadAs = map[string]string{"Upsample": "Resize"}

// opsRow is one operator's line of the coverage table.
type opsRow struct {
	op, read, forward, backward, export, older string
}

func opsRows() []opsRow {
	var rows []opsRow
	infos := graph.Operators()
	byName := map[string]graph.OperatorInfo{}
	names := []string{}
	for _, o := range infos {
		byName[o.Name] = o
		names = append(names, o.Name)
	}
	for op := range opsReadAs {
		names = append(names, op)
	}
	slices.Sort(names)
	for _, name := range names {
		from, to := convert.OpsetsRead(name)
		row := opsRow{op: name, read: opsetRange(int(from), int(to)), forward: "yes", backward: "yes", export: "—"}
		var older []string
		for _, u := range convert.Upgrades(name) {
			older = append(older, fmt.Sprintf("<%d: %s", u.Before, u.What))
		}
		row.older = strings.Join(older, "; ")
		if as, ok := opsReadAs[name]; ok {
			row.forward, row.backward = "as "+as, "as "+as
			row.export = "as " + as
			rows = append(rows, row)
			continue
		}
		if !byName[name].Differentiable {
			row.backward = "constant"
		}
		if from, to, lowered := export.OpsetsWritten(name); from <= to {
			row.export = opsetRange(from, to)
			if lowered && from < 18 {
				row.export += " (lowered)"
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func opsetRange(from, to int) string {
	if from == to {
		return fmt.Sprint(from)
	}
	return fmt.Sprintf("%d–%d", from, to)
}

var opsHeader = [6]string{"operator", "convert reads", "Go forward", "Go backward", "export writes", "older forms read"}

func opsRun(opts *opsOptions) error {
	rows := opsRows()
	if opts.Format == "markdown" {
		return writeOpsMarkdown(opts.IO.Out, rows)
	}
	w := tabwriter.NewWriter(opts.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(opsHeader[:5], "\t"))
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.op, r.read, r.forward, r.backward, r.export)
	}
	return w.Flush()
}

// writeOpsMarkdown writes the table README.md holds.
func writeOpsMarkdown(w io.Writer, rows []opsRow) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(opsHeader[:], " | "), strings.Repeat(" --- |", len(opsHeader)))
	for _, r := range rows {
		fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s | %s |\n", r.op, r.read, r.forward, r.backward, r.export, strings.ReplaceAll(r.older, "|", "\\|"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
