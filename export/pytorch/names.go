package pytorch

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

var (
	identRe  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	digitsRe = regexp.MustCompile(`^[0-9]+$`)
	notAlnum = regexp.MustCompile(`[^A-Za-z0-9_]+`)
)

// pythonKeywords are Python 3's reserved words: no attribute or variable
// may be named so.
var pythonKeywords = map[string]bool{}

// moduleAttrs are the attributes of nn.Module and nn.ModuleDict that a
// child or parameter of that name would shadow (add_module refuses them).
var moduleAttrs = map[string]bool{}

// reservedVars are the names the generated forward uses itself.
var reservedVars = map[string]bool{"self": true, "n": true, "torch": true, "nn": true, "F": true, "math": true, "np": true}

func init() {
	for _, w := range strings.Fields(`False None True and as assert async await break class continue def del elif else
		except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield
		match case print`) {
		pythonKeywords[w] = true
	}
	for _, w := range strings.Fields(`T_destination add_module apply bfloat16 buffers call_super_init children clear cpu cuda
		double dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter get_submodule half ipu
		items keys load_state_dict modules named_buffers named_children named_modules named_parameters parameters pop
		register_backward_hook register_buffer register_forward_hook register_forward_pre_hook register_full_backward_hook
		register_full_backward_pre_hook register_load_state_dict_post_hook register_module register_parameter
		register_state_dict_pre_hook requires_grad_ set_extra_state share_memory state_dict to to_empty train training type
		update values xpu zero_grad compile set_submodule mtia`) {
		moduleAttrs[w] = true
	}
}

// validPath reports whether a graph parameter name can be a state-dict
// key of the generated module as it is: components split at ".", each an
// identifier (the last one) or an identifier or a number (the others),
// none a Python keyword or an attribute of nn.Module.
func validPath(name string) bool { return valid(name, false) }

// validModulePath is validPath for a module, whose name may be a number
// (a ModuleDict key).
func validModulePath(name string) bool { return valid(name, true) }

func valid(name string, module bool) bool {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		last := i == len(parts)-1 && !module
		switch {
		case pythonKeywords[p] || moduleAttrs[p] || strings.HasPrefix(p, "_"):
			return false
		case identRe.MatchString(p):
		case !last && i > 0 && digitsRe.MatchString(p):
		default:
			return false
		}
	}
	return true
}

// sanitize makes an identifier from a tensor or parameter name:
// "/encoder/encoder.1/Constant_output_0" becomes
// "encoder_encoder_1_Constant_output_0".
func sanitize(name string) string {
	s := strings.Trim(notAlnum.ReplaceAllString(name, "_"), "_")
	for strings.Contains(s, "__") {
		s = strings.ReplaceAll(s, "__", "_")
	}
	if s == "" || (s[0] >= '0' && s[0] <= '9') || pythonKeywords[s] || moduleAttrs[s] || reservedVars[s] {
		s = "t_" + s
	}
	return strings.TrimSuffix(s, "_")
}

// unique returns s, or s with the first suffix _2, _3, … that taken does
// not hold, and marks the result taken.
func unique(s string, taken map[string]bool) string {
	out := s
	for k := 2; taken[out]; k++ {
		out = fmt.Sprintf("%s_%d", s, k)
	}
	taken[out] = true
	return out
}

// tree is the module tree of the generated nn.Module: containers
// (nn.ModuleDict below the root), layers (nn.Linear, …) and raw
// parameters and buffers, each at its state-dict path.
type tree struct {
	kind     string // "root", "dict", "layer", "param", "buffer"
	children map[string]*tree
	order    []string
}

func newTree(kind string) *tree { return &tree{kind: kind, children: map[string]*tree{}} }

// at returns the node at path, creating containers on the way; it returns
// nil if the path runs through a layer, a parameter or a buffer, or ends
// where something already is.
func (t *tree) add(path []string, kind string) *tree {
	cur := t
	for i, p := range path {
		last := i == len(path)-1
		c, ok := cur.children[p]
		switch {
		case ok && last:
			return nil
		case ok && c.kind != "dict":
			return nil
		case !ok:
			k := "dict"
			if last {
				k = kind
			}
			c = newTree(k)
			cur.children[p] = c
			cur.order = append(cur.order, p)
		}
		cur = c
	}
	return cur
}

// free reports whether path can take a new leaf: nothing there, and no
// layer, parameter or buffer on the way.
func (t *tree) free(path []string) bool {
	cur := t
	for i, p := range path {
		c, ok := cur.children[p]
		if !ok {
			return true
		}
		if i == len(path)-1 || c.kind != "dict" {
			return false
		}
		cur = c
	}
	return false
}

// ref is the Python expression of the module or tensor at path: the
// root's children as attributes (getattr for a number), a ModuleDict's by
// key, a layer's or holder's parameters as attributes.
func ref(path []string, t *tree) string {
	var b strings.Builder
	b.WriteString("self")
	cur := t
	for _, p := range path {
		switch {
		case cur.kind == "dict" && cur.children[p] != nil && cur.children[p].kind != "param" && cur.children[p].kind != "buffer":
			fmt.Fprintf(&b, "[%q]", p)
		case identRe.MatchString(p):
			b.WriteString("." + p)
		default:
			fmt.Fprintf(&b, ".get_submodule(%q)", p)
		}
		if cur != nil {
			cur = cur.children[p]
		}
	}
	return b.String()
}

// sortedKeys returns m's keys, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
