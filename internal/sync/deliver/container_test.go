package deliver

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// fakeCopier records what CopyToContainer sends, or fails with err.
type fakeCopier struct {
	err       error
	container string
	dest      string
	entries   map[string]*tar.Header
	data      []byte
}

func (f *fakeCopier) CopyToContainer(_ context.Context, container string, o client.CopyToContainerOptions) (client.CopyToContainerResult, error) {
	if f.err != nil {
		return client.CopyToContainerResult{}, f.err
	}
	f.container, f.dest, f.entries = container, o.DestinationPath, map[string]*tar.Header{}
	tr := tar.NewReader(o.Content)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return client.CopyToContainerResult{}, nil
		}
		if err != nil {
			return client.CopyToContainerResult{}, err
		}
		f.entries[h.Name] = h
		if h.Typeflag == tar.TypeReg {
			if f.data, err = io.ReadAll(tr); err != nil {
				return client.CopyToContainerResult{}, err
			}
		}
	}
}

// TestCopyToContainer sends /skiff/ and /skiff/skiff-agent (0755) with the
// binary's bytes, unpacked at / by the Engine.
func TestCopyToContainer(t *testing.T) {
	t.Parallel()
	bin := buildAgent(t)
	want, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeCopier{}
	if err := CopyToContainer(t.Context(), f, "web", bin); err != nil {
		t.Fatal(err)
	}
	if f.container != "web" || f.dest != "/" {
		t.Errorf("copied into %q at %q; want web at /", f.container, f.dest)
	}
	dir, file := f.entries["skiff/"], f.entries["skiff/skiff-agent"]
	if len(f.entries) != 2 || dir == nil || dir.Typeflag != tar.TypeDir || file == nil || file.Mode != 0o755 {
		t.Errorf("tar entries %v; want the directory skiff/ and skiff/skiff-agent 0755", f.entries)
	}
	if string(f.data) != string(want) {
		t.Errorf("copied %d bytes; want the agent's %d", len(f.data), len(want))
	}
}

func TestCopyToContainerErrors(t *testing.T) {
	t.Parallel()
	bin := buildAgent(t)
	script := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, binary string
		err          error
		want         string
	}{
		{"missing binary", filepath.Join(t.TempDir(), "missing"), nil, "reading skiff-agent to copy it into container web"},
		{"not an executable", script, nil, "is not a Linux executable"},
		{"no such container", bin, cerrdefs.ErrNotFound.WithMessage("No such container: web"), "container web: the container does not exist"},
		{"engine fails", bin, errors.New("boom"), "copying skiff-agent into container web at /skiff/skiff-agent: boom; check that the Docker Engine runs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CopyToContainer(t.Context(), &fakeCopier{err: tc.err}, "web", tc.binary)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CopyToContainer() = %v; want an error containing %q", err, tc.want)
			}
		})
	}
}
