package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pipeConfig builds two images tagged v1 (no git, no Docker needed for a
// dry run) and deploys web.
const pipeConfig = `apiVersion: skaffold/v4beta14
kind: Config
metadata:
  name: shop
build:
  tagPolicy:
    envTemplate:
      template: v1
  artifacts:
  - image: web
  - image: api
manifests:
  rawYaml: [k8s.yaml]
`

// writePipeProject writes pipeConfig's project and returns its config.
func writePipeProject(t *testing.T) string {
	t.Helper()
	file := writeProject(t, pipeConfig)
	if err := os.WriteFile(filepath.Join(filepath.Dir(file), "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// runIn is run with stdin.
func runIn(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = Run(context.Background(), IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}, args, WithEnviron(nil))
	return out.String(), errOut.String(), err
}

// build -q prints Skaffold's build output, {{json .}} by default, and
// nothing else on stdout; -o takes Skaffold's Go templates; --file-output
// writes the same.
func TestBuildOutputAndTemplates(t *testing.T) {
	t.Parallel()
	file := writePipeProject(t)
	base := []string{"build", "-f", file, "--dry-run", "--push=false"}
	const wantJSON = `{"builds":[{"imageName":"web","tag":"web:v1"},{"imageName":"api","tag":"api:v1"}]}`
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-q"}, wantJSON},
		{[]string{"--quiet", "-o", "{{json .}}"}, wantJSON},
		{[]string{"-o", "json"}, wantJSON},
		{[]string{"-q", "-o", `{{range .Builds}}{{.ImageName}} {{.Tag}} {{upper .ImageName}}{{"\n"}}{{end}}`}, "web web:v1 WEB\napi api:v1 API\n"},
		{[]string{"-q", "-o", `{{range .Builds}}{{title .ImageName}}{{end}}`}, "WebApi"},
		{nil, "web:v1\napi:v1\n"},
		{[]string{"-o", "text"}, "web:v1\napi:v1\n"},
	} {
		out, stderr, err := run(t, nil, append(base, tc.args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, stderr)
		}
		if out != tc.want {
			t.Errorf("build %v printed %q, want %q", tc.args, out, tc.want)
		}
		quiet := len(tc.args) > 0 && (tc.args[0] == "-q" || tc.args[0] == "--quiet")
		if quiet && stderr != "" {
			t.Errorf("build %v is not quiet: %q", tc.args, stderr)
		}
	}
	outFile := filepath.Join(t.TempDir(), "build.json")
	if _, _, err := run(t, nil, append(base, "--file-output", outFile)...); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(outFile); string(data) != wantJSON {
		t.Errorf("--file-output wrote %q, want %q", data, wantJSON)
	}
	_, _, err := run(t, nil, append(base, "-o", "{{.Builds")...)
	var usage *UsageError
	if !asUsage(err, &usage) || !strings.Contains(err.Error(), "not a Go template") {
		t.Errorf("a broken template: %v, want a usage error", err)
	}
}

// deploy and render -a - read the build output from stdin (the pipe
// skaffold build -q | skaffold deploy -a -); what is not a build output
// says what was expected.
func TestBuildArtifactsFromStdin(t *testing.T) {
	t.Parallel()
	file := writePipeProject(t)
	out, stderr, err := runIn(t, `{"builds":[{"imageName":"web","tag":"reg.example/web:v7"}]}`, "render", "-f", file, "--offline", "-a", "-")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(out, "image: reg.example/web:v7") {
		t.Errorf("render -a - did not use the images from stdin:\n%s", out)
	}
	for input, want := range map[string]string{
		"web:v1\n":                         "is not a build output",
		`{"builds":[{"imageName":"web"}]}`: "needs both imageName and tag",
	} {
		_, _, err := runIn(t, input, "render", "-f", file, "--offline", "-a", "-")
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "standard input") {
			t.Errorf("-a - with %q: %v, want an error saying %q", input, err, want)
		}
	}
}

// The pipe of Skaffold's docs, with the built binary: skiff build -q |
// skiff render -a -.
func TestBuildPipeBinary(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds skiff")
	}
	bin := filepath.Join(t.TempDir(), "skiff-engine")
	if out, err := exec.Command("go", "build", "-o", bin, "skiff.dev/skiff/cmd/skiff-engine").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	file := writePipeProject(t)
	build := exec.Command(bin, "build", "-q", "--dry-run", "--push=false", "-f", file)
	render := exec.Command(bin, "render", "--offline", "-a", "-", "-f", file)
	pipe, err := build.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	render.Stdin = pipe
	var out, errOut bytes.Buffer
	render.Stdout, render.Stderr, build.Stderr = &out, &errOut, &errOut
	if err := build.Start(); err != nil {
		t.Fatal(err)
	}
	if err := render.Run(); err != nil {
		t.Fatalf("render: %v\n%s", err, errOut.String())
	}
	if err := build.Wait(); err != nil {
		t.Fatalf("build: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "image: web:v1") {
		t.Errorf("the pipe rendered:\n%s", out.String())
	}
}
