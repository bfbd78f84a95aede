// Command aebridge trains, exports, runs, inspects, converts and checks
// autoencoders between Go, ONNX and PyTorch.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/aebridge/aebridge/trainer"
)

func main() {
	os.Exit(mainRun(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// mainRun runs the command line args and returns the exit status: 0 on
// success, 1 on failure, 2 on a usage error.
func mainRun(args []string, in io.Reader, out, errOut io.Writer) int {
	f := newFactory(in, out, errOut)
	root := newRootCmd(f)
	root.SetArgs(args)
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errOut)
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	fmt.Fprintln(errOut, "aebridge: "+errorText(err.Error()))
	var fe *flagError
	if errors.As(err, &fe) {
		fmt.Fprintf(errOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return 2
	}
	return 1
}

func newRootCmd(f *factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "aebridge",
		Short: "Autoencoders between Go, ONNX and PyTorch",
		Long: `aebridge trains autoencoders in Go, exports them to ONNX, and runs, inspects
and checks ONNX autoencoders — its own, PyTorch's, Keras' — through ONNX
Runtime.`,
		Version:       trainer.Version,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.PersistentFlags().StringVar(&f.Library, "onnxruntime", "", "`path` of the ONNX Runtime shared library (default: $ONNXRUNTIME_SHARED_LIBRARY_PATH, then the copy that make setup installs)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err} })
	root.AddCommand(
		newCmdTrain(f, nil),
		newCmdExport(f, nil),
		newCmdRun(f, nil),
		newCmdInspect(f, nil),
		newCmdCheck(f, nil),
		newCmdConvert(f, nil),
		newCmdSample(f, nil),
		newCmdInterpolate(f, nil),
		newCmdDoctor(f, nil),
		newCmdScore(f, nil),
		newCmdCalibrate(f, nil),
		newCmdEncode(f, nil),
		newCmdDecode(f, nil),
		newCmdServe(f, nil),
		newCmdProbe(f, nil),
		newCmdSearch(f, nil),
		newCmdFilters(f, nil),
		newCmdDenoise(f, nil),
		newCmdData(f),

		newCmdOps(f, nil),
	)
	for _, c := range root.Commands() {
		wrapArgs(c)
	}
	return root
}

// wrapArgs makes a command's argument-count errors usage errors.
func wrapArgs(c *cobra.Command) {
	if c.Args == nil {
		return
	}
	check := c.Args
	c.Args = func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &flagError{err}
		}
		return nil
	}
}
