package kube

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"

	"skiff.dev/skiff/internal/event"
)

// Each forward started is a PortForwardEvent with the resource, the local
// address and the remote port.
func TestForwarderPublishesForwards(t *testing.T) {
	t.Parallel()
	f, _, _, _ := newTestForwarder(t, webService(), webPod("web-a", 8080, true, 0))
	bus := event.NewBus(0)
	sub := bus.Subscribe(10)
	f.Events = bus
	addr, err := f.Add(t.Context(), Forward{Type: "service", Name: "web", Port: intstr.FromInt32(80)})
	if err != nil {
		t.Fatal(err)
	}
	bus.Close()
	var got []string
	for e := range sub.C {
		p := e.PortEvent
		if p == nil {
			t.Fatalf("unexpected event %+v", e)
		}
		got = append(got, fmt.Sprintf("%s/%s in %s: %s:%d -> %d", p.ResourceType, p.ResourceName, p.Namespace, p.Address, p.LocalPort, p.TargetPort.IntVal))
	}
	want := fmt.Sprintf("service/web in ns: %s -> 80", addr)
	if len(got) != 1 || got[0] != want {
		t.Errorf("events %q, want [%q]", got, want)
	}
}
