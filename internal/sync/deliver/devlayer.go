package deliver

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	gosync "sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"skiff.dev/skiff/internal/fsutil"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/sync/agentproto"
)

// Dev is a development image: a built image with one more layer, which
// holds skiff-agent at sync.DefaultAgentPath and gives the sync
// destinations to the image's user (see DevImage).
type Dev struct {
	// Image is the development image.
	Image v1.Image
	// Owner is the image's user as uid:gid, the owner of Reowned; "" when
	// the image runs as root (nothing to re-own) or its user is unknown.
	Owner string
	// Reowned are the directories the layer gives to Owner: each sync
	// destination and the directories below it that the image has.
	Reowned []string
	// Unresolved says why the image's user could not be resolved to a
	// uid ("" when it could): the destinations keep their owners, and
	// sync into them works only if the user can write them already.
	Unresolved string
	// Supervised is the program the development image runs under
	// skiff-agent run (its entrypoint becomes SupervisorEntrypoint of
	// it), so that a hot swap can restart it: a ko image's /ko-app/NAME;
	// "" for other images, whose entrypoint is unchanged.
	Supervised string
}

// KoAppDir is where the ko builder puts the executable it makes, the
// image's entrypoint.
const KoAppDir = "/ko-app"

// SupervisorEntrypoint is the entrypoint of a development image that runs
// program under skiff-agent's supervisor; the image's command (or a
// manifest's args) follows it as program's arguments.
func SupervisorEntrypoint(program string) []string {
	return []string{sync.DefaultAgentPath, "run", "--", program}
}

// supervisable is the program of a ko image's entrypoint (one element,
// an executable in KoAppDir), which DevImage runs under the supervisor.
func supervisable(cf *v1.ConfigFile) string {
	ep := cf.Config.Entrypoint
	if len(ep) == 1 && path.Dir(ep[0]) == KoAppDir {
		return ep[0]
	}
	return ""
}

// maxPasswd bounds /etc/passwd and /etc/group read from an image.
const maxPasswd = 1 << 20

// maxDestDirs bounds how many directories below the sync destinations the
// layer re-owns.
const maxDestDirs = 10000

// Content is a file's content, read from any offset, and its size: a
// *bytes.Reader, or an *io.SectionReader of a file, which is then read
// as the layer is written, not kept in memory.
type Content interface {
	io.ReaderAt
	Size() int64
}

// DevImage appends to base a layer that holds the skiff-agent binary
// agent at sync.DefaultAgentPath (root-owned, 0755, in a 0755 /skiff) and,
// when the image's user (its config's User: numeric, or a name resolved
// through the image's /etc/passwd and /etc/group) is not root, the
// directories dests (absolute sync destinations) and every directory the
// image has below them, owned by that user with the modes they have plus
// u+rwx. Directories in a layer merge with the image's, so their files
// stay; the agent writes a file to a temporary file and renames it, so
// owning a directory is what it needs to create, replace and delete the
// files in it, root's included. A destination the image lacks is created
// (with missing parents, root-owned 0755). The layer is deterministic:
// the same base, agent and dests give the same digest.
//
// The layer also holds agentproto.AppDir, root's and writable by anyone
// (1777), where hot-swapped executables go; and with supervise, when base
// is a ko image (its entrypoint a single executable in KoAppDir), the
// development image's entrypoint runs it under skiff-agent run (see
// Dev.Supervised). Reading the
// image's directories costs reading its layers, done only for a non-root
// user with destinations; cache (nil for none) keeps what was read of
// each layer for the next call.
func DevImage(base v1.Image, agent Content, dests []string, cache *LayerCache, supervise bool) (Dev, error) {
	cf, err := base.ConfigFile()
	if err != nil {
		return Dev{}, fmt.Errorf("reading the image's config: %w", err)
	}
	var dev Dev
	var tree *fsTree
	uid, gid := 0, 0
	if user := cf.Config.User; !isRoot(user) && len(dests) > 0 {
		if tree, err = readTree(base, cache); err != nil {
			return Dev{}, err
		}
		var ok bool
		uid, gid, ok, dev.Unresolved = resolveUser(user, tree)
		if ok && uid != 0 {
			dev.Owner = fmt.Sprintf("%d:%d", uid, gid)
		} else {
			tree = nil // root, or unknown: nothing to re-own
		}
	}
	// The tar goes to a file, not the heap: the agent alone is a few MB,
	// and the cache keeps the layer for the session.
	f, err := fsutil.UnnamedTemp("skiff-dev-layer-*", "the development layer")
	if err != nil {
		return Dev{}, err
	}
	h := sha256.New()
	cw := &fsutil.CountingWriter{W: io.MultiWriter(f, h)}
	tw := tar.NewWriter(cw)
	w := layerWriter{tw: tw, written: map[string]bool{}}
	w.dir(&tar.Header{Name: path.Dir(sync.DefaultAgentPath), Mode: 0o755})
	w.fileFrom(sync.DefaultAgentPath, 0o755, agent)
	w.dir(&tar.Header{Name: agentproto.AppDir, Mode: 0o1777})
	if tree != nil {
		for _, d := range cleanDests(dests) {
			dev.Reowned = append(dev.Reowned, w.reown(tree, d, uid, gid)...)
		}
	}
	if w.err == nil {
		w.err = tw.Close()
	}
	if w.err != nil {
		f.Close()
		return Dev{}, fmt.Errorf("writing the development layer: %w", w.err)
	}
	layerTar := devTar{f: f, size: cw.N}
	copy(layerTar.sum[:], h.Sum(nil))
	mt, err := layerMediaType(base)
	if err != nil {
		f.Close()
		return Dev{}, err
	}
	layer, err := cache.devLayer(layerTar, mt)
	if err != nil {
		return Dev{}, fmt.Errorf("packing the development layer: %w", err)
	}
	created := "skiff dev: skiff-agent"
	if dev.Owner != "" {
		created += "; sync destinations owned by " + dev.Owner
	}
	dev.Image, err = mutate.Append(base, mutate.Addendum{
		Layer:     plainLayer{layer},
		MediaType: mt,
		History:   v1.History{Created: v1.Time{Time: epoch}, CreatedBy: created, Comment: "added by skiff dev, not in the built image"},
	})
	if err != nil {
		return Dev{}, fmt.Errorf("appending the development layer: %w", err)
	}
	if supervise {
		dev.Supervised = supervisable(cf)
	}
	if dev.Supervised != "" {
		devCf, err := dev.Image.ConfigFile()
		if err != nil {
			return Dev{}, fmt.Errorf("reading the development image's config: %w", err)
		}
		devCf = devCf.DeepCopy()
		devCf.Config.Entrypoint = SupervisorEntrypoint(dev.Supervised)
		if dev.Image, err = mutate.ConfigFile(dev.Image, devCf); err != nil {
			return Dev{}, fmt.Errorf("setting the development image's entrypoint: %w", err)
		}
	}
	return dev, nil
}

// layerMediaType is the media type of a gzipped layer in base's manifest:
// OCI's in an OCI image, Docker's in a Docker one.
func layerMediaType(base v1.Image) (types.MediaType, error) {
	mt, err := base.MediaType()
	if err != nil {
		return "", fmt.Errorf("reading the image's manifest: %w", err)
	}
	if mt == types.OCIManifestSchema1 {
		return types.OCILayer, nil
	}
	return types.DockerLayer, nil
}

// plainLayer exposes only the v1.Layer methods of the layer it wraps, so
// that the tarball layer's empty annotations do not make the in-memory
// manifest differ from the one pushed.
type plainLayer struct{ v1.Layer }

// isRoot says the image runs as root: no user, "0", "root", with any group.
func isRoot(user string) bool {
	u, _, _ := strings.Cut(user, ":")
	return u == "" || u == "0" || u == "root"
}

// cleanDests are the absolute destinations, cleaned, without "/" (never
// re-owned), sorted and without duplicates.
func cleanDests(dests []string) []string {
	var out []string
	for _, d := range dests {
		if d = path.Clean(d); path.IsAbs(d) && d != "/" {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// resolveUser turns an image config's User (uid, name, uid:gid,
// name:group) into a uid and gid, through the image's /etc/passwd and
// /etc/group for names. A user without a group gets the group passwd
// gives it (the first line with its name, else its uid), else 0. When it
// cannot, ok is false and why says why.
func resolveUser(user string, tree *fsTree) (uid, gid int, ok bool, why string) {
	u, g, hasGroup := strings.Cut(user, ":")
	passwd := parseIDs(tree.files["etc/passwd"], 3)
	uid, err := strconv.Atoi(u)
	numeric := err == nil
	if !numeric {
		i := slices.IndexFunc(passwd, func(e idEntry) bool { return e.name == u })
		if i < 0 {
			return 0, 0, false, fmt.Sprintf("the image's user %q is not a number and not in its /etc/passwd", u)
		}
		uid, gid = passwd[i].id, passwd[i].group
	} else if i := slices.IndexFunc(passwd, func(e idEntry) bool { return e.id == uid }); i >= 0 {
		gid = passwd[i].group
	}
	if hasGroup {
		if gid, err = strconv.Atoi(g); err != nil {
			groups := parseIDs(tree.files["etc/group"], -1)
			i := slices.IndexFunc(groups, func(e idEntry) bool { return e.name == g })
			if i < 0 {
				return 0, 0, false, fmt.Sprintf("the image's group %q is not a number and not in its /etc/group", g)
			}
			gid = groups[i].id
		}
	}
	return uid, gid, true, ""
}

// idEntry is a line of a passwd or group file: its name, its id (field
// 3) and, in passwd, its group (field 4).
type idEntry struct {
	name      string
	id, group int
}

// parseIDs reads a passwd (groupField 3) or group (groupField -1) file;
// lines that do not parse are skipped.
func parseIDs(data []byte, groupField int) []idEntry {
	var out []idEntry
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		f := strings.Split(s.Text(), ":")
		if len(f) <= max(2, groupField) || strings.HasPrefix(f[0], "#") {
			continue
		}
		e := idEntry{name: f[0]}
		var err error
		if e.id, err = strconv.Atoi(f[2]); err != nil {
			continue
		}
		if groupField >= 0 {
			if e.group, err = strconv.Atoi(f[groupField]); err != nil {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

// fsTree is what DevImage needs of an image's file system, all layers
// applied: its directories (headers by path, without leading "/"), its
// symbolic links (targets by path) and the content of /etc/passwd and
// /etc/group.
type fsTree struct {
	dirs  map[string]*tar.Header
	links map[string]string
	files map[string][]byte
}

// LayerCache keeps what DevImage read of each layer (its directories,
// links, passwd and group files, whiteouts), by diff ID, so that the
// development image of a rebuilt image reads only its new layers. It is
// safe for concurrent use; the zero value is not: use NewLayerCache.
//
// It also keeps the development layers DevImage made, by content, so that
// the development image of each rebuild of an image reuses its layer
// (the same agent, the same re-owned directories) rather than compress
// and hash the agent again (30-80 ms a rebuild).
type LayerCache struct {
	mu      gosync.Mutex
	layers  map[v1.Hash][]layerEntry
	entries int
	dev     map[devLayerKey]v1.Layer
}

// devLayerKey identifies a development layer: its tar's sha256 and its
// media type.
type devLayerKey struct {
	sum [sha256.Size]byte
	mt  types.MediaType
}

// maxDevLayers bounds the development layers a LayerCache keeps (one per
// image user and destinations): past it, it starts over.
const maxDevLayers = 16

// NewLayerCache returns an empty LayerCache.
func NewLayerCache() *LayerCache {
	return &LayerCache{layers: map[v1.Hash][]layerEntry{}, dev: map[devLayerKey]v1.Layer{}}
}

// devTar is a development layer's tar stream, in a file without a name
// (fsutil.UnnamedTemp), with its sha256.
type devTar struct {
	f    *os.File
	size int64
	sum  [sha256.Size]byte
}

// devLayer returns the layer of the tar layerTar with media type mt,
// gzipped for speed: the one made before for the same content when c
// (which may be nil) has it.
func (c *LayerCache) devLayer(layerTar devTar, mt types.MediaType) (v1.Layer, error) {
	key := devLayerKey{sum: layerTar.sum, mt: mt}
	if c != nil {
		c.mu.Lock()
		l, ok := c.dev[key]
		c.mu.Unlock()
		if ok {
			layerTar.f.Close()
			return l, nil
		}
	}
	// LayerFromOpener reads the tar to find the layer's digests now.
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(io.NewSectionReader(layerTar.f, 0, layerTar.size)), nil
	}, tarball.WithMediaType(mt), tarball.WithCompressionLevel(gzip.BestSpeed))
	if err != nil || c == nil {
		return l, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.dev) >= maxDevLayers {
		clear(c.dev)
	}
	c.dev[key] = l
	return l, nil
}

// maxCachedEntries bounds a LayerCache: past it, it starts over.
const maxCachedEntries = 1 << 20

// layerEntry is one tar entry of a layer that DevImage uses: a whiteout
// (of path, or of its contents when opaque), a directory, a link, the
// content of a passwd or group file, or any other file (none of these).
type layerEntry struct {
	path     string
	whiteout bool
	opaque   bool
	dir      *tar.Header
	link     string
	data     []byte
}

// readTree reads the tar headers of base's layers in order (each from
// cache when it has it), applying whiteouts.
func readTree(base v1.Image, cache *LayerCache) (*fsTree, error) {
	layers, err := base.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading the image's layers: %w", err)
	}
	t := &fsTree{dirs: map[string]*tar.Header{}, links: map[string]string{}, files: map[string][]byte{}}
	for i, l := range layers {
		entries, err := cache.read(l)
		if err != nil {
			return nil, fmt.Errorf("reading layer %d of the image: %w", i, err)
		}
		t.apply(entries)
	}
	return t, nil
}

// read returns the entries of l, from the cache when it has them; a nil
// cache reads every time.
func (c *LayerCache) read(l v1.Layer) ([]layerEntry, error) {
	if c == nil {
		return readLayer(l)
	}
	id, err := l.DiffID()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	entries, ok := c.layers[id]
	c.mu.Unlock()
	if ok {
		return entries, nil
	}
	if entries, err = readLayer(l); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries+len(entries) > maxCachedEntries {
		c.layers, c.entries = map[v1.Hash][]layerEntry{}, 0
	}
	c.layers[id] = entries
	c.entries += len(entries)
	return entries, nil
}

// readLayer reads the entries of l that DevImage uses.
func readLayer(l v1.Layer) ([]layerEntry, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var out []layerEntry
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		p := strings.Trim(path.Clean("/"+h.Name), "/")
		dir, base := path.Split(p)
		dir = strings.TrimSuffix(dir, "/")
		e := layerEntry{path: p}
		switch {
		case base == ".wh..wh..opq":
			e = layerEntry{path: dir, opaque: true}
		case strings.HasPrefix(base, ".wh."):
			e = layerEntry{path: path.Join(dir, strings.TrimPrefix(base, ".wh.")), whiteout: true}
		case h.Typeflag == tar.TypeDir:
			e.dir = &tar.Header{Mode: h.Mode}
		case h.Typeflag == tar.TypeSymlink:
			e.link = h.Linkname
		case h.Typeflag == tar.TypeReg && (p == "etc/passwd" || p == "etc/group") && h.Size <= maxPasswd:
			if e.data, err = io.ReadAll(io.LimitReader(tr, maxPasswd)); err != nil {
				return nil, err
			}
		}
		out = append(out, e)
	}
}

// apply applies one layer's entries to t.
func (t *fsTree) apply(entries []layerEntry) {
	seen := map[string]bool{} // paths this layer sets, which its opaque markers keep
	for _, e := range entries {
		switch {
		case e.opaque:
			t.remove(e.path, false, seen)
			continue
		case e.whiteout:
			t.remove(e.path, true, seen)
			continue
		}
		seen[e.path] = true
		delete(t.dirs, e.path)
		delete(t.links, e.path)
		delete(t.files, e.path)
		switch {
		case e.dir != nil:
			t.dirs[e.path] = e.dir
		case e.link != "":
			t.links[e.path] = e.link
		case e.data != nil:
			t.files[e.path] = e.data
		}
	}
}

// remove deletes p's descendants from t, and p itself when self is set,
// keeping what the current layer set (keep).
func (t *fsTree) remove(p string, self bool, keep map[string]bool) {
	under := func(q string) bool {
		return !keep[q] && ((self && q == p) || p == "" || strings.HasPrefix(q, p+"/"))
	}
	maps.DeleteFunc(t.dirs, func(k string, _ *tar.Header) bool { return under(k) })
	maps.DeleteFunc(t.links, func(k, _ string) bool { return under(k) })
	maps.DeleteFunc(t.files, func(k string, _ []byte) bool { return under(k) })
}

// resolve follows the symbolic links of p's parents in t (and p's own
// when it is one), as the kernel would in the container, so that the
// layer re-owns the directory a destination like /var/run/ko names when
// /var/run links to /run. After 40 links it follows no more.
func (t *fsTree) resolve(p string) string {
	rest := strings.Split(strings.Trim(path.Clean("/"+p), "/"), "/")
	cur := ""
	for hops := 0; len(rest) > 0; {
		next := path.Join(cur, rest[0])
		rest = rest[1:]
		target, ok := t.links[next]
		if !ok || hops >= 40 {
			cur = next
			continue
		}
		hops++
		if !path.IsAbs(target) {
			target = path.Join("/", cur, target)
		}
		rest = append(strings.Split(strings.Trim(path.Clean(target), "/"), "/"), rest...)
		cur = ""
	}
	return "/" + cur
}

// layerWriter writes the development layer's entries, each path once.
type layerWriter struct {
	tw      *tar.Writer
	written map[string]bool
	err     error
}

// dir writes the directory h (Name absolute or relative), with the
// layer's fixed time.
func (w *layerWriter) dir(h *tar.Header) {
	name := strings.Trim(path.Clean("/"+h.Name), "/")
	if w.err != nil || name == "" || w.written[name] {
		return
	}
	w.written[name] = true
	w.err = w.tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeDir, Name: name + "/", Mode: h.Mode, Uid: h.Uid, Gid: h.Gid,
		ModTime: epoch, Format: tar.FormatPAX,
	})
}

// file writes the regular file name with content b.
func (w *layerWriter) file(name string, mode int64, b []byte) {
	w.fileFrom(name, mode, bytes.NewReader(b))
}

// fileFrom writes the regular file name with content c.
func (w *layerWriter) fileFrom(name string, mode int64, c Content) {
	name = strings.Trim(path.Clean("/"+name), "/")
	if w.err != nil {
		return
	}
	w.written[name] = true
	if w.err = w.tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: c.Size(), ModTime: epoch, Format: tar.FormatPAX,
	}); w.err == nil {
		_, w.err = io.Copy(w.tw, io.NewSectionReader(c, 0, c.Size()))
	}
}

// reown writes the destination dest, resolved through tree's links, and
// the directories tree has below it, owned by uid:gid; missing parents of
// dest are written root-owned 0755. It returns the directories re-owned,
// absolute, dest first.
func (w *layerWriter) reown(tree *fsTree, dest string, uid, gid int) []string {
	real := strings.TrimPrefix(tree.resolve(dest), "/")
	if real == "" {
		return nil
	}
	var parents []string
	for p := path.Dir(real); p != "." && p != "/"; p = path.Dir(p) {
		parents = append(parents, p)
	}
	for _, p := range slices.Backward(parents) {
		if _, ok := tree.dirs[p]; !ok {
			w.dir(&tar.Header{Name: p, Mode: 0o755})
		}
	}
	var below []string
	for p := range tree.dirs {
		if strings.HasPrefix(p, real+"/") {
			below = append(below, p)
		}
	}
	slices.Sort(below)
	if len(below) > maxDestDirs {
		below = below[:maxDestDirs]
	}
	var out []string
	for _, p := range append([]string{real}, below...) {
		mode := int64(0o755)
		if h, ok := tree.dirs[p]; ok {
			mode = h.Mode&0o7777 | 0o700
		}
		w.dir(&tar.Header{Name: p, Mode: mode, Uid: uid, Gid: gid})
		out = append(out, "/"+p)
	}
	return out
}
