//go:build e2e

package buildpacks

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/docker"
	"skiff.dev/skiff/internal/image"
)

// The end-to-end tests build with skiff's offline builder (make builder
// pushes it to the local registry) on the real Docker Engine.

func e2eRegistry() string {
	if r := os.Getenv("SKIFF_LOCAL_REGISTRY"); r != "" {
		return r
	}
	return "127.0.0.1:5001"
}

func e2eBuilder(t *testing.T) (*Builder, *client.Client) {
	t.Helper()
	c, err := docker.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := docker.Ping(context.Background(), c); err != nil {
		t.Skipf("no Docker Engine: %v", err)
	}
	reg := image.NewRegistry(nil)
	if _, ok, err := reg.Digest(context.Background(), e2eRegistry()+"/skiff/builder:latest"); err != nil || !ok {
		t.Skipf("no offline builder in %s (run make builder): %v", e2eRegistry(), err)
	}
	b, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return b, c
}

const goMain = `package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "GREETING")
	})
	http.ListenAndServe("127.0.0.1:"+port, nil)
}
`

func goApp(t *testing.T, greeting string) string {
	t.Helper()
	return writeTree(t, map[string]string{"go.mod": "module example.com/app\n\ngo 1.22\n", "main.go": strings.Replace(goMain, "GREETING", greeting, 1)})
}

func e2eArtifact(ws string, trusted bool) *schema.Artifact {
	return bpArtifact(ws, &schema.BuildpackArtifact{Builder: e2eRegistry() + "/skiff/builder:latest", TrustBuilder: trusted})
}

// removeCaches removes, when the test ends, the cache volumes of the
// application the image tag belongs to.
func removeCaches(t *testing.T, b *Builder, tag string) {
	t.Helper()
	n, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, v := range []string{"skiff-cnb-cache-" + appKey(n), "skiff-cnb-launch-" + appKey(n), "skiff-cnb-gocache-" + appKey(n)} {
			b.client.VolumeRemove(context.Background(), v, client.VolumeRemoveOptions{Force: true})
		}
	})
}

// goCacheVolume is the Go build cache volume of the application tag
// belongs to.
func goCacheVolume(t *testing.T, tag string) string {
	t.Helper()
	n, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	return "skiff-cnb-gocache-" + appKey(n)
}

// timedBuild builds and returns the duration and output.
func timedBuild(t *testing.T, b *Builder, a *schema.Artifact, tag string, push bool) (Report, time.Duration, string, error) {
	t.Helper()
	removeCaches(t, b, tag)
	var out strings.Builder
	start := time.Now()
	r, err := b.BuildWith(context.Background(), a, build.Request{Tag: tag, Push: push, Out: &out}, RunOptions{})
	d := time.Since(start)
	t.Logf("build of %s (push %v, trusted %v): %s", tag, push, a.BuildpackArtifact.TrustBuilder, d.Round(time.Millisecond))
	return r, d, out.String(), err
}

// answer runs ref from the daemon (pulling it when pushed) on the host
// network and returns what it answers on /.
func answer(t *testing.T, c *client.Client, ref string, pull bool) string {
	t.Helper()
	ctx := context.Background()
	if pull {
		resp, err := c.ImagePull(ctx, ref, client.ImagePullOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := resp.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		resp.Close()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	res, err := c.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config:     &container.Config{Image: ref, Env: []string{fmt.Sprintf("PORT=%d", port)}},
		HostConfig: &container.HostConfig{NetworkMode: "host"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true})
	if _, err := c.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	var last error
	for i := 0; i < 100; i++ {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return strings.TrimSpace(string(body))
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s does not answer: %v", ref, last)
	return ""
}

func TestE2EGoApp(t *testing.T) {
	b, c := e2eBuilder(t)
	for _, tc := range []struct {
		trusted, push bool
	}{{true, true}, {false, true}, {true, false}, {false, false}} {
		name := fmt.Sprintf("trusted=%v,push=%v", tc.trusted, tc.push)
		t.Run(name, func(t *testing.T) {
			ws := goApp(t, "hello v1")
			repo := fmt.Sprintf("%s/skiff-e2e/bp-go-%v-%v", e2eRegistry(), tc.trusted, tc.push)
			a := e2eArtifact(ws, tc.trusted)
			a.BuildpackArtifact.ClearCache = true
			_, cold, out, err := timedBuild(t, b, a, repo+":v1", tc.push)
			if err != nil {
				t.Fatalf("cold build: %v\n%s", err, out)
			}
			for _, p := range []string{"[analyzer]", "[detector]", "[builder]", "[exporter]"} {
				if !strings.Contains(out, p) {
					t.Errorf("output lacks %s:\n%s", p, out)
				}
			}
			// The lifecycle image carries the builder's run.toml.
			if strings.Contains(out, "No run metadata found") {
				t.Errorf("a phase found no run.toml:\n%s", out)
			}
			if got := answer(t, c, repo+":v1", tc.push); got != "hello v1" {
				t.Errorf("v1 answers %q", got)
			}
			a.BuildpackArtifact.ClearCache = false
			_, warm, out, err := timedBuild(t, b, a, repo+":v2", tc.push)
			if err != nil {
				t.Fatalf("warm build: %v\n%s", err, out)
			}
			if err := os.WriteFile(filepath.Join(ws, "main.go"), []byte(strings.Replace(goMain, "GREETING", "hello v3", 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			_, changed, out, err := timedBuild(t, b, a, repo+":v3", tc.push)
			if err != nil {
				t.Fatalf("one-line change: %v\n%s", err, out)
			}
			if !strings.Contains(out, "Reusing") {
				t.Errorf("the rebuild reused no layer:\n%s", out)
			}
			if got := answer(t, c, repo+":v3", tc.push); got != "hello v3" {
				t.Errorf("v3 answers %q", got)
			}
			// The application's Go build cache stays between builds.
			if _, err := c.VolumeInspect(context.Background(), goCacheVolume(t, repo+":v3"), client.VolumeInspectOptions{}); err != nil {
				t.Errorf("the Go build cache volume after the builds: %v", err)
			}
			t.Logf("%s: cold %s, warm no-change %s, one-line change %s", name, cold.Round(time.Millisecond), warm.Round(time.Millisecond), changed.Round(time.Millisecond))
		})
	}
}

func TestE2ENothingDetects(t *testing.T) {
	b, _ := e2eBuilder(t)
	for _, trusted := range []bool{true, false} {
		ws := writeTree(t, map[string]string{"README.md": "no app here\n"})
		_, _, out, err := timedBuild(t, b, e2eArtifact(ws, trusted), e2eRegistry()+"/skiff-e2e/bp-none:v1", true)
		var de *DetectError
		if !errors.As(err, &de) {
			t.Fatalf("trusted=%v: error = %v, want a *DetectError\n%s", trusted, err, out)
		}
		t.Logf("trusted=%v: %v", trusted, err)
		if !strings.Contains(err.Error(), "skiff/go@0.1.0") {
			t.Errorf("the detection error does not list skiff/go: %v", err)
		}
	}
}

func TestE2EGoDoesNotCompile(t *testing.T) {
	b, _ := e2eBuilder(t)
	for _, trusted := range []bool{true, false} {
		ws := goApp(t, "x")
		if err := os.WriteFile(filepath.Join(ws, "main.go"), []byte("package main\n\nfunc main() { undefinedCall() }\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, out, err := timedBuild(t, b, e2eArtifact(ws, trusted), e2eRegistry()+"/skiff-e2e/bp-broken:v1", true)
		var be *BuildpackError
		if !errors.As(err, &be) || be.Buildpack != "skiff/go@0.1.0" || !strings.Contains(err.Error(), "undefinedCall") {
			t.Fatalf("trusted=%v: error = %v, want skiff/go's build error with the compiler's message\n%s", trusted, err, out)
		}
		t.Logf("trusted=%v: %v", trusted, err)
	}
}

// A local buildpack, chosen by the project descriptor, that prints what
// the platform gave it: env from the artifact (templated) and from the
// descriptor, a volume, and whether an excluded file reached /workspace.
var localBuildpack = map[string]string{
	"bp/buildpack.toml": "api = \"0.10\"\n\n[buildpack]\nid = \"e2e/hello\"\nversion = \"0.0.1\"\n\n[[targets]]\nos = \"linux\"\narch = \"amd64\"\n",
	"bp/bin/detect":     "#!/bin/bash\n[ -f hello.txt ]\n",
	"bp/bin/build": `#!/bin/bash
set -e
echo "hello buildpack: GREETING=$(cat "$CNB_PLATFORM_DIR/env/GREETING") FROM_PROJECT=$(cat "$CNB_PLATFORM_DIR/env/FROM_PROJECT")"
echo "volume: $(cat /e2e-volume/data.txt)"
if [ -e secret.txt ]; then echo "secret.txt present"; else echo "secret.txt excluded"; fi
layer="$CNB_LAYERS_DIR/hello"
mkdir -p "$layer"
cp hello.txt "$layer/"
printf '[types]\nlaunch = true\n' > "$layer.toml"
printf '[[processes]]\ntype = "web"\ncommand = ["/bin/cat", "%s/hello.txt"]\ndefault = true\n' "$layer" > "$CNB_LAYERS_DIR/launch.toml"
`,
	"hello.txt":  "hello\n",
	"secret.txt": "do not ship\n",
	"project.toml": `[_]
schema-version = "0.2"
id = "e2e"

[io.buildpacks]
exclude = ["secret.txt", "bp/"]

[[io.buildpacks.group]]
uri = "./bp"

[[io.buildpacks.build.env]]
name = "FROM_PROJECT"
value = "descriptor"
`,
}

func TestE2ELocalBuildpackAndDescriptor(t *testing.T) {
	b, _ := e2eBuilder(t)
	vol := t.TempDir()
	if err := os.Chmod(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vol, "data.txt"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, trusted := range []bool{true, false} {
		ws := writeTree(t, localBuildpack)
		for _, f := range []string{"bp/bin/detect", "bp/bin/build"} {
			if err := os.Chmod(filepath.Join(ws, f), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		a := e2eArtifact(ws, trusted)
		a.BuildpackArtifact.Env = []string{"GREETING={{.WHO}}"}
		a.BuildpackArtifact.Volumes = []*schema.BuildpackVolume{{Host: vol, Target: "/e2e-volume"}}
		var out strings.Builder
		removeCaches(t, b, e2eRegistry()+"/skiff-e2e/bp-local:v1")
		report, err := b.BuildWith(context.Background(), a, build.Request{
			Tag: e2eRegistry() + "/skiff-e2e/bp-local:v1", Push: true, Out: &out, Env: map[string]string{"WHO": "templated"},
		}, RunOptions{})
		if err != nil {
			t.Fatalf("trusted=%v: %v\n%s", trusted, err, out.String())
		}
		for _, want := range []string{
			"[builder] hello buildpack: GREETING=templated FROM_PROJECT=descriptor\n",
			"[builder] volume: from the host\n",
			"[builder] secret.txt excluded\n",
			"[detector] e2e/hello 0.0.1\n",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("trusted=%v: output lacks %q:\n%s", trusted, want, out.String())
			}
		}
		if !strings.HasPrefix(report.Digest, "sha256:") {
			t.Errorf("trusted=%v: report = %+v", trusted, report)
		}
	}
}

// TestE2ETimings measures builds of the Go app (median of five): with
// nothing changed and after a one-line change, trusted and not, to the
// registry and to the daemon. It logs; it asserts nothing about time.
func TestE2ETimings(t *testing.T) {
	b, _ := e2eBuilder(t)
	const runs = 5
	median := func(ds []time.Duration) time.Duration {
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	for _, trusted := range []bool{true, false} {
		for _, push := range []bool{true, false} {
			ws := goApp(t, "hello 0")
			a := e2eArtifact(ws, trusted)
			repo := fmt.Sprintf("%s/skiff-e2e/timings-%v-%v", e2eRegistry(), trusted, push)
			if _, _, out, err := timedBuild(t, b, a, repo+":warmup", push); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			var same, changed []time.Duration
			for i := range runs {
				_, d, out, err := timedBuild(t, b, a, fmt.Sprintf("%s:same%d", repo, i), push)
				if err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
				same = append(same, d)
				if err := os.WriteFile(filepath.Join(ws, "main.go"), []byte(strings.Replace(goMain, "GREETING", fmt.Sprintf("hello %d", i+1), 1)), 0o644); err != nil {
					t.Fatal(err)
				}
				_, d, out, err = timedBuild(t, b, a, fmt.Sprintf("%s:changed%d", repo, i), push)
				if err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
				changed = append(changed, d)
			}
			t.Logf("TIMINGS trusted=%v push=%v: no change median %s %v; one-line change median %s %v",
				trusted, push, median(same).Round(time.Millisecond), same, median(changed).Round(time.Millisecond), changed)
		}
	}
}

// TestE2EExecEnv builds for development (dev mode's CNB_EXEC_ENV): the
// image says so in its io.buildpacks.exec-env label.
func TestE2EExecEnv(t *testing.T) {
	b, _ := e2eBuilder(t)
	for _, trusted := range []bool{true, false} {
		ref := fmt.Sprintf("%s/skiff-e2e/bp-dev-%v:v1", e2eRegistry(), trusted)
		var out strings.Builder
		removeCaches(t, b, ref)
		// Dev mode, as skiff dev asks for it: CNB_EXEC_ENV=development, and
		// GOOGLE_DEVMODE, which skiff's buildpacks switch on (the creator of
		// lifecycle v0.21 does not pass CNB_EXEC_ENV to buildpacks).
		_, err := b.Build(context.Background(), e2eArtifact(goApp(t, "dev"), trusted), build.Request{Tag: ref, Push: true, Out: &out, DevMode: true})
		if err != nil {
			t.Fatalf("trusted=%v: %v\n%s", trusted, err, out.String())
		}
		img, err := image.NewRegistry(nil).Image(context.Background(), ref, nil)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if got := cf.Config.Labels["io.buildpacks.exec-env"]; got != "development" {
			t.Errorf("trusted=%v: io.buildpacks.exec-env = %q, want development", trusted, got)
		}
		// skiff's Go buildpack declares its development-mode sync rules.
		rules, err := ReadSyncRules(ImageSource{Ref: ref, Labels: cf.Config.Labels, WorkingDir: cf.Config.WorkingDir})
		if err != nil || len(rules.Warnings) > 0 || !slices.Equal(rules.Rules, []schema.SyncRule{{Src: "**/*.go", Dest: "/workspace"}}) {
			t.Errorf("trusted=%v: the image's sync rules: %+v, %v\n%s", trusted, rules, err, out.String())
		}
	}
}

type e2eTagger string

func (t e2eTagger) GenerateTag(context.Context, *schema.Artifact) (string, error) {
	return string(t), nil
}

// TestE2EThroughScheduler builds through build.Run with the publisher the
// CLI uses: the image the lifecycle pushed comes back pinned by the digest
// the exporter printed, and a second run with the cache is a cache hit.
func TestE2EThroughScheduler(t *testing.T) {
	b, _ := e2eBuilder(t)
	a := e2eArtifact(goApp(t, "scheduled"), true)
	a.ImageName = e2eRegistry() + "/skiff-e2e/bp-scheduled"
	var out strings.Builder
	reg := image.NewRegistry(nil)
	cache, err := build.OpenCache(filepath.Join(t.TempDir(), "cache.json"))
	if err != nil {
		t.Fatal(err)
	}
	opts := build.Options{
		Builders:  map[string]build.Builder{"buildpacks": b},
		Tagger:    e2eTagger(fmt.Sprintf("t%d", time.Now().UnixNano())),
		Publisher: &build.ImagePublisher{Registry: reg},
		Push:      true,
		Cache:     cache,
		Deps: func(_ context.Context, a *schema.Artifact) ([]string, error) {
			return Dependencies(a)
		},
		Repo:   func(image string) (string, error) { return image, nil },
		Output: func(*schema.Artifact) io.Writer { return &out },
	}
	removeCaches(t, b, a.ImageName+":x")
	res, err := build.Run(context.Background(), []*schema.Artifact{a}, opts)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	ref := res[0].Ref
	_, digest, ok := strings.Cut(ref, "@")
	if !ok || !strings.Contains(out.String(), "*** Images ("+digest+")") {
		t.Errorf("ref %s is not pinned by the digest the exporter printed:\n%s", ref, out.String())
	}
	var progress strings.Builder
	opts.Progress = &progress
	start := time.Now()
	if _, err := build.Run(context.Background(), []*schema.Artifact{a}, opts); err != nil {
		t.Fatal(err)
	}
	t.Logf("cache hit in %s", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(progress.String(), "Found in cache") {
		t.Errorf("the unchanged artifact was rebuilt:\n%s", progress.String())
	}
}

// TestE2EImageBuildpack builds with a buildpack from a buildpackage image
// (buildpacks: [docker://...]), which the test makes and pushes.
func TestE2EImageBuildpack(t *testing.T) {
	b, _ := e2eBuilder(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	root := "cnb/buildpacks/e2e_pkg/0.0.1/"
	for _, d := range []string{"cnb/", "cnb/buildpacks/", "cnb/buildpacks/e2e_pkg/", root, root + "bin/"} {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755})
	}
	for name, file := range map[string]struct {
		mode int64
		data string
	}{
		"buildpack.toml": {0o644, "api = \"0.10\"\n\n[buildpack]\nid = \"e2e/pkg\"\nversion = \"0.0.1\"\n\n[[targets]]\nos = \"linux\"\narch = \"amd64\"\n"},
		"bin/detect":     {0o755, "#!/bin/bash\n[ -f hello.txt ]\n"},
		"bin/build":      {0o755, "#!/bin/bash\necho \"buildpackage says $(cat hello.txt)\"\nprintf '[[processes]]\\ntype = \"web\"\\ncommand = [\"/bin/true\"]\\ndefault = true\\n' > \"$CNB_LAYERS_DIR/launch.toml\"\n"},
	} {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: root + name, Mode: file.mode, Size: int64(len(file.data))})
		tw.Write([]byte(file.data))
	}
	tw.Close()
	pkg, err := image.SingleLayer(buf.Bytes(), v1.History{CreatedBy: "skiff e2e"}, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture = "linux", "amd64"
		cf.Config.Labels = map[string]string{labelPackageMetadata: `{"id":"e2e/pkg","version":"0.0.1"}`}
	})
	if err != nil {
		t.Fatal(err)
	}
	pkgRef := e2eRegistry() + "/skiff-e2e/bp-package:0.0.1"
	if _, err := image.NewRegistry(nil).Push(context.Background(), pkgRef, pkg); err != nil {
		t.Fatal(err)
	}
	for _, trusted := range []bool{true, false} {
		ws := writeTree(t, map[string]string{"hello.txt": "hello from the app"})
		a := e2eArtifact(ws, trusted)
		a.BuildpackArtifact.Buildpacks = []string{"docker://" + pkgRef}
		_, _, out, err := timedBuild(t, b, a, e2eRegistry()+"/skiff-e2e/bp-from-package:v1", true)
		if err != nil {
			t.Fatalf("trusted=%v: %v\n%s", trusted, err, out)
		}
		for _, want := range []string{"[detector] e2e/pkg 0.0.1\n", "[builder] buildpackage says hello from the app\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("trusted=%v: output lacks %q:\n%s", trusted, want, out)
			}
		}
	}
}
