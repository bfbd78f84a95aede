package graph

import (
	"fmt"
	"slices"
)

// Graph is a model as a DAG of ONNX-shaped nodes over named tensors. Each
// tensor is a graph input, a parameter or the output of exactly one node.
type Graph struct {
	Inputs  []Value            // the graph's inputs, in order; a dimension −1 is the batch
	Outputs []string           // the tensors the graph returns, in order
	Params  map[string]*Tensor // the parameters, under PyTorch state-dict names (ONNX initializers)
	Nodes   []*Node            // in any order; Order sorts them
	// Marks names tensors by role: MarkCode, MarkMu, MarkLogVar. The
	// encoder is the subgraph up to a marked tensor, the decoder the one
	// after it.
	Marks map[string]string
}

// The roles of marked tensors.
const (
	MarkCode   = "code"   // the code of a plain autoencoder
	MarkMu     = "mu"     // μ of a variational bottleneck
	MarkLogVar = "logvar" // log σ² of a variational bottleneck
)

// Value is a named graph input: its shape (−1 for the batch dimension) and
// element type (Float32 unless given).
type Value struct {
	Name  string
	Shape []int
	Type  DType
}

// Node is one operator application, as an ONNX NodeProto has it: the op
// type and attributes of ONNX's operator set (Op "Gemm", attribute
// "transB"), and the names of the tensors it reads and writes. An input
// or output named "" is an optional one left out.
type Node struct {
	Name    string
	Op      string
	Inputs  []string
	Outputs []string
	Attrs   map[string]Attribute
}

// AttrType is the type of an attribute's value, as ONNX's
// AttributeProto.AttributeType has it.
type AttrType uint8

// The attribute types.
const (
	AttrUndefined AttrType = iota
	AttrFloat
	AttrInt
	AttrString
	AttrTensor
	AttrFloats
	AttrInts
)

var attrTypeNames = [...]string{"undefined", "float", "int", "string", "tensor", "floats", "ints"}

func (t AttrType) String() string {
	if int(t) < len(attrTypeNames) {
		return attrTypeNames[t]
	}
	return fmt.Sprintf("AttrType(%d)", uint8(t))
}

// Attribute is an ONNX attribute value: its type, and the field of that
// type. Make one with Float, Int, String, Floats, Ints or TensorAttr.
type Attribute struct {
	Type   AttrType
	Float  float32
	Int    int64
	String string
	Floats []float32
	Ints   []int64
	Tensor *Tensor
}

// Float is a float attribute.
func Float(v float32) Attribute { return Attribute{Type: AttrFloat, Float: v} }

// Int is an integer attribute.
func Int(v int64) Attribute { return Attribute{Type: AttrInt, Int: v} }

// String is a string attribute.
func String(v string) Attribute { return Attribute{Type: AttrString, String: v} }

// Floats is a float list attribute.
func Floats(v ...float32) Attribute { return Attribute{Type: AttrFloats, Floats: v} }

// Ints is an integer list attribute.
func Ints(v ...int64) Attribute { return Attribute{Type: AttrInts, Ints: v} }

// TensorAttr is a tensor attribute (Constant's value).
func TensorAttr(t *Tensor) Attribute { return Attribute{Type: AttrTensor, Tensor: t} }

// Float returns the float attribute name, or def if the node has none.
func (n *Node) Float(name string, def float32) float32 {
	if a, ok := n.Attrs[name]; ok {
		return a.Float
	}
	return def
}

// Int returns the integer attribute name, or def if the node has none.
func (n *Node) Int(name string, def int64) int64 {
	if a, ok := n.Attrs[name]; ok {
		return a.Int
	}
	return def
}

// NodeError is a graph that does not hold together at one node: a tensor
// without a producer, produced twice, a cycle, an unknown op, shapes that
// do not fit.
type NodeError struct {
	Node   string // the node's name
	Op     string // its op type
	Tensor string // the tensor involved, if any
	Reason string
}

func (e *NodeError) Error() string {
	s := "graph: "
	if e.Node != "" || e.Op != "" {
		s += fmt.Sprintf("node %q (%s): ", e.Node, e.Op)
	}
	if e.Tensor != "" {
		s += fmt.Sprintf("tensor %q: ", e.Tensor)
	}
	return s + e.Reason
}

// Order returns the nodes in topological order (each after the producers of
// its inputs, ties kept in g.Nodes' order). It returns a *NodeError if a
// node reads a tensor that no node, input or parameter provides, if a
// tensor is written twice or is also an input or parameter, if the nodes
// form a cycle, or if a graph output or mark names no tensor.
func (g *Graph) Order() ([]*Node, error) {
	producer := map[string]int{}
	given := map[string]bool{}
	for _, v := range g.Inputs {
		given[v.Name] = true
	}
	for name := range g.Params {
		given[name] = true
	}
	for i, n := range g.Nodes {
		for _, out := range n.Outputs {
			if out == "" {
				continue
			}
			if j, ok := producer[out]; ok {
				return nil, &NodeError{Node: n.Name, Op: n.Op, Tensor: out, Reason: fmt.Sprintf("also written by node %q", g.Nodes[j].Name)}
			}
			if given[out] {
				return nil, &NodeError{Node: n.Name, Op: n.Op, Tensor: out, Reason: "written, but is a graph input or parameter"}
			}
			producer[out] = i
		}
	}
	// Kahn's algorithm over node indices; pending counts unmet inputs.
	pending := make([]int, len(g.Nodes))
	users := make([][]int, len(g.Nodes))
	for i, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in == "" || given[in] {
				continue
			}
			j, ok := producer[in]
			if !ok {
				return nil, &NodeError{Node: n.Name, Op: n.Op, Tensor: in, Reason: "no graph input, parameter or node output"}
			}
			pending[i]++
			users[j] = append(users[j], i)
		}
	}
	var ready, order []int
	for i := range g.Nodes {
		if pending[i] == 0 {
			ready = append(ready, i)
		}
	}
	for len(ready) > 0 {
		slices.Sort(ready)
		i := ready[0]
		ready = ready[1:]
		order = append(order, i)
		for _, u := range users[i] {
			if pending[u]--; pending[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(order) < len(g.Nodes) {
		for i, n := range g.Nodes {
			if pending[i] > 0 {
				return nil, &NodeError{Node: n.Name, Op: n.Op, Reason: "on a cycle (or after one)"}
			}
		}
	}
	known := func(t string) bool { _, ok := producer[t]; return ok || given[t] }
	for _, out := range g.Outputs {
		if !known(out) {
			return nil, &NodeError{Tensor: out, Reason: "a graph output, but no tensor"}
		}
	}
	for role, t := range g.Marks {
		if !known(t) {
			return nil, &NodeError{Tensor: t, Reason: fmt.Sprintf("marked %q, but no tensor", role)}
		}
	}
	nodes := make([]*Node, len(order))
	for k, i := range order {
		nodes[k] = g.Nodes[i]
	}
	return nodes, nil
}
