package backend

import (
	"fmt"
	"strings"

	"github.com/aebridge/aebridge/runtime"
)

// OpenFile opens the backends named in names for an ONNX file: "ort" (ONNX
// Runtime), "go" (the file read into a graph and run by its executor,
// Graph), "onnx-go".
func OpenFile(path string, names []string, opts ...runtime.Option) ([]Backend, error) {
	var out []Backend
	for _, n := range names {
		var b Backend
		var err error
		switch n {
		case "ort":
			b, err = OpenORT(path, opts...)
		case "go":
			b, err = OpenGraph(path)
		case "onnx-go":
			b, err = OpenOnnxGo(path)
		default:
			err = fmt.Errorf("backend: unknown backend %q (want one of %s)", n, strings.Join(Names, ", "))
		}
		if err != nil {
			closeAll(out)
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
