package pytorch_test

import (
	"fmt"
	"strings"

	"github.com/aebridge/aebridge/export/pytorch"
	"github.com/aebridge/aebridge/graph"
)

// A graph of two dense layers, the second tied to the first (its weight
// read transposed), as model.py writes it.
func ExampleGenerate() {
	g := &graph.Graph{
		Inputs:  []graph.Value{{Name: "x", Shape: []int{-1, 4}}},
		Outputs: []string{"x_hat"},
		Params: map[string]*graph.Tensor{
			"encoder.0.weight": graph.NewTensor(2, 4), "encoder.0.bias": graph.NewTensor(2), "decoder.0.bias": graph.NewTensor(4),
		},
		Nodes: []*graph.Node{
			{Name: "encoder.0", Op: "Gemm", Inputs: []string{"x", "encoder.0.weight", "encoder.0.bias"}, Outputs: []string{"z"}, Attrs: map[string]graph.Attribute{"transB": graph.Int(1)}},
			{Name: "encoder.1", Op: "Relu", Inputs: []string{"z"}, Outputs: []string{"h"}},
			{Name: "decoder.0", Op: "Gemm", Inputs: []string{"h", "encoder.0.weight", "decoder.0.bias"}, Outputs: []string{"decoder.0"}},
			{Name: "decoder.1", Op: "Sigmoid", Inputs: []string{"decoder.0"}, Outputs: []string{"x_hat"}},
		},
	}
	p, err := pytorch.Generate(g, pytorch.DefaultRecipe("bce"), pytorch.Options{Source: "example", Version: "dev"})
	if err != nil {
		fmt.Println(err)
		return
	}
	model := string(p.Model)
	start, end := strings.Index(model, "class Model"), strings.Index(model, "\n\n# safetensors")
	fmt.Println(model[start:end])
	fmt.Println(p.Returns)
	// Output:
	// class Model(nn.Module):
	//     def __init__(self):
	//         super().__init__()
	//         self.encoder = nn.ModuleDict()
	//         self.encoder["0"] = nn.Linear(4, 2)
	//         self.decoder = nn.ModuleDict()
	//         self.decoder["0"] = nn.ModuleDict()
	//         self.decoder["0"].register_parameter("bias", nn.Parameter(torch.empty((4,))))
	//
	//     def forward(self, x):
	//         z = self.encoder["0"](x)
	//         h = torch.relu(z)
	//         decoder_0 = F.linear(h, self.encoder["0"].weight.t(), self.decoder["0"].bias)
	//         x_hat = torch.sigmoid(decoder_0)
	//         return x_hat
	//
	// [x_hat]
}
