package debug

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/render"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// cnbGo and cnbNode are io.buildpacks.build.metadata labels: a direct Go
// process (platform API 0.10, command as a list) and a shell process
// running npm (older API, command as a string).
const (
	cnbGo   = `{"buildpacks":[{"id":"google.go.runtime"},{"id":"google.go.build"}],"processes":[{"type":"web","command":["/layers/google.go.build/bin/main"],"args":["--port","8080"],"direct":true}]}`
	cnbNode = `{"buildpacks":[{"id":"paketo-buildpacks/node-engine"},{"id":"paketo-buildpacks/npm-start"}],"processes":[{"type":"web","command":"npm start","args":null,"direct":false},{"type":"worker","command":"node","args":["worker.js"],"direct":true}]}`
)

// testArtifacts are the images every golden case may refer to, by Ref.
var testArtifacts = []Artifact{
	{Image: artifact.Image{Name: "go-app", Ref: "go-app:1"}, RuntimeType: "go", Config: ImageConfig{Entrypoint: []string{"/app"}, Cmd: []string{"--port", "8080"}, WorkingDir: "/"}},
	{Image: artifact.Image{Name: "ko-app", Ref: "ko-app:1"}, Config: ImageConfig{Env: []string{"PATH=/ko-app:/usr/bin", "KO_DATA_PATH=/var/run/ko"}, Entrypoint: []string{"/ko-app/hello"}}},
	{Image: artifact.Image{Name: "go-env", Ref: "go-env:1"}, Config: ImageConfig{Env: []string{"GOTRACEBACK=all"}, Entrypoint: []string{"/server"}}},
	{Image: artifact.Image{Name: "go-dlv", Ref: "go-dlv:1"}, Config: ImageConfig{Entrypoint: []string{"/dlv", "exec", "--headless", "--listen=:40000", "--api-version=2", "/app"}}},
	{Image: artifact.Image{Name: "go-cnb", Ref: "go-cnb:1"}, Config: ImageConfig{
		Env:        []string{"CNB_APP_DIR=/workspace"},
		Entrypoint: []string{"/cnb/process/web"},
		Labels:     map[string]string{cnbStackLabel: "google.gae.22", cnbMetadataLabel: cnbGo},
	}},
	{Image: artifact.Image{Name: "node-app", Ref: "node-app:1"}, Config: ImageConfig{Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin", "NODE_VERSION=20.20.2"}, Cmd: []string{"node", "server.js"}, WorkingDir: "/app"}},
	{Image: artifact.Image{Name: "npm-app", Ref: "npm-app:1"}, Config: ImageConfig{Env: []string{"NODE_OPTIONS=--max-old-space-size=256"}, Entrypoint: []string{"docker-entrypoint.sh"}, Cmd: []string{"npm", "start"}, WorkingDir: "/app"}},
	{Image: artifact.Image{Name: "nodemon-app", Ref: "nodemon-app:1"}, RuntimeType: "node", Config: ImageConfig{Cmd: []string{"nodemon", "--watch", "src", "src/index.js"}}},
	{Image: artifact.Image{Name: "node-cnb", Ref: "node-cnb:1"}, Config: ImageConfig{
		Entrypoint: []string{cnbLauncher},
		Labels:     map[string]string{cnbStackLabel: "io.buildpacks.stacks.jammy", cnbMetadataLabel: cnbNode},
	}},
	{Image: artifact.Image{Name: "py-app", Ref: "py-app:1"}, Config: ImageConfig{Env: []string{"PYTHON_VERSION=3.11.2"}, Cmd: []string{"python3", "app.py"}, WorkingDir: "/srv"}},
	{Image: artifact.Image{Name: "py-gunicorn", Ref: "py-gunicorn:1"}, RuntimeType: "python", Config: ImageConfig{Entrypoint: []string{"gunicorn", "-b", "0.0.0.0:8000", "app:app"}}},
	{Image: artifact.Image{Name: "java-app", Ref: "java-app:1"}, Config: ImageConfig{Env: []string{"JAVA_VERSION=17.0.13", "JAVA_TOOL_OPTIONS=-Xmx256m"}, Entrypoint: []string{"java", "-jar", "/app.jar"}}},
	{Image: artifact.Image{Name: "java8-app", Ref: "java8-app:1"}, Config: ImageConfig{Env: []string{"JAVA_VERSION=8u412"}, Entrypoint: []string{"java", "-cp", "/app", "Main"}}},
	{Image: artifact.Image{Name: "mystery", Ref: "mystery:1"}, Config: ImageConfig{Entrypoint: []string{"/server"}}},
	{Image: artifact.Image{Name: "dotnet-app", Ref: "dotnet-app:1"}, RuntimeType: "netcore", Config: ImageConfig{Entrypoint: []string{"dotnet", "app.dll"}}},
}

// TestTransformGolden runs Transform on each testdata/*.in.yaml and
// compares the manifests with <case>.out.yaml and the Result with
// <case>.result.yaml. A case named suspend-* runs with Options.Suspend;
// helpers-registry-* with Options.HelpersRegistry.
func TestTransformGolden(t *testing.T) {
	t.Parallel()
	ins, err := filepath.Glob("testdata/*.in.yaml")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			ms, err := render.Parse(in, data)
			if err != nil {
				t.Fatal(err)
			}
			asked := map[Runtime]int{}
			opts := Options{
				Suspend: strings.HasPrefix(name, "suspend"),
				SupportImage: func(rt Runtime) (string, error) {
					asked[rt]++
					return "registry.local/skiff-debug-" + string(rt) + "@sha256:1111", nil
				},
			}
			if strings.HasPrefix(name, "helpers-registry") {
				opts.HelpersRegistry = "mirror.local/debug-support/"
			}
			res, err := Transform(ms, testArtifacts, opts)
			if err != nil {
				t.Fatal(err)
			}
			for rt, n := range asked {
				if n != 1 {
					t.Errorf("SupportImage(%s) called %d times; want once per runtime", rt, n)
				}
			}
			out, err := render.YAML(ms)
			if err != nil {
				t.Fatal(err)
			}
			result, err := yaml.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "testdata/"+name+".out.yaml", out)
			golden(t, "testdata/"+name+".result.yaml", result)
		})
	}
}

// golden compares got with the file, or rewrites the file with -update.
func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", file, got, want)
	}
}

// TestTransformIdempotentOptOut transforms its own output again: the
// config annotation it added opts every pod out, so nothing changes.
func TestTransformIdempotentOptOut(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/kinds.in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := render.Parse("kinds.in.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{SupportImage: func(rt Runtime) (string, error) { return "support-" + string(rt), nil }}
	if _, err := Transform(ms, testArtifacts, opts); err != nil {
		t.Fatal(err)
	}
	once, _ := render.YAML(ms)
	res, err := Transform(ms, testArtifacts, opts)
	if err != nil {
		t.Fatal(err)
	}
	twice, _ := render.YAML(ms)
	if len(res.Containers) != 0 || !bytes.Equal(once, twice) {
		t.Errorf("second Transform debugged %d containers and changed the manifests:\n%s", len(res.Containers), twice)
	}
}

// TestTransformErrors: a support image that cannot be had, or no way to
// get one, fails with what to do; a bad probe-timeouts annotation names
// the annotation.
func TestTransformErrors(t *testing.T) {
	t.Parallel()
	pod := func(image, annotations string) []render.Manifest {
		ms, err := render.Parse("pod.yaml", []byte(fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {%s}\nspec:\n  containers:\n  - name: c\n    image: %s\n", annotations, image)))
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
	for _, tc := range []struct {
		name        string
		image, anno string
		opts        Options
		want        string
	}{
		{"support image fails", "go-app:1", "", Options{SupportImage: func(Runtime) (string, error) { return "", fmt.Errorf("no dlv next to skiff") }},
			"pod/p (pod.yaml:1): configuring for debugging: the go debug support image: no dlv next to skiff"},
		{"no support image", "node-app:1", "", Options{}, "no nodejs debug support image: set the debug-helpers-registry setting or build skiff's support files with `make build`"},
		{"bad probe timeouts", "java-app:1", `"debug.cloud.google.com/probe-timeouts": "soon"`, Options{}, `annotation debug.cloud.google.com/probe-timeouts: "soon" is not "skip" or a duration`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Transform(pod(tc.image, tc.anno), testArtifacts, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Transform() = %v; want an error containing %q", err, tc.want)
			}
		})
	}
}
