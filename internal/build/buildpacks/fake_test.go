package buildpacks

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"path"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// fakeDocker is a Docker Engine whose containers print what the test
// scripted for their lifecycle phase, exit with its code and hold its
// files.
type fakeDocker struct {
	mu sync.Mutex
	// images by reference or ID.
	images map[string]client.ImageInspectResult
	// pullable are the references a pull succeeds for (they become
	// images).
	pullable map[string]client.ImageInspectResult
	pulls    []string
	// scripts by phase name (the lifecycle binary run).
	scripts map[string]fakeScript

	created    []fakeContainer
	copied     map[string][]*tar.Header // container ID -> entries copied in
	copiedData map[string]map[string]string
	removedVol []string
	removed    []string
	loaded     []string
	started    []string
}

type fakeScript struct {
	out   string
	code  int
	files map[string]string
	// hang makes the container run until the build is cancelled.
	hang bool
}

type fakeContainer struct {
	id    string
	phase string
	opts  client.ContainerCreateOptions
}

func newFakeDocker() *fakeDocker {
	return &fakeDocker{
		images:     map[string]client.ImageInspectResult{},
		pullable:   map[string]client.ImageInspectResult{},
		scripts:    map[string]fakeScript{},
		copied:     map[string][]*tar.Header{},
		copiedData: map[string]map[string]string{},
	}
}

func (f *fakeDocker) addImage(refs []string, res client.ImageInspectResult) {
	for _, r := range refs {
		f.images[r] = res
	}
	f.images[res.ID] = res
}

func (f *fakeDocker) container(id string) fakeContainer {
	for _, c := range f.created {
		if c.id == id {
			return c
		}
	}
	return fakeContainer{}
}

// phases are the phases started, in order.
func (f *fakeDocker) phases() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.started...)
}

// byPhase finds the container of a phase.
func (f *fakeDocker) byPhase(phase string) fakeContainer {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.created {
		if c.phase == phase {
			return c
		}
	}
	return fakeContainer{}
}

func (f *fakeDocker) DaemonHost() string { return "unix:///fake/docker.sock" }

func (f *fakeDocker) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if res, ok := f.images[ref]; ok {
		return res, nil
	}
	return client.ImageInspectResult{}, cerrdefs.ErrNotFound.WithMessage("No such image: " + ref)
}

type fakePull struct{ io.ReadCloser }

func (fakePull) JSONMessages(context.Context) iter.Seq2[jsonstream.Message, error] {
	return func(func(jsonstream.Message, error) bool) {}
}
func (fakePull) Wait(context.Context) error { return nil }

func (f *fakeDocker) ImagePull(_ context.Context, ref string, _ client.ImagePullOptions) (client.ImagePullResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pulls = append(f.pulls, ref)
	res, ok := f.pullable[ref]
	if !ok {
		return nil, errors.New("Get \"https://example.invalid/v2/\": dial tcp: lookup example.invalid: no such host")
	}
	f.images[ref] = res
	return fakePull{io.NopCloser(strings.NewReader(""))}, nil
}

func (f *fakeDocker) ImageLoad(_ context.Context, input io.Reader, _ ...client.ImageLoadOption) (client.ImageLoadResult, error) {
	tr := tar.NewReader(input)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Name != "manifest.json" {
			continue
		}
		var m []struct {
			Config   string
			RepoTags []string
		}
		if err := json.NewDecoder(tr).Decode(&m); err != nil {
			return nil, err
		}
		f.mu.Lock()
		for _, e := range m {
			id := "sha256:" + strings.TrimPrefix(path.Base(e.Config), "sha256:")
			for _, t := range e.RepoTags {
				f.loaded = append(f.loaded, t)
				f.images[t] = client.ImageInspectResult{}
				r := f.images[t]
				r.ID = id
				f.images[t] = r
			}
		}
		f.mu.Unlock()
	}
	return io.NopCloser(strings.NewReader("")), nil
}

func (f *fakeDocker) ImagePush(context.Context, string, client.ImagePushOptions) (client.ImagePushResponse, error) {
	return nil, errors.New("the fake does not push")
}

func (f *fakeDocker) ImageTag(context.Context, client.ImageTagOptions) (client.ImageTagResult, error) {
	return client.ImageTagResult{}, errors.New("the fake does not tag")
}

func (f *fakeDocker) ContainerCreate(_ context.Context, opts client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.images[opts.Config.Image]; !ok {
		return client.ContainerCreateResult{}, cerrdefs.ErrNotFound.WithMessage("No such image: " + opts.Config.Image)
	}
	id := fmt.Sprintf("c%d", len(f.created)+1)
	f.created = append(f.created, fakeContainer{id: id, phase: path.Base(opts.Config.Cmd[0]), opts: opts})
	return client.ContainerCreateResult{ID: id}, nil
}

func (f *fakeDocker) CopyToContainer(_ context.Context, id string, opts client.CopyToContainerOptions) (client.CopyToContainerResult, error) {
	tr := tar.NewReader(opts.Content)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return client.CopyToContainerResult{}, nil
		}
		if err != nil {
			return client.CopyToContainerResult{}, err
		}
		data, _ := io.ReadAll(tr)
		f.mu.Lock()
		f.copied[id] = append(f.copied[id], h)
		if f.copiedData[id] == nil {
			f.copiedData[id] = map[string]string{}
		}
		f.copiedData[id][h.Name] = string(data)
		f.mu.Unlock()
	}
}

func (f *fakeDocker) CopyFromContainer(_ context.Context, id string, opts client.CopyFromContainerOptions) (client.CopyFromContainerResult, error) {
	f.mu.Lock()
	c := f.container(id)
	f.mu.Unlock()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if c.phase == "lifecycle" && opts.SourcePath == "/cnb/lifecycle" {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "lifecycle/", Mode: 0o755})
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "lifecycle/lifecycle", Mode: 0o755, Size: 4})
		tw.Write([]byte("\x7fELF"))
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "lifecycle/exporter", Linkname: "lifecycle"})
	} else if c.phase == "lifecycle" && opts.SourcePath == "/cnb/run.toml" {
		data := "[[images]]\n  image = \"" + testRun + "\"\n"
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "run.toml", Mode: 0o644, Size: int64(len(data))})
		tw.Write([]byte(data))
	} else {
		data, ok := f.scripts[c.phase].files[opts.SourcePath]
		if !ok {
			return client.CopyFromContainerResult{}, cerrdefs.ErrNotFound.WithMessage("Could not find the file " + opts.SourcePath)
		}
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: path.Base(opts.SourcePath), Mode: 0o644, Size: int64(len(data))})
		tw.Write([]byte(data))
	}
	tw.Close()
	return client.CopyFromContainerResult{Content: io.NopCloser(&buf)}, nil
}

func (f *fakeDocker) ContainerAttach(_ context.Context, id string, _ client.ContainerAttachOptions) (client.ContainerAttachResult, error) {
	f.mu.Lock()
	s := f.scripts[f.container(id).phase]
	f.mu.Unlock()
	// One stdout frame of the multiplexed stream: stream 1, big-endian
	// length, payload.
	var buf bytes.Buffer
	buf.Write([]byte{1, 0, 0, 0})
	binary.Write(&buf, binary.BigEndian, uint32(len(s.out)))
	buf.WriteString(s.out)
	conn, other := net.Pipe()
	other.Close()
	return client.ContainerAttachResult{HijackedResponse: client.HijackedResponse{Conn: conn, Reader: bufio.NewReader(&buf)}}, nil
}

func (f *fakeDocker) ContainerStart(_ context.Context, id string, _ client.ContainerStartOptions) (client.ContainerStartResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = append(f.started, f.container(id).phase)
	return client.ContainerStartResult{}, nil
}

func (f *fakeDocker) ContainerWait(_ context.Context, id string, _ client.ContainerWaitOptions) client.ContainerWaitResult {
	f.mu.Lock()
	s := f.scripts[f.container(id).phase]
	f.mu.Unlock()
	res := make(chan container.WaitResponse, 1)
	if !s.hang {
		res <- container.WaitResponse{StatusCode: int64(s.code)}
	}
	return client.ContainerWaitResult{Result: res, Error: make(chan error)}
}

func (f *fakeDocker) ContainerRemove(_ context.Context, id string, _ client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, id)
	return client.ContainerRemoveResult{}, nil
}

func (f *fakeDocker) VolumeRemove(_ context.Context, id string, _ client.VolumeRemoveOptions) (client.VolumeRemoveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removedVol = append(f.removedVol, id)
	return client.VolumeRemoveResult{}, nil
}
