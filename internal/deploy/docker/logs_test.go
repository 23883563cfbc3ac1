package docker

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"

	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/testutil"
)

func TestLogs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		color    bool
		web, api string
	}{
		{"plain", false, "[web] ", "[api] "},
		{"color", true, "\x1b[91m[web]\x1b[0m ", "\x1b[92m[api]\x1b[0m "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake()
			web := f.add("web", true, map[string]string{kube.ProjectLabel: "shop"})
			web.output = multiplexed("1:listening on :8080\n", "2:warning: ", "2:slow disk\n", "1:half a line")
			f.add("db", true, map[string]string{kube.ProjectLabel: "another"}).output = multiplexed("1:not ours\n")
			f.add("old", false, map[string]string{kube.ProjectLabel: "shop"}).output = multiplexed("1:stopped long ago\n")
			d, _ := testDeployer(f, nil)
			var out testutil.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- d.Logs(ctx, &out, tc.color) }()

			waitUntil(t, &out, tc.web+"warning: slow disk\n")
			// A container that starts later (a redeploy's) is followed too.
			api := f.add("api", true, map[string]string{kube.ProjectLabel: "shop"})
			api.output = multiplexed("1:api ready\n")
			f.events <- events.Message{Type: events.ContainerEventType, Action: events.ActionStart, Actor: events.Actor{ID: api.id, Attributes: map[string]string{"name": "api"}}}
			waitUntil(t, &out, tc.api+"api ready\n")

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Logs: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Logs did not return when its context ended")
			}
			got := out.String()
			for _, want := range []string{tc.web + "listening on :8080\n", tc.web + "half a line\n"} {
				if !strings.Contains(got, want) {
					t.Errorf("the logs lack %q:\n%s", want, got)
				}
			}
			if strings.Contains(got, "not ours") || strings.Contains(got, "stopped long ago") {
				t.Errorf("the logs show another project's or a stopped container:\n%s", got)
			}
			if n := strings.Count(got, "\n"); n != 4 {
				t.Errorf("%d lines, want 4:\n%s", n, got)
			}
		})
	}
}

// waitUntil waits until out has want.
func waitUntil(t *testing.T, out *testutil.Buffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if strings.Contains(out.String(), want) {
			return
		}
	}
	t.Fatalf("the logs never showed %q:\n%s", want, out.String())
}
