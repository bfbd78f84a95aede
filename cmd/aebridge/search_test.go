package main

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/trainer"
)

func TestNewCmdSearch(t *testing.T) {
	def := searchOptions{Index: "z.npy", Query: "q.npy", K: 10, Metric: "l2", Probe: 1, RecallCheck: 100}
	tests := []struct {
		name    string
		args    []string
		want    searchOptions
		wantErr string
	}{
		{name: "defaults", args: []string{"z.npy", "--query", "q.npy"}, want: def},
		{name: "all", args: []string{"z.npy", "-q", "x.npy", "--model", "dir", "-k", "3", "--metric", "cosine", "--labels", "y.npy", "--query-labels", "yq.npy", "--images", "x.npy", "--png", "n.png", "-o", "n.csv"},
			want: searchOptions{Index: "z.npy", Query: "x.npy", Model: "dir", K: 3, Metric: "cosine", Labels: "y.npy", QueryLabels: "yq.npy", Images: "x.npy", PNG: "n.png", Output: "n.csv", Probe: 1, RecallCheck: 100}},
		{name: "approximate", args: []string{"z.npy", "-q", "q.npy", "--lists", "8", "--probe", "2", "--recall-queries", "5"},
			want: searchOptions{Index: "z.npy", Query: "q.npy", K: 10, Metric: "l2", Lists: 8, Probe: 2, RecallCheck: 5}},
		{name: "probe above lists", args: []string{"z.npy", "-q", "q.npy", "--lists", "2", "--probe", "3"}, wantErr: "--lists 2 --probe 3: want 1 ≤ probe ≤ lists"},
		{name: "no query", args: []string{"z.npy"}, wantErr: "--query is required"},
		{name: "k 0", args: []string{"z.npy", "-q", "q.npy", "-k", "0"}, wantErr: "-k 0: want at least 1"},
		{name: "query labels alone", args: []string{"z.npy", "-q", "q.npy", "--query-labels", "y.npy"}, wantErr: "--query-labels needs --labels"},
		{name: "png without images", args: []string{"z.npy", "-q", "q.npy", "--png", "n.png"}, wantErr: "--png needs --images"},
		{name: "png without query samples", args: []string{"z.npy", "-q", "q.npy", "--png", "n.png", "--images", "x.npy"}, wantErr: "--png needs the query samples"},
		{name: "metric", args: []string{"z.npy", "-q", "q.npy", "--metric", "dot"}, wantErr: `--metric "dot": want l2 or cosine`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseArgs(t, newCmdSearch, tt.args, tt.wantErr)
			if got == nil {
				return
			}
			got.IO = nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

// TestSearchRun searches a toy index worked by hand: codes 0 1 2 5 6
// labelled 0 0 1 1 1, queries 1.4 (class 0) and 5.4 (class 1), k = 2.
// Query 0 finds rows 1 (0.4) and 2 (0.6): one of two shares its class;
// query 1 finds rows 3 and 4: both do. precision@2 = (½ + 1)/2 = 0.75.
// Each index image i is 2×2 of values (4i + j)/32, query image q
// (20 + 4q + j)/32; the PNG is checked pixel by pixel.
func TestSearchRun(t *testing.T) {
	tmp := t.TempDir()
	p := func(name string) string { return filepath.Join(tmp, name) }
	writeNPYArray(t, p("z.npy"), []int{5, 1}, []float32{0, 1, 2, 5, 6})
	writeNPYArray(t, p("y.npy"), []int{5}, []float32{0, 0, 1, 1, 1})
	writeNPYArray(t, p("q.npy"), []int{2, 1}, []float32{1.4, 5.4})
	writeNPYArray(t, p("yq.npy"), []int{2}, []float32{0, 1})
	img := func(base, n int) []float32 {
		var out []float32
		for i := 0; i < n; i++ {
			for j := 0; j < 4; j++ {
				out = append(out, float32(base+4*i+j)/32)
			}
		}
		return out
	}
	writeNPYArray(t, p("x.npy"), []int{5, 2, 2}, img(0, 5))
	writeNPYArray(t, p("xq.npy"), []int{2, 2, 2}, img(20, 2))
	f, out, _ := testFactory()
	opts := &searchOptions{IO: f.IO, Index: p("z.npy"), Query: p("q.npy"), K: 2, Metric: "l2", Labels: p("y.npy"), QueryLabels: p("yq.npy"),
		Images: p("x.npy"), QueryImages: p("xq.npy"), PNG: p("n.png"), Output: p("n.csv")}
	if err := searchRun(opts); err != nil {
		t.Fatal(err)
	}
	want := "search: 2 queries in 5 codes of 1 values (l2), 2 neighbours each\n" +
		"precision@2: 0.7500\n" +
		"wrote " + p("n.csv") + "\n" +
		"wrote " + p("n.png") + " (2 rows: the query, then its 2 neighbours)\n"
	if got := out.String(); got != want {
		t.Errorf("output: got\n%s\nwant\n%s", got, want)
	}
	csv, err := os.ReadFile(p("n.csv"))
	if err != nil {
		t.Fatal(err)
	}
	// float32 codes: 1.4f − 1 = 0.39999998, 2 − 1.4f = 0.60000002.
	wantCSV := "query,rank,index,distance\n0,1,1,0.399999976\n0,2,2,0.600000024\n1,1,3,0.400000095\n1,2,4,0.599999905\n"
	if string(csv) != wantCSV {
		t.Errorf("csv: got\n%s\nwant\n%s", csv, wantCSV)
	}

	fh, err := os.Open(p("n.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	pic, err := png.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	// 3 cells of 2×2 a row with one-pixel borders: 3·3 + 1 wide, 2·3 + 1 high.
	if b := pic.Bounds(); b.Dx() != 10 || b.Dy() != 7 {
		t.Fatalf("size: got %dx%d, want 10x7", b.Dx(), b.Dy())
	}
	cells := [][]int{{20, 4, 8}, {24, 12, 16}} // the first value (base + 4i) of each cell
	for r, row := range cells {
		for c, base := range row {
			for j := 0; j < 4; j++ {
				x, y := c*3+1+j%2, r*3+1+j/2
				g, _, _, _ := pic.At(x, y).RGBA()
				want := uint32(math.Round(float64(base+j) / 32 * 255))
				if g>>8 != want {
					t.Errorf("cell (%d, %d) pixel %d: got %d, want %d", r, c, j, g>>8, want)
				}
			}
		}
	}
	if g, _, _, _ := pic.At(0, 0).RGBA(); g>>8 != 255 {
		t.Errorf("border: got %d, want 255", g>>8)
	}
}

// TestSearchRunEncodesQueries checks that with --model the queries are
// encoded: searching the index of the samples' own codes finds each
// sample itself first, at distance 0.
func TestSearchRunEncodesQueries(t *testing.T) {
	dir := newModelDir(t, mlpConfig(t, trainer.MLP{Variant: "ae", Input: 8, Hidden: []int{6}, Latent: 3}))
	tmp := t.TempDir()
	x, _, _, _ := probeData(t, tmp, "x", 6, 8, 3)
	f, out, _ := testFactory()
	z := filepath.Join(tmp, "z.npy")
	if err := encodeRun(&encodeOptions{IO: f.IO, Model: dir, Input: x, Output: z, Class: -1}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	csv := filepath.Join(tmp, "n.csv")
	if err := searchRun(&searchOptions{IO: f.IO, Index: z, Query: x, Model: dir, K: 1, Metric: "l2", Output: csv}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(csv)
	if err != nil {
		t.Fatal(err)
	}
	want := "query,rank,index,distance\n0,1,0,0\n1,1,1,0\n2,1,2,0\n3,1,3,0\n4,1,4,0\n5,1,5,0\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestSearchRunRefuses gives search files that do not fit together or
// hold nothing; each must be an error naming the file, never a panic.
func TestSearchRunRefuses(t *testing.T) {
	tmp := t.TempDir()
	p := func(name string) string { return filepath.Join(tmp, name) }
	writeNPYArray(t, p("z.npy"), []int{3, 2}, []float32{0, 0, 1, 1, 2, 2})
	writeNPYArray(t, p("q.npy"), []int{1, 2}, []float32{0, 1})
	writeNPYArray(t, p("q3.npy"), []int{1, 3}, []float32{0, 1, 2})
	writeNPYArray(t, p("empty.npy"), []int{0, 2}, nil)
	writeNPYArray(t, p("nocols.npy"), []int{3, 0}, nil)
	writeNPYArray(t, p("scalar.npy"), []int{}, []float32{1})
	writeNPYArray(t, p("x.npy"), []int{3, 2, 2}, make([]float32, 12))
	writeNPYArray(t, p("x2.npy"), []int{2, 2, 2}, make([]float32, 8))
	writeNPYArray(t, p("y2.npy"), []int{2}, []float32{0, 1})
	writeNPYArray(t, p("y1.npy"), []int{1}, []float32{0})
	writeNPYArray(t, p("xnan.npy"), []int{3, 2, 2}, []float32{0, 0, 0, 0, 0, 0, 0, float32(math.NaN()), 0, 0, 0, 0})
	writeNPYArray(t, p("xq1.npy"), []int{1, 2, 2}, make([]float32, 4))
	tests := []struct {
		name string
		opts searchOptions
		want string
	}{
		{"empty index", searchOptions{Index: p("empty.npy"), Query: p("q.npy")}, "INDEX " + p("empty.npy") + ": shape [0 2]: want (samples, code…) with at least one sample"},
		{"index without columns", searchOptions{Index: p("nocols.npy"), Query: p("q.npy")}, "INDEX " + p("nocols.npy") + ": shape [3 0]"},
		{"scalar index", searchOptions{Index: p("scalar.npy"), Query: p("q.npy")}, "INDEX " + p("scalar.npy") + ": shape []"},
		{"query of another size", searchOptions{Index: p("z.npy"), Query: p("q3.npy")}, "--query " + p("q3.npy") + ": 3 values are not whole codes of 2 values"},
		{"labels of another count", searchOptions{Index: p("z.npy"), Query: p("q.npy"), Labels: p("y2.npy"), QueryLabels: p("y1.npy")}, "--labels " + p("y2.npy") + ": dataset: " + p("y2.npy") + ": labels of shape [2] for 3 samples"},
		{"images of another count", searchOptions{Index: p("z.npy"), Query: p("q.npy"), Images: p("x2.npy"), QueryImages: p("x2.npy"), PNG: p("n.png")}, "--images " + p("x2.npy") + ": shape [2 2 2] for an index of 3 codes"},
		{"scalar images", searchOptions{Index: p("z.npy"), Query: p("q.npy"), Images: p("scalar.npy"), QueryImages: p("x2.npy"), PNG: p("n.png")}, "--images " + p("scalar.npy") + ": shape []"},
		{"NaN in the images", searchOptions{Index: p("z.npy"), Query: p("q.npy"), Images: p("xnan.npy"), QueryImages: p("xq1.npy"), PNG: p("n.png")}, "--images " + p("xnan.npy") + ": sample 1, value 3 is NaN; a picture needs finite values"},
		{"scalar query images", searchOptions{Index: p("z.npy"), Query: p("q.npy"), Images: p("x.npy"), QueryImages: p("scalar.npy"), PNG: p("n.png")}, "--query-images " + p("scalar.npy") + ": shape []: 0 samples for 1 queries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := testFactory()
			o := tt.opts
			o.IO, o.K, o.Metric = f.IO, 2, "l2"
			err := searchRun(&o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
			if _, err := os.Stat(p("n.png")); err == nil {
				t.Errorf("n.png written despite the error")
			}
		})
	}
}

// TestSearchRunApproximate searches the toy index of TestSearchRun with
// an inverted file of all five rows as lists (one row each): probing all
// five is exact, recall 1, and the output says so.
func TestSearchRunApproximate(t *testing.T) {
	tmp := t.TempDir()
	p := func(name string) string { return filepath.Join(tmp, name) }
	writeNPYArray(t, p("z.npy"), []int{5, 1}, []float32{0, 1, 2, 5, 6})
	writeNPYArray(t, p("q.npy"), []int{2, 1}, []float32{1.4, 5.4})
	f, out, _ := testFactory()
	opts := &searchOptions{IO: f.IO, Index: p("z.npy"), Query: p("q.npy"), K: 2, Metric: "l2", Lists: 5, Probe: 5, RecallCheck: 100, Output: p("n.csv")}
	if err := searchRun(opts); err != nil {
		t.Fatal(err)
	}
	want := "search: 2 queries in 5 codes of 1 values (l2), 2 neighbours each\n" +
		"approximate: 5 lists, 5 probed a query; recall@2 against exact search on 2 queries: 1.0000\n" +
		"wrote " + p("n.csv") + "\n"
	if got := out.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	csv, err := os.ReadFile(p("n.csv"))
	if err != nil {
		t.Fatal(err)
	}
	wantCSV := "query,rank,index,distance\n0,1,1,0.399999976\n0,2,2,0.600000024\n1,1,3,0.400000095\n1,2,4,0.599999905\n"
	if string(csv) != wantCSV {
		t.Errorf("csv: got\n%s\nwant\n%s", csv, wantCSV)
	}
}

// TestSearchRunApproximatePNG: with two lists, {0, 1, 2} and {5, 6}, and
// one probed, query 1.4 finds three of its k = 4 neighbours and query 5.4
// two; the picture keeps k + 1 columns and leaves the missing cells black.
func TestSearchRunApproximatePNG(t *testing.T) {
	tmp := t.TempDir()
	p := func(name string) string { return filepath.Join(tmp, name) }
	writeNPYArray(t, p("z.npy"), []int{5, 1}, []float32{0, 1, 2, 5, 6})
	writeNPYArray(t, p("q.npy"), []int{2, 1}, []float32{1.4, 5.4})
	writeNPYArray(t, p("x.npy"), []int{5, 1, 1}, []float32{0.2, 0.4, 0.6, 0.8, 1})
	writeNPYArray(t, p("xq.npy"), []int{2, 1, 1}, []float32{0.1, 0.9})
	f, _, _ := testFactory()
	opts := &searchOptions{IO: f.IO, Index: p("z.npy"), Query: p("q.npy"), K: 4, Metric: "l2", Lists: 2, Probe: 1, RecallCheck: 100,
		Images: p("x.npy"), QueryImages: p("xq.npy"), PNG: p("n.png")}
	if err := searchRun(opts); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(p("n.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	pic, err := png.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	// 5 cells of 1×1 a row: 5·2 + 1 wide, 2·2 + 1 high.
	if b := pic.Bounds(); b.Dx() != 11 || b.Dy() != 5 {
		t.Fatalf("size: got %dx%d, want 11x5", b.Dx(), b.Dy())
	}
	want := [][]float64{{0.1, 0.4, 0.6, 0.2, 0}, {0.9, 0.8, 1, 0, 0}} // query, neighbours nearest first, blanks
	for r, row := range want {
		for c, v := range row {
			g, _, _, _ := pic.At(c*2+1, r*2+1).RGBA()
			if w := uint32(math.Round(float64(float32(v)) * 255)); g>>8 != w {
				t.Errorf("cell (%d, %d): got %d, want %d", r, c, g>>8, w)
			}
		}
	}
}
