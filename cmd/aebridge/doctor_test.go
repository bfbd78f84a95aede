package main

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/dataset"
	"github.com/aebridge/aebridge/runtime"
	"github.com/aebridge/aebridge/trainer"
)

func TestDoctorRun(t *testing.T) {
	okLib := func(string) (*runtime.Library, error) {
		return &runtime.Library{Path: "/x/libonnxruntime.so.1", Version: "1.30.0", Providers: []string{"cpu"}, NoCUDA: errors.New("Failed to load library")}, nil
	}
	noLib := func(string) (*runtime.Library, error) {
		return nil, &runtime.LibraryError{Tried: []string{"/a/.deps/onnxruntime/libonnxruntime.so.1"}}
	}
	okPy := func(string) (string, error) { return "torch 1.13.1 onnx 1.12.0", nil }
	noPy := func(string) (string, error) { return "", errors.New("ModuleNotFoundError: No module named 'torch'") }
	tests := []struct {
		name    string
		lib     func(string) (*runtime.Library, error)
		py      func(string) (string, error)
		want    string
		wantErr bool
	}{
		{"all present", okLib, okPy,
			"ONNX Runtime  ok       1.30.0 at /x/libonnxruntime.so.1\n" +
				"providers     ok       cpu\n" +
				"CUDA          missing  this library is CPU-only (Failed to load library)\n" +
				"                       fix: point --onnxruntime or ONNXRUNTIME_SHARED_LIBRARY_PATH at a CUDA build of ONNX Runtime\n" +
				"BLAS          ok       " + trainer.BLAS + "\n" +
				"PyTorch       ok       torch 1.13.1 onnx 1.12.0 (/usr/bin/python3)\n" +
				"data          ok       mnist: 10 train, 10 test images in DATA/mnist\n" +
				"data          missing  fashion-mnist is not installed (looked in DATA)\n" +
				"                       fix: aebridge data fetch fashion-mnist\n", false},
		{"nothing installed", noLib, noPy,
			"ONNX Runtime  missing  runtime: ONNX Runtime shared library not found; looked in:\n" +
				"                       looked in /a/.deps/onnxruntime/libonnxruntime.so.1\n" +
				"                       fix: make setup (or set ONNXRUNTIME_SHARED_LIBRARY_PATH)\n" +
				"BLAS          ok       " + trainer.BLAS + "\n" +
				"PyTorch       missing  /usr/bin/python3 cannot import torch and onnx (needed for the cross-checks only): ModuleNotFoundError: No module named 'torch'\n" +
				"                       fix: apt-get install python3-torch python3-onnx (Debian; run them with /usr/bin/python3)\n" +
				"data          ok       mnist: 10 train, 10 test images in DATA/mnist\n" +
				"data          missing  fashion-mnist is not installed (looked in DATA)\n" +
				"                       fix: aebridge data fetch fashion-mnist\n", true},
	}
	fakeMNIST(t, 10)
	data := os.Getenv(dataset.DataEnv)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want = strings.ReplaceAll(tt.want, "DATA", data)
			f, out, _ := testFactory()
			err := doctorRun(&doctorOptions{IO: f.IO, Python: "/usr/bin/python3", LoadLibrary: tt.lib, CheckPython: tt.py})
			if (err != nil) != tt.wantErr {
				t.Errorf("error: got %v, want error %v", err, tt.wantErr)
			}
			if out.String() != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", out.String(), tt.want)
			}
		})
	}
}

func TestCheckPythonReportsImportError(t *testing.T) {
	_, err := checkPython("/bin/false")
	if err == nil {
		t.Error("got nil error for an interpreter that fails")
	}
}
