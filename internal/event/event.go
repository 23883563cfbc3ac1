// Package event is the in-process event stream of a run, dev or debug
// session: the engine (internal/runner, internal/build) publishes what
// happens (a build per artifact, a sync, a deploy, the status of each
// resource, port-forwards, debuggable containers, application log lines,
// errors) and any number of subscribers read it.
//
// The messages take the shapes of Skaffold's v2 event API (proto.v2.Event
// and its subtask events, field names as in Skaffold's JSON), so that a
// client of Skaffold's HTTP API reads skiff's events unchanged.
//
// Plugging in: a Bus keeps the last events (Options.History) and replays
// them to each new subscriber, as Skaffold's /v2/events does "from the
// start". The HTTP API (/v2/events, /v2/applicationLogs, a server-sent
// events stream) is a Subscribe per request that encodes each Event as
// JSON; /v2/state is a State fed by one subscription (State.Apply). The
// dashboard is another subscriber. --event-log-file is WriteJSONLines.
// Subscribers never slow the engine: Publish never blocks, and a
// subscriber that falls behind loses events (Subscription.Dropped says how
// many).
package event

import "time"

// Status values of the events, as Skaffold spells them. Skaffold's
// documentation says a build or deploy ends "Completed" or "Complete",
// but Skaffold sends Succeeded, and so does skiff.
const (
	InProgress = "InProgress"
	Succeeded  = "Succeeded"
	Failed     = "Failed"
	Started    = "Started"
	Terminated = "Terminated"
)

// The subtask events name their task in TaskID by its name ("Build");
// Bus.Publish makes it the task's id in the current iteration ("Build-3").

// Event is one thing that happened, with its time; exactly one of the
// other fields is set (Skaffold's proto.v2.Event).
type Event struct {
	Timestamp               time.Time                `json:"timestamp"`
	MetaEvent               *MetaEvent               `json:"metaEvent,omitempty"`
	SkaffoldLogEvent        *SkaffoldLogEvent        `json:"skaffoldLogEvent,omitempty"`
	TaskEvent               *TaskEvent               `json:"taskEvent,omitempty"`
	BuildSubtaskEvent       *BuildSubtaskEvent       `json:"buildSubtaskEvent,omitempty"`
	DeploySubtaskEvent      *DeploySubtaskEvent      `json:"deploySubtaskEvent,omitempty"`
	StatusCheckSubtaskEvent *StatusCheckSubtaskEvent `json:"statusCheckSubtaskEvent,omitempty"`
	PortEvent               *PortForwardEvent        `json:"portEvent,omitempty"`
	FileSyncEvent           *FileSyncEvent           `json:"fileSyncEvent,omitempty"`
	DebuggingContainerEvent *DebuggingContainerEvent `json:"debuggingContainerEvent,omitempty"`
	ApplicationLogEvent     *ApplicationLogEvent     `json:"applicationLogEvent,omitempty"`
	PodEvent                *PodEvent                `json:"podEvent,omitempty"`
}

// ActionableErr is an error with the advice that goes with it.
type ActionableErr struct {
	ErrCode     string       `json:"errCode,omitempty"`
	Message     string       `json:"message"`
	Suggestions []Suggestion `json:"suggestions,omitempty"`
}

// Suggestion is one thing the user can do about an error.
type Suggestion struct {
	SuggestionCode string `json:"suggestionCode,omitempty"`
	Action         string `json:"action"`
}

// Err makes the ActionableErr of err (skiff's errors carry their advice
// in their message); nil for nil.
func Err(err error) *ActionableErr {
	if err == nil {
		return nil
	}
	return &ActionableErr{Message: err.Error()}
}

// ArtifactBuild is the buildSubtaskEvent of the build of artifact, as
// the build stage and a hot swap's build send it: InProgress while it
// runs; once ended, Failed with err, or Succeeded with image, having
// taken took. step is "Build", or "Cache" for a build the cache spared.
func ArtifactBuild(artifact, step string, ended bool, err error, image string, took time.Duration) Event {
	e := &BuildSubtaskEvent{ID: artifact, TaskID: TaskBuild, Artifact: artifact, Step: step, Status: InProgress}
	switch {
	case !ended:
	case err != nil:
		e.Status, e.ActionableErr, e.Duration = Failed, Err(err), took
	default:
		e.Status, e.Image, e.Duration = Succeeded, image, took
	}
	return Event{BuildSubtaskEvent: e}
}

// MetaEvent says which skiff runs and for which run.
type MetaEvent struct {
	Entry string `json:"entry"`
}

// SkaffoldLogEvent is a line skiff printed in a task: a line of an
// artifact's build output (the compiler's messages), SubtaskID naming
// the artifact. Level is -1, as Skaffold sends the output of its phases.
type SkaffoldLogEvent struct {
	TaskID    string `json:"task_id"`
	SubtaskID string `json:"subtask_id"`
	Level     int32  `json:"level"`
	Message   string `json:"message"`
}

// The tasks of TaskEvent, as Skaffold names them.
const (
	TaskDevLoop     = "DevLoop"
	TaskBuild       = "Build"
	TaskTest        = "Test"
	TaskSync        = "Sync"
	TaskDeploy      = "Deploy"
	TaskStatusCheck = "StatusCheck"
	TaskPortForward = "PortForward"
)

// TaskEvent is the start, end or failure of a phase (Build, Test, Sync,
// Deploy, StatusCheck, PortForward, DevLoop) of an iteration of the loop.
type TaskEvent struct {
	ID            string         `json:"id"`
	Task          string         `json:"task"`
	Description   string         `json:"description,omitempty"`
	Iteration     int32          `json:"iteration"`
	Status        string         `json:"status"`
	ActionableErr *ActionableErr `json:"actionableErr,omitempty"`
}

// BuildSubtaskEvent is a step (Cache, Build) of one artifact's build
// starting (InProgress) or ending (Completed, Failed). Duration, which
// Skaffold leaves out, is how long the step took, on its end.
type BuildSubtaskEvent struct {
	ID            string         `json:"id"`
	TaskID        string         `json:"task_id"`
	Artifact      string         `json:"artifact"`
	Step          string         `json:"step"`
	Status        string         `json:"status"`
	ActionableErr *ActionableErr `json:"actionableErr,omitempty"`
	Image         string         `json:"image,omitempty"`
	Duration      time.Duration  `json:"durationNanos,omitempty,string"`
}

// DeploySubtaskEvent is a deploy starting or ending.
type DeploySubtaskEvent struct {
	ID            string         `json:"id"`
	TaskID        string         `json:"task_id"`
	Status        string         `json:"status"`
	ActionableErr *ActionableErr `json:"actionableErr,omitempty"`
	Duration      time.Duration  `json:"durationNanos,omitempty,string"`
}

// StatusCheckSubtaskEvent is the state of one deployed resource
// ("deployment/app") with the reason (Message).
type StatusCheckSubtaskEvent struct {
	ID            string         `json:"id"`
	TaskID        string         `json:"task_id"`
	Resource      string         `json:"resource"`
	Status        string         `json:"status"`
	Message       string         `json:"message,omitempty"`
	ActionableErr *ActionableErr `json:"actionableErr,omitempty"`
}

// PortForwardEvent is a port forwarded to a pod or service.
type PortForwardEvent struct {
	ID            string      `json:"id"`
	TaskID        string      `json:"task_id"`
	LocalPort     int32       `json:"localPort"`
	PodName       string      `json:"podName,omitempty"`
	ContainerName string      `json:"containerName,omitempty"`
	Namespace     string      `json:"namespace,omitempty"`
	PortName      string      `json:"portName,omitempty"`
	ResourceType  string      `json:"resourceType"`
	ResourceName  string      `json:"resourceName"`
	Address       string      `json:"address"`
	TargetPort    IntOrString `json:"targetPort"`
}

// IntOrString is a port given by number or by name.
type IntOrString struct {
	Type   int32  `json:"type"`
	IntVal int32  `json:"intVal,omitempty"`
	StrVal string `json:"strVal,omitempty"`
}

// FileSyncEvent is a sync of FileCount files into the containers of an
// image; Files and Pods, which Skaffold leaves out, say which.
type FileSyncEvent struct {
	ID            string         `json:"id"`
	TaskID        string         `json:"task_id"`
	FileCount     int32          `json:"fileCount"`
	Image         string         `json:"image"`
	Status        string         `json:"status"`
	ActionableErr *ActionableErr `json:"actionableErr,omitempty"`
	Files         []string       `json:"files,omitempty"`
	Pods          []string       `json:"pods,omitempty"`
}

// DebuggingContainerEvent is a container set up for a debugger appearing
// (Started) or going (Terminated).
type DebuggingContainerEvent struct {
	ID            string            `json:"id"`
	TaskID        string            `json:"task_id"`
	Status        string            `json:"status"`
	PodName       string            `json:"podName"`
	ContainerName string            `json:"containerName"`
	Namespace     string            `json:"namespace,omitempty"`
	Artifact      string            `json:"artifact"`
	Runtime       string            `json:"runtime"`
	WorkingDir    string            `json:"workingDir,omitempty"`
	DebugPorts    map[string]uint32 `json:"debugPorts,omitempty"`
}

// PodEvent, skiff's addition to Skaffold's events, is a change of a pod
// whose logs skiff follows (--tail): its phase, whether it is ready, how
// often its containers restarted, why a container waits
// (CrashLoopBackOff), and Deleted once it is being deleted or gone.
type PodEvent struct {
	PodName   string `json:"podName"`
	Namespace string `json:"namespace"`
	Phase     string `json:"phase"`
	Ready     bool   `json:"ready"`
	Restarts  int32  `json:"restarts"`
	Reason    string `json:"reason,omitempty"`
	Deleted   bool   `json:"deleted,omitempty"`
}

// ApplicationLogEvent is one line a container of the application logged.
type ApplicationLogEvent struct {
	ContainerName        string `json:"containerName"`
	PodName              string `json:"podName"`
	Prefix               string `json:"prefix,omitempty"`
	Message              string `json:"message"`
	RichFormattedMessage string `json:"richFormattedMessage,omitempty"`
}
