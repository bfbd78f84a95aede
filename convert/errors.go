package convert

import (
	"fmt"
	"slices"
	"strings"
)

// Node identifies an ONNX node in errors.
type Node struct {
	Op     string
	Name   string
	Inputs []string
	Reason string // why it could not be placed
}

func (n Node) String() string {
	s := n.Op
	if n.Name != "" {
		s += fmt.Sprintf(" %q", n.Name)
	}
	if len(n.Inputs) > 0 {
		s += fmt.Sprintf(" (inputs %s)", strings.Join(n.Inputs, ", "))
	}
	if n.Reason != "" {
		s += ": " + n.Reason
	}
	return s
}

// UnsupportedError reports a valid graph that uses what ReadFile and Decode
// do not turn into trainer layers, or ReadGraph and DecodeGraph into graph
// nodes, listing every such node.
type UnsupportedError struct {
	File  string
	Nodes []Node
}

func (e *UnsupportedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "convert: %s: %d node(s) not supported:", e.File, len(e.Nodes))
	for _, n := range e.Nodes {
		b.WriteString("\n  " + n.String())
	}
	return b.String()
}

// Ops returns the op types of the nodes listed, sorted, each once.
func (e *UnsupportedError) Ops() []string {
	var ops []string
	for _, n := range e.Nodes {
		if !slices.Contains(ops, n.Op) {
			ops = append(ops, n.Op)
		}
	}
	slices.Sort(ops)
	return ops
}

// FormatError reports a malformed graph: a node whose inputs, outputs,
// attributes or tensors are not what its operator requires. Field names
// the part of the node at fault ("input 1", "attribute strides",
// "output 0") when there is one.
type FormatError struct {
	File   string
	Node   Node
	Field  string
	Tensor string
	Reason string
	Err    error // the error Reason comes from, if any (errors.Is/As see it)
}

// Unwrap returns the error the reason comes from, or nil.
func (e *FormatError) Unwrap() error { return e.Err }

func (e *FormatError) Error() string {
	s := "convert: " + e.File
	if e.Node.Op != "" || e.Node.Name != "" {
		s += fmt.Sprintf(": node %s %q", e.Node.Op, e.Node.Name)
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.Tensor != "" {
		s += fmt.Sprintf(": tensor %q", e.Tensor)
	}
	return s + ": " + e.Reason
}

// CodeError reports an Options.Code that names no tensor the graph can be
// cut at into encoder and decoder. Candidates lists those it can be cut
// at, each quoted with its per-sample shape.
type CodeError struct {
	File       string
	Code       string
	Reason     string
	Candidates []string
}

func (e *CodeError) Error() string {
	s := fmt.Sprintf("convert: %s: code %q %s", e.File, e.Code, e.Reason)
	if len(e.Candidates) > 0 {
		s += "; the graph can be cut at " + strings.Join(e.Candidates, ", ")
	}
	return s
}
