package docker

import (
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// Under skiff debug, the container runs the command the transform wrote,
// with its environment, without the image's health check; the debug port
// is published on loopback (the next port up when it is taken); and
// before the container starts, the support image fills its /dbg volume as
// root and is removed.
func TestDeployDebug(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.images["web:v1"] = "sha256:1111"
	f.images["skiff-debug-go:1234"] = "sha256:dbg1"
	f.images["skiff-debug-nodejs:1"] = "sha256:dbg2"
	f.onCreate = func(c *fakeContainer) {
		if c.config.User == "0" {
			c.states = []container.State{{Status: container.StateExited, ExitCode: 0}}
		}
	}
	d, out := testDeployer(f, []int{56268}, forwardWeb(8080, 0))
	d.opts.Debug = map[string]*Debug{"web": {
		Entrypoint:  []string{"/dbg/go/bin/dlv", "exec", "--headless", "/app"},
		Cmd:         []string{},
		Env:         []string{"GOTRACEBACK=all"},
		Ports:       []int{56268},
		Support:     []string{"skiff-debug-go:1234"},
		SupportPath: "/dbg",
	}}
	if err := deployWeb(t, d, "web:v1"); err != nil {
		t.Fatal(err)
	}
	var app, support *fakeContainer
	for _, c := range f.containers {
		switch c.config.Image {
		case "web:v1":
			app = c
		case "skiff-debug-go:1234":
			support = c
		}
	}
	if app == nil || support == nil {
		t.Fatalf("containers %v; want the app's and the support image's", f.calls)
	}
	if !slices.Equal(app.config.Entrypoint, []string{"/dbg/go/bin/dlv", "exec", "--headless", "/app"}) || app.config.Cmd == nil || len(app.config.Cmd) != 0 {
		t.Errorf("the app runs %q %q; want dlv, and no CMD", app.config.Entrypoint, app.config.Cmd)
	}
	if !slices.Equal(app.config.Env, []string{"GOTRACEBACK=all"}) {
		t.Errorf("the app's env %q; want GOTRACEBACK=all added", app.config.Env)
	}
	if hc := app.config.Healthcheck; hc == nil || !slices.Equal(hc.Test, []string{"NONE"}) {
		t.Errorf("the app's health check %+v; want none", hc)
	}
	if _, ok := app.config.Volumes["/dbg"]; !ok {
		t.Errorf("the app has no /dbg volume: %v", app.config.Volumes)
	}
	if support.config.User != "0" || !slices.Equal(support.host.VolumesFrom, []string{app.id}) || !support.removed {
		t.Errorf("support container: user %q, volumes from %v, removed %v; want root, the app's volumes, removed", support.config.User, support.host.VolumesFrom, support.removed)
	}
	if i, j := slices.Index(f.calls, "start "+support.name), slices.Index(f.calls, "start web"); i < 0 || j < i {
		t.Errorf("calls %v: the support image must run before the app starts", f.calls)
	}
	port := network.MustParsePort("56268/tcp")
	if got := app.host.PortBindings[port]; len(got) != 1 || got[0].HostIP.String() != "127.0.0.1" || got[0].HostPort != "56269" {
		t.Errorf("56268/tcp is bound to %+v; want 127.0.0.1:56269, the next free port", got)
	}
	if addr, ok := d.Address("web", 56268); !ok || addr != "127.0.0.1:56269" {
		t.Errorf("Address(web, 56268) = %q, %v; want 127.0.0.1:56269", addr, ok)
	}
	if !strings.Contains(out.String(), "remote port 56268 -> http://127.0.0.1:56269 (local port 56268 is taken)") {
		t.Errorf("output does not report the debug port:\n%s", out)
	}

	// The same deploy without debugging replaces the container.
	d.opts.Debug = nil
	if err := deployWeb(t, d, "web:v1"); err != nil {
		t.Fatal(err)
	}
	if live := f.live(); len(live) != 1 || live[0].config.Entrypoint != nil {
		t.Errorf("after a deploy without debug: %d containers, entrypoint %q; want one running the image's", len(live), live[0].config.Entrypoint)
	}
}

// A support image that fails is an error naming it, and the app's
// container is not left behind.
func TestDeployDebugSupportFails(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.images["web:v1"] = "sha256:1111"
	f.images["skiff-debug-go:1234"] = "sha256:dbg1"
	f.images["skiff-debug-nodejs:1"] = "sha256:dbg2"
	f.onCreate = func(c *fakeContainer) {
		if c.config.User == "0" {
			c.states = []container.State{{Status: container.StateExited, ExitCode: 2}}
			c.output = multiplexed("2:cannot write /dbg\n")
		}
	}
	d, _ := testDeployer(f, nil)
	d.opts.Debug = map[string]*Debug{"web": {Env: []string{"NODE_OPTIONS=--inspect"}, Ports: []int{9229}, Support: []string{"skiff-debug-nodejs:1"}, SupportPath: "/dbg"}}
	err := deployWeb(t, d, "web:v1")
	if err == nil || !strings.Contains(err.Error(), "skiff-debug-nodejs:1") || !strings.Contains(err.Error(), "exited with code 2") || !strings.Contains(err.Error(), "cannot write /dbg") {
		t.Fatalf("err = %v; want the support image's failure and its output", err)
	}
	if live := f.live(); len(live) != 0 {
		t.Errorf("%d containers left after the failure", len(live))
	}
}
