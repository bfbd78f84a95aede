package pipeline

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBuildsWithoutCgo checks that the command, as Beam's workers are
// built (CGO_ENABLED=0), imports no package that needs cgo: no ONNX
// Runtime binding, and every package it imports has Go files for that
// build.
func TestBuildsWithoutCgo(t *testing.T) {
	cmd := exec.Command("go", "list", "-e", "-deps", "-f", "{{.ImportPath}}\t{{with .Error}}{{.Err}}{{end}}", "./cmd/aebridge-pipeline")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, msg, _ := strings.Cut(line, "\t")
		n++
		if msg != "" {
			t.Errorf("%s: %s", path, msg)
		}
		if strings.Contains(path, "onnxruntime") || path == "github.com/aebridge/aebridge/runtime" || path == "github.com/aebridge/aebridge/backend" {
			t.Errorf("the command imports %s, which links ONNX Runtime through cgo", path)
		}
	}
	if n < 100 {
		t.Errorf("go list gave %d packages; want the command's dependencies (Beam's are hundreds)", n)
	}
}
