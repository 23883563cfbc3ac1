package event

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func build(artifact, status string) Event {
	return Event{BuildSubtaskEvent: &BuildSubtaskEvent{TaskID: TaskBuild, Artifact: artifact, Step: "Build", Status: status}}
}

// A subscriber gets the past events first, then the new ones, in order.
func TestSubscribeReplaysHistoryThenFollows(t *testing.T) {
	t.Parallel()
	b := NewBus(2)
	b.Publish(build("a", InProgress))
	b.Publish(build("b", InProgress))
	b.Publish(build("c", InProgress)) // pushes a out of the history
	s := b.Subscribe(10)
	b.Publish(build("d", InProgress))
	b.Close()
	var got []string
	for e := range s.C {
		got = append(got, e.BuildSubtaskEvent.Artifact)
		if e.Timestamp.IsZero() {
			t.Errorf("event %s has no timestamp", e.BuildSubtaskEvent.Artifact)
		}
	}
	if want := "b c d"; join(got) != want {
		t.Errorf("subscriber saw %q, want %q", join(got), want)
	}
}

// A subscriber that does not read loses events but never blocks Publish,
// and the others still get everything.
func TestPublishNeverBlocksOnASlowSubscriber(t *testing.T) {
	t.Parallel()
	b := NewBus(1)
	slow := b.Subscribe(2)
	fast := b.Subscribe(100)
	for range 50 {
		b.Publish(build("a", InProgress)) // would deadlock if it waited for slow
	}
	b.Close()
	n := 0
	for range fast.C {
		n++
	}
	if n != 50 {
		t.Errorf("the fast subscriber got %d events, want 50", n)
	}
	if got := slow.Dropped(); got != 48 {
		t.Errorf("the slow subscriber dropped %d events, want 48", got)
	}
	if len(slow.C) != 2 {
		t.Errorf("the slow subscriber holds %d events, want 2", len(slow.C))
	}
}

func TestNilBusDropsEvents(t *testing.T) {
	t.Parallel()
	var b *Bus
	b.Publish(build("a", InProgress))
	b.Close()
}

func TestCancelClosesTheSubscription(t *testing.T) {
	t.Parallel()
	b := NewBus(0)
	s := b.Subscribe(1)
	s.Cancel()
	s.Cancel()
	b.Publish(build("a", InProgress))
	if _, open := <-s.C; open {
		t.Error("a cancelled subscription received an event")
	}
}

// The event log is one JSON object a line in Skaffold's field names.
func TestWriteJSONLines(t *testing.T) {
	t.Parallel()
	b := NewBus(0)
	s := b.Subscribe(10)
	b.Publish(build("app", Failed))
	b.Publish(Event{FileSyncEvent: &FileSyncEvent{FileCount: 1, Image: "app", Status: Succeeded, Files: []string{"index.html"}, Pods: []string{"app-1"}}})
	b.Close()
	var out bytes.Buffer
	if err := WriteJSONLines(&out, s); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&out)
	var lines []map[string]any
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), out.String())
	}
	be, ok := lines[0]["buildSubtaskEvent"].(map[string]any)
	if !ok || be["artifact"] != "app" || be["status"] != "Failed" || be["step"] != "Build" {
		t.Errorf("first line %v, want a buildSubtaskEvent of app, Build, Failed", lines[0])
	}
	if _, ok := lines[0]["timestamp"].(string); !ok {
		t.Errorf("first line %v has no timestamp", lines[0])
	}
	fe, ok := lines[1]["fileSyncEvent"].(map[string]any)
	if !ok || fe["fileCount"] != 1.0 || fe["image"] != "app" || fe["status"] != "Succeeded" {
		t.Errorf("second line %v, want a fileSyncEvent of 1 file into app", lines[1])
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

// A LogWriter publishes each line of a build's output, qualified with the
// iteration, the last one at Flush, and stops after maxLogLines lines.
func TestLogWriterPublishesLines(t *testing.T) {
	b := NewBus(0)
	sub := b.Subscribe(2 * maxLogLines)
	w := b.LogWriter(TaskBuild, "app")
	fmt.Fprint(w, "./main.go:12:2: undefined: x\r\n./main.go:13")
	fmt.Fprint(w, ":1: syntax error\nexit status 1")
	w.Flush()
	for i := 0; i < maxLogLines; i++ {
		fmt.Fprintln(w, "more")
	}
	w.Flush()
	b.Close()
	var got []SkaffoldLogEvent
	for e := range sub.C {
		got = append(got, *e.SkaffoldLogEvent)
	}
	want := []SkaffoldLogEvent{
		{TaskID: "Build-0", SubtaskID: "app", Level: -1, Message: "./main.go:12:2: undefined: x"},
		{TaskID: "Build-0", SubtaskID: "app", Level: -1, Message: "./main.go:13:1: syntax error"},
		{TaskID: "Build-0", SubtaskID: "app", Level: -1, Message: "exit status 1"},
	}
	if len(got) != maxLogLines+1 || !slices.Equal(got[:3], want) {
		t.Fatalf("got %d events starting %+v, want %d starting %+v", len(got), got[:min(3, len(got))], maxLogLines+1, want)
	}
	if last := got[maxLogLines].Message; !strings.Contains(last, "the terminal has it all") {
		t.Errorf("the last event says %q, want that the rest is in the terminal", last)
	}
}
