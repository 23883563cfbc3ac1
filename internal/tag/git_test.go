package tag

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/config/schema"
)

// gitTagger builds the gitCommit tagger for c, running git as the repo's
// tests do.
func gitTagger(tb testing.TB, r *testRepo, c schema.GitTagger) Tagger {
	tb.Helper()
	tg, err := New(schema.TagPolicy{GitTagger: &c}, nil, nil, WithEnviron(append(os.Environ(), r.env...)))
	if err != nil {
		tb.Fatal(err)
	}
	return tg
}

func TestGitCommit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// setup prepares the repository and returns the workspace (relative
		// to it) and the tag expected there.
		setup  func(r *testRepo) (ws, want string)
		tagger schema.GitTagger
	}{{
		name: "tags: on a tag",
		setup: func(r *testRepo) (string, string) {
			r.write("app/main.go", "package main")
			r.commit("one")
			r.git("tag", "v1.0.0")
			return "app", "v1.0.0"
		},
	}, {
		name: "tags: after a tag",
		setup: func(r *testRepo) (string, string) {
			r.write("app/main.go", "package main")
			r.commit("one")
			r.git("tag", "-a", "-m", "release", "v1.0.0")
			r.write("app/main.go", "package main // two")
			r.commit("two")
			return "app", "v1.0.0-1-g" + r.git("rev-parse", "--short", "HEAD")
		},
	}, {
		name: "tags: no tag is the short commit",
		setup: func(r *testRepo) (string, string) {
			r.write("main.go", "package main")
			r.commit("one")
			return ".", r.git("rev-parse", "--short", "HEAD")
		},
	}, {
		name: "tags: a tag with a slash is sanitized",
		setup: func(r *testRepo) (string, string) {
			r.write("main.go", "package main")
			r.commit("one")
			r.git("tag", "release/2.0")
			return ".", "release_2.0"
		},
	}, {
		name:   "CommitSha",
		tagger: schema.GitTagger{Variant: "CommitSha"},
		setup: func(r *testRepo) (string, string) {
			r.write("app/main.go", "package main")
			r.commit("one")
			r.git("tag", "v1")
			return "app", r.git("rev-parse", "HEAD")
		},
	}, {
		name:   "AbbrevCommitSha, variant matched case-insensitively",
		tagger: schema.GitTagger{Variant: "abbrevCOMMITsha"},
		setup: func(r *testRepo) (string, string) {
			r.write("main.go", "package main")
			r.commit("one")
			return ".", r.git("rev-parse", "--short", "HEAD")
		},
	}, {
		name:   "TreeSha of a subdirectory",
		tagger: schema.GitTagger{Variant: "TreeSha"},
		setup: func(r *testRepo) (string, string) {
			r.write("svc/a/main.go", "package main")
			r.write("other/x", "x")
			r.commit("one")
			return "svc/a", r.git("rev-parse", "HEAD:svc/a")
		},
	}, {
		name:   "TreeSha ignores commits outside the workspace",
		tagger: schema.GitTagger{Variant: "TreeSha"},
		setup: func(r *testRepo) (string, string) {
			r.write("svc/a/main.go", "package main")
			r.commit("one")
			want := r.git("rev-parse", "HEAD:svc/a")
			r.write("other/x", "x")
			r.commit("two")
			return "svc/a", want
		},
	}, {
		name:   "AbbrevTreeSha of the root",
		tagger: schema.GitTagger{Variant: "AbbrevTreeSha"},
		setup: func(r *testRepo) (string, string) {
			r.write("main.go", "package main")
			r.commit("one")
			return ".", r.git("rev-parse", "--short", "HEAD^{tree}")
		},
	}, {
		name:   "Branches: the branch, sanitized",
		tagger: schema.GitTagger{Variant: "Branches"},
		setup: func(r *testRepo) (string, string) {
			r.write("main.go", "package main")
			r.commit("one")
			r.git("checkout", "-q", "-b", "feature/login")
			return ".", "feature_login"
		},
	}, {
		name:   "Branches: a detached HEAD is the short commit",
		tagger: schema.GitTagger{Variant: "Branches"},
		setup: func(r *testRepo) (string, string) {
			r.write("main.go", "package main")
			r.commit("one")
			r.git("checkout", "-q", "--detach")
			return ".", r.git("rev-parse", "--short", "HEAD")
		},
	}, {
		name:   "prefix",
		tagger: schema.GitTagger{Prefix: "app-"},
		setup: func(r *testRepo) (string, string) {
			r.write("main.go", "package main")
			r.commit("one")
			r.git("tag", "v2")
			return ".", "app-v2"
		},
	}, {
		name:   "dirty: a changed file in the workspace",
		tagger: schema.GitTagger{Prefix: "p"},
		setup: func(r *testRepo) (string, string) {
			r.write("app/main.go", "package main")
			r.commit("one")
			r.git("tag", "v1")
			r.write("app/main.go", "package main // changed")
			return "app", "pv1-dirty"
		},
	}, {
		name: "dirty: an untracked file in the workspace",
		setup: func(r *testRepo) (string, string) {
			r.write("app/main.go", "package main")
			r.commit("one")
			r.git("tag", "v1")
			r.write("app/new.go", "package main")
			return "app", "v1-dirty"
		},
	}, {
		name: "dirty: a staged deletion in the workspace",
		setup: func(r *testRepo) (string, string) {
			r.write("app/main.go", "package main")
			r.write("app/old.go", "package main")
			r.commit("one")
			r.git("tag", "v1")
			r.git("rm", "-q", "app/old.go")
			return "app", "v1-dirty"
		},
	}, {
		name: "clean: changes outside the workspace do not count",
		setup: func(r *testRepo) (string, string) {
			r.write("app/main.go", "package main")
			r.write("web/index.html", "<p>")
			r.commit("one")
			r.git("tag", "v1")
			r.write("web/index.html", "<p>changed")
			r.write("README", "new")
			return "app", "v1"
		},
	}, {
		name: "clean: ignored files do not count",
		setup: func(r *testRepo) (string, string) {
			r.write(".gitignore", "*.log\n")
			r.write("main.go", "package main")
			r.commit("one")
			r.git("tag", "v1")
			r.write("debug.log", "x")
			return ".", "v1"
		},
	}, {
		name:   "ignoreChanges",
		tagger: schema.GitTagger{Variant: "Tags", IgnoreChanges: true},
		setup: func(r *testRepo) (string, string) {
			r.write("main.go", "package main")
			r.commit("one")
			r.git("tag", "v1")
			r.write("main.go", "package main // changed")
			return ".", "v1"
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newTestRepo(t)
			ws, want := tc.setup(r)
			got, err := gitTagger(t, r, tc.tagger).GenerateTag(context.Background(), &schema.Artifact{ImageName: "app", Workspace: filepath.Join(r.dir, ws)})
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("tag = %q, want %q", got, want)
			}
		})
	}
}

func TestGitCommitRelativeWorkspace(t *testing.T) {
	// The workspace is relative to the working directory of the process,
	// which only this test looks at; it therefore does not run in parallel.
	r := newTestRepo(t)
	r.write("main.go", "package main")
	r.commit("one")
	r.git("tag", "v3")
	t.Chdir(r.dir)
	for _, ws := range []string{"", "."} {
		got, err := gitTagger(t, r, schema.GitTagger{}).GenerateTag(context.Background(), &schema.Artifact{ImageName: "app", Workspace: ws})
		if err != nil || got != "v3" {
			t.Errorf("workspace %q: tag = %q, %v; want v3", ws, got, err)
		}
	}
}

func TestGitCommitErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(t *testing.T) (r *testRepo, ws string)
		tagger  schema.GitTagger
		wantIs  error
		wantErr []string
	}{{
		name: "not a git repository",
		setup: func(t *testing.T) (*testRepo, string) {
			dir := t.TempDir()
			return &testRepo{tb: t, dir: dir, env: isolatedGitEnv(t, dir)}, dir
		},
		wantIs:  ErrNotGitRepo,
		wantErr: []string{"is not inside a git repository", "git init", "set build.tagPolicy to inputDigest, dateTime or sha256"},
	}, {
		name: "no commits yet",
		setup: func(t *testing.T) (*testRepo, string) {
			r := newTestRepo(t)
			r.write("main.go", "package main")
			return r, r.dir
		},
		wantErr: []string{"has no commits yet", "commit the sources"},
	}, {
		name:   "no commits yet, TreeSha",
		tagger: schema.GitTagger{Variant: "TreeSha"},
		setup: func(t *testing.T) (*testRepo, string) {
			r := newTestRepo(t)
			return r, r.dir
		},
		wantErr: []string{"has no commits yet"},
	}, {
		name:   "TreeSha of a directory that was never committed",
		tagger: schema.GitTagger{Variant: "TreeSha"},
		setup: func(t *testing.T) (*testRepo, string) {
			r := newTestRepo(t)
			r.write("main.go", "package main")
			r.commit("one")
			r.write("new/main.go", "package main")
			return r, filepath.Join(r.dir, "new")
		},
		wantErr: []string{"new is not in the commit HEAD", "commit the context"},
	}, {
		name: "the workspace does not exist",
		setup: func(t *testing.T) (*testRepo, string) {
			r := newTestRepo(t)
			return r, filepath.Join(r.dir, "missing")
		},
		wantIs:  os.ErrNotExist,
		wantErr: []string{"missing does not exist", "build.artifacts[].context"},
	}, {
		name:   "a prefix that makes the tag invalid",
		tagger: schema.GitTagger{Prefix: "team/"},
		setup: func(t *testing.T) (*testRepo, string) {
			r := newTestRepo(t)
			r.write("main.go", "package main")
			r.commit("one")
			r.git("tag", "v1")
			return r, r.dir
		},
		wantErr: []string{`gitCommit (prefix "team/") produced the tag "team/v1"`, `'/' at byte 4 is not allowed`, "1 to 128 letters"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, ws := tc.setup(t)
			tag, err := gitTagger(t, r, tc.tagger).GenerateTag(context.Background(), &schema.Artifact{ImageName: "app", Workspace: ws})
			if err == nil {
				t.Fatalf("tag = %q, want an error", tag)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestGitCommitInvalidVariant(t *testing.T) {
	t.Parallel()
	_, err := New(schema.TagPolicy{GitTagger: &schema.GitTagger{Variant: "Latest"}}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), `build.tagPolicy.gitCommit: variant "Latest" is not one of Tags`) {
		t.Errorf("error = %v", err)
	}
}

func TestSanitizeTag(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"v1.0.0", "v1.0.0"},
		{"feature/login", "feature_login"},
		{"user@host:x", "user_host_x"},
		{"-.-v1", "___v1"},
		{".hidden", "_hidden"},
		{"/.x", "_.x"},
		{"grüße", "gr__e"},
		{strings.Repeat("a", 130), strings.Repeat("a", 128)},
	}
	for _, tc := range tests {
		if got := sanitizeTag(tc.in); got != tc.want {
			t.Errorf("sanitizeTag(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if err := CheckTag(sanitizeTag(tc.in)); err != nil {
			t.Errorf("sanitizeTag(%q) is not a valid tag: %v", tc.in, err)
		}
	}
}
