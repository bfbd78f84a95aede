package serve

import (
	_ "embed"
	"net/http"
)

// page is the page GET / serves: plain HTML and JavaScript, embedded, with
// no build step. It lists the models, lets a user draw or upload an image
// and shows its reconstruction and score, and, for models exported with a
// decoder, a grid of samples and, for two-dimensional codes, the
// latent-space map.
//
//go:embed page/index.html
var page []byte

func servePage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(page)
	}
}
