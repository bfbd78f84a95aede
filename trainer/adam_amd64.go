//go:build !noasm

package trainer

// adamSSE applies the Adam update to the first len(w) &^ 3 elements, four
// at a time with SSE (part of every amd64 processor), in adamGo's order of
// operations, so with its results.
//
//go:noescape
func adamSSE(w, g, m, v []float32, k *adamConsts)

// adamKernel applies the Adam update to w, m and v with the gradient g.
func adamKernel(w, g, m, v []float32, k *adamConsts) {
	n := len(w) &^ 3
	if n > 0 {
		adamSSE(w[:n], g[:n], m[:n], v[:n], k)
	}
	adamGo(w[n:], g[n:], m[n:], v[n:], k)
}
