package convert_test

import (
	"fmt"
	"log"
	"os"

	"github.com/aebridge/aebridge/convert"
	"github.com/aebridge/aebridge/graph"
)

// Import a convolutional autoencoder exported by PyTorch (the view and
// reshape chains included) and print the trainer's description of it.
func ExampleReadFile() {
	m, err := convert.ReadFile("../testdata/pytorch/conv_dense_ae.opset13.onnx", convert.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("inputs", m.Inputs, "outputs", m.Outputs)
	fmt.Print(m.Model)
	// Output:
	// inputs [x] outputs [y]
	// imported autoencoder, input [1 16 16], code [16], loss mse
	//   encoder.0  conv2d 1→4 kernel [3 3] stride [2 2] padding [1 1 1 1]
	//   encoder.1  tanh
	//   encoder.2  flatten
	//   encoder.3  dense 256→16
	//   encoder.4  relu
	//   decoder.0  dense 16→256
	//   decoder.1  relu
	//   decoder.2  unflatten to [4 8 8]
	//   decoder.3  conv_transpose2d 4→1 kernel [3 3] stride [2 2] padding [1 1 1 1] output padding [1 1]
	//   decoder.4  sigmoid
}

// Decode reads a model from any io.Reader (here an open file); its tensors
// must be inline, since a reader has no folder to find external data in.
func ExampleDecode() {
	f, err := os.Open("../testdata/pytorch/mlp_ae.opset13.onnx")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	m, err := convert.Decode(f, "mlp_ae.onnx", convert.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("inputs", m.Inputs, "outputs", m.Outputs, "code", m.CodeShape())
	// Output:
	// inputs [x] outputs [y] code [8]
}

// Read a PyTorch export node by node into a graph, and run it on a batch
// of zeros.
func ExampleReadGraph() {
	g, info, err := convert.ReadGraph("../testdata/pytorch/vae_encoder.opset9.onnx", convert.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("opset", info.Opset, "inputs", g.Inputs, "outputs", g.Outputs)
	for _, n := range g.Nodes {
		fmt.Println(n.Name, n.Op, n.Inputs, "→", n.Outputs)
	}
	values, err := g.Forward(map[string]*graph.Tensor{"x": graph.NewTensor(2, 64)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("mu", values["mu"].Shape, "logvar", values["logvar"].Shape)
	// Output:
	// opset 9 inputs [{x [-1 64] float32}] outputs [mu logvar]
	// /hidden/hidden.0/Gemm Gemm [x hidden.0.weight hidden.0.bias] → [/hidden/hidden.0/Gemm_output_0]
	// /hidden/hidden.1/Relu Relu [/hidden/hidden.0/Gemm_output_0] → [/hidden/hidden.1/Relu_output_0]
	// /mu/Gemm Gemm [/hidden/hidden.1/Relu_output_0 mu.weight mu.bias] → [mu]
	// /logvar/Gemm Gemm [/hidden/hidden.1/Relu_output_0 logvar.weight logvar.bias] → [logvar]
	// mu [2 4] logvar [2 4]
}
