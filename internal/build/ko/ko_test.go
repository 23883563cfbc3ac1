package ko

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// copyApp copies testdata/hello to a new directory, outside any VCS
// checkout (go build would stamp its state into the binary) and free to
// edit.
func copyApp(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hello")
	if err := os.CopyFS(dir, os.DirFS("testdata/hello")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// testBase is a base image like skiff's default: a user, a PATH, two
// layers.
func testBase(t testing.TB) v1.Image {
	t.Helper()
	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, v1.Config{User: "65532", Env: []string{"PATH=/usr/bin:/bin"}, WorkingDir: "/home/nonroot"})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// baseRecorder hands out one base image and records what was asked for.
type baseRecorder struct {
	img  v1.Image
	err  error
	mu   sync.Mutex
	refs []string
}

func (r *baseRecorder) base(_ context.Context, ref string, _ v1.Platform) (v1.Image, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refs = append(r.refs, ref)
	return r.img, r.err
}

func newBuilder(t testing.TB, base BaseFunc, opts ...Option) *Builder {
	t.Helper()
	b, err := New(base, append([]Option{WithEnviron(os.Environ())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func koArtifact(ctx string, ko schema.KoArtifact) *schema.Artifact {
	return &schema.Artifact{ImageName: "app", Workspace: ctx, ArtifactType: schema.ArtifactType{KoArtifact: &ko}}
}

func buildImage(t testing.TB, b *Builder, a *schema.Artifact, req build.Request) v1.Image {
	t.Helper()
	var out bytes.Buffer
	if req.Out == nil {
		req.Out = &out
	}
	built, err := b.Build(context.Background(), a, req)
	if err != nil {
		t.Fatalf("Build: %v\noutput:\n%s", err, out.String())
	}
	if built.Image == nil || built.DaemonID != "" || built.External {
		t.Fatalf("Build returned %+v, want an image only", built)
	}
	return built.Image
}

// entry is a file of a layer.
type entry struct {
	hdr  *tar.Header
	data []byte
}

func layerEntries(t testing.TB, l v1.Layer) ([]string, map[string]entry) {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	entries := map[string]entry{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, entries
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		entries[hdr.Name] = entry{hdr, data}
	}
}

// checkImage validates img: ggcr's validate reads gzipped layers only, so
// plain tar layers are checked here (their digest and diff ID are the
// SHA-256 of their bytes).
func checkImage(t testing.TB, img v1.Image) {
	t.Helper()
	opts := []validate.Option{}
	for _, l := range layers(t, img) {
		mt, err := l.MediaType()
		if err != nil {
			t.Fatal(err)
		}
		if mt != types.DockerUncompressedLayer && mt != types.OCIUncompressedLayer {
			continue
		}
		opts = []validate.Option{validate.Fast}
		for _, blob := range []func() (io.ReadCloser, error){l.Compressed, l.Uncompressed} {
			rc, err := blob()
			if err != nil {
				t.Fatal(err)
			}
			h, n, err := v1.SHA256(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if size, _ := l.Size(); h != digest(t, l) || n != size {
				t.Errorf("plain layer: SHA-256 %s of %d bytes, want its digest %s and size %d", h, n, digest(t, l), size)
			}
			if d, _ := l.DiffID(); d != h {
				t.Errorf("plain layer: diff ID %s, want %s", d, h)
			}
		}
	}
	if err := validate.Image(img, opts...); err != nil {
		t.Errorf("validate.Image: %v", err)
	}
}

func layers(t testing.TB, img v1.Image) []v1.Layer {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

func digest(t testing.TB, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func configFile(t testing.TB, img v1.Image) *v1.ConfigFile {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

// runBinary runs the binary of an image's last layer on the host.
func runBinary(t *testing.T, img v1.Image, name string, env ...string) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the image's binary runs on linux only")
	}
	ls := layers(t, img)
	_, files := layerEntries(t, ls[len(ls)-1])
	bin := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(bin, files["ko-app/"+name].data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("running %s: %v\n%s", name, err, out)
	}
	return string(out)
}

func TestBuildImage(t *testing.T) {
	t.Parallel()
	app := copyApp(t)
	base := testBase(t)
	rec := &baseRecorder{img: base}
	b := newBuilder(t, rec.base)
	a := koArtifact(app, schema.KoArtifact{
		Labels:  map[string]string{"org.opencontainers.image.revision": "{{.REV}}", "team": "skiff"},
		Ldflags: []string{"-s", "-X main.version={{.VERSION}}"},
		Env:     []string{"GOFLAGS=-tags={{.TAGS}}"},
	})
	env := config.Env{"REV": "abc123", "VERSION": "1.2.3", "TAGS": "extra"}
	var out bytes.Buffer
	img := buildImage(t, b, a, build.Request{Tag: "reg/app:v1", Env: env, Out: &out})

	checkImage(t, img)
	if !slices.Equal(rec.refs, []string{""}) {
		t.Errorf("base images asked for: %q, want skiff's default (\"\") once", rec.refs)
	}

	cf := configFile(t, img)
	if want := []string{"/ko-app/hello"}; !slices.Equal(cf.Config.Entrypoint, want) {
		t.Errorf("entrypoint = %q, want %q", cf.Config.Entrypoint, want)
	}
	if cf.Config.Cmd != nil {
		t.Errorf("cmd = %q, want none", cf.Config.Cmd)
	}
	if want := []string{"PATH=/usr/bin:/bin:/ko-app", "KO_DATA_PATH=/var/run/ko"}; !slices.Equal(cf.Config.Env, want) {
		t.Errorf("env = %q, want %q", cf.Config.Env, want)
	}
	if cf.Config.User != "65532" || cf.Config.WorkingDir != "/home/nonroot" {
		t.Errorf("user %q, working dir %q: want the base's (65532, /home/nonroot)", cf.Config.User, cf.Config.WorkingDir)
	}
	wantLabels := map[string]string{"org.opencontainers.image.revision": "abc123", "team": "skiff"}
	if len(cf.Config.Labels) != len(wantLabels) {
		t.Errorf("labels = %v, want %v", cf.Config.Labels, wantLabels)
	}
	for k, v := range wantLabels {
		if cf.Config.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, cf.Config.Labels[k], v)
		}
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform = %s/%s, want linux/%s", cf.OS, cf.Architecture, runtime.GOARCH)
	}

	ls := layers(t, img)
	baseLayers := layers(t, base)
	if len(ls) != len(baseLayers)+2 {
		t.Fatalf("%d layers, want the base's %d and two", len(ls), len(baseLayers))
	}
	for i, l := range baseLayers {
		if digest(t, ls[i]) != digest(t, l) {
			t.Errorf("layer %d is not the base's", i)
		}
	}
	for _, l := range ls[len(baseLayers):] {
		if mt, _ := l.MediaType(); mt != types.DockerUncompressedLayer {
			t.Errorf("layer media type %s, want a plain tar layer of the base's kind (%s) for the daemon", mt, types.DockerUncompressedLayer)
		}
	}

	names, data := layerEntries(t, ls[2])
	wantNames := []string{"var/", "var/run/", "var/run/ko/", "var/run/ko/greeting.txt", "var/run/ko/static/", "var/run/ko/static/index.html"}
	if !slices.Equal(names, wantNames) {
		t.Errorf("kodata layer holds %q, want %q", names, wantNames)
	}
	if got := string(data["var/run/ko/greeting.txt"].data); got != "greetings from kodata\n" {
		t.Errorf("greeting.txt = %q", got)
	}
	for _, n := range names {
		h := data[n].hdr
		if !h.ModTime.Equal(epoch) || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: mtime %v, owner %d:%d; want 1970-01-01 and 0:0", n, h.ModTime, h.Uid, h.Gid)
		}
	}
	if m := data["var/run/ko/greeting.txt"].hdr.Mode; m != 0o555 {
		t.Errorf("greeting.txt mode %o, want 555 as ko", m)
	}

	names, data = layerEntries(t, ls[3])
	if want := []string{"ko-app/", "ko-app/hello"}; !slices.Equal(names, want) {
		t.Errorf("binary layer holds %q, want %q", names, want)
	}
	if h := data["ko-app/hello"].hdr; h.Mode != 0o555 || h.Typeflag != tar.TypeReg || !h.ModTime.Equal(epoch) {
		t.Errorf("binary: mode %o type %c mtime %v; want a 555 regular file of 1970", h.Mode, h.Typeflag, h.ModTime)
	}
	if got, want := runBinary(t, img, "hello"), "hello 1.2.3 with-extra\n"; got != want {
		t.Errorf("the binary printed %q, want %q (ldflags -X and env GOFLAGS applied)", got, want)
	}
}

func TestReproducible(t *testing.T) {
	t.Parallel()
	app := copyApp(t)
	daemon := build.Request{}
	remote := build.Request{Push: true, Tag: "registry.example.com/app:v1"}
	loopback := build.Request{Push: true, Tag: "localhost:5000/app:v1"}
	oci := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	for _, tc := range []struct {
		name      string
		base      v1.Image
		req       build.Request
		layerType types.MediaType
	}{
		{"docker base, daemon", testBase(t), daemon, types.DockerUncompressedLayer},
		{"docker base, remote registry", testBase(t), remote, types.DockerLayer},
		{"docker base, loopback registry", testBase(t), loopback, types.DockerUncompressedLayer},
		{"oci base, daemon", oci, daemon, types.OCIUncompressedLayer},
		{"oci base, remote registry", oci, remote, types.OCILayer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := koArtifact(app, schema.KoArtifact{})
			// Two builders: the second cannot reuse the first's layers.
			var imgs []v1.Image
			for range 2 {
				b := newBuilder(t, (&baseRecorder{img: tc.base}).base)
				img := buildImage(t, b, a, tc.req)
				imgs = append(imgs, img)
				ls := layers(t, img)
				for _, l := range ls[len(ls)-2:] {
					if mt, _ := l.MediaType(); mt != tc.layerType {
						t.Errorf("layer media type %s, want %s", mt, tc.layerType)
					}
				}
			}
			checkImage(t, imgs[0])
			if d0, d1 := digest(t, imgs[0]), digest(t, imgs[1]); d0 != d1 {
				t.Errorf("two builds of the same input gave %s and %s", d0, d1)
			}
		})
	}
}

func TestLayerFormsShareTheImageID(t *testing.T) {
	t.Parallel()
	// The config, and so the Docker image ID, names layers by diff ID:
	// plain and gzipped layers give the same one.
	app := copyApp(t)
	b := newBuilder(t, (&baseRecorder{img: testBase(t)}).base)
	a := koArtifact(app, schema.KoArtifact{})
	plain := buildImage(t, b, a, build.Request{})
	gz := buildImage(t, b, a, build.Request{Push: true, Tag: "gcr.io/p/app:v1"})
	p, err := plain.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	g, err := gz.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	if p != g {
		t.Errorf("config digests %s (plain) and %s (gzip) differ", p, g)
	}
	if digest(t, plain) == digest(t, gz) {
		t.Error("the manifests are the same; want gzipped layers in one")
	}
}

func TestOnThisMachine(t *testing.T) {
	t.Parallel()
	for ref, want := range map[string]bool{
		"localhost:5000/app:v1":    true,
		"127.0.0.1:5000/app:v1":    true,
		"[::1]:5000/app:v1":        true,
		"registry.localhost/app":   true,
		"kind-registry:5000/app":   false,
		"gcr.io/project/app:v1":    false,
		"app:v1":                   false,
		"10.0.0.1:5000/app":        false,
		"not a reference":          false,
		"localhost.example.com/ap": false,
	} {
		if got := onThisMachine(ref); got != want {
			t.Errorf("onThisMachine(%q) = %v, want %v", ref, got, want)
		}
	}
}

func TestOneLineChangeChangesOnlyTheBinaryLayer(t *testing.T) {
	t.Parallel()
	app := copyApp(t)
	b := newBuilder(t, (&baseRecorder{img: testBase(t)}).base)
	a := koArtifact(app, schema.KoArtifact{})
	before := layers(t, buildImage(t, b, a, build.Request{}))
	editGreeting(t, app, "hi")
	img := buildImage(t, b, a, build.Request{})
	after := layers(t, img)
	if len(before) != len(after) {
		t.Fatalf("%d layers, then %d", len(before), len(after))
	}
	for i := range after {
		same := digest(t, before[i]) == digest(t, after[i])
		if binary := i == len(after)-1; same == binary {
			t.Errorf("layer %d (of %d) changed: %v; want only the binary layer to change", i, len(after), !same)
		}
	}
	if got := runBinary(t, img, "hello"); !strings.HasPrefix(got, "hi dev") {
		t.Errorf("the rebuilt binary printed %q, want the new greeting", got)
	}
}

// editGreeting changes one line of the test app.
func editGreeting(t testing.TB, app, greeting string) {
	t.Helper()
	file := filepath.Join(app, "main.go")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "const greeting = ") {
			lines[i] = "const greeting = \"" + greeting + "\""
		}
	}
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCompileError(t *testing.T) {
	t.Parallel()
	app := copyApp(t)
	if err := os.WriteFile(filepath.Join(app, "broken.go"), []byte("package main\n\nvar _ = nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := newBuilder(t, (&baseRecorder{img: testBase(t)}).base)
	var out bytes.Buffer
	_, err := b.Build(context.Background(), koArtifact(app, schema.KoArtifact{}), build.Request{Out: &out})
	if err == nil {
		t.Fatal("Build succeeded, want a compile error")
	}
	for _, want := range []string{`artifact "app"`, "go build", "build output above"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	// The compiler's message is printed once: in the output, not again
	// in the error (issue 11 item 14).
	if strings.Contains(err.Error(), "undefined: nope") {
		t.Errorf("error %q repeats the compiler's output", err)
	}
	if !strings.Contains(out.String(), "undefined: nope") {
		t.Errorf("the compiler's output did not reach the build's writer: %q", out.String())
	}

	// Without a writer for the output, the error carries its end.
	_, err = b.Build(context.Background(), koArtifact(app, schema.KoArtifact{}), build.Request{})
	for _, want := range []string{`artifact "app"`, "go build", "broken.go:3", "undefined: nope"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not contain %q", err, want)
		}
	}
}

func TestMainPackage(t *testing.T) {
	t.Parallel()
	app := copyApp(t)
	for _, tc := range []struct {
		name    string
		image   string
		context string
		ko      schema.KoArtifact
		binary  string
		err     string
	}{
		{name: "default", binary: "hello"},
		{name: "main dir", ko: schema.KoArtifact{Main: "./cmd/tool"}, binary: "tool"},
		{name: "main without ./", ko: schema.KoArtifact{Main: "cmd/tool"}, binary: "tool"},
		{name: "main pattern", ko: schema.KoArtifact{Main: "./cmd/..."}, binary: "tool"},
		{name: "main import path", ko: schema.KoArtifact{Main: "example.com/hello/cmd/tool"}, binary: "tool"},
		{name: "ko:// image", image: "ko://example.com/hello/cmd/tool", ko: schema.KoArtifact{Main: "ignored"}, binary: "tool"},
		{name: "dir", context: filepath.Dir(app), ko: schema.KoArtifact{Dir: "hello"}, binary: "hello"},
		{name: "dir and main", context: filepath.Dir(app), ko: schema.KoArtifact{Dir: "hello", Main: "./cmd/tool"}, binary: "tool"},
		{name: "not main", ko: schema.KoArtifact{Main: "./lib"}, err: "package main"},
		{name: "two mains", ko: schema.KoArtifact{Main: "./..."}, err: "2 main packages (example.com/hello, example.com/hello/cmd/tool)"},
		{name: "no main", ko: schema.KoArtifact{Main: "./lib/..."}, err: "names no main package"},
		{name: "missing dir", ko: schema.KoArtifact{Main: "./nope"}, err: "is not a directory"},
		{name: "missing ko.dir", ko: schema.KoArtifact{Dir: "nope"}, err: "is not a directory; fix build.artifacts[].context or ko.dir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := app
			if tc.context != "" {
				ctx = tc.context
			}
			a := koArtifact(ctx, tc.ko)
			if tc.image != "" {
				a.ImageName = tc.image
			}
			b := newBuilder(t, (&baseRecorder{img: empty.Image}).base)
			built, err := b.Build(context.Background(), a, build.Request{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cf := configFile(t, built.Image)
			if want := "/ko-app/" + tc.binary; len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != want {
				t.Errorf("entrypoint %q, want %s", cf.Config.Entrypoint, want)
			}
		})
	}
}

func TestBaseImage(t *testing.T) {
	t.Parallel()
	app := copyApp(t)
	base, err := mutate.Config(testBase(t), v1.Config{})
	if err != nil {
		t.Fatal(err)
	}
	baseDigest := digest(t, base)
	arm, err := mutate.ConfigFile(base, &v1.ConfigFile{OS: "linux", Architecture: "arm64"})
	if err != nil {
		t.Fatal(err)
	}
	required := []build.Required{{ImageName: "base-app", Alias: "BASE", Ref: "reg/base-app:v1@" + baseDigest.String()}}
	for _, tc := range []struct {
		name      string
		fromImage string
		requires  []build.Required
		img       v1.Image
		baseErr   error
		wantRef   string
		err       string
	}{
		{name: "default", wantRef: ""},
		{name: "fromImage", fromImage: "reg/base:1", wantRef: "reg/base:1"},
		{name: "required artifact", fromImage: "BASE", requires: required, wantRef: required[0].Ref},
		{name: "other alias", fromImage: "reg/base:1", requires: required, wantRef: "reg/base:1"},
		{name: "base error", fromImage: "reg/base:1", baseErr: errors.New("no such image"), err: "getting the base image reg/base:1 for linux/amd64: no such image"},
		{name: "wrong platform", img: arm, err: "the base image (skiff's default) is for linux/arm64, not linux/amd64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &baseRecorder{img: base, err: tc.baseErr}
			if tc.img != nil {
				rec.img = tc.img
			}
			b := newBuilder(t, rec.base)
			a := koArtifact(app, schema.KoArtifact{BaseImage: tc.fromImage})
			built, err := b.Build(context.Background(), a, build.Request{Requires: tc.requires, Platforms: []string{"linux/amd64"}})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rec.refs, []string{tc.wantRef}) {
				t.Errorf("base images asked for: %q, want %q", rec.refs, tc.wantRef)
			}
			// The base has no user: skiff's default base runs as
			// nonroot, as ko's does; a named base keeps its own.
			wantUser := ""
			if tc.wantRef == "" {
				wantUser = "65532"
			}
			if u := configFile(t, built.Image).Config.User; u != wantUser {
				t.Errorf("user %q, want %q", u, wantUser)
			}
			m, err := built.Image.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			if tc.wantRef != "" {
				want = map[string]string{annotationBaseName: tc.wantRef, annotationBaseDigest: baseDigest.String()}
			}
			if len(m.Annotations) != len(want) {
				t.Errorf("annotations %v, want %v", m.Annotations, want)
			}
			for k, v := range want {
				if m.Annotations[k] != v {
					t.Errorf("annotation %s = %q, want %q", k, m.Annotations[k], v)
				}
			}
		})
	}
}

func TestSourceDateEpoch(t *testing.T) {
	t.Parallel()
	app := copyApp(t)
	b := newBuilder(t, (&baseRecorder{img: testBase(t)}).base)
	env := config.Env{"SOURCE_DATE_EPOCH": "1700000000", "KO_DATA_DATE_EPOCH": "1600000000"}
	img := buildImage(t, b, koArtifact(app, schema.KoArtifact{}), build.Request{Env: env})
	if got, want := configFile(t, img).Created.Time, time.Unix(1700000000, 0); !got.Equal(want) {
		t.Errorf("created %v, want SOURCE_DATE_EPOCH %v", got, want)
	}
	ls := layers(t, img)
	_, files := layerEntries(t, ls[len(ls)-2])
	if got, want := files["var/run/ko/greeting.txt"].hdr.ModTime, time.Unix(1600000000, 0); !got.Equal(want) {
		t.Errorf("kodata mtime %v, want KO_DATA_DATE_EPOCH %v", got, want)
	}
	_, files = layerEntries(t, ls[len(ls)-1])
	if got := files["ko-app/hello"].hdr.ModTime; !got.Equal(epoch) {
		t.Errorf("binary mtime %v, want 1970 as ko, whatever SOURCE_DATE_EPOCH says", got)
	}

	_, err := b.Build(context.Background(), koArtifact(app, schema.KoArtifact{}), build.Request{Env: config.Env{"SOURCE_DATE_EPOCH": "yesterday"}})
	if err == nil || !strings.Contains(err.Error(), `SOURCE_DATE_EPOCH="yesterday" is not a number`) {
		t.Errorf("error %v, want one about SOURCE_DATE_EPOCH", err)
	}
}

func TestRequestErrors(t *testing.T) {
	t.Parallel()
	app := copyApp(t)
	b := newBuilder(t, (&baseRecorder{img: empty.Image}).base)
	for _, tc := range []struct {
		name      string
		ko        schema.KoArtifact
		platforms []string
		err       string
	}{
		{name: "all platforms", platforms: []string{"all"}, err: `platform "all"`},
		{name: "bad platform", platforms: []string{"amd64"}, err: `platform "amd64" is not os/arch`},
		{name: "toolexec", ko: schema.KoArtifact{Flags: []string{"--toolexec=/bin/true"}}, err: "--toolexec=/bin/true is not allowed"},
		{name: "toolexec 2", ko: schema.KoArtifact{Flags: []string{"-toolexec", "/bin/true"}}, err: "-toolexec is not allowed"},
		{name: "bad env", ko: schema.KoArtifact{Env: []string{"{{.NOPE}}"}}, err: `ko.env: "" is not KEY=value`},
		{name: "bad template", ko: schema.KoArtifact{Ldflags: []string{"{{.X"}}, err: "ko.ldflags: template"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := b.Build(context.Background(), koArtifact(app, tc.ko), build.Request{Platforms: tc.platforms})
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	k := &schema.KoArtifact{Flags: []string{"-v", "-tags={{.T}}"}, Ldflags: []string{"-s", "-w", "-X main.v={{.V}}"}}
	env := config.Env{"T": "a", "V": "1"}
	for _, tc := range []struct {
		name  string
		debug bool
		want  []string
	}{
		{"default", false, []string{"-v", "-tags=a", "-trimpath", "-ldflags=-s -w -X main.v=1"}},
		{"debug", true, []string{"-v", "-tags=a", "-gcflags=all=-N -l", "-ldflags=-s -w -X main.v=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := flags(k, env, tc.debug)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("flags %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBuildEnv(t *testing.T) {
	t.Parallel()
	b := newBuilder(t, (&baseRecorder{}).base, WithEnviron([]string{"HOME=/h", "GOOS=darwin", "CGO_ENABLED=1"}))
	penv, err := platformEnv(v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"})
	if err != nil {
		t.Fatal(err)
	}
	got := b.buildEnv(penv, []string{"GOFLAGS=-mod=vendor"})
	want := []string{"CGO_ENABLED=0", "HOME=/h", "GOOS=darwin", "CGO_ENABLED=1", "GOOS=linux", "GOARCH=arm", "GOARM=7", "GOFLAGS=-mod=vendor"}
	if !slices.Equal(got, want) {
		t.Errorf("env %q, want %q (later entries win)", got, want)
	}
}

func TestIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles the standard library for arm64 the first time")
	}
	t.Parallel()
	app := copyApp(t)
	rec := &baseRecorder{img: testBase(t)}
	b := newBuilder(t, rec.base)
	built, err := b.Build(context.Background(), koArtifact(app, schema.KoArtifact{}), build.Request{Platforms: []string{"linux/amd64", "linux/arm64"}})
	if err != nil {
		t.Fatal(err)
	}
	idx := built.Index
	if idx == nil || built.Image != nil {
		t.Fatalf("Build for two platforms returned %+v, want an index", built)
	}
	if err := validate.Index(idx, validate.Fast); err != nil {
		t.Errorf("validate.Index: %v", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.DockerManifestList || len(m.Manifests) != 2 {
		t.Fatalf("index %s with %d manifests, want a Docker manifest list (the base's kind) of 2", m.MediaType, len(m.Manifests))
	}
	for i, want := range []struct {
		arch string
		elf  elf.Machine
	}{{"amd64", elf.EM_X86_64}, {"arm64", elf.EM_AARCH64}} {
		d := m.Manifests[i]
		if d.Platform == nil || d.Platform.OS != "linux" || d.Platform.Architecture != want.arch {
			t.Errorf("manifest %d platform %v, want linux/%s", i, d.Platform, want.arch)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if cf := configFile(t, img); cf.Architecture != want.arch {
			t.Errorf("image %d config architecture %s, want %s", i, cf.Architecture, want.arch)
		}
		ls := layers(t, img)
		_, files := layerEntries(t, ls[len(ls)-1])
		f, err := elf.NewFile(bytes.NewReader(files["ko-app/hello"].data))
		if err != nil {
			t.Fatal(err)
		}
		if f.Machine != want.elf {
			t.Errorf("image %d binary is for %s, want %s", i, f.Machine, want.elf)
		}
	}
}

// TestExecutable: the executable built alone for a hot swap is the one
// the image holds (same flags, env and platform); a compile error is
// returned with the compiler's messages in the output.
func TestExecutable(t *testing.T) {
	t.Parallel()
	app := copyApp(t)
	b := newBuilder(t, (&baseRecorder{img: testBase(t)}).base)
	a := koArtifact(app, schema.KoArtifact{Ldflags: []string{"-s", "-X main.version={{.VERSION}}"}})
	req := build.Request{Env: config.Env{"VERSION": "2.0"}}
	img := buildImage(t, b, a, req)
	ls := layers(t, img)
	_, files := layerEntries(t, ls[len(ls)-1])
	file := filepath.Join(t.TempDir(), "exe")
	exe, err := b.Executable(t.Context(), a, req, file)
	if err != nil {
		t.Fatal(err)
	}
	content, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading the executable Executable wrote: %v", err)
	}
	if exe.Name != "hello" || !bytes.Equal(content, files["ko-app/hello"].data) {
		t.Errorf("executable %q (%d bytes) differs from the image's ko-app/hello (%d bytes)", exe.Name, len(content), len(files["ko-app/hello"].data))
	}
	if _, err := b.Executable(t.Context(), a, build.Request{Platforms: []string{"linux/amd64", "linux/arm64"}}, file); err == nil {
		t.Error("Executable for two platforms succeeded")
	}
	if err := os.WriteFile(filepath.Join(app, "broken.go"), []byte("package main\n\nvar _ = nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := b.Executable(t.Context(), a, build.Request{Out: &out}, file); err == nil || !strings.Contains(out.String(), "undefined: nope") {
		t.Errorf("broken code: error %v, output %q; want a compile error with the compiler's message in the output", err, out.String())
	}
}
