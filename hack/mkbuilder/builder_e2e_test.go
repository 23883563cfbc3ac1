//go:build e2e

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"skiff.dev/skiff/internal/docker"
	"skiff.dev/skiff/internal/testutil"
)

// TestBuilder makes the builder (as make builder does) and, without skiff's
// CNB platform, runs the lifecycle's creator from it on Docker for the two
// example apps: a cold build, a rebuild with no change, a rebuild after a
// one-line change, each exported to the local registry; each image must
// answer on loopback. It logs how long each build took. It also checks the
// failures a user meets: an app no buildpack detects and a Go app that
// does not compile.
func TestBuilder(t *testing.T) {
	ctx := t.Context()
	registry := os.Getenv("SKIFF_LOCAL_REGISTRY")
	if registry == "" {
		registry = "127.0.0.1:5001"
	}
	var log bytes.Buffer
	o := options{
		repo: "../..", cache: "/var/cache/skiff/builder", registry: registry, prefix: "skiff",
		goroot: "/usr/local/go", nodeBin: "/usr/bin/node", nodeLib: "/usr/lib/node_modules",
		buildpacks: defaultBuildpacks, order: defaultOrder, out: &log,
	}
	start := time.Now()
	if err := run(ctx, o); err != nil {
		t.Fatalf("make builder: %v\n%s", err, log.String())
	}
	t.Logf("make builder took %.1fs:\n%s", time.Since(start).Seconds(), log.String())

	cli, err := docker.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	if err := docker.Ping(ctx, cli); err != nil {
		t.Fatal(err)
	}
	builder := registry + "/skiff/builder:latest"
	pull(t, cli, builder)
	suffix := fmt.Sprint(time.Now().UnixNano())

	apps := []struct {
		name, dir, file, port, before, after string
	}{
		{"go", "../../examples/buildpacks", "main.go", "8080", "Hello, World!", "Hello, moon!"},
		{"node", "../../examples/buildpacks-node", "server.js", "3000", "Hello from Node.js!", "Hello again from Node.js!"},
	}
	for _, app := range apps {
		t.Run(app.name, func(t *testing.T) {
			dir := appCopy(t, app.dir)
			image := fmt.Sprintf("%s/skiff-e2e/buildpacks-%s:%s", registry, app.name, suffix)
			b := creatorRun{cli: cli, builder: builder, app: dir, cache: cacheVolume(t, cli, "skiff-e2e-bp-"+app.name+"-"+suffix), image: image}

			cold := b.build(t, true)
			answers(t, cli, image, app.port, app.before)
			warm := b.build(t, true)
			if !strings.Contains(warm.out, "Reusing layer 'skiff/") || strings.Contains(warm.out, "Adding layer 'skiff/") {
				t.Errorf("a rebuild with no change re-created a buildpack layer instead of reusing it:\n%s", warm.out)
			}
			edit(t, filepath.Join(dir, app.file), app.before, app.after)
			changed := b.build(t, true)
			answers(t, cli, image, app.port, app.after)
			t.Logf("creator, exported to %s: cold %.2fs, no change %.2fs, one-line change %.2fs", registry, cold.took.Seconds(), warm.took.Seconds(), changed.took.Seconds())

			if app.name == "go" {
				// skaffold debug's flags, as a platform passes build
				// environment: a file in <platform>/env.
				b.platformEnv = map[string]string{"GOOGLE_GOGCFLAGS": "all=-N -l"}
				debug := b.build(t, true)
				if !strings.Contains(debug.out, `-gcflags all=-N\ -l`) || strings.Contains(debug.out, "-trimpath") {
					t.Errorf("GOOGLE_GOGCFLAGS from the platform's env did not become the build's -gcflags:\n%s", debug.out)
				}
				answers(t, cli, image, app.port, app.after)
				t.Logf("debug build (GOOGLE_GOGCFLAGS=all=-N -l): %.2fs", debug.took.Seconds())
			}
		})
	}

	t.Run("no buildpack detects", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "README"), []byte("neither go.mod nor package.json\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		chownCNB(t, dir)
		b := creatorRun{cli: cli, builder: builder, app: dir, cache: cacheVolume(t, cli, "skiff-e2e-bp-none-"+suffix), image: registry + "/skiff-e2e/buildpacks-none:" + suffix}
		r := b.build(t, false)
		for _, want := range []string{"skiff/go", "skiff/nodejs", "No buildpack groups passed detection"} {
			if !strings.Contains(r.out, want) {
				t.Errorf("the output does not say %q:\n%s", want, r.out)
			}
		}
	})

	t.Run("go does not compile", func(t *testing.T) {
		dir := appCopy(t, "../../examples/buildpacks")
		edit(t, filepath.Join(dir, "main.go"), "func main() {", "func main() { undefinedName()")
		b := creatorRun{cli: cli, builder: builder, app: dir, cache: cacheVolume(t, cli, "skiff-e2e-bp-broken-"+suffix), image: registry + "/skiff-e2e/buildpacks-broken:" + suffix}
		r := b.build(t, false)
		for _, want := range []string{"undefined: undefinedName", "skiff/go: go build failed"} {
			if !strings.Contains(r.out, want) {
				t.Errorf("the output does not say %q:\n%s", want, r.out)
			}
		}
	})
}

// creatorRun runs the lifecycle's creator from builder on app, with a
// cache volume, exporting image to its registry: the trusted-builder flow.
type creatorRun struct {
	cli                        *client.Client
	builder, app, cache, image string
	platformEnv                map[string]string // files of <platform>/env
}

type buildResult struct {
	out  string
	took time.Duration
}

// build runs one build, from creating the container to its exit, and
// checks that it succeeded (or, with ok false, failed).
func (b creatorRun) build(t *testing.T, ok bool) buildResult {
	t.Helper()
	ctx := t.Context()
	binds := []string{b.app + ":/workspace", b.cache + ":/cache"}
	if len(b.platformEnv) > 0 {
		platform := t.TempDir()
		if err := os.Mkdir(filepath.Join(platform, "env"), 0o755); err != nil {
			t.Fatal(err)
		}
		for k, v := range b.platformEnv {
			if err := os.WriteFile(filepath.Join(platform, "env", k), []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		binds = append(binds, platform+":/platform:ro")
	}
	start := time.Now()
	res, err := b.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{
			Image: b.builder,
			User:  "root", // creator drops to CNB_USER_ID for detect and build
			Env:   []string{"CNB_PLATFORM_API=0.15"},
			Cmd:   []string{"/cnb/lifecycle/creator", "-app", "/workspace", "-cache-dir", "/cache", "-log-level", "info", b.image},
		},
		HostConfig: &container.HostConfig{
			// The registry listens on the machine's loopback.
			NetworkMode: "host",
			Binds:       binds,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.cli.ContainerRemove(context.WithoutCancel(ctx), res.ID, client.ContainerRemoveOptions{Force: true})
	wait := b.cli.ContainerWait(ctx, res.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := b.cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	var code int64
	select {
	case w := <-wait.Result:
		code = w.StatusCode
	case err := <-wait.Error:
		t.Fatal(err)
	}
	took := time.Since(start)
	out := containerOutput(t, b.cli, res.ID)
	if ok && code != 0 {
		t.Fatalf("creator exited with %d:\n%s", code, out)
	}
	if !ok && code == 0 {
		t.Fatalf("creator succeeded, want a failure:\n%s", out)
	}
	return buildResult{out: out, took: took}
}

func containerOutput(t *testing.T, cli *client.Client, id string) string {
	t.Helper()
	rc, err := cli.ContainerLogs(t.Context(), id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := stdcopy.StdCopy(&buf, &buf, rc); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// answers runs image with port published on loopback and waits until it
// answers GET / with a body that contains want.
func answers(t *testing.T, cli *client.Client, image, port, want string) {
	t.Helper()
	ctx := t.Context()
	pull(t, cli, image)
	defer cli.ImageRemove(context.WithoutCancel(ctx), image, client.ImageRemoveOptions{Force: true})
	hostPort := testutil.FreePort(t)
	p, err := network.ParsePort(port + "/tcp")
	if err != nil {
		t.Fatal(err)
	}
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: image, ExposedPorts: network.PortSet{p: {}}},
		HostConfig: &container.HostConfig{PortBindings: network.PortMap{
			p: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: fmt.Sprint(hostPort)}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.ContainerRemove(context.WithoutCancel(ctx), res.ID, client.ContainerRemoveOptions{Force: true})
	if _, err := cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", hostPort)
	testutil.WaitFor(t, 30*time.Second, image+" to answer on "+url, func(ctx context.Context) (bool, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			return false, fmt.Sprintf("%s: %q", resp.Status, body)
		}
		return true, ""
	})
}

func pull(t *testing.T, cli *client.Client, ref string) {
	t.Helper()
	res, err := cli.ImagePull(t.Context(), ref, client.ImagePullOptions{})
	if err == nil {
		err = res.Wait(t.Context())
		res.Close()
	}
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
}

// cacheVolume creates a Docker volume for the build cache and removes it
// when the test ends.
func cacheVolume(t *testing.T, cli *client.Client, name string) string {
	t.Helper()
	if _, err := cli.VolumeCreate(t.Context(), client.VolumeCreateOptions{Name: name}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := cli.VolumeRemove(context.Background(), name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("removing volume %s: %v", name, err)
		}
	})
	return name
}

// appCopy copies an example app to a directory the cnb user owns.
func appCopy(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	chownCNB(t, dir)
	return dir
}

// chownCNB gives dir and everything in it to the cnb user, which the
// lifecycle builds as.
func chownCNB(t *testing.T, dir string) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, cnbUID, cnbGID)
	})
	if err != nil {
		t.Fatalf("the app must belong to the cnb user (uid %d): %v (run the e2e tests as root)", cnbUID, err)
	}
}

func edit(t *testing.T, file, old, new string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	if err := os.WriteFile(file, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}
