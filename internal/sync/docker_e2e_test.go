//go:build e2e

package sync_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"skiff.dev/skiff/internal/docker"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/sync/deliver"
	"skiff.dev/skiff/internal/testutil"
)

// TestDockerE2E syncs into containers of the local Docker Engine, as the
// docker deployer runs them. In a FROM scratch image (no tar, no shell) it
// copies skiff-agent in with deliver.CopyToContainer and syncs a new file,
// an overwrite, a nested file and a deletion through AgentTransport over
// DockerExecutor, checked over HTTP on a loopback port binding; there
// TarTransport fails with ErrNoTar. In an image with busybox, TarTransport
// syncs the same way. A removed or stopped container is ErrUnavailable.
func TestDockerE2E(t *testing.T) {
	cli, err := docker.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	if err := docker.Ping(t.Context(), cli); err != nil {
		t.Fatalf("%v (hack/cluster.sh up starts one)", err)
	}
	server, err := os.ReadFile(goBuildStatic(t, "server", agentAppServer))
	if err != nil {
		t.Fatal(err)
	}
	agent := goBuildStatic(t, "skiff.dev/skiff/cmd/skiff-agent", "")
	ex := sync.NewDockerExecutor(cli)
	suffix := fmt.Sprint(time.Now().UnixNano())

	t.Run("FROM scratch through the agent", func(t *testing.T) {
		img := buildDockerImage(t, cli, "skiff-e2e-docker-scratch:"+suffix, "FROM scratch\n", map[string][]byte{"server": server})
		name, addr := runDockerContainer(t, cli, img, "skiff-e2e-scratch-"+suffix)
		target := sync.DockerTarget(name)
		checkServed(t, addr, map[string]string{"/hello.txt": "v1\n", "/old.txt": "old\n", "/new.txt": ""})
		tr := &sync.AgentTransport{Exec: ex}
		local := t.TempDir()

		err := tr.Sync(t.Context(), target, []sync.Op{dockerOp(t, local, "x.txt", "x\n")})
		t.Logf("before delivery: %v", err)
		if !errors.Is(err, sync.ErrNoAgent) {
			t.Errorf("agent sync before the agent is copied in: %v; want ErrNoAgent", err)
		}
		start := time.Now()
		if err := deliver.CopyToContainer(t.Context(), cli, name, agent); err != nil {
			t.Fatal(err)
		}
		t.Logf("CopyToContainer: %v", time.Since(start))

		ops := []sync.Op{
			dockerOp(t, local, "new.txt", "new\n"),
			dockerOp(t, local, "hello.txt", "v2\n"),
			dockerOp(t, local, "a/b/c.txt", "nested\n"),
			{Kind: sync.Delete, Local: filepath.Join(local, "old.txt"), Base: local, Dest: "/app/old.txt", Root: "/app"},
		}
		if err := tr.Sync(t.Context(), target, ops); err != nil {
			t.Fatal(err)
		}
		checkServed(t, addr, map[string]string{"/hello.txt": "v2\n", "/new.txt": "new\n", "/a/b/c.txt": "nested\n", "/keep.txt": "keep\n", "/old.txt": ""})

		err = (&sync.TarTransport{Exec: ex}).Sync(t.Context(), target, ops[:1])
		t.Logf("tar: %v", err)
		if !errors.Is(err, sync.ErrNoTar) {
			t.Errorf("tar sync into a FROM scratch container: %v; want ErrNoTar", err)
		}
		timeTwoFiles(t, tr, target, addr, "AgentTransport")
	})

	t.Run("busybox through tar", func(t *testing.T) {
		bb, err := os.ReadFile("/bin/busybox")
		if err != nil {
			t.Fatalf("%v: install busybox-static", err)
		}
		img := buildDockerImage(t, cli, "skiff-e2e-docker-busybox:"+suffix,
			"FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
			map[string][]byte{"server": server, "busybox": bb})
		name, addr := runDockerContainer(t, cli, img, "skiff-e2e-busybox-"+suffix)
		target := sync.DockerTarget(name)
		tr := &sync.TarTransport{Exec: ex}
		local := t.TempDir()
		ops := []sync.Op{
			dockerOp(t, local, "new.txt", "new\n"),
			dockerOp(t, local, "hello.txt", "v2\n"),
			dockerOp(t, local, "a/b/c.txt", "nested\n"),
			{Kind: sync.Delete, Local: filepath.Join(local, "old.txt"), Base: local, Dest: "/app/old.txt", Root: "/app"},
		}
		if err := tr.Sync(t.Context(), target, ops); err != nil {
			t.Fatal(err)
		}
		checkServed(t, addr, map[string]string{"/hello.txt": "v2\n", "/new.txt": "new\n", "/a/b/c.txt": "nested\n", "/keep.txt": "keep\n", "/old.txt": ""})
		timeTwoFiles(t, tr, target, addr, "TarTransport")

		var out, stderr bytes.Buffer
		err = ex.Exec(t.Context(), target, []string{"sh", "-c", "cat; echo oops >&2; exit 3"}, strings.NewReader("in\n"), &out, &stderr)
		var ee *sync.ExitError
		if !errors.As(err, &ee) || ee.Code != 3 || out.String() != "in\n" || stderr.String() != "oops\n" {
			t.Errorf("exec sh -c ...: %v, stdout %q, stderr %q; want exit code 3, \"in\\n\", \"oops\\n\"", err, out.String(), stderr.String())
		}

		timeout := 0
		if _, err := cli.ContainerStop(t.Context(), name, client.ContainerStopOptions{Timeout: &timeout}); err != nil {
			t.Fatal(err)
		}
		err = tr.Sync(t.Context(), target, ops[:1])
		t.Logf("stopped: %v", err)
		if !errors.Is(err, sync.ErrUnavailable) || !strings.Contains(err.Error(), name) {
			t.Errorf("sync to a stopped container: %v; want ErrUnavailable naming it", err)
		}
	})

	t.Run("no such container", func(t *testing.T) {
		gone := sync.DockerTarget("skiff-e2e-gone-" + suffix)
		err := ex.Exec(t.Context(), gone, []string{"true"}, nil, io.Discard, io.Discard)
		t.Logf("missing: %v", err)
		if !errors.Is(err, sync.ErrUnavailable) || !strings.Contains(err.Error(), gone.Container) {
			t.Errorf("exec in a missing container: %v; want ErrUnavailable naming it", err)
		}
		err = (&sync.AgentTransport{Exec: ex}).Sync(t.Context(), gone, []sync.Op{dockerOp(t, t.TempDir(), "x.txt", "x\n")})
		if err == nil || !strings.Contains(err.Error(), gone.Container+" does not exist") {
			t.Errorf("agent sync to a missing container: %v; want it to say the container does not exist", err)
		}
	})
}

// dockerOp writes content to rel under local and returns the Write of it
// to /app/rel.
func dockerOp(t *testing.T, local, rel, content string) sync.Op {
	t.Helper()
	p := filepath.Join(local, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return sync.Op{Kind: sync.Write, Local: p, Base: local, Dest: "/app/" + rel, Root: "/app"}
}

// timeTwoFiles times 5 syncs of 2 files through tr and logs them.
func timeTwoFiles(t *testing.T, tr sync.Transport, target sync.Target, addr, what string) {
	t.Helper()
	local := t.TempDir()
	var times []time.Duration
	for i := range 5 {
		two := []sync.Op{dockerOp(t, local, "t1.txt", fmt.Sprintf("one %d\n", i)), dockerOp(t, local, "t2.txt", fmt.Sprintf("two %d\n", i))}
		start := time.Now()
		if err := tr.Sync(t.Context(), target, two); err != nil {
			t.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	sorted := slices.Clone(times)
	slices.Sort(sorted)
	t.Logf("%s sync of 2 files to one container: first %v, median of %d %v (sorted: %v)", what, times[0], len(sorted), sorted[len(sorted)/2], sorted)
	checkServed(t, addr, map[string]string{"/t1.txt": "one 4\n", "/t2.txt": "two 4\n"})
}

// buildDockerImage builds an image tagged ref with the Engine from the
// Dockerfile head followed by the file server and /app/{hello,old,keep}.txt,
// with files in the context, and removes it when the test ends.
func buildDockerImage(t *testing.T, cli *client.Client, ref, head string, files map[string][]byte) string {
	t.Helper()
	dockerfile := head + "COPY server /server\nCOPY app /app\nENTRYPOINT [\"/server\"]\n"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, mode int64, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	add("Dockerfile", 0o644, []byte(dockerfile))
	for name, data := range files {
		add(name, 0o755, data)
	}
	add("app/hello.txt", 0o644, []byte("v1\n"))
	add("app/old.txt", 0o644, []byte("old\n"))
	add("app/keep.txt", 0o644, []byte("keep\n"))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	res, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{Tags: []string{ref}, Remove: true, ForceRemove: true, Version: build.BuilderV1})
	if err != nil {
		t.Fatalf("docker build %s: %v", ref, err)
	}
	var log strings.Builder
	dec := json.NewDecoder(res.Body)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("docker build %s: %v", ref, err)
		}
		log.WriteString(m.Stream)
		if m.Error != nil {
			t.Fatalf("docker build %s: %s\n%s", ref, m.Error.Message, log.String())
		}
	}
	res.Body.Close()
	t.Cleanup(func() {
		if _, err := cli.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
			t.Errorf("removing image %s: %v", ref, err)
		}
	})
	return ref
}

// runDockerContainer runs img as a container called name, its port 8080
// published on a free loopback port, waits until it serves and returns
// its name and address. The container is removed when the test ends.
func runDockerContainer(t *testing.T, cli *client.Client, img, name string) (string, string) {
	t.Helper()
	port := network.MustParsePort("8080/tcp")
	res, err := cli.ContainerCreate(t.Context(), client.ContainerCreateOptions{
		Name:   name,
		Config: &container.Config{Image: img, ExposedPorts: network.PortSet{port: {}}},
		HostConfig: &container.HostConfig{PortBindings: network.PortMap{
			port: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "0"}},
		}},
	})
	if err != nil {
		t.Fatalf("creating container %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := cli.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Errorf("removing container %s: %v", name, err)
		}
	})
	if _, err := cli.ContainerStart(t.Context(), res.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("starting container %s: %v", name, err)
	}
	in, err := cli.ContainerInspect(t.Context(), res.ID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bs := in.Container.NetworkSettings.Ports[port]
	if len(bs) == 0 {
		t.Fatalf("container %s publishes no port for %s: %+v", name, port, in.Container.NetworkSettings.Ports)
	}
	addr := "127.0.0.1:" + bs[0].HostPort
	testutil.WaitFor(t, 30*time.Second, "container "+name+" serving on "+addr, func(ctx context.Context) (bool, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/keep.txt", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return name, addr
}
