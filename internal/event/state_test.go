package event

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// A session's events make the state Skaffold's /v2/state shows: the last
// build of each artifact, the deploy, each resource's status, the
// forwarded ports, the last sync and the debugged containers.
func TestStateFollowsTheEvents(t *testing.T) {
	t.Parallel()
	s := NewState("run-1", []string{"app", "web"}, Auto{Build: true, Deploy: true})
	for _, e := range []Event{
		{TaskEvent: &TaskEvent{Task: TaskBuild, Status: InProgress}},
		build("app", InProgress),
		build("app", Succeeded),
		build("web", InProgress),
		build("web", Failed),
		{TaskEvent: &TaskEvent{Task: TaskDeploy, Status: InProgress}},
		{DeploySubtaskEvent: &DeploySubtaskEvent{Status: InProgress}},
		{TaskEvent: &TaskEvent{Task: TaskStatusCheck, Status: InProgress}},
		{StatusCheckSubtaskEvent: &StatusCheckSubtaskEvent{Resource: "deployment/app", Status: InProgress}},
		{StatusCheckSubtaskEvent: &StatusCheckSubtaskEvent{Resource: "deployment/app", Status: Succeeded}},
		{TaskEvent: &TaskEvent{Task: TaskStatusCheck, Status: Succeeded}},
		{DeploySubtaskEvent: &DeploySubtaskEvent{Status: Succeeded}},
		{PortEvent: &PortForwardEvent{LocalPort: 4503, ResourceType: "service", ResourceName: "app"}},
		{DebuggingContainerEvent: &DebuggingContainerEvent{Status: Started, PodName: "app-1", ContainerName: "app", Runtime: "go"}},
		{DebuggingContainerEvent: &DebuggingContainerEvent{Status: Started, PodName: "app-2", ContainerName: "app", Runtime: "go"}},
		{DebuggingContainerEvent: &DebuggingContainerEvent{Status: Terminated, PodName: "app-1", ContainerName: "app"}},
		{FileSyncEvent: &FileSyncEvent{Image: "app", Status: Succeeded}},
		{ApplicationLogEvent: &ApplicationLogEvent{Message: "hello"}},
	} {
		s.Apply(e)
	}
	if got := s.BuildState.Artifacts; got["app"] != Succeeded || got["web"] != Failed || len(got) != 2 {
		t.Errorf("build state %v, want app Succeeded, web Failed", got)
	}
	if s.BuildState.StatusCode != CodeBuildUnknown || !s.BuildState.AutoTrigger {
		t.Errorf("build state %+v, want the failure's code and auto on", s.BuildState)
	}
	if s.DeployState.Status != Succeeded || s.DeployState.StatusCode != CodeOK || !s.DeployState.AutoTrigger {
		t.Errorf("deploy state %+v, want Succeeded, OK, auto", s.DeployState)
	}
	if c := s.StatusCheckState; c.Status != Succeeded || c.Resources["deployment/app"] != Succeeded {
		t.Errorf("status check state %+v, want deployment/app Succeeded", c)
	}
	if p, ok := s.ForwardedPorts["4503"]; !ok || p.ResourceName != "app" {
		t.Errorf("forwarded ports %v, want 4503 to service app", s.ForwardedPorts)
	}
	if d := s.DebuggingContainers; len(d) != 1 || d[0].PodName != "app-2" {
		t.Errorf("debugging containers %+v, want app-2's only", d)
	}
	if s.FileSyncState.Status != Succeeded || s.FileSyncState.AutoTrigger {
		t.Errorf("file sync state %+v, want Succeeded, auto off", s.FileSyncState)
	}

	// The next deploy starts the deploy's part of the state afresh, and a
	// failed build of it shows.
	s.Apply(Event{TaskEvent: &TaskEvent{Task: TaskBuild, Status: InProgress}})
	if s.BuildState.StatusCode != CodeOK {
		t.Errorf("a new build keeps the code %s, want OK", s.BuildState.StatusCode)
	}
	s.Apply(Event{TaskEvent: &TaskEvent{Task: TaskDeploy, Status: InProgress}})
	if s.DeployState.Status != NotStarted || len(s.StatusCheckState.Resources) != 0 || len(s.ForwardedPorts) != 0 || len(s.DebuggingContainers) != 0 {
		t.Errorf("after a new deploy started: %+v, want the deploy, the resources, the ports and the debugged containers reset", s)
	}
	s.Apply(Event{DeploySubtaskEvent: &DeploySubtaskEvent{Status: Failed}})
	s.Apply(Event{TaskEvent: &TaskEvent{Task: TaskStatusCheck, Status: Failed}})
	if s.DeployState.StatusCode != CodeDeployUnknown || s.StatusCheckState.StatusCode != CodeStatusCheckUnknown {
		t.Errorf("codes %s, %s, want %s, %s", s.DeployState.StatusCode, s.StatusCheckState.StatusCode, CodeDeployUnknown, CodeStatusCheckUnknown)
	}
}

// The JSON of a State has the fields of Skaffold's proto.v2.State as its
// HTTP API writes them (proto names, unset fields included): a client of
// Skaffold's /v2/state reads it.
func TestStateJSONHasSkaffoldsFields(t *testing.T) {
	t.Parallel()
	s := NewState("run-1", []string{"app"}, Auto{Sync: true})
	s.Apply(Event{PortEvent: &PortForwardEvent{LocalPort: 8080, ResourceType: "service", ResourceName: "app", Address: "127.0.0.1", TargetPort: IntOrString{IntVal: 80}}})
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	// proto/v2/skaffold.proto, message State and the messages it holds.
	want := map[string][]string{
		"buildState":          {"artifacts", "autoTrigger", "statusCode"},
		"deployState":         {"status", "autoTrigger", "statusCode"},
		"forwardedPorts":      {"8080"},
		"statusCheckState":    {"status", "resources", "statusCode"},
		"fileSyncState":       {"status", "autoTrigger"},
		"debuggingContainers": nil,
		"metadata":            {"build", "deploy", "test", "runID", "render", "additional"},
		"testState":           {"status", "statusCode"},
		"renderState":         {"status", "statusCode"},
		"verifyState":         {"status", "statusCode"},
		"execState":           {"status", "statusCode"},
	}
	if got, w := sortedKeys(m), sortedKeys(want); !slices.Equal(got, w) {
		t.Errorf("State has %v, want %v", got, w)
	}
	for k, fields := range want {
		if fields == nil {
			if l, ok := m[k].([]any); !ok || len(l) != 0 {
				t.Errorf("%s is %v, want an empty list", k, m[k])
			}
			continue
		}
		sub, _ := m[k].(map[string]any)
		if got, w := sortedKeys(sub), slices.Sorted(slices.Values(fields)); !slices.Equal(got, w) {
			t.Errorf("%s has %v, want %v", k, got, w)
		}
	}
	if got := m["buildState"].(map[string]any)["artifacts"]; got.(map[string]any)["app"] != NotStarted {
		t.Errorf("artifacts %v, want app NotStarted", got)
	}
	if got := m["fileSyncState"].(map[string]any)["autoTrigger"]; got != true {
		t.Errorf("fileSyncState.autoTrigger %v, want true", got)
	}
	pf := m["forwardedPorts"].(map[string]any)["8080"].(map[string]any)
	for _, f := range []string{"id", "task_id", "localPort", "resourceType", "resourceName", "address", "targetPort"} {
		if _, ok := pf[f]; !ok {
			t.Errorf("forwarded port %v has no %s", pf, f)
		}
	}
}

// A Tracker's state is a copy: changing it changes nothing in the
// tracker.
func TestTrackerStateIsACopy(t *testing.T) {
	t.Parallel()
	b := NewBus(0)
	b.Publish(build("app", Succeeded))
	tr := Track(b, NewState("", []string{"app"}, Auto{}))
	b.Close()
	tr.Stop() // returns once the tracker has read every event
	s := tr.State()
	if s.BuildState.Artifacts["app"] != Succeeded {
		t.Fatalf("tracked state %v, want app Succeeded", s.BuildState.Artifacts)
	}
	s.BuildState.Artifacts["app"] = Failed
	s.SetAuto(Auto{Build: true})
	if !s.BuildState.AutoTrigger {
		t.Error("SetAuto did not turn auto build on")
	}
	if s2 := tr.State(); s2.BuildState.Artifacts["app"] != Succeeded || s2.BuildState.AutoTrigger {
		t.Errorf("tracked state %+v, want app still Succeeded and auto build off", s2.BuildState)
	}
}

// Task events carry the iteration: 0 for the first build and deploy, one
// more for each DevLoop; subtask events link to their task's id.
func TestTaskEventsCountIterations(t *testing.T) {
	t.Parallel()
	b := NewBus(0)
	s := b.Subscribe(100)
	b.TaskStarted(TaskBuild, "Building app")
	b.Publish(build("app", InProgress))
	b.TaskEnded(TaskBuild, nil)
	b.TaskStarted(TaskDevLoop, "")
	b.Publish(Event{FileSyncEvent: &FileSyncEvent{TaskID: TaskSync, Image: "app", Status: Succeeded}})
	b.TaskEnded(TaskDevLoop, errors.New("sync failed: the pod is gone; wait for it to restart"))
	b.Close()
	var got []string
	for e := range s.C {
		switch {
		case e.TaskEvent != nil:
			te := e.TaskEvent
			line := te.ID + " " + te.Status
			if te.ActionableErr != nil {
				line += " " + te.ActionableErr.Message
			}
			got = append(got, line)
		case e.BuildSubtaskEvent != nil:
			got = append(got, "build of "+e.BuildSubtaskEvent.TaskID)
		case e.FileSyncEvent != nil:
			got = append(got, "sync of "+e.FileSyncEvent.TaskID)
		}
	}
	want := []string{
		"Build-0 InProgress", "build of Build-0", "Build-0 Succeeded",
		"DevLoop-1 InProgress", "sync of Sync-1", "DevLoop-1 Failed sync failed: the pod is gone; wait for it to restart",
	}
	if !slices.Equal(got, want) {
		t.Errorf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The Test tasks drive TestState: in progress, passed, failed with
// Skaffold's generic test code, and OK again when the tests run anew.
func TestStateFollowsTheTests(t *testing.T) {
	t.Parallel()
	s := NewState("run-1", []string{"app"}, Auto{})
	for _, step := range []struct {
		status, wantCode string
	}{
		{InProgress, CodeOK},
		{Failed, CodeTestUnknown},
		{InProgress, CodeOK},
		{Succeeded, CodeOK},
	} {
		s.Apply(Event{TaskEvent: &TaskEvent{Task: TaskTest, Status: step.status}})
		if s.TestState.Status != step.status || s.TestState.StatusCode != step.wantCode {
			t.Errorf("after a Test task %s, test state %+v, want %s and code %s", step.status, s.TestState, step.status, step.wantCode)
		}
	}
}
