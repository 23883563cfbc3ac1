//go:build e2e

package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/testutil"

	"skiff.dev/skiff/internal/kube"
)

// The deployer against the real Docker Engine (hack/cluster.sh up starts
// one). The images are FROM scratch with testdata/server, built with the
// classic builder: nothing is pulled from Docker Hub.

// newDockerE2E connects to the daemon DOCKER_HOST names.
func newDockerE2E(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatalf("connecting to the Docker Engine: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		t.Fatalf("the Docker Engine does not answer (hack/cluster.sh up starts one): %v", err)
	}
	return cli
}

// serverBinary builds testdata/server as a static Linux binary.
func serverBinary(t *testing.T) []byte {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "server")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./testdata/server")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/server: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// buildImage builds a FROM scratch image with the server as /app and the
// Dockerfile lines extra, tags it ref and removes it when the test ends.
func buildImage(t *testing.T, cli *client.Client, server []byte, ref, extra string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{
		{"Dockerfile", 0o644, []byte("FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n" + extra)},
		{"app", 0o755, server},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{Tags: []string{ref}, Remove: true, ForceRemove: true, Version: build.BuilderV1})
	if err != nil {
		t.Fatalf("docker build %s: %v", ref, err)
	}
	err = readMessages(res.Body, nil)
	res.Body.Close()
	if err != nil {
		t.Fatalf("docker build %s: %v", ref, err)
	}
	t.Cleanup(func() { removeImage(t, cli, ref) })
}

func removeImage(t *testing.T, cli *client.Client, ref string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil && !cerrdefs.IsNotFound(err) {
		t.Errorf("removing image %s: %v", ref, err)
	}
}

// readMessages reads a JSON message stream to its end and returns the
// first error it reports.
func readMessages(r io.Reader, each func(jsonstream.Message)) error {
	dec := json.NewDecoder(r)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if m.Error != nil {
			return m.Error
		}
		if each != nil {
			each(m)
		}
	}
}

// suffix is a random name part, so that tests never share names.
func suffix(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// project is a deployer for a fresh project, whose containers and network
// are deleted when the test ends.
type project struct {
	name string
	out  *testutil.Buffer
	d    *Deployer
	cli  *client.Client
}

func newProject(t *testing.T, cli *client.Client, forwards ...schema.PortForwardResource) *project {
	p := &project{name: "e2e-" + suffix(t), out: &testutil.Buffer{}, cli: cli}
	p.d = New(cli, Options{Project: p.name, RunID: "run-" + suffix(t), PortForwards: forwards, Out: p.out})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := New(cli, Options{Project: p.name}).Delete(ctx); err != nil {
			t.Errorf("cleaning up project %s: %v", p.name, err)
		}
	})
	return p
}

func (p *project) deploy(t *testing.T, images ...artifact.Image) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var names []string
	for _, im := range images {
		names = append(names, im.Name)
	}
	return p.d.Deploy(ctx, &schema.DockerDeploy{Images: names}, images)
}

// containers returns the IDs of the project's containers, by name.
func (p *project) containers(t *testing.T) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := p.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", kube.ProjectLabel+"="+p.name)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range res.Items {
		out[summaryName(c)] = c.ID
	}
	return out
}

func (p *project) networks(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := p.cli.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("label", kube.ProjectLabel+"="+p.name)})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range res.Items {
		out = append(out, n.Name)
	}
	return out
}

// get returns the body of http://127.0.0.1:port/.
func get(t *testing.T, port int) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	var last error
	// The server may take a moment to listen after its container starts.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
		if err != nil {
			last = err
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode == http.StatusOK {
			return string(b)
		}
		last = err
	}
	t.Fatalf("GET http://127.0.0.1:%d/: %v", port, last)
	return ""
}

// waitFor waits until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func webForward(local int) schema.PortForwardResource {
	return schema.PortForwardResource{Type: "container", Name: "web", Port: schema.FromInt(8080), LocalPort: local}
}

func TestDeployE2ELifecycle(t *testing.T) {
	cli := newDockerE2E(t)
	server := serverBinary(t)
	repo := "skiff-e2e-deploy-" + suffix(t)
	buildImage(t, cli, server, repo+":v1", "ENV GREETING=v1\n")
	buildImage(t, cli, server, repo+":v2", "ENV GREETING=v2\n")
	port := testutil.FreePort(t)
	p := newProject(t, cli, webForward(port))

	if err := p.deploy(t, artifact.Image{Name: "web", Ref: repo + ":v1"}); err != nil {
		t.Fatalf("first deploy: %v\n%s", err, p.out)
	}
	for _, want := range []string{" - container web started\n", "Port forwarding container web, remote port 8080 -> http://127.0.0.1:" + strconv.Itoa(port) + "\n"} {
		if !strings.Contains(p.out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, p.out)
		}
	}
	if got := get(t, port); got != "hello from v1\n" {
		t.Errorf("the container answers %q, want hello from v1 (the image's ENV)", got)
	}
	first := p.containers(t)
	if len(first) != 1 || first["web"] == "" {
		t.Fatalf("the project's containers are %v, want one named web", first)
	}
	if nets := p.networks(t); len(nets) != 1 || nets[0] != "skiff-"+p.name {
		t.Errorf("the project's networks are %v, want [skiff-%s]", nets, p.name)
	}

	// The same image again: the container stays.
	if err := p.deploy(t, artifact.Image{Name: "web", Ref: repo + ":v1"}); err != nil {
		t.Fatalf("unchanged deploy: %v\n%s", err, p.out)
	}
	if !strings.Contains(p.out.String(), " - container web unchanged\n") {
		t.Errorf("output lacks the unchanged line:\n%s", p.out)
	}
	if got := p.containers(t); got["web"] != first["web"] || len(got) != 1 {
		t.Errorf("an unchanged deploy replaced the container: %v, was %v", got, first)
	}

	logsCtx, stopLogs := context.WithCancel(context.Background())
	defer stopLogs()
	logs := &testutil.Buffer{}
	logsDone := make(chan error, 1)
	go func() { logsDone <- p.d.Logs(logsCtx, logs, false) }()
	waitFor(t, "the v1 container's log", func() bool { return strings.Contains(logs.String(), "[web] listening on :8080 (v1)\n") })

	// A new image replaces the container.
	if err := p.deploy(t, artifact.Image{Name: "web", Ref: repo + ":v2"}); err != nil {
		t.Fatalf("second deploy: %v\n%s", err, p.out)
	}
	if got := get(t, port); got != "hello from v2\n" {
		t.Errorf("after the redeploy the container answers %q, want hello from v2", got)
	}
	second := p.containers(t)
	if len(second) != 1 || second["web"] == "" || second["web"] == first["web"] {
		t.Errorf("after the redeploy the containers are %v, want one new web (the old was %s)", second, first["web"])
	}

	// Logs follows the new container too, stdout and stderr.
	for _, want := range []string{"[web] listening on :8080 (v2)\n", "[web] this line goes to stderr\n", "[web] GET /\n"} {
		waitFor(t, "log line "+want, func() bool { return strings.Contains(logs.String(), want) })
	}
	stopLogs()
	select {
	case err := <-logsDone:
		if err != nil {
			t.Errorf("Logs: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Logs did not return after its context ended")
	}
	for _, line := range strings.SplitAfter(logs.String(), "\n") {
		if line != "" && (!strings.HasPrefix(line, "[web] ") || !strings.HasSuffix(line, "\n")) {
			t.Errorf("log line %q is not a whole [web] line", line)
		}
	}

	t.Logf("deploy output:\n%s", p.out)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p.out = &testutil.Buffer{}
	p.d.opts.Out = p.out
	if err := p.d.Delete(ctx); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if want := " - container web deleted\n - network skiff-" + p.name + " deleted\n"; p.out.String() != want {
		t.Errorf("Delete printed %q, want %q", p.out, want)
	}
	if cs, ns := p.containers(t), p.networks(t); len(cs) != 0 || len(ns) != 0 {
		t.Errorf("after Delete the project still has containers %v and networks %v", cs, ns)
	}
}

func TestDeployE2ETakenPort(t *testing.T) {
	cli := newDockerE2E(t)
	ref := "skiff-e2e-deploy-" + suffix(t) + ":v1"
	buildImage(t, cli, serverBinary(t), ref, "ENV GREETING=moved\n")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	p := newProject(t, cli, webForward(taken))

	if err := p.deploy(t, artifact.Image{Name: "web", Ref: ref}); err != nil {
		t.Fatalf("deploy: %v\n%s", err, p.out)
	}
	prefix := "Port forwarding container web, remote port 8080 -> http://127.0.0.1:"
	i := strings.Index(p.out.String(), prefix)
	if i < 0 {
		t.Fatalf("no port forwarding line:\n%s", p.out)
	}
	line, _, _ := strings.Cut(p.out.String()[i+len(prefix):], "\n")
	portText, note, _ := strings.Cut(line, " ")
	port, err := strconv.Atoi(portText)
	if err != nil || port == taken || note != "(local port "+strconv.Itoa(taken)+" is taken)" {
		t.Fatalf("with port %d taken the forward reads %q", taken, line)
	}
	if got := get(t, port); got != "hello from moved\n" {
		t.Errorf("the moved forward answers %q", got)
	}
}

func TestDeployE2EExitsAtOnce(t *testing.T) {
	cli := newDockerE2E(t)
	ref := "skiff-e2e-deploy-" + suffix(t) + ":crash"
	buildImage(t, cli, serverBinary(t), ref, "CMD [\"-crash\"]\n")
	p := newProject(t, cli)

	err := p.deploy(t, artifact.Image{Name: "web", Ref: ref})
	if err == nil {
		t.Fatalf("a container that exits at once deployed:\n%s", p.out)
	}
	t.Logf("the error: %v", err)
	// stdout and stderr are separate streams: the lines may come in either order.
	for _, want := range []string{"container web (image " + ref + ") exited with code 3 right after it started", "    starting up", "    boom: no config file at /etc/app.conf"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
}

func TestDeployE2EHealthcheck(t *testing.T) {
	cli := newDockerE2E(t)
	ref := "skiff-e2e-deploy-" + suffix(t) + ":healthy"
	buildImage(t, cli, serverBinary(t), ref, "ENV GREETING=healthy\nHEALTHCHECK --interval=300ms --timeout=2s --retries=5 CMD [\"/app\", \"-health\"]\n")
	p := newProject(t, cli)

	if err := p.deploy(t, artifact.Image{Name: "web", Ref: ref}); err != nil {
		t.Fatalf("deploy: %v\n%s", err, p.out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := cli.ContainerInspect(ctx, p.containers(t)["web"], client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := res.Container.State.Health; h == nil || h.Status != container.Healthy {
		t.Errorf("Deploy returned before the container was healthy: %+v", h)
	}
}

// TestDeployE2EPull runs an image the daemon has only in the registry
// (the cluster's, on loopback): Deploy pulls it.
func TestDeployE2EPull(t *testing.T) {
	cli := newDockerE2E(t)
	registry := os.Getenv("SKIFF_LOCAL_REGISTRY")
	if registry == "" {
		registry = "127.0.0.1:5001"
	}
	local := "skiff-e2e-deploy-" + suffix(t) + ":pulled"
	buildImage(t, cli, serverBinary(t), local, "ENV GREETING=pulled\n")
	remote := registry + "/skiff-e2e-deploy:" + suffix(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: local, Target: remote}); err != nil {
		t.Fatal(err)
	}
	pushed, err := cli.ImagePush(ctx, remote, client.ImagePushOptions{RegistryAuth: base64.URLEncoding.EncodeToString([]byte("{}"))})
	if err != nil {
		t.Fatalf("docker push %s (is the registry up? hack/cluster.sh up): %v", remote, err)
	}
	var digest string
	err = readMessages(pushed, func(m jsonstream.Message) {
		var aux struct{ Digest string }
		if m.Aux != nil && json.Unmarshal(*m.Aux, &aux) == nil && aux.Digest != "" {
			digest = aux.Digest
		}
	})
	pushed.Close()
	if err != nil || digest == "" {
		t.Fatalf("docker push %s: %v (digest %q)", remote, err, digest)
	}
	// The daemon keeps the image (tagged local) but forgets the registry's
	// names for it, so that it must pull them.
	repo, _, _ := strings.Cut(remote[len(registry):], ":")
	for _, ref := range []string{remote, registry + repo + "@" + digest} {
		if _, err := cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Fatalf("untagging %s: %v", ref, err)
		}
	}
	if _, err := cli.ImageInspect(ctx, registry+repo+"@"+digest); !cerrdefs.IsNotFound(err) {
		t.Fatalf("the daemon still has %s%s@%s (err %v)", registry, repo, digest, err)
	}
	t.Cleanup(func() { removeImage(t, cli, registry+repo+"@"+digest) })
	port := testutil.FreePort(t)
	p := newProject(t, cli, webForward(port))

	if err := p.deploy(t, artifact.Image{Name: "web", Ref: remote + "@" + digest}); err != nil {
		t.Fatalf("deploy: %v\n%s", err, p.out)
	}
	if want := " - pulling " + registry + repo + "@" + digest + "\n"; !strings.Contains(p.out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, p.out)
	}
	if got := get(t, port); got != "hello from pulled\n" {
		t.Errorf("the pulled image answers %q", got)
	}
}
