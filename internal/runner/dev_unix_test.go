//go:build unix

package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/log"
	"skiff.dev/skiff/internal/sync"
)

func TestDevSyncSkipsSpecialFilesWithAWarning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	site := dockerArtifact("site", dir, "")
	site.Sync = &schema.Sync{Manual: []*schema.SyncRule{{Src: "www/**", Dest: "/srv", Strip: "www"}}}
	p := &config.Project{Configs: []*config.Config{testConfig(dir, site)}}
	rules, err := syncRules(p)
	if err != nil {
		t.Fatal(err)
	}
	www := filepath.Join(dir, "www")
	if err := os.MkdirAll(www, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(www, "index.html"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(www, "passwd")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(www, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	ops, covered := rules["site"].Plan([]string{filepath.Join(www, "index.html"), filepath.Join(www, "passwd"), filepath.Join(www, "pipe")}, nil)
	if !covered {
		t.Fatal("the rule does not cover www/")
	}
	var errOut bytes.Buffer
	tr := &fakeTransport{}
	src := &fakeSource{running: map[string][]string{"site:1": {"a"}}}
	d := &dev{r: New(Options{Project: p, ErrOut: &errOut, Log: log.New(&errOut, log.LevelWarn)}), rules: rules, images: map[string]artifact.Image{"site": {Name: "site", Ref: "site:1"}}, syncer: newSyncer(src, func(container) sync.Transport { return tr })}
	d.sync(context.Background(), "site", ops)

	sent := tr.take()["a"]
	if len(sent) != 1 || sent[0].Local != filepath.Join(www, "index.html") {
		t.Errorf("sent %v, want only index.html", sent)
	}
	out := errOut.String()
	for _, want := range []string{"WARN: not syncing " + filepath.Join(www, "passwd") + ": a symbolic link to the absolute path /etc/passwd", "WARN: not syncing " + filepath.Join(www, "pipe") + ": a FIFO", "Synced 1 file to 1 container"} {
		if !strings.Contains(out, want) {
			t.Errorf("dev printed\n%s\nwant a line with %q", out, want)
		}
	}
}
