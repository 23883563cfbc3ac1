package render

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/fsutil"
)

// maxManifestSize bounds what is read as one manifest file.
const maxManifestSize = 64 << 20

// maxManifestFiles bounds the files one rawYaml entry (a glob or a
// directory) may name.
const maxManifestFiles = 10_000

// manifestExts are the file names a glob or a directory contributes, as
// in Skaffold; a file named directly is read whatever its name.
var manifestExts = []string{".yaml", ".yml", ".json"}

// rawYAML reads manifests.rawYaml: files, globs and directories relative to
// the config's directory, each file once, in the order listed (a glob's
// matches sorted, a directory walked in lexical order).
func (r *renderer) rawYAML(_ context.Context, c *config.Config) error {
	seen := map[string]bool{}
	for i, raw := range c.Render.RawK8s {
		where := fmt.Sprintf("%s: manifests.rawYaml[%d] (%s)", c.File, i, raw)
		p, err := r.expand(raw, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		switch {
		case isURL(p):
			return fmt.Errorf("%s: manifests from URLs are not supported by skiff yet; download the file into the project and list its path", where)
		case strings.HasPrefix(p, "gs://"):
			return fmt.Errorf("%s: manifests from Google Cloud Storage are not supported by skiff yet; copy the file into the project and list its path", where)
		}
		if p, err = abs(c, p); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		files, err := r.expandManifestPath(p)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		for _, f := range files {
			if seen[f] {
				continue
			}
			seen[f] = true
			ms, err := r.readManifests(f)
			if err != nil {
				return err
			}
			r.add(ms, "")
		}
	}
	return nil
}

// expandManifestPath returns the files p names: itself, the manifest files
// under it when it is a directory, or the files its glob matches. A glob
// that matches nothing is a warning, as in Skaffold (the default
// k8s/*.yaml may match nothing); a plain path that does not exist is an
// error.
func (r *renderer) expandManifestPath(p string) ([]string, error) {
	if st, err := os.Stat(p); err == nil {
		if !st.IsDir() {
			return []string{p}, nil
		}
		return manifestFilesUnder(p)
	}
	if !hasGlobMeta(p) {
		return nil, fmt.Errorf("%s does not exist; fix the path or remove it", r.display(p))
	}
	matches, err := filepath.Glob(p)
	if err != nil {
		return nil, fmt.Errorf("invalid glob: %w", err)
	}
	if len(matches) > maxManifestFiles {
		return nil, fmt.Errorf("%s matches %d files, more than the %d manifest files skiff reads; narrow the glob", r.display(p), len(matches), maxManifestFiles)
	}
	if len(matches) == 0 {
		r.opts.Log.Warnf("manifests: %s matches no file", r.display(p))
	}
	var out []string
	for _, m := range matches {
		files, err := manifestFilesUnder(m)
		if err != nil {
			return nil, err
		}
		out = append(out, files...)
	}
	return out, nil
}

// manifestFilesUnder returns the manifest files at or under p.
func manifestFilesUnder(p string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && hasManifestExt(f) {
			if len(out) == maxManifestFiles {
				return fmt.Errorf("%s holds more than the %d manifest files skiff reads; point rawYaml at the directories or globs you deploy", p, maxManifestFiles)
			}
			out = append(out, f)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing manifests: %w", err)
	}
	return out, nil
}

func hasManifestExt(f string) bool {
	for _, ext := range manifestExts {
		if strings.HasSuffix(f, ext) {
			return true
		}
	}
	return false
}

func hasGlobMeta(p string) bool {
	return strings.ContainsAny(p, `*?[\`)
}

// readManifests reads and parses one manifest file, refusing anything
// but a regular file of a sensible size (a device or a pipe must not hang
// rendering).
func (r *renderer) readManifests(file string) ([]Manifest, error) {
	name := r.display(file)
	data, err := fsutil.ReadRegular(file, maxManifestSize)
	if err != nil {
		return nil, fmt.Errorf("reading manifests: %w", err)
	}
	return Parse(name, data)
}
