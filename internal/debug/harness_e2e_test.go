//go:build e2e

package debug_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/debug"
	"skiff.dev/skiff/internal/docker"
	"skiff.dev/skiff/internal/image"
	"skiff.dev/skiff/internal/render"
	"skiff.dev/skiff/internal/testutil"
)

// The end-to-end tests run each runtime's app in a container of the local
// Docker Engine the way a debugged pod runs it, without skiff debug
// itself: the support image (packed by debug.SupportImage from bin/debug,
// which `make build` writes) fills a volume at /dbg as the init container
// does, and the app container runs with the command, args, env and ports
// debug.Transform writes into a Pod for it. Then each test drives the
// debugger over its protocol on a loopback port binding.

// appPort is the port every test app serves HTTP on.
const appPort = 8080

// dockerClient returns a client of the local Engine, or fails saying how
// to start one.
func dockerClient(t *testing.T) *client.Client {
	t.Helper()
	cli, err := docker.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	if err := docker.Ping(t.Context(), cli); err != nil {
		t.Fatalf("%v (hack/cluster.sh up starts one)", err)
	}
	return cli
}

// supportFiles is bin/debug of this checkout, as `make build` writes it.
func supportFiles(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../bin/debug")
	if err != nil {
		t.Fatal(err)
	}
	got, err := debug.FindSupportDir(filepath.Join(filepath.Dir(dir), "skiff"), "")
	if err != nil {
		t.Fatalf("%v (run make build first)", err)
	}
	return got
}

// load loads img into the daemon as repo:<digest prefix> and returns that
// reference; a daemon that has the image already only tags it.
func load(t *testing.T, cli *client.Client, repo string, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref := repo + ":" + d.Hex[:16]
	start := time.Now()
	if _, err := image.Load(t.Context(), cli, ref, img); err != nil {
		t.Fatal(err)
	}
	size := int64(0)
	if layers, err := img.Layers(); err == nil {
		for _, l := range layers {
			if s, err := l.Size(); err == nil {
				size += s
			}
		}
	}
	t.Logf("image %s: %.1f MB compressed, loaded in %v", ref, float64(size)/1e6, time.Since(start).Round(time.Millisecond))
	return ref
}

// installSupport runs rt's support image on a new volume, as the init
// container does on the pod's emptyDir, and returns the volume's name.
// It runs the copy as root: a new Docker volume is root's, mode 0755,
// where Kubernetes' emptyDir is mode 0777.
func installSupport(t *testing.T, cli *client.Client, rt debug.Runtime) string {
	t.Helper()
	img, err := debug.SupportImage(supportFiles(t), rt)
	if err != nil {
		t.Fatal(err)
	}
	ref := load(t, cli, "skiff-e2e-"+debug.SupportRepo(rt), img)
	vol := fmt.Sprintf("skiff-e2e-dbg-%s-%d", rt, time.Now().UnixNano())
	if _, err := cli.VolumeCreate(t.Context(), client.VolumeCreateOptions{Name: vol}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := cli.VolumeRemove(context.Background(), vol, client.VolumeRemoveOptions{Force: true}); err != nil {
			t.Errorf("removing volume %s: %v", vol, err)
		}
	})
	id := create(t, cli, "install-"+string(rt)+"-debug-support", &container.Config{Image: ref, User: "0:0"}, &container.HostConfig{Binds: []string{vol + ":" + debug.SupportMountPath}})
	start(t, cli, id)
	wait := cli.ContainerWait(t.Context(), id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case res := <-wait.Result:
		if res.StatusCode != 0 {
			t.Fatalf("the %s support image's copy exited %d:\n%s", rt, res.StatusCode, logs(t, cli, id))
		}
	case err := <-wait.Error:
		t.Fatal(err)
	}
	return vol
}

// create creates a container named after name (made unique) that is
// removed when the test ends.
func create(t *testing.T, cli *client.Client, name string, cfg *container.Config, hc *container.HostConfig) string {
	t.Helper()
	res, err := cli.ContainerCreate(t.Context(), client.ContainerCreateOptions{Name: fmt.Sprintf("skiff-e2e-%s-%d", name, time.Now().UnixNano()), Config: cfg, HostConfig: hc})
	if err != nil {
		t.Fatalf("creating container %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := cli.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Errorf("removing container %s: %v", name, err)
		}
	})
	return res.ID
}

func start(t *testing.T, cli *client.Client, id string) {
	t.Helper()
	if _, err := cli.ContainerStart(t.Context(), id, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("starting container %s: %v", id, err)
	}
}

// logs returns a container's output, for failure messages.
func logs(t *testing.T, cli *client.Client, id string) string {
	rc, err := cli.ContainerLogs(context.Background(), id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(bytes.Map(func(r rune) rune {
		if r < ' ' && r != '\n' {
			return -1
		}
		return r
	}, b))
}

// debugged is an app container running under its debugger.
type debugged struct {
	id string
	// addr are the loopback addresses of the app's port ("http") and of
	// its debug ports, by name.
	addr map[string]string
	// c is what Transform said of the container.
	c debug.Container
}

// runDebugged transforms a Pod running appRef (with the image config cfg)
// as skiff debug would, installs the support files it needs, and runs its
// container as Kubernetes would run the transformed one: command as the
// entrypoint, args as the cmd, env, the /dbg volume; the app port and the
// debug ports are published on loopback.
func runDebugged(t *testing.T, cli *client.Client, appRef string, runtimeType string, cfg debug.ImageConfig, suspend bool) *debugged {
	t.Helper()
	ms, err := render.Parse("pod.yaml", []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  containers:\n  - name: app\n    image: "+appRef+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	var vol string
	res, err := debug.Transform(ms, []debug.Artifact{{Image: artifact.Image{Name: "app", Ref: appRef}, RuntimeType: runtimeType, Config: cfg}}, debug.Options{
		Suspend: suspend,
		SupportImage: func(rt debug.Runtime) (string, error) {
			vol = installSupport(t, cli, rt)
			return "installed-in-" + vol, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Containers) != 1 {
		t.Fatalf("Transform debugged %d containers (warnings %q); want the app", len(res.Containers), res.Warnings)
	}
	y, _ := render.YAML(ms)
	t.Logf("transformed:\n%s", y)
	spec := ms[0].Object.Object["spec"].(map[string]any)
	c := spec["containers"].([]any)[0].(map[string]any)
	cc := &container.Config{Image: appRef, ExposedPorts: network.PortSet{}}
	hc := &container.HostConfig{PortBindings: network.PortMap{}}
	// cfg is the image's config as Transform sees it; the container gets
	// its entrypoint and cmd where Transform set no command or args, so
	// that one image can stand for images with different commands.
	cc.Entrypoint, cc.Cmd = stringList(c["command"]), stringList(c["args"])
	if _, ok := c["command"]; !ok {
		cc.Entrypoint = cfg.Entrypoint
		if _, ok := c["args"]; !ok {
			cc.Cmd = cfg.Cmd
		}
	}
	if envs, ok := c["env"].([]any); ok {
		for _, e := range envs {
			e := e.(map[string]any)
			cc.Env = append(cc.Env, fmt.Sprintf("%s=%s", e["name"], e["value"]))
		}
	}
	if vol != "" {
		hc.Binds = []string{vol + ":" + debug.SupportMountPath}
	}
	names := map[network.Port]string{}
	publish := func(name string, port int32) {
		p := network.MustParsePort(fmt.Sprintf("%d/tcp", port))
		cc.ExposedPorts[p] = struct{}{}
		hc.PortBindings[p] = []network.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "0"}}
		names[p] = name
	}
	publish("http", appPort)
	for _, p := range res.Containers[0].Ports {
		publish(p.Name, p.Port)
	}
	id := create(t, cli, "app", cc, hc)
	start(t, cli, id)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app container output:\n%s", logs(t, cli, id))
		}
	})
	in, err := cli.ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := &debugged{id: id, addr: map[string]string{}, c: res.Containers[0]}
	for p, name := range names {
		bs := in.Container.NetworkSettings.Ports[p]
		if len(bs) == 0 {
			t.Fatalf("container publishes no port for %s: %+v", p, in.Container.NetworkSettings.Ports)
		}
		d.addr[name] = "127.0.0.1:" + bs[0].HostPort
	}
	return d
}

// stringList reads an unstructured list of strings (nil for none).
func stringList(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, e := range l {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

// get requests path of the app and returns the body.
func get(ctx context.Context, addr, path string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return string(b), err
}

// getLater requests path of the app in the background, for a request that
// a breakpoint pauses, and sends the body, or the error, when it is done.
func getLater(addr, path string) <-chan string {
	answered := make(chan string, 1)
	go func() {
		body, err := get(context.Background(), addr, path)
		if err != nil {
			body = err.Error()
		}
		answered <- body
	}()
	return answered
}

// waitServing waits until the app answers GET / with a body containing want.
func waitServing(t *testing.T, addr, want string) {
	t.Helper()
	testutil.WaitFor(t, 60*time.Second, "the app answering on "+addr, func(ctx context.Context) (bool, string) {
		body, err := get(ctx, addr, "/?name=probe")
		if err != nil {
			return false, err.Error()
		}
		return bytesContains(body, want), body
	})
}

func bytesContains(s, sub string) bool { return bytes.Contains([]byte(s), []byte(sub)) }

// rootfs collects the files of a FROM scratch image made from this
// machine's files: each added file, the shared libraries ldd says it
// needs, and directory trees.
type rootfs struct {
	t     *testing.T
	files map[string]string // image path -> host path
	data  map[string][]byte // image path -> content
}

func newRootfs(t *testing.T) *rootfs {
	return &rootfs{t: t, files: map[string]string{}, data: map[string][]byte{}}
}

// binary adds the host program host at image path at, and its libraries.
func (r *rootfs) binary(at, host string) {
	r.files[at] = host
	r.libs(host)
}

// libs adds the shared libraries ldd lists for host at their paths.
func (r *rootfs) libs(host string) {
	out, err := exec.Command("ldd", host).Output()
	if err != nil {
		return // static, or not an ELF file
	}
	for _, line := range bytes.Split(out, []byte("\n")) {
		f := bytes.Fields(line)
		var lib string
		switch {
		case len(f) >= 3 && string(f[1]) == "=>" && bytes.HasPrefix(f[2], []byte("/")):
			lib = string(f[2])
		case len(f) >= 1 && bytes.HasPrefix(f[0], []byte("/")):
			lib = string(f[0])
		}
		// Only the system's libraries: a library ldd finds next to the
		// program (a JDK's libjli) comes with the program's tree.
		if strings.HasPrefix(lib, "/lib") || strings.HasPrefix(lib, "/usr/lib") {
			r.files[lib] = lib
		}
	}
}

// tree adds the host directory host at image path at, its regular files
// (links followed) but for the names skip, and the libraries of its .so
// files.
func (r *rootfs) tree(at, host string, skip ...string) {
	err := filepath.WalkDir(host, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		for _, s := range skip {
			if d.Name() == s {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		info, err := os.Stat(p)
		if err != nil || info.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(host, p)
		r.files[path.Join(at, rel)] = p
		if filepath.Ext(p) == ".so" || bytesContains(p, ".so.") {
			r.libs(p)
		}
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
}

// image packs the files into a one-layer image with cfg's entrypoint,
// cmd, env and working directory; added data starting with #! is
// executable.
func (r *rootfs) image(cfg debug.ImageConfig) v1.Image {
	r.t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	var names []string
	for n := range r.files {
		names = append(names, n)
	}
	for n := range r.data {
		names = append(names, n)
	}
	sort.Strings(names)
	epoch := time.Unix(0, 0)
	for _, n := range names {
		for d := path.Dir(n); d != "/"; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var dl []string
	for d := range dirs {
		dl = append(dl, d)
	}
	sort.Strings(dl)
	for _, d := range dl {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d[1:] + "/", Mode: 0o755, ModTime: epoch}); err != nil {
			r.t.Fatal(err)
		}
	}
	for _, n := range names {
		b, ok := r.data[n]
		mode := int64(0o644)
		if bytes.HasPrefix(b, []byte("#!")) {
			mode = 0o755
		}
		if !ok {
			var err error
			if b, err = os.ReadFile(r.files[n]); err != nil {
				r.t.Fatal(err)
			}
			if info, err := os.Stat(r.files[n]); err == nil && info.Mode()&0o111 != 0 {
				mode = 0o755
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n[1:], Mode: mode, Size: int64(len(b)), ModTime: epoch}); err != nil {
			r.t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			r.t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		r.t.Fatal(err)
	}
	img, err := image.SingleLayer(buf.Bytes(), v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "skiff debug e2e"}, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture = "linux", runtime.GOARCH
		cf.Config.Env, cf.Config.Entrypoint, cf.Config.Cmd, cf.Config.WorkingDir, cf.Config.Labels = cfg.Env, cfg.Entrypoint, cfg.Cmd, cfg.WorkingDir, cfg.Labels
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return img
}
