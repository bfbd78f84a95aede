package main

import (
	"io"
	"os"
)

// iostreams are the streams a command reads and writes; tests replace them.
type iostreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// factory carries what commands share: streams and global settings. Nothing
// in it loads ONNX Runtime, so `--help` and commands that do not need the
// library work without it.
type factory struct {
	IO *iostreams
	// Library is the ONNX Runtime shared library given with --onnxruntime
	// ("" to search as runtime.FindLibrary does).
	Library string
	// Python is the interpreter with PyTorch and ONNX for the cross-checks.
	Python string
}

func newFactory(in io.Reader, out, errOut io.Writer) *factory {
	py := os.Getenv("AEBRIDGE_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	return &factory{IO: &iostreams{In: in, Out: out, ErrOut: errOut}, Python: py}
}

// flagError marks a usage problem: a bad flag or argument. main prints the
// command's usage hint with it and exits with status 2.
type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }
func (e *flagError) Unwrap() error { return e.err }
