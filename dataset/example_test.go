package dataset_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/aebridge/aebridge/dataset"
)

// Read a CSV file with a header row.
func ExampleLoadCSV() {
	dir, _ := os.MkdirTemp("", "csv")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "data.csv")
	os.WriteFile(path, []byte("a,b,c\n0.5,1,2\n3,4,5.25\n"), 0o644)
	s, err := dataset.LoadCSV(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Len(), "samples of shape", s.Shape, "second:", s.Sample(1))
	// Output: 2 samples of shape [3] second: [3 4 5.25]
}
