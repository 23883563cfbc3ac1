//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/testutil"
)

// TestDebugDockerDeployer runs `skiff debug` with the docker deployer: the
// Go app's container runs under dlv, whose files the support image copied
// into the container's /dbg volume; the debug port is published on
// loopback and skiff says how to attach there; a client stops a request in
// main.handler, reads it and lets it answer. Ctrl-C removes the container.
func TestDebugDockerDeployer(t *testing.T) {
	docker := newDocker(t)
	name := "dbgdock-" + randomSuffix(t)
	httpPort := testutil.FreePort(t)
	dir := t.TempDir()
	writeTestFiles(t, dir, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY app /app\nENV GOTRACEBACK=single\nCMD [\"/app\"]\n",
		"src/go.mod": "module example.com/dbg\n\ngo 1.22\n",
		"src/main.go": `package main

import (
	"fmt"
	"net/http"
)

func handler(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "hello %s\n", r.URL.Query().Get("name"))
}

func main() {
	http.HandleFunc("/", handler)
	http.ListenAndServe(":8080", nil)
}
`,
		".dockerignore": "src\n",
		"skaffold.yaml": fmt.Sprintf(`apiVersion: skaffold/v4beta14
kind: Config
metadata: {name: %[1]s}
build:
  tagPolicy: {inputDigest: {}}
  local: {push: false}
  artifacts:
  - image: %[1]s
    docker: {}
deploy:
  docker:
    images: [%[1]s]
portForward:
- {resourceType: container, resourceName: %[1]s, port: 8080, localPort: %[2]d}
`, name, httpPort),
	})
	// What a Dockerfile that builds Go code gets from SKAFFOLD_GO_GCFLAGS.
	build := exec.Command("go", "build", "-gcflags=all=-N -l", "-o", filepath.Join(dir, "app"), ".")
	build.Dir = filepath.Join(dir, "src")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	r := commandBackground(t, "debug", dir, "default", strings.NewReader(""), debugSupportEnv(t))
	attach := regexp.MustCompile(`container/` + name + ` \(go, container ` + name + `\): dlv connect (127\.0\.0\.1:\d+)`)
	dlvAddr := attachAddr(t, r, attach)

	waitAnswer(t, httpPort, "/?name=first", "hello first")
	dlv := testutil.DialDelve(t, dlvAddr)
	bp := dlv.Break("main.handler")
	stopped := dlv.Continue()
	answered := answersLater(httpPort, "/?name=paused")
	if err := <-stopped; err != nil {
		t.Fatalf("continue to the breakpoint: %v", err)
	}
	if q := dlv.Eval("r.URL.RawQuery"); q != "name=paused" {
		t.Errorf("r.URL.RawQuery = %q at the breakpoint; want name=paused", q)
	}
	dlv.Clear(bp)
	dlv.Continue()
	if body := <-answered; body != "hello paused\n" {
		t.Errorf("the paused request got %q; want hello paused", body)
	}

	if err := r.stop(t); err != nil {
		t.Fatalf("skiff debug after Ctrl-C: %v\nstderr:\n%s", err, r.errOut)
	}
	if !strings.Contains(r.errOut.String(), "Cleanup complete") {
		t.Errorf("no cleanup after Ctrl-C:\n%s", r.errOut)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	left, err := docker.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", kube.ProjectLabel)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range left.Items {
		if strings.HasPrefix(c.Labels[kube.ProjectLabel], name) {
			t.Errorf("skiff debug's cleanup left container %v", c.Names)
		}
	}
}
