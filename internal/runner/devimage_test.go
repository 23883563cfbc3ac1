package runner

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/image"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/sync/deliver"
)

// countingRegistry is an in-process registry that counts the requests it
// answers.
type countingRegistry struct {
	mu   gosync.Mutex
	reqs []string
	h    http.Handler
}

func (c *countingRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.reqs = append(c.reqs, r.Method+" "+r.URL.Path)
	c.mu.Unlock()
	c.h.ServeHTTP(w, r)
}

// since returns the requests answered from the n-th on.
func (c *countingRegistry) since(n int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.reqs[n:]...)
}

// TestDevImages replaces the built image of an artifact with sync rules
// by its development image, pushed next to it as <tag>-skiff-dev with one
// more layer, and leaves the others as built; a second dev (a new Runner,
// the same cache) finds it with one HEAD request, and a changed agent
// makes a new one.
func TestDevImages(t *testing.T) {
	t.Parallel()
	reg := &countingRegistry{h: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	base, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := base.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	arch := "amd64"
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	if base, err = mutate.ConfigFile(base, cf); err != nil {
		t.Fatal(err)
	}
	client := image.NewRegistry(nil)
	digest, err := client.Push(t.Context(), host+"/web:v1", base)
	if err != nil {
		t.Fatal(err)
	}
	built := []artifact.Image{{Name: "web", Ref: host + "/web:v1@" + digest}, {Name: "db", Ref: host + "/db:v1@" + digest}}

	dir := t.TempDir()
	web := dockerArtifact("web", dir, "")
	web.Sync = &schema.Sync{Manual: []*schema.SyncRule{{Src: "static/**", Dest: "/srv"}}}
	p := &config.Project{Configs: []*config.Config{testConfig(dir, web, dockerArtifact("db", dir, ""))}}
	rules, err := syncRules(p)
	if err != nil {
		t.Fatal(err)
	}
	cacheFile := filepath.Join(dir, "cache", "cache")
	dev := func(agent string) ([]artifact.Image, string) {
		t.Helper()
		var out bytes.Buffer
		r := New(Options{Project: p, ErrOut: &out})
		r.lastBuild.CacheFile = cacheFile
		fakeAgent(t, r, agent, arch)
		return r.devImages(t.Context(), built, rules), out.String()
	}

	before := len(reg.since(0))
	first, said := dev("agent v1")
	if first[1] != built[1] {
		t.Errorf("db has no sync rules: deployed %v, want it as built %v", first[1], built[1])
	}
	if !strings.HasPrefix(first[0].Ref, host+"/web:v1-skiff-dev@sha256:") {
		t.Fatalf("web's development image is %s, want %s/web:v1-skiff-dev@sha256:...", first[0].Ref, host)
	}
	if !strings.Contains(said, "web: dev deploys "+first[0].Ref+", the built image plus a layer: skiff-agent at "+sync.DefaultAgentPath) {
		t.Errorf("dev said %q, want what the development image of web changes", said)
	}
	devImg, err := client.Image(t.Context(), first[0].Ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	devLayers, _ := devImg.Layers()
	baseLayers, _ := base.Layers()
	if len(devLayers) != len(baseLayers)+1 {
		t.Errorf("development image has %d layers on a base of %d, want one more", len(devLayers), len(baseLayers))
	}
	for _, req := range reg.since(before) {
		for _, l := range baseLayers {
			d, _ := l.Digest()
			if strings.HasPrefix(req, "PUT ") && strings.Contains(req, d.String()) || strings.HasPrefix(req, "PATCH ") && strings.Contains(req, d.Hex) {
				t.Errorf("pushing the development image uploaded the base's layer %s: %s", d, req)
			}
		}
	}

	before = len(reg.since(0))
	again, _ := dev("agent v1")
	if again[0] != first[0] {
		t.Errorf("second dev deployed %v, want the cached %v", again[0], first[0])
	}
	reqs := slices.DeleteFunc(reg.since(before), func(r string) bool { return r == "GET /v2/" }) // a new client's ping
	if len(reqs) != 1 || !strings.HasPrefix(reqs[0], "HEAD /v2/web/manifests/v1-skiff-dev") {
		t.Errorf("second dev with the same image and agent made requests %v, want one HEAD of the development tag", reqs)
	}

	changed, _ := dev("agent v2")
	if changed[0].Ref == first[0].Ref {
		t.Errorf("a changed agent gave the same development image %s", changed[0].Ref)
	}

	// An agent for another architecture: the image is deployed as built
	// (and its pods get the init container, whose agent would not run
	// either: the warning says which agent to use).
	arch = "arm64"
	if other, _ := dev("agent v3"); other[0] != built[0] {
		t.Errorf("with an arm64 agent for an amd64 image: deployed %v, want it as built", other[0])
	}
}

// TestDevImagesKoWithoutSync: with hot swap on, a ko artifact with no
// sync rules gets the development image that runs its app under
// skiff-agent run, so that its Go changes can be hot-swapped; a ko image
// whose entrypoint is not one ko executable stays as built, having
// nothing to gain. With hot swap off (--hot-swap=false, skiff debug) both
// stay as built.
func TestDevImagesKoWithoutSync(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	client := image.NewRegistry(nil)
	push := func(repo string, entrypoint ...string) string {
		t.Helper()
		base, err := random.Image(512, 1)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := base.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", "amd64"
		cf.Config.Entrypoint = entrypoint
		if base, err = mutate.ConfigFile(base, cf); err != nil {
			t.Fatal(err)
		}
		digest, err := client.Push(t.Context(), host+"/"+repo+":v1", base)
		if err != nil {
			t.Fatal(err)
		}
		return host + "/" + repo + ":v1@" + digest
	}
	built := []artifact.Image{
		{Name: "web", Ref: push("web", deliver.KoAppDir+"/web")},
		{Name: "tool", Ref: push("tool", "/bin/tool", "serve")},
	}
	dir := t.TempDir()
	ko := func(name string) *schema.Artifact {
		return &schema.Artifact{ImageName: name, Workspace: dir, ArtifactType: schema.ArtifactType{KoArtifact: &schema.KoArtifact{}}}
	}
	p := &config.Project{Configs: []*config.Config{testConfig(dir, ko("web"), ko("tool"))}}
	rules, err := syncRules(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, supervise := range []bool{true, false} {
		var out bytes.Buffer
		r := New(Options{Project: p, ErrOut: &out})
		r.lastBuild.CacheFile = filepath.Join(dir, "cache", "cache")
		fakeAgent(t, r, "agent", "amd64")
		r.supervise = supervise
		got := r.devImages(t.Context(), built, rules)
		if got[1] != built[1] {
			t.Errorf("supervise %t: tool's entrypoint is no ko executable: deployed %v, want it as built %v", supervise, got[1], built[1])
		}
		if !supervise {
			if got[0] != built[0] || len(r.supervised) > 0 || out.Len() > 0 {
				t.Errorf("hot swap off: web deployed as %v (supervised %v, said %q), want it as built %v and nothing said", got[0], r.supervised, out.String(), built[0])
			}
			continue
		}
		if !strings.HasPrefix(got[0].Ref, host+"/web:v1-skiff-dev@sha256:") {
			t.Fatalf("hot swap on: web deployed as %s, want its development image %s/web:v1-skiff-dev@sha256:...", got[0].Ref, host)
		}
		if prog := r.supervised[got[0].Ref]; prog != deliver.KoAppDir+"/web" {
			t.Errorf("hot swap on: web's development image supervises %q, want %s/web", prog, deliver.KoAppDir)
		}
		devImg, err := client.Image(t.Context(), got[0].Ref, nil)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := devImg.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if want := deliver.SupervisorEntrypoint(deliver.KoAppDir + "/web"); !slices.Equal(cf.Config.Entrypoint, want) {
			t.Errorf("web's development image runs %q, want %q", cf.Config.Entrypoint, want)
		}
		if !strings.Contains(out.String(), "under skiff-agent run") {
			t.Errorf("dev said %q, want what web's development image changes", out.String())
		}
	}
}

// TestDevTag: the development tag is the built tag (latest when none)
// with -skiff-dev, digest dropped, cut to the 128 characters of a tag.
func TestDevTag(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("t", 128)
	for ref, want := range map[string]string{
		"127.0.0.1:5001/web:abc@sha256:00": "127.0.0.1:5001/web:abc-skiff-dev",
		"web:1":                            "web:1-skiff-dev",
		"localhost:5000/web":               "localhost:5000/web:latest-skiff-dev",
		"r/web:" + long:                    "r/web:" + long[:128-len(devTagSuffix)] + devTagSuffix,
	} {
		if got := devTag(ref); got != want {
			t.Errorf("devTag(%q) = %q, want %q", ref, got, want)
		}
	}
}

// TestDevImageReadsTheBuildsPushedImageInMemory: the development image of
// an image the build just pushed, whose user is not root (so that its
// layers are read for the sync destinations' owners), is made from the
// image as built, not read back from the registry: no layer of it is
// downloaded.
func TestDevImageReadsTheBuildsPushedImageInMemory(t *testing.T) {
	t.Parallel()
	reg := &countingRegistry{h: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	base, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := base.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Config.User = "linux", "amd64", "65532"
	if base, err = mutate.ConfigFile(base, cf); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	web := dockerArtifact("web", dir, "")
	web.Sync = &schema.Sync{Manual: []*schema.SyncRule{{Src: "static/**", Dest: "/srv"}}}
	p := &config.Project{Configs: []*config.Config{testConfig(dir, web)}}
	rules, err := syncRules(p)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r := New(Options{Project: p, ErrOut: &out})
	r.lastBuild.CacheFile = filepath.Join(dir, "cache", "cache")
	fakeAgent(t, r, "agent", "amd64")

	pub := r.keepPushed(&build.ImagePublisher{Registry: image.NewRegistry(nil)})
	published, err := pub.Publish(t.Context(), host+"/web:v1", build.Built{Image: base}, true)
	if err != nil {
		t.Fatal(err)
	}
	before := len(reg.since(0))
	got := r.devImages(t.Context(), []artifact.Image{{Name: "web", Ref: host + "/web:v1@" + published.Digest}}, rules)
	if !strings.HasPrefix(got[0].Ref, host+"/web:v1-skiff-dev@sha256:") {
		t.Fatalf("web's development image is %s, want %s/web:v1-skiff-dev@sha256:...\n%s", got[0].Ref, host, out.String())
	}
	for _, req := range reg.since(before) {
		if strings.HasPrefix(req, "GET ") && strings.Contains(req, "/blobs/") {
			t.Errorf("making the development image downloaded %s; want the pushed image read in memory", req)
		}
	}
}

// fakeAgent makes content r's skiff-agent binary, with sum content and
// architecture arch: r takes them as read from the file (openAgent),
// which is not an executable.
func fakeAgent(t *testing.T, r *Runner, content, arch string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "skiff-agent")
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	r.opts.Environ = append(r.opts.Environ, deliver.EnvBinary+"="+p)
	r.agentFile, r.agentSum, r.agentArch = fi, content, arch
}

// TestOpenAgentReadsAChangedBinaryAgain checks that the agent's sum and
// architecture are read once, and again when the file changed.
func TestOpenAgentReadsAChangedBinaryAgain(t *testing.T) {
	t.Parallel()
	r := New(Options{Project: &config.Project{}, ErrOut: io.Discard})
	fakeAgent(t, r, "agent", "amd64")
	f, sum, err := r.openAgent()
	if err != nil || sum != "agent" {
		t.Fatalf("unchanged: sum %q, %v; want the one kept", sum, err)
	}
	f.Close()
	p := f.Name()
	later := time.Now().Add(time.Minute)
	if err := os.WriteFile(p, []byte("changed"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.openAgent(); err == nil || !strings.Contains(err.Error(), "not a Linux executable") {
		t.Errorf("changed to a file that is no executable: %v, want it read again and refused", err)
	}
}
