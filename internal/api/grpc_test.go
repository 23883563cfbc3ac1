package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"skiff.dev/skiff/internal/api/v2pb"
	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/runner"
)

// startGRPC serves the gRPC API of bus (and ctl, when not nil) on a free
// port and returns a client of it.
func startGRPC(t *testing.T, bus *event.Bus, ctl Controller) v2pb.SkaffoldV2ServiceClient {
	t.Helper()
	tr := event.Track(bus, event.NewState("run", []string{"app"}, event.Auto{}))
	t.Cleanup(tr.Stop)
	s := NewGRPC(Options{Events: bus, State: tr, Control: ctl, Command: "run"})
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
		t.Errorf("the gRPC API listens on %s, want 127.0.0.1 only", addr)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return v2pb.NewSkaffoldV2ServiceClient(conn)
}

// Events streams the session's events from its start, then follows
// them, and ends with the session; ApplicationLogs keeps the log lines.
func TestGRPCEventsStreamABuild(t *testing.T) {
	t.Parallel()
	bus := event.NewBus(0)
	bus.TaskStarted(event.TaskBuild, "Building app")
	bus.Publish(event.Event{BuildSubtaskEvent: &event.BuildSubtaskEvent{ID: "app", TaskID: event.TaskBuild, Artifact: "app", Step: "Build", Status: event.InProgress}})
	client := startGRPC(t, bus, nil)
	events, err := client.Events(t.Context(), &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	logs, err := client.ApplicationLogs(t.Context(), &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	recv := func() *v2pb.Event {
		t.Helper()
		e, err := events.Recv()
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		return e
	}
	if te := recv().GetTaskEvent(); te.GetId() != "Build-0" || te.GetTask() != "Build" || te.GetStatus() != event.InProgress || te.GetDescription() != "Building app" {
		t.Errorf("first event %v, want the Build-0 task InProgress", te)
	}
	if b := recv().GetBuildSubtaskEvent(); b.GetTaskId() != "Build-0" || b.GetArtifact() != "app" || b.GetStep() != "Build" || b.GetStatus() != event.InProgress {
		t.Errorf("second event %v, want app's build InProgress in Build-0", b)
	}
	// Published after the call started: followed.
	bus.Publish(event.Event{ApplicationLogEvent: &event.ApplicationLogEvent{ContainerName: "app", PodName: "app-1", Message: "listening"}})
	bus.Publish(event.Event{BuildSubtaskEvent: &event.BuildSubtaskEvent{ID: "app", TaskID: event.TaskBuild, Artifact: "app", Step: "Build", Status: event.Failed,
		ActionableErr: &event.ActionableErr{Message: "main.go:3: undefined: x"}, Duration: 1500 * time.Millisecond}})
	if l := recv().GetApplicationLogEvent(); l.GetPodName() != "app-1" || l.GetMessage() != "listening" {
		t.Errorf("third event %v, want app-1's log line", l)
	}
	e := recv()
	if b := e.GetBuildSubtaskEvent(); b.GetStatus() != event.Failed || b.GetActionableErr().GetMessage() != "main.go:3: undefined: x" || b.GetDurationNanos() != int64(1500*time.Millisecond) {
		t.Errorf("fourth event %v, want app's build Failed with the compiler's message after 1.5s", b)
	}
	if e.GetTimestamp().AsTime().IsZero() {
		t.Errorf("event %v has no timestamp", e)
	}
	bus.Close()
	if e, err := events.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("after the session: %v, %v; want the stream to end", e, err)
	}
	l, err := logs.Recv()
	if err != nil || l.GetApplicationLogEvent().GetMessage() != "listening" {
		t.Fatalf("ApplicationLogs: %v, %v; want the log line", l, err)
	}
	if e, err := logs.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("ApplicationLogs after the log line: %v, %v; want the end (no other events)", e, err)
	}
}

// GetState is the state made from the events, with the loop's auto
// switches.
func TestGRPCGetStateServesTheTrackedState(t *testing.T) {
	t.Parallel()
	bus := event.NewBus(0)
	bus.Publish(event.Event{BuildSubtaskEvent: &event.BuildSubtaskEvent{Artifact: "app", Step: "Build", Status: event.Failed}})
	bus.Publish(event.Event{PortEvent: &event.PortForwardEvent{LocalPort: 8080, ResourceType: "service", ResourceName: "app", Address: "127.0.0.1", TargetPort: event.IntOrString{IntVal: 80}}})
	bus.Publish(event.Event{StatusCheckSubtaskEvent: &event.StatusCheckSubtaskEvent{Resource: "deployment/app", Status: event.Succeeded}})
	bus.Close() // the tracker has every event once the bus closes and it drained
	client := startGRPC(t, bus, &fakeControl{auto: runner.Auto{Sync: true}})
	var st *v2pb.State
	for {
		// The tracker reads its subscription in the background.
		var err error
		if st, err = client.GetState(t.Context(), &emptypb.Empty{}); err != nil {
			t.Fatal(err)
		}
		if st.GetStatusCheckState().GetResources()["deployment/app"] != "" {
			break
		}
	}
	if st.GetBuildState().GetArtifacts()["app"] != event.Failed || st.GetBuildState().GetStatusCode() != v2pb.StatusCode_BUILD_UNKNOWN {
		t.Errorf("build state %v, want app Failed with BUILD_UNKNOWN", st.GetBuildState())
	}
	if p := st.GetForwardedPorts()[8080]; p.GetResourceName() != "app" || p.GetTargetPort().GetIntVal() != 80 {
		t.Errorf("forwarded ports %v, want 8080 to service app:80", st.GetForwardedPorts())
	}
	if st.GetBuildState().GetAutoTrigger() || !st.GetFileSyncState().GetAutoTrigger() || st.GetDeployState().GetAutoTrigger() {
		t.Errorf("auto triggers %v %v %v, want the loop's: sync only", st.GetBuildState(), st.GetFileSyncState(), st.GetDeployState())
	}
	if st.GetMetadata().GetRunID() != "run" || st.GetTestState().GetStatus() != event.NotStarted {
		t.Errorf("metadata %v, test state %v; want run ID run and test NotStarted", st.GetMetadata(), st.GetTestState())
	}
}

// Execute triggers the phases of the intent; AutoBuild, AutoSync and
// AutoDeploy turn a phase's automatic run on and off, with the codes of
// the HTTP API.
func TestGRPCExecuteAndAutoDriveTheLoop(t *testing.T) {
	t.Parallel()
	ctl := &fakeControl{auto: runner.Auto{Build: true, Sync: true, Deploy: true}}
	client := startGRPC(t, event.NewBus(0), ctl)
	ctx := t.Context()
	on := func(b bool) *v2pb.TriggerRequest {
		return &v2pb.TriggerRequest{State: &v2pb.TriggerState{Val: &v2pb.TriggerState_Enabled{Enabled: b}}}
	}
	for _, tc := range []struct {
		name string
		call func() error
		code codes.Code
	}{
		{"Execute build", func() error {
			_, err := client.Execute(ctx, &v2pb.UserIntentRequest{Intent: &v2pb.Intent{Build: true}})
			return err
		}, codes.OK},
		{"Execute devloop", func() error {
			_, err := client.Execute(ctx, &v2pb.UserIntentRequest{Intent: &v2pb.Intent{Devloop: true}})
			return err
		}, codes.OK},
		{"AutoBuild off", func() error { _, err := client.AutoBuild(ctx, on(false)); return err }, codes.OK},
		{"AutoBuild off again", func() error { _, err := client.AutoBuild(ctx, on(false)); return err }, codes.AlreadyExists},
		{"AutoSync without enabled", func() error { _, err := client.AutoSync(ctx, &v2pb.TriggerRequest{}); return err }, codes.InvalidArgument},
		{"AutoDeploy off", func() error { _, err := client.AutoDeploy(ctx, on(false)); return err }, codes.OK},
		{"AutoBuild on", func() error { _, err := client.AutoBuild(ctx, on(true)); return err }, codes.OK},
		{"Handle", func() error { _, err := client.Handle(ctx, &v2pb.Event{}); return err }, codes.Unimplemented},
	} {
		err := tc.call()
		if status.Code(err) != tc.code || (tc.code != codes.OK && status.Convert(err).Message() == "") {
			t.Errorf("%s: %v, want code %v with a message", tc.name, err, tc.code)
		}
	}
	if got := fmt.Sprint(ctl.triggered); got != fmt.Sprint([]runner.Phases{{Build: true}, {Build: true, Sync: true, Deploy: true}}) {
		t.Errorf("triggered %s, want a build, then everything", got)
	}
	if a := ctl.Auto(); a != (runner.Auto{Build: true, Sync: true}) {
		t.Errorf("auto switches %+v, want build and sync", a)
	}
	st, err := client.GetState(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if !st.GetBuildState().GetAutoTrigger() || st.GetDeployState().GetAutoTrigger() {
		t.Errorf("state's auto triggers %v %v, want build on, deploy off", st.GetBuildState(), st.GetDeployState())
	}
}

// Without a dev loop (skiff run), Execute and the switches say so.
func TestGRPCExecuteWithoutALoop(t *testing.T) {
	t.Parallel()
	client := startGRPC(t, event.NewBus(0), nil)
	_, err := client.Execute(t.Context(), &v2pb.UserIntentRequest{Intent: &v2pb.Intent{Build: true}})
	if status.Code(err) != codes.Unimplemented || !strings.Contains(status.Convert(err).Message(), "skiff run has no dev loop") {
		t.Errorf("Execute without a loop: %v, want Unimplemented saying run has no dev loop", err)
	}
	_, err = client.AutoSync(t.Context(), &v2pb.TriggerRequest{State: &v2pb.TriggerState{Val: &v2pb.TriggerState_Enabled{Enabled: true}}})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("AutoSync without a loop: %v, want Unimplemented", err)
	}
}

// The gRPC messages say what the HTTP API's JSON says: protojson of
// toProtoEvent (with the proto field names, as Skaffold's grpc-gateway)
// and json of the event hold the same fields and values, for an event of
// each kind with every field set, and for a state.
func TestGRPCMatchesJSON(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 12, 6, 12, 0, 0, 123456789, time.UTC)
	ae := &event.ActionableErr{Message: "it broke", Suggestions: []event.Suggestion{{Action: "fix it"}}}
	events := []event.Event{
		{MetaEvent: &event.MetaEvent{Entry: "Starting skiff"}},
		{SkaffoldLogEvent: &event.SkaffoldLogEvent{TaskID: "Build-0", SubtaskID: "app", Level: -1, Message: "main.go:3: undefined: x"}},
		{ApplicationLogEvent: &event.ApplicationLogEvent{ContainerName: "c", PodName: "p", Prefix: "[p c]", Message: "hi", RichFormattedMessage: "\x1b[32mhi"}},
		{TaskEvent: &event.TaskEvent{ID: "Build-1", Task: "Build", Description: "Building", Iteration: 1, Status: event.Failed, ActionableErr: ae}},
		{BuildSubtaskEvent: &event.BuildSubtaskEvent{ID: "app", TaskID: "Build-1", Artifact: "app", Step: "Build", Status: event.Succeeded, ActionableErr: ae, Image: "app:abc", Duration: 2 * time.Second}},
		{DeploySubtaskEvent: &event.DeploySubtaskEvent{ID: "0", TaskID: "Deploy-1", Status: event.Failed, ActionableErr: ae, Duration: time.Second}},
		{StatusCheckSubtaskEvent: &event.StatusCheckSubtaskEvent{ID: "deployment/app", TaskID: "StatusCheck-1", Resource: "deployment/app", Status: event.InProgress, Message: "waiting", ActionableErr: ae}},
		{PortEvent: &event.PortForwardEvent{ID: "1", TaskID: "PortForward-1", LocalPort: 8080, PodName: "p", ContainerName: "c", Namespace: "ns", PortName: "http", ResourceType: "service", ResourceName: "app", Address: "127.0.0.1", TargetPort: event.IntOrString{Type: 1, StrVal: "http"}}},
		{FileSyncEvent: &event.FileSyncEvent{ID: "app", TaskID: "Sync-2", FileCount: 2, Image: "app", Status: event.Succeeded, ActionableErr: ae, Files: []string{"a", "b"}, Pods: []string{"p"}}},
		{DebuggingContainerEvent: &event.DebuggingContainerEvent{ID: "deployment.apps/app", TaskID: "Deploy-0", Status: event.Started, PodName: "p", ContainerName: "c", Namespace: "ns", Artifact: "app", Runtime: "go", WorkingDir: "/app", DebugPorts: map[string]uint32{"dlv": 56268}}},
		{PodEvent: &event.PodEvent{PodName: "p", Namespace: "ns", Phase: "Running", Ready: true, Restarts: 2, Reason: "CrashLoopBackOff", Deleted: true}},
	}
	for _, e := range events {
		e.Timestamp = ts
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, want, toProtoEvent(e), protojson.MarshalOptions{UseProtoNames: true})
	}
	st := event.NewState("run", []string{"app"}, event.Auto{Sync: true})
	for _, e := range events {
		st.Apply(e)
	}
	want, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	// The state's JSON has every field, as Skaffold's; its status
	// codes "OK" are the zero of their enum.
	sameJSON(t, want, toProtoState(st), protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true})
}

// sameJSON compares want (encoding/json) with m as protojson writes it
// with opts, field by field, leaving out empty values (which one writes and the
// other omits) and comparing numbers by their text (protojson writes an
// int64 as a string).
func sameJSON(t *testing.T, want []byte, m proto.Message, opts protojson.MarshalOptions) {
	t.Helper()
	got, err := opts.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	w, g := decodeJSON(t, want), decodeJSON(t, got)
	if w, g := normalize(w), normalize(g); !reflect.DeepEqual(w, g) {
		t.Errorf("gRPC message and JSON differ:\njson  %v\nproto %v", w, g)
	}
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return v
}

// normalize drops empty values and makes every other leaf its text.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, x := range v {
			if n := normalize(x); n != nil {
				m[k] = n
			}
		}
		if len(m) == 0 {
			return nil
		}
		return m
	case []any:
		var l []any
		for _, x := range v {
			l = append(l, normalize(x))
		}
		if len(l) == 0 {
			return nil
		}
		return l
	}
	if s := fmt.Sprint(v); s != "<nil>" && s != "false" && s != "" && s != "0" {
		return s
	}
	return nil
}

// The gRPC server speaks HTTP/2 without TLS only: an HTTP/1.1 request,
// all a browser's page can send to it, gets no answer, so it cannot
// drive the loop.
func TestGRPCRefusesHTTP1(t *testing.T) {
	t.Parallel()
	ctl := &fakeControl{}
	tr := event.Track(event.NewBus(0), event.NewState("run", nil, event.Auto{}))
	t.Cleanup(tr.Stop)
	s := NewGRPC(Options{Events: event.NewBus(0), State: tr, Control: ctl, Command: "dev"})
	addr, err := s.Start(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+addr+"/proto.v2.SkaffoldV2Service/Execute", strings.NewReader("\x00\x00\x00\x00\x04\x0a\x02\x08\x01"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/grpc")
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Errorf("an HTTP/1.1 request got %s, want no answer", resp.Status)
	}
	t.Logf("HTTP/1.1: %v", err)
	if len(ctl.triggered) != 0 {
		t.Errorf("an HTTP/1.1 request triggered %v", ctl.triggered)
	}
}
