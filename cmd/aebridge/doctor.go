package main

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/dataset"
	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/trainer"
)

type doctorOptions struct {
	IO      *iostreams
	Library string
	Python  string
	// LoadLibrary and CheckPython are replaced in tests.
	LoadLibrary func(path string) (*runtime.Library, error)
	CheckPython func(python string) (string, error)
}

func newCmdDoctor(f *factory, runF func(*doctorOptions) error) *cobra.Command {
	opts := &doctorOptions{IO: f.IO, LoadLibrary: runtime.Load, CheckPython: checkPython}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Report what aebridge found on this machine and how to fix what is missing",
		Long: `Report the ONNX Runtime library (path, version, execution providers), the BLAS
in use, and whether PyTorch and ONNX are importable by the Python used for
the cross-checks, and the built-in data sets (where, how many images); for
each thing missing, the command that installs it.
Exits with status 1 when ONNX Runtime cannot be loaded.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Library = f.Library
			opts.Python = f.Python
			if runF != nil {
				return runF(opts)
			}
			return doctorRun(opts)
		},
	}
	return cmd
}

func doctorRun(opts *doctorOptions) error {
	w := tabwriter.NewWriter(opts.IO.Out, 0, 0, 2, ' ', 0)
	failed := false
	lib, err := opts.LoadLibrary(opts.Library)
	if err != nil {
		failed = true
		fmt.Fprintf(w, "ONNX Runtime\tmissing\t%s\n", firstLine(err))
		var le *runtime.LibraryError
		if errors.As(err, &le) {
			for _, t := range le.Tried {
				fmt.Fprintf(w, "\t\tlooked in %s\n", t)
			}
		}
		fmt.Fprintf(w, "\t\tfix: make setup (or set %s)\n", runtime.LibraryEnv)
	} else {
		fmt.Fprintf(w, "ONNX Runtime\tok\t%s at %s\n", lib.Version, lib.Path)
		fmt.Fprintf(w, "providers\tok\t%s\n", strings.Join(lib.Providers, ", "))
		if lib.NoCUDA != nil {
			fmt.Fprintf(w, "CUDA\tmissing\tthis library is CPU-only (%s)\n", firstLine(lib.NoCUDA))
			fmt.Fprintf(w, "\t\tfix: point --onnxruntime or %s at a CUDA build of ONNX Runtime\n", runtime.LibraryEnv)
		}
	}
	fmt.Fprintf(w, "BLAS\tok\t%s\n", trainer.BLAS)
	if v, err := opts.CheckPython(opts.Python); err != nil {
		fmt.Fprintf(w, "PyTorch\tmissing\t%s cannot import torch and onnx (needed for the cross-checks only): %s\n", opts.Python, firstLine(err))
		fmt.Fprintf(w, "\t\tfix: apt-get install python3-torch python3-onnx (Debian; run them with /usr/bin/python3)\n")
	} else {
		fmt.Fprintf(w, "PyTorch\tok\t%s (%s)\n", v, opts.Python)
	}
	for _, k := range dataset.Known {
		st := dataset.Installed(k.Name)
		switch {
		case st.Dir == "":
			fmt.Fprintf(w, "data\tmissing\t%s is not installed (looked in %s)\n", k.Name, strings.Join(dataset.SearchDirs(), ", "))
			fmt.Fprintf(w, "\t\tfix: aebridge data fetch %s\n", k.Name)
		case st.Err != nil:
			fmt.Fprintf(w, "data\tbroken\t%s: %s\n", k.Name, firstLine(st.Err))
			fmt.Fprintf(w, "\t\tfix: aebridge data fetch %s\n", k.Name)
		default:
			fmt.Fprintf(w, "data\tok\t%s: %d train, %d test images in %s\n", k.Name, st.Sizes["train"], st.Sizes["test"], st.Dir)
		}
	}
	w.Flush()
	if failed {
		return errors.New("doctor: ONNX Runtime is missing")
	}
	return nil
}

// checkPython returns the torch and onnx versions python imports.
func checkPython(python string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(python, "-c", "import torch, onnx; print('torch', torch.__version__, 'onnx', onnx.__version__)")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := lastLine(stderr.String()); msg != "" {
			return "", errors.New(msg)
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
