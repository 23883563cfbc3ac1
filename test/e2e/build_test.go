//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"skiff.dev/skiff/internal/cli"
)

// skiff runs the skiff CLI in process on the skaffold.yaml in dir, with
// the test's environment, and returns its stdout and stderr.
func skiff(t testing.TB, dir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	args = append(args, "-f", filepath.Join(dir, "skaffold.yaml"))
	err = cli.Run(ctx, cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, args)
	return out.String(), errOut.String(), err
}

// randomSuffix returns 8 random hex digits, to keep names of concurrent
// or repeated runs apart.
func randomSuffix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// writeTree writes files (relative path -> content) under dir.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// threeBuilders is a project with one artifact per builder: base (custom,
// a script using the docker CLI), web (docker, FROM base through a
// required artifact's alias) and api (ko, a Go program).
func threeBuilders(prefix string) map[string]string {
	return map[string]string{
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy:
    inputDigest: {}
  local:
    concurrency: 0
  artifacts:
  - image: ` + prefix + `-base
    context: base
    custom:
      buildCommand: ./build.sh
      dependencies:
        paths: ["**"]
  - image: ` + prefix + `-web
    context: web
    requires:
    - image: ` + prefix + `-base
      alias: BASE
  - image: ` + prefix + `-api
    context: api
    ko:
      main: .
`,
		"base/build.sh": `#!/bin/sh
set -e
docker build -q -t "$IMAGE" .
if [ "$PUSH_IMAGE" = true ]; then docker push "$IMAGE" >/dev/null; fi
`,
		"base/Dockerfile":  "FROM scratch\nCOPY base.txt /base.txt\n",
		"base/base.txt":    "base v1\n",
		"web/Dockerfile":   "ARG BASE\nFROM $BASE\nCOPY index.html /www/index.html\n",
		"web/index.html":   "<h1>web v1</h1>\n",
		"api/go.mod":       "module example.com/api\n\ngo 1.25\n",
		"api/main.go":      "package main\n\nfunc main() { println(\"api v1\") }\n",
		"api/kodata/a.txt": "static\n",
	}
}

type buildJSON struct {
	Builds []struct {
		ImageName string `json:"imageName"`
		Tag       string `json:"tag"`
	} `json:"builds"`
}

func readBuilds(t testing.TB, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var b buildJSON
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatalf("%s: %v\n%s", file, err, data)
	}
	out := map[string]string{}
	for _, r := range b.Builds {
		out[r.ImageName] = r.Tag
	}
	return out
}

// TestBuildThreeBuildersCacheAndRebuild builds a project with the docker,
// ko and custom builders and requires, pushes to the cluster's registry
// (found through its KEP-1755 ConfigMap), then shows that an unchanged
// project is served from the cache and that a change rebuilds only the
// artifacts it affects.
func TestBuildThreeBuildersCacheAndRebuild(t *testing.T) {
	c := newCluster(t)
	registry := c.localRegistry(t)
	dir := t.TempDir()
	prefix := "e2e-build-" + strings.ToLower(randomSuffix(t))
	writeTree(t, dir, threeBuilders(prefix))
	cacheFile := filepath.Join(dir, "cache")
	out := filepath.Join(dir, "build.json")
	build := func(t *testing.T) (map[string]string, string) {
		t.Helper()
		_, stderr, err := skiff(t, dir, "build", "--cache-file", cacheFile, "--file-output", out)
		if err != nil {
			t.Fatalf("skiff build: %v\n%s", err, stderr)
		}
		return readBuilds(t, out), stderr
	}

	first, stderr := build(t)
	for _, name := range []string{"base", "web", "api"} {
		ref := first[prefix+"-"+name]
		if !strings.HasPrefix(ref, registry+"/"+prefix+"-"+name+":") || !strings.Contains(ref, "@sha256:") {
			t.Fatalf("%s was built as %q, want %s/%s-%s:TAG@sha256:DIGEST\n%s", name, ref, registry, prefix, name, stderr)
		}
		ok, err := registryHasManifest(context.Background(), registry, ref)
		if err != nil || !ok {
			t.Fatalf("%s is not in the registry (%v)", ref, err)
		}
	}
	if !strings.Contains(stderr, "["+prefix+"-api]") && !strings.Contains(stderr, "Building ["+prefix+"-api]") {
		t.Errorf("no build output for api:\n%s", stderr)
	}

	t.Run("unchanged project comes from the cache", func(t *testing.T) {
		again, stderr := build(t)
		if strings.Count(stderr, "Found in cache") != 3 || strings.Contains(stderr, "Building [") {
			t.Errorf("unchanged rebuild was not served from the cache:\n%s", stderr)
		}
		for k, v := range first {
			if again[k] != v {
				t.Errorf("%s: %s, then %s from the cache", k, v, again[k])
			}
		}
	})

	t.Run("a Go change rebuilds api only", func(t *testing.T) {
		writeTree(t, dir, map[string]string{"api/main.go": "package main\n\nfunc main() { println(\"api v2\") }\n"})
		next, stderr := build(t)
		if !strings.Contains(stderr, "Building ["+prefix+"-api]") || strings.Count(stderr, "Building [") != 1 {
			t.Errorf("want exactly api rebuilt:\n%s", stderr)
		}
		if next[prefix+"-api"] == first[prefix+"-api"] || next[prefix+"-web"] != first[prefix+"-web"] {
			t.Errorf("references after the api change: %v (before %v)", next, first)
		}
	})

	t.Run("a base change rebuilds base and web, which requires it", func(t *testing.T) {
		writeTree(t, dir, map[string]string{"base/base.txt": "base v2\n"})
		_, stderr := build(t)
		for _, name := range []string{"base", "web"} {
			if !strings.Contains(stderr, "Building ["+prefix+"-"+name+"]") {
				t.Errorf("%s was not rebuilt:\n%s", name, stderr)
			}
		}
		if strings.Contains(stderr, "Building ["+prefix+"-api]") {
			t.Errorf("api was rebuilt although nothing it depends on changed:\n%s", stderr)
		}
	})
}

// TestBuildFailureNamesTheArtifact shows that a failing build stops the
// run with an error naming the artifact and the failing step.
func TestBuildFailureNamesTheArtifact(t *testing.T) {
	newCluster(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"skaffold.yaml": "apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  artifacts:\n  - image: e2e-broken\n",
		"Dockerfile":    "FROM scratch\nCOPY missing.txt /\n",
	})
	_, stderr, err := skiff(t, dir, "build", "--cache-artifacts=false")
	if err == nil {
		t.Fatalf("skiff build of a broken Dockerfile succeeded:\n%s", stderr)
	}
	if !strings.Contains(err.Error(), `"e2e-broken"`) || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("error does not name the artifact and the missing file: %v", err)
	}
}
