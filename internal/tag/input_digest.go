package tag

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// inputDigest tags an artifact with a sha256 over what its image is built
// from: the path, kind and content of each dependency file, the artifact's
// build definition (builder settings with build args expanded, platforms)
// and, recursively, the digests of the artifacts it requires. The same
// inputs give the same tag on any machine and in any checkout directory.
type inputDigest struct {
	deps      DepsFunc
	env       config.Env
	artifacts map[string]*schema.Artifact
}

func (d *inputDigest) generate(ctx context.Context, a *schema.Artifact) (string, error) {
	return d.digest(ctx, a, nil)
}

// digest computes a's digest; chain holds the artifacts whose digests wait
// on it, to catch a cycle of requires.
func (d *inputDigest) digest(ctx context.Context, a *schema.Artifact, chain []string) (string, error) {
	if slices.Contains(chain, a.ImageName) {
		return "", fmt.Errorf("inputDigest: artifacts require each other in a cycle: %s -> %s", strings.Join(chain, " -> "), a.ImageName)
	}
	chain = append(slices.Clip(chain), a.ImageName)

	def, err := d.definition(a)
	if err != nil {
		return "", err
	}
	files, err := d.deps(ctx, a)
	if err != nil {
		return "", fmt.Errorf("inputDigest: listing the files %q is built from: %w", a.ImageName, err)
	}
	sums, err := hashFiles(ctx, a.Workspace, files)
	if err != nil {
		return "", err
	}

	h := sha256.New()
	fmt.Fprintf(h, "skiff inputDigest v1\nconfig %d\n%s\n", len(def), def)
	for _, s := range sums {
		if s.kind != "" {
			fmt.Fprintf(h, "%s %q %x\n", s.kind, s.name, s.sum)
		}
	}
	reqs := slices.Clone(a.Dependencies)
	slices.SortFunc(reqs, func(x, y *schema.ArtifactDependency) int {
		return strings.Compare(x.Alias+"\x00"+x.ImageName, y.Alias+"\x00"+y.ImageName)
	})
	for _, r := range reqs {
		ra, ok := d.artifacts[r.ImageName]
		if !ok {
			if d.artifacts == nil {
				return "", fmt.Errorf("inputDigest: artifact %q requires %q, but tag.New was not given the build's artifacts (tag.WithArtifacts)", a.ImageName, r.ImageName)
			}
			return "", fmt.Errorf("inputDigest: artifact %q requires %q, which is not an artifact of this build: add it to build.artifacts or fix requires", a.ImageName, r.ImageName)
		}
		rd, err := d.digest(ctx, ra, chain)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "requires %q %q %s\n", r.Alias, r.ImageName, rd)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// definition is the part of a's configuration that shapes its image, as
// JSON: the builder's settings, with Docker build args expanded against
// the environment (an arg without a value takes the environment's, as
// `docker build --build-arg NAME` does), and the target platforms. Where
// the sources are, how they sync and the hooks are left out.
func (d *inputDigest) definition(a *schema.Artifact) ([]byte, error) {
	def := struct {
		Builder   schema.ArtifactType
		Platforms []string
	}{a.ArtifactType, a.Platforms}
	if da := a.DockerArtifact; da != nil && len(da.BuildArgs) > 0 {
		expanded, err := config.ExpandBuildArgs(da.BuildArgs, d.env)
		if err != nil {
			return nil, fmt.Errorf("inputDigest: %w", err)
		}
		for k, v := range expanded {
			if v == nil {
				if ev, ok := d.env[k]; ok {
					expanded[k] = &ev
				}
			}
		}
		copied := *da
		copied.BuildArgs = expanded
		def.Builder.DockerArtifact = &copied
	}
	out, err := json.Marshal(def)
	if err != nil {
		return nil, fmt.Errorf("inputDigest: encoding the build definition of %q: %w", a.ImageName, err)
	}
	return out, nil
}

// fileSum is one dependency's share of the digest. kind is "" for a file
// that no longer exists (it is left out, as Skaffold does), else file,
// exec (executable file), link (the sum is of the link's target), dir or
// other.
type fileSum struct {
	name string
	path string
	kind string
	sum  [sha256.Size]byte
}

// hashFiles hashes files (relative to workspace, or absolute) on up to
// GOMAXPROCS goroutines and returns their sums sorted by name, without
// duplicates. A name is the file's slash-separated path relative to the
// workspace, so the digest does not depend on where the checkout is.
func hashFiles(ctx context.Context, workspace string, files []string) ([]fileSum, error) {
	ws, err := filepath.Abs(workspace)
	if err != nil {
		return nil, fmt.Errorf("inputDigest: %w", err)
	}
	sums := make([]fileSum, 0, len(files))
	for _, f := range files {
		s := fileSum{name: filepath.ToSlash(f), path: filepath.Join(ws, f)}
		if filepath.IsAbs(f) {
			s.path = f
			if rel, err := filepath.Rel(ws, f); err == nil {
				s.name = filepath.ToSlash(rel)
			}
		}
		sums = append(sums, s)
	}
	slices.SortFunc(sums, func(x, y fileSum) int { return strings.Compare(x.name, y.name) })
	sums = slices.CompactFunc(sums, func(x, y fileSum) bool { return x.name == y.name })

	// Reading a file mostly waits on system calls (or the disk, when the
	// page cache is cold), so a few more readers than processors help.
	workers := min(max(4, runtime.GOMAXPROCS(0)), len(sums)/16+1)
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	work := func() {
		defer wg.Done()
		h := sha256.New()
		buf := make([]byte, 32<<10)
		for {
			i := int(next.Add(1)) - 1
			if i >= len(sums) || ctx.Err() != nil {
				return
			}
			if err := hashFile(&sums[i], h, buf); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				return
			}
		}
	}
	wg.Add(workers)
	for range workers - 1 {
		go work()
	}
	work()
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return sums, nil
}

// hashFile fills in s.kind and s.sum, with h and buf as scratch space.
func hashFile(s *fileSum, h hash.Hash, buf []byte) error {
	fi, err := os.Lstat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inputDigest: %w", err)
	}
	h.Reset()
	switch m := fi.Mode(); {
	case m.IsRegular():
		err := hashContent(s.path, fi.Size(), h, buf)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("inputDigest: %w", err)
		}
		s.kind = "file"
		if m&0o111 != 0 {
			s.kind = "exec"
		}
	case m&fs.ModeSymlink != 0:
		target, err := os.Readlink(s.path)
		if err != nil {
			return fmt.Errorf("inputDigest: %w", err)
		}
		h.Write([]byte(filepath.ToSlash(target)))
		s.kind = "link"
	case m.IsDir():
		s.kind = "dir"
	default:
		s.kind = "other"
	}
	h.Sum(s.sum[:0])
	return nil
}
