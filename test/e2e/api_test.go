//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"skiff.dev/skiff/internal/event"
)

var apiLine = regexp.MustCompile(`Serving Skaffold's v2 HTTP API on (http://127\.0\.0\.1:\d+) `)

// follow reads the grpc-gateway stream of /v2/events into a channel
// until the test ends.
func follow(t *testing.T, url string) <-chan event.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v2/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/events: %s", resp.Status)
	}
	ch := make(chan event.Event, 10000)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var line struct{ Result event.Event }
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Errorf("a line of /v2/events is not {\"result\": event}: %q: %v", sc.Text(), err)
				return
			}
			ch <- line.Result
		}
	}()
	return ch
}

// awaitEvent reads events until one satisfies ok.
func awaitEvent(t *testing.T, ch <-chan event.Event, what string, ok func(event.Event) bool) event.Event {
	t.Helper()
	timeout := time.After(devStepTimeout)
	for {
		select {
		case e := <-ch:
			if ok(e) {
				return e
			}
		case <-timeout:
			t.Fatalf("/v2/events did not stream %s within %s", what, devStepTimeout)
		}
	}
}

func call(t *testing.T, method, url, body string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(b.String()) != "{}" {
		t.Fatalf("%s %s %s: %s %s", method, url, body, resp.Status, b.String())
	}
}

// TestDevHTTPAPI drives skiff dev through Skaffold's v2 HTTP API, as an
// IDE does: /v2/events streams the first build from the start, /v2/state
// shows the artifact built and the deployment ready, and with auto-build
// turned off an edit waits until /v2/execute asks for the build, which
// then runs and rolls out.
func TestDevHTTPAPI(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := syncExample(t)
	r := devBackground(t, dir, ns, "--rpc-http-port=0", "--hot-swap=false")
	m := apiLine.FindStringSubmatch(r.errOut.String())
	if m == nil {
		t.Fatalf("skiff dev did not say where the API is:\n%s", r.errOut)
	}
	url := m[1]
	events := follow(t, url)
	awaitEvent(t, events, "the first build of sync", func(e event.Event) bool {
		b := e.BuildSubtaskEvent
		return b != nil && b.Artifact == "sync" && b.Status == event.Succeeded && b.TaskID == "Build-0"
	})
	c.waitReady(t, ns, "app=sync", 2)

	resp, err := http.Get(url + "/v2/state")
	if err != nil {
		t.Fatal(err)
	}
	var st event.State
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if st.BuildState.Artifacts["sync"] != event.Succeeded || st.DeployState.Status != event.Succeeded || st.StatusCheckState.Resources["deployment/sync"] != event.Succeeded {
		t.Errorf("state %+v, want sync built, deployed and deployment/sync ready", st)
	}
	if !st.BuildState.AutoTrigger || !st.FileSyncState.AutoTrigger || !st.DeployState.AutoTrigger {
		t.Errorf("state %+v, want every auto trigger on", st)
	}

	call(t, http.MethodPut, url+"/v2/build/auto_execute", `{"enabled": false}`)
	mark := r.mark()
	writeTree(t, dir, map[string]string{"main.go": versionSource(t, "v2")})
	r.waitSince(t, mark, devStepTimeout, regexp.MustCompile(`sync changed; press Enter to rebuild`))
	call(t, http.MethodPost, url+"/v2/execute", `{"build": true}`)
	r.waitSince(t, mark, devStepTimeout, rebuiltLine)
	loop := awaitEvent(t, events, "a DevLoop iteration", func(e event.Event) bool {
		return e.TaskEvent != nil && e.TaskEvent.Task == event.TaskDevLoop && e.TaskEvent.Status == event.InProgress
	})
	awaitEvent(t, events, "the build the execute asked for", func(e event.Event) bool {
		b := e.BuildSubtaskEvent
		return b != nil && b.Artifact == "sync" && b.Status == event.Succeeded && b.TaskID == "Build-"+strconv.Itoa(int(loop.TaskEvent.Iteration))
	})
	c.expectVersion(t, ns, "v2")
	c.stopAndCheckCleanup(t, r, ns)
}
