package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// LibraryEnv is the environment variable that names the ONNX Runtime shared
// library, consulted when no library is given with WithLibrary.
const LibraryEnv = "ONNXRUNTIME_SHARED_LIBRARY_PATH"

// SetupPath is where `make setup` installs the library, relative to the
// repository root. FindLibrary looks for it above the working directory and
// above the running executable.
const SetupPath = ".deps/onnxruntime/libonnxruntime.so.1"

// InstallHint is the command that installs the library.
const InstallHint = "run `make setup` in the aebridge repository (it installs " + SetupPath +
	" from the npm package onnxruntime-node), or set " + LibraryEnv + " to a libonnxruntime.so"

// systemDirs are searched, after LD_LIBRARY_PATH, for a system-wide install.
var systemDirs = []string{"/usr/local/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/opt/onnxruntime/lib"}

var libraryNames = []string{"libonnxruntime.so", "libonnxruntime.so.1"}

// LibraryError reports that the ONNX Runtime shared library was not found.
type LibraryError struct {
	Tried  []string // every place looked at, in order
	Reason string   // why the search stopped, if a named file was missing
}

func (e *LibraryError) Error() string {
	var b strings.Builder
	b.WriteString("runtime: ONNX Runtime shared library not found")
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	b.WriteString("; looked in:")
	for _, t := range e.Tried {
		b.WriteString("\n  " + t)
	}
	b.WriteString("\nTo install it, " + InstallHint + ".")
	return b.String()
}

// FindLibrary returns the path of the ONNX Runtime shared library: explicit
// if it is not empty, else the file named by $ONNXRUNTIME_SHARED_LIBRARY_PATH,
// else the copy `make setup` installed (SetupPath, above the working
// directory or the executable), else a libonnxruntime.so in LD_LIBRARY_PATH
// or the system's library folders. A path given explicitly or through the
// environment must exist: the search does not go past it.
func FindLibrary(explicit string) (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	dirs := append(filepath.SplitList(os.Getenv("LD_LIBRARY_PATH")), systemDirs...)
	return findLibrary(explicit, os.Getenv(LibraryEnv), starts, dirs)
}

func findLibrary(explicit, fromEnv string, starts, dirs []string) (string, error) {
	if explicit != "" {
		if isFile(explicit) {
			return explicit, nil
		}
		return "", &LibraryError{Tried: []string{explicit + " (given explicitly)"}, Reason: explicit + " does not exist"}
	}
	if fromEnv != "" {
		if isFile(fromEnv) {
			return fromEnv, nil
		}
		return "", &LibraryError{Tried: []string{fromEnv + " (from $" + LibraryEnv + ")"}, Reason: "$" + LibraryEnv + " names " + fromEnv + ", which does not exist"}
	}
	tried := []string{"$" + LibraryEnv + " (not set)"}
	seen := map[string]bool{}
	for _, start := range starts {
		for dir := start; ; dir = filepath.Dir(dir) {
			p := filepath.Join(dir, SetupPath)
			if !seen[p] {
				seen[p] = true
				tried = append(tried, p)
				if isFile(p) {
					return p, nil
				}
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		for _, name := range libraryNames {
			p := filepath.Join(dir, name)
			if seen[p] {
				continue
			}
			seen[p] = true
			tried = append(tried, p)
			if isFile(p) {
				return p, nil
			}
		}
	}
	return "", &LibraryError{Tried: tried}
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// env is the process-wide ONNX Runtime environment: the binding loads one
// shared library per process, so the first successful start fixes it.
var env struct {
	sync.Mutex
	path string // the library loaded; "" until started
}

// start loads the library (found as FindLibrary finds it) and initialises the
// ONNX Runtime environment, once per process. Asking later for a different
// library is an error.
func start(explicit string) (string, error) {
	env.Lock()
	defer env.Unlock()
	if env.path != "" {
		if explicit != "" && !sameFile(explicit, env.path) {
			return "", fmt.Errorf("runtime: ONNX Runtime is already loaded from %s; cannot switch to %s in the same process", env.path, explicit)
		}
		return env.path, nil
	}
	path, err := FindLibrary(explicit)
	if err != nil {
		return "", err
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return "", fmt.Errorf("runtime: load ONNX Runtime from %s: %w (is it a libonnxruntime.so for this machine's architecture?)", path, err)
	}
	env.path = path
	return path, nil
}

func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// Library describes the loaded ONNX Runtime shared library.
type Library struct {
	Path      string   // the file loaded
	Version   string   // ONNX Runtime's version, such as "1.30.0"
	Providers []string // execution providers it can use: "cpu", and "cuda" where it has CUDA
	NoCUDA    error    // why CUDA cannot be used, or nil
}

// Load loads the ONNX Runtime library (path, or as FindLibrary finds it when
// path is "") if no model has done so yet, and describes it.
func Load(path string) (*Library, error) {
	p, err := start(path)
	if err != nil {
		return nil, err
	}
	lib := &Library{Path: p, Version: ort.GetVersion(), Providers: []string{"cpu"}}
	// CUDA is usable when its provider can be appended to a session.
	if lib.NoCUDA = cudaError(); lib.NoCUDA == nil {
		lib.Providers = append(lib.Providers, "cuda")
	}
	return lib, nil
}

// ErrNoCUDA is wrapped by the error Open returns when CUDA was asked for and
// the loaded ONNX Runtime library cannot provide it.
var ErrNoCUDA = errors.New("no CUDA execution provider")

// cudaError reports, in ONNX Runtime's words, why CUDA cannot be used with
// the loaded library, or nil.
func cudaError() error {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return err
	}
	defer so.Destroy()
	return tryCUDA(so, 0)
}

// appendCUDA adds the CUDA provider for device to so, or says plainly why it
// cannot.
func appendCUDA(so *ort.SessionOptions, libPath string, device int) error {
	if err := tryCUDA(so, device); err != nil {
		return fmt.Errorf("runtime: CUDA was requested, but the ONNX Runtime library %s has %w (ONNX Runtime said: %v); "+
			"use a CUDA build of ONNX Runtime with libonnxruntime_providers_cuda.so beside it, or allow falling back to the CPU",
			libPath, ErrNoCUDA, err)
	}
	return nil
}

func tryCUDA(so *ort.SessionOptions, device int) error {
	opts, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return ortError(err)
	}
	defer opts.Destroy()
	if err := opts.Update(map[string]string{"device_id": fmt.Sprint(device)}); err != nil {
		return ortError(err)
	}
	if err := so.AppendExecutionProviderCUDA(opts); err != nil {
		return ortError(err)
	}
	return nil
}

// ortStatusPrefix matches the source location and code ONNX Runtime puts
// before its messages.
var ortStatusPrefix = regexp.MustCompile(`^.*\[ONNXRuntimeError\] : \d+ : \w+ : `)

// ortError keeps the message of an ONNX Runtime error and drops the source
// location before it.
func ortError(err error) error {
	msg := ortStatusPrefix.ReplaceAllString(err.Error(), "")
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}
