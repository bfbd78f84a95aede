package graph

import (
	"errors"
	"strings"
	"testing"
)

func node(name, op string, in []string, out ...string) *Node {
	return &Node{Name: name, Op: op, Inputs: in, Outputs: out}
}

// TestOrder checks the topological order of graphs that are not chains
// (a residual Add, a diamond, nodes listed backwards) and the errors for
// graphs that do not hold together.
func TestOrder(t *testing.T) {
	params := map[string]*Tensor{"enc.weight": NewTensor(4, 4), "enc.bias": NewTensor(4)}
	tests := []struct {
		name    string
		nodes   []*Node
		outputs []string
		marks   map[string]string
		want    []string // node names in order
		wantErr string
	}{
		{
			name: "residual",
			nodes: []*Node{
				node("add", "Add", []string{"x", "h"}, "y"),
				node("relu", "Relu", []string{"g"}, "h"),
				node("gemm", "Gemm", []string{"x", "enc.weight", "enc.bias"}, "g"),
			},
			outputs: []string{"y"},
			marks:   map[string]string{MarkCode: "h"},
			want:    []string{"gemm", "relu", "add"},
		},
		{
			name: "diamond in list order",
			nodes: []*Node{
				node("a", "Relu", []string{"x"}, "p"),
				node("b", "Sigmoid", []string{"x"}, "q"),
				node("c", "Mul", []string{"p", "q"}, "y"),
			},
			outputs: []string{"y"},
			want:    []string{"a", "b", "c"},
		},
		{
			name:    "optional input left out",
			nodes:   []*Node{node("gemm", "Gemm", []string{"x", "enc.weight", ""}, "y")},
			outputs: []string{"y"},
			want:    []string{"gemm"},
		},
		{
			name: "cycle",
			nodes: []*Node{
				node("a", "Add", []string{"x", "q"}, "p"),
				node("b", "Relu", []string{"p"}, "q"),
			},
			outputs: []string{"q"},
			wantErr: `graph: node "a" (Add): on a cycle (or after one)`,
		},
		{
			name:    "missing input",
			nodes:   []*Node{node("a", "Add", []string{"x", "z"}, "y")},
			outputs: []string{"y"},
			wantErr: `graph: node "a" (Add): tensor "z": no graph input, parameter or node output`,
		},
		{
			name:    "written twice",
			nodes:   []*Node{node("a", "Relu", []string{"x"}, "y"), node("b", "Tanh", []string{"x"}, "y")},
			outputs: []string{"y"},
			wantErr: `graph: node "b" (Tanh): tensor "y": also written by node "a"`,
		},
		{
			name:    "writes a parameter",
			nodes:   []*Node{node("a", "Relu", []string{"x"}, "enc.bias")},
			outputs: []string{"enc.bias"},
			wantErr: `graph: node "a" (Relu): tensor "enc.bias": written, but is a graph input or parameter`,
		},
		{
			name:    "output names nothing",
			nodes:   []*Node{node("a", "Relu", []string{"x"}, "y")},
			outputs: []string{"z"},
			wantErr: `graph: tensor "z": a graph output, but no tensor`,
		},
		{
			name:    "mark names nothing",
			nodes:   []*Node{node("a", "Relu", []string{"x"}, "y")},
			outputs: []string{"y"},
			marks:   map[string]string{MarkMu: "mu"},
			wantErr: `graph: tensor "mu": marked "mu", but no tensor`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Graph{Inputs: []Value{{Name: "x", Shape: []int{-1, 4}}}, Outputs: tt.outputs, Params: params, Nodes: tt.nodes, Marks: tt.marks}
			order, err := g.Order()
			if tt.wantErr != "" {
				var ne *NodeError
				if err == nil || err.Error() != tt.wantErr || !errors.As(err, &ne) {
					t.Fatalf("got error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, n := range order {
				names = append(names, n.Name)
			}
			if got, want := strings.Join(names, " "), strings.Join(tt.want, " "); got != want {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestNodeAttributes(t *testing.T) {
	n := &Node{Op: "Gemm", Attrs: map[string]Attribute{"alpha": Float(0.5), "transB": Int(1)}}
	tests := []struct {
		name      string
		got, want float64
	}{
		{"alpha", float64(n.Float("alpha", 1)), 0.5},
		{"beta default", float64(n.Float("beta", 1)), 1},
		{"transB", float64(n.Int("transB", 0)), 1},
		{"transA default", float64(n.Int("transA", 0)), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}
