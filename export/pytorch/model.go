package pytorch

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aebridge/aebridge/graph"
	"github.com/aebridge/aebridge/internal/safetensors"
)

// Options names what the generated files say about their origin.
type Options struct {
	Source  string // the model directory or file the graph comes from
	Version string // aebridge's version
	// LogVarMin and LogVarMax clip log σ² when a variational model
	// samples in training (0, 0: −30 and 20, the trainer's defaults).
	LogVarMin, LogVarMax float64
}

// Package is a generated PyTorch package: model.py, train.py, a README
// and the weights under the module's state-dict names.
type Package struct {
	Model   []byte // model.py
	Train   []byte // train.py
	Readme  []byte // README.md
	Weights map[string]safetensors.Tensor
	// Names maps the state-dict keys that are not the graph's parameter
	// names to those names (model.py's GRAPH_NAMES).
	Names map[string]string
	// Returns are the tensors forward returns, in order: the graph's
	// outputs, then a variational model's μ and log σ².
	Returns []string
	// Inlined lists the graph's parameters that model.py holds as Python
	// values (Resize's scales, Dropout's ratio), not in the state dict.
	Inlined []string
}

// Generate writes g as a PyTorch package trained by recipe r. It returns
// an *UnsupportedError listing every node it cannot write, or an error
// from the graph's own checks (Order, Shapes).
func Generate(g *graph.Graph, r Recipe, o Options) (*Package, error) {
	if len(g.Inputs) == 0 || len(g.Outputs) == 0 {
		return nil, fmt.Errorf("pytorch: a graph of %d inputs and %d outputs: nothing to compute", len(g.Inputs), len(g.Outputs))
	}
	x, err := newGen(g)
	if err != nil {
		return nil, err
	}
	if x.batch == "" {
		return nil, fmt.Errorf("pytorch: no graph input has a batch dimension (−1 first): inputs %v", g.Inputs)
	}
	layers := x.placeModules()
	for k := range reservedVars {
		x.taken[k] = true
	}
	var params []string
	for _, v := range g.Inputs {
		name := unique(sanitize(v.Name), x.taken)
		x.vars[v.Name] = name
		params = append(params, name)
	}
	mu, logvar := g.Marks[graph.MarkMu], g.Marks[graph.MarkLogVar]
	vae := mu != "" && logvar != "" && x.needed[mu] && x.needed[logvar] && x.producer(mu) != nil && x.producer(logvar) != nil
	order := x.forwardOrder(vae, mu, logvar)
	bodyStart := len(x.body)
	for _, n := range order {
		x.emit(n, layers[n])
		if vae && x.sampled == "" && x.vars[mu] != "" && x.vars[logvar] != "" {
			lo, hi := o.LogVarMin, o.LogVarMax
			if lo == 0 && hi == 0 {
				lo, hi = -30, 20
			}
			z := unique("z_sample", x.taken)
			x.body = append(x.body,
				fmt.Sprintf("%s = %s", z, x.vars[mu]),
				"if self.training:  # the reparameterisation: z = μ + ε·σ, log σ² clipped as the trainer clips it",
				fmt.Sprintf("    %s = %s + torch.randn_like(%s) * torch.exp(0.5 * %s.clamp(%s, %s))", z, x.vars[mu], x.vars[mu], x.vars[logvar], pyFloat(float32(lo)), pyFloat(float32(hi))))
			x.sampled = z
		}
	}
	if len(x.bad) > 0 {
		return nil, &UnsupportedError{Nodes: x.bad}
	}
	if x.usesN {
		x.body = slices.Insert(x.body, bodyStart, fmt.Sprintf("n = %s.shape[0]", x.vars[x.batch]))
	}
	var outs []string
	for _, t := range g.Outputs {
		outs = append(outs, x.val(t))
	}
	code := g.Marks[graph.MarkCode]
	if code != "" && x.val(code) == "" {
		code = ""
	}
	p := &Package{Names: x.names, Inlined: x.inlined, Weights: map[string]safetensors.Tensor{}, Returns: slices.Clone(g.Outputs)}
	if vae {
		p.Returns = append(p.Returns, mu, logvar)
	}
	for name, path := range x.sdPath {
		t := g.Params[name]
		p.Weights[strings.Join(path, ".")] = safetensors.Tensor{Shape: slices.Clone(t.Shape), Data: t.Data}
	}
	var b strings.Builder
	x.writeModel(&b, o, params, outs, vae, code, layers)
	p.Model = []byte(b.String())
	meta := modelMeta{Inputs: inputNames(g), Outputs: g.Outputs, Variational: vae, Code: code != ""}
	for _, v := range g.Inputs {
		meta.InputShapes = append(meta.InputShapes, v.Shape)
		meta.InputTypes = append(meta.InputTypes, map[graph.DType]string{graph.Float32: "float32", graph.Int64: "int64"}[v.Type])
	}
	if p.Train, err = trainScript(r, o, meta); err != nil {
		return nil, err
	}
	p.Readme = readme(r, o, p, meta)
	return p, nil
}

func inputNames(g *graph.Graph) []string {
	var out []string
	for _, v := range g.Inputs {
		out = append(out, v.Name)
	}
	return out
}

// modelMeta is what train.py needs to know of the model.
type modelMeta struct {
	Inputs      []string
	InputShapes [][]int
	InputTypes  []string
	Outputs     []string
	Variational bool
	Code        bool
}

// forwardOrder is the nodes in the order forward computes them: the
// graph's topological order, but in a variational model every reader of
// μ after log σ², so that the sample is drawn before the decoder runs.
func (x *gen) forwardOrder(vae bool, mu, logvar string) []*graph.Node {
	if !vae {
		return x.order
	}
	index := map[*graph.Node]int{}
	producer := map[string]*graph.Node{}
	for i, n := range x.order {
		index[n] = i
		for _, o := range n.Outputs {
			producer[o] = n
		}
	}
	deps := map[*graph.Node][]*graph.Node{}
	users := map[*graph.Node][]*graph.Node{}
	for _, n := range x.order {
		seen := map[*graph.Node]bool{}
		add := func(p *graph.Node) {
			if p != nil && p != n && !seen[p] {
				seen[p] = true
				deps[n] = append(deps[n], p)
				users[p] = append(users[p], n)
			}
		}
		for k, in := range n.Inputs {
			if in == "" || isConfig(n.Op, k) {
				continue
			}
			add(producer[in])
			if in == mu {
				add(producer[logvar])
			}
		}
	}
	pending := map[*graph.Node]int{}
	var ready, out []*graph.Node
	for _, n := range x.order {
		pending[n] = len(deps[n])
		if pending[n] == 0 {
			ready = append(ready, n)
		}
	}
	for len(ready) > 0 {
		slices.SortFunc(ready, func(a, b *graph.Node) int { return index[a] - index[b] })
		n := ready[0]
		ready = ready[1:]
		out = append(out, n)
		for _, u := range users[n] {
			if pending[u]--; pending[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	return out
}

// writeModel writes model.py.
func (x *gen) writeModel(b *strings.Builder, o Options, params, outs []string, vae bool, code string, layers map[*graph.Node]*layer) {
	g := x.g
	fmt.Fprintf(b, `"""An nn.Module generated by aebridge %s from %s.

Model computes the graph's outputs %s from its inputs %s`, o.Version, o.Source, strings.Join(g.Outputs, ", "), strings.Join(inputNames(g), ", "))
	if vae {
		b.WriteString(`, and returns the
encoder's μ and log σ² after them (the KL term of the loss needs them) while
with_marks is True; in training mode the decoder reads z = μ + ε·σ, in
evaluation mode μ, as the graph does`)
	}
	b.WriteString(`.
It uses PyTorch's layers where the graph's nodes are one (nn.Linear for a
Gemm whose weight is stored (out, in), as PyTorch stores it; nn.ConvNd,
nn.ConvTransposeNd, nn.BatchNormNd, pooling, nn.Upsample) and functional
code for the rest; the batch dimension is n, the others are fixed.

state_dict() keys are the graph's parameter names`)
	if len(x.names) > 0 {
		b.WriteString(", but for those GRAPH_NAMES\nmaps (state-dict key → graph name), which are no attribute path")
	}
	b.WriteString(`. model.safetensors
holds the weights under these keys; load() reads it without the safetensors
package.`)
	if len(x.inlined) > 0 {
		slices.Sort(x.inlined)
		fmt.Fprintf(b, " The graph's constants %s are written into the code\nas Python values, not held in the state dict.", strings.Join(x.inlined, ", "))
	}
	b.WriteString(`

Written for PyTorch 2.x; aebridge's tests run it under PyTorch 1.13, the
oldest it needs (F.gelu's approximate argument).
"""
import json
import math
import os

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

`)
	js := func(v any) string { bs, _ := json.Marshal(v); return string(bs) }
	fmt.Fprintf(b, "INPUTS = %s\nOUTPUTS = %s\n", js(inputNames(g)), js(g.Outputs))
	var shapes [][]int
	for _, v := range g.Inputs {
		shapes = append(shapes, v.Shape)
	}
	fmt.Fprintf(b, "INPUT_SHAPES = %s  # -1: the batch\n", js(shapes))
	marks := map[string]string{}
	for k, v := range g.Marks {
		if x.val(v) != "" {
			marks[k] = v
		}
	}
	fmt.Fprintf(b, "MARKS = %s\n", js(marks))
	b.WriteString("# State-dict keys that are not the graph's parameter names: key -> graph name.\nGRAPH_NAMES = {")
	for i, k := range sortedKeys(x.names) {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(b, "\n    %q: %q", k, x.names[k])
	}
	if len(x.names) > 0 {
		b.WriteString(",\n")
	}
	b.WriteString("}\n")
	if len(x.batchNorms) > 0 {
		b.WriteString(batchNormClasses)
		for d := 1; d <= 3; d++ {
			if !x.batchNorms[d] {
				continue
			}
			fmt.Fprintf(b, "\n\nclass BatchNorm%[1]dd(_WithoutBatchCount, nn.BatchNorm%[1]dd):\n    pass\n", d)
		}
	}
	b.WriteString("\n\nclass Model(nn.Module):\n    def __init__(self):\n        super().__init__()\n")
	ctors := map[string]*layer{}
	for _, l := range layers {
		ctors[strings.Join(l.path, ".")] = l
	}
	x.writeInit(b, x.tree, nil, ctors)
	if vae {
		b.WriteString("        self.with_marks = True  # forward also returns μ and log σ²\n")
	}
	sig := strings.Join(params, ", ")
	if code != "" && !vae {
		sig += ", return_code=False"
	}
	fmt.Fprintf(b, "\n    def forward(self, %s):\n", sig)
	for _, line := range x.body {
		b.WriteString("        " + line + "\n")
	}
	ret := strings.Join(outs, ", ")
	switch {
	case vae:
		fmt.Fprintf(b, "        if self.with_marks:\n            return %s, %s, %s\n", ret, x.vars[g.Marks[graph.MarkMu]], x.vars[g.Marks[graph.MarkLogVar]])
	case code != "":
		fmt.Fprintf(b, "        if return_code:\n            return %s, %s\n", ret, x.val(code))
	}
	fmt.Fprintf(b, "        return %s\n", ret)
	b.WriteString(pythonIO)
}

// writeInit writes the __init__ lines of the tree t at path.
func (x *gen) writeInit(b *strings.Builder, t *tree, path []string, ctors map[string]*layer) {
	order := slices.Clone(t.order)
	if !slices.ContainsFunc(order, func(k string) bool { return !digitsRe.MatchString(k) }) {
		// A ModuleDict of numbered layers, as nn.Sequential numbers them.
		slices.SortStableFunc(order, func(a, b string) int {
			ia, _ := strconv.Atoi(a)
			ib, _ := strconv.Atoi(b)
			return ia - ib
		})
	}
	for _, name := range order {
		c := t.children[name]
		p := append(slices.Clone(path), name)
		r := ref(p, x.tree)
		parent := ref(path, x.tree)
		shape := func() string {
			for gname, sp := range x.sdPath {
				if slices.Equal(sp, p) {
					return pyTuple(x.g.Params[gname].Shape)
				}
			}
			return "()"
		}
		switch c.kind {
		case "dict":
			fmt.Fprintf(b, "        %s = nn.ModuleDict()\n", r)
			x.writeInit(b, c, p, ctors)
		case "layer":
			l := ctors[strings.Join(p, ".")]
			fmt.Fprintf(b, "        %s = %s\n", r, l.ctor)
			for _, a := range l.after {
				fmt.Fprintf(b, "        "+a+"\n", r)
			}
		case "param":
			fmt.Fprintf(b, "        %s.register_parameter(%q, nn.Parameter(torch.empty(%s)))\n", parent, name, shape())
		case "buffer":
			fmt.Fprintf(b, "        %s.register_buffer(%q, torch.empty(%s))\n", parent, name, shape())
		}
	}
}

const batchNormClasses = `

class _WithoutBatchCount:
    """Batch normalisation without the num_batches_tracked buffer, which
    the graph does not hold: with a momentum set, PyTorch never reads it,
    and state_dict() keeps the graph's names."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.num_batches_tracked = None

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, *args):
        # Version 2 of the layer's state has the counter: a dict without
        # version metadata would have one added.
        super()._load_from_state_dict(state_dict, prefix, dict(local_metadata, version=2), *args)
`

const pythonIO = `

# safetensors without the safetensors package: an 8-byte little-endian
# header length, a JSON header of dtype, shape and data offsets, the data.
_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4"}


def read_safetensors(path):
    """Returns the tensors of a safetensors file by name."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: {len(data)} bytes, too short for a safetensors file")
    n = int.from_bytes(data[:8], "little")
    if n > len(data) - 8:
        raise ValueError(f"{path}: header of {n} bytes, but {len(data) - 8} bytes follow")
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, e in header.items():
        if e["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name}: dtype {e['dtype']} not read here")
        dt = np.dtype(_DTYPES[e["dtype"]])
        begin, end = e["data_offsets"]
        count = math.prod(e["shape"])
        if end - begin != count * dt.itemsize or not 0 <= begin <= end <= len(data) - 8 - n:
            raise ValueError(f"{path}: tensor {name}: offsets {begin}, {end} do not fit shape {e['shape']}")
        a = np.frombuffer(data, dtype=dt, count=count, offset=8 + n + begin).reshape(e["shape"])
        out[name] = torch.from_numpy(a.astype(dt.newbyteorder("="), copy=True))
    return out


def write_safetensors(tensors, path, metadata=None):
    """Writes tensors (name -> tensor) as a safetensors file, through a
    temporary file renamed into place."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        kind = {torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8")}[t.dtype]
        b = t.numpy().astype(kind[1]).tobytes()
        header[name] = {"dtype": kind[0], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load(path=None):
    """Returns a Model holding the weights of path (model.safetensors
    beside this file by default)."""
    if path is None:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.safetensors")
    m = Model()
    m.load_state_dict(read_safetensors(path))
    return m
`
