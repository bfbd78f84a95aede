//go:build !onnxgo

package backend

import "fmt"

// OnnxGoBuilt reports whether this binary has the onnx-go backend (the
// onnxgo build tag): onnx-go brings gorgonia and its dependencies, so the
// release binary leaves it out.
const OnnxGoBuilt = false

// ErrOnnxGoNotBuilt is OpenOnnxGo's error in a binary built without the
// onnxgo tag.
var ErrOnnxGoNotBuilt = fmt.Errorf("backend: onnx-go is not built into this binary (build with -tags onnxgo)")

// OpenOnnxGo returns ErrOnnxGoNotBuilt: this binary has no onnx-go.
func OpenOnnxGo(path string) (Backend, error) { return nil, ErrOnnxGoNotBuilt }
