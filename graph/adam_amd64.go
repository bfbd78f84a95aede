//go:build !noasm

package graph

// adamSSE applies the Adam update to the first len(w) &^ 3 elements, four
// at a time with SSE (part of every amd64 processor), in adamGo's order of
// operations, so with its results.
//
//go:noescape
func adamSSE(w, g, m, v []float32, k *AdamConsts)

// AdamKernel applies the Adam update with constants k to the len(w)
// elements of w and the moments m and v, with the gradient g: in adamGo's
// order of float32 operations, so with its bits in every build. It panics
// if g, m or v is shorter than w.
func AdamKernel(w, g, m, v []float32, k *AdamConsts) {
	n := len(w) &^ 3
	if n > 0 {
		adamSSE(w[:n], g[:n], m[:n], v[:n], k)
	}
	adamGo(w[n:], g[n:], m[n:], v[n:], k)
}
