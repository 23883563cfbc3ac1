package api

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	"skiff.dev/skiff/internal/api/v2pb"
	"skiff.dev/skiff/internal/event"
)

// This file turns skiff's events and state into the gRPC service's
// messages (v2pb), field by field; every field of event's structs has its
// place here, so a new one shows up as missing in TestGRPCMatchesJSON.

// toProtoEvent is e as a v2pb.Event.
func toProtoEvent(e event.Event) *v2pb.Event {
	p := &v2pb.Event{Timestamp: timestamppb.New(e.Timestamp)}
	switch {
	case e.MetaEvent != nil:
		p.EventType = &v2pb.Event_MetaEvent{MetaEvent: &v2pb.MetaEvent{Entry: e.MetaEvent.Entry}}
	case e.SkaffoldLogEvent != nil:
		l := e.SkaffoldLogEvent
		p.EventType = &v2pb.Event_SkaffoldLogEvent{SkaffoldLogEvent: &v2pb.SkaffoldLogEvent{
			TaskId: l.TaskID, SubtaskId: l.SubtaskID, Level: v2pb.LogLevel(l.Level), Message: l.Message,
		}}
	case e.ApplicationLogEvent != nil:
		l := e.ApplicationLogEvent
		p.EventType = &v2pb.Event_ApplicationLogEvent{ApplicationLogEvent: &v2pb.ApplicationLogEvent{
			ContainerName: l.ContainerName, PodName: l.PodName, Prefix: l.Prefix, Message: l.Message, RichFormattedMessage: l.RichFormattedMessage,
		}}
	case e.TaskEvent != nil:
		t := e.TaskEvent
		p.EventType = &v2pb.Event_TaskEvent{TaskEvent: &v2pb.TaskEvent{
			Id: t.ID, Task: t.Task, Description: t.Description, Iteration: t.Iteration, Status: t.Status, ActionableErr: toProtoErr(t.ActionableErr),
		}}
	case e.BuildSubtaskEvent != nil:
		b := e.BuildSubtaskEvent
		p.EventType = &v2pb.Event_BuildSubtaskEvent{BuildSubtaskEvent: &v2pb.BuildSubtaskEvent{
			Id: b.ID, TaskId: b.TaskID, Artifact: b.Artifact, Step: b.Step, Status: b.Status, ActionableErr: toProtoErr(b.ActionableErr),
			Image: b.Image, DurationNanos: int64(b.Duration),
		}}
	case e.DeploySubtaskEvent != nil:
		d := e.DeploySubtaskEvent
		p.EventType = &v2pb.Event_DeploySubtaskEvent{DeploySubtaskEvent: &v2pb.DeploySubtaskEvent{
			Id: d.ID, TaskId: d.TaskID, Status: d.Status, ActionableErr: toProtoErr(d.ActionableErr), DurationNanos: int64(d.Duration),
		}}
	case e.StatusCheckSubtaskEvent != nil:
		c := e.StatusCheckSubtaskEvent
		p.EventType = &v2pb.Event_StatusCheckSubtaskEvent{StatusCheckSubtaskEvent: &v2pb.StatusCheckSubtaskEvent{
			Id: c.ID, TaskId: c.TaskID, Resource: c.Resource, Status: c.Status, Message: c.Message, ActionableErr: toProtoErr(c.ActionableErr),
		}}
	case e.PortEvent != nil:
		p.EventType = &v2pb.Event_PortEvent{PortEvent: toProtoPort(*e.PortEvent)}
	case e.FileSyncEvent != nil:
		f := e.FileSyncEvent
		p.EventType = &v2pb.Event_FileSyncEvent{FileSyncEvent: &v2pb.FileSyncEvent{
			Id: f.ID, TaskId: f.TaskID, FileCount: f.FileCount, Image: f.Image, Status: f.Status, ActionableErr: toProtoErr(f.ActionableErr),
			Files: f.Files, Pods: f.Pods,
		}}
	case e.DebuggingContainerEvent != nil:
		p.EventType = &v2pb.Event_DebuggingContainerEvent{DebuggingContainerEvent: toProtoDebug(*e.DebuggingContainerEvent)}
	case e.PodEvent != nil:
		o := e.PodEvent
		p.EventType = &v2pb.Event_PodEvent{PodEvent: &v2pb.PodEvent{
			PodName: o.PodName, Namespace: o.Namespace, Phase: o.Phase, Ready: o.Ready, Restarts: o.Restarts, Reason: o.Reason, Deleted: o.Deleted,
		}}
	}
	return p
}

func toProtoErr(a *event.ActionableErr) *v2pb.ActionableErr {
	if a == nil {
		return nil
	}
	p := &v2pb.ActionableErr{ErrCode: statusCode(a.ErrCode), Message: a.Message}
	for _, s := range a.Suggestions {
		p.Suggestions = append(p.Suggestions, &v2pb.Suggestion{
			SuggestionCode: v2pb.SuggestionCode(v2pb.SuggestionCode_value[s.SuggestionCode]), Action: s.Action,
		})
	}
	return p
}

// statusCode is the number of a status code's name (event.CodeOK...);
// OK for a name the enum does not have.
func statusCode(name string) v2pb.StatusCode {
	return v2pb.StatusCode(v2pb.StatusCode_value[name])
}

func toProtoPort(f event.PortForwardEvent) *v2pb.PortForwardEvent {
	return &v2pb.PortForwardEvent{
		Id: f.ID, TaskId: f.TaskID, LocalPort: f.LocalPort, PodName: f.PodName, ContainerName: f.ContainerName,
		Namespace: f.Namespace, PortName: f.PortName, ResourceType: f.ResourceType, ResourceName: f.ResourceName,
		Address: f.Address, TargetPort: &v2pb.IntOrString{Type: f.TargetPort.Type, IntVal: f.TargetPort.IntVal, StrVal: f.TargetPort.StrVal},
	}
}

func toProtoDebug(d event.DebuggingContainerEvent) *v2pb.DebuggingContainerEvent {
	return &v2pb.DebuggingContainerEvent{
		Id: d.ID, TaskId: d.TaskID, Status: d.Status, PodName: d.PodName, ContainerName: d.ContainerName, Namespace: d.Namespace,
		Artifact: d.Artifact, Runtime: d.Runtime, WorkingDir: d.WorkingDir, DebugPorts: d.DebugPorts,
	}
}

// toProtoState is s as a v2pb.State.
func toProtoState(s event.State) *v2pb.State {
	p := &v2pb.State{
		BuildState: &v2pb.BuildState{Artifacts: s.BuildState.Artifacts, AutoTrigger: s.BuildState.AutoTrigger, StatusCode: statusCode(s.BuildState.StatusCode)},
		DeployState: &v2pb.DeployState{
			Status: s.DeployState.Status, AutoTrigger: s.DeployState.AutoTrigger, StatusCode: statusCode(s.DeployState.StatusCode),
		},
		ForwardedPorts: map[int32]*v2pb.PortForwardEvent{},
		StatusCheckState: &v2pb.StatusCheckState{
			Status: s.StatusCheckState.Status, Resources: s.StatusCheckState.Resources, StatusCode: statusCode(s.StatusCheckState.StatusCode),
		},
		FileSyncState: &v2pb.FileSyncState{Status: s.FileSyncState.Status, AutoTrigger: s.FileSyncState.AutoTrigger},
		Metadata:      &v2pb.Metadata{RunID: s.Metadata.RunID, Additional: s.Metadata.Additional},
		TestState:     &v2pb.TestState{Status: s.TestState.Status, StatusCode: statusCode(s.TestState.StatusCode)},
		RenderState:   &v2pb.RenderState{Status: s.RenderState.Status, StatusCode: statusCode(s.RenderState.StatusCode)},
		VerifyState:   &v2pb.VerifyState{Status: s.VerifyState.Status, StatusCode: statusCode(s.VerifyState.StatusCode)},
		ExecState:     &v2pb.ExecState{Status: s.ExecState.Status, StatusCode: statusCode(s.ExecState.StatusCode)},
	}
	// The state keys forwarded ports by the local port, as a string for
	// its JSON; the message by the number itself.
	for _, f := range s.ForwardedPorts {
		p.ForwardedPorts[f.LocalPort] = toProtoPort(f)
	}
	for _, d := range s.DebuggingContainers {
		p.DebuggingContainers = append(p.DebuggingContainers, toProtoDebug(d))
	}
	return p
}
