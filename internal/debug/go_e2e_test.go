//go:build e2e

package debug_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"skiff.dev/skiff/internal/debug"
	"skiff.dev/skiff/internal/testutil"
)

// goApp is the Go test app: handler counts requests and greets ?name=.
const goApp = `package main

import (
	"fmt"
	"net/http"
)

var count int

func handler(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	count++
	fmt.Fprintf(w, "hello %s %d\n", name, count)
}

func main() {
	http.HandleFunc("/", handler)
	panic(http.ListenAndServe(":8080", nil))
}
`

// goAppImage builds goApp static with -gcflags=all=-N -l, as skiff
// debug's builds do (and -trimpath, so that the image is the same from run
// to run), into a FROM scratch image at /app and, as ko lays it out, at
// /ko-app/app, and returns it with its config.
func goAppImage(t *testing.T) (v1.Image, debug.ImageConfig) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"go.mod": "module app\n\ngo 1.26\n", "main.go": goApp} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "build", "-trimpath", "-gcflags=all=-N -l", "-o", "app", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	r := newRootfs(t)
	r.files["/app"] = filepath.Join(dir, "app")
	r.files["/ko-app/app"] = filepath.Join(dir, "app")
	cfg := debug.ImageConfig{Entrypoint: []string{"/app"}, Env: []string{"GOTRACEBACK=all"}}
	return r.image(cfg), cfg
}

// TestGoE2E runs the Go app under the support image's Delve (v1.27.2,
// built by make build): a client sets a breakpoint on main.handler, a
// request stops there, the client reads the request's query and
// continues, the request is answered and the app serves the next one; so
// too for the same program laid out as ko does, told as Go by that alone.
// Suspended, the app does not serve until the debugger continues it.
func TestGoE2E(t *testing.T) {
	cli := dockerClient(t)
	img, cfg := goAppImage(t)
	ref := load(t, cli, "skiff-e2e-debug-go", img)

	t.Run("breakpoint", func(t *testing.T) {
		d := runDebugged(t, cli, ref, "", cfg, false)
		if d.c.Runtime != debug.Go || d.addr["dlv"] == "" {
			t.Fatalf("debugged as %+v; want go with a dlv port", d.c)
		}
		waitServing(t, d.addr["http"], "hello probe 1")
		breakInHandler(t, d.addr["dlv"], d.addr["http"])
	})

	t.Run("ko", func(t *testing.T) {
		ko := debug.ImageConfig{Entrypoint: []string{"/ko-app/app"}, Env: []string{"KO_DATA_PATH=/var/run/ko"}}
		d := runDebugged(t, cli, ref, "", ko, false)
		if d.c.Runtime != debug.Go {
			t.Fatalf("ko image debugged as %+v; want go", d.c)
		}
		waitServing(t, d.addr["http"], "hello probe 1")
		breakInHandler(t, d.addr["dlv"], d.addr["http"])
	})

	t.Run("suspend", func(t *testing.T) {
		d := runDebugged(t, cli, ref, "", cfg, true)
		if !d.c.Suspended {
			t.Fatalf("Transform says %+v; want suspended", d.c)
		}
		dlv := testutil.DialDelve(t, d.addr["dlv"])
		if running, exited := dlv.State(); running || exited {
			t.Errorf("state before continue: running %v, exited %v; want stopped at the start", running, exited)
		}
		if body, err := get(t.Context(), d.addr["http"], "/?name=early"); err == nil {
			t.Errorf("the suspended app answered %q before the debugger continued it", body)
		}
		dlv.Continue()
		waitServing(t, d.addr["http"], "hello probe 1")
	})
}

// breakInHandler drives Delve at dlvAddr while the app serves the second
// and third requests on httpAddr: halt, a breakpoint on main.handler, a
// request that stops there, the request's query read, the breakpoint
// cleared, continue; the paused request is answered, and so is the next.
func breakInHandler(t *testing.T, dlvAddr, httpAddr string) {
	t.Helper()
	dlv := testutil.DialDelve(t, dlvAddr)
	bp := dlv.Break("main.handler")
	stopped := dlv.Continue()
	answered := getLater(httpAddr, "/?name=dlv")
	if err := <-stopped; err != nil {
		t.Fatalf("continue to the breakpoint: %v", err)
	}
	if q := dlv.Eval("r.URL.RawQuery"); q != "name=dlv" {
		t.Errorf("r.URL.RawQuery = %s at the breakpoint; want name=dlv", q)
	}
	dlv.Clear(bp)
	dlv.Continue()
	if body := <-answered; body != "hello dlv 2\n" {
		t.Errorf("the paused request got %q; want hello dlv 2", body)
	}
	if body, err := get(t.Context(), httpAddr, "/?name=again"); err != nil || body != "hello again 3\n" {
		t.Errorf("after the debugger continued: %q, %v; want hello again 3", body, err)
	}
}
