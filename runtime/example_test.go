package runtime_test

import (
	"fmt"
	"log"
	"slices"

	"github.com/aebridge/aebridge/runtime"
)

// A service that embeds an autoencoder exported from PyTorch: open it once,
// score batches of samples by reconstruction error, close it on shutdown.
func Example() {
	model, err := runtime.Open("../testdata/pytorch/mlp_ae.opset13.onnx",
		runtime.WithThreads(1), runtime.WithBatchSize(256))
	if err != nil {
		log.Fatal(err)
	}
	defer model.Close()

	in := model.Info().Inputs[0]
	fmt.Printf("input %s %s %s\n", in.Name, in.Type, in.ShapeString())

	// Three samples of 64 features: all 0.5, all 0, a ramp. The scores were
	// checked against the same model in PyTorch.
	batch := make([]float32, 3*64)
	for i := 0; i < 64; i++ {
		batch[i] = 0.5
		batch[128+i] = float32(i) / 63
	}
	x, err := runtime.NewTensor(batch, 3, 64)
	if err != nil {
		log.Fatal(err)
	}
	scores, err := model.Score(x, runtime.MSE)
	if err != nil {
		log.Fatal(err)
	}
	for i, s := range scores {
		fmt.Printf("sample %d: MSE %.4f\n", i, s)
	}
	// Output:
	// input x float32 [batch 64]
	// sample 0: MSE 0.0006
	// sample 1: MSE 0.2522
	// sample 2: MSE 0.0864
}

// Codes from a variational encoder exported by PyTorch: Encode returns μ,
// the output named "mu". On a directory's model.onnx, Encode would run the
// encoder.onnx exported beside it.
func ExampleModel_Encode() {
	enc, err := runtime.Open("../testdata/pytorch/vae_encoder.opset13.onnx")
	if err != nil {
		log.Fatal(err)
	}
	defer enc.Close()
	x, err := runtime.NewTensor(make([]float32, 2*64), 2, 64)
	if err != nil {
		log.Fatal(err)
	}
	z, err := enc.Encode(x)
	if err != nil {
		log.Fatal(err)
	}
	out, err := enc.Run(x)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("code shape", z.Shape, "is mu:", slices.Equal(z.Data, out[0].Data) && enc.Info().Outputs[0].Name == "mu")
	// Output: code shape [2 4] is mu: true
}

// A conditional model fed class labels as int64, returning an 8-bit image:
// RunValues takes and gives each tensor in the element type the model
// declares (Model.Info says which), and DataOf reads it back typed.
func ExampleModel_RunValues() {
	model, err := runtime.Open("../testdata/dtypes/dtypes.onnx")
	if err != nil {
		log.Fatal(err)
	}
	defer model.Close()
	for _, io := range model.Info().Inputs {
		fmt.Printf("input %s %s %s\n", io.Name, io.Type, io.ShapeString())
	}
	for _, io := range model.Info().Outputs {
		fmt.Printf("output %s %s %s\n", io.Name, io.Type, io.ShapeString())
	}

	labels, err := runtime.NewValue([]int64{3, 0, 9}, 3)
	if err != nil {
		log.Fatal(err)
	}
	out, err := model.RunValues(labels)
	if err != nil {
		log.Fatal(err)
	}
	img, err := runtime.DataOf[uint8](out[1])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out[1].DType(), out[1].Shape, img)

	// A float32 tensor where the model wants int64 is refused, not converted.
	_, err = model.RunValues(runtime.ValueOf(runtime.Tensor{Shape: []int64{1}, Data: []float32{3}}))
	fmt.Println(err)
	// Output:
	// input label int64 [batch]
	// output emb float32 [batch 4]
	// output img uint8 [batch 4]
	// uint8 [3 4] [68 76 84 92 0 0 0 0 255 255 255 255]
	// runtime: input "label": element type float32 given, the model wants int64 (model expects [batch], given [1])
}
