package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/runner"
)

// fakeControl records what the API asks of the loop; it refuses images
// not in artifacts, as runner.Control does once its loop runs.
type fakeControl struct {
	mu        gosync.Mutex
	triggered []runner.Phases
	auto      runner.Auto
	artifacts []string
}

func (c *fakeControl) Trigger(p runner.Phases) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, im := range p.Images {
		if !slices.Contains(c.artifacts, im) {
			return fmt.Errorf("no artifact %q in this session", im)
		}
	}
	c.triggered = append(c.triggered, p)
	return nil
}

func (c *fakeControl) SetAuto(phase string, on bool) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sw := map[string]*bool{runner.PhaseBuild: &c.auto.Build, runner.PhaseSync: &c.auto.Sync, runner.PhaseDeploy: &c.auto.Deploy}[phase]
	if *sw == on {
		return false, nil
	}
	*sw = on
	return true, nil
}

func (c *fakeControl) Auto() runner.Auto {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.auto
}

// start serves an API of bus (and ctl, when not nil) on a free port.
func start(t *testing.T, bus *event.Bus, ctl Controller) string {
	t.Helper()
	tr := event.Track(bus, event.NewState("run", []string{"app"}, event.Auto{}))
	t.Cleanup(tr.Stop)
	s := New(Options{Events: bus, State: tr, Control: ctl, Command: "run"})
	addr, err := s.Start(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("the API listens on %s, want 127.0.0.1 only", addr)
	}
	return "http://" + addr
}

func get(t *testing.T, url string, accept string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return resp
}

// result reads the next line of a grpc-gateway stream: {"result": event}.
func result(t *testing.T, sc *bufio.Scanner) map[string]any {
	t.Helper()
	if !sc.Scan() {
		t.Fatalf("the stream ended: %v", sc.Err())
	}
	var line map[string]map[string]any
	if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
		t.Fatalf("line %q: %v", sc.Text(), err)
	}
	r, ok := line["result"]
	if !ok || len(line) != 1 {
		t.Fatalf("line %q is not {\"result\": event}", sc.Text())
	}
	return r
}

// /v2/events streams the session's events from its start, then follows
// them, one {"result": event} a line, and ends with the session.
func TestEventsStreamsFromTheStart(t *testing.T) {
	t.Parallel()
	bus := event.NewBus(0)
	bus.TaskStarted(event.TaskBuild, "Building app")
	bus.Publish(event.Event{BuildSubtaskEvent: &event.BuildSubtaskEvent{ID: "app", TaskID: event.TaskBuild, Artifact: "app", Step: "Build", Status: event.InProgress}})
	url := start(t, bus, nil)
	resp := get(t, url+"/v2/events", "")
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	if te, _ := result(t, sc)["taskEvent"].(map[string]any); te["id"] != "Build-0" || te["task"] != "Build" || te["status"] != "InProgress" {
		t.Errorf("first event %v, want the Build-0 task InProgress", te)
	}
	be, _ := result(t, sc)["buildSubtaskEvent"].(map[string]any)
	if be["artifact"] != "app" || be["task_id"] != "Build-0" || be["status"] != "InProgress" {
		t.Errorf("second event %v, want app's build InProgress in Build-0", be)
	}
	// An event published now reaches the client that follows.
	bus.Publish(event.Event{BuildSubtaskEvent: &event.BuildSubtaskEvent{ID: "app", TaskID: event.TaskBuild, Artifact: "app", Step: "Build", Status: event.Succeeded}})
	r := result(t, sc)
	if be, _ := r["buildSubtaskEvent"].(map[string]any); be["status"] != "Succeeded" {
		t.Errorf("third event %v, want app's build Succeeded", r)
	}
	if _, ok := r["timestamp"].(string); !ok {
		t.Errorf("event %v has no timestamp", r)
	}
	bus.Close()
	if sc.Scan() {
		t.Errorf("after the session ended, the stream sent %q", sc.Text())
	}
}

// /v2/events writes every field of an event, empty ones too, as
// Skaffold's grpc-gateway does (protojson with EmitUnpopulated): an empty
// string, 0, null for a message, [] for a list; the kinds of event not
// sent stay out. A Go client decodes it into skiff's events.
func TestEventsWriteEmptyFields(t *testing.T) {
	t.Parallel()
	bus := event.NewBus(0)
	bus.Publish(event.Event{BuildSubtaskEvent: &event.BuildSubtaskEvent{ID: "app", TaskID: "Build-1", Artifact: "app", Step: "Build", Status: event.InProgress}})
	bus.Publish(event.Event{FileSyncEvent: &event.FileSyncEvent{ID: "app", TaskID: "Sync-1", Image: "app", Status: event.Succeeded}})
	bus.Publish(event.Event{BuildSubtaskEvent: &event.BuildSubtaskEvent{ID: "app", TaskID: "Build-1", Artifact: "app", Step: "Build", Status: event.Succeeded, Duration: 1500 * time.Millisecond}})
	bus.Close()
	sc := bufio.NewScanner(get(t, start(t, bus, nil)+"/v2/events", "").Body)
	r := result(t, sc)
	if len(r) != 2 {
		t.Errorf("event %v: want the timestamp and buildSubtaskEvent alone, not the kinds not sent", r)
	}
	be, _ := r["buildSubtaskEvent"].(map[string]any)
	for field, want := range map[string]any{"actionableErr": nil, "image": "", "durationNanos": "0"} {
		if got, ok := be[field]; !ok || got != want {
			t.Errorf("buildSubtaskEvent %v: %s is %#v (present: %t), want %#v", be, field, got, ok, want)
		}
	}
	fe, _ := result(t, sc)["fileSyncEvent"].(map[string]any)
	for field, want := range map[string]any{"fileCount": float64(0), "files": []any{}, "pods": []any{}} {
		if got, ok := fe[field]; !ok || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("fileSyncEvent %v: %s is %#v (present: %t), want %#v", fe, field, got, ok, want)
		}
	}
	if !sc.Scan() {
		t.Fatal("the stream ended before the third event")
	}
	var line struct{ Result event.Event }
	if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
		t.Fatalf("decoding %s into an event.Event: %v", sc.Bytes(), err)
	}
	if b := line.Result.BuildSubtaskEvent; b == nil || b.Duration != 1500*time.Millisecond || b.ActionableErr != nil || line.Result.FileSyncEvent != nil {
		t.Errorf("decoded %s as %+v", sc.Bytes(), line.Result)
	}
}

// /v2/applicationLogs streams the application's log lines only.
func TestApplicationLogsStreamsLogLinesOnly(t *testing.T) {
	t.Parallel()
	bus := event.NewBus(0)
	bus.Publish(event.Event{DeploySubtaskEvent: &event.DeploySubtaskEvent{Status: event.InProgress}})
	bus.Publish(event.Event{ApplicationLogEvent: &event.ApplicationLogEvent{PodName: "app-1", ContainerName: "app", Message: "listening on :8080\n"}})
	bus.Close()
	sc := bufio.NewScanner(get(t, start(t, bus, nil)+"/v2/applicationLogs", "").Body)
	le, _ := result(t, sc)["applicationLogEvent"].(map[string]any)
	if le["podName"] != "app-1" || le["containerName"] != "app" || le["message"] != "listening on :8080\n" {
		t.Errorf("log event %v, want app-1's line", le)
	}
	if sc.Scan() {
		t.Errorf("the log stream sent %q besides the log line", sc.Text())
	}
}

// With Accept: text/event-stream, /v2/events sends server-sent events,
// the event itself as data.
func TestEventsAsServerSentEvents(t *testing.T) {
	t.Parallel()
	bus := event.NewBus(0)
	bus.Publish(event.Event{FileSyncEvent: &event.FileSyncEvent{TaskID: event.TaskSync, Image: "app", FileCount: 1, Status: event.Succeeded}})
	bus.Close()
	resp := get(t, start(t, bus, nil)+"/v2/events", "text/event-stream")
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q, want text/event-stream", ct)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	id, data, ok := strings.Cut(string(body), "\ndata: ")
	if !ok || id != "id: 1" || !strings.HasSuffix(data, "}\n\n") {
		t.Fatalf("body %q, want one server-sent event with id 1", body)
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(data)), &e); err != nil {
		t.Fatal(err)
	}
	if fe, _ := e["fileSyncEvent"].(map[string]any); fe["image"] != "app" || fe["task_id"] != "Sync-0" {
		t.Errorf("data %v, want app's sync in Sync-0", e)
	}
}

// /v2/state is the state made from the events, with the loop's auto
// switches.
func TestStateServesTheTrackedState(t *testing.T) {
	t.Parallel()
	bus := event.NewBus(0)
	bus.Publish(event.Event{BuildSubtaskEvent: &event.BuildSubtaskEvent{Artifact: "app", Step: "Build", Status: event.Succeeded}})
	bus.Publish(event.Event{StatusCheckSubtaskEvent: &event.StatusCheckSubtaskEvent{Resource: "deployment/app", Status: event.Succeeded}})
	bus.Close() // the tracker has every event once the bus closes and it drained
	ctl := &fakeControl{auto: runner.Auto{Sync: true}}
	url := start(t, bus, ctl)
	var st event.State
	for {
		// The tracker reads its subscription in the background.
		if err := json.NewDecoder(get(t, url+"/v2/state", "").Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		if st.StatusCheckState.Resources["deployment/app"] != "" {
			break
		}
	}
	if st.BuildState.Artifacts["app"] != event.Succeeded || st.StatusCheckState.Resources["deployment/app"] != event.Succeeded {
		t.Errorf("state %+v, want app built and deployment/app ready", st)
	}
	if st.BuildState.AutoTrigger || !st.FileSyncState.AutoTrigger || st.DeployState.AutoTrigger {
		t.Errorf("auto triggers build %v sync %v deploy %v, want the loop's: sync only", st.BuildState.AutoTrigger, st.FileSyncState.AutoTrigger, st.DeployState.AutoTrigger)
	}
}

func send(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s %s: the answer is not JSON: %v", method, url, err)
	}
	return resp.StatusCode, m
}

// /v2/execute triggers the phases of Skaffold's Intent; auto_execute
// turns a phase's automatic run on and off, answering as Skaffold does
// when the switch is already so or the body lacks "enabled".
func TestExecuteAndAutoExecuteDriveTheLoop(t *testing.T) {
	t.Parallel()
	ctl := &fakeControl{auto: runner.Auto{Build: true, Sync: true, Deploy: true}, artifacts: []string{"app", "web"}}
	bus := event.NewBus(0)
	url := start(t, bus, ctl)
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               float64
	}{
		{"POST", "/v2/execute", `{"build": true}`, 200, 0},
		{"POST", "/v2/execute", `{"devloop": true}`, 200, 0},
		{"POST", "/v2/execute", `{"build": "yes"}`, 400, 3},
		// skiff's extension: the artifacts of a dashboard row's button.
		{"POST", "/v2/execute", `{"build": true, "artifacts": ["web"]}`, 200, 0},
		{"POST", "/v2/execute", `{"sync": true, "artifacts": ["app"]}`, 200, 0},
		{"POST", "/v2/execute", `{"build": true, "artifacts": ["nosuch"]}`, 400, 3},
		{"PUT", "/v2/build/auto_execute", `{"enabled": false}`, 200, 0},
		{"PUT", "/v2/build/auto_execute", `{"enabled": false}`, 409, 6},
		{"PUT", "/v2/sync/auto_execute", `{}`, 400, 3},
		{"PUT", "/v2/deploy/auto_execute", `{"enabled": false}`, 200, 0},
	} {
		status, body := send(t, tc.method, url+tc.path, tc.body)
		if status != tc.status {
			t.Errorf("%s %s %s: %d %v, want %d", tc.method, tc.path, tc.body, status, body, tc.status)
		}
		if tc.code == 0 && len(body) != 0 {
			t.Errorf("%s %s: body %v, want {}", tc.method, tc.path, body)
		}
		if tc.code != 0 && (body["code"] != tc.code || body["message"] == "" || body["details"] == nil) {
			t.Errorf("%s %s %s: body %v, want grpc-gateway's error with code %v", tc.method, tc.path, tc.body, body, tc.code)
		}
	}
	if got := fmt.Sprint(ctl.triggered); got != fmt.Sprint([]runner.Phases{{Build: true}, {Build: true, Sync: true, Deploy: true}, {Build: true, Images: []string{"web"}}, {Sync: true, Images: []string{"app"}}}) {
		t.Errorf("triggered %s, want a build, everything, web's build and app's sync", got)
	}
	if a := ctl.Auto(); a != (runner.Auto{Sync: true}) {
		t.Errorf("auto switches %+v, want sync only", a)
	}
	if _, body := send(t, "POST", url+"/v2/execute", `{"build": true, "artifacts": ["nosuch"]}`); !strings.Contains(fmt.Sprint(body["message"]), `no artifact "nosuch"`) || !strings.Contains(fmt.Sprint(body["message"]), `leave it out for all`) {
		t.Errorf("an unknown artifact: %v, want the loop's refusal and what to do", body)
	}
}

// Without a dev loop (skiff run), the control endpoints say so.
func TestExecuteWithoutALoop(t *testing.T) {
	t.Parallel()
	url := start(t, event.NewBus(0), nil)
	status, body := send(t, "POST", url+"/v2/execute", `{"build": true}`)
	if status != http.StatusNotImplemented || body["code"] != 12.0 || !strings.Contains(body["message"].(string), "skiff run has no dev loop") {
		t.Errorf("execute without a loop: %d %v, want 501 saying run has no dev loop", status, body)
	}
}

// The API refuses what a page elsewhere could make a browser send: a
// request for another host name (DNS rebinding) and a change from a page
// of another origin; IDEs (no Origin) and the dashboard (its own origin)
// get through.
func TestGuardsAgainstOtherSites(t *testing.T) {
	t.Parallel()
	ctl := &fakeControl{}
	url := start(t, event.NewBus(0), ctl)
	addr := strings.TrimPrefix(url, "http://")
	send := func(method, path, host, origin string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, url+path, strings.NewReader(`{"build": true}`))
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusForbidden && !strings.Contains(string(body), `"code":7`) {
			t.Errorf("%s %s: 403 without grpc-gateway's PermissionDenied: %s", method, path, body)
		}
		return resp.StatusCode
	}
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	for _, c := range []struct {
		method, path, host, origin string
		want                       int
	}{
		{"GET", "/v2/state", "", "", http.StatusOK},
		{"GET", "/v2/state", "localhost:" + port, "", http.StatusOK},
		{"GET", "/v2/state", "attacker.example:" + port, "", http.StatusForbidden},
		{"POST", "/v2/execute", "attacker.example:" + port, "", http.StatusForbidden},
		{"POST", "/v2/execute", "", "http://attacker.example", http.StatusForbidden},
		{"POST", "/v2/execute", "", "null", http.StatusForbidden},
		{"POST", "/v2/execute", "", "", http.StatusOK},
		{"POST", "/v2/execute", "", "http://" + addr, http.StatusOK},
	} {
		if got := send(c.method, c.path, c.host, c.origin); got != c.want {
			t.Errorf("%s %s Host %q Origin %q: %d, want %d", c.method, c.path, c.host, c.origin, got, c.want)
		}
	}
	ctl.mu.Lock()
	defer ctl.mu.Unlock()
	if len(ctl.triggered) != 2 {
		t.Errorf("the loop was triggered %d times, want 2 (the requests let through)", len(ctl.triggered))
	}
}
