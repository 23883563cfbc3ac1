package ui

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"skiff.dev/skiff/internal/api"
	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/runner"
	"skiff.dev/skiff/internal/testutil"
)

// fakeControl records what the dashboard asks of the loop.
type fakeControl struct {
	mu        gosync.Mutex
	triggered []runner.Phases
	auto      runner.Auto
}

func (c *fakeControl) Trigger(p runner.Phases) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.triggered = append(c.triggered, p)
}

func (c *fakeControl) SetAuto(phase string, on bool) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sw := map[string]*bool{runner.PhaseBuild: &c.auto.Build, runner.PhaseSync: &c.auto.Sync, runner.PhaseDeploy: &c.auto.Deploy}[phase]
	if sw == nil {
		return false, fmt.Errorf("no phase %q", phase)
	}
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

func (c *fakeControl) snapshot() ([]runner.Phases, runner.Auto) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]runner.Phases(nil), c.triggered...), c.auto
}

// serve serves the API of bus with the dashboard on 127.0.0.1:port (0: a
// free one) until the returned stop, as skiff dev does, or as skiff run
// does when ctl is nil.
func serve(t *testing.T, bus *event.Bus, ctl api.Controller, port int) (addr string, stop func()) {
	t.Helper()
	tr := event.Track(bus, event.NewState("", nil, event.Auto{}))
	command := "dev"
	if ctl == nil {
		command = "run"
	}
	s := api.New(api.Options{Events: bus, State: tr, Control: ctl, Command: command})
	Register(s)
	addr, err := s.Start(port)
	if err != nil {
		t.Fatal(err)
	}
	var once gosync.Once
	stop = func() {
		once.Do(func() {
			bus.Close()
			if err := s.Close(); err != nil {
				t.Error(err)
			}
			tr.Stop()
		})
	}
	t.Cleanup(stop)
	return addr, stop
}

func TestServesPageAndAPI(t *testing.T) {
	addr, _ := serve(t, event.NewBus(0), nil, 0)
	for path, want := range map[string]string{
		"/":          `<script src="app.js"`,
		"/app.js":    "new EventSource('/v2/events')",
		"/style.css": "#logs",
		"/v2/state":  `"buildState"`,
	} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %s, want 200 with %q in:\n%.300s", path, resp.Status, want, body)
		}
	}
}

// page opens the dashboard at addr in a headless Chromium.
func page(t *testing.T, addr string) *testutil.CDP {
	t.Helper()
	path, err := testutil.ChromiumPath()
	if err != nil {
		if requireBrowser {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return testutil.NewPage(t, testutil.Chromium(t, path), "http://"+addr+"/")
}

// The events of a first build and deploy of two artifacts, app and web,
// each with its Deployment.
func firstDeploy(bus *event.Bus) {
	bus.Publish(event.Event{MetaEvent: &event.MetaEvent{Entry: "Starting skiff: {Version:test}"}})
	bus.TaskStarted(event.TaskBuild, "Building app, web")
	for _, a := range []string{"app", "web"} {
		bus.Publish(event.Event{BuildSubtaskEvent: &event.BuildSubtaskEvent{ID: a, TaskID: event.TaskBuild, Artifact: a, Step: "Build", Status: event.InProgress}})
	}
	bus.Publish(event.Event{BuildSubtaskEvent: &event.BuildSubtaskEvent{ID: "app", TaskID: event.TaskBuild, Artifact: "app", Step: "Build", Status: event.Succeeded, Image: "127.0.0.1:5001/app:abc", Duration: 2300 * time.Millisecond}})
	bus.Publish(event.Event{BuildSubtaskEvent: &event.BuildSubtaskEvent{ID: "web", TaskID: event.TaskBuild, Artifact: "web", Step: "Cache", Status: event.Succeeded, Image: "127.0.0.1:5001/web:def", Duration: 40 * time.Millisecond}})
	bus.TaskEnded(event.TaskBuild, nil)
	bus.TaskStarted(event.TaskDeploy, "Deploying")
	bus.Publish(event.Event{DeploySubtaskEvent: &event.DeploySubtaskEvent{ID: "0", TaskID: event.TaskDeploy, Status: event.InProgress}})
	bus.TaskEnded(event.TaskDeploy, nil)
	bus.TaskStarted(event.TaskStatusCheck, "Checking")
	for _, r := range []string{"deployment/app", "deployment/web"} {
		bus.Publish(event.Event{StatusCheckSubtaskEvent: &event.StatusCheckSubtaskEvent{ID: r, TaskID: event.TaskStatusCheck, Resource: r, Status: event.InProgress, Message: "waiting for rollout to finish: 0 of 1 updated replicas are available..."}})
	}
	for _, r := range []string{"deployment/app", "deployment/web"} {
		bus.Publish(event.Event{StatusCheckSubtaskEvent: &event.StatusCheckSubtaskEvent{ID: r, TaskID: event.TaskStatusCheck, Resource: r, Status: event.Succeeded}})
	}
	bus.TaskEnded(event.TaskStatusCheck, nil)
	bus.Publish(event.Event{DeploySubtaskEvent: &event.DeploySubtaskEvent{ID: "0", TaskID: event.TaskDeploy, Status: event.Succeeded, Duration: 3100 * time.Millisecond}})
	bus.Publish(event.Event{PortEvent: &event.PortForwardEvent{ID: "1", TaskID: event.TaskPortForward, LocalPort: 4503, ResourceType: "service", ResourceName: "web", Namespace: "default", Address: "127.0.0.1", TargetPort: event.IntOrString{IntVal: 8080}}})
	bus.Publish(event.Event{PodEvent: &event.PodEvent{PodName: "app-7d9c5b-x2x4q", Namespace: "default", Phase: "Running", Ready: true}})
	bus.Publish(event.Event{PodEvent: &event.PodEvent{PodName: "web-5f6b8-abcde", Namespace: "default", Phase: "Running", Ready: true}})
	bus.Publish(event.Event{ApplicationLogEvent: &event.ApplicationLogEvent{PodName: "app-7d9c5b-x2x4q", ContainerName: "app", Message: "app listening on :8080"}})
	bus.Publish(event.Event{ApplicationLogEvent: &event.ApplicationLogEvent{PodName: "web-5f6b8-abcde", ContainerName: "web", Message: "web serving static/"}})
}

// rowState is a JS expression: the data-state of a row.
func rowState(kind, name string) string {
	return fmt.Sprintf(`(document.querySelector('tr[data-%s=%q]') || {dataset: {}}).dataset.state`, kind, name)
}

// rowText is a JS expression: the text of a row.
func rowText(kind, name string) string {
	return fmt.Sprintf(`((document.querySelector('tr[data-%s=%q]') || {}).innerText || '')`, kind, name)
}

const (
	// pageText says what the page shows, for the failures of WaitJS.
	pageText = `document.body.innerText`
	wait     = 30 * time.Second
)

// TestDashboard drives the dashboard in a real browser against an
// in-process API fed with events: the rows become healthy, a sync
// appears, a failed build shows the compiler's message, the buttons and
// switches reach the loop, the log pane filters, and the page reconnects
// to a restarted skiff and rebuilds its rows.
func TestDashboard(t *testing.T) {
	bus := event.NewBus(0)
	ctl := &fakeControl{auto: runner.Auto{Build: true, Sync: true, Deploy: true}}
	addr, stop := serve(t, bus, ctl, 0)
	firstDeploy(bus)
	c := page(t, addr)
	shots := t.ArtifactDir()

	for _, w := range []string{"deployment/app", "deployment/web"} {
		c.WaitJS(wait, w+" healthy", rowState("workload", w)+` === 'healthy'`, pageText)
	}
	c.WaitJS(wait, "both artifacts built", rowState("artifact", "app")+` === 'built' && `+rowState("artifact", "web")+` === 'built'`, pageText)
	c.WaitJS(wait, "the build's duration", rowText("artifact", "app")+`.includes('built in 2.3 s')`, rowText("artifact", "app"))
	c.WaitJS(wait, "the cache hit", rowText("artifact", "web")+`.includes('from the cache in 40 ms')`, rowText("artifact", "web"))
	c.WaitJS(wait, "the forwarded URL as a link under web", `document.querySelector('tr[data-workload="deployment/web"] a[href="http://127.0.0.1:4503/"]')`, rowText("workload", "deployment/web"))
	c.WaitJS(wait, "the pods", rowText("workload", "deployment/app")+`.includes('app-7d9c5b-x2x4q')`, rowText("workload", "deployment/app"))
	c.WaitJS(wait, "app's pod ready", rowText("workload", "deployment/app")+`.includes('app-7d9c5b-x2x4q ready')`, rowText("workload", "deployment/app"))
	c.WaitJS(wait, "the log lines", `document.querySelector('#logs').innerText.includes('app listening on :8080')`, `document.querySelector('#logs').innerText`)
	c.WaitJS(wait, "the auto switches from /v2/state", `document.querySelector('#auto-build').checked && document.querySelector('#auto-sync').checked`, `document.querySelector('header').innerHTML`)
	c.Screenshot(filepath.Join(shots, "healthy.png"))

	// A sync of web.
	bus.TaskStarted(event.TaskSync, "Syncing 1 file to web")
	bus.Publish(event.Event{FileSyncEvent: &event.FileSyncEvent{ID: "web", TaskID: event.TaskSync, Image: "web", Status: event.Succeeded, FileCount: 1, Files: []string{"static/index.html"}, Pods: []string{"web-5f6b8-abcde"}}})
	bus.TaskEnded(event.TaskSync, nil)
	c.WaitJS(wait, "the sync", rowText("artifact", "web")+`.includes('synced 1 file (static/index.html) to 1 pod')`, rowText("artifact", "web"))

	// The log pane: one resource, then a filter.
	c.Eval(`(() => { const s = document.querySelector('#log-source'); s.value = 'deployment/web'; s.dispatchEvent(new Event('change')); })()`, nil)
	c.WaitJS(wait, "web's lines only", `[...document.querySelectorAll('#logs .log-line')].map((l) => l.dataset.pod).join() === 'web-5f6b8-abcde'`, `document.querySelector('#logs').innerText`)
	c.Eval(`(() => { const s = document.querySelector('#log-source'); s.value = ''; s.dispatchEvent(new Event('change')); const f = document.querySelector('#log-filter'); f.value = 'LISTENING'; f.dispatchEvent(new Event('input')); })()`, nil)
	c.WaitJS(wait, "the filtered lines", `document.querySelector('#logs').innerText.trim() === '[app-7d9c5b-x2x4q app] app listening on :8080'`, `document.querySelector('#logs').innerText`)
	bus.Publish(event.Event{ApplicationLogEvent: &event.ApplicationLogEvent{PodName: "app-7d9c5b-x2x4q", ContainerName: "app", Message: "still listening"}})
	c.WaitJS(wait, "a new line followed live", `document.querySelector('#logs').innerText.includes('still listening')`, `document.querySelector('#logs').innerText`)

	// web's pod crashes and restarts, a second one comes and goes.
	bus.Publish(event.Event{PodEvent: &event.PodEvent{PodName: "web-5f6b8-abcde", Namespace: "default", Phase: "Running", Restarts: 2, Reason: "CrashLoopBackOff"}})
	bus.Publish(event.Event{PodEvent: &event.PodEvent{PodName: "web-5f6b8-zzzzz", Namespace: "default", Phase: "Pending"}})
	c.WaitJS(wait, "the restarts and the new pod", rowText("workload", "deployment/web")+`.includes('web-5f6b8-abcde running, 2 restarts, CrashLoopBackOff') && `+rowText("workload", "deployment/web")+`.includes('web-5f6b8-zzzzz pending')`, rowText("workload", "deployment/web"))
	bus.Publish(event.Event{PodEvent: &event.PodEvent{PodName: "web-5f6b8-zzzzz", Namespace: "default", Deleted: true}})
	c.WaitJS(wait, "the deleted pod gone", `!`+rowText("workload", "deployment/web")+`.includes('web-5f6b8-zzzzz')`, rowText("workload", "deployment/web"))

	// skiff debug's container set up for a debugger.
	bus.Publish(event.Event{DebuggingContainerEvent: &event.DebuggingContainerEvent{ID: "deployment.apps/app", TaskID: event.TaskDeploy, Status: event.Started, ContainerName: "app", Artifact: "app", Runtime: "go", DebugPorts: map[string]uint32{"dlv": 56268}}})
	c.WaitJS(wait, "the debugged container", rowText("workload", "deployment/app")+`.includes('debug app: go, dlv 56268')`, rowText("workload", "deployment/app"))

	// A failed build of app.
	bus.TaskStarted(event.TaskDevLoop, "")
	bus.TaskStarted(event.TaskBuild, "Building app")
	bus.Publish(event.Event{BuildSubtaskEvent: &event.BuildSubtaskEvent{ID: "app", TaskID: event.TaskBuild, Artifact: "app", Step: "Build", Status: event.InProgress}})
	c.WaitJS(wait, "app building", rowState("artifact", "app")+` === 'building'`, rowText("artifact", "app"))
	// The build's output, as the runner publishes it, then the failure.
	out := bus.LogWriter(event.TaskBuild, "app")
	fmt.Fprint(out, "# example.com/app\n./main.go:12:2: undefined: brokenName\n")
	failure := `building artifact "app": go build: exit status 1 (the compiler's messages are in the build output above): fix the code and build again`
	bus.Publish(event.Event{BuildSubtaskEvent: &event.BuildSubtaskEvent{ID: "app", TaskID: event.TaskBuild, Artifact: "app", Step: "Build", Status: event.Failed, ActionableErr: &event.ActionableErr{Message: failure}, Duration: 900 * time.Millisecond}})
	bus.TaskEnded(event.TaskBuild, fmt.Errorf("%s", failure))
	bus.TaskEnded(event.TaskDevLoop, fmt.Errorf("%s", failure))
	c.WaitJS(wait, "app failed with the compiler's message", rowState("artifact", "app")+` === 'failed' && `+rowText("artifact", "app")+`.includes('./main.go:12:2: undefined: brokenName') && `+rowText("artifact", "app")+`.includes('fix the code')`, rowText("artifact", "app"))
	c.WaitJS(wait, "the failure's banner", `document.querySelector('#error').innerText.startsWith('Build failed: building artifact "app"')`, `document.querySelector('#error').innerText`)
	c.Screenshot(filepath.Join(shots, "failed.png"))

	// The buttons and switches drive the loop.
	c.Eval(`document.querySelector('button.rebuild[data-artifact="app"]').click()`, nil)
	c.Eval(`document.querySelector('button.sync-now[data-artifact="web"]').click()`, nil)
	c.Eval(`document.querySelector('#auto-build').click()`, nil)
	testutil.WaitFor(t, wait, "the rebuild, the sync and auto build off", func(context.Context) (bool, string) {
		trig, auto := ctl.snapshot()
		want := []runner.Phases{{Build: true}, {Sync: true}}
		return fmt.Sprint(trig) == fmt.Sprint(want) && !auto.Build && auto.Sync, fmt.Sprintf("triggered %v, auto %+v", trig, auto)
	})
	// A refused request shows the API's message: auto build is off here
	// already, as someone else turned it off meanwhile.
	ctl.mu.Lock()
	ctl.auto.Sync = false
	ctl.mu.Unlock()
	c.Eval(`document.querySelector('#auto-sync').click()`, nil)
	c.WaitJS(wait, "the API's refusal", `document.querySelector('#error').innerText.includes('auto sync is already set to false')`, `document.querySelector('#error').innerText`)
	c.WaitJS(wait, "the switch back as /v2/state says", `!document.querySelector('#auto-sync').checked`, `document.querySelector('#auto-sync').checked`)

	// skiff restarts on the same port: the page reconnects and shows the
	// new session only.
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	stop()
	c.WaitJS(wait, "the page to see skiff gone", `document.querySelector('#connection').dataset.state === 'lost'`, `document.querySelector('#connection').innerText`)
	bus2 := event.NewBus(0)
	p, _ := strconv.Atoi(port)
	serve(t, bus2, &fakeControl{}, p)
	bus2.TaskStarted(event.TaskBuild, "Building other")
	bus2.Publish(event.Event{BuildSubtaskEvent: &event.BuildSubtaskEvent{ID: "other", TaskID: event.TaskBuild, Artifact: "other", Step: "Build", Status: event.InProgress}})
	c.WaitJS(wait, "the new session's rows", rowState("artifact", "other")+` === 'building' && !document.querySelector('tr[data-artifact="app"]') && document.querySelector('#connection').dataset.state === 'open'`, pageText)
	c.WaitJS(wait, "the new session's switches", `!document.querySelector('#auto-build').checked`, `document.querySelector('#auto-build').checked`)
}

// In a command without a dev loop (skiff run --ui) the API refuses to
// drive it; after the first refusal the page disables its buttons and
// switches and says why.
func TestDashboardWithoutLoop(t *testing.T) {
	bus := event.NewBus(0)
	addr, _ := serve(t, bus, nil, 0)
	firstDeploy(bus)
	c := page(t, addr)
	c.WaitJS(wait, "app's row", rowState("artifact", "app")+` === 'built'`, pageText)
	c.Eval(`document.querySelector('button.rebuild[data-artifact="app"]').click()`, nil)
	c.WaitJS(wait, "the API's refusal", `document.querySelector('#error').innerText.includes('skiff run has no dev loop to drive')`, `document.querySelector('#error').innerText`)
	c.WaitJS(wait, "the controls disabled", `[...document.querySelectorAll('button.rebuild, button.sync-now, #deploy-now, .switch input')].every((b) => b.disabled)`, `document.querySelector('#artifacts').innerHTML`)
}
