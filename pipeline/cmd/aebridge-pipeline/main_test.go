package main

import (
	"errors"
	"testing"

	"github.com/aebridge/aebridge/pipeline"
)

func TestCheck(t *testing.T) {
	base := pipeline.Options{Model: "m", Input: "x/*.npy", Output: "o/s", Format: "jsonl", Batch: 256, Shards: 4}
	with := func(f func(*pipeline.Options)) pipeline.Options {
		o := base
		f(&o)
		return o
	}
	tests := []struct {
		name    string
		opts    pipeline.Options
		set     []string
		runner  string
		wantErr string
	}{
		{"ok", base, []string{"runner"}, "prism", ""},
		{"dataflow", base, []string{"runner"}, "dataflow", ""},
		{"no runner", base, nil, "prism", "--runner is required: direct, prism, flink or dataflow"},
		{"spark", base, []string{"runner"}, "spark", `--runner "spark": want direct, prism, flink or dataflow`},
		{"no model", with(func(o *pipeline.Options) { o.Model = "" }), []string{"runner"}, "direct", "--model, --input and --output are required"},
		{"bad metric", with(func(o *pipeline.Options) { o.Metric = "rmse" }), []string{"runner"}, "direct", `--metric "rmse": want mse, mae, bce or l2`},
		{"two thresholds", base, []string{"runner", "threshold", "fpr"}, "direct", "give at most one of --threshold, --contamination and --fpr"},
		{"contamination 1", with(func(o *pipeline.Options) { o.Contamination = 1 }), []string{"runner", "contamination"}, "direct", "--contamination 1: want a fraction in (0, 1)"},
		{"fpr 0", base, []string{"runner", "fpr"}, "direct", "--fpr 0: want a fraction in (0, 1)"},
		{"format", with(func(o *pipeline.Options) { o.Format = "xml" }), []string{"runner"}, "direct", `--format "xml": want jsonl or csv`},
		{"batch 0", with(func(o *pipeline.Options) { o.Batch = 0 }), []string{"runner"}, "direct", "--batch 0, --shards 4: want at least 1 each"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := map[string]bool{}
			for _, k := range tt.set {
				set[k] = true
			}
			err := check(tt.opts, set, tt.runner)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("got %q, want %q", got, tt.wantErr)
			}
		})
	}
}

func TestCause(t *testing.T) {
	tests := []struct{ err, want string }{
		{"while executing Process for Plan[plan]:\n16: ParDo[x]\n\tcaused by:\nDoFn[UID:8] failed:\npipeline: --input a.npy: sample 1, element 2 is +Inf", "pipeline: --input a.npy: sample 1, element 2 is +Inf"},
		{"job failed", "job failed"},
	}
	for _, tt := range tests {
		if got := cause(errors.New(tt.err)); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
