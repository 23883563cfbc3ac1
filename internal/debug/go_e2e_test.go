//go:build e2e

package debug_test

import (
	"context"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

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

// dlvClient dials Delve's JSON-RPC API (api-version 2) at addr, waiting
// until it listens.
func dlvClient(t *testing.T, addr string) *rpc.Client {
	t.Helper()
	var c *rpc.Client
	testutil.WaitFor(t, 60*time.Second, "dlv listening on "+addr, func(ctx context.Context) (bool, string) {
		cl, err := jsonrpc.Dial("tcp", addr)
		if err != nil {
			return false, err.Error()
		}
		var st map[string]any
		if err := cl.Call("RPCServer.State", map[string]any{"NonBlocking": true}, &st); err != nil {
			cl.Close()
			return false, err.Error()
		}
		c = cl
		return true, ""
	})
	return c
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
		c := dlvClient(t, d.addr["dlv"])
		defer c.Close()
		var st struct{ Running, Exited bool }
		if err := c.Call("RPCServer.State", map[string]any{"NonBlocking": true}, &st); err != nil {
			t.Fatal(err)
		}
		if st.Running || st.Exited {
			t.Errorf("state before continue: %+v; want stopped at the start", st)
		}
		if body, err := get(t.Context(), d.addr["http"], "/?name=early"); err == nil {
			t.Errorf("the suspended app answered %q before the debugger continued it", body)
		}
		c.Go("RPCServer.Command", map[string]any{"name": "continue"}, &map[string]any{}, nil)
		waitServing(t, d.addr["http"], "hello probe 1")
	})
}

// breakInHandler drives Delve at dlvAddr while the app serves the second
// and third requests on httpAddr: halt, a breakpoint on main.handler, a
// request that stops there, the request's query read, the breakpoint
// cleared, continue; the paused request is answered, and so is the next.
func breakInHandler(t *testing.T, dlvAddr, httpAddr string) {
	t.Helper()
	c := dlvClient(t, dlvAddr)
	defer c.Close()
	var st map[string]any
	if err := c.Call("RPCServer.Command", map[string]any{"name": "halt"}, &st); err != nil {
		t.Fatalf("halt: %v", err)
	}
	var bp struct{ Breakpoint struct{ ID int } }
	if err := c.Call("RPCServer.CreateBreakpoint", map[string]any{"Breakpoint": map[string]any{"functionName": "main.handler"}}, &bp); err != nil {
		t.Fatalf("breakpoint on main.handler: %v", err)
	}
	cont := c.Go("RPCServer.Command", map[string]any{"name": "continue"}, &st, nil)
	answered := getLater(httpAddr, "/?name=dlv")
	if r := <-cont.Done; r.Error != nil {
		t.Fatalf("continue to the breakpoint: %v", r.Error)
	}
	var v struct{ Variable struct{ Value string } }
	if err := c.Call("RPCServer.Eval", map[string]any{"Scope": map[string]any{"GoroutineID": -1, "Frame": 0}, "Expr": "r.URL.RawQuery"}, &v); err != nil {
		t.Fatalf("reading r.URL.RawQuery at the breakpoint: %v", err)
	}
	if v.Variable.Value != "name=dlv" {
		t.Errorf("r.URL.RawQuery = %q at the breakpoint; want name=dlv", v.Variable.Value)
	}
	if err := c.Call("RPCServer.ClearBreakpoint", map[string]any{"Id": bp.Breakpoint.ID}, &map[string]any{}); err != nil {
		t.Fatalf("clearing the breakpoint: %v", err)
	}
	c.Go("RPCServer.Command", map[string]any{"name": "continue"}, &map[string]any{}, nil)
	if body := <-answered; body != "hello dlv 2\n" {
		t.Errorf("the paused request got %q; want hello dlv 2", body)
	}
	if body, err := get(t.Context(), httpAddr, "/?name=again"); err != nil || body != "hello again 3\n" {
		t.Errorf("after the debugger continued: %q, %v; want hello again 3", body, err)
	}
}
