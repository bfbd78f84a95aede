package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/codes"
	"github.com/aebridge/aebridge/dataset"
	"github.com/aebridge/aebridge/internal/atomicfile"
	"github.com/aebridge/aebridge/internal/imgrid"
	"github.com/aebridge/aebridge/internal/npy"
	"github.com/aebridge/aebridge/runtime"
)

type searchOptions struct {
	IO          *iostreams
	Library     string
	Index       string // codes.npy
	Query       string
	Model       string // encodes the queries; "" when they are codes
	K           int
	Metric      string
	Labels      string
	QueryLabels string
	Images      string
	QueryImages string
	PNG         string
	Output      string
	RawInput    bool
	Lists       int // 0: exact search
	Probe       int
	RecallCheck int // queries checked against exact search
}

func newCmdSearch(f *factory, runF func(*searchOptions) error) *cobra.Command {
	opts := &searchOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "search INDEX.npy --query Q.npy [--model DIR] -k 10 [--labels Y.npy --query-labels YQ.npy] [--images X.npy --png OUT.png] [--output OUT.csv]",
		Short: "Find the nearest codes of queries in an index of codes",
		Long: `Search in code space. INDEX.npy holds the codes of a data set, one sample a
row, as aebridge encode writes them; --query holds the queries: samples,
encoded first by --model (a model directory or an encoder ONNX file, as
aebridge encode runs it), or, without --model, codes of the index's size.
Each query's k nearest index rows are found by exact search (every query
against every row) under --metric l2 (Euclidean) or cosine (1 − cos θ);
equal distances go in row order. --lists L searches approximately instead,
for large indexes: an inverted file of L k-means lists (10 rounds), each
query compared with the rows of its --probe nearest lists only; the
recall@k of that search against the exact one is measured on the first
--recall-queries queries and printed.

--query, --images and --query-images take references too: .npy files,
data set splits such as fashion-mnist:test[:100], CSV or IDX files,
folders of PNG images. --labels and --query-labels (.npy of one class per
sample; a query reference that brings labels, such as a data set split,
needs no --query-labels) print precision@k: the mean over queries of the fraction of their k neighbours
that share the query's class. --output writes the neighbours as CSV
(query,rank,index,distance). --png draws one row per query: the query,
then its neighbours, nearest first, from --images (the samples the index
was encoded from) and the query samples (--query itself with --model,
else --query-images).`,
		Example: `  aebridge encode out/ --input train.npy --output index.npy
  aebridge search index.npy --model out/ --query test.npy -k 10 --images train.npy --png neighbours.png \
      --labels train_labels.npy --query-labels test_labels.npy`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Index = args[0]
			opts.Library = f.Library
			if opts.Query == "" {
				return &flagError{errors.New("--query is required")}
			}
			if opts.K < 1 {
				return &flagError{fmt.Errorf("-k %d: want at least 1", opts.K)}
			}
			if _, err := codes.ParseMetric(opts.Metric); err != nil {
				return &flagError{fmt.Errorf("--metric %q: want l2 or cosine", opts.Metric)}
			}
			if opts.Labels == "" && opts.QueryLabels != "" {
				return &flagError{errors.New("--query-labels needs --labels, the classes of the index rows")}
			}
			if opts.PNG != "" {
				if err := checkExt("--png", opts.PNG, ".png"); err != nil {
					return err
				}
				if opts.Images == "" {
					return &flagError{errors.New("--png needs --images, the samples the index was encoded from")}
				}
				if opts.Model == "" && opts.QueryImages == "" {
					return &flagError{errors.New("--png needs the query samples: give --model (the queries are samples) or --query-images")}
				}
			}
			if opts.Lists < 0 || opts.Lists > 0 && (opts.Probe < 1 || opts.Probe > opts.Lists) {
				return &flagError{fmt.Errorf("--lists %d --probe %d: want 1 ≤ probe ≤ lists (or --lists 0, exact search)", opts.Lists, opts.Probe)}
			}
			if opts.RecallCheck < 1 {
				return &flagError{fmt.Errorf("--recall-queries %d: want at least 1", opts.RecallCheck)}
			}
			if opts.Output != "" {
				if err := checkExt("--output", opts.Output, ".csv"); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return searchRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Query, "query", "q", "", "queries, `Q.npy`: samples with --model, else codes")
	fl.StringVar(&opts.Model, "model", "", "encode the queries with `MODEL|DIR`")
	fl.IntVarP(&opts.K, "k", "k", 10, "neighbours per query")
	fl.StringVar(&opts.Metric, "metric", "l2", "distance: l2 or cosine")
	fl.StringVar(&opts.Labels, "labels", "", "classes of the index rows, `Y.npy`")
	fl.StringVar(&opts.QueryLabels, "query-labels", "", "classes of the queries, `YQ.npy`")
	fl.StringVar(&opts.Images, "images", "", "the samples the index was encoded from, `X.npy`, for --png")
	fl.StringVar(&opts.QueryImages, "query-images", "", "the query samples, `X.npy`, for --png when --query holds codes")
	fl.StringVar(&opts.PNG, "png", "", "draw each query and its neighbours to `OUT.png`")
	fl.StringVarP(&opts.Output, "output", "o", "", "write the neighbours to `OUT.csv`")
	fl.BoolVar(&opts.RawInput, "raw-input", false, "feed uint8 input unscaled, even to a model that divides it by 255")
	fl.IntVar(&opts.Lists, "lists", 0, "search approximately in an inverted file of `L` lists (0: exact search)")
	fl.IntVar(&opts.Probe, "probe", 1, "lists searched per query with --lists")
	fl.IntVar(&opts.RecallCheck, "recall-queries", 100, "queries whose approximate neighbours are checked against exact search")
	return cmd
}

// rows returns an array's rows and their length.
func rows(a *npy.Array) (n, d int) {
	if len(a.Shape) == 0 || a.Shape[0] == 0 {
		return 0, 0
	}
	return a.Shape[0], len(a.Data) / a.Shape[0]
}

func searchRun(opts *searchOptions) error {
	index, err := npy.ReadFile(opts.Index)
	if err != nil {
		return fmt.Errorf("INDEX %s: %w", opts.Index, err)
	}
	n, d := rows(index)
	if n == 0 || d == 0 || len(index.Shape) < 2 {
		return fmt.Errorf("INDEX %s: shape %v: want (samples, code…) with at least one sample", opts.Index, index.Shape)
	}
	var queries []float32
	var querySamples *npy.Array // the query inputs, for the picture
	var queryLabels []int       // the classes the query reference brings
	if opts.Model != "" {
		path := modelFile(opts.Model, runtime.EncoderFile)
		model, err := runtime.Open(path, runtime.WithLibrary(opts.Library))
		if err != nil {
			return err
		}
		defer model.Close()
		x, cond, labels, err := readModelInput(opts.IO, model, "--query", opts.Query, opts.RawInput, -1, "")
		if err != nil {
			return err
		}
		queryLabels = labels
		z, err := model.Encode(x, cond...)
		if err != nil {
			return inputFlagError("--query", opts.Query, err)
		}
		queries = z.Data
		shape := make([]int, len(x.Shape))
		for i, v := range x.Shape {
			shape[i] = int(v)
		}
		querySamples = &npy.Array{Shape: shape, Data: x.Data}
	} else {
		q, err := npy.ReadFile(opts.Query)
		if err != nil {
			return fmt.Errorf("--query %s: %w", opts.Query, err)
		}
		queries = q.Data
	}
	if len(queries)%d != 0 || len(queries) == 0 {
		return fmt.Errorf("--query %s: %d values are not whole codes of %d values, as INDEX %s holds (shape %v)", opts.Query, len(queries), d, opts.Index, index.Shape)
	}
	m := len(queries) / d
	ix, err := codes.NewIndex(index.Data, d, codes.Metric(opts.Metric))
	if err != nil {
		return fmt.Errorf("INDEX %s: %w", opts.Index, err)
	}
	var nbs [][]codes.Neighbor
	var recall string
	if opts.Lists > 0 {
		ivf, err := codes.NewIVF(ix, opts.Lists, opts.Probe, 10, 1)
		if err != nil {
			return fmt.Errorf("INDEX %s: %w", opts.Index, err)
		}
		if nbs, err = ivf.Search(queries, opts.K); err != nil {
			return fmt.Errorf("--query %s: %w", opts.Query, err)
		}
		c := min(opts.RecallCheck, m)
		exact, err := ix.Search(queries[:c*d], opts.K, nil)
		if err != nil {
			return fmt.Errorf("--query %s: %w", opts.Query, err)
		}
		r, err := codes.Recall(nbs[:c], exact)
		if err != nil {
			return err
		}
		recall = fmt.Sprintf("approximate: %d lists, %d probed a query; recall@%d against exact search on %d queries: %.4f\n", opts.Lists, opts.Probe, len(exact[0]), c, r)
	} else if nbs, err = ix.Search(queries, opts.K, nil); err != nil {
		return fmt.Errorf("--query %s: %w", opts.Query, err)
	}
	k := min(opts.K, n)
	fmt.Fprintf(opts.IO.Out, "search: %d queries in %d codes of %d values (%s), %d neighbours each\n", m, n, d, opts.Metric, k) // an approximate search may find fewer
	fmt.Fprint(opts.IO.Out, recall)
	if opts.Labels != "" {
		yi, err := dataset.LoadLabels(opts.Labels, n)
		if err != nil {
			return fmt.Errorf("--labels %s: %w", opts.Labels, err)
		}
		yq := queryLabels
		switch {
		case opts.QueryLabels != "":
			if yq, err = dataset.LoadLabels(opts.QueryLabels, m); err != nil {
				return fmt.Errorf("--query-labels %s: %w", opts.QueryLabels, err)
			}
		case yq == nil:
			return &flagError{fmt.Errorf("--labels needs --query-labels: --query %s brings no labels", opts.Query)}
		}
		p, err := codes.PrecisionAtK(nbs, yi, yq)
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.Out, "precision@%d: %.4f\n", k, p)
	}
	if opts.Output != "" {
		err := atomicfile.Write(opts.Output, func(w io.Writer) error {
			if _, err := fmt.Fprintln(w, "query,rank,index,distance"); err != nil {
				return err
			}
			for qi, list := range nbs {
				for r, nb := range list {
					if _, err := fmt.Fprintf(w, "%d,%d,%d,%s\n", qi, r+1, nb.Index, strconv.FormatFloat(nb.Distance, 'g', 9, 64)); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("--output %s: %w", opts.Output, err)
		}
		fmt.Fprintf(opts.IO.Out, "wrote %s\n", opts.Output)
	}
	if opts.PNG != "" {
		if err := searchPNG(opts, nbs, n, k, querySamples); err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.Out, "wrote %s (%d rows: the query, then its %d neighbours)\n", opts.PNG, m, k)
	}
	return nil
}

// searchPNG draws one row per query: its sample, then its neighbours' (up
// to k; an approximate search may find fewer, left blank).
func searchPNG(opts *searchOptions, nbs [][]codes.Neighbor, n, k int, querySamples *npy.Array) error {
	images, _, err := readArray("--images", opts.Images)
	if err != nil {
		return err
	}
	if len(images.Shape) < 2 || images.Shape[0] != n {
		return fmt.Errorf("--images %s: shape %v for an index of %d codes; want (%d, image…)", opts.Images, images.Shape, n, n)
	}
	if querySamples == nil {
		if querySamples, _, err = readArray("--query-images", opts.QueryImages); err != nil {
			return err
		}
		if qn, _ := rows(querySamples); qn != len(nbs) {
			return fmt.Errorf("--query-images %s: shape %v: %d samples for %d queries", opts.QueryImages, querySamples.Shape, qn, len(nbs))
		}
	}
	c, h, w, err := imgrid.Shape(images.Shape[1:])
	if err != nil {
		return fmt.Errorf("--images %s: %w", opts.Images, err)
	}
	size := c * h * w
	if _, qd := rows(querySamples); qd != size {
		return fmt.Errorf("--png: query samples of %d values, but --images %s holds images of %d×%d×%d", qd, opts.Images, c, h, w)
	}
	if images.DType == "uint8" { // as the loaders scale 8-bit images
		for i, v := range images.Data {
			images.Data[i] = v / 255
		}
	}
	for _, a := range []struct {
		flag, file string
		x          *npy.Array
	}{{"--images", opts.Images, images}, {"--query-images", opts.QueryImages, querySamples}} {
		for i, v := range a.x.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%s %s: sample %d, value %d is %v; a picture needs finite values", a.flag, a.file, i/size, i%size, v)
			}
		}
	}
	cols := k + 1
	grid := make([]float32, 0, len(nbs)*cols*size)
	for qi, list := range nbs {
		grid = append(grid, querySamples.Data[qi*size:(qi+1)*size]...)
		for _, nb := range list {
			grid = append(grid, images.Data[nb.Index*size:(nb.Index+1)*size]...)
		}
		for r := len(list); r < cols-1; r++ { // fewer rows than k: blank cells
			grid = append(grid, make([]float32, size)...)
		}
	}
	if err := imgrid.WriteFile(opts.PNG, grid, len(nbs)*cols, c, h, w, cols); err != nil {
		return fmt.Errorf("--png %s: %w", opts.PNG, err)
	}
	return nil
}
