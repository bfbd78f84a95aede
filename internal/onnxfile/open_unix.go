//go:build unix

package onnxfile

import "syscall"

// nonblock keeps opening a FIFO from blocking until a writer appears.
const nonblock = syscall.O_NONBLOCK
