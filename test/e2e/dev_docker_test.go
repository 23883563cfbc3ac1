//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/testutil"
)

// skiff dev with the docker deployer: the images run as containers on the
// local daemon and changes are synced into them through the Engine's exec
// API, with tar where the image has it and with skiff-agent, copied in
// through the Engine's archive API, where it does not.
func TestDevDockerDeployerSyncs(t *testing.T) {
	docker := newDocker(t)
	base := dockerBuildBase(t, docker)
	name := "devdock-" + randomSuffix(t)
	scratchPort, tarPort := testutil.FreePort(t), testutil.FreePort(t)
	dir := t.TempDir()
	app := func(image, from string, port int) (artifact, forward string) {
		artifact = `  - image: ` + image + `
    context: ` + image + `
    docker:
      buildArgs: {BASE: "` + from + `"}
    sync:
      manual:
      - {src: "www/**", dest: /srv, strip: www/}
`
		forward = `- resourceType: container
  resourceName: ` + image + `
  port: 8080
  localPort: ` + fmt.Sprint(port) + "\n"
		return artifact, forward
	}
	scratchArt, scratchFwd := app(name+"-scratch", "scratch", scratchPort)
	tarArt, tarFwd := app(name+"-tar", base, tarPort)
	files := map[string]string{
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
metadata:
  name: ` + name + `
build:
  tagPolicy: {inputDigest: {}}
  local: {push: false}
  artifacts:
` + scratchArt + tarArt + `deploy:
  docker:
    images: [` + name + `-scratch, ` + name + `-tar]
portForward:
` + scratchFwd + tarFwd,
	}
	for _, image := range []string{name + "-scratch", name + "-tar"} {
		files[image+"/Dockerfile"] = "ARG BASE\nFROM $BASE\nCOPY server /server\nCOPY www /srv\nCMD [\"/server\"]\n"
		files[image+"/www/index.html"] = "<h1>" + image + " v1</h1>\n"
		files[image+"/www/css/site.css"] = "body { color: black; }\n"
	}
	writeTree(t, dir, files)
	for _, image := range []string{name + "-scratch", name + "-tar"} {
		buildServer(t, filepath.Join(dir, image, "server"))
	}

	r := devBackground(t, dir, "default")
	synced := regexp.MustCompile(`Synced \d+ (files?|deletions?)( and \d+ deletions?)? to 1 container in `)
	for image, port := range map[string]int{name + "-scratch": scratchPort, name + "-tar": tarPort} {
		forwards := map[string]int{"container " + image: port}
		expectServed(t, forwards, "/index.html", "<h1>"+image+" v1</h1>\n")

		www := filepath.Join(dir, image, "www")
		index := "<h1>" + image + " edited " + randomSuffix(t) + "</h1>\n"
		m := r.mark()
		writeTree(t, www, map[string]string{"index.html": index, "a/b/new.txt": "new\n"})
		r.waitSince(t, m, devStepTimeout, synced)
		expectServed(t, forwards, "/index.html", index)
		expectServed(t, forwards, "/a/b/new.txt", "new\n")

		m = r.mark()
		if err := os.Remove(filepath.Join(www, "css", "site.css")); err != nil {
			t.Fatal(err)
		}
		r.waitSince(t, m, devStepTimeout, synced)
		expectServed(t, forwards, "/css/site.css", "")
	}
	if strings.Contains(r.errOut.String(), "Rebuilt") {
		t.Errorf("a synced change rebuilt an image:\n%s", r.errOut)
	}
	// The images loaded into the daemon got their development images
	// there, and those are what runs.
	for _, image := range []string{name + "-scratch", name + "-tar"} {
		if !regexp.MustCompile(regexp.QuoteMeta(image+": dev deploys "+image+":") + `[0-9a-f]+-skiff-dev, the built image plus a layer`).MatchString(r.errOut.String()) {
			t.Errorf("no development image of %s loaded into the daemon:\n%s", image, r.errOut)
		}
	}

	if err := r.stop(t); err != nil {
		t.Fatalf("skiff dev after Ctrl-C: %v\nstderr:\n%s", err, r.errOut)
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
			t.Errorf("skiff dev's cleanup left container %v", c.Names)
		}
	}
}

// buildServer builds testdata/dev/server, which serves /srv on port 8080,
// as a static binary at out.
func buildServer(t testing.TB, out string) {
	t.Helper()
	src, err := filepath.Abs("testdata/dev/server")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(src, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	writeTree(t, mod, map[string]string{"go.mod": "module example.com/server\n\ngo 1.25\n", "main.go": string(data)})
	devGoBuild(t, mod, ".", out)
}
