//go:build !amd64 || noasm

package graph

// AdamKernel applies the Adam update with constants k to the len(w)
// elements of w and the moments m and v, with the gradient g: in adamGo's
// order of float32 operations, so with its bits in every build. It panics
// if g, m or v is shorter than w.
func AdamKernel(w, g, m, v []float32, k *AdamConsts) { adamGo(w, g, m, v, k) }
