package kube

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes/fake"

	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/testutil"
)

// Each line printed is also an ApplicationLogEvent naming its pod and
// container.
func TestLogTailerPublishesLines(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset(runningPod("web-1", "app", "c1"))
	k := newFakeKubelet(cs)
	k.setRunning("c1", true)
	k.write("c1", 0, "hello\n")
	k.write("c1", 1, "world\n")
	bus := event.NewBus(0)
	sub := bus.Subscribe(10)
	out := &testutil.Buffer{}
	tailer := NewLogTailer(cs, out, LogOptions{
		Namespaces: []string{"ns"},
		Selector:   labels.SelectorFromSet(labels.Set{ProjectLabel: "p"}),
		Events:     bus,
	})
	tailer.openLogs = k.open
	tailer.settleTimeout = 300 * time.Millisecond
	if err := tailer.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitLines(t, out, 2)
	tailer.Stop()
	bus.Close()
	var got []string
	for e := range sub.C {
		l := e.ApplicationLogEvent
		if l == nil {
			t.Fatalf("unexpected event %+v", e)
		}
		got = append(got, l.PodName+"/"+l.ContainerName+": "+l.Message)
	}
	if want := []string{"web-1/app: hello\n", "web-1/app: world\n"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("events %q, want %q", got, want)
	}
}
