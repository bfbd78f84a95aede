package codes_test

import (
	"fmt"
	"log"

	"github.com/aebridge/aebridge/codes"
)

// Fit one principal component to points near the line y = x and score
// points by their squared distance to it.
func ExampleFitPCA() {
	x := []float32{
		0, 0,
		1, 1,
		2, 2,
		3, 3,
	}
	p, err := codes.FitPCA(x, 2, 1)
	if err != nil {
		log.Fatal(err)
	}
	scores, err := p.ReconstructionError([]float32{5, 5, 1, 2})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("on the line: %.3f, off it: %.3f\n", scores[0], scores[1])
	// Output:
	// on the line: 0.000, off it: 0.500
}
