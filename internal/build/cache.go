package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"go.yaml.in/yaml/v3"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/fsutil"
)

// CacheEntry records what an artifact with a given cache key built to.
type CacheEntry struct {
	// Digest is the manifest digest when the image was pushed.
	Digest string `json:"digest,omitempty"`
	// ImageID is the image ID when it was loaded into the local daemon.
	ImageID string `json:"imageID,omitempty"`
	// Ref is the repository:tag it was published as.
	Ref string `json:"ref"`
}

// Cache maps artifact cache keys to what they built, persisted in one
// file (default ~/.skiff/cache) that is rewritten atomically.
type Cache struct {
	file    string
	mu      sync.Mutex
	entries map[string]CacheEntry
}

// DefaultCacheFile is where the cache lives unless --cache-file says
// otherwise.
func DefaultCacheFile() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the home directory for the build cache: %w; pass --cache-file", err)
	}
	return filepath.Join(home, ".skiff", "cache"), nil
}

// OpenCache reads the cache file; a missing file is an empty cache, and an
// unreadable one is reported (the caller may carry on without a cache).
func OpenCache(file string) (*Cache, error) {
	c := &Cache{file: file, entries: map[string]CacheEntry{}}
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the build cache %s: %w", file, err)
	}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &c.entries); err != nil {
			return nil, fmt.Errorf("the build cache %s is corrupt (%v); delete it and build again", file, err)
		}
	}
	return c, nil
}

// Get returns the entry for key.
func (c *Cache) Get(key string) (CacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e, ok
}

// Put records an entry; Save writes it.
func (c *Cache) Put(key string, e CacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[key] = e
}

// Save writes the cache to a temporary file and renames it into place, so
// an interrupted build never leaves a half-written cache.
func (c *Cache) Save() error {
	c.mu.Lock()
	data, err := json.MarshalIndent(c.entries, "", "  ")
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.file), 0o755); err != nil {
		return fmt.Errorf("writing the build cache: %w", err)
	}
	if err := fsutil.WriteFileAtomic(c.file, data, 0o644); err != nil {
		return fmt.Errorf("writing the build cache: %w", err)
	}
	return nil
}

// keyInputs is everything an artifact's image depends on.
type keyInputs struct {
	artifact  *schema.Artifact
	files     []string // dependency files, relative to the workspace
	buildArgs map[string]*string
	platforms []string
	requires  []string // cache keys of the required artifacts, in order
	push      bool
	debug     bool
	devMode   bool
}

// cacheKey hashes the artifact's config, the path, mode and content of
// each dependency file, its expanded build args, its platforms, the keys
// of what it requires, and where it goes (registry or daemon).
// keyBuildArgs expands a docker artifact's build args for its cache key
// as the source listing does: with the image name and the tag latest (the
// tag may hash the sources, so it is not known yet). Other builders have
// none.
func keyBuildArgs(a *schema.Artifact, env config.Env) (map[string]*string, error) {
	if a.DockerArtifact == nil {
		return nil, nil
	}
	args, err := config.ExpandBuildArgs(a.DockerArtifact.BuildArgs, env.With(config.ImageEnv(a.ImageName)))
	if err != nil {
		return nil, fmt.Errorf("artifact %q: %w", a.ImageName, err)
	}
	return args, nil
}

func cacheKey(in keyInputs) (string, error) {
	h := sha256.New()
	cfg, err := yaml.Marshal(in.artifact)
	if err != nil {
		return "", fmt.Errorf("hashing artifact %q: %w", in.artifact.ImageName, err)
	}
	fmt.Fprintf(h, "config %d\n%s\n", len(cfg), cfg)
	files := slices.Clone(in.files)
	slices.Sort(files)
	for _, f := range files {
		path := f
		if !filepath.IsAbs(path) {
			path = filepath.Join(in.artifact.Workspace, f)
		}
		if err := hashFile(h, path, f); err != nil {
			return "", fmt.Errorf("hashing artifact %q: %w", in.artifact.ImageName, err)
		}
	}
	args := make([]string, 0, len(in.buildArgs))
	for k := range in.buildArgs {
		args = append(args, k)
	}
	slices.Sort(args)
	for _, k := range args {
		if v := in.buildArgs[k]; v != nil {
			fmt.Fprintf(h, "arg %q=%q\n", k, *v)
		} else {
			fmt.Fprintf(h, "arg %q\n", k)
		}
	}
	fmt.Fprintf(h, "platforms %q\nrequires %q\npush %t\n", in.platforms, in.requires, in.push)
	if in.debug {
		fmt.Fprintf(h, "debug\n")
	}
	if in.devMode {
		fmt.Fprintf(h, "dev mode\n")
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(h io.Writer, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		fmt.Fprintf(h, "dir %q %o\n", name, st.Mode().Perm())
		return nil
	}
	fh := sha256.New()
	if _, err := io.Copy(fh, f); err != nil {
		return err
	}
	fmt.Fprintf(h, "file %q %o %x\n", name, st.Mode().Perm(), fh.Sum(nil))
	return nil
}
