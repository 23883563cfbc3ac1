package dockerbuild

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// fakeClient is a Docker Engine that records build requests and answers
// them with a recorded message stream.
type fakeClient struct {
	builderVersion build.BuilderVersion
	// stream is the build's answer; buildErr refuses the build instead.
	stream   []byte
	buildErr error
	// images are the images the daemon has, by reference, with their IDs.
	images map[string]string
	// dialErr fails BuildKit sessions; block makes a build wait for its
	// context's end.
	dialErr error
	block   bool

	mu      sync.Mutex
	opts    []client.ImageBuildOptions
	entries []tarEntry
	pulls   []string
}

// tarEntry is one entry of a build context: its name, type, mode and
// content (the target for a symbolic link).
type tarEntry struct {
	name    string
	typ     byte
	mode    int64
	content string
}

func (f *fakeClient) Ping(context.Context, client.PingOptions) (client.PingResult, error) {
	return client.PingResult{APIVersion: "1.41", OSType: "linux", BuilderVersion: f.builderVersion}, nil
}

func (f *fakeClient) ImageBuild(ctx context.Context, r io.Reader, opts client.ImageBuildOptions) (client.ImageBuildResult, error) {
	entries, err := readTar(r)
	if err != nil {
		return client.ImageBuildResult{}, err
	}
	f.mu.Lock()
	f.opts = append(f.opts, opts)
	f.entries = entries
	f.mu.Unlock()
	if f.buildErr != nil {
		return client.ImageBuildResult{}, f.buildErr
	}
	if f.block {
		<-ctx.Done()
		return client.ImageBuildResult{}, ctx.Err()
	}
	return client.ImageBuildResult{Body: io.NopCloser(bytes.NewReader(f.stream))}, nil
}

func (f *fakeClient) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	if id, ok := f.images[ref]; ok {
		return client.ImageInspectResult{InspectResponse: image.InspectResponse{ID: id}}, nil
	}
	return client.ImageInspectResult{}, fmt.Errorf("no such image %s: %w", ref, cerrdefs.ErrNotFound)
}

func (f *fakeClient) ImagePull(_ context.Context, ref string, _ client.ImagePullOptions) (client.ImagePullResponse, error) {
	f.mu.Lock()
	f.pulls = append(f.pulls, ref)
	f.mu.Unlock()
	return failedPull{}, nil
}

// DialHijack accepts a session and ignores what it says.
func (f *fakeClient) DialHijack(context.Context, string, string, map[string][]string) (net.Conn, error) {
	if f.dialErr != nil {
		return nil, f.dialErr
	}
	ours, theirs := net.Pipe()
	go io.Copy(io.Discard, theirs)
	return ours, nil
}

func (f *fakeClient) DaemonHost() string { return "unix:///fake.sock" }

func (f *fakeClient) lastOpts(t *testing.T) client.ImageBuildOptions {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.opts) == 0 {
		t.Fatal("no build was requested")
	}
	return f.opts[len(f.opts)-1]
}

// failedPull is a pull that the registry refused.
type failedPull struct{}

func (failedPull) Read([]byte) (int, error) { return 0, io.EOF }
func (failedPull) Close() error             { return nil }
func (failedPull) JSONMessages(context.Context) iter.Seq2[jsonstream.Message, error] {
	return func(func(jsonstream.Message, error) bool) {}
}
func (failedPull) Wait(context.Context) error {
	return errors.New("dial tcp: lookup registry.example: no such host")
}

func readTar(r io.Reader) ([]tarEntry, error) {
	var out []tarEntry
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		e := tarEntry{name: hdr.Name, typ: hdr.Typeflag, mode: hdr.Mode, content: hdr.Linkname}
		if hdr.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, err
			}
			e.content = string(b)
		}
		if hdr.Uid != 0 || hdr.Gid != 0 {
			return nil, fmt.Errorf("%s is owned by %d:%d, want 0:0", hdr.Name, hdr.Uid, hdr.Gid)
		}
		out = append(out, e)
	}
}

// writeFiles creates files under dir: a name ending in / is a directory,
// content starting with "-> " a symbolic link.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if name[len(name)-1] == '/' {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if len(content) > 3 && content[:3] == "-> " {
			if err := os.Symlink(content[3:], p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
