package status

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"skiff.dev/skiff/internal/event"
)

// The check publishes each resource's state: ready, or failed with the
// reason and the error with its hint.
func TestCheckPublishesResourceEvents(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		failed bool
		want   string
	}{
		{name: "ready", want: "deployment/web Succeeded ready"},
		{name: "crash loop", failed: true, want: "deployment/web Failed container app keeps exiting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status := readyStatus()
			if tc.failed {
				status = crashLoopStatus()
			}
			d, objs := rolledOutWithPod(status)
			if tc.failed {
				d.Status.AvailableReplicas = 0
			}
			bus := event.NewBus(0)
			sub := bus.Subscribe(10)
			_, err := runCheck(t, newFakeCluster(objs...), []*unstructured.Unstructured{applied(t, d, deploymentKind)}, Options{Events: bus}, timing{stuckGrace: time.Hour, tick: time.Hour, readyHold: 0})
			if (err != nil) != tc.failed {
				t.Fatalf("check: %v", err)
			}
			bus.Close()
			var got []string
			for e := range sub.C {
				s := e.StatusCheckSubtaskEvent
				if s == nil {
					t.Fatalf("unexpected event %+v", e)
				}
				got = append(got, s.Resource+" "+s.Status+" "+s.Message)
				if tc.failed && (s.ActionableErr == nil || !strings.Contains(s.ActionableErr.Message, "hint")) {
					t.Errorf("the failure event carries %+v, want the error with its hint", s.ActionableErr)
				}
			}
			if len(got) == 0 || !strings.HasPrefix(got[len(got)-1], tc.want) {
				t.Errorf("events %q, want the last to start %q", got, tc.want)
			}
		})
	}
}

// At the deadline, each resource that is not ready is published as
// Failed, so that a client of the event stream sees how the check ended.
func TestDeadlinePublishesTheUnreadyResources(t *testing.T) {
	t.Parallel()
	d, objs := rolledOutWithPod(crashLoopStatus())
	d.Status.AvailableReplicas = 0
	bus := event.NewBus(0)
	sub := bus.Subscribe(100)
	_, err := runCheck(t, newFakeCluster(objs...), []*unstructured.Unstructured{applied(t, d, deploymentKind)}, Options{TolerateFailures: true, Deadline: 300 * time.Millisecond, Events: bus}, fastTiming)
	if e := asError(t, err); e.Reason != ReasonDeadlineExceeded {
		t.Fatalf("got %+v, want the deadline", e)
	}
	bus.Close()
	var last *event.StatusCheckSubtaskEvent
	for e := range sub.C {
		last = e.StatusCheckSubtaskEvent
	}
	if last == nil || last.Resource != "deployment/web" || last.Status != event.Failed || !strings.HasPrefix(last.Message, "not ready within 300ms: ") || last.ActionableErr == nil {
		t.Errorf("the last event is %+v, want deployment/web Failed at the deadline with its error", last)
	}
}
