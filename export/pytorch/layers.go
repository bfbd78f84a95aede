package pytorch

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aebridge/aebridge/graph"
)

// layer is a PyTorch module of the generated code: its constructor, at a
// path of the module tree, and the lines that follow it in __init__.
type layer struct {
	path  []string
	ctor  string
	after []string // with %s for the module's reference
}

// claim gives the parameters named (slot → suffix) to a layer module at
// their common prefix P when each is P.suffix, a valid path, and nothing
// else of the state dict lies under P. It returns P, or nil.
func (x *gen) claim(params map[string]string, stateDict map[string]bool) []string {
	var prefix string
	for name, suffix := range params {
		p, ok := strings.CutSuffix(name, "."+suffix)
		if !ok || !validPath(name) || (prefix != "" && p != prefix) {
			return nil
		}
		prefix = p
	}
	if prefix == "" {
		return nil
	}
	for name := range stateDict {
		if strings.HasPrefix(name, prefix+".") {
			if _, ok := params[name]; !ok {
				return nil
			}
		}
		if _, taken := x.sdPath[name]; taken {
			if _, ok := params[name]; ok {
				return nil
			}
		}
	}
	path := strings.Split(prefix, ".")
	if !x.tree.free(path) {
		return nil
	}
	t := x.tree.add(path, "layer")
	for name, suffix := range params {
		kind := "param"
		if suffix == "running_mean" || suffix == "running_var" {
			kind = "buffer"
		}
		t.children[suffix] = newTree(kind)
		t.order = append(t.order, suffix)
		x.sdPath[name] = append(slices.Clone(path), suffix)
	}
	return path
}

// placeModules builds the module tree: the layers that own parameters,
// then the parameters and buffers no layer holds (renamed where their
// graph name is no state-dict path), then the layers without parameters.
func (x *gen) placeModules() map[*graph.Node]*layer {
	stateDict := map[string]bool{}
	for name := range x.g.Params {
		if x.param(name) != nil && x.needed[name] {
			stateDict[name] = true
		}
	}
	layers := map[*graph.Node]*layer{}
	trainable := map[string]bool{}
	for _, name := range x.g.Trainable() {
		trainable[name] = true
	}
	for _, n := range x.order {
		if l := x.paramLayer(n, stateDict); l != nil {
			layers[n] = l
		}
	}
	for _, name := range sortedKeys(stateDict) {
		if _, ok := x.sdPath[name]; ok {
			continue
		}
		kind := "buffer"
		if trainable[name] {
			kind = "param"
		}
		path := strings.Split(name, ".")
		if !validPath(name) || x.tree.add(path, kind) == nil {
			rename := sanitize(name)
			for k := 2; !x.tree.free([]string{rename}); k++ {
				rename = fmt.Sprintf("%s_%d", sanitize(name), k)
			}
			path = []string{rename}
			x.tree.add(path, kind)
			x.names[rename] = name
		}
		x.sdPath[name] = path
	}
	for _, n := range x.order {
		if layers[n] != nil {
			continue
		}
		ctor := x.plainLayer(n)
		if ctor == "" {
			continue
		}
		path := strings.Split(n.Name, ".")
		if !validModulePath(n.Name) || !x.tree.free(path) {
			name := sanitize(n.Name)
			for k := 2; !x.tree.free([]string{name}); k++ {
				name = fmt.Sprintf("%s_%d", sanitize(n.Name), k)
			}
			path = []string{name}
		}
		x.tree.add(path, "layer")
		layers[n] = &layer{path: path, ctor: ctor}
	}
	return layers
}

// paramLayer returns the module that computes n and owns its parameters
// (nn.Linear, nn.ConvNd, nn.ConvTransposeNd, nn.BatchNormNd,
// nn.Embedding), or nil where n is written as functional code.
func (x *gen) paramLayer(n *graph.Node, stateDict map[string]bool) *layer {
	in := func(k int) string {
		if k < len(n.Inputs) {
			return n.Inputs[k]
		}
		return ""
	}
	switch n.Op {
	case "Gemm":
		w, c := x.param(in(1)), x.param(in(2))
		if w == nil || len(w.Shape) != 2 || n.Int("transA", 0) != 0 || n.Int("transB", 0) != 1 || n.Float("alpha", 1) != 1 || n.Float("beta", 1) != 1 ||
			(in(2) != "" && (c == nil || !slices.Equal(c.Shape, w.Shape[:1]))) || !x.needed[in(1)] {
			return nil
		}
		claims := map[string]string{in(1): "weight"}
		if in(2) != "" {
			claims[in(2)] = "bias"
		}
		path := x.claim(claims, stateDict)
		if path == nil {
			return nil
		}
		bias := ""
		if in(2) == "" {
			bias = ", bias=False"
		}
		return &layer{path: path, ctor: fmt.Sprintf("nn.Linear(%d, %d%s)", w.Shape[1], w.Shape[0], bias)}
	case "Conv", "ConvTranspose":
		w, b := x.param(in(1)), x.param(in(2))
		if w == nil || len(w.Shape) < 3 || len(w.Shape) > 5 || (in(2) != "" && b == nil) || !x.convAttrsOK(n, len(w.Shape)-2) {
			return nil
		}
		claims := map[string]string{in(1): "weight"}
		if in(2) != "" {
			claims[in(2)] = "bias"
		}
		path := x.claim(claims, stateDict)
		if path == nil {
			return nil
		}
		return &layer{path: path, ctor: x.convCtor(n, w, in(2) != "")}
	case "BatchNormalization":
		if len(n.Inputs) != 5 {
			return nil
		}
		rank := len(x.shapes[0][in(0)])
		if rank < 2 || rank > 5 {
			return nil
		}
		for k := 1; k < 5; k++ {
			if x.param(in(k)) == nil {
				return nil
			}
		}
		path := x.claim(map[string]string{in(1): "weight", in(2): "bias", in(3): "running_mean", in(4): "running_var"}, stateDict)
		if path == nil {
			return nil
		}
		d := max(rank-2, 1)
		x.batchNorms[d] = true
		return &layer{path: path, ctor: fmt.Sprintf("BatchNorm%dd(%d, eps=%s, momentum=%s)", d, x.param(in(1)).Shape[0], pyFloat(n.Float("epsilon", 1e-5)), torchMomentum(n.Float("momentum", 0.9)))}
	case "Gather":
		w := x.param(in(0))
		if w == nil || len(w.Shape) != 2 || n.Int("axis", 0) != 0 || x.g.Params[in(1)] != nil {
			return nil
		}
		path := x.claim(map[string]string{in(0): "weight"}, stateDict)
		if path == nil {
			return nil
		}
		return &layer{path: path, ctor: fmt.Sprintf("nn.Embedding(%d, %d)", w.Shape[0], w.Shape[1])}
	}
	return nil
}

// torchMomentum is PyTorch's momentum for ONNX's m: 1 − m, rounded to
// the digits a float32 holds.
func torchMomentum(m float32) string {
	return strconv.FormatFloat(1-float64(m), 'g', 6, 64)
}

// convAttrsOK reports whether a convolution's attributes are ones the
// generated layer writes: no auto_pad, no output_shape, and for a
// transposed one symmetric pads.
func (x *gen) convAttrsOK(n *graph.Node, dims int) bool {
	if a, ok := n.Attrs["auto_pad"]; ok && a.String != "NOTSET" {
		return false
	}
	if _, ok := n.Attrs["output_shape"]; ok {
		return false
	}
	pads := ints(n, "pads", filled(2*dims, 0))
	if len(pads) != 2*dims {
		return false
	}
	if _, sym := symmetric(pads); !sym && n.Op == "ConvTranspose" {
		return false
	}
	return true
}

// convCtor is the constructor of the layer of a Conv or ConvTranspose
// node with weight w; asymmetric pads are an F.pad before it.
func (x *gen) convCtor(n *graph.Node, w *graph.Tensor, bias bool) string {
	dims := len(w.Shape) - 2
	group := n.Int("group", 1)
	in, out := w.Shape[1]*int(group), w.Shape[0]
	name := "Conv"
	if n.Op == "ConvTranspose" {
		name = "ConvTranspose"
		in, out = w.Shape[0], w.Shape[1]*int(group)
	}
	args := []string{fmt.Sprint(in), fmt.Sprint(out), pyArg(ints(n, "kernel_shape", toInt64(w.Shape[2:])))}
	if s := ints(n, "strides", filled(dims, 1)); slices.Max(s) != 1 || slices.Min(s) != 1 {
		args = append(args, "stride="+pyArg(s))
	}
	pads := ints(n, "pads", filled(2*dims, 0))
	if p, ok := symmetric(pads); ok && slices.Max(p) > 0 {
		args = append(args, "padding="+pyArg(p))
	}
	if op := ints(n, "output_padding", nil); n.Op == "ConvTranspose" && op != nil && slices.Max(op) > 0 {
		args = append(args, "output_padding="+pyArg(op))
	}
	if d := ints(n, "dilations", filled(dims, 1)); slices.Max(d) != 1 || slices.Min(d) != 1 {
		args = append(args, "dilation="+pyArg(d))
	}
	if group != 1 {
		args = append(args, fmt.Sprintf("groups=%d", group))
	}
	if !bias {
		args = append(args, "bias=False")
	}
	return fmt.Sprintf("nn.%s%dd(%s)", name, dims, strings.Join(args, ", "))
}

func toInt64(v []int) []int64 {
	out := make([]int64, len(v))
	for i, d := range v {
		out[i] = int64(d)
	}
	return out
}

// plainLayer is the constructor of the module without parameters that
// computes n (pooling, unpooling, upsampling), or "" where n is written as
// functional code.
func (x *gen) plainLayer(n *graph.Node) string {
	rank := len(x.shapes[0][n.Inputs[0]])
	dims := rank - 2
	if dims < 1 || dims > 3 {
		return ""
	}
	if a, ok := n.Attrs["auto_pad"]; ok && a.String != "NOTSET" {
		return ""
	}
	switch n.Op {
	case "MaxPool", "AveragePool":
		k := ints(n, "kernel_shape", nil)
		if len(k) != dims || n.Int("storage_order", 0) != 0 {
			return ""
		}
		pads := ints(n, "pads", filled(2*dims, 0))
		p, sym := symmetric(pads)
		for i := range p {
			sym = sym && 2*p[i] <= k[i]
		}
		if !sym {
			return ""
		}
		if !x.poolSizeOK(n, k, p) {
			return ""
		}
		args := []string{pyArg(k)}
		if s := ints(n, "strides", filled(dims, 1)); !slices.Equal(s, k) {
			args = append(args, "stride="+pyArg(s))
		}
		if slices.Max(p) > 0 {
			args = append(args, "padding="+pyArg(p))
		}
		if n.Op == "MaxPool" {
			if d := ints(n, "dilations", filled(dims, 1)); slices.Max(d) != 1 || slices.Min(d) != 1 {
				args = append(args, "dilation="+pyArg(d))
			}
		}
		if n.Int("ceil_mode", 0) != 0 {
			args = append(args, "ceil_mode=True")
		}
		if n.Op == "AveragePool" {
			if n.Int("count_include_pad", 0) == 0 && slices.Max(p) > 0 {
				args = append(args, "count_include_pad=False")
			}
			return fmt.Sprintf("nn.AvgPool%dd(%s)", dims, strings.Join(args, ", "))
		}
		if len(n.Outputs) > 1 && n.Outputs[1] != "" {
			args = append(args, "return_indices=True")
		}
		return fmt.Sprintf("nn.MaxPool%dd(%s)", dims, strings.Join(args, ", "))
	case "MaxUnpool":
		k := ints(n, "kernel_shape", nil)
		if len(k) != dims {
			return ""
		}
		args := []string{pyArg(k)}
		if s := ints(n, "strides", filled(dims, 1)); !slices.Equal(s, k) {
			args = append(args, "stride="+pyArg(s))
		}
		p, sym := symmetric(ints(n, "pads", filled(2*dims, 0)))
		if !sym {
			return ""
		}
		if slices.Max(p) > 0 {
			args = append(args, "padding="+pyArg(p))
		}
		return fmt.Sprintf("nn.MaxUnpool%dd(%s)", dims, strings.Join(args, ", "))
	case "Resize":
		mode, ok := x.resizeMode(n, dims)
		if !ok {
			return ""
		}
		if len(n.Inputs) > 2 && n.Inputs[2] != "" {
			if s, ok := x.floatsOf(n.Inputs[2]); ok && len(s) == rank && s[0] == 1 && s[1] == 1 {
				sc := make([]string, dims)
				for i, v := range s[2:] {
					sc[i] = pyFloat(v)
				}
				return fmt.Sprintf("nn.Upsample(scale_factor=(%s%s), mode=%s)", strings.Join(sc, ", "), map[bool]string{true: ",", false: ""}[dims == 1], mode)
			}
		}
		size, ok := x.staticDims(n.Outputs[0], 2)
		in, ok2 := x.staticDims(n.Inputs[0], 1)
		out, ok3 := x.staticDims(n.Outputs[0], 1)
		if !ok || !ok2 || !ok3 || in[0] != out[0] {
			return ""
		}
		return fmt.Sprintf("nn.Upsample(size=%s, mode=%s)", pyTuple(size), mode)
	}
	return ""
}

// poolSizeOK reports whether PyTorch's pooling gives the output size the
// graph infers for n (kernel k, symmetric padding p): with ceil_mode,
// PyTorch drops a last window that would start in the padding. (Windows
// that ceil_mode lets run past the padding are divided as PyTorch divides
// them by graph's AveragePool too.)
func (x *gen) poolSizeOK(n *graph.Node, k, p []int64) bool {
	in, out := x.shapes[0][n.Inputs[0]], x.shapes[0][n.Outputs[0]]
	dims := len(k)
	if len(in) != dims+2 || len(out) != dims+2 {
		return false
	}
	strides, dil := ints(n, "strides", filled(dims, 1)), ints(n, "dilations", filled(dims, 1))
	ceil := n.Int("ceil_mode", 0) != 0
	for i := 0; i < dims; i++ {
		size, s := int64(in[2+i]), strides[i]
		num := size + 2*p[i] - dil[i]*(k[i]-1) - 1
		if num < 0 || s <= 0 {
			return false
		}
		o := num/s + 1
		if ceil {
			o = (num+s-1)/s + 1
			if (o-1)*s >= size+p[i] {
				o--
			}
		}
		if o != int64(out[2+i]) {
			return false
		}
	}
	return true
}

// resizeMode is the nn.Upsample mode (and align_corners) of a Resize
// node, ok false for a form PyTorch's interpolation does not compute.
func (x *gen) resizeMode(n *graph.Node, dims int) (string, bool) {
	str := func(name, def string) string {
		if a, ok := n.Attrs[name]; ok {
			return a.String
		}
		return def
	}
	mode, ctm, nearest := str("mode", "nearest"), str("coordinate_transformation_mode", "half_pixel"), str("nearest_mode", "round_prefer_floor")
	for _, a := range []string{"antialias", "exclude_outside", "axes"} {
		if v, ok := n.Attrs[a]; ok && (v.Int != 0 || len(v.Ints) > 0) {
			return "", false
		}
	}
	if v, ok := n.Attrs["keep_aspect_ratio_policy"]; ok && v.String != "stretch" {
		return "", false
	}
	linear := map[int]string{1: `"linear"`, 2: `"bilinear"`, 3: `"trilinear"`}[dims]
	switch {
	case mode == "nearest" && ctm == "asymmetric" && nearest == "floor":
		return `"nearest"`, true
	case mode == "nearest" && ctm == "half_pixel" && nearest == "round_prefer_ceil":
		return `"nearest-exact"`, true
	case mode == "linear" && (ctm == "half_pixel" || ctm == "pytorch_half_pixel"):
		return linear + ", align_corners=False", true
	case mode == "linear" && ctm == "align_corners":
		return linear + ", align_corners=True", true
	case mode == "cubic" && dims == 2 && ctm == "half_pixel" && n.Float("cubic_coeff_a", -0.75) == -0.75:
		return `"bicubic", align_corners=False`, true
	case mode == "cubic" && dims == 2 && ctm == "align_corners" && n.Float("cubic_coeff_a", -0.75) == -0.75:
		return `"bicubic", align_corners=True`, true
	}
	return "", false
}
