package testutil

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ChromiumPath is Debian's chromium (apt-get install chromium), or an
// error that says how to get it.
func ChromiumPath() (string, error) {
	path, err := exec.LookPath("chromium")
	if err != nil {
		return "", fmt.Errorf("no chromium on PATH (%v): install Debian's, apt-get install -y chromium (hack/cluster.sh up does)", err)
	}
	return path, nil
}

// chromiumFlags keep a headless Chromium on loopback: no sandbox (tests
// run as root), and none of its calls home.
var chromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
	"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
	"--no-first-run", "--no-default-browser-check", "--disable-background-networking",
	"--disable-component-update", "--disable-default-apps", "--disable-domain-reliability",
	"--disable-sync", "--metrics-recording-only", "--no-pings", "--safebrowsing-disable-auto-update",
	"--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
	"--window-size=1400,1000",
}

// Chromium starts the headless Chromium at path with its DevTools on a
// free loopback port and a fresh profile, stops it (and its helper
// processes) when the test ends, and returns the DevTools' address.
func Chromium(t testing.TB, path string) string {
	t.Helper()
	profile := t.TempDir()
	stderr := startBrowser(t, path, append(chromiumFlags, "--user-data-dir="+profile, "about:blank")...)
	// Chromium writes the port it took, and its browser WebSocket's path,
	// to DevToolsActivePort in the profile.
	var addr string
	WaitFor(t, 60*time.Second, "Chromium's DevToolsActivePort", func(context.Context) (bool, string) {
		b, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort"))
		lines := strings.Split(string(b), "\n")
		if err != nil || len(lines) < 2 || lines[0] == "" {
			return false, fmt.Sprintf("%v; chromium says: %s", err, stderr.String())
		}
		addr = "127.0.0.1:" + lines[0]
		return true, ""
	})
	return addr
}

// startBrowser starts the browser at path with args in a process group
// of its own, which it ends (the browser's helper processes too) when
// the test ends. It returns the browser's output, and fails the test as
// soon as the browser exits (checked by WaitFor's polls of it).
func startBrowser(t testing.TB, path string, args ...string) *exitedBuffer {
	t.Helper()
	cmd := exec.Command(path, args...)
	out := &exitedBuffer{t: t, path: path, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &out.Buffer, &out.Buffer
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	go func() { _ = cmd.Wait(); close(out.exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-out.exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-out.exited
		}
	})
	return out
}

// exitedBuffer is a browser's output; String fails the test when the
// browser has exited, so that a wait for its address ends at once.
type exitedBuffer struct {
	Buffer
	t      testing.TB
	path   string
	exited chan struct{}
}

// String returns the output so far, after checking the browser runs.
func (b *exitedBuffer) String() string {
	b.t.Helper()
	select {
	case <-b.exited:
		b.t.Fatalf("%s exited: %s", b.path, b.Buffer.String())
	default:
	}
	return b.Buffer.String()
}

// NewPage opens a tab of the Chromium whose DevTools are at devtools,
// loads pageURL in it and returns a CDP client of the tab with its Page
// and Runtime domains on.
func NewPage(t testing.TB, devtools, pageURL string) *CDP {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, "http://"+devtools+"/json/new?"+url.QueryEscape(pageURL), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("opening a tab through %s: %v", devtools, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var target struct{ WebSocketDebuggerURL string }
	if err := json.Unmarshal(body, &target); err != nil || target.WebSocketDebuggerURL == "" {
		t.Fatalf("opening a tab through %s: %s: %s", devtools, resp.Status, body)
	}
	c := DialCDP(t, devtools, WSPath(target.WebSocketDebuggerURL))
	c.Call("Page.enable", nil)
	c.Call("Runtime.enable", nil)
	return c
}

// Eval evaluates the JavaScript expression in the page (awaiting it when
// it is a promise) and stores its value in v (nil: dropped). A thrown
// exception fails the test.
func (c *CDP) Eval(expr string, v any) {
	c.t.Helper()
	raw := c.Call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true})
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		c.t.Fatalf("evaluating %s: %v: %s", expr, err, raw)
	}
	if e := r.ExceptionDetails; e != nil {
		c.t.Fatalf("evaluating %s: %s %s", expr, e.Text, e.Exception.Description)
	}
	if v != nil && len(r.Result.Value) > 0 {
		if err := json.Unmarshal(r.Result.Value, v); err != nil {
			c.t.Fatalf("evaluating %s: %v: %s", expr, err, r.Result.Value)
		}
	}
}

// WaitJS waits until the JavaScript expression is true in the page,
// failing the test after timeout with the last value of status (another
// expression, which says what the page shows). Until the page has loaded
// the expressions may throw; that counts as not yet.
func (c *CDP) WaitJS(timeout time.Duration, what, expr, status string) {
	c.t.Helper()
	waitJS(c.t, c, timeout, what, expr, status)
}

// Page is a browser's tab that a test drives: Chromium's (CDP, NewPage)
// or Firefox's (BiDi, NewFirefoxPage).
type Page interface {
	// Eval evaluates the JavaScript expression in the page (awaiting it
	// when it is a promise) and stores its value in v (nil: dropped); a
	// thrown exception fails the test.
	Eval(expr string, v any)
	// WaitJS waits until the expression is true in the page, failing
	// the test after timeout with the last value of status.
	WaitJS(timeout time.Duration, what, expr, status string)
	// Screenshot saves the page as a PNG file at path.
	Screenshot(path string)
}

// waitJS is WaitJS of p.
func waitJS(t testing.TB, p Page, timeout time.Duration, what, expr, status string) {
	t.Helper()
	WaitFor(t, timeout, what, func(context.Context) (bool, string) {
		var ok bool
		p.Eval("(() => { try { return !!("+expr+"); } catch (e) { return false; } })()", &ok)
		if ok {
			return true, ""
		}
		var s any
		p.Eval("(() => { try { return ("+status+"); } catch (e) { return 'the page cannot say yet: ' + e; } })()", &s)
		return false, fmt.Sprint(s)
	})
}

// Screenshot saves the page as a PNG file at path.
func (c *CDP) Screenshot(path string) {
	c.t.Helper()
	var shot struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(c.Call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}), &shot); err != nil {
		c.t.Fatal(err)
	}
	b, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		c.t.Fatal(err)
	}
}
