package pytorch

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aebridge/aebridge/graph"
)

// val is the Python expression of tensor t in forward: a variable, or the
// reference of a state-dict tensor; "" for an int64 parameter or a tensor
// the code does not compute.
func (x *gen) val(t string) string {
	if v, ok := x.vars[t]; ok {
		return v
	}
	if path, ok := x.sdPath[t]; ok {
		return ref(path, x.tree)
	}
	return ""
}

// emit writes the forward lines of node n, or records why it cannot.
func (x *gen) emit(n *graph.Node, l *layer) {
	for _, o := range n.Outputs[1:] {
		if o != "" && x.needed[o] && !(n.Op == "MaxPool" && l != nil) {
			x.fail(n, "its output %q is used, and only the first output of %s is written", o, n.Op)
			return
		}
	}
	if x.int64s[n.Outputs[0]] {
		x.fail(n, "computes the int64 tensor %q, which a tensor computation (not a shape, axes or scales input) reads", n.Outputs[0])
		return
	}
	in := make([]string, len(n.Inputs))
	for k, t := range n.Inputs {
		if t == "" || isConfig(n.Op, k) {
			continue
		}
		if x.int64s[t] && !(n.Op == "Gather" && k == 1) {
			x.fail(n, "input %d (%q) is int64, read as a tensor", k, t)
			return
		}
		in[k] = x.val(t)
		if in[k] == "" && !(n.Op == "Gather" && k == 1) {
			x.fail(n, "input %d (%q) has no value in the generated code", k, t)
			return
		}
		if x.sampled != "" && t == x.g.Marks[graph.MarkMu] {
			in[k] = x.sampled
		}
	}
	out := x.newVar(n.Outputs[0])
	expr, reason := x.expr(n, l, in)
	if reason != "" {
		x.fail(n, "%s", reason)
		return
	}
	if n.Op == "MaxPool" && l != nil && len(n.Outputs) > 1 && n.Outputs[1] != "" {
		idx := x.newVar(n.Outputs[1])
		x.body = append(x.body, fmt.Sprintf("%s, %s = %s", out, idx, expr))
		return
	}
	x.body = append(x.body, fmt.Sprintf("%s = %s", out, expr))
}

// newVar names the Python variable of tensor t.
func (x *gen) newVar(t string) string {
	name := sanitize(strings.TrimSuffix(t, "_output_0"))
	name = unique(name, x.taken)
	x.vars[t] = name
	return name
}

var activations = map[string]string{
	"Relu": "torch.relu(%s)", "Sigmoid": "torch.sigmoid(%s)", "Tanh": "torch.tanh(%s)", "Softplus": "F.softplus(%s)",
	"Erf": "torch.erf(%s)", "Identity": "%s", "Abs": "torch.abs(%s)", "Neg": "-%s", "Exp": "torch.exp(%s)",
	"Log": "torch.log(%s)", "Sqrt": "torch.sqrt(%s)", "Reciprocal": "torch.reciprocal(%s)",
}

var binary = map[string]string{"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "Pow": "**"}

// expr is the Python expression computing n's first output (for a
// MaxPool with indices, both), or the reason there is none.
func (x *gen) expr(n *graph.Node, l *layer, in []string) (string, string) {
	at := func(k int) string {
		if k < len(in) {
			return in[k]
		}
		return ""
	}
	rank := len(x.shapes[0][n.Inputs[0]])
	if f, ok := activations[n.Op]; ok {
		return fmt.Sprintf(f, in[0]), ""
	}
	if op, ok := binary[n.Op]; ok {
		return fmt.Sprintf("%s %s %s", in[0], op, in[1]), ""
	}
	mod := ""
	if l != nil {
		mod = ref(l.path, x.tree)
	}
	switch n.Op {
	case "LeakyRelu":
		return fmt.Sprintf("F.leaky_relu(%s, %s)", in[0], pyFloat(n.Float("alpha", 0.01))), ""
	case "Elu":
		return fmt.Sprintf("F.elu(%s, %s)", in[0], pyFloat(n.Float("alpha", 1))), ""
	case "Gelu":
		if a, ok := n.Attrs["approximate"]; ok && a.String == "tanh" {
			return fmt.Sprintf(`F.gelu(%s, approximate="tanh")`, in[0]), ""
		}
		return fmt.Sprintf("F.gelu(%s)", in[0]), ""
	case "Softmax":
		return fmt.Sprintf("torch.softmax(%s, dim=%d)", in[0], n.Int("axis", -1)), ""
	case "Gemm":
		if mod != "" {
			return fmt.Sprintf("%s(%s)", mod, in[0]), ""
		}
		a, b := in[0], in[1]
		if n.Int("transA", 0) != 0 {
			a += ".t()"
		}
		if n.Int("transB", 0) == 0 {
			b += ".t()"
		}
		alpha, beta := n.Float("alpha", 1), n.Float("beta", 1)
		c := at(2)
		if c != "" && alpha == 1 && beta == 1 && n.Int("transA", 0) == 0 && len(x.shapes[0][n.Inputs[2]]) == 1 {
			return fmt.Sprintf("F.linear(%s, %s, %s)", in[0], b, c), ""
		}
		b = in[1]
		if n.Int("transB", 0) != 0 {
			b += ".t()"
		}
		if c == "" {
			return fmt.Sprintf("%s * torch.mm(%s, %s)", pyFloat(alpha), a, b), ""
		}
		return fmt.Sprintf("torch.addmm(%s, %s, %s, beta=%s, alpha=%s)", c, a, b, pyFloat(beta), pyFloat(alpha)), ""
	case "MatMul":
		return fmt.Sprintf("torch.matmul(%s, %s)", in[0], in[1]), ""
	case "Conv", "ConvTranspose":
		dims := rank - 2
		pads := ints(n, "pads", filled(2*dims, 0))
		_, sym := symmetric(pads)
		xin := in[0]
		if !sym {
			xin = fmt.Sprintf("F.pad(%s, [%s])", xin, pyInts(torchPad(pads)))
		}
		if mod != "" {
			return fmt.Sprintf("%s(%s)", mod, xin), ""
		}
		if !x.convAttrsOK(n, dims) || dims < 1 || dims > 3 {
			return "", "auto_pad, output_shape or asymmetric pads of a transposed convolution are not written"
		}
		p, _ := symmetric(pads)
		if !sym {
			p = filled(dims, 0)
		}
		args := []string{xin, in[1], "None"}
		if at(2) != "" {
			args[2] = in[2]
		}
		fn := fmt.Sprintf("F.conv%dd", dims)
		if n.Op == "ConvTranspose" {
			fn = fmt.Sprintf("F.conv_transpose%dd", dims)
			args = append(args, "stride="+pyTuple(ints(n, "strides", filled(dims, 1))), "padding="+pyTuple(p),
				"output_padding="+pyTuple(ints(n, "output_padding", filled(dims, 0))), fmt.Sprintf("groups=%d", n.Int("group", 1)),
				"dilation="+pyTuple(ints(n, "dilations", filled(dims, 1))))
		} else {
			args = append(args, "stride="+pyTuple(ints(n, "strides", filled(dims, 1))), "padding="+pyTuple(p),
				"dilation="+pyTuple(ints(n, "dilations", filled(dims, 1))), fmt.Sprintf("groups=%d", n.Int("group", 1)))
		}
		return fmt.Sprintf("%s(%s)", fn, strings.Join(args, ", ")), ""
	case "BatchNormalization":
		if n.Int("training_mode", 0) != 0 {
			return "", "training_mode 1 is not written"
		}
		if mod != "" {
			return fmt.Sprintf("%s(%s)", mod, in[0]), ""
		}
		if len(n.Inputs) != 5 {
			return "", "without its four parameter inputs"
		}
		return fmt.Sprintf("F.batch_norm(%s, %s, %s, %s, %s, self.training, %s, %s)", in[0], in[3], in[4], in[1], in[2],
			torchMomentum(n.Float("momentum", 0.9)), pyFloat(n.Float("epsilon", 1e-5))), ""
	case "MaxPool", "AveragePool":
		if mod == "" {
			return "", "auto_pad, asymmetric pads, pads over half the kernel or storage_order 1 are not written"
		}
		return fmt.Sprintf("%s(%s)", mod, in[0]), ""
	case "GlobalAveragePool", "GlobalMaxPool":
		dims := make([]int, 0, rank)
		for d := 2; d < rank; d++ {
			dims = append(dims, d)
		}
		fn := "mean"
		if n.Op == "GlobalMaxPool" {
			fn = "amax"
		}
		return fmt.Sprintf("%s.%s(dim=%s, keepdim=True)", in[0], fn, pyTuple(dims)), ""
	case "MaxUnpool":
		if mod == "" {
			return "", "auto_pad or asymmetric pads are not written"
		}
		prod := x.producer(n.Inputs[1])
		if prod == nil || prod.Op != "MaxPool" || len(prod.Outputs) < 2 || prod.Outputs[1] != n.Inputs[1] {
			return "", fmt.Sprintf("its indices %q are not a MaxPool's second output", n.Inputs[1])
		}
		size, ok := x.symDims(n.Outputs[0])
		if !ok {
			return "", "its output's shape depends on the batch in a way not written"
		}
		return fmt.Sprintf("%s(%s, %s, output_size=[%s])", mod, in[0], in[1], strings.Join(size, ", ")), ""
	case "Resize":
		if mod == "" {
			return "", "a mode, coordinate transformation or scales that nn.Upsample does not compute"
		}
		return fmt.Sprintf("%s(%s)", mod, in[0]), ""
	case "Dropout":
		p := float32(0.5)
		if len(n.Inputs) > 1 && n.Inputs[1] != "" {
			v, ok := x.floatsOf(n.Inputs[1])
			if !ok || len(v) != 1 {
				return "", fmt.Sprintf("its ratio %q is not a constant", n.Inputs[1])
			}
			p = v[0]
		}
		return fmt.Sprintf("F.dropout(%s, %s, self.training)", in[0], pyFloat(p)), ""
	case "Flatten":
		if n.Int("axis", 1) == 1 {
			return fmt.Sprintf("torch.flatten(%s, 1)", in[0]), ""
		}
		return x.reshape(n, in[0])
	case "Reshape", "Squeeze", "Unsqueeze":
		return x.reshape(n, in[0])
	case "Expand":
		dims, ok := x.symDims(n.Outputs[0])
		if !ok {
			return "", "its output's shape depends on the batch in a way not written"
		}
		return fmt.Sprintf("%s.expand(%s)", in[0], strings.Join(dims, ", ")), ""
	case "Tile":
		a, b := x.shapes[0][n.Inputs[0]], x.shapes[0][n.Outputs[0]]
		a2, b2 := x.shapes[1][n.Inputs[0]], x.shapes[1][n.Outputs[0]]
		reps := make([]int, len(a))
		for i := range a {
			if a[i] == 0 || a2[i] == 0 || b[i]%a[i] != 0 || b[i]/a[i] != b2[i]/a2[i] {
				return "", "its repeats depend on the batch"
			}
			reps[i] = b[i] / a[i]
		}
		return fmt.Sprintf("%s.repeat(%s)", in[0], pyInts(reps)), ""
	case "Concat":
		var parts []string
		for k := range n.Inputs {
			if in[k] != "" {
				parts = append(parts, in[k])
			}
		}
		return fmt.Sprintf("torch.cat([%s], dim=%d)", strings.Join(parts, ", "), n.Int("axis", 0)), ""
	case "Transpose":
		perm := ints(n, "perm", nil)
		if perm == nil {
			for d := rank - 1; d >= 0; d-- {
				perm = append(perm, int64(d))
			}
		}
		return fmt.Sprintf("%s.permute(%s)", in[0], pyInts(perm)), ""
	case "Slice":
		return x.slice(n, in[0], rank)
	case "Gather":
		axis := n.Int("axis", 0)
		if mod != "" {
			return fmt.Sprintf("%s(%s)", mod, x.val(n.Inputs[1])), ""
		}
		if idx, ok := x.int64sOf(n.Inputs[1]); ok {
			if len(x.g.Params[n.Inputs[1]].Shape) == 0 {
				return fmt.Sprintf("%s.select(%d, %d)", in[0], axis, idx[0]), ""
			}
			if len(x.g.Params[n.Inputs[1]].Shape) == 1 {
				return fmt.Sprintf("torch.index_select(%s, %d, torch.tensor([%s], device=%s.device))", in[0], axis, pyInts(idx), in[0]), ""
			}
			return "", "indices of more than one dimension are not written"
		}
		if v := x.val(n.Inputs[1]); v != "" && axis == 0 && rank == 2 {
			return fmt.Sprintf("F.embedding(%s, %s)", v, in[0]), ""
		}
		return "", "indices computed at run time along an axis other than 0 of a matrix are not written"
	case "ConstantOfShape":
		dims, ok := x.symDims(n.Outputs[0])
		if !ok {
			return "", "its output's shape depends on the batch in a way not written"
		}
		v := float32(0)
		if a, ok := n.Attrs["value"]; ok && a.Tensor != nil && len(a.Tensor.Data) == 1 {
			v = a.Tensor.Data[0]
		}
		return fmt.Sprintf("torch.full((%s,), %s, device=%s.device)", strings.Join(dims, ", "), pyFloat(v), x.vars[x.batch]), ""
	case "Constant":
		t, err := constantTensor(n)
		if err != "" {
			return "", err
		}
		if len(t.Data) > 256 {
			return "", fmt.Sprintf("a constant of %d values is not written inline", len(t.Data))
		}
		vals := make([]string, len(t.Data))
		for i, v := range t.Data {
			vals[i] = pyFloat(v)
		}
		return fmt.Sprintf("torch.tensor([%s], device=%s.device).reshape(%s)", strings.Join(vals, ", "), x.vars[x.batch], pyTuple(t.Shape)), ""
	case "Pad":
		return x.pad(n, in[0], rank)
	case "Cast":
		if n.Int("to", 1) == 1 {
			return in[0], ""
		}
		return "", fmt.Sprintf("a cast to ONNX type %d is not written", n.Int("to", 1))
	}
	return "", "op type not written"
}

// constantTensor returns a float Constant node's value.
func constantTensor(n *graph.Node) (*graph.Tensor, string) {
	if a, ok := n.Attrs["value"]; ok && a.Tensor != nil && a.Tensor.Type == graph.Float32 {
		return a.Tensor, ""
	}
	if a, ok := n.Attrs["value_float"]; ok {
		return &graph.Tensor{Shape: []int{}, Data: []float32{a.Float}}, ""
	}
	if a, ok := n.Attrs["value_floats"]; ok {
		return &graph.Tensor{Shape: []int{len(a.Floats)}, Data: a.Floats}, ""
	}
	return nil, "a Constant other than float32 is not written"
}

// reshape writes a node that only changes its input's shape as a reshape
// to the output's inferred shape, the batch dimension kept symbolic.
func (x *gen) reshape(n *graph.Node, in string) (string, string) {
	dims, ok := x.symDims(n.Outputs[0])
	if !ok {
		return "", "its output's shape depends on the batch in a way not written"
	}
	if len(dims) == 1 {
		return fmt.Sprintf("%s.reshape(%s,)", in, dims[0]), ""
	}
	return fmt.Sprintf("%s.reshape(%s)", in, strings.Join(dims, ", ")), ""
}

// slice writes a Slice with constant starts, ends, axes and steps as
// Python indexing.
func (x *gen) slice(n *graph.Node, in string, rank int) (string, string) {
	get := func(k int) ([]int64, bool) {
		if k >= len(n.Inputs) || n.Inputs[k] == "" {
			return nil, true
		}
		return x.int64sOf(n.Inputs[k])
	}
	starts, ok1 := get(1)
	ends, ok2 := get(2)
	axes, ok3 := get(3)
	steps, ok4 := get(4)
	if !ok1 || !ok2 || !ok3 || !ok4 || len(starts) != len(ends) {
		return "", "starts, ends, axes or steps computed at run time are not written"
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	idx := make([]string, rank)
	for i := range idx {
		idx[i] = ":"
	}
	for i, a := range axes {
		if a < 0 {
			a += int64(rank)
		}
		if a < 0 || int(a) >= rank {
			return "", fmt.Sprintf("axis %d out of range", axes[i])
		}
		step := int64(1)
		if steps != nil {
			step = steps[i]
		}
		if step <= 0 {
			return "", fmt.Sprintf("step %d: only positive steps are written", step)
		}
		s, e := starts[i], ends[i]
		const big = 1 << 62
		part := ""
		if s != 0 {
			part = fmt.Sprint(s)
		}
		part += ":"
		if e < big && e > -big {
			part += fmt.Sprint(e)
		}
		if step != 1 {
			part += fmt.Sprintf(":%d", step)
		}
		idx[a] = part
	}
	for len(idx) > 0 && idx[len(idx)-1] == ":" {
		idx = idx[:len(idx)-1]
	}
	if len(idx) == 0 {
		return in, ""
	}
	return fmt.Sprintf("%s[%s]", in, strings.Join(idx, ", ")), ""
}

// producer returns the node writing t, or nil.
func (x *gen) producer(t string) *graph.Node {
	for _, n := range x.g.Nodes {
		if slices.Contains(n.Outputs, t) {
			return n
		}
	}
	return nil
}

// pad writes Pad as F.pad: ONNX's pads (all begins, then all ends, over
// the axes input or every axis) become PyTorch's (begin, end) pairs from
// the last axis back; the modes are constant, reflect, replicate (edge)
// and circular (wrap). The pads and the value must be constants of the
// model, and the axes before the first padded one unpadded.
func (x *gen) pad(n *graph.Node, in string, rank int) (string, string) {
	pads, ok := x.int64sOf(n.Inputs[1])
	if !ok {
		return "", fmt.Sprintf("its pads %q are not a constant of the model", n.Inputs[1])
	}
	axes := make([]int64, rank)
	for i := range axes {
		axes[i] = int64(i)
	}
	if len(n.Inputs) > 3 && n.Inputs[3] != "" {
		if axes, ok = x.int64sOf(n.Inputs[3]); !ok {
			return "", fmt.Sprintf("its axes %q are not a constant of the model", n.Inputs[3])
		}
	}
	if len(pads) != 2*len(axes) {
		return "", fmt.Sprintf("%d pads for %d axes", len(pads), len(axes))
	}
	full := make([]int64, 2*rank)
	for i, a := range axes {
		if a < 0 {
			a += int64(rank)
		}
		if a < 0 || a >= int64(rank) {
			return "", fmt.Sprintf("axis %d of a rank-%d input", axes[i], rank)
		}
		full[a], full[int64(rank)+a] = pads[i], pads[len(axes)+i]
	}
	first := rank
	for a := rank - 1; a >= 0; a-- {
		if full[a] != 0 || full[rank+a] != 0 {
			first = a
		}
	}
	var torch []int64
	for a := rank - 1; a >= first; a-- {
		torch = append(torch, full[a], full[rank+a])
	}
	if len(torch) == 0 {
		return in, ""
	}
	onnxMode := "constant"
	if a, ok := n.Attrs["mode"]; ok {
		onnxMode = a.String
	}
	mode := map[string]string{"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}[onnxMode]
	if mode == "" {
		return "", fmt.Sprintf("mode %q is not written", onnxMode)
	}
	if mode != "constant" {
		return fmt.Sprintf("F.pad(%s, (%s,), mode=%q)", in, pyInts(torch), mode), ""
	}
	value := float32(0)
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		v, ok := x.floatsOf(n.Inputs[2])
		if !ok || len(v) != 1 {
			return "", fmt.Sprintf("its value %q is not a constant of the model", n.Inputs[2])
		}
		value = v[0]
	}
	return fmt.Sprintf("F.pad(%s, (%s,), mode=\"constant\", value=%s)", in, pyInts(torch), pyFloat(value)), ""
}
