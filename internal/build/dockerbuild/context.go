package dockerbuild

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// buildContext is what a build sends to the daemon: a directory, the
// Dockerfile and the ignore patterns that apply.
type buildContext struct {
	// dir is the context directory, absolute.
	dir string
	// dockerfile is the Dockerfile's absolute path.
	dockerfile string
	// dockerfileName is the Dockerfile's name in the tar: its slash path
	// relative to dir, or a generated name when it lies outside dir.
	dockerfileName string
	// outside says the Dockerfile lies outside dir and is added to the tar
	// under dockerfileName.
	outside bool
	// ignoreFile is the ignore file in use ("" for none), for messages.
	ignoreFile string
	// excludes are the ignore patterns, with exceptions added that keep the
	// Dockerfile and .dockerignore, as the docker CLI adds them.
	excludes []string
}

// newBuildContext checks that the context directory and the Dockerfile
// exist and reads the ignore patterns. dockerfile is relative to dir unless
// absolute; "" means "Dockerfile".
func newBuildContext(dir, dockerfile string) (*buildContext, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("finding the build context %q: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("the build context %s does not exist: fix the artifact's context in skaffold.yaml or create the directory", abs)
	case err != nil:
		return nil, fmt.Errorf("reading the build context: %w", err)
	case !fi.IsDir():
		return nil, fmt.Errorf("the build context %s is not a directory: the artifact's context must name the directory the Dockerfile's COPY sources are relative to", abs)
	}
	bc := &buildContext{dir: abs}

	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	bc.dockerfile = dockerfile
	if !filepath.IsAbs(dockerfile) {
		bc.dockerfile = filepath.Join(abs, dockerfile)
	}
	fi, err = os.Stat(bc.dockerfile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("no Dockerfile: looked for %s (docker.dockerfile %q, relative to the context %s); fix docker.dockerfile in skaffold.yaml or create the file", bc.dockerfile, dockerfile, abs)
	case err != nil:
		return nil, fmt.Errorf("reading the Dockerfile: %w", err)
	case fi.IsDir():
		return nil, fmt.Errorf("the Dockerfile %s is a directory: docker.dockerfile must name a file", bc.dockerfile)
	}
	if rel, err := filepath.Rel(abs, bc.dockerfile); err == nil && filepath.IsLocal(rel) {
		bc.dockerfileName = filepath.ToSlash(rel)
	} else {
		bc.outside = true
	}

	if err := bc.readIgnoreFile(); err != nil {
		return nil, err
	}
	if bc.outside {
		content, err := os.ReadFile(bc.dockerfile)
		if err != nil {
			return nil, fmt.Errorf("reading the Dockerfile: %w", err)
		}
		sum := sha256.Sum256(content)
		bc.dockerfileName = ".skiff-dockerfile-" + hex.EncodeToString(sum[:6])
	}
	return bc, nil
}

// readIgnoreFile reads <Dockerfile>.dockerignore beside the Dockerfile or,
// failing that, .dockerignore at the root of the context, as BuildKit does
// (the classic docker CLI reads only the latter), and adds exceptions for
// the Dockerfile and the .dockerignore: the daemon needs them whatever the
// patterns say, and leaves them out of the image itself.
func (bc *buildContext) readIgnoreFile() error {
	for _, p := range []string{bc.dockerfile + ".dockerignore", filepath.Join(bc.dir, ".dockerignore")} {
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		patterns, err := ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		bc.ignoreFile = p
		bc.excludes = patterns
		break
	}
	if len(bc.excludes) == 0 {
		return nil
	}
	keep := []string{".dockerignore"}
	if !bc.outside {
		keep = append(keep, bc.dockerfileName)
	}
	for _, k := range keep {
		ignored, err := patternmatcher.MatchesOrParentMatches(k, bc.excludes)
		if err != nil {
			return fmt.Errorf("%s has an invalid pattern: %w; fix it (the syntax is Go's filepath.Match plus ** and ! exceptions)", bc.ignoreFile, err)
		}
		if ignored {
			bc.excludes = append(bc.excludes, "!"+k)
		}
	}
	return nil
}

// writeTar writes the context to w as a tar: every file, directory and
// symbolic link under dir that the ignore patterns keep, owned by root,
// in lexical order, and the Dockerfile when it lies outside dir.
func (bc *buildContext) writeTar(w io.Writer) error {
	tw := tar.NewWriter(w)
	var pm *patternmatcher.PatternMatcher
	if len(bc.excludes) > 0 {
		var err error
		if pm, err = patternmatcher.New(bc.excludes); err != nil {
			return fmt.Errorf("%s has an invalid pattern: %w; fix it (the syntax is Go's filepath.Match plus ** and ! exceptions)", bc.ignoreFile, err)
		}
	}
	// parents holds the match results of the directories being walked,
	// so that each path is matched against its parent's results.
	parents := map[string]patternmatcher.MatchInfo{}
	err := filepath.WalkDir(bc.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading the build context: %w", err)
		}
		if p == bc.dir {
			return nil
		}
		rel, err := filepath.Rel(bc.dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if pm != nil {
			ignored, info, err := pm.MatchesUsingParentResults(rel, parents[path.Dir(rel)])
			if err != nil {
				return fmt.Errorf("matching %s against %s: %w", rel, bc.ignoreFile, err)
			}
			if d.IsDir() {
				parents[rel] = info
			}
			if ignored {
				if d.IsDir() && mayKeepInside(pm, rel) {
					return nil // not written, but an exception may keep a file inside
				}
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		return addFile(tw, p, rel, d)
	})
	if err != nil {
		return err
	}
	if bc.outside {
		fi, err := os.Stat(bc.dockerfile)
		if err != nil {
			return fmt.Errorf("reading the Dockerfile: %w", err)
		}
		if err := addFileInfo(tw, bc.dockerfile, bc.dockerfileName, fi); err != nil {
			return err
		}
	}
	return tw.Close()
}

// mayKeepInside reports whether an exception pattern (!pattern) might keep
// something under the ignored directory dir: one that names a path inside
// it, or one with wildcards, which could match anywhere.
func mayKeepInside(pm *patternmatcher.PatternMatcher, dir string) bool {
	if !pm.Exclusions() {
		return false
	}
	for _, p := range pm.Patterns() {
		if !p.Exclusion() {
			continue
		}
		s := p.String()
		if strings.ContainsAny(s, `*?[\`) || strings.HasPrefix(s, dir+"/") {
			return true
		}
	}
	return false
}

func addFile(tw *tar.Writer, abs, name string, d fs.DirEntry) error {
	fi, err := d.Info()
	if err != nil {
		return fmt.Errorf("reading the build context: %w", err)
	}
	return addFileInfo(tw, abs, name, fi)
}

// addFileInfo writes one entry. Sockets, devices and pipes are skipped:
// a build cannot copy them.
func addFileInfo(tw *tar.Writer, abs, name string, fi fs.FileInfo) error {
	var link string
	switch mode := fi.Mode(); {
	case mode.IsRegular(), mode.IsDir():
	case mode&fs.ModeSymlink != 0:
		var err error
		if link, err = os.Readlink(abs); err != nil {
			return fmt.Errorf("reading the build context: %w", err)
		}
	default:
		return nil
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return fmt.Errorf("adding %s to the build context: %w", abs, err)
	}
	hdr.Name = name
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	// As the docker CLI: whole seconds, no access or change times.
	hdr.ModTime = hdr.ModTime.Truncate(time.Second)
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("sending the build context: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(abs)
	if err != nil {
		return fmt.Errorf("reading the build context: %w", err)
	}
	defer f.Close()
	// A file that changes size while it is read fails the tar writer
	// rather than sending a corrupt entry.
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("sending %s in the build context: %w", abs, err)
	}
	return nil
}
