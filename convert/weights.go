package convert

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aebridge/aebridge/internal/safetensors"
	"github.com/aebridge/aebridge/trainer"
)

// LoadWeights loads a safetensors file of weights — a PyTorch state_dict
// saved with safetensors, say — into m. Tensors whose names are m's
// state-dict names go to those tensors. The rest are matched in order:
// PyTorch saves a module's tensors in the order the module registers them,
// which for nn.Sequential stacks and the usual autoencoder classes is the
// order of the layers, so the k-th unmatched tensor of the file goes to
// the k-th unmatched tensor of m, and must have its shape (a count of
// batches seen may be missing). Every tensor of m must be filled; the
// error otherwise lists what did not match. It returns the mapping from
// file names to m's names.
func LoadWeights(m *trainer.Model, path string) (map[string]string, error) {
	file, meta, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, err
	}
	want := m.StateDict()
	order := stateOrder(m)
	mapping := map[string]string{}
	sd := map[string]trainer.Tensor{}
	var restFile []string
	for name := range file {
		if _, ok := want[name]; ok {
			mapping[name] = name
			sd[name] = trainer.Tensor{Shape: file[name].Shape, Data: file[name].Data}
		} else {
			restFile = append(restFile, name)
		}
	}
	// The file's own order is not kept by safetensors; PyTorch's names
	// sort back into it when their numeric parts are compared as numbers.
	if o := meta["order"]; o != "" {
		restFile = orderBy(restFile, strings.Split(o, ","))
	} else {
		sort.Slice(restFile, func(i, j int) bool { return naturalLess(restFile[i], restFile[j]) })
	}
	var restModel []string
	for _, name := range order {
		if _, ok := sd[name]; !ok {
			restModel = append(restModel, name)
		}
	}
	var problems []string
	k := 0
	for _, name := range restModel {
		w := want[name]
		if strings.HasSuffix(name, ".num_batches_tracked") && (k >= len(restFile) || !strings.HasSuffix(restFile[k], "num_batches_tracked")) {
			sd[name] = trainer.Tensor{Shape: w.Shape, Data: make([]float32, len(w.Data))}
			continue
		}
		if k >= len(restFile) {
			problems = append(problems, fmt.Sprintf("%s %v: no tensor left in the file", name, w.Shape))
			continue
		}
		f := file[restFile[k]]
		if len(f.Data) != len(w.Data) {
			problems = append(problems, fmt.Sprintf("%s %v: the file's next tensor %s is %v", name, w.Shape, restFile[k], f.Shape))
		} else {
			mapping[restFile[k]] = name
			sd[name] = trainer.Tensor{Shape: w.Shape, Data: f.Data}
		}
		k++
	}
	for ; k < len(restFile); k++ {
		problems = append(problems, fmt.Sprintf("%s %v: the model has no tensor for it", restFile[k], file[restFile[k]].Shape))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("convert: %s does not fit the model:\n  %s", path, strings.Join(problems, "\n  "))
	}
	if err := m.LoadStateDict(sd, path); err != nil {
		return nil, err
	}
	return mapping, nil
}

// SaveWeights writes m's state dict to path as safetensors, with the
// tensors' order recorded in the metadata.
func SaveWeights(m *trainer.Model, path string) error {
	sd := map[string]safetensors.Tensor{}
	for name, t := range m.StateDict() {
		sd[name] = safetensors.Tensor{Shape: t.Shape, Data: t.Data}
	}
	return safetensors.WriteFile(path, sd, map[string]string{"format": "pt", "aebridge": trainer.Version, "order": strings.Join(stateOrder(m), ",")})
}

// stateOrder lists m's state-dict names in layer order.
func stateOrder(m *trainer.Model) []string {
	var names []string
	sd := m.StateDict()
	for _, p := range m.Params() {
		names = append(names, p.Name)
	}
	// Buffers (batch norm statistics) follow their layer's parameters.
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		out = append(out, n)
		seen[n] = true
		if strings.HasSuffix(n, ".bias") {
			layer := strings.TrimSuffix(n, ".bias")
			for _, b := range []string{".running_mean", ".running_var", ".num_batches_tracked"} {
				if _, ok := sd[layer+b]; ok {
					out = append(out, layer+b)
					seen[layer+b] = true
				}
			}
		}
	}
	for n := range sd {
		if !seen[n] {
			out = append(out, n)
		}
	}
	return out
}

func orderBy(names, order []string) []string {
	pos := map[string]int{}
	for i, n := range order {
		pos[n] = i
	}
	sort.SliceStable(names, func(i, j int) bool {
		pi, oki := pos[names[i]]
		pj, okj := pos[names[j]]
		if oki != okj {
			return oki
		}
		if !oki {
			return naturalLess(names[i], names[j])
		}
		return pi < pj
	})
	return names
}

// naturalLess orders "encoder.2.weight" before "encoder.10.weight", and a
// layer's weight before its bias, as PyTorch registers them.
func naturalLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if pa[i] == pb[i] {
			continue
		}
		var na, nb int
		_, ea := fmt.Sscanf(pa[i], "%d", &na)
		_, eb := fmt.Sscanf(pb[i], "%d", &nb)
		if ea == nil && eb == nil {
			return na < nb
		}
		ra, rb := roleRank(pa[i]), roleRank(pb[i])
		if ra != rb {
			return ra < rb
		}
		return pa[i] < pb[i]
	}
	return len(pa) < len(pb)
}

func roleRank(s string) int {
	switch s {
	case "weight":
		return 0
	case "bias":
		return 1
	case "running_mean":
		return 2
	case "running_var":
		return 3
	case "num_batches_tracked":
		return 4
	}
	return 5
}
