package deliver

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"runtime"
	"slices"
	"strings"
	gosync "sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// entry is one tar entry of a test layer; a directory's name ends in "/".
type entry struct {
	name     string
	mode     int64
	uid, gid int
	link     string // a symbolic link's target
	data     string
}

// tarOf writes entries as a layer.
func tarOf(t *testing.T, entries ...entry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.gid, Typeflag: tar.TypeReg, Size: int64(len(e.data))}
		switch {
		case strings.HasSuffix(e.name, "/"):
			h.Typeflag, h.Size = tar.TypeDir, 0
		case e.link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.link, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte(e.data)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return plainLayer{l}
}

// testBase is an image running as user whose /run/ko (reached through
// the link /var/run -> /run) holds a root-owned file and a 0555
// directory, and whose /run/ko/old was removed by a later layer's
// whiteout.
func testBase(t *testing.T, user string) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image,
		tarOf(t,
			entry{name: "etc/", mode: 0o755},
			entry{name: "etc/passwd", mode: 0o644, data: "root:x:0:0:root:/root:/sbin/nologin\napp:x:1000:1001::/home/app:/sbin/nologin\n"},
			entry{name: "etc/group", mode: 0o644, data: "root:x:0:\napps:x:1002:\n"},
			entry{name: "run/", mode: 0o755},
			entry{name: "var/", mode: 0o755},
			entry{name: "var/run", link: "../run"},
		),
		tarOf(t,
			entry{name: "run/ko/", mode: 0o755},
			entry{name: "run/ko/index.html", mode: 0o644, data: "root's\n"},
			entry{name: "run/ko/css/", mode: 0o555},
			entry{name: "run/ko/old/", mode: 0o755},
		),
		tarOf(t, entry{name: "run/ko/.wh.old", mode: 0o644}),
	)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.User = user
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// lastLayer reads the development image's last layer.
func lastLayer(t *testing.T, img v1.Image) []entry {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layers[len(layers)-1].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out []entry
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		e := entry{name: h.Name, mode: h.Mode, uid: h.Uid, gid: h.Gid}
		if h.Typeflag == tar.TypeReg {
			e.data = string(b)
		}
		out = append(out, e)
	}
}

// TestDevImage appends the development layer to images running as a
// named user, a numeric one, root and an unknown name: the agent is at
// /skiff/skiff-agent (root, 0755) in each; for the users skiff can
// resolve, each destination and the directories the image has below it
// (through links, whiteouts applied) belong to the user with u+rwx added,
// and a destination the image lacks is created with its parents
// root-owned.
func TestDevImage(t *testing.T) {
	t.Parallel()
	agent := []byte("\x7fELF the agent")
	agentEntries := []entry{
		{name: "skiff/", mode: 0o755},
		{name: "skiff/skiff-agent", mode: 0o755, data: string(agent)},
		{name: "skiff/app/", mode: 0o1777},
	}
	dests := []string{"/var/run/ko", "/data/new/", "/"}
	for _, tc := range []struct {
		user       string
		owner      string
		reowned    []string
		entries    []entry
		unresolved string
	}{
		{
			user: "app", owner: "1000:1001",
			reowned: []string{"/data/new", "/run/ko", "/run/ko/css"},
			entries: append(slices.Clone(agentEntries),
				entry{name: "data/", mode: 0o755},
				entry{name: "data/new/", mode: 0o755, uid: 1000, gid: 1001},
				entry{name: "run/ko/", mode: 0o755, uid: 1000, gid: 1001},
				entry{name: "run/ko/css/", mode: 0o755, uid: 1000, gid: 1001},
			),
		},
		{
			user: "65532", owner: "65532:0",
			reowned: []string{"/data/new", "/run/ko", "/run/ko/css"},
			entries: append(slices.Clone(agentEntries),
				entry{name: "data/", mode: 0o755},
				entry{name: "data/new/", mode: 0o755, uid: 65532},
				entry{name: "run/ko/", mode: 0o755, uid: 65532},
				entry{name: "run/ko/css/", mode: 0o755, uid: 65532},
			),
		},
		{
			user: "app:apps", owner: "1000:1002",
			reowned: []string{"/data/new", "/run/ko", "/run/ko/css"},
			entries: append(slices.Clone(agentEntries),
				entry{name: "data/", mode: 0o755},
				entry{name: "data/new/", mode: 0o755, uid: 1000, gid: 1002},
				entry{name: "run/ko/", mode: 0o755, uid: 1000, gid: 1002},
				entry{name: "run/ko/css/", mode: 0o755, uid: 1000, gid: 1002},
			),
		},
		{user: "", entries: agentEntries},
		{user: "root:root", entries: agentEntries},
		{user: "nobody", entries: agentEntries, unresolved: `the image's user "nobody" is not a number and not in its /etc/passwd`},
		{user: "app:staff", entries: agentEntries, unresolved: `the image's group "staff" is not a number and not in its /etc/group`},
	} {
		t.Run(tc.user, func(t *testing.T) {
			t.Parallel()
			base := testBase(t, tc.user)
			dev, err := DevImage(base, bytes.NewReader(agent), dests, nil, true)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(dev.Image); err != nil {
				t.Fatal(err)
			}
			if dev.Owner != tc.owner || !slices.Equal(dev.Reowned, tc.reowned) || dev.Unresolved != tc.unresolved {
				t.Errorf("owner %q, re-owned %v, unresolved %q; want %q, %v, %q", dev.Owner, dev.Reowned, dev.Unresolved, tc.owner, tc.reowned, tc.unresolved)
			}
			got := lastLayer(t, dev.Image)
			if !slices.Equal(got, tc.entries) {
				t.Errorf("development layer:\n%+v\nwant\n%+v", got, tc.entries)
			}
			baseLayers, _ := base.Layers()
			devLayers, _ := dev.Image.Layers()
			if len(devLayers) != len(baseLayers)+1 {
				t.Errorf("%d layers on a base of %d, want one more", len(devLayers), len(baseLayers))
			}
		})
	}
}

// TestDevImageSupervisesKoApps: a ko image's development image runs its
// executable under skiff-agent run, its command kept; another image's
// entrypoint is unchanged.
func TestDevImageSupervisesKoApps(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		entrypoint, want []string
		supervised       string
	}{
		{entrypoint: []string{"/ko-app/sync"}, want: []string{"/skiff/skiff-agent", "run", "--", "/ko-app/sync"}, supervised: "/ko-app/sync"},
		{entrypoint: []string{"/bin/server", "--port=8080"}, want: []string{"/bin/server", "--port=8080"}},
		{entrypoint: []string{"/ko-app/sync", "--flag"}, want: []string{"/ko-app/sync", "--flag"}},
	} {
		base := testBase(t, "65532")
		cf, err := base.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.Config.Entrypoint, cf.Config.Cmd = tc.entrypoint, []string{"serve"}
		if base, err = mutate.ConfigFile(base, cf); err != nil {
			t.Fatal(err)
		}
		dev, err := DevImage(base, bytes.NewReader([]byte("agent")), []string{"/var/run/ko"}, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		// Without supervise (skiff debug), the entrypoint stays.
		plain, err := DevImage(base, bytes.NewReader([]byte("agent")), []string{"/var/run/ko"}, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		if pcf, err := plain.Image.ConfigFile(); err != nil || !slices.Equal(pcf.Config.Entrypoint, tc.entrypoint) || plain.Supervised != "" {
			t.Errorf("entrypoint %q unsupervised: development image's is %v (%v), supervised %q", tc.entrypoint, pcf.Config.Entrypoint, err, plain.Supervised)
		}
		if err := validate.Image(dev.Image); err != nil {
			t.Fatal(err)
		}
		got, err := dev.Image.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Config.Entrypoint, tc.want) || !slices.Equal(got.Config.Cmd, []string{"serve"}) || dev.Supervised != tc.supervised {
			t.Errorf("entrypoint %q: development image's is %q, command %q, supervised %q; want %q, [serve], %q",
				tc.entrypoint, got.Config.Entrypoint, got.Config.Cmd, dev.Supervised, tc.want, tc.supervised)
		}
		if got.Config.User != "65532" {
			t.Errorf("user %q, want the image's", got.Config.User)
		}
	}
}

// TestDevImageDigest: the same base, agent and destinations give the
// same digest; a changed agent, destination or base another.
func TestDevImageDigest(t *testing.T) {
	t.Parallel()
	base := testBase(t, "app")
	digest := func(base v1.Image, agent string, dests ...string) v1.Hash {
		t.Helper()
		dev, err := DevImage(base, bytes.NewReader([]byte(agent)), dests, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		d, err := dev.Image.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	first := digest(base, "v1", "/run/ko")
	if again := digest(testBase(t, "app"), "v1", "/run/ko"); again != first {
		t.Errorf("same inputs: digests %s and %s", first, again)
	}
	baseDigest, _ := base.Digest()
	for what, d := range map[string]v1.Hash{
		"the base":            baseDigest,
		"a changed agent":     digest(base, "v2", "/run/ko"),
		"another dest":        digest(base, "v1", "/srv"),
		"another base's user": digest(testBase(t, "65532"), "v1", "/run/ko"),
	} {
		if d == first {
			t.Errorf("%s has the development image's digest %s", what, d)
		}
	}
}

// countedLayer counts the reads of its content.
type countedLayer struct {
	v1.Layer
	mu    gosync.Mutex
	reads int
}

func (c *countedLayer) Uncompressed() (io.ReadCloser, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.Layer.Uncompressed()
}

// TestDevImageLayerCache: with a LayerCache, the development image of an
// image whose layers were read before reads none of them again, that of
// a rebuilt image (one more layer) reads only the new layer, and both
// are the images DevImage makes without a cache.
func TestDevImageLayerCache(t *testing.T) {
	t.Parallel()
	base := testBase(t, "app")
	layers, err := base.Layers()
	if err != nil {
		t.Fatal(err)
	}
	counted := make([]*countedLayer, len(layers))
	var wrapped []v1.Layer
	for i, l := range layers {
		counted[i] = &countedLayer{Layer: l}
		wrapped = append(wrapped, counted[i])
	}
	cf, _ := base.ConfigFile()
	img, err := mutate.AppendLayers(empty.Image, wrapped...)
	if err != nil {
		t.Fatal(err)
	}
	if img, err = mutate.Config(img, cf.Config); err != nil {
		t.Fatal(err)
	}
	added := &countedLayer{Layer: tarOf(t, entry{name: "run/ko/new/", mode: 0o755})}
	rebuilt, err := mutate.AppendLayers(img, added)
	if err != nil {
		t.Fatal(err)
	}
	cache := NewLayerCache()
	digest := func(img v1.Image, cache *LayerCache) (v1.Hash, []string) {
		t.Helper()
		dev, err := DevImage(img, bytes.NewReader([]byte("agent")), []string{"/run/ko"}, cache, true)
		if err != nil {
			t.Fatal(err)
		}
		d, err := dev.Image.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d, dev.Reowned
	}
	first, _ := digest(img, cache)
	again, _ := digest(img, cache)
	newer, reowned := digest(rebuilt, cache)
	for i, c := range counted {
		if c.reads != 1 {
			t.Errorf("layer %d read %d times, want once", i, c.reads)
		}
	}
	if added.reads != 1 {
		t.Errorf("the rebuilt image's new layer read %d times, want once", added.reads)
	}
	if !slices.Contains(reowned, "/run/ko/new") {
		t.Errorf("the rebuilt image's development layer re-owns %v, want /run/ko/new among them", reowned)
	}
	uncached, _ := digest(img, nil)
	newerUncached, _ := digest(rebuilt, nil)
	if first != again || first != uncached || newer != newerUncached {
		t.Errorf("digests with the cache %s, %s, %s; without %s, %s", first, again, newer, uncached, newerUncached)
	}
}

// TestDevImageReusesItsLayer: the development images of two builds of an
// image (the same base layers, the app layer changed) share one
// development layer, made once; another agent makes another.
func TestDevImageReusesItsLayer(t *testing.T) {
	t.Parallel()
	base := testBase(t, "app")
	rebuilt, err := mutate.AppendLayers(base, tarOf(t, entry{name: "ko-app", mode: 0o755, data: "v2"}))
	if err != nil {
		t.Fatal(err)
	}
	cache := NewLayerCache()
	devLayer := func(img v1.Image, agent string) v1.Layer {
		t.Helper()
		dev, err := DevImage(img, bytes.NewReader([]byte(agent)), []string{"/run/ko"}, cache, true)
		if err != nil {
			t.Fatal(err)
		}
		layers, err := dev.Image.Layers()
		if err != nil {
			t.Fatal(err)
		}
		return layers[len(layers)-1].(plainLayer).Layer
	}
	first, second, other := devLayer(base, "agent"), devLayer(rebuilt, "agent"), devLayer(base, "agent v2")
	if first != second {
		t.Errorf("the development layer was made again for the rebuilt image; want the first one reused")
	}
	d1, _ := first.Digest()
	d2, _ := other.Digest()
	if d1 == d2 {
		t.Errorf("another agent got the same development layer %s", d1)
	}
}

// TestDevImageKeepsItsLayerOutOfTheHeap: the development layer of an
// agent much larger than the heap it may use is written to a file, not
// built in memory (the old code's buffer grew to twice the agent), and
// holds the agent.
func TestDevImageKeepsItsLayerOutOfTheHeap(t *testing.T) {
	// Not parallel: it counts the process's allocations.
	const size = 32 << 20
	agent := bytes.Repeat([]byte("skiff-agent "), size/12)
	base := testBase(t, "0")
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	dev, err := DevImage(base, bytes.NewReader(agent), nil, NewLayerCache(), false)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	// Computing the digests gzips the layer once: a compressor and its
	// buffers are allowed.
	if got := after.TotalAlloc - before.TotalAlloc; got > size/4 {
		t.Errorf("the development layer of a %d MB agent allocated %d MB: it is built in memory", size>>20, got>>20)
	}
	for _, e := range lastLayer(t, dev.Image) {
		if e.name == "skiff/skiff-agent" {
			if e.data != string(agent) {
				t.Errorf("skiff/skiff-agent in the layer: %d bytes, want the agent's %d", len(e.data), len(agent))
			}
			return
		}
	}
	t.Error("no skiff/skiff-agent in the development layer")
}
