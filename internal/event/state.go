package event

import (
	"slices"
	"strconv"
	gosync "sync"
)

// The states of State that are not event statuses, as Skaffold spells
// them.
const (
	NotStarted = "NotStarted"
)

// Status codes of State (Skaffold's enums.StatusCode, by name): OK while
// a phase has not failed, else the generic failure code of the phase
// (skiff does not classify its errors into Skaffold's finer codes).
const (
	CodeOK                 = "OK"
	CodeBuildUnknown       = "BUILD_UNKNOWN"
	CodeTestUnknown        = "TEST_UNKNOWN"
	CodeDeployUnknown      = "DEPLOY_UNKNOWN"
	CodeStatusCheckUnknown = "STATUSCHECK_UNKNOWN"
)

// State is what a session is doing now, made from its events (Skaffold's
// proto.v2.State, served by /v2/state). Every field is present in its
// JSON, as Skaffold's HTTP API writes them; TestState follows the Test
// tasks, and the phases whose events skiff does not send (render,
// verify, exec) stay NotStarted.
type State struct {
	BuildState          BuildState                  `json:"buildState"`
	DeployState         DeployState                 `json:"deployState"`
	ForwardedPorts      map[string]PortForwardEvent `json:"forwardedPorts"`
	StatusCheckState    StatusCheckState            `json:"statusCheckState"`
	FileSyncState       FileSyncState               `json:"fileSyncState"`
	DebuggingContainers []DebuggingContainerEvent   `json:"debuggingContainers"`
	Metadata            Metadata                    `json:"metadata"`
	TestState           PhaseState                  `json:"testState"`
	RenderState         PhaseState                  `json:"renderState"`
	VerifyState         PhaseState                  `json:"verifyState"`
	ExecState           PhaseState                  `json:"execState"`
}

// BuildState is the state of each artifact's last build, by image name:
// NotStarted, InProgress, Succeeded or Failed.
type BuildState struct {
	Artifacts   map[string]string `json:"artifacts"`
	AutoTrigger bool              `json:"autoTrigger"`
	StatusCode  string            `json:"statusCode"`
}

// DeployState is the state of the last deploy.
type DeployState struct {
	Status      string `json:"status"`
	AutoTrigger bool   `json:"autoTrigger"`
	StatusCode  string `json:"statusCode"`
}

// StatusCheckState is the state of the last status check (Status) and of
// each resource it follows ("deployment/app": InProgress, Succeeded or
// Failed).
type StatusCheckState struct {
	Status     string            `json:"status"`
	Resources  map[string]string `json:"resources"`
	StatusCode string            `json:"statusCode"`
}

// FileSyncState is the state of the last sync.
type FileSyncState struct {
	Status      string `json:"status"`
	AutoTrigger bool   `json:"autoTrigger"`
}

// PhaseState is the state of a phase without finer events: its status
// (NotStarted, InProgress, Succeeded, Failed) and code.
type PhaseState struct {
	Status     string `json:"status"`
	StatusCode string `json:"statusCode"`
}

// Metadata says which run the state is of; the pipeline's description,
// which Skaffold gives in build, deploy, test and render, is left null.
type Metadata struct {
	Build      *struct{}         `json:"build"`
	Deploy     *struct{}         `json:"deploy"`
	Test       *struct{}         `json:"test"`
	RunID      string            `json:"runID"`
	Render     *struct{}         `json:"render"`
	Additional map[string]string `json:"additional"`
}

// NewState returns the state before anything happened: artifacts are the
// image names to build, auto says whether build, sync and deploy run by
// themselves on changes.
func NewState(runID string, artifacts []string, auto Auto) State {
	s := State{
		BuildState:       BuildState{Artifacts: map[string]string{}, AutoTrigger: auto.Build, StatusCode: CodeOK},
		DeployState:      DeployState{Status: NotStarted, AutoTrigger: auto.Deploy, StatusCode: CodeOK},
		ForwardedPorts:   map[string]PortForwardEvent{},
		StatusCheckState: StatusCheckState{Status: NotStarted, Resources: map[string]string{}, StatusCode: CodeOK},
		FileSyncState:    FileSyncState{Status: NotStarted, AutoTrigger: auto.Sync},
		// An empty list, not null, as Skaffold's JSON.
		DebuggingContainers: []DebuggingContainerEvent{},
		Metadata:            Metadata{RunID: runID, Additional: map[string]string{}},
	}
	for _, a := range artifacts {
		s.BuildState.Artifacts[a] = NotStarted
	}
	for _, p := range []*PhaseState{&s.TestState, &s.RenderState, &s.VerifyState, &s.ExecState} {
		*p = PhaseState{Status: NotStarted, StatusCode: CodeOK}
	}
	return s
}

// Auto says which phases run by themselves on changes (skiff dev's
// --auto-build, --auto-sync, --auto-deploy).
type Auto struct {
	Build, Sync, Deploy bool
}

// Apply changes s by e, as Skaffold's event handler changes its state.
func (s *State) Apply(e Event) {
	switch {
	case e.BuildSubtaskEvent != nil:
		b := e.BuildSubtaskEvent
		s.BuildState.Artifacts[b.Artifact] = b.Status
		if b.Status == Failed {
			s.BuildState.StatusCode = CodeBuildUnknown
		}
	case e.DeploySubtaskEvent != nil:
		d := e.DeploySubtaskEvent
		s.DeployState.Status = d.Status
		s.DeployState.StatusCode = CodeOK
		if d.Status == Failed {
			s.DeployState.StatusCode = CodeDeployUnknown
		}
	case e.StatusCheckSubtaskEvent != nil:
		c := e.StatusCheckSubtaskEvent
		s.StatusCheckState.Resources[c.Resource] = c.Status
	case e.PortEvent != nil:
		s.ForwardedPorts[strconv.Itoa(int(e.PortEvent.LocalPort))] = *e.PortEvent
	case e.FileSyncEvent != nil:
		s.FileSyncState.Status = e.FileSyncEvent.Status
	case e.DebuggingContainerEvent != nil:
		d := *e.DebuggingContainerEvent
		s.DebuggingContainers = slices.DeleteFunc(s.DebuggingContainers, func(x DebuggingContainerEvent) bool {
			return x.ID == d.ID && x.Namespace == d.Namespace && x.PodName == d.PodName && x.ContainerName == d.ContainerName
		})
		if d.Status == Started {
			s.DebuggingContainers = append(s.DebuggingContainers, d)
		}
	case e.TaskEvent != nil:
		s.applyTask(e.TaskEvent)
	}
}

// applyTask starts a phase afresh, as Skaffold resets its state when a
// build or deploy starts, and records the outcome of the status check
// and of the tests.
func (s *State) applyTask(t *TaskEvent) {
	switch {
	case t.Task == TaskBuild && t.Status == InProgress:
		s.BuildState.StatusCode = CodeOK
	case t.Task == TaskDeploy && t.Status == InProgress:
		s.DeployState.Status = NotStarted
		s.DeployState.StatusCode = CodeOK
		s.StatusCheckState = StatusCheckState{Status: NotStarted, Resources: map[string]string{}, StatusCode: CodeOK}
		s.ForwardedPorts = map[string]PortForwardEvent{}
		s.DebuggingContainers = []DebuggingContainerEvent{}
	case t.Task == TaskTest:
		s.TestState = PhaseState{Status: t.Status, StatusCode: CodeOK}
		if t.Status == Failed {
			s.TestState.StatusCode = CodeTestUnknown
		}
	case t.Task == TaskStatusCheck:
		s.StatusCheckState.Status = t.Status
		s.StatusCheckState.StatusCode = CodeOK
		if t.Status == Failed {
			s.StatusCheckState.StatusCode = CodeStatusCheckUnknown
		}
	}
}

// SetAuto records a change of the auto switches (/v2/*/auto_execute).
func (s *State) SetAuto(a Auto) {
	s.BuildState.AutoTrigger, s.FileSyncState.AutoTrigger, s.DeployState.AutoTrigger = a.Build, a.Sync, a.Deploy
}

// Clone returns a copy of s that shares nothing with it.
func (s State) Clone() State {
	c := s
	c.BuildState.Artifacts = cloneMap(s.BuildState.Artifacts)
	c.StatusCheckState.Resources = cloneMap(s.StatusCheckState.Resources)
	c.ForwardedPorts = cloneMap(s.ForwardedPorts)
	c.DebuggingContainers = slices.Clone(s.DebuggingContainers)
	if c.DebuggingContainers == nil {
		c.DebuggingContainers = []DebuggingContainerEvent{}
	}
	c.Metadata.Additional = cloneMap(s.Metadata.Additional)
	return c
}

func cloneMap[V any](m map[string]V) map[string]V {
	c := make(map[string]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Tracker keeps a State up to date from a Bus's events; it is safe for
// concurrent use.
type Tracker struct {
	mu    gosync.Mutex
	state State
	sub   *Subscription
	done  chan struct{}
}

// Track starts a Tracker of b from initial (NewState): it reads its own
// subscription until b closes or Stop.
func Track(b *Bus, initial State) *Tracker {
	t := &Tracker{state: initial, sub: b.Subscribe(DefaultHistory), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		for e := range t.sub.C {
			t.mu.Lock()
			t.state.Apply(e)
			t.mu.Unlock()
		}
	}()
	return t
}

// State returns a copy of the current state.
func (t *Tracker) State() State {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state.Clone()
}

// Stop ends the tracking and waits for it.
func (t *Tracker) Stop() {
	t.sub.Cancel()
	<-t.done
}
