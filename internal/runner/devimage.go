package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/docker"
	"skiff.dev/skiff/internal/fsutil"
	"skiff.dev/skiff/internal/image"
	"skiff.dev/skiff/internal/log"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/sync/deliver"
)

// devTagSuffix ends the tag of a development image: the built image's tag
// and this.
const devTagSuffix = "-skiff-dev"

// devImageVersion is part of every development image cache key: a change
// to what deliver.DevImage writes changes it.
const devImageVersion = "2"

// devImage is a development image made (or found in the cache) for a
// built one: what dev deploys instead, and what it changes.
type devImage struct {
	// Ref is the development image's reference: repo:tag-skiff-dev@digest
	// when pushed, repo:tag-skiff-dev when loaded into the daemon.
	Ref string `json:"ref"`
	// ID is the daemon's image ID of a loaded development image.
	ID string `json:"id,omitempty"`
	// Owner, Reowned, Unresolved and Supervised are deliver.Dev's.
	Owner      string   `json:"owner,omitempty"`
	Reowned    []string `json:"reowned,omitempty"`
	Unresolved string   `json:"unresolved,omitempty"`
	Supervised string   `json:"supervised,omitempty"`
}

// devImages is dev's step between build and deploy, "dev image = built
// image + agent layer": each built image whose artifact has sync rules,
// or is a ko artifact while hot swap is on (r.supervise), is replaced by
// its development image (deliver.DevImage: skiff-agent at
// /skiff/skiff-agent, the rules' destinations owned by the image's user),
// pushed next to it or loaded into the daemon as it was, by tag
// <tag>-skiff-dev. Its pods then need no init container. What each
// development image changes is printed the first time and when it
// changes. An image whose development image cannot be made is deployed as
// built, with a warning, and gets the agent through an init container
// (injectAgent). A ko artifact without sync rules keeps its built image
// when its development image cannot be made or would not supervise its
// app: it then has nothing to gain from one, and its Go changes rebuild
// it. rules are the artifacts' sync rules by image name.
func (r *Runner) devImages(ctx context.Context, built []artifact.Image, rules map[string]*sync.Rules) []artifact.Image {
	out := make([]artifact.Image, 0, len(built))
	synced, swapped := map[string]bool{}, map[string]bool{}
	for _, a := range r.opts.Project.Artifacts() {
		synced[a.ImageName] = sync.Syncs(a)
		swapped[a.ImageName] = r.supervise && a.KoArtifact != nil
	}
	var cache *devImageCache // read once, when an image needs it
	for _, im := range built {
		if !synced[im.Name] && !swapped[im.Name] {
			out = append(out, im)
			continue
		}
		if cache == nil {
			cache = r.devCache()
		}
		dev, err := r.devImage(ctx, cache, im, rules[im.Name].Roots())
		switch {
		case err != nil && synced[im.Name]:
			r.opts.Log.Warnf("%s: no development image (%v); its pods get skiff-agent through an init container instead", im.Name, err)
			out = append(out, im)
			continue
		case err != nil:
			r.opts.Log.Warnf("%s: no development image (%v); its Go changes rebuild and redeploy it instead of a hot swap", im.Name, err)
			out = append(out, im)
			continue
		case !synced[im.Name] && dev.Supervised == "":
			// Not a ko app skiff-agent run can supervise: the agent
			// alone would serve nothing.
			r.opts.Log.Debugf("%s: its entrypoint is not one ko executable, which skiff-agent run supervises; deployed as built, and a Go change rebuilds it", im.Name)
			out = append(out, im)
			continue
		}
		r.layered[dev.Ref] = true
		if dev.Supervised != "" {
			r.supervised[dev.Ref] = dev.Supervised
		}
		if line := describeDevImage(im, dev); r.devSaid[im.Name] != line {
			r.devSaid[im.Name] = line
			fmt.Fprint(r.opts.ErrOut, line)
		}
		out = append(out, artifact.Image{Name: im.Name, Ref: dev.Ref})
	}
	return out
}

// describeDevImage says what the development image dev of im changes.
func describeDevImage(im artifact.Image, dev devImage) string {
	s := fmt.Sprintf("%s: dev deploys %s, the built image plus a layer: skiff-agent at %s", im.Name, dev.Ref, sync.DefaultAgentPath)
	switch {
	case len(dev.Reowned) > 0:
		dirs := dev.Reowned
		if len(dirs) > 4 {
			dirs = append(slices.Clone(dirs[:3]), fmt.Sprintf("%d more", len(dirs)-3))
		}
		s += fmt.Sprintf(", %s owned by the image's user %s", strings.Join(dirs, ", "), dev.Owner)
	case dev.Unresolved != "":
		s += fmt.Sprintf("; the sync destinations keep their owners: %s (give the image a numeric user to sync as it)", dev.Unresolved)
	}
	if dev.Supervised != "" {
		s += fmt.Sprintf("; it runs %s under skiff-agent run, so that a Go change is swapped in without a new pod", dev.Supervised)
	}
	return s + "; the manifests are unchanged\n"
}

// devImage makes the development image of im with the destinations
// roots, or finds it in cache (Runner.devCache) when it still exists
// where it went.
func (r *Runner) devImage(ctx context.Context, cache *devImageCache, im artifact.Image, roots []string) (devImage, error) {
	if len(r.lastBuild.Platforms) > 1 {
		return devImage{}, fmt.Errorf("built for %d platforms, and the development layer is made for one", len(r.lastBuild.Platforms))
	}
	f, agentSum, err := r.openAgent()
	if err != nil {
		return devImage{}, err
	}
	defer f.Close()
	agent := io.NewSectionReader(f, 0, r.agentFile.Size())
	if _, digest, pushed := strings.Cut(im.Ref, "@"); pushed {
		return r.devImagePushed(ctx, cache, im.Ref, devCacheKey(digest, agentSum, roots, r.supervise), agent, roots)
	}
	return r.devImageLoaded(ctx, cache, im.Ref, agentSum, agent, roots)
}

// devImagePushed makes the development image of ref, an image in a
// registry, and pushes it there: only its new layer, config and manifest
// travel.
func (r *Runner) devImagePushed(ctx context.Context, cache *devImageCache, ref, key string, agent deliver.Content, roots []string) (devImage, error) {
	reg := r.registry(r.insecureRegistries(r.lastBuild))
	tagged := devTag(ref)
	if hit, ok := cache.get(key); ok {
		if _, digest, _ := strings.Cut(hit.Ref, "@"); digest != "" {
			if have, ok, err := reg.Digest(ctx, tagged); err == nil && ok && have == digest {
				return hit, nil
			}
		}
	}
	base := r.pushed.get(ref)
	if base == nil {
		var err error
		if base, err = reg.Image(ctx, ref, nil); err != nil {
			return devImage{}, err
		}
	}
	dev, err := r.appendAgentLayer(ref, base, agent, roots)
	if err != nil {
		return devImage{}, err
	}
	digest, err := reg.Push(ctx, tagged, dev.Image)
	if err != nil {
		return devImage{}, err
	}
	out := devImage{Ref: tagged + "@" + digest, Owner: dev.Owner, Reowned: dev.Reowned, Unresolved: dev.Unresolved, Supervised: dev.Supervised}
	cache.put(r.opts.Log, key, out)
	return out, nil
}

// devImageLoaded makes the development image of ref, an image loaded into
// the Docker daemon, and loads it there.
func (r *Runner) devImageLoaded(ctx context.Context, cache *devImageCache, ref, agentSum string, agent deliver.Content, roots []string) (devImage, error) {
	cli, err := docker.NewClient()
	if err != nil {
		return devImage{}, err
	}
	defer cli.Close()
	id, ok, err := image.ImageID(ctx, cli, ref)
	if err != nil {
		return devImage{}, err
	}
	if !ok {
		return devImage{}, fmt.Errorf("the Docker daemon has no %s", ref)
	}
	key := devCacheKey(id, agentSum, roots, r.supervise)
	tagged := devTag(ref)
	if hit, ok := cache.get(key); ok {
		if have, ok, err := image.ImageID(ctx, cli, tagged); err == nil && ok && have == hit.ID {
			return hit, nil
		}
	}
	saved, err := os.CreateTemp("", "skiff-dev-base-*.tar")
	if err != nil {
		return devImage{}, err
	}
	defer os.Remove(saved.Name())
	rc, err := cli.ImageSave(ctx, []string{ref})
	if err == nil {
		_, err = io.Copy(saved, rc)
		rc.Close()
	}
	if cerr := saved.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return devImage{}, fmt.Errorf("saving %s from the Docker daemon: %w", ref, err)
	}
	base, err := tarball.ImageFromPath(saved.Name(), nil)
	if err != nil {
		return devImage{}, fmt.Errorf("reading %s saved from the Docker daemon: %w", ref, err)
	}
	dev, err := r.appendAgentLayer(ref, base, agent, roots)
	if err != nil {
		return devImage{}, err
	}
	devID, err := image.Load(ctx, cli, tagged, dev.Image)
	if err != nil {
		return devImage{}, err
	}
	out := devImage{Ref: tagged, ID: devID, Owner: dev.Owner, Reowned: dev.Reowned, Unresolved: dev.Unresolved, Supervised: dev.Supervised}
	cache.put(r.opts.Log, key, out)
	return out, nil
}

// appendAgentLayer makes the development image of base, the built image
// ref, after checking that the agent runs on its architecture.
func (r *Runner) appendAgentLayer(ref string, base v1.Image, agent deliver.Content, roots []string) (deliver.Dev, error) {
	cf, err := base.ConfigFile()
	if err != nil {
		return deliver.Dev{}, fmt.Errorf("reading the config of %s: %w", ref, err)
	}
	if cf.Architecture != "" && cf.Architecture != r.agentArch {
		return deliver.Dev{}, fmt.Errorf("%s is for %s/%s and skiff-agent for %s; point $%s at a skiff-agent built for %s", ref, cf.OS, cf.Architecture, r.agentArch, deliver.EnvBinary, cf.Architecture)
	}
	dev, err := deliver.DevImage(base, agent, roots, r.layerCache, r.supervise)
	if err != nil {
		return deliver.Dev{}, fmt.Errorf("%s: %w", ref, err)
	}
	return dev, nil
}

// devTag is the tag of ref's development image: its repository, and its
// tag (or "latest") with devTagSuffix, cut to the 128 characters a tag
// may have.
func devTag(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	repo, tag := Repository(ref), "latest"
	if len(ref) > len(repo) {
		tag = ref[len(repo)+1:]
	}
	if len(tag) > 128-len(devTagSuffix) {
		tag = tag[:128-len(devTagSuffix)]
	}
	return repo + ":" + tag + devTagSuffix
}

// devCacheKey identifies a development image by what makes it: the built
// image (its digest or daemon ID), the agent's digest, the destinations
// and whether it supervises a ko app (hot swap).
func devCacheKey(base, agentSum string, roots []string, supervise bool) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%t\x00%s\x00%s\x00%s", devImageVersion, supervise, base, agentSum, strings.Join(roots, "\x00"))
	return hex.EncodeToString(h.Sum(nil))
}

// openAgent opens the skiff-agent binary (deliver.FindBinary) for a
// development layer, and returns it with its sha256. It reads the sum and
// the architecture (agentArch) once per Runner, and again when the file
// is no longer the one they were read from (agentFile).
func (r *Runner) openAgent() (*os.File, string, error) {
	bin, err := deliver.FindBinary(r.getenv(deliver.EnvBinary))
	if err != nil {
		return nil, "", err
	}
	f, err := os.Open(bin)
	if err != nil {
		return nil, "", fmt.Errorf("reading skiff-agent: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && !fsutil.Unchanged(fi, r.agentFile) {
		var arch string
		if arch, err = image.StaticBinaryArch(bin, f, "./cmd/skiff-agent"); err == nil {
			h := sha256.New()
			if _, err = io.Copy(h, io.NewSectionReader(f, 0, fi.Size())); err != nil {
				err = fmt.Errorf("reading skiff-agent: %w", err)
			} else {
				r.agentFile, r.agentSum, r.agentArch = fi, hex.EncodeToString(h.Sum(nil)), arch
			}
		}
	}
	if err != nil {
		f.Close()
		return nil, "", err
	}
	return f, r.agentSum, nil
}

// devImageCache remembers the development images made, by devCacheKey, in
// a JSON file next to the build cache, so that an unchanged image and
// agent cost one look-up on the next dev.
type devImageCache struct {
	file    string
	entries map[string]devImage
}

// devCache opens the development image cache: dev-images.json in the
// directory of the build cache file (BuildOptions.CacheFile, else
// build.DefaultCacheFile). No cache file means an empty cache that is not
// saved.
func (r *Runner) devCache() *devImageCache {
	c := &devImageCache{entries: map[string]devImage{}}
	file := r.lastBuild.CacheFile
	if file == "" {
		var err error
		if file, err = build.DefaultCacheFile(); err != nil {
			return c
		}
	}
	c.file = filepath.Join(filepath.Dir(file), "dev-images.json")
	data, err := os.ReadFile(c.file)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.opts.Log.Debugf("development image cache %s: %v", c.file, err)
		}
		return c
	}
	if err := json.Unmarshal(data, &c.entries); err != nil {
		r.opts.Log.Debugf("development image cache %s: %v; starting a new one", c.file, err)
		c.entries = map[string]devImage{}
	}
	return c
}

// get returns the development image cached under key.
func (c *devImageCache) get(key string) (devImage, bool) {
	d, ok := c.entries[key]
	return d, ok
}

// maxDevCacheEntries bounds the cache: past it, arbitrary entries go to
// make room (the cache only spares work).
const maxDevCacheEntries = 200

// put records d under key and saves the cache; a failure to save is
// logged, as the cache only spares work.
func (c *devImageCache) put(log *log.Logger, key string, d devImage) {
	if c.file == "" {
		return
	}
	for k := range c.entries {
		if len(c.entries) < maxDevCacheEntries {
			break
		}
		delete(c.entries, k)
	}
	c.entries[key] = d
	data, err := json.Marshal(c.entries)
	if err == nil {
		if err = os.MkdirAll(filepath.Dir(c.file), 0o755); err == nil {
			tmp := c.file + ".tmp"
			if err = os.WriteFile(tmp, data, 0o644); err == nil {
				err = os.Rename(tmp, c.file)
			}
		}
	}
	if err != nil {
		log.Debugf("saving the development image cache %s: %v", c.file, err)
	}
}

// pushedImages are the images one build pushed, by digest.
type pushedImages struct {
	mu     gosync.Mutex
	images map[string]v1.Image
}

// get returns the image ref (repository:tag@digest) names when the last
// build pushed it, else nil; a nil p has none.
func (p *pushedImages) get(ref string) v1.Image {
	_, digest, ok := strings.Cut(ref, "@")
	if p == nil || !ok {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.images[digest]
}

// keepingPublisher publishes as its Publisher does and keeps each image
// it pushed in images.
type keepingPublisher struct {
	build.Publisher
	images *pushedImages
}

// Publish implements build.Publisher.
func (k keepingPublisher) Publish(ctx context.Context, ref string, b build.Built, push bool) (build.Published, error) {
	p, err := k.Publisher.Publish(ctx, ref, b, push)
	if err == nil && push && b.Image != nil && p.Digest != "" {
		k.images.mu.Lock()
		k.images.images[p.Digest] = b.Image
		k.images.mu.Unlock()
	}
	return p, err
}

// keepPushed wraps p so that the images this build pushes are kept, in
// place of the last build's: their development images (devImagePushed)
// then read the built image as the builder made it, in memory, rather
// than from the registry, which for a ko image whose user is not root
// means the executable's layer again (8 MB, 15-200 ms on loopback).
func (r *Runner) keepPushed(p build.Publisher) build.Publisher {
	r.pushed = &pushedImages{images: map[string]v1.Image{}}
	return keepingPublisher{Publisher: p, images: r.pushed}
}
