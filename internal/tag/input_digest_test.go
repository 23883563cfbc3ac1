package tag

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// writeFiles creates files (path relative to dir: content) under dir.
func writeFiles(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// fixedDeps lists the same files for every artifact.
func fixedDeps(files ...string) DepsFunc {
	return func(context.Context, *schema.Artifact) ([]string, error) { return files, nil }
}

// walkDeps lists every file under the artifact's workspace, as a builder
// that sends the whole context would.
func walkDeps(_ context.Context, a *schema.Artifact) ([]string, error) {
	var files []string
	err := filepath.WalkDir(a.Workspace, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(a.Workspace, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	return files, err
}

// digestOf is a's inputDigest tag.
func digestOf(tb testing.TB, a *schema.Artifact, deps DepsFunc, env config.Env, opts ...Option) string {
	tb.Helper()
	tg, err := New(schema.TagPolicy{InputDigest: &schema.InputDigest{}}, env, deps, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tag, err := tg.GenerateTag(context.Background(), a)
	if err != nil {
		tb.Fatal(err)
	}
	return tag
}

func TestInputDigest(t *testing.T) {
	t.Parallel()
	sources := map[string]string{
		"Dockerfile":   "FROM golang\nARG VERSION\nCOPY . .\n",
		"main.go":      "package main\n",
		"pkg/util.go":  "package pkg\n",
		"run.sh":       "#!/bin/sh\n",
		"docs/old.txt": "old",
	}
	newArtifact := func(ws string) *schema.Artifact {
		return &schema.Artifact{
			ImageName: "app",
			Workspace: ws,
			ArtifactType: schema.ArtifactType{DockerArtifact: &schema.DockerArtifact{
				BuildArgs: map[string]*string{"VERSION": ptr("{{.VERSION}}"), "FROM_ENV": nil},
			}},
		}
	}
	env := config.Env{"VERSION": "1", "FROM_ENV": "a"}

	tests := []struct {
		name string
		// change alters the workspace, the artifact or the environment
		// (each a copy) after the first digest.
		change func(t *testing.T, ws string, a *schema.Artifact, env config.Env) *schema.Artifact
		same   bool
	}{
		{name: "nothing changed", same: true, change: func(t *testing.T, ws string, a *schema.Artifact, env config.Env) *schema.Artifact { return a }},
		{name: "the workspace moved", same: true, change: func(t *testing.T, ws string, a *schema.Artifact, env config.Env) *schema.Artifact {
			moved := filepath.Join(t.TempDir(), "elsewhere")
			if err := os.Rename(ws, moved); err != nil {
				t.Fatal(err)
			}
			a.Workspace = moved
			return a
		}},
		{name: "only the modification time changed", same: true, change: func(t *testing.T, ws string, a *schema.Artifact, env config.Env) *schema.Artifact {
			writeFiles(t, ws, map[string]string{"main.go": sources["main.go"]})
			return a
		}},
		{name: "sync rules changed", same: true, change: func(t *testing.T, ws string, a *schema.Artifact, env config.Env) *schema.Artifact {
			a.Sync = &schema.Sync{}
			return a
		}},
		{name: "a file's content changed", change: func(t *testing.T, ws string, a *schema.Artifact, env config.Env) *schema.Artifact {
			writeFiles(t, ws, map[string]string{"pkg/util.go": "package pkg // changed\n"})
			return a
		}},
		{name: "a file was renamed", change: func(t *testing.T, ws string, a *schema.Artifact, env config.Env) *schema.Artifact {
			if err := os.Rename(filepath.Join(ws, "docs/old.txt"), filepath.Join(ws, "docs/new.txt")); err != nil {
				t.Fatal(err)
			}
			return a
		}},
		{name: "a file was added", change: func(t *testing.T, ws string, a *schema.Artifact, env config.Env) *schema.Artifact {
			writeFiles(t, ws, map[string]string{"pkg/more.go": ""})
			return a
		}},
		{name: "a file became executable", change: func(t *testing.T, ws string, a *schema.Artifact, env config.Env) *schema.Artifact {
			if err := os.Chmod(filepath.Join(ws, "run.sh"), 0o755); err != nil {
				t.Fatal(err)
			}
			return a
		}},
		{name: "a templated build arg changed", change: func(t *testing.T, ws string, a *schema.Artifact, env config.Env) *schema.Artifact {
			env["VERSION"] = "2"
			return a
		}},
		{name: "a build arg taken from the environment changed", change: func(t *testing.T, ws string, a *schema.Artifact, env config.Env) *schema.Artifact {
			env["FROM_ENV"] = "b"
			return a
		}},
		{name: "the target changed", change: func(t *testing.T, ws string, a *schema.Artifact, env config.Env) *schema.Artifact {
			a.DockerArtifact.Target = "debug"
			return a
		}},
		{name: "the platforms changed", change: func(t *testing.T, ws string, a *schema.Artifact, env config.Env) *schema.Artifact {
			a.Platforms = []string{"linux/arm64"}
			return a
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ws := filepath.Join(t.TempDir(), "app")
			writeFiles(t, ws, sources)
			before := digestOf(t, newArtifact(ws), walkDeps, env)
			if len(before) != 64 || CheckTag(before) != nil {
				t.Fatalf("digest %q is not 64 hex digits", before)
			}
			env := env.With(nil)
			a := tc.change(t, ws, newArtifact(ws), env)
			after := digestOf(t, a, walkDeps, env)
			if same := before == after; same != tc.same {
				t.Errorf("digest before %s, after %s; want same = %t", before, after, tc.same)
			}
		})
	}
}

func TestInputDigestFiles(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	writeFiles(t, ws, map[string]string{"a": "a", "b": "b", "target1": "1", "target2": "2"})
	outside := filepath.Join(t.TempDir(), "Dockerfile")
	writeFiles(t, filepath.Dir(outside), map[string]string{"Dockerfile": "FROM scratch"})
	if err := os.Symlink("target1", filepath.Join(ws, "link")); err != nil {
		t.Fatal(err)
	}
	a := &schema.Artifact{ImageName: "app", Workspace: ws}
	digest := func(files ...string) string { return digestOf(t, a, fixedDeps(files...), nil) }

	if digest("a", "b") != digest("b", "a", "a") {
		t.Error("the digest depends on the order of the list or on duplicates")
	}
	if digest("a", "missing") != digest("a") {
		t.Error("a listed file that does not exist changes the digest")
	}
	if digest("a", filepath.Join(ws, "b")) != digest("a", "b") {
		t.Error("an absolute path inside the workspace is hashed differently from its relative path")
	}
	if digest("a", outside) == digest("a") {
		t.Error("a Dockerfile outside the workspace does not count")
	}
	linked := digest("link")
	if err := os.Remove(filepath.Join(ws, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("target2", filepath.Join(ws, "link")); err != nil {
		t.Fatal(err)
	}
	if digest("link") == linked {
		t.Error("a symlink's new target does not change the digest")
	}
}

func TestInputDigestRequires(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"base/Dockerfile": "FROM scratch", "app/Dockerfile": "ARG BASE\nFROM $BASE"})
	docker := schema.ArtifactType{DockerArtifact: &schema.DockerArtifact{}}
	base := &schema.Artifact{ImageName: "base", Workspace: filepath.Join(root, "base"), ArtifactType: docker}
	app := &schema.Artifact{ImageName: "app", Workspace: filepath.Join(root, "app"), ArtifactType: docker,
		Dependencies: []*schema.ArtifactDependency{{ImageName: "base", Alias: "BASE"}}}
	all := WithArtifacts([]*schema.Artifact{base, app})

	before := digestOf(t, app, walkDeps, nil, all)
	writeFiles(t, root, map[string]string{"base/extra": "x"})
	if after := digestOf(t, app, walkDeps, nil, all); after == before {
		t.Error("a change to a required artifact does not change the digest")
	}
	app.Dependencies[0].Alias = "BASE_IMAGE"
	aliased := digestOf(t, app, walkDeps, nil, all)
	if aliased == before {
		t.Error("a new alias does not change the digest")
	}

	errorCases := []struct {
		name    string
		opts    []Option
		a       *schema.Artifact
		deps    DepsFunc
		wantErr string
	}{
		{name: "no artifact list", a: app, deps: walkDeps, wantErr: `artifact "app" requires "base", but tag.New was not given the build's artifacts (tag.WithArtifacts)`},
		{name: "unknown required artifact", a: app, deps: walkDeps, opts: []Option{WithArtifacts([]*schema.Artifact{app})}, wantErr: `requires "base", which is not an artifact of this build`},
		{
			name: "a cycle",
			a:    &schema.Artifact{ImageName: "x", Workspace: root, Dependencies: []*schema.ArtifactDependency{{ImageName: "y"}}},
			deps: fixedDeps(),
			opts: []Option{WithArtifacts([]*schema.Artifact{
				{ImageName: "x", Workspace: root, Dependencies: []*schema.ArtifactDependency{{ImageName: "y"}}},
				{ImageName: "y", Workspace: root, Dependencies: []*schema.ArtifactDependency{{ImageName: "x"}}},
			})},
			wantErr: "artifacts require each other in a cycle: x -> y -> x",
		},
		{
			name: "the lister fails", a: base,
			deps:    func(context.Context, *schema.Artifact) ([]string, error) { return nil, errors.New("no Dockerfile") },
			wantErr: `inputDigest: listing the files "base" is built from: no Dockerfile`,
		},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tg, err := New(schema.TagPolicy{InputDigest: &schema.InputDigest{}}, nil, tc.deps, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tg.GenerateTag(context.Background(), tc.a)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestInputDigestNeedsALister(t *testing.T) {
	t.Parallel()
	_, err := New(schema.TagPolicy{InputDigest: &schema.InputDigest{}}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "no dependency lister") {
		t.Errorf("error = %v", err)
	}
}

func TestHashFilesCancelled(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	names := []string{"a", "b", "c"}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := hashFiles(ctx, ws, names); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}

func ptr(s string) *string { return &s }
