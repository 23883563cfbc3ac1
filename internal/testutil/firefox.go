package testutil

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// FirefoxPath is Debian's firefox-esr (apt-get install firefox-esr), or
// an error that says how to get it.
func FirefoxPath() (string, error) {
	path, err := exec.LookPath("firefox-esr")
	if err != nil {
		return "", fmt.Errorf("no firefox-esr on PATH (%v): install Debian's, apt-get install -y firefox-esr (hack/cluster.sh up does)", err)
	}
	return path, nil
}

// firefoxPrefs keep a test's Firefox on loopback: every request for
// another host goes to a proxy on a closed loopback port (loopback itself
// is never proxied), and the services that call home are off.
const firefoxPrefs = `user_pref("network.proxy.type", 1);
user_pref("network.proxy.http", "127.0.0.1");
user_pref("network.proxy.http_port", 9);
user_pref("network.proxy.ssl", "127.0.0.1");
user_pref("network.proxy.ssl_port", 9);
user_pref("network.proxy.share_proxy_settings", true);
user_pref("network.proxy.allow_hijacking_localhost", false);
user_pref("network.dns.disablePrefetch", true);
user_pref("network.prefetch-next", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("app.update.disabledForTesting", true);
user_pref("app.normandy.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
`

// firefoxListening is the line where Firefox says its WebDriver BiDi
// address.
var firefoxListening = regexp.MustCompile(`WebDriver BiDi listening on ws://(127\.0\.0\.1:\d+)`)

// Firefox starts the headless Firefox at path with WebDriver BiDi on a
// free loopback port and a fresh profile, stops it (and its content
// processes) when the test ends, and returns BiDi's address.
func Firefox(t testing.TB, path string) string {
	t.Helper()
	profile := t.TempDir()
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(firefoxPrefs), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr := startBrowser(t, path, "--headless", "--remote-debugging-port=0", "--profile", profile, "--no-remote", "about:blank")
	var addr string
	WaitFor(t, 60*time.Second, "Firefox's WebDriver BiDi address", func(context.Context) (bool, string) {
		m := firefoxListening.FindStringSubmatch(stderr.String())
		if m == nil {
			return false, "firefox says: " + stderr.String()
		}
		addr = m[1]
		return true, ""
	})
	return addr
}

// BiDi drives a tab of Firefox over WebDriver BiDi (the W3C protocol
// that replaced CDP in Firefox): script.evaluate, and
// browsingContext.navigate and captureScreenshot. It is a Page.
type BiDi struct {
	t       testing.TB
	ws      *CDP // BiDi's messages are CDP's: id, method, params, result, error
	context string
}

// NewFirefoxPage opens a WebDriver BiDi session with the Firefox whose
// BiDi is at addr, loads pageURL in its tab and returns the tab.
func NewFirefoxPage(t testing.TB, addr, pageURL string) *BiDi {
	t.Helper()
	ws := DialCDP(t, addr, "/session")
	ws.Call("session.new", map[string]any{"capabilities": map[string]any{}})
	var tree struct {
		Contexts []struct {
			Context string `json:"context"`
		} `json:"contexts"`
	}
	if err := json.Unmarshal(ws.Call("browsingContext.getTree", map[string]any{}), &tree); err != nil || len(tree.Contexts) == 0 {
		t.Fatalf("Firefox's tabs: %v %+v", err, tree)
	}
	b := &BiDi{t: t, ws: ws, context: tree.Contexts[0].Context}
	ws.Call("browsingContext.setViewport", map[string]any{"context": b.context, "viewport": map[string]int{"width": 1400, "height": 1000}})
	ws.Call("browsingContext.navigate", map[string]any{"context": b.context, "url": pageURL, "wait": "complete"})
	return b
}

// Eval is Page's: the expression's value comes back as JSON.
func (b *BiDi) Eval(expr string, v any) {
	b.t.Helper()
	raw := b.ws.Call("script.evaluate", map[string]any{
		"expression":   "(async () => JSON.stringify(await (" + expr + ")))()",
		"target":       map[string]string{"context": b.context},
		"awaitPromise": true,
	})
	var r struct {
		Type   string `json:"type"`
		Result struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"result"`
		ExceptionDetails struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		b.t.Fatalf("evaluating %s: %v: %s", expr, err, raw)
	}
	if r.Type == "exception" {
		b.t.Fatalf("evaluating %s: %s", expr, r.ExceptionDetails.Text)
	}
	if v != nil && r.Result.Type == "string" {
		if err := json.Unmarshal([]byte(r.Result.Value), v); err != nil {
			b.t.Fatalf("evaluating %s: %v: %s", expr, err, r.Result.Value)
		}
	}
}

// WaitJS is Page's.
func (b *BiDi) WaitJS(timeout time.Duration, what, expr, status string) {
	b.t.Helper()
	waitJS(b.t, b, timeout, what, expr, status)
}

// Screenshot is Page's: the whole document.
func (b *BiDi) Screenshot(path string) {
	b.t.Helper()
	var shot struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(b.ws.Call("browsingContext.captureScreenshot", map[string]any{"context": b.context, "origin": "document"}), &shot); err != nil {
		b.t.Fatal(err)
	}
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
