package serve

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aebridge/aebridge/runtime"
)

func TestPage(t *testing.T) {
	_, ts := newTestServer(t, Options{}, "mlp_ae")
	r := do(t, "GET", ts.URL+"/", nil, nil)
	if r.code != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !bytes.Contains(r.body, []byte("<title>aebridge serve</title>")) {
		t.Errorf("GET /: got %d %s, want the page", r.code, r.header.Get("Content-Type"))
	}
}

// chromium finds the browser: $AEBRIDGE_CHROMIUM, else Debian's chromium.
func chromium() string {
	if p := os.Getenv("AEBRIDGE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// cdp is a client of the Chrome DevTools Protocol over the pipe that
// --remote-debugging-pipe opens (fd 3 in, fd 4 out, messages ended by a
// NUL byte), so the test needs no WebSocket library.
type cdp struct {
	w       *os.File
	mu      sync.Mutex
	id      int
	pending map[int]chan json.RawMessage
}

func (c *cdp) read(r *os.File) {
	br := bufio.NewReader(r)
	for {
		msg, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var m struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if json.Unmarshal(msg[:len(msg)-1], &m) != nil || m.ID == 0 {
			continue // an event
		}
		c.mu.Lock()
		ch := c.pending[m.ID]
		delete(c.pending, m.ID)
		c.mu.Unlock()
		if m.Error != nil {
			ch <- append([]byte(`{"error":`), append(m.Error, '}')...)
		} else {
			ch <- m.Result
		}
	}
}

// call sends a command (to the session, when not "") and decodes its result
// into out.
func (c *cdp) call(t *testing.T, session, method string, params, out any) {
	t.Helper()
	c.mu.Lock()
	c.id++
	id := c.id
	ch := make(chan json.RawMessage, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	b, _ := json.Marshal(msg)
	if _, err := c.w.Write(append(b, 0)); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	select {
	case res := <-ch:
		if bytes.HasPrefix(res, []byte(`{"error":`)) {
			t.Fatalf("%s: %s", method, res)
		}
		if out != nil {
			if err := json.Unmarshal(res, out); err != nil {
				t.Fatalf("%s: %v: %s", method, err, res)
			}
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no answer from the browser in 30s", method)
	}
}

// eval evaluates a JavaScript expression in the page and returns its value.
func (c *cdp) eval(t *testing.T, session, expr string) any {
	t.Helper()
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
	}
	c.call(t, session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	return res.Result.Value
}

// waitFor polls expr until it is true, for at most 20s.
func (c *cdp) waitFor(t *testing.T, session, expr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for c.eval(t, session, expr) != true {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20s for %s; status: %v", expr, c.eval(t, session, `document.getElementById("status").textContent`))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPageInChromium drives the page in headless Chromium: it uploads an
// image through the page's file input, waits for the reconstruction, reads
// the score from the page and checks it against the runtime's score of
// the same pixels, and takes a screenshot that must not be blank.
func TestPageInChromium(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("no Chromium (install Debian's chromium: make setup; or set AEBRIDGE_CHROMIUM): the browser test is skipped")
	}
	_, ts := newTestServer(t, Options{}, "mlp_ae")
	// An 8×8 gray image, mlp_ae's 64 inputs, drawn 10× larger so that the
	// page's nearest-neighbour scaling brings back the same 64 pixels.
	const side, scale = 8, 10
	img := image.NewGray(image.Rect(0, 0, side*scale, side*scale))
	pix := make([]uint8, side*side)
	for i := range pix {
		pix[i] = uint8((i*37 + 11) % 256)
	}
	for y := 0; y < side*scale; y++ {
		for x := 0; x < side*scale; x++ {
			img.SetGray(x, y, color.Gray{Y: pix[(y/scale)*side+x/scale]})
		}
	}
	dir := t.TempDir()
	imgPath := filepath.Join(dir, "digit.png")
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(imgPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	toBrowser, fromTest, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	toTest, fromBrowser, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// The profile lives outside t.TempDir: the browser's helpers may still
	// be writing to it while the test's cleanup removes it.
	profile, err := os.MkdirTemp("", "aebridge-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(profile)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--remote-debugging-pipe",
		"--user-data-dir="+profile, "--window-size=1000,900", "about:blank")
	cmd.ExtraFiles = []*os.File{toBrowser, fromBrowser} // fds 3 and 4
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	toBrowser.Close()
	fromBrowser.Close()
	c := &cdp{w: fromTest, pending: map[int]chan json.RawMessage{}}
	go c.read(toTest)
	defer func() {
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		fromTest.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", stderr.String())
		}
	}()

	var target struct {
		TargetID string `json:"targetId"`
	}
	c.call(t, "", "Target.createTarget", map[string]any{"url": ts.URL + "/"}, &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	c.call(t, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	s := att.SessionID
	c.waitFor(t, s, `document.readyState === "complete" && !document.getElementById("work").hidden`)
	var doc struct {
		Root struct {
			NodeID int `json:"nodeId"`
		} `json:"root"`
	}
	c.call(t, s, "DOM.getDocument", map[string]any{}, &doc)
	var q struct {
		NodeID int `json:"nodeId"`
	}
	c.call(t, s, "DOM.querySelector", map[string]any{"nodeId": doc.Root.NodeID, "selector": "#file"}, &q)
	c.call(t, s, "DOM.setFileInputFiles", map[string]any{"nodeId": q.NodeID, "files": []string{imgPath}}, nil)
	c.waitFor(t, s, `document.body.dataset.state === "scored"`)
	text, _ := c.eval(t, s, `document.getElementById("score").textContent`).(string)
	got, err := strconv.ParseFloat(text, 64)
	if err != nil {
		t.Fatalf("score on the page: %q: %v", text, err)
	}

	// The runtime's score of the same pixels, as the page reads them:
	// the mean of r, g and b over 255, which is the gray value over 255.
	x := runtime.Tensor{Shape: []int64{1, side * side}, Data: make([]float32, side*side)}
	for i, p := range pix {
		x.Data[i] = float32(float64(3*int(p)) / (3 * 255))
	}
	m, err := runtime.Open(fixture("mlp_ae"), runtime.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	want, err := m.Score(x, runtime.MSE)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-float64(want[0])) > 1e-5*math.Abs(float64(want[0])) { // the page prints 6 digits
		t.Errorf("score on the page: got %v, want %v", got, want[0])
	}

	var shot struct {
		Data string `json:"data"`
	}
	c.call(t, s, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot)
	b, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		t.Fatal(err)
	}
	if p := os.Getenv("AEBRIDGE_SCREENSHOT"); p != "" { // to look at it
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Error(err)
		}
	}
	sc, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if n := grayLevels(sc); n < 16 {
		t.Errorf("screenshot %v holds %d gray levels: blank? want at least 16", sc.Bounds(), n)
	}
	c.call(t, "", "Browser.close", map[string]any{}, nil)
}

// grayLevels counts the distinct gray levels (pixels with r = g = b) of
// im: the drawing and the reconstruction bring many, an empty page few.
func grayLevels(im image.Image) int {
	seen := map[uint32]bool{}
	b := im.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := im.At(x, y).RGBA()
			if r == g && g == bl {
				seen[r] = true
			}
		}
	}
	return len(seen)
}
