//go:build !amd64 || noasm

package trainer

// adamKernel applies the Adam update to w, m and v with the gradient g.
func adamKernel(w, g, m, v []float32, k *adamConsts) { adamGo(w, g, m, v, k) }
