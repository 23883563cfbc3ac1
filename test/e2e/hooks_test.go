//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"skiff.dev/skiff/internal/testutil"
)

// hooksProject is a docker artifact FROM a busybox image (sh for the
// container hooks) serving /srv, deployed as 2 replicas of web, with
// lifecycle hooks: a build before hook that writes the SKAFFOLD_* variables
// it saw to build-env, a post-sync host hook that writes the files synced
// to sync-env and a container hook that marks each container, and a
// post-deploy container hook that marks each web container.
func hooksProject(t *testing.T) string {
	t.Helper()
	base := dockerBuildBase(t, newDocker(t))
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
metadata:
  name: hooks
build:
  tagPolicy: {inputDigest: {}}
  artifacts:
  - image: skiff-e2e-hooks
    context: app
    docker:
      buildArgs:
        BASE: ` + base + `
    hooks:
      before:
      - command: ["sh", "-c", "env | grep ^SKAFFOLD_ | sort > build-env; echo before-build ran"]
        dir: .
      - command: ["sh", "-c", "echo never on this system"]
        os: [plan9]
    sync:
      manual:
      - {src: "www/**", dest: /srv, strip: www/}
      hooks:
        after:
        - host:
            command: ["sh", "-c", "echo \"$SKAFFOLD_FILES_ADDED_OR_MODIFIED|$SKAFFOLD_IMAGE\" > sync-env"]
            dir: .
        - container:
            command: ["sh", "-c", "echo synced > /srv/hook-synced; echo in $(hostname)"]
manifests:
  rawYaml: [k8s/*.yaml]
deploy:
  kubectl:
    hooks:
      after:
      - container:
          command: ["sh", "-c", "echo deployed > /srv/hook-deployed"]
          podName: web-*
          containerName: web
`,
		"app/Dockerfile":     "ARG BASE\nFROM $BASE\nCOPY server /server\nCOPY www /srv\nCMD [\"/server\"]\n",
		"app/www/index.html": "<h1>hooks v1</h1>\n",
		"k8s/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: skiff-e2e-hooks
        ports: [{containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /, port: 8080}
          periodSeconds: 1
`,
	})
	buildServer(t, filepath.Join(dir, "app", "server"))
	return dir
}

// TestHooksInDev runs skiff dev on hooksProject: the build hook sees
// Skaffold's variables, the post-deploy container hook ran in both web
// containers, and an edit's sync runs the host and container after-sync
// hooks.
func TestHooksInDev(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := hooksProject(t)
	r := devBackground(t, dir, ns, "--cache-artifacts=false")
	pods := c.waitReady(t, ns, "app=web", 2)

	env := readFile(t, filepath.Join(dir, "build-env"))
	for _, want := range []string{
		"SKAFFOLD_IMAGE=", "SKAFFOLD_IMAGE_REPO=", "SKAFFOLD_IMAGE_TAG=", "SKAFFOLD_PUSH_IMAGE=",
		"SKAFFOLD_BUILD_CONTEXT=" + filepath.Join(dir, "app") + "\n", "SKAFFOLD_WORK_DIR=" + dir + "\n",
	} {
		if !strings.Contains(env, want) {
			t.Errorf("the build hook's environment lacks %q:\n%s", want, env)
		}
	}
	errOut := r.errOut.String()
	for _, want := range []string{"[pre-build skiff-e2e-hooks] before-build ran", "Completed post-deploy hooks"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("dev's output lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "never on this system") {
		t.Errorf("a hook for os plan9 ran:\n%s", errOut)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, pod := range pods {
		out, _, err := c.exec(ctx, ns, pod, "web", []string{"cat", "/srv/hook-deployed"}, nil)
		if err != nil || string(out) != "deployed\n" {
			t.Errorf("the post-deploy container hook did not run in %s: %q, %v", pod, out, err)
		}
	}

	m := r.mark()
	index := filepath.Join(dir, "app", "www", "index.html")
	writeTree(t, filepath.Join(dir, "app", "www"), map[string]string{"index.html": "<h1>hooks v2</h1>\n"})
	r.waitSince(t, m, devStepTimeout, syncedLine)
	syncEnv := readFile(t, filepath.Join(dir, "sync-env"))
	if !strings.HasPrefix(syncEnv, index+"|") || !strings.Contains(syncEnv, "skiff-e2e-hooks:") {
		t.Errorf("the post-sync host hook saw %q, want %s|<the image>", syncEnv, index)
	}
	for _, pod := range pods {
		out, _, err := c.exec(ctx, ns, pod, "web", []string{"cat", "/srv/hook-synced"}, nil)
		if err != nil || string(out) != "synced\n" {
			t.Errorf("the post-sync container hook did not run in %s: %q, %v", pod, out, err)
		}
		if !strings.Contains(r.errOut.String(), "[post-sync skiff-e2e-hooks "+pod+"/web] in "+pod) {
			t.Errorf("the container hook's output in %s is not shown with its prefix:\n%s", pod, r.errOut.String())
		}
	}
	c.stopAndCheckCleanup(t, r, ns)
}

// TestFailingBuildHookFailsTheBuild: a before-build hook that exits
// non-zero stops skiff build before anything is built, with the hook's
// exit status and output in the error.
func TestFailingBuildHookFailsTheBuild(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
build:
  local: {push: false}
  artifacts:
  - image: skiff-e2e-hook-fails
    hooks:
      before:
      - command: ["sh", "-c", "echo checking the toolchain; echo 'protoc: not found' >&2; exit 7"]
`,
		"Dockerfile": "FROM scratch\nCOPY Dockerfile /\n",
	})
	_, stderr, err := skiff(t, dir, "build", "--cache-artifacts=false")
	if err == nil {
		t.Fatalf("skiff build succeeded despite a failing hook:\n%s", stderr)
	}
	for _, want := range []string{`artifact "skiff-e2e-hook-fails" was not built`, "pre-build hook 1", "exit status 7", "protoc: not found"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if strings.Contains(stderr, "Building [skiff-e2e-hook-fails]") {
		t.Errorf("the artifact was built after its before hook failed:\n%s", stderr)
	}
}

// TestSyncContainerHookOnDocker: with the docker deployer, an after-sync
// container hook runs in the image's container through the Engine's exec
// API; what it writes is served by the container.
func TestSyncContainerHookOnDocker(t *testing.T) {
	docker := newDocker(t)
	base := dockerBuildBase(t, docker)
	name := "hookdock-" + randomSuffix(t)
	port := testutil.FreePort(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
metadata:
  name: ` + name + `
build:
  tagPolicy: {inputDigest: {}}
  local: {push: false}
  artifacts:
  - image: ` + name + `
    docker:
      buildArgs: {BASE: "` + base + `"}
    sync:
      manual:
      - {src: "www/**", dest: /srv, strip: www/}
      hooks:
        after:
        - container:
            command: ["sh", "-c", "echo \"after sync of $(cat /srv/index.html)\" > /srv/hook.txt"]
deploy:
  docker:
    images: [` + name + `]
portForward:
- resourceType: container
  resourceName: ` + name + `
  port: 8080
  localPort: ` + fmt.Sprint(port) + "\n",
		"Dockerfile":     "ARG BASE\nFROM $BASE\nCOPY server /server\nCOPY www /srv\nCMD [\"/server\"]\n",
		"www/index.html": "v1",
	})
	buildServer(t, filepath.Join(dir, "server"))
	r := devBackground(t, dir, "default")
	forwards := map[string]int{"container " + name: port}
	expectServed(t, forwards, "/index.html", "v1")
	m := r.mark()
	writeTree(t, filepath.Join(dir, "www"), map[string]string{"index.html": "v2"})
	r.waitSince(t, m, devStepTimeout, regexp.MustCompile(`Synced 1 file to 1 container in `))
	expectServed(t, forwards, "/hook.txt", "after sync of v2\n")
	if err := r.stop(t); err != nil {
		t.Fatalf("skiff dev after Ctrl-C: %v\nstderr:\n%s", err, r.errOut)
	}
}
