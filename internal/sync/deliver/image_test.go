package deliver

import (
	"archive/tar"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"skiff.dev/skiff/internal/image"
)

// buildAgent builds cmd/skiff-agent static into a temporary directory.
func buildAgent(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), BinaryName)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "skiff.dev/skiff/cmd/skiff-agent")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build skiff-agent: %v\n%s", err, out)
	}
	return bin
}

// TestImage packs the agent twice into the same image, which holds only
// /skiff-agent (0755) for this machine's architecture, and a changed
// binary into another.
func TestImage(t *testing.T) {
	t.Parallel()
	bin := buildAgent(t)
	img, err := Image(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatal(err)
	}
	again, err := Image(bin)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("digests %s and %s of the same binary", d1, d2)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH || cf.Config.User != "65532:65532" || strings.Join(cf.Config.Entrypoint, " ") != "/skiff-agent" {
		t.Errorf("config: %s/%s user %q entrypoint %q", cf.OS, cf.Architecture, cf.Config.User, cf.Config.Entrypoint)
	}
	want, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(mutate.Extract(img))
	h, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(tr)
	if h.Name != "skiff-agent" || h.Mode != 0o755 || h.ModTime.Unix() != 0 || string(got) != string(want) {
		t.Errorf("layer entry %s mode %o time %v, %d bytes; want skiff-agent 0755 at 0, %d bytes", h.Name, h.Mode, h.ModTime, len(got), len(want))
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("more than one file in the layer: %v", err)
	}

	changed := filepath.Join(t.TempDir(), BinaryName)
	if err := os.WriteFile(changed, append(want, 0), 0o755); err != nil {
		t.Fatal(err)
	}
	other, err := Image(changed)
	if err != nil {
		t.Fatal(err)
	}
	if d3, _ := other.Digest(); d3 == d1 {
		t.Errorf("a changed binary kept the digest %s", d1)
	}
}

func TestImageRefuses(t *testing.T) {
	t.Parallel()
	script := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, want string }{
		{script, "is not a Linux executable"},
		{"/bin/ls", "is dynamically linked"},
		{filepath.Join(t.TempDir(), "missing"), "reading skiff-agent"},
	} {
		if _, err := Image(tc.file); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Image(%s) = %v; want an error containing %q", tc.file, err, tc.want)
		}
	}
}

// TestPush pushes the agent image to an in-process registry under its
// digest tag, then finds it there and skips the push.
func TestPush(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	repo := strings.TrimPrefix(srv.URL, "http://") + "/skiff-agent"
	img, err := Image(buildAgent(t))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	reg := image.NewRegistry(nil)
	ctx := context.Background()
	for i, wantPushed := range []bool{true, false} {
		ref, pushed, err := Push(ctx, reg, repo, img)
		if err != nil || ref != repo+"@"+d.String() || pushed != wantPushed {
			t.Fatalf("push %d: %q pushed=%v, %v; want %s@%s pushed=%v", i+1, ref, pushed, err, repo, d, wantPushed)
		}
	}
	tag, err := name.ParseReference(repo + ":sha256-" + d.Hex)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(tag)
	if err != nil || desc.Digest != d {
		t.Errorf("tag %s: %v, %v; want %s", tag, desc, err, d)
	}
}

func TestFindBinary(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	self := filepath.Join(dir, "skiff")
	if _, err := findNextTo(self); err == nil ||
		!strings.Contains(err.Error(), "make build") || !strings.Contains(err.Error(), "go install skiff.dev/skiff/cmd/skiff-agent@") || !strings.Contains(err.Error(), "set SKIFF_AGENT") {
		t.Errorf("no agent next to skiff: %v; want an error saying how to get it", err)
	}
	agent := filepath.Join(dir, BinaryName)
	if err := os.WriteFile(agent, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if p, err := findNextTo(self); err != nil || p != agent {
		t.Errorf("findNextTo = %q, %v; want %s", p, err, agent)
	}
	if p, err := FindBinary(agent); err != nil || p != agent {
		t.Errorf("FindBinary(%s) = %q, %v", agent, p, err)
	}
	if _, err := FindBinary(filepath.Join(dir, "nope")); err == nil || !strings.HasPrefix(err.Error(), "SKIFF_AGENT="+filepath.Join(dir, "nope")+": no such file") {
		t.Errorf("FindBinary of a missing file: %v", err)
	}
}
